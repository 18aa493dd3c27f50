"""The rollout benchmark's PyTorch peers (the same rollout as ``numpy_rollout``, same numbers).

``torch.nn.LSTMCell`` holds one weight set for the whole batch, so it is a peer only for B = 1
(``torch_lstmcell``: the literal nn.LSTMCell + nn.Linear loop). For B models with their own
weights ``torch_eager`` writes the same cell with ``torch.baddbmm`` on stacked weights, and
``torch_compile`` is that step under ``torch.compile`` (the Python loop stays eager). Without
torch each raises ``PeerUnavailable``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchmarks.peers import PeerUnavailable, import_torch
from benchmarks.peers.numpy_rollout import Peer


def _torch_weights(w: dict):
    torch = import_torch()
    return {name: torch.from_numpy(np.ascontiguousarray(a)) for name, a in w.items()}


def _step_fns(t: dict, mode: str):
    torch = import_torch()
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


def _loop(t: dict, x0: float, first, step) -> Callable[[int], np.ndarray]:
    torch = import_torch()
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
    """PyTorch eager, ``baddbmm`` over stacked weights (arguments as ``numpy_rollout.numpy_loop``)."""
    t = _torch_weights(w)
    first, step = _step_fns(t, mode)
    return Peer(_loop(t, x0, first, step), "torch eager, baddbmm over stacked weights")


def torch_compile(w: dict, mode: str, x0: float) -> Peer:
    """``torch_eager``'s step under ``torch.compile(dynamic=True)``; compiled here, so a compiler
    failure is reported as the peer's reason (``PeerUnavailable``)."""
    torch = import_torch()
    t = _torch_weights(w)
    first, step = _step_fns(t, mode)
    compiled = torch.compile(step, dynamic=True)  # one symbolic-shape graph: the on-disk cache serves later B
    try:
        with torch.inference_mode():
            compiled(*first(torch.full((t["kernel"].shape[0],), x0)))
    except Exception as e:  # noqa: BLE001 - any compiler failure means the peer is unavailable
        raise PeerUnavailable(f"torch.compile failed: {type(e).__name__}: {str(e)[:300]}") from None
    return Peer(_loop(t, x0, first, compiled), "torch.compile(step, dynamic=True) (inductor), Python loop")


def torch_lstmcell(w: dict, mode: str, x0: float) -> Peer:
    """The literal ``nn.LSTMCell`` + ``nn.Linear`` loop; B = 1 only (else ``PeerUnavailable``)."""
    torch = import_torch()
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


def torch_threads(n: int | None) -> int | None:
    """Set PyTorch's intra-op threads (when torch is installed); returns the number now in use."""
    try:
        torch = import_torch()
    except PeerUnavailable:
        return None
    if n is not None:
        torch.set_num_threads(n)
    return torch.get_num_threads()
