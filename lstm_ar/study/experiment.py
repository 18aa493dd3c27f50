"""Run a scenario over many seeds: train, evaluate, summarise, judge its claims.

``run_scenario`` trains every variant on the same seeds (``lstm_ar.runtime.sweep.run_seeds``: vmapped, sharded,
in resumable chunks; variants that differ only in their rollout train once) and evaluates each model once:
one-step errors, the article's prediction, a free-running rollout and its collapse metrics, a window-1 map's
fixed points and curve, a rolling-origin backtest (``lstm_ar.study.backtest``). Linear references
(``lstm_ar.study.references``) are fitted once per scenario. ``summarise`` makes ``summary.json``.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lstm_ar.config import DROPOUT_SITES, Hyper, TrainConfig, resolve_dropout_sites, validate_hyper
from lstm_ar.data.series import Dataset
from lstm_ar.dynamics import stability as diagnostics
from lstm_ar.dynamics.collapse import COLLAPSE_THRESHOLD, DIVERGENCE_BOUND, VALID_TOLERANCE, map_fixed_points
from lstm_ar.dynamics.judge import judge_origins, judge_rollout
from lstm_ar.dynamics.rollout import rollout, rollouts
from lstm_ar.model.forecaster import Params, forecast, forecast_batch
from lstm_ar.runtime.chunk_store import ChunkStore, fingerprint, source_fingerprint
from lstm_ar.runtime.sweep import cache_lanes, run_seeds
from lstm_ar.study import metrics as registry
from lstm_ar.study import references as linear
from lstm_ar.study import stats
from lstm_ar.study.claims import diverged_as_worst, evaluate_claim
from lstm_ar.study.metrics import BACKTEST
from lstm_ar.study.scenario import Scenario
from lstm_ar.training import make_train

N_FAN = 20  # individual rollouts (and window-1 maps) kept per variant for figures
EVAL_STREAM = 0x6576616C  # "eval": a Gaussian head's sampling key, fold_in(seed key, EVAL_STREAM)
MAP_GRID = 64  # points at which a window-1 map f(x) is kept for cobweb figures
# Scenario fields that do not change any per-seed value computed on the device (left out of the
# fingerprint of stored chunks; ``derive`` runs on the host after loading).
NOT_COMPUTED = ("title", "source", "variants", "claims", "derive", "lower_is_better", "higher_is_better",
                "figures", "baseline", "references", "standardisation")


class VariantResult(NamedTuple):
    """metrics: name -> f[n_seeds]; rollouts: f[n_seeds, T]; epoch_loss: f[n_seeds, epochs]; map_curve:
    f32[min(n_seeds, N_FAN), MAP_GRID] the learned map at ``map_grid(scenario)`` for the first seeds of a window-1
    variant rolled out in window mode, else None (not in per_seed.csv); origin_forecasts: f32[n_seeds, origins,
    horizon] each seed's forecast from every backtest origin (model units) when the scenario is backtested, else None
    (a seed ensemble is read from them: ``lstm_ar.study.ensemble``)."""

    metrics: dict[str, np.ndarray]
    rollouts: np.ndarray
    epoch_loss: np.ndarray
    map_curve: np.ndarray | None = None
    origin_forecasts: np.ndarray | None = None


class ScenarioResult(NamedTuple):
    """sweep: per training group (named by its first variant), how it ran (``Sweep.describe``);
    linear_references: ``lstm_ar.study.references.evaluate``'s (None: ``summarise`` leaves them out)."""

    scenario: Scenario
    seeds: int
    root_seed: int
    variants: dict[str, VariantResult]
    runtime_s: float
    sweep: dict | None = None
    linear_references: linear.LinearReferences | None = None
    draws: int = 1  # with several, every per-seed value is f[seeds, draws] (``run_scenario``)

    def draw(self, r: int, scenario: Scenario | None = None) -> ScenarioResult:
        """Draw r's results alone (per-seed values f[seeds]), as a run on that draw would give them;
        ``scenario``: that draw's scenario (default: the first's, for names and settings)."""
        if self.draws == 1:
            return self
        variants = {name: VariantResult(metrics={k: v[:, r] for k, v in res.metrics.items()},
                                        rollouts=res.rollouts[:, r], epoch_loss=res.epoch_loss[:, r],
                                        map_curve=None if res.map_curve is None else res.map_curve[:, r],
                                        origin_forecasts=None if res.origin_forecasts is None
                                        else res.origin_forecasts[:, r])
                    for name, res in self.variants.items()}
        return self._replace(scenario=scenario or self.scenario, variants=variants, draws=1)


def map_grid(scenario: Scenario) -> np.ndarray:
    """The inputs x f32[MAP_GRID] at which ``VariantResult.map_curve`` holds f(x): evenly over ``map_range``."""
    return np.linspace(*scenario.map_range, MAP_GRID, dtype=np.float32)


def program_inputs(scenario: Scenario, variant: str) -> dict[str, np.ndarray]:
    """name -> array: what a variant's seed program reads (data, test input, context, truth, backtest, map grid,
    ``scale``, ``center``), passed when it runs rather than built in, so scenarios that differ only in them (another
    noise realisation) share one compiled program."""
    data = scenario.training_data(variant)
    one_step, heldout, test_input = scenario.inputs(variant)
    f32 = lambda a: np.asarray(a, np.float32)  # noqa: E731
    out = {"x": f32(data.x), "y": f32(data.y), "test_input": f32(test_input)[:, None],
           "test_target": f32(scenario.test_target), "context": f32(scenario.context), "scale": f32(scenario.scale),
           "center": f32(scenario.center), "grid": map_grid(scenario), "map_range": f32(scenario.map_range)}
    if not scenario.variants[variant].one_step:  # one-step training data are the one-step errors' own
        out.update(one_step_x=f32(one_step.x), one_step_y=f32(one_step.y))
    if heldout is not None:
        out.update(heldout_x=f32(heldout.x), heldout_y=f32(heldout.y))
    if scenario.truth is not None:
        out["truth"] = f32(scenario.truth[:scenario.rollout_steps])
    backtest = scenario.backtest()
    if backtest is not None:  # every mode reads the last `window` values before each origin
        out.update(origin_contexts=f32(backtest.contexts(scenario.variants[variant].model.window)),
                   origin_truths=f32(backtest.truths()))
    return out


def make_model_metrics(scenario: Scenario, variant: str):
    """``model_metrics(params, inputs) -> {name: f32[]}``, the trained model's own: one-step MSEs (training,
    held-out), the prediction at the test input and its error, probes f(x), with diagnostics ``grad_k{k}``."""
    model = scenario.variants[variant].model

    def mse(params: Params, inputs, targets) -> jax.Array:  # one step ahead: a direct head's first value
        return jnp.mean(jnp.square(forecast_batch(params, inputs, model)[:, :1] - targets))

    def model_metrics(params: Params, inputs: dict) -> dict[str, jax.Array]:
        test_input = inputs["test_input"]
        pred = forecast(params, test_input, model)[0]
        one_step = ("x", "y") if "one_step_x" not in inputs else ("one_step_x", "one_step_y")  # program_inputs
        m = {"train_mse": mse(params, *(inputs[k] for k in one_step)), "seed_prediction": pred,
             "seed_prediction_error": jnp.abs(pred - inputs["test_target"])}
        if "heldout_x" in inputs:
            m["heldout_mse"] = mse(params, inputs["heldout_x"], inputs["heldout_y"])
        for p in scenario.probes:
            m[f"f({p:g})"] = forecast(params, jnp.full((1, 1), p, jnp.float32), model)[0]
        if scenario.diagnostics:  # |d prediction / d input k steps back| at the article's test input
            grads = diagnostics.input_gradient_norms(params, test_input, model)
            m.update({f"grad_k{k}": grads[k] for k in range(model.window)})
        return m

    return model_metrics


def make_rollout_metrics(scenario: Scenario, variant: str):
    """``rollout_metrics(params, inputs, key) -> ({name: f32[]}, rollout f32[rollout_steps], extras)`` of the
    free-running rollout: collapse, errors against the truth, backtest, a 1-D map's fixed points (and ``extras``
    ``{"map_curve": f32[MAP_GRID]}``), diagnostics."""
    model = scenario.variants[variant].model
    mode = scenario.rollout_mode(variant)
    backtest = scenario.backtest()

    def rollout_metrics(params: Params, inputs: dict, key: jax.Array | None = None):
        context, scale, center = inputs["context"], inputs["scale"], inputs["center"]
        if mode == "stateful":  # warm up over as many values as the model was trained on
            context = context[-model.window:]
        sampled = {}
        if scenario.diagnostics:  # the rollout and its diagnostics in one scan (bit-identical to three passes)
            walked = diagnostics.rollout_with_diagnostics(params, context, scenario.rollout_steps, model, mode=mode)
            ys = walked.ys
        elif model.head == "gaussian":  # the median of the sampled paths, and the first path judged too
            paths = rollouts(params, context, scenario.rollout_steps, scenario.variants[variant], key)
            ys, sampled = paths["point"], judge_rollout(paths["sample"], inputs.get("truth"), scale, center)
        else:
            ys = rollout(params, context, scenario.rollout_steps, model, mode=mode)
        m = judge_rollout(ys, inputs.get("truth"), scale, center)
        m.update({f"sample_{k}": v for k, v in sampled.items()})
        if backtest is not None:
            origin_ys = jax.vmap(lambda c: rollout(params, c, backtest.horizon, model, mode=mode))(
                inputs["origin_contexts"])
            judged = judge_origins(origin_ys, inputs["origin_truths"], scale, center)
            m.update({name: judged[name] for name in BACKTEST})
        extras = {} if backtest is None else {"origin_forecasts": origin_ys}
        if scenario.diagnostics:
            m["lyapunov"] = walked.lyapunov
            if mode == "window":  # rho(J_t) of the rollout map along the rollout
                rho = walked.rho
                m.update(rho_start=rho[0], rho_tail=jnp.median(rho[-scenario.rollout_steps // 4:]),
                         contraction_fraction=jnp.mean((rho < 1.0).astype(jnp.float32)))
        if scenario.end_radius and mode == "window":  # where the rollout ended (settled, for a collapse)
            end = jnp.concatenate([context[-model.window:], ys])[-model.window:]
            end = jnp.where(jnp.isfinite(end), end, 0.0)
            m["rho_end"] = jnp.where(m["diverged"] > 0, jnp.nan,
                                     diagnostics.spectral_radius(diagnostics.window_map_jacobian(params, end, model)))
        if model.window == 1 and mode == "window":  # a 1-D map: its fixed points, f on the grid for the figures
            scalar_map = lambda v: forecast(params, v.reshape(1, 1), model)[0]
            low, high = inputs["map_range"][0], inputs["map_range"][1]
            fp = map_fixed_points(scalar_map, m["settle_value"], low=low, high=high)
            m.update(n_fixed_points=fp.count, settle_slope=fp.settle_slope,
                     abs_settle_slope=jnp.abs(fp.settle_slope), settle_residual=fp.settle_residual)
            extras["map_curve"] = jax.vmap(scalar_map)(inputs["grid"])
        return m, ys, extras

    return rollout_metrics


def variant_result(scenario: Scenario, metrics: dict, rollouts, epoch_loss, map_curve=None,
                   origin_forecasts=None) -> VariantResult:
    """One variant's ``VariantResult`` on the host: float64 metrics, ``diverged`` also where the final training loss
    is not finite, ``final_train_loss``, the scenario's ``derive``; the first ``N_FAN`` seeds' ``map_curve``."""
    metrics = {k: np.asarray(v, np.float64) for k, v in metrics.items()}
    epoch_loss = np.asarray(epoch_loss)
    metrics["diverged"] = ((metrics["diverged"] > 0) | ~np.isfinite(epoch_loss[..., -1])).astype(np.float64)
    metrics["final_train_loss"] = np.asarray(epoch_loss[..., -1], np.float64)
    if scenario.derive is not None:
        metrics.update(scenario.derive(metrics))
    curve = None if map_curve is None else np.asarray(map_curve[:N_FAN], np.float32)
    forecasts = None if origin_forecasts is None else np.asarray(origin_forecasts, np.float32)
    return VariantResult(metrics=metrics, rollouts=np.asarray(rollouts), epoch_loss=epoch_loss, map_curve=curve,
                         origin_forecasts=forecasts)


def group_identity(draws: Sequence[Scenario], subgroups: Sequence[Sequence[str]]) -> dict:
    """What determines a training group's per-seed values besides the root seed and lanes: its configs, every draw's
    data and settings, the library's source, JAX and the hardware. Stored chunks are reused only if it all matches."""
    fields = [{f.name: getattr(sc, f.name) for f in dataclasses.fields(sc) if f.name not in NOT_COMPUTED}
              for sc in draws]
    scenario = draws[0]
    configs = {name: scenario.variants[name] for group in subgroups for name in group}
    return {"scenario": scenario.name, "variants": [list(g) for g in subgroups],
            "fingerprint": fingerprint({"fields": fields[0] if len(draws) == 1 else fields, "configs": configs}),
            "library": source_fingerprint(), "jax": jax.__version__, "hardware": hardware_kind()}


def group_max_lanes(config: TrainConfig, settings: int = 1) -> int:
    """The most seeds a CPU device trains at once for this config with ``settings`` vmapped per seed
    (``lstm_ar.runtime.sweep.cache_lanes``): 256 for the article's window-1 models, 4 for a window-50 one."""
    return cache_lanes(config.lstm_steps, config.batch_size, config.model.units, per_seed=settings)


def scenario_max_lanes(scenario: Scenario) -> int:
    """The smallest ``group_max_lanes`` over the training groups (the most cache-bound has the most blocks of seeds:
    the CPU devices a run keeps busy): 256 for window-1 models only, 8 with a window-20 one, 4 with a window-50 one."""
    return min(group_max_lanes(group_config(scenario, subgroups), len(subgroups))
               for subgroups in training_groups(scenario))


def run_group(scenario: Scenario, subgroups: Sequence[Sequence[str]], n_seeds: int, *, root_seed: int = 0,
              chunk: int | None = None, lanes: int | None = None, progress: bool = True,
              store_dir: str | os.PathLike | None = None, resume: bool = False, any_code: bool = False,
              draws: Sequence[Scenario] = ()) -> tuple[dict[str, VariantResult] | None, dict]:
    """Train and evaluate variants whose configs differ at most in their numeric ``Hyper``: (results per variant,
    None off process 0; ``Sweep.describe()``). ``subgroups``: the variants per setting, each trained once per seed;
    several settings are vmapped in one program, one keeps its values compile-time constants (they agree to float32
    rounding: tests/test_groups.py). ``draws`` (other data) train with each seed's key in cache-sized vmapped blocks,
    a draw axis after the seed's. Chunks stream to ``store_dir/<first variant>/`` (reused with ``resume``;
    ``any_code``: whatever library version wrote them), nothing outside its parent."""
    names = [n for group in subgroups for n in group]
    config = group_config(scenario, subgroups)
    hypers = None
    if len(subgroups) > 1:  # checked concretely here: inside the vmapped program they are tracers
        hypers = jax.tree.map(lambda *v: np.asarray(v, np.float32), *[scenario.variants[g[0]].hyper for g in subgroups])
        validate_hyper(hypers, dropout_sites=config.dropout_sites, noisy_inputs=config.noisy_inputs)
    inputs = stacked_inputs([scenario, *draws], names[0]) if draws else program_inputs(scenario, names[0])
    first = jax.tree.map(lambda a: a[0], inputs) if draws else inputs
    train = make_train(config, Dataset(first["x"], first["y"]))
    model_metrics = make_model_metrics(scenario, names[0])
    modes = {scenario.rollout_mode(n): make_rollout_metrics(scenario, n) for n in names}

    def one_draw(key: jax.Array, inputs: dict):
        eval_key = jax.random.fold_in(key, EVAL_STREAM)  # a Gaussian head's samples (unused otherwise)

        def one(hyper):
            result = train(key, Dataset(inputs["x"], inputs["y"]), hyper)
            rolled = {mode: f(result.params, inputs, eval_key) for mode, f in modes.items()}
            return (rolled, model_metrics(result.params, inputs)), result.epoch_loss

        return one(None) if hypers is None else jax.vmap(one)(hypers)

    block, max_lanes = cache_layout(config, 1 + len(draws), len(subgroups)) if draws else \
        (1, group_max_lanes(config, len(subgroups)))

    def per_seed(key: jax.Array, inputs: dict):
        return map_draws(lambda i: one_draw(key, i), inputs, block) if draws else one_draw(key, inputs)

    desc = f"{scenario.name}/{names[0]}" + (f" (+{len(names) - 1})" if len(names) > 1 else "")
    # the store may touch nothing outside store_dir's parent (the scenario's folder), nor follow a link below it
    identity = group_identity([scenario, *draws], subgroups)
    store = None if store_dir is None else ChunkStore(pathlib.Path(store_dir) / names[0], identity, resume=resume,
                                                      inside=pathlib.Path(store_dir).parent, any_code=any_code)
    sweep = run_seeds(per_seed, n_seeds, root_seed=root_seed, chunk=chunk, lanes=lanes, desc=desc,
                      progress=progress, store=store, max_lanes=max_lanes, inputs=inputs)
    if sweep.results is None:
        return None, sweep.describe()
    (per_mode, shared), epoch_loss = sweep.results
    axis = 2 if draws else 1  # the settings' axis: after the seeds' (and the draws')
    pick = (lambda a, j: a) if len(subgroups) == 1 else (lambda a, j: np.take(a, j, axis=axis))
    results = {}
    for j, group in enumerate(subgroups):
        for name in group:
            metrics, rollouts, extras = per_mode[scenario.rollout_mode(name)]
            merged = {k: pick(v, j) for k, v in {**shared, **metrics}.items()}
            curve = pick(extras["map_curve"], j) if "map_curve" in extras else None
            forecasts = pick(extras["origin_forecasts"], j) if "origin_forecasts" in extras else None
            results[name] = variant_result(scenario, merged, pick(rollouts, j), pick(epoch_loss, j), curve, forecasts)
    return results, sweep.describe()


def stacked_inputs(draws: Sequence[Scenario], variant: str) -> dict[str, np.ndarray]:
    """``program_inputs`` of each draw stacked on a leading axis (ValueError naming an array whose shape differs
    between draws: they must share one program)."""
    each = [program_inputs(sc, variant) for sc in draws]
    for key, value in each[0].items():
        bad = [r for r, d in enumerate(each) if key not in d or np.shape(d[key]) != np.shape(value)]
        if bad or any(set(d) != set(each[0]) for d in each):
            raise ValueError(f"draws {bad} of scenario {draws[0].name!r} differ from draw 0 in {key!r} "
                             "(every draw needs arrays of the same shapes)")
    return {key: np.stack([d[key] for d in each]) for key in each[0]}


def cache_layout(config: TrainConfig, n_draws: int, per_model: int = 1) -> tuple[int, int]:
    """(draws per block, most seeds per device block) that keep a config's training in the CPU caches: e.g. (4,
    1) for a window-50 model over 16 draws. On an accelerator there is no cache to fit: every draw in one block."""
    fit = group_max_lanes(config, per_model)
    if jax.default_backend() != "cpu":
        return n_draws, max(1, fit)
    block = max(d for d in range(1, n_draws + 1) if n_draws % d == 0 and d <= max(1, fit))
    return block, max(1, fit // block)


def map_draws(one, inputs: dict, block: int):
    """``vmap(one)(inputs)`` over the leading (draw) axis, ``block`` draws at a time (``lax.map`` over blocks)."""
    n = next(iter(inputs.values())).shape[0]
    if block >= n:
        return jax.vmap(one)(inputs)
    blocks = jax.tree.map(lambda a: a.reshape(n // block, block, *a.shape[1:]), inputs)
    return jax.tree.map(lambda a: a.reshape(n, *a.shape[2:]), jax.lax.map(jax.vmap(one), blocks))


def group_config(scenario: Scenario, subgroups: Sequence[Sequence[str]]) -> TrainConfig:
    """The config a training group (variant names per setting) compiles: its first variant's, with the dropout
    sites its variants need (rate 0 at a site is no dropout). Several settings compile every site, as the committed
    results did (only their union gives the same models to float32 rounding, not the same bits)."""
    names = [name for group in subgroups for name in group]
    config = scenario.variants[names[0]]
    sites = (set(DROPOUT_SITES) if len(subgroups) > 1
             else {site for name in names for site in scenario.variants[name].dropout_sites})
    return dataclasses.replace(config, dropout_sites=resolve_dropout_sites(sites, config.hyper))


def training_groups(scenario: Scenario) -> list[list[list[str]]]:
    """groups -> subgroups -> variant names, in declared order: variants that share data and all but numeric
    hyper-parameters and dropout sites (one compiled program), within a group equal configs (one training run)."""
    groups: dict[tuple, dict[TrainConfig, list[str]]] = {}
    for name, config in scenario.variants.items():
        data = scenario.variant_data.get(name)
        structure = (dataclasses.replace(config, hyper=Hyper(), dropout_sites=()), None if data is None else id(data))
        groups.setdefault(structure, {}).setdefault(config, []).append(name)
    return [list(sub.values()) for sub in groups.values()]


def run_scenario(scenario: Scenario | Sequence[Scenario], n_seeds: int, *, root_seed: int = 0, chunk: int | None = None,
                 lanes: int | None = None, progress: bool = True, store_dir: str | os.PathLike | None = None,
                 resume: bool = False, any_code: bool = False) -> ScenarioResult | None:
    """Every training group over seeds 0..n_seeds-1 (``run_group``): the ``ScenarioResult`` (variants in declared
    order), None off process 0. A sequence of scenarios (the same name and variants on other draws of the data)
    crosses seeds and draws in one program: per-seed values f[n_seeds, n_draws], the first draw's references."""
    start = time.perf_counter()
    draws = [scenario] if isinstance(scenario, Scenario) else list(scenario)
    if not draws or any(not isinstance(d, Scenario) for d in draws):
        raise TypeError("scenario must be a Scenario or a non-empty sequence of Scenarios")
    scenario = draws[0]
    for r, d in enumerate(draws[1:], 1):
        if d.name != scenario.name or d.variants != scenario.variants:
            raise ValueError(f"draw {r} of scenario {scenario.name!r} is another experiment (name or variants "
                             "differ): every draw is the same scenario on other data")
    variants: dict[str, VariantResult] = {}
    sweeps = {}
    for subgroups in training_groups(scenario):
        results, sweeps[subgroups[0][0]] = run_group(scenario, subgroups, n_seeds, root_seed=root_seed, chunk=chunk,
                                                     lanes=lanes, progress=progress, store_dir=store_dir,
                                                     resume=resume, any_code=any_code, draws=draws[1:])
        variants.update(results or {})
    if not variants:
        return None
    variants = {name: variants[name] for name in scenario.variants}  # keep the declared order
    refs = linear.evaluate(scenario)  # deterministic: once per scenario, outside the seed loop
    return ScenarioResult(scenario, n_seeds, root_seed, variants, time.perf_counter() - start, sweeps, refs, len(draws))


def hardware_kind() -> str:
    """The kind of device (platform, device kind, CPU model), not how many: results depend on it."""
    d = jax.devices()[0]
    return f"{d.platform}:{d.device_kind}" + (f" ({_cpu_model()})" if d.platform == "cpu" else "")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown CPU"


def device_description() -> str:
    d = jax.devices()[0]
    return (f"{d.platform}:{d.device_kind} x{jax.device_count()}"
            + (f" ({_cpu_model()}, {os.cpu_count()} cores)" if d.platform == "cpu" else "")
            + (f", {jax.process_count()} processes" if jax.process_count() > 1 else ""))


def summarise_metric(name: str, values: np.ndarray, diverged: np.ndarray | None) -> dict:
    """One metric's ``stats.summarize``, JSON-ready (+-inf as "inf"/"-inf"), with ``worse`` (the side counted as worst
    or None). ``diverged`` seeds (``lstm_ar.study.metrics.worst_flags``) count as the worst value where the registry
    gives a worse side, else are left out, as from a metric ``UNDEFINED_WHEN_DIVERGED`` (``steps_to_collapse``)."""
    metric = registry.describe(name)
    worse = None if metric is None else metric.worse
    counted = None if name in registry.UNDEFINED_WHEN_DIVERGED else worse  # left out, not worst-counted
    return {**stats.json_number(stats.summarize(values, worse=counted, diverged=diverged)), "worse": worse}


def summarise(result: ScenarioResult) -> dict[str, Any]:
    """The JSON-ready ``summary.json`` of a ``run_scenario`` result: per variant each metric's statistics
    (``summarise_metric``), the metrics it lacks and why (``missing``), P(beats) each linear reference; paired
    comparisons; the claims' verdicts; the linear references, backtest and ``standardisation`` if any."""
    sc, refs = result.scenario, result.linear_references
    metrics = {name: v.metrics for name, v in result.variants.items()}
    names_by_variant = {name: tuple(m) for name, m in metrics.items()}
    variants = {name: {
        "metrics": {k: summarise_metric(k, v, registry.worst_flags(m, k)) for k, v in m.items()
                    if k not in ("collapsed", "diverged")},
        "collapse_rate": stats.rate(m["collapsed"] > 0), "diverged_rate": stats.rate(m["diverged"] > 0),
        "missing": registry.absent(sc, name, names_by_variant),
        **({"vs_references": linear.compare(m, refs)} if refs is not None else {}),
    } for name, m in metrics.items()}
    names = list(metrics)
    directions = [(m, True) for m in sc.lower_is_better] + [(m, False) for m in sc.higher_is_better]
    pairs = ([(a, sc.baseline) for a in names if a != sc.baseline] if sc.baseline is not None
             else [(a, b) for i, a in enumerate(names) for b in names[i + 1:]])
    worst = lambda v, k, lower: diverged_as_worst(metrics[v][k], lower, registry.worst_flags(metrics[v], k))
    comparisons = [{"a": a, "b": b, "metric": k, "lower_is_better": lower,
                    **stats.prob_better(worst(a, k, lower), worst(b, k, lower), lower_is_better=lower)}
                   for a, b in pairs for k, lower in directions if k in metrics[a] and k in metrics[b]]
    backtest = sc.backtest()
    return {
        "scenario": sc.name, "title": sc.title, "source": sc.source, "seeds": result.seeds,
        "root_seed": result.root_seed, "config": {name: cfg.to_dict() for name, cfg in sc.variants.items()},
        "rollout": {"steps": sc.rollout_steps, "modes": {n: sc.rollout_mode(n) for n in sc.variants},
                    "collapse_threshold": COLLAPSE_THRESHOLD, "valid_tolerance": VALID_TOLERANCE,
                    "divergence_bound": DIVERGENCE_BOUND, "scale": sc.scale, "center": sc.center},
        "device": device_description(), "jax_version": jax.__version__, "runtime_s": round(result.runtime_s, 3),
        "sweep": result.sweep or {}, "references": dict(sc.references), "variants": variants,
        "comparisons": comparisons, "claims": [evaluate_claim(c, metrics) for c in sc.claims],
        **({"linear_references": linear.summary(refs)} if refs is not None else {}),
        **({"backtest": {"origins": backtest.origins.tolist(), "horizon": backtest.horizon,
                         "heldout_values": int(backtest.history.shape[0] - backtest.start)}}
           if backtest is not None else {}),
        **({"standardisation": dict(zip(("mean", "std"), map(float, sc.standardisation)))}
           if sc.standardisation is not None else {}),
    }
