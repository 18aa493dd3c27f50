"""The rollout benchmark's peers: the same free-running rollout written in numpy and PyTorch.

(Keras runs in its own Python: ``benchmarks/keras_peer.py``, via ``benchmarks/keras_runner.py``.)

Every peer rolls out B forecasters (LSTM(u) -> Dense(1), Keras layout, gate order i, f, c, o),
each with its own weights, from the shared start value ``x0`` for ``n`` steps and returns
f32[B, n], the same numbers as ``lstm_ar.dynamics.rollout`` (checked against ours in the benchmark):

* ``window`` mode with window 1: ``y_{t+1} = f(y_t)``, each step from the zero state (so no
  recurrent product: c = sigmoid(i) * tanh(g)).
* ``stateful`` mode: the state (h, c) after the one-value context is carried; each prediction is
  fed back as the next input (full recurrent product every step).

``make(name, weights, mode, x0)`` -> a ``Peer`` whose ``run(n)`` does n steps and returns the
predictions. ``weights`` is a dict of numpy arrays with a leading model axis B:
kernel f32[B, 4u], recurrent f32[B, u, 4u], bias f32[B, 4u], dense f32[B, u], dense_bias f32[B].

PyTorch: ``torch.nn.LSTMCell`` holds one weight set for the whole batch, so it is a peer only for
B = 1 (``torch_lstmcell``: the literal nn.LSTMCell + nn.Linear loop). For B models with their own
weights ``torch_eager`` writes the same cell with ``torch.baddbmm`` on stacked weights, and
``torch_compile`` is that step under ``torch.compile`` (the Python loop stays eager).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np


class Peer(NamedTuple):
    run: Callable[[int], np.ndarray]   # n steps -> f32[B, n]
    note: str                          # how it was done


class PeerUnavailable(Exception):
    """The peer cannot run here (library missing, not applicable, failed); the message says why."""


def _split4(z, axis=-1):
    u = z.shape[axis] // 4
    return [z[..., k * u:(k + 1) * u] for k in range(4)]


# --------------------------------------------------------------------------- numpy

def _np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def numpy_loop(w: dict, mode: str, x0: float) -> Peer:
    k, r, b, d, db = (w[n] for n in ("kernel", "recurrent", "bias", "dense", "dense_bias"))
    n_models = k.shape[0]

    def first(y):
        i, _, g, o = _split4(y[:, None] * k + b)
        c = _np_sigmoid(i) * np.tanh(g)
        h = _np_sigmoid(o) * np.tanh(c)
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
                i, f, g, o = _split4(z)
                c = _np_sigmoid(f) * c + _np_sigmoid(i) * np.tanh(g)
                h = _np_sigmoid(o) * np.tanh(c)
                y = np.einsum("bu,bu->b", h, d) + db
        return out

    return Peer(run, "numpy float32, batched ops per step (np.matmul over stacked weights)")


# --------------------------------------------------------------------------- PyTorch

def _torch():
    try:
        import torch
    except ImportError as e:
        raise PeerUnavailable(f"torch not installed ({e}); pip install '.[peers]'") from None
    return torch


def _torch_weights(w: dict):
    torch = _torch()
    return {name: torch.from_numpy(np.ascontiguousarray(a)) for name, a in w.items()}


def _torch_step_fns(t: dict, mode: str):
    torch = _torch()
    k, r, b, d, db = (t[n] for n in ("kernel", "recurrent", "bias", "dense", "dense_bias"))

    def first(y):
        i, _, g, o = (y[:, None] * k + b).chunk(4, -1)
        c = torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c, (h * d).sum(-1) + db

    def step(h, c, y):
        if mode == "window":
            return first(y)
        z = torch.baddbmm((y[:, None] * k + b)[:, None, :], h[:, None, :], r)[:, 0, :]
        i, f, g, o = z.chunk(4, -1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c, (h * d).sum(-1) + db

    return first, step


def _torch_loop(t: dict, x0: float, first, step) -> Callable[[int], np.ndarray]:
    torch = _torch()
    n_models = t["kernel"].shape[0]

    def run(n: int) -> np.ndarray:
        with torch.inference_mode():
            out = torch.empty((n_models, n))
            h, c, y = first(torch.full((n_models,), x0))
            for s in range(n):
                out[:, s] = y
                h, c, y = step(h, c, y)
            return out.numpy()

    return run


def torch_eager(w: dict, mode: str, x0: float) -> Peer:
    t = _torch_weights(w)
    first, step = _torch_step_fns(t, mode)
    return Peer(_torch_loop(t, x0, first, step),
                "torch eager, baddbmm over stacked weights")


def torch_compile(w: dict, mode: str, x0: float) -> Peer:
    torch = _torch()
    t = _torch_weights(w)
    first, step = _torch_step_fns(t, mode)
    compiled = torch.compile(step, dynamic=True)  # one symbolic-shape graph: the on-disk cache serves later B
    try:  # compile now, so a failure is reported as the peer's reason
        with torch.inference_mode():
            compiled(*first(torch.full((t["kernel"].shape[0],), x0)))
    except Exception as e:  # noqa: BLE001 - any compiler failure means the peer is unavailable
        raise PeerUnavailable(f"torch.compile failed: {type(e).__name__}: {str(e)[:300]}") from None
    return Peer(_torch_loop(t, x0, first, compiled),
                "torch.compile(step, dynamic=True) (inductor), Python loop")


def torch_lstmcell(w: dict, mode: str, x0: float) -> Peer:
    torch = _torch()
    n_models, four_u = w["kernel"].shape
    if n_models != 1:
        raise PeerUnavailable("nn.LSTMCell shares one weight set across its batch; "
                              "own weights per model are measured by torch_eager (baddbmm)")
    u = four_u // 4
    cell, dense = torch.nn.LSTMCell(1, u), torch.nn.Linear(u, 1)
    with torch.no_grad():  # Keras layout -> torch: transpose, one bias
        cell.weight_ih.copy_(torch.from_numpy(w["kernel"][0][:, None]))
        cell.weight_hh.copy_(torch.from_numpy(w["recurrent"][0].T.copy()))
        cell.bias_ih.copy_(torch.from_numpy(w["bias"][0]))
        cell.bias_hh.zero_()
        dense.weight.copy_(torch.from_numpy(w["dense"][0][None, :]))
        dense.bias.copy_(torch.from_numpy(w["dense_bias"]))

    def run(n: int) -> np.ndarray:
        with torch.inference_mode():
            out = torch.empty((1, n))
            state = cell(torch.full((1, 1), x0))
            y = dense(state[0])
            for s in range(n):
                out[0, s] = y[0, 0]
                state = cell(y) if mode == "window" else cell(y, state)
                y = dense(state[0])
            return out.numpy()

    return Peer(run, "torch eager nn.LSTMCell + nn.Linear loop (B = 1)")


PEERS: dict[str, Callable[[dict, str, float], Peer]] = {
    "numpy_loop": numpy_loop,
    "torch_eager": torch_eager,
    "torch_lstmcell": torch_lstmcell,
    "torch_compile": torch_compile,
}


def make(name: str, w: dict, mode: str, x0: float) -> Peer:
    if name not in PEERS:
        raise ValueError(f"unknown peer {name!r}; valid: {sorted(PEERS)}")
    return PEERS[name](w, mode, x0)


def torch_threads(n: int | None) -> int | None:
    """Set PyTorch's intra-op threads (when torch is installed); returns the number now in use."""
    try:
        torch = _torch()
    except PeerUnavailable:
        return None
    if n is not None:
        torch.set_num_threads(n)
    return torch.get_num_threads()
