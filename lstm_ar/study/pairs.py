"""Run configurations over model seeds x noise realisations, in one compiled program each.

``run_recipe`` trains and judges one ``TrainConfig`` (and any numeric settings of it, vmapped) on every
(seed, realisation) pair: ``lstm_ar.runtime.sweep.run_seeds`` runs the model seeds (sharded over the
devices, in chunks, with progress), and inside each seed's program the realisations are vmapped,
so seed s trains on every realisation with the same key (a crossed design). On a CPU, blocks of
seeds and of realisations are sized to fit the caches (``lstm_ar.runtime.sweep.cache_lanes``): a
window-50 model trains 4 realisations at a time, block after block, instead of all 16 at once.
``summarise_pairs`` turns a result into rates and paired comparisons with the linear references.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import jax
import numpy as np

from lstm_ar.config import Hyper, TrainConfig
from lstm_ar.data.series import gather_sequences
from lstm_ar.runtime.sweep import cache_lanes
from lstm_ar.study import stats
from lstm_ar.study.claims import diverged_as_worst
from lstm_ar.study.experiment import EVAL_STREAM, VariantResult  # noqa: F401 (EVAL_STREAM: the one seed stream)
from lstm_ar.study.realisation_references import References
from lstm_ar.training import make_train

N_KEEP = 8  # seeds whose rollouts are kept for figures


class Candidate(NamedTuple):
    """config: the static configuration; settings: setting name -> Hyper (one program for all)."""

    config: TrainConfig
    settings: dict[str, Hyper]


PLAIN = {"": Hyper()}  # one setting: the config's own numbers, reported under the candidate's name


def setting_names(name: str, candidate: Candidate) -> dict[str, str]:
    """Setting name -> the row name it is reported under (``name`` or ``name_<setting>``)."""
    return {s: name if s == "" else f"{name}_{s}" for s in candidate.settings}


def quick(candidate: Candidate) -> Candidate:
    """The candidate at test-suite size: window <= 5, 8 units, 2 epochs, short DaD and horizons."""
    c = candidate.config
    model = dataclasses.replace(c.model, window=min(c.model.window, 5), units=8, samples=4)
    horizon = c.horizon if c.model.head == "direct" else min(c.horizon, 4)
    config = dataclasses.replace(c, model=model, epochs=min(c.epochs, 2), horizon=horizon, dad_starts=2, dad_length=4)
    return Candidate(config, candidate.settings)


class PairResult(NamedTuple):
    """One setting of a recipe: metrics {name: f[S, R]}, rollouts f[N_KEEP, R, T] (the first
    seeds' point rollouts), epoch_loss f[S, R, epochs]."""

    metrics: dict[str, np.ndarray]
    rollouts: np.ndarray
    epoch_loss: np.ndarray


def cache_layout(config: TrainConfig, n_realisations: int, per_model: int = 1) -> tuple[int, int]:
    """(realisations per block, most seeds per device block) that keep a config's training in the
    CPU caches (``lstm_ar.runtime.sweep.cache_lanes``). On an accelerator there is no cache to fit:
    every realisation in one block (the seeds' cap is dropped there too, ``sweep.cpu_cap``).

    Args:
      config: the configuration (its LSTM steps per example, batch and units set the footprint).
      n_realisations: realisations trained inside each seed (1: none).
      per_model: settings vmapped inside each realisation.

    Returns:
      (block, max_lanes): e.g. (4, 1) for a window-50 model over 16 realisations on a CPU.
    """
    fit = cache_lanes(config.lstm_steps, config.batch_size, config.model.units, per_seed=per_model)
    if jax.default_backend() != "cpu":
        return n_realisations, max(1, fit)
    block = realisation_block(n_realisations, fit)
    return block, max(1, fit // block)


def realisation_block(n_realisations: int, fit: int) -> int:
    """Realisations vmapped at once inside a seed: the largest divisor of ``n_realisations`` that is
    at most ``fit`` (``lstm_ar.runtime.sweep.cache_lanes`` of one model), so the block trains in the
    CPU caches; the rest are mapped block after block (``map_realisations``)."""
    return max(d for d in range(1, n_realisations + 1) if n_realisations % d == 0 and d <= max(1, fit))


def map_realisations(one: Callable, arrays: tuple[jax.Array, ...], block: int):
    """``vmap(one)(*arrays)`` over the leading (realisation) axis, ``block`` realisations at a time
    (``lax.map`` over the blocks; the results are the same, laid out as the full vmap's)."""
    n = arrays[0].shape[0]
    if block >= n:
        return jax.vmap(one)(*arrays)
    blocks = tuple(a.reshape(n // block, block, *a.shape[1:]) for a in arrays)
    out = jax.lax.map(lambda blk: jax.vmap(one)(*blk), blocks)
    return jax.tree.map(lambda a: a.reshape(n, *a.shape[2:]), out)


def training_program(config: TrainConfig, series: np.ndarray):
    """``train(key, series, hyper)`` on one series of ``series``' length: the one ``make_train``
    fed ``gather_sequences`` of the (possibly traced) series, so every realisation shares a program."""
    window, horizon = config.model.window, config.horizon
    train = make_train(config, jax.tree.map(np.asarray, gather_sequences(series, window, horizon)))
    return lambda key, s, hyper: train(key, gather_sequences(s, window, horizon), hyper)


def pair_result(result: VariantResult, steps: int) -> PairResult:
    """A variant run over seeds x draws (``run_scenario`` with draws) as the cure report reads it:
    per-pair metrics f[S, R] with ``valid_full`` (valid for all ``steps``), the first seeds' rollouts."""
    metrics = dict(result.metrics)
    metrics["valid_full"] = (metrics["valid_horizon"] == steps).astype(np.float64)
    for key in [k for k in metrics if k.startswith("sample_valid_horizon")]:
        metrics["sample_valid_full"] = (metrics[key] == steps).astype(np.float64)
    return PairResult(metrics=metrics, rollouts=np.asarray(result.rollouts[:N_KEEP]), epoch_loss=result.epoch_loss)


def summarise_pairs(result: PairResult, refs: References) -> dict:
    """Rates and paired comparisons over all (seed, realisation) pairs (JSON-ready).

    ``valid_full``: share of pairs whose rollout stays within 0.5 std of the truth for every step
    (Wilson interval over pairs). ``rollout_rmse``: diverged pairs count as the worst (+inf) value.
    ``beats_best_ar``: paired P(rollout RMSE < AR(p*)'s on the same realisation), ties 0.5, a
    diverged rollout loses (ties with a diverged reference) (percentile bootstrap over pairs); likewise
    against AR(AIC) and the direct linear forecaster. Pairs share realisations and seeds, so the
    intervals over pairs are narrower than a two-way (seed and realisation) bootstrap would give:
    ``by_realisation`` gives the rate per realisation to show the spread.
    """
    m = result.metrics
    n_seeds, n_real = m["rollout_rmse"].shape
    rmse = m["rollout_rmse"].reshape(-1)

    def versus(ref: dict[str, np.ndarray]) -> dict:
        b = np.broadcast_to(ref["rollout_rmse"][None, :], (n_seeds, n_real)).reshape(-1)
        return stats.prob_better(stats_worst(rmse), stats_worst(b), lower_is_better=True)

    out = {
        "pairs": int(rmse.size), "seeds": int(n_seeds), "realisations": int(n_real),
        "valid_full": stats.rate(m["valid_full"].reshape(-1) > 0),
        "collapsed": stats.rate(m["collapsed"].reshape(-1) > 0),
        "diverged": stats.rate(m["diverged"].reshape(-1) > 0),
        "rollout_rmse": stats.summarize(rmse, worse="higher", diverged=m["diverged"].reshape(-1) > 0),
        "valid_horizon": stats.summarize(m["valid_horizon"].reshape(-1)),
        "beats_best_ar": versus(refs.best()),
        "beats_ar_aic": versus(refs.aic),
        "beats_direct_linear": versus(refs.direct),
        "valid_full_by_realisation": [float(v) for v in m["valid_full"].mean(axis=0)],
    }
    if "sample_valid_full" in m:
        out["sample_valid_full"] = stats.rate(m["sample_valid_full"].reshape(-1) > 0)
        out["sample_rollout_rmse"] = stats.summarize(m["sample_rollout_rmse"].reshape(-1), worse="higher",
                                                     diverged=m["sample_diverged"].reshape(-1) > 0)
    return out


def stats_worst(x: np.ndarray) -> np.ndarray:
    """Non-finite values (diverged) as the largest float64: the worst RMSE, counted, not dropped."""
    return diverged_as_worst(x, lower_is_better=True)
