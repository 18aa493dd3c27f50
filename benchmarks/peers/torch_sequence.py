"""The sequence suite's PyTorch peers: the same models and Keras training in PyTorch, per seed and vmapped.

A workload (``benchmarks.sequence_suite.peer_spec``) is LSTM(u) over a window from the zero
state, then a Dense head: one-step (the next value), direct (the next H values at once), or k
stateful predictions carrying (h, c), fed the true value (teacher forcing) or the model's own
prediction (free running); the loss is the batch mean of each example's mean squared error;
Keras's initialisers and Keras's Adam (``benchmarks.peers.torch_train``'s ports); per epoch a
fresh shuffle and batches of 32, the last one partial. Two ways to write the model:

* ``nn_lstm``: ``torch.nn.LSTM`` + ``torch.nn.Linear`` (one fused call over the whole sequence; for
  teacher forcing the window and the first k - 1 targets are one sequence). PyTorch's LSTM has
  tanh only and its own second bias, so it is used for tanh models and with ``bias_hh`` frozen at
  zero (Keras has one bias); it cannot feed its own predictions back.
* ``cell``: the cell written with tensor ops (the input projection of every time step in one
  product, then a loop over time), for any activation and for free running: what a PyTorch user
  writes for LSTM(relu) or a fed-back rollout.

Peers: ``torch_loop`` trains one seed after another (``nn_lstm`` where it applies, else ``cell``);
``torch_vmap`` trains n seeds at once with ``torch.func.vmap`` of ``grad_and_value`` of the
``cell`` loss over stacked weights and Adam moments. ``loss_and_grads`` gives one batch's loss
and gradients for given Keras-layout weights (the equality test against ours).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from benchmarks.peers import PeerUnavailable, import_torch
from benchmarks.peers.torch_train import KerasAdam, _act

WEIGHTS = ("kernel", "recurrent_kernel", "bias", "dense_kernel", "dense_bias")


def head_width(spec: dict) -> int:
    """Outputs of the Dense head.

    Args:
      spec: the workload.

    Returns:
      H for the direct kind, else 1.
    """
    return spec["horizon"] if spec["kind"] == "direct" else 1


def uses_nn_lstm(spec: dict) -> bool:
    """Whether ``nn.LSTM`` computes the workload's model.

    Args:
      spec: the workload.

    Returns:
      True for tanh models without fed-back predictions.
    """
    return spec["activation"] == "tanh" and spec["kind"] != "free_running"


def keras_init(torch, spec: dict, gen, stack: int = 0) -> dict[str, Any]:
    """Keras-default weights in Keras's layout (``torch_train._init``; the head ``head_width`` wide).

    Args:
      torch: the module.
      spec: the workload.
      gen: a ``torch.Generator``.
      stack: independent weight sets stacked on a leading axis (0: one, unstacked).

    Returns:
      ``kernel f32[1, 4u]``, ``recurrent_kernel f32[u, 4u]``, ``bias f32[4u]``, ``dense_kernel
      f32[u, w]``, ``dense_bias f32[w]`` (with a leading axis ``stack`` when > 0).
    """
    from benchmarks.peers.torch_train import _init

    u, width = spec["units"], head_width(spec)
    p = _init(torch, u, gen, stack=stack)
    if width != 1:
        limit = math.sqrt(6.0 / (u + width))
        shape = (stack,) if stack else ()
        p["dense_kernel"] = (torch.rand(shape + (u, width), generator=gen) * 2 - 1) * limit
        p["dense_bias"] = torch.zeros(shape + (width,))
    return p


# --------------------------------------------------------------------------- the cell, written out

def cell_predictions(torch, p: dict, x, y, spec: dict):
    """The model's predictions for a batch, the cell written with tensor ops.

    Args:
      torch: the module.
      p: Keras-layout weights (``WEIGHTS``), one model.
      x: f32[b, w] windows; y: f32[b, k] targets (teacher forcing feeds y[:, :k-1]).
      spec: the workload.

    Returns:
      f32[b, width] (one-step, direct) or f32[b, k] (teacher forcing, free running).
    """
    act, rec_act = _act(torch, spec["activation"]), torch.sigmoid
    kind, u = spec["kind"], spec["units"]
    inputs = torch.cat([x, y[:, :-1]], dim=1) if kind == "teacher_forcing" else x
    zx = inputs[..., None] * p["kernel"][0] + p["bias"]  # the input projection of every step: [b, T, 4u]
    h = c = None
    for t in range(inputs.shape[1]):
        z = zx[:, t] if h is None else zx[:, t] + h @ p["recurrent_kernel"]
        i, f, g, o = z.split(u, dim=-1)
        c = rec_act(i) * act(g) if c is None else rec_act(f) * c + rec_act(i) * act(g)
        h = rec_act(o) * act(c)
        if kind == "teacher_forcing" and t == x.shape[1] - 1:
            hs = [h]
        elif kind == "teacher_forcing" and t >= x.shape[1]:
            hs.append(h)
    if kind == "teacher_forcing":
        return (torch.stack(hs, dim=1) @ p["dense_kernel"])[..., 0] + p["dense_bias"]
    pred = h @ p["dense_kernel"] + p["dense_bias"]
    if kind != "free_running":
        return pred
    preds = [pred]
    for _ in range(spec["horizon"] - 1):  # feed the prediction back, carry (h, c)
        z = preds[-1] * p["kernel"][0] + p["bias"] + h @ p["recurrent_kernel"]
        i, f, g, o = z.split(u, dim=-1)
        c = rec_act(f) * c + rec_act(i) * act(g)
        h = rec_act(o) * act(c)
        preds.append(h @ p["dense_kernel"] + p["dense_bias"])
    return torch.cat(preds, dim=1)


# --------------------------------------------------------------------------- nn.LSTM

class NNLSTM:
    """``nn.LSTM(1, u)`` + ``nn.Linear(u, width)`` holding Keras-layout weights; ``bias_hh`` frozen at 0."""

    def __init__(self, torch, spec: dict, weights: dict):
        if not uses_nn_lstm(spec):
            raise PeerUnavailable(f"nn.LSTM has tanh only and does not feed predictions back: not for "
                                  f"activation {spec['activation']!r}, kind {spec['kind']!r}")
        self.torch, self.spec = torch, spec
        u = spec["units"]
        self.lstm = torch.nn.LSTM(1, u, batch_first=True)
        self.linear = torch.nn.Linear(u, head_width(spec))
        with torch.no_grad():
            self.lstm.weight_ih_l0.copy_(weights["kernel"].T)
            self.lstm.weight_hh_l0.copy_(weights["recurrent_kernel"].T)
            self.lstm.bias_ih_l0.copy_(weights["bias"])
            self.lstm.bias_hh_l0.zero_()
            self.linear.weight.copy_(weights["dense_kernel"].T)
            self.linear.bias.copy_(weights["dense_bias"])
        self.lstm.bias_hh_l0.requires_grad_(False)
        self.params = [self.lstm.weight_ih_l0, self.lstm.weight_hh_l0, self.lstm.bias_ih_l0,
                       self.linear.weight, self.linear.bias]

    def predictions(self, x, y):
        """As ``cell_predictions``."""
        torch, kind = self.torch, self.spec["kind"]
        inputs = torch.cat([x, y[:, :-1]], dim=1) if kind == "teacher_forcing" else x
        out, _ = self.lstm(inputs[..., None])
        if kind == "teacher_forcing":
            return self.linear(out[:, x.shape[1] - 1:])[..., 0]
        return self.linear(out[:, -1])

    def keras_grads(self, grads: list) -> dict:
        """Gradients of ``params`` in Keras's layout (``WEIGHTS``)."""
        g_ih, g_hh, g_b, g_dk, g_db = grads
        return {"kernel": g_ih.T, "recurrent_kernel": g_hh.T, "bias": g_b, "dense_kernel": g_dk.T,
                "dense_bias": g_db}


def _mse(torch, pred, y):
    return torch.mean(torch.square(pred - y))


def loss_and_grads(spec: dict, weights: dict, x: np.ndarray, y: np.ndarray, impl: str) -> tuple[float, dict]:
    """One batch's loss and its gradients, for the equality test against ours.

    Args:
      spec: the workload (``peer_spec``).
      weights: Keras-layout numpy weights (``WEIGHTS``; e.g. ours, converted).
      x: f32[b, w]; y: f32[b, k or H or 1].
      impl: ``"nn_lstm"`` or ``"cell"``.

    Returns:
      (loss, gradients as numpy in Keras's layout).
    """
    torch = import_torch()
    w = {k: torch.tensor(np.asarray(v, np.float32)) for k, v in weights.items()}
    xb, yb = torch.tensor(np.asarray(x, np.float32)), torch.tensor(np.asarray(y, np.float32))
    if impl == "nn_lstm":
        model = NNLSTM(torch, spec, w)
        loss = _mse(torch, model.predictions(xb, yb), yb)
        grads = model.keras_grads(list(torch.autograd.grad(loss, model.params)))
    elif impl == "cell":
        params = {k: v.requires_grad_() for k, v in w.items()}
        loss = _mse(torch, cell_predictions(torch, params, xb, yb, spec), yb)
        grads = dict(zip(WEIGHTS, torch.autograd.grad(loss, [params[k] for k in WEIGHTS])))
    else:
        raise ValueError(f"impl must be 'nn_lstm' or 'cell', got {impl!r}")
    return float(loss.detach()), {k: v.detach().numpy() for k, v in grads.items()}


# --------------------------------------------------------------------------- training, timed

def _batches(n: int, bs: int, order):
    return [order[s:s + bs] for s in range(0, n, bs)]


def torch_loop(spec: dict, seed: int, *, max_steps: int, budget_s: float, impl: str = "auto") -> dict[str, Any]:
    """Train one seed (Keras training: shuffled epochs, batches of 32, Keras's Adam), timed per step.

    Runs epochs until ``max_steps`` Adam steps are done or ``budget_s`` seconds are spent after
    the first step (which is not timed: allocations, first-call set-up).

    Args:
      spec: the workload.
      seed: the torch generator's seed.
      max_steps: at most this many steps (>= 2).
      budget_s: stop after this many timed seconds.
      impl: ``"auto"`` (``nn_lstm`` where it computes this model, else ``cell``), ``"cell"``, or
        ``"nn_lstm_tanh"``: ``nn.LSTM`` with tanh in place of the model's activation (same shapes
        and products; a stand-in for the cost of a relu model, not the same model).

    Returns:
      ``impl, steps_timed, seconds, s_per_step, last_loss``.
    """
    if impl not in ("auto", "cell", "nn_lstm_tanh"):
        raise ValueError(f"impl must be 'auto', 'cell' or 'nn_lstm_tanh', got {impl!r}")
    if impl == "nn_lstm_tanh":
        spec = dict(spec, activation="tanh")
    torch = import_torch()
    gen = torch.Generator().manual_seed(seed)
    w = keras_init(torch, spec, gen)
    if uses_nn_lstm(spec) and impl != "cell":
        model = NNLSTM(torch, spec, w)
        params, predictions, impl = model.params, model.predictions, "nn_lstm"
    else:
        p = {k: v.requires_grad_() for k, v in w.items()}
        params, impl = [p[k] for k in WEIGHTS], "cell"
        predictions = lambda xb, yb: cell_predictions(torch, p, xb, yb, spec)  # noqa: E731
    opt = KerasAdam(torch, params, lr=spec["learning_rate"])
    x, y = torch.from_numpy(np.ascontiguousarray(spec["x"])), torch.from_numpy(np.ascontiguousarray(spec["y"]))
    n, bs = x.shape[0], spec["batch_size"]
    steps, start, loss = 0, None, float("nan")
    while True:
        for idx in _batches(n, bs, torch.randperm(n, generator=gen)):
            batch_loss = _mse(torch, predictions(x[idx], y[idx]), y[idx])
            opt.step(list(torch.autograd.grad(batch_loss, params)))
            loss = float(batch_loss.detach())
            steps += 1
            if start is None:
                start = time.perf_counter()  # after the first (untimed) step
            spent = time.perf_counter() - start
            if steps > 1 and (steps >= max_steps or spent >= budget_s):
                return {"impl": impl, "steps_timed": steps - 1, "seconds": spent, "s_per_step": spent / (steps - 1),
                        "last_loss": loss}


def torch_vmap(spec: dict, n_seeds: int, *, max_steps: int, budget_s: float, seed: int = 0) -> dict[str, Any]:
    """Train ``n_seeds`` models at once: ``torch.func.vmap`` of ``grad_and_value`` of the ``cell`` loss
    over stacked weights, Keras's Adam on the stacks; each seed its own shuffle. Timed as ``torch_loop``.

    Args:
      spec: the workload.
      n_seeds: models trained at once.
      max_steps, budget_s: as ``torch_loop``.
      seed: the torch generator's seed.

    Returns:
      ``impl, steps_timed, seconds, s_per_step`` (one step of all n seeds), ``last_loss_median``.
    """
    torch = import_torch()
    from torch.func import grad_and_value, vmap

    gen = torch.Generator().manual_seed(seed)
    stacked = keras_init(torch, spec, gen, stack=n_seeds)
    params = [stacked[k] for k in WEIGHTS]

    def loss_one(ps, xb, yb):
        return _mse(torch, cell_predictions(torch, dict(zip(WEIGHTS, ps)), xb, yb, spec), yb)

    step = vmap(grad_and_value(loss_one))
    opt = KerasAdam(torch, params, lr=spec["learning_rate"])
    x, y = torch.from_numpy(np.ascontiguousarray(spec["x"])), torch.from_numpy(np.ascontiguousarray(spec["y"]))
    n, bs = x.shape[0], spec["batch_size"]
    steps, start, loss = 0, None, None
    while True:
        order = torch.argsort(torch.rand(n_seeds, n, generator=gen), dim=1)
        for s in range(0, n, bs):
            idx = order[:, s:s + bs]
            grads, loss = step(params, x[idx], y[idx])
            opt.step(list(grads))
            steps += 1
            if start is None:
                start = time.perf_counter()
            spent = time.perf_counter() - start
            if steps > 1 and (steps >= max_steps or spent >= budget_s):
                return {"impl": "cell under torch.func.vmap", "steps_timed": steps - 1, "seconds": spent,
                        "s_per_step": spent / (steps - 1), "last_loss_median": float(torch.median(loss))}
