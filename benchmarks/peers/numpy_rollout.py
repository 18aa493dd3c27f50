"""The rollout benchmark's numpy peer: the same free-running rollout as ``lstm_ar.dynamics.rollout``.

B forecasters (LSTM(u) -> Dense(1), Keras layout, gate order i, f, c, o), each with its own
weights, roll out from the shared start value ``x0``; ``run(n)`` returns f32[B, n], the same
numbers as ours (checked in the benchmark):

* ``window`` mode with window 1: ``y_{t+1} = f(y_t)``, each step from the zero state (so no
  recurrent product: c = sigmoid(i) * tanh(g)).
* ``stateful`` mode: the state (h, c) after the one-value context is carried; each prediction is
  fed back as the next input (full recurrent product every step).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np


class Peer(NamedTuple):
    """A built rollout peer: ``run(n) -> f32[B, n]``, and how it was done."""

    run: Callable[[int], np.ndarray]
    note: str


def split4(z):
    """The four gate blocks [i, f, c, o] of a fused pre-activation ``[..., 4u]``."""
    u = z.shape[-1] // 4
    return [z[..., k * u:(k + 1) * u] for k in range(4)]


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def numpy_loop(w: dict, mode: str, x0: float) -> Peer:
    """numpy float32, batched ops per step (``np.matmul`` over stacked weights).

    Args:
      w: ``benchmarks.peers.rollout_peer``'s weights (leading model axis B).
      mode: ``"window"`` or ``"stateful"``.
      x0: start value.

    Returns:
      The ``Peer``.
    """
    k, r, b, d, db = (w[n] for n in ("kernel", "recurrent", "bias", "dense", "dense_bias"))
    n_models = k.shape[0]

    def first(y):
        i, _, g, o = split4(y[:, None] * k + b)
        c = _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        return h, c, np.einsum("bu,bu->b", h, d) + db

    def run(n: int) -> np.ndarray:
        out = np.empty((n_models, n), np.float32)
        h, c, y = first(np.full((n_models,), x0, np.float32))
        for t in range(n):
            out[:, t] = y
            if mode == "window":
                _, _, y = first(y)
            else:
                z = y[:, None] * k + b + np.matmul(h[:, None, :], r)[:, 0, :]
                i, f, g, o = split4(z)
                c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
                h = _sigmoid(o) * np.tanh(c)
                y = np.einsum("bu,bu->b", h, d) + db
        return out

    return Peer(run, "numpy float32, batched ops per step (np.matmul over stacked weights)")
