"""Rolling-origin backtests: many forecast origins across the held-out part instead of one.

Origin ``j`` of ``n`` in the held-out continuation ``H`` (length ``L``, right after the training series ``S``) is
``floor(j * (L - h) / (n - 1))`` (0 for n = 1), each with ``h`` values after it (default ``min(rollout_steps,
L // 2)``); its context is ``S`` then ``H[:o]`` (a model reads the last ``window`` values), its truth ``H[o : o + h]``.
Per seed the means over origins are recorded (``backtest_rmse``, ``backtest_valid_horizon``, ``backtest_collapse_rate``:
tail statistics over the last ``min(TAIL, h)`` steps). Built on the host (numpy), so the rollouts vmap over the
origins inside the per-seed program.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

MIN_HORIZON = 2  # a tail std needs two values


class Backtest(NamedTuple):
    """One scenario's backtest: ``origins`` i64[n] (indices into ``H``), ``horizon`` h (steps judged at each),
    ``history`` f32[len(S) + L] (``S`` then ``H``) and ``start`` = len(S) (the index of ``H[0]`` in it)."""

    origins: np.ndarray
    horizon: int
    history: np.ndarray
    start: int

    def contexts(self, width: int) -> np.ndarray:
        """f32[n, width]: the last ``width`` (<= len(S)) values before each origin: ``history[:start + o][-width:]``."""
        return contexts(self.history, self.start + self.origins, width)

    def truths(self) -> np.ndarray:
        """The held-out values after each origin: f32[n, horizon]."""
        return self.history[self.start + self.origins[:, None] + np.arange(self.horizon)[None, :]]


def default_horizon(rollout_steps: int, heldout: int) -> int:
    """``min(rollout_steps, heldout // 2)``: the horizon when the scenario does not give one."""
    return min(int(rollout_steps), int(heldout) // 2)


def origins(heldout: int, n_origins: int, horizon: int) -> np.ndarray:
    """i64[n]: ``floor(j * (L - h) / (n - 1))`` for j = 0..n-1 (``[0]`` when n = 1): origins spread evenly over a
    held-out part of ``heldout`` = L values, each with ``horizon`` = h values after it. A ValueError when the part
    cannot hold n distinct origins (or h is outside ``[MIN_HORIZON, L]``)."""
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < MIN_HORIZON:
        raise ValueError(f"backtest horizon must be an int >= {MIN_HORIZON}, got {horizon!r}")
    if isinstance(n_origins, bool) or not isinstance(n_origins, (int, np.integer)) or n_origins < 1:
        raise ValueError(f"backtest origins must be an int >= 1, got {n_origins!r}")
    if horizon > heldout:
        raise ValueError(f"backtest horizon {horizon} is longer than the held-out part ({heldout} values)")
    if n_origins > (room := heldout - horizon + 1):
        raise ValueError(f"{n_origins} backtest origins do not fit: the held-out part has {heldout} values, so with a "
                         f"horizon of {horizon} there are only {room} distinct origins (at most {room}; or shorten the "
                         "horizon)")
    return (np.zeros(1, np.int64) if n_origins == 1
            else (np.arange(n_origins, dtype=np.int64) * (heldout - horizon)) // (n_origins - 1))


def build(series: np.ndarray, continuation: np.ndarray, n_origins: int, horizon: int | None,
          rollout_steps: int) -> Backtest:
    """The ``Backtest`` of S f32[T] and H f32[L]; ``horizon`` None: ``default_horizon(rollout_steps, L)``."""
    series, continuation = np.asarray(series, np.float32), np.asarray(continuation, np.float32)
    h = default_horizon(rollout_steps, continuation.shape[0]) if horizon is None else horizon
    return Backtest(origins=origins(continuation.shape[0], n_origins, h), horizon=int(h),
                    history=np.concatenate([series, continuation]), start=int(series.shape[0]))


def contexts(history: np.ndarray, ends: np.ndarray, width: int) -> np.ndarray:
    """f32[n, width]: ``history[e - width:e]`` for each end e (``width <= e <= N``) of ``ends`` i64[n]."""
    ends = np.asarray(ends, np.int64)
    if width < 1 or np.any(ends < width) or np.any(ends > history.shape[0]):
        raise ValueError(f"contexts of {width} values need width <= end <= {history.shape[0]}, got ends {ends.tolist()}")
    return np.asarray(history, np.float32)[ends[:, None] - width + np.arange(width)[None, :]]
