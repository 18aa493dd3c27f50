"""Rewrite a finished run's reports from its ``per_seed.npz`` (or, where only ``per_seed.csv`` is kept, as in a
committed report, from that: the figures then stay as drawn) with the current statistics, without training
(``lstm-ar report NAME --out DIR``). The run's own ``KEPT`` entries (seeds, run time, device, command,
provenance...) stay; ``resummarised`` records the rewrite. The numbers must match today's scenario, and the
per-seed files the sha256 that ``summary.json`` recorded when the run wrote them (``check_digests``): an edit of
``per_seed.csv`` and ``per_seed.npz`` that agree with each other is refused too. A summary written before the digests
were recorded (no ``sha256`` entry: every report committed before this check) is accepted as it is, and its
rewrite records them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import zipfile
from collections.abc import Mapping, Sequence

import numpy as np

from lstm_ar.report.index import SUMMARY, write_index
from lstm_ar.report.scenario import DIGESTS, file_digest, per_seed_csv, read_per_seed, write_scenario
from lstm_ar.runtime.provenance import provenance
from lstm_ar.study import references as linear
from lstm_ar.study.experiment import ScenarioResult, VariantResult, summarise
from lstm_ar.study.scenario import Scenario

ARRAYS = ("rollouts", "epoch_loss", "map_curve")  # per variant in per_seed.npz besides the metrics
KEPT = ("seeds", "root_seed", "runtime_s", "sweep", "device", "jax_version", "command", "provenance")


def load_result(folder: str | os.PathLike, scenario: Scenario) -> tuple[ScenarioResult, dict]:
    """(the ``ScenarioResult`` a finished run wrote to ``folder`` = ``<out>/<scenario>``, linear references
    recomputed; the run's summary). ``scenario`` as the run built it. FileNotFoundError: no finished run;
    ValueError: other variants, metrics or seed count than the scenario's."""
    folder = pathlib.Path(folder)
    old = read_summary(folder)
    if old.get("scenario") != scenario.name:
        raise ValueError(f"{folder / SUMMARY} is the summary of {old.get('scenario')!r}, not of {scenario.name!r}")
    if (folder / "per_seed.npz").is_file():
        try:
            with np.load(folder / "per_seed.npz", allow_pickle=False) as data:
                arrays = {k: np.asarray(data[k]) for k in data.files}
        except (ValueError, EOFError, KeyError, zipfile.BadZipFile) as err:  # truncated, edited, or not an npz
            raise ValueError(f"{folder / 'per_seed.npz'} cannot be read ({type(err).__name__}: {err}); run the "
                             "experiment again") from None
    else:  # a committed report keeps per_seed.csv only: the metrics, no rollouts or losses (figures kept as drawn)
        table = read_per_seed(folder / "per_seed.csv", "variant", ("seed",))
        empty = np.zeros((int(old["seeds"]), 0), np.float32)
        arrays = {f"{v}/{k}": x for v, m in table.items() for k, x in {**m, "rollouts": empty, "epoch_loss": empty}.items()}
        arrays["root_seed"] = np.asarray(old["root_seed"])  # per_seed.csv holds none: the summary's
    variants = {}
    for name in scenario.variants:
        if not (own := {k[len(name) + 1:]: v for k, v in arrays.items() if k.startswith(f"{name}/")}):
            raise ValueError(f"{folder / 'per_seed.npz'} has no numbers for variant {name!r}; its variants: "
                             f"{sorted({k.split('/')[0] for k in arrays if '/' in k})}")
        metrics = {k: v.astype(np.float64) for k, v in own.items() if k not in ARRAYS}
        order = [*old.get("variants", {}).get(name, {}).get("metrics", {}), "collapsed", "diverged"]  # the run's order
        metrics = {k: metrics[k] for k in sorted(metrics, key=lambda k: order.index(k) if k in order else len(order))}
        if any(v.shape != (old["seeds"],) for v in metrics.values()):
            raise ValueError(f"{folder}: variant {name!r} does not hold {old['seeds']} seeds per metric")
        variants[name] = VariantResult(metrics, own["rollouts"], own["epoch_loss"], own.get("map_curve"))
    result = ScenarioResult(scenario, old["seeds"], old["root_seed"], variants, float(old["runtime_s"]),
                            old.get("sweep"), linear.evaluate(scenario))
    if int(np.asarray(arrays.get("root_seed", -1))) != old["root_seed"]:
        raise ValueError(f"{folder / 'per_seed.npz'} holds root seed {arrays.get('root_seed')}, its {SUMMARY} "
                         f"{old['root_seed']}: the files come from different runs; run the experiment again")
    if (table := folder / "per_seed.csv").is_file() and table.read_bytes() != per_seed_csv(result):
        raise ValueError(f"{folder}: per_seed.npz and per_seed.csv disagree (one of them edited, or from another run); "
                         "run the experiment again")
    check_digests(folder, old)
    return result, old


def check_digests(folder: pathlib.Path, summary: dict) -> None:
    """ValueError where a per-seed file in ``folder`` is not the one its ``summary`` recorded (sha256 under
    ``DIGESTS``) when the run wrote them: edited, or from another run. A recorded ``per_seed.npz`` may be absent
    (not committed: the report comes from ``per_seed.csv``); a summary without the entry (written before it was
    recorded) passes."""
    recorded = summary.get(DIGESTS)
    if recorded is None:
        return
    if not (isinstance(recorded, dict) and "per_seed.csv" in recorded and set(recorded) <= {"per_seed.csv", "per_seed.npz"}
            and all(isinstance(v, str) for v in recorded.values())):
        raise ValueError(f"{folder / SUMMARY}: its {DIGESTS!r} entry is not per-seed file name -> sha256 (edited?); "
                         "run the experiment again")
    for name, digest in recorded.items():
        path = folder / name
        if name == "per_seed.npz" and not path.exists():
            continue
        if not path.is_file():
            raise ValueError(f"{path} is missing, though {SUMMARY} records its sha256; run the experiment again")
        if (found := file_digest(path)) != digest:
            raise ValueError(f"{path} is not the file this run wrote: its sha256 {found[:12]}... differs from the "
                             f"{digest[:12]}... {SUMMARY} recorded with it (edited, or from another run); run the "
                             "experiment again")


def read_summary(folder: pathlib.Path) -> dict:
    """A finished run's ``summary.json``, checked for the entries a rewrite keeps; ValueError naming the problem."""
    try:
        old = json.loads((folder / SUMMARY).read_text())
    except ValueError as err:
        raise ValueError(f"{folder / SUMMARY} is not readable JSON ({err}); run the experiment again") from None
    kinds = {"seeds": int, "root_seed": int, "runtime_s": (int, float), "scenario": str}
    wrong = [k for k, kind in kinds.items() if not isinstance(old.get(k) if isinstance(old, dict) else None, kind)
             or isinstance(old.get(k), bool)]
    if wrong:
        raise ValueError(f"{folder / SUMMARY} is not a run's summary (missing or wrong: {', '.join(wrong)}); "
                         "run the experiment again")
    return old


def rewrite_reports(out_dir: str | os.PathLike, scenarios: Sequence[Scenario], command: Sequence[str], *,
                    title: str, plots: bool = True) -> list[dict]:
    """Rewrite each scenario's report under ``out_dir`` from its per-seed files, then ``REPORT.md`` (``title``);
    ``command`` is recorded under ``resummarised``. Returns the new summaries, in order."""
    out_dir, record = pathlib.Path(out_dir), provenance(list(command))
    loaded = [load_result(out_dir / sc.name, sc) for sc in scenarios]  # every folder checked before writing
    summaries = []
    for result, old in loaded:
        summary = {**summarise(result), **{k: old[k] for k in KEPT if k in old}, "resummarised": record}
        if same_configs(summary.get("config", {}), old.get("config")):  # the run's own record, fields added since left out
            summary["config"] = old["config"]
        if metrics_only(result):  # from per_seed.csv: the figures stay as the run drew them
            write_scenario(out_dir, result, summary, plots=False,
                           more_files=lambda stage, _, old_dir=out_dir / result.scenario.name: kept_figures(old_dir, stage))
        else:
            write_scenario(out_dir, result, summary, plots=plots)
        summaries.append(summary)
    commands = {s.get("command", "") for s in summaries}
    write_index(out_dir, summaries, commands.pop() if len(commands) == 1 else " ; ".join(sorted(commands)), title=title)
    return summaries


def metrics_only(result: ScenarioResult) -> bool:
    """Whether ``result`` was read from ``per_seed.csv`` alone (no rollouts: figures cannot be redrawn)."""
    return all(v.rollouts.size == 0 for v in result.variants.values())


def kept_figures(folder: pathlib.Path, stage: pathlib.Path) -> list[str]:
    """Copy ``folder``'s figures into ``stage``, in the order its report.md shows them (others after, by name);
    their names."""
    import re
    import shutil

    report = folder / "report.md"
    names = re.findall(r"^!\[[^\]]*\]\(([^)/]+\.png)\)$", report.read_text(), re.M) if report.is_file() else []
    names = [n for n in dict.fromkeys([*names, *sorted(p.name for p in folder.glob("*.png"))]) if (folder / n).is_file()]
    for name in names:
        shutil.copyfile(folder / name, stage / name)
    return names


def as_recorded(today: dict, recorded) -> dict:
    """``today``'s ``TrainConfig.to_dict()`` without the fields a run's record lacks where they hold their default:
    a field added since the run, at its default, changes nothing the run did (any other difference remains)."""
    from lstm_ar.config import ModelConfig, TrainConfig

    if not isinstance(recorded, dict):
        return today

    def strip(values: dict, kept: dict, cls) -> dict:
        defaults = {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
        return {k: v for k, v in values.items() if k in kept or k not in defaults or v != defaults[k]}

    out = strip(today, recorded, TrainConfig)
    if isinstance(out.get("model"), dict) and isinstance(recorded.get("model"), dict):
        out["model"] = strip(out["model"], recorded["model"], ModelConfig)
    return out


def same_configs(today: dict, recorded) -> bool:
    """Whether ``today``'s variants -> ``to_dict()`` are the ones a run recorded (``as_recorded``)."""
    return isinstance(recorded, dict) and set(today) == set(recorded) and all(
        as_recorded(today[n], recorded[n]) == recorded[n] for n in today)


def scenario_as_run(factory, folder: str | os.PathLike) -> Scenario:
    """``factory(quick)`` for the quick value whose variants and configs ``folder``'s ``summary.json`` records;
    ValueError when neither matches (the catalogue changed since the run)."""
    recorded = read_summary(pathlib.Path(folder)).get("config")
    for quick in (False, True):
        scenario = factory(quick)
        if same_configs(json.loads(json.dumps({n: c.to_dict() for n, c in scenario.variants.items()})), recorded):
            return scenario
    raise ValueError(f"{folder}: the run's variants and configs match neither the full nor the quick scenario of "
                     "today's catalogue; run the experiment again")


def scenario_names(out_dir: str | os.PathLike, catalogue: Mapping[str, object]) -> list[str]:
    """The names, in order, of ``catalogue``'s scenarios with a finished run (a ``summary.json``) under ``out_dir``."""
    return [name for name in catalogue if (pathlib.Path(out_dir) / name / SUMMARY).is_file()]
