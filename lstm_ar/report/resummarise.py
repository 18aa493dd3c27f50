"""Rewrite a finished run's reports from its per-seed files with the current statistics: no training.

A run writes every per-seed number to ``<out>/<scenario>/per_seed.npz`` (``lstm_ar.report.scenario.
write_per_seed``): the metrics, rollouts, epoch losses and window-1 maps. Summaries, verdicts,
tables and figures are pure functions of those numbers and the scenario, so when the statistics
change (e.g. which seeds count as the worst value) the reports are brought up to date here in
seconds, instead of training every model again. ``lstm-ar report NAME --out DIR`` runs it.

What is kept from the run's own ``summary.json``: seeds, root seed, run time, how the sweep ran,
the device, the JAX version, the command and the provenance (the run's code); what is added:
``resummarised`` (the command and the code that rewrote the statistics). The per-seed numbers
must belong to the scenario as it is now (the same variants and metrics), else ``ValueError``.
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Mapping, Sequence

import numpy as np

from lstm_ar.report.index import SUMMARY, write_index
from lstm_ar.report.scenario import write_scenario
from lstm_ar.runtime.provenance import provenance
from lstm_ar.study import references as linear
from lstm_ar.study.experiment import ScenarioResult, VariantResult, summarise
from lstm_ar.study.scenario import Scenario

ARRAYS = ("rollouts", "epoch_loss", "map_curve")  # per variant in per_seed.npz besides the metrics
KEPT = ("seeds", "root_seed", "runtime_s", "sweep", "device", "jax_version", "command", "provenance")


def load_result(folder: str | os.PathLike, scenario: Scenario) -> tuple[ScenarioResult, dict]:
    """The ``ScenarioResult`` a finished run wrote to ``folder`` (``per_seed.npz`` and ``summary.json``).

    Args:
      folder: ``<out>/<scenario>``.
      scenario: the scenario, built as the run built it (its catalogue's factory).

    Returns:
      (the result with the linear references recomputed, the run's summary as written).

    Raises:
      FileNotFoundError: no finished run there. ValueError: the files hold other variants or
        metrics than the scenario computes, or another seed count.
    """
    folder = pathlib.Path(folder)
    old = json.loads((folder / SUMMARY).read_text())
    if old.get("scenario") != scenario.name:
        raise ValueError(f"{folder / SUMMARY} is the summary of {old.get('scenario')!r}, not of {scenario.name!r}")
    with np.load(folder / "per_seed.npz", allow_pickle=False) as data:
        arrays = {k: np.asarray(data[k]) for k in data.files}
    variants = {}
    for name in scenario.variants:
        prefix = f"{name}/"
        own = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
        if not own:
            raise ValueError(f"{folder / 'per_seed.npz'} has no numbers for variant {name!r}; its variants: "
                             f"{sorted({k.split('/')[0] for k in arrays if '/' in k})}")
        metrics = {k: v.astype(np.float64) for k, v in own.items() if k not in ARRAYS}
        order = [*old.get("variants", {}).get(name, {}).get("metrics", {}), "collapsed", "diverged"]  # the run's order
        metrics = {k: metrics[k] for k in sorted(metrics, key=lambda k: order.index(k) if k in order else len(order))}
        if any(v.shape != (old["seeds"],) for v in metrics.values()):
            raise ValueError(f"{folder}: variant {name!r} does not hold {old['seeds']} seeds per metric")
        variants[name] = VariantResult(metrics, own["rollouts"], own["epoch_loss"], own.get("map_curve"))
    result = ScenarioResult(scenario, int(old["seeds"]), int(old["root_seed"]), variants, float(old["runtime_s"]),
                            old.get("sweep"), linear.evaluate(scenario))
    return result, old


def rewrite_reports(out_dir: str | os.PathLike, scenarios: Sequence[Scenario], command: Sequence[str], *,
                    title: str, plots: bool = True) -> list[dict]:
    """Rewrite each scenario's report under ``out_dir`` from its per-seed files, then ``REPORT.md``.

    Args:
      out_dir: the run's output folder.
      scenarios: the scenarios to rewrite (each must have a finished run there).
      command: this command's words (recorded under ``resummarised``).
      title: ``REPORT.md``'s heading.
      plots: draw the figures again (needs matplotlib).

    Returns:
      The new summaries, in order.
    """
    out_dir = pathlib.Path(out_dir)
    record = provenance(list(command))
    loaded = [load_result(out_dir / sc.name, sc) for sc in scenarios]  # every folder checked before writing
    summaries = []
    for result, old in loaded:
        summary = summarise(result)
        summary.update({k: old[k] for k in KEPT if k in old})
        summary["resummarised"] = record
        write_scenario(out_dir, result, summary, plots=plots)
        summaries.append(summary)
    commands = {s.get("command", "") for s in summaries}
    write_index(out_dir, summaries, commands.pop() if len(commands) == 1 else " ; ".join(sorted(commands)), title=title)
    return summaries


def scenario_as_run(factory, folder: str | os.PathLike) -> Scenario:
    """The scenario as the run in ``folder`` built it: the full or the ``--quick`` one, whichever has
    the variants and configs its ``summary.json`` records.

    Args:
      factory: the catalogue's ``f(quick) -> Scenario``.
      folder: ``<out>/<scenario>``.

    Returns:
      The scenario; ``ValueError`` when neither matches (the catalogue changed since the run).
    """
    recorded = json.loads((pathlib.Path(folder) / SUMMARY).read_text()).get("config")
    for quick in (False, True):
        scenario = factory(quick)
        configs = json.loads(json.dumps({n: c.to_dict() for n, c in scenario.variants.items()}))
        if configs == recorded:
            return scenario
    raise ValueError(f"{folder}: the run's variants and configs match neither the full nor the quick scenario of "
                     "today's catalogue; run the experiment again")


def scenario_names(out_dir: str | os.PathLike, catalogue: Mapping[str, object]) -> list[str]:
    """The scenarios of ``catalogue`` that have a finished run (a ``summary.json``) under ``out_dir``.

    Args:
      out_dir: the run's output folder.
      catalogue: scenario name -> factory.

    Returns:
      Their names, in the catalogue's order.
    """
    out_dir = pathlib.Path(out_dir)
    return [name for name in catalogue if (out_dir / name / SUMMARY).is_file()]
