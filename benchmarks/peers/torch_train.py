"""The training benchmark's PyTorch peers: the seed suite written in PyTorch, per seed and vmapped.

The model and training are the seed's Keras ones, ported literally (what a PyTorch user would
write): LSTM(u) from the zero state over the one-value window (the full cell, h0 @ R and the
forget gate included, as Keras computes them), [Dropout] -> Dense(1); Keras's initialisers
(glorot-uniform kernels, orthogonal recurrent kernel, forget bias 1); per epoch a fresh shuffle
and ceil(n / 32) batches, the last one partial; the batch mean squared error; Keras's Adam
(epsilon on sqrt(v), bias correction folded into the step size) over every parameter.

* ``torch_loop``: one seed after another, eager PyTorch, ``torch.optim``-style in-place updates.
* ``torch_vmap``: ``torch.func.vmap`` of ``torch.func.grad_and_value`` over stacked model
  states (one set of weights and Adam moments per seed), so one Python step trains all seeds.

Random streams differ from JAX's (torch generators), so results agree in distribution, not bit
for bit: the benchmark records each peer's median final training loss beside ours as a check.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from benchmarks.peers import PeerUnavailable, import_torch

ACTIVATIONS = ("relu", "sigmoid", "tanh")


def _act(torch, name: str):
    if name not in ACTIVATIONS:
        raise PeerUnavailable(f"activation {name!r} not ported to the PyTorch peer")
    return {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}[name]


def _init(torch, units: int, gen, stack: int = 0) -> dict[str, Any]:
    """Keras-default initial weights; with ``stack`` > 0, that many independent sets stacked."""
    shape = (stack,) if stack else ()

    def glorot(fan_in, fan_out):
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return (torch.rand(shape + (fan_in, fan_out), generator=gen) * 2 - 1) * limit

    def orthogonal():  # Keras: QR of a normal (4u, u), sign-fixed, transposed -> (u, 4u)
        a = torch.randn(shape + (4 * units, units), generator=gen)
        q, r = torch.linalg.qr(a)
        q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))[..., None, :]
        return q.transpose(-1, -2).contiguous()

    bias = torch.zeros(shape + (4 * units,))
    bias[..., units:2 * units] = 1.0
    return {"kernel": glorot(1, 4 * units), "recurrent_kernel": orthogonal(), "bias": bias,
            "dense_kernel": glorot(units, 1), "dense_bias": torch.zeros(shape + (1,))}


def _forward(torch, p, x, act, rec_act, mask):
    """One Keras LSTM step from the zero state, then Dense(1). x: [b, 1] -> [b, 1]."""
    b, u = x.shape[0], p["recurrent_kernel"].shape[0]
    h0 = torch.zeros(b, u)
    c0 = torch.zeros(b, u)
    z = x @ p["kernel"] + h0 @ p["recurrent_kernel"] + p["bias"]
    i, f, g, o = z.split(u, dim=-1)
    c = rec_act(f) * c0 + rec_act(i) * act(g)
    h = rec_act(o) * act(c)
    if mask is not None:
        h = h * mask
    return h @ p["dense_kernel"] + p["dense_bias"]


class KerasAdam:
    """Keras 3 Adam on a list of tensors (stacked or not), in place, with foreach ops."""

    def __init__(self, torch, params: list, lr=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.torch, self.params = torch, params
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.lr, self.b1, self.b2, self.eps, self.t = lr, beta_1, beta_2, epsilon, 0

    def step(self, grads: list) -> None:
        torch = self.torch
        self.t += 1
        alpha = self.lr * math.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        with torch.no_grad():
            torch._foreach_lerp_(self.m, grads, 1 - self.b1)           # m += (g - m)(1 - b1)
            sq = torch._foreach_mul(grads, grads)
            torch._foreach_lerp_(self.v, sq, 1 - self.b2)              # v += (g^2 - v)(1 - b2)
            denom = torch._foreach_sqrt(self.v)
            torch._foreach_add_(denom, self.eps)
            torch._foreach_addcdiv_(self.params, self.m, denom, value=-alpha)


def torch_loop(spec: dict, seed: int) -> float:
    """Train one seed of one suite variant.

    Args:
      spec: ``benchmarks.suite.peer_spec`` of the variant.
      seed: the torch generator's seed.

    Returns:
      The final epoch's training loss.
    """
    torch = import_torch()
    gen = torch.Generator().manual_seed(seed)
    act, rec_act = _act(torch, spec["activation"]), torch.sigmoid
    p = {k: v.requires_grad_() for k, v in _init(torch, spec["units"], gen).items()}
    params = list(p.values())
    opt = KerasAdam(torch, params, lr=spec["learning_rate"])
    x = torch.from_numpy(spec["x"])[:, None]
    y = torch.from_numpy(spec["y"])[:, None]
    n, bs, rate = x.shape[0], spec["batch_size"], spec["output_dropout"]
    epoch_loss = float("nan")
    for _ in range(spec["epochs"]):
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for start in range(0, n, bs):
            idx = order[start:start + bs]
            mask = None
            if rate > 0:
                mask = torch.bernoulli(torch.full((idx.shape[0], spec["units"]), 1 - rate), generator=gen) / (1 - rate)
            loss = torch.mean(torch.square(_forward(torch, p, x[idx], act, rec_act, mask) - y[idx]))
            grads = torch.autograd.grad(loss, params)
            opt.step(list(grads))
            total += float(loss.detach()) * idx.shape[0]
        epoch_loss = total / n
    return epoch_loss


def torch_vmap(spec: dict, n_seeds: int, seed: int = 0) -> np.ndarray:
    """Train ``n_seeds`` models of one variant at once with ``torch.func.vmap``.

    Args:
      spec: ``benchmarks.suite.peer_spec`` of the variant.
      n_seeds: models trained side by side (stacked weights and Adam moments).
      seed: the torch generator's seed.

    Returns:
      f32[n_seeds]: each model's final epoch loss.
    """
    torch = import_torch()
    from torch.func import grad_and_value, vmap

    gen = torch.Generator().manual_seed(seed)
    act, rec_act = _act(torch, spec["activation"]), torch.sigmoid
    stacked = _init(torch, spec["units"], gen, stack=n_seeds)
    names = list(stacked)
    params = [stacked[k] for k in names]
    opt = KerasAdam(torch, params, lr=spec["learning_rate"])
    x = torch.from_numpy(spec["x"])
    y = torch.from_numpy(spec["y"])
    n, bs, rate, u = x.shape[0], spec["batch_size"], spec["output_dropout"], spec["units"]

    def loss_one(ps, xb, yb, mask):
        p = dict(zip(names, ps))
        pred = _forward(torch, p, xb[:, None], act, rec_act, mask if rate > 0 else None)
        return torch.mean(torch.square(pred[:, 0] - yb))

    step = vmap(grad_and_value(loss_one), in_dims=(0, 0, 0, 0))
    epoch_loss = torch.zeros(n_seeds)
    for _ in range(spec["epochs"]):
        order = torch.argsort(torch.rand(n_seeds, n, generator=gen), dim=1)
        total = torch.zeros(n_seeds)
        for start in range(0, n, bs):
            idx = order[:, start:start + bs]
            b = idx.shape[1]
            mask = (torch.bernoulli(torch.full((n_seeds, b, u), 1 - rate), generator=gen) / (1 - rate)
                    if rate > 0 else torch.ones(n_seeds, 1, 1))
            grads, loss = step(params, torch.gather(x.expand(n_seeds, n), 1, idx),
                               torch.gather(y.expand(n_seeds, n), 1, idx), mask)
            opt.step(list(grads))
            total += loss * b
        epoch_loss = total / n
    return epoch_loss.numpy()
