"""Choose without peeking: one forecaster for a series, chosen inside its training part, then scored once.

A user has a training part and no future. The last 20% of the training part is held back as a validation tail and
backtested from rolling origins exactly as the held-out part is (the same rules for window, epochs and references on
the shorter series: ``lstm_ar.scenarios.panel.scenario(..., validation=True)``). Every candidate is scored there:
each classical reference (fitted on the first 80% of the training part) and each LSTM recipe as a seed ensemble (the
median of its seeds' forecasts, ``lstm_ar.study.ensemble``). The lowest validation RMSE wins; ties go to the
classical reference (the simpler forecaster). The winner, refitted or retrained on the whole training part, is then
judged on the held-out part: the held-out part chooses nothing.

Two choices are made: ``chosen`` among every candidate (what ``lstm-ar study`` recommends) and ``chosen_lstm`` among
the LSTM recipes only (the one LSTM family the panel judges: "the recipe the validation picks").
"""

from __future__ import annotations

import math
from collections.abc import Mapping

LSTM_PREFIX = "LSTM "  # candidate names of LSTM recipes: "LSTM scaled_direct_skip"


def lstm_name(recipe: str) -> str:
    """The candidate name of an LSTM recipe's seed ensemble."""
    return LSTM_PREFIX + recipe


def is_lstm(candidate: str) -> bool:
    """Whether a candidate name is an LSTM recipe's (else a classical reference's)."""
    return candidate.startswith(LSTM_PREFIX)


def candidate_scores(references: Mapping[str, float], ensembles: Mapping[str, float]) -> dict[str, float]:
    """name -> RMSE of every candidate: references by their names, then each recipe's ensemble as ``lstm_name``;
    a missing or non-finite score (a diverged forecast) is ``inf``."""
    def score(v) -> float:
        return math.inf if v is None or not math.isfinite(float(v)) else float(v)

    out = {name: score(v) for name, v in references.items()}
    out.update({lstm_name(r): score(v) for r, v in ensembles.items()})
    return out


def choose(validation: Mapping[str, float], *, lstm_only: bool = False) -> str:
    """The candidate with the lowest validation score (``candidate_scores``), references before recipes on ties (in
    the mapping's order otherwise); ``lstm_only``: among the recipes. ValueError when there is none to choose from."""
    names = [n for n in validation if is_lstm(n) or not lstm_only]
    if not names:
        raise ValueError("no candidate to choose from" + (" (no LSTM recipe)" if lstm_only else ""))
    return min(names, key=lambda n: (validation[n], is_lstm(n), names.index(n)))


def choice(validation: Mapping[str, float], heldout: Mapping[str, float]) -> dict:
    """JSON-ready: both choices made on ``validation`` and their ``heldout`` scores (the same candidate names),
    with the best classical reference on the held-out part (chosen there: an optimistic bar) and each choice's
    ratio to it."""
    chosen, chosen_lstm = choose(validation), choose(validation, lstm_only=True)
    classical = {n: v for n, v in heldout.items() if not is_lstm(n)}
    best = min(classical, key=classical.get)
    ratio = lambda n: heldout[n] / classical[best] if classical[best] > 0 else math.inf  # noqa: E731
    return {"chosen": chosen, "chosen_rmse": heldout[chosen], "chosen_ratio": ratio(chosen),
            "chosen_lstm": chosen_lstm, "chosen_lstm_rmse": heldout[chosen_lstm],
            "chosen_lstm_ratio": ratio(chosen_lstm), "best_classical": best, "best_classical_rmse": classical[best],
            "validation": dict(validation)}
