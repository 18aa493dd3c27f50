"""Rolling-origin backtests: many forecast origins across the held-out part instead of one.

A scenario with ``backtest_origins = n > 0`` judges every model (and every linear reference) at
``n`` origins in the held-out continuation ``H`` (``Scenario.heldout_continuation``: the values
right after the training series ``S``, of length ``L``), each with ``h`` held-out values after
it (``h = Scenario.backtest_horizon``, default ``min(rollout_steps, L // 2)``):

* origin ``j`` (0-based, of ``n``) is ``o_j = floor(j * (L - h) / (n - 1))`` (``o_0 = 0`` when
  ``n = 1``): the first origin right after the training series, the last with exactly ``h``
  values after it, the rest spread evenly between (integers, distinct when ``n <= L - h + 1``);
* the context at origin ``o`` is ``S`` followed by ``H[:o]``; a model reads its last ``window``
  values (window mode: the first window; stateful mode: the warm-up, as the single-origin
  rollout warms up over the last ``window`` values of its context); an AR(p) its last ``p``;
* the truth is ``H[o : o + h]``.

Per origin the rollout gets an RMSE, a valid horizon and a collapse verdict, with the tail
statistics over its last ``min(TAIL, h)`` steps (a horizon shorter than the 50-step tail of a
single rollout still gets a verdict, over fewer steps: documented in ``backtest_collapse_rate``).
Per seed the scenario records their means over origins: ``backtest_rmse``,
``backtest_valid_horizon``, ``backtest_collapse_rate``.

The origins are built on the host (``origins``, ``contexts``, ``truths``: numpy), so the model's
rollouts can be vmapped over them inside the per-seed program.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

MIN_HORIZON = 2  # a tail std needs two values


class Backtest(NamedTuple):
    """The origins of one scenario's backtest.

    Attributes:
      origins: i64[n] indices into the held-out continuation ``H`` where each rollout starts.
      horizon: h, the steps rolled out (and judged) at each origin.
      history: f32[len(S) + L] the training series followed by the held-out continuation.
      start: len(S), the index in ``history`` of ``H[0]``.
    """

    origins: np.ndarray
    horizon: int
    history: np.ndarray
    start: int

    def contexts(self, width: int) -> np.ndarray:
        """The last ``width`` values before each origin (``history[:start + o][-width:]``).

        Args:
          width: how many values each context keeps (<= len(S)).

        Returns:
          f32[n, width].
        """
        return contexts(self.history, self.start + self.origins, width)

    def truths(self) -> np.ndarray:
        """The held-out values after each origin: f32[n, horizon]."""
        index = self.start + self.origins[:, None] + np.arange(self.horizon)[None, :]
        return self.history[index]


def default_horizon(rollout_steps: int, heldout: int) -> int:
    """``min(rollout_steps, heldout // 2)``: the horizon when the scenario does not give one."""
    return min(int(rollout_steps), int(heldout) // 2)


def origins(heldout: int, n_origins: int, horizon: int) -> np.ndarray:
    """Origins spread evenly over a held-out part, each with ``horizon`` values after it.

    Args:
      heldout: L, the held-out length.
      n_origins: n >= 1.
      horizon: h, ``MIN_HORIZON <= h <= L``.

    Returns:
      i64[n]: ``floor(j * (L - h) / (n - 1))`` for j = 0..n-1 (``[0]`` when n = 1).

    Raises:
      ValueError: the held-out part cannot hold n distinct origins with h values after each.
    """
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < MIN_HORIZON:
        raise ValueError(f"backtest horizon must be an int >= {MIN_HORIZON}, got {horizon!r}")
    if isinstance(n_origins, bool) or not isinstance(n_origins, (int, np.integer)) or n_origins < 1:
        raise ValueError(f"backtest origins must be an int >= 1, got {n_origins!r}")
    if horizon > heldout:
        raise ValueError(f"backtest horizon {horizon} is longer than the held-out part ({heldout} values)")
    room = heldout - horizon + 1
    if n_origins > room:
        raise ValueError(f"{n_origins} backtest origins do not fit: the held-out part has {heldout} values, so with a "
                         f"horizon of {horizon} there are only {room} distinct origins (at most {room}; or shorten the "
                         "horizon)")
    if n_origins == 1:
        return np.zeros(1, np.int64)
    return (np.arange(n_origins, dtype=np.int64) * (heldout - horizon)) // (n_origins - 1)


def build(series: np.ndarray, continuation: np.ndarray, n_origins: int, horizon: int | None,
          rollout_steps: int) -> Backtest:
    """The backtest of a training series and its held-out continuation.

    Args:
      series: f32[T] the training series S.
      continuation: f32[L] the held-out values right after it, H.
      n_origins: n >= 1.
      horizon: h, or None for ``default_horizon(rollout_steps, L)``.
      rollout_steps: the scenario's single-origin rollout length.

    Returns:
      The ``Backtest``.
    """
    series = np.asarray(series, np.float32)
    continuation = np.asarray(continuation, np.float32)
    h = default_horizon(rollout_steps, continuation.shape[0]) if horizon is None else horizon
    return Backtest(origins=origins(continuation.shape[0], n_origins, h), horizon=int(h),
                    history=np.concatenate([series, continuation]), start=int(series.shape[0]))


def contexts(history: np.ndarray, ends: np.ndarray, width: int) -> np.ndarray:
    """``history[e - width:e]`` for each end e.

    Args:
      history: f32[N].
      ends: i64[n], each ``width <= e <= N``.
      width: values per context.

    Returns:
      f32[n, width].
    """
    ends = np.asarray(ends, np.int64)
    if width < 1 or np.any(ends < width) or np.any(ends > history.shape[0]):
        raise ValueError(f"contexts of {width} values need width <= end <= {history.shape[0]}, got ends {ends.tolist()}")
    return np.asarray(history, np.float32)[ends[:, None] - width + np.arange(width)[None, :]]

