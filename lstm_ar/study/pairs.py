"""The cure search's candidates and what is judged over (model seed, noise realisation) pairs.

A ``Candidate`` is a ``TrainConfig`` and its numeric settings (``Hyper``s, one variant each, vmapped in one
program by ``run_scenario``); ``pair_result`` reads a variant's f[seeds, realisations] values as the cure
report does, ``summarise_pairs`` turns them into rates and paired comparisons with the references.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from lstm_ar.config import Hyper, TrainConfig
from lstm_ar.study import stats
from lstm_ar.study.claims import diverged_as_worst
from lstm_ar.study.experiment import VariantResult
from lstm_ar.study.references import RealisationReferences

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


def pair_result(result: VariantResult, steps: int) -> PairResult:
    """A variant run over seeds x draws as the cure report reads it: ``valid_full`` (valid for all ``steps``) added."""
    metrics = dict(result.metrics)
    for prefix in ("", "sample_"):  # the point rollout's, and a Gaussian head's sampled path's
        if f"{prefix}valid_horizon" in metrics:
            metrics[f"{prefix}valid_full"] = (metrics[f"{prefix}valid_horizon"] == steps).astype(np.float64)
    return PairResult(metrics=metrics, rollouts=np.asarray(result.rollouts[:N_KEEP]), epoch_loss=result.epoch_loss)


def summarise_pairs(result: PairResult, refs: RealisationReferences) -> dict:
    """Rates and paired comparisons over all (seed, realisation) pairs (JSON-ready).

    ``valid_full``: share of pairs within 0.5 std of the truth for every step; diverged pairs count as the
    worst RMSE. ``beats_*``: paired P(rollout RMSE < the reference's on the same realisation), ties 0.5, a
    diverged rollout loses. Pairs share seeds and realisations, so rates and P(beats) over several
    realisations carry the crossed bootstrap interval and each realisation's own value (``stats.rate``,
    ``stats.prob_better``: ``by_draw``); the IQM's interval stays over pairs (a description, not a verdict).
    """
    m = result.metrics
    n_seeds, n_real = m["rollout_rmse"].shape
    flat = lambda k: m[k].reshape(-1)
    rmse = m["rollout_rmse"]

    def versus(ref: dict[str, np.ndarray]) -> dict:
        b = np.broadcast_to(ref["rollout_rmse"][None, :], (n_seeds, n_real))
        return stats.prob_better(stats_worst(rmse), stats_worst(b), lower_is_better=True)

    out = {"pairs": int(rmse.size), "seeds": int(n_seeds), "realisations": int(n_real),
           **{k: stats.rate(m[k] > 0) for k in ("valid_full", "collapsed", "diverged")},
           "rollout_rmse": stats.summarize(flat("rollout_rmse"), worse="higher", diverged=flat("diverged") > 0),
           "valid_horizon": stats.summarize(flat("valid_horizon")),
           "beats_best_ar": versus(refs.best()), "beats_ar_aic": versus(refs.aic),
           "beats_direct_linear": versus(refs.direct),
           "valid_full_by_realisation": [float(v) for v in m["valid_full"].mean(axis=0)]}
    if "sample_valid_full" in m:
        out["sample_valid_full"] = stats.rate(m["sample_valid_full"] > 0)
        out["sample_rollout_rmse"] = stats.summarize(flat("sample_rollout_rmse"), worse="higher",
                                                     diverged=flat("sample_diverged") > 0)
    return out


def stats_worst(x: np.ndarray) -> np.ndarray:
    """Non-finite values (diverged) as the largest float64: the worst RMSE, counted, not dropped."""
    return diverged_as_worst(x, lower_is_better=True)
