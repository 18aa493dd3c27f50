"""Peers: the benchmarks' work done by other implementations, measured in the same run as ours.

Rollout (``benchmarks/rollout.py``; B forecasters with their own weights, free-running):

* ``numpy_loop`` (``numpy_rollout``): numpy, batched ops per step over stacked weights;
* ``jit_step_loop`` (``jax_loops``): a Python loop over one jitted JAX step of all B models;
* ``torch_eager``, ``torch_lstmcell`` (B = 1), ``torch_compile`` (``torch_rollout``): PyTorch
  eager with ``baddbmm`` over stacked weights, the literal ``nn.LSTMCell`` + ``nn.Linear`` loop,
  and ``torch.compile`` of the eager step;
* ``keras``, ``keras_jax`` (``keras`` runs ``keras_script.py``): Keras's rollout loop (B = 1; the
  fastest of ``model(x)``, ``predict_on_batch`` and a compiled step whose predictions agree with
  ``model(x)``'s), on TensorFlow in a Python with TensorFlow and on JAX in this Python
  (``KERAS_BACKEND=jax``).

Training (``benchmarks/train.py``; the seed suite over N seeds):

* ``python_loop`` (``jax_loops``): a Python loop over single-seed jitted runs of ``make_train``;
* ``torch_loop``, ``torch_vmap`` (``torch_train``): the suite in PyTorch, one seed after another
  and with ``torch.func.vmap`` over stacked seeds;
* ``keras``, ``keras_jax`` (``keras`` runs ``keras_script.py``): the article's own Keras code, seed
  after seed, on TensorFlow and on JAX.

A peer whose package is missing (or that does not apply, e.g. ``nn.LSTMCell`` with B > 1)
raises ``PeerUnavailable`` with the reason; the benchmark records it as ``unavailable`` with that
reason and goes on: torch and TensorFlow are imported only when their peer is built. This
``__init__`` and ``keras_script.py`` import only the standard library and numpy (and keras with
its backend), so the Keras script runs in a Python that has TensorFlow but not lstm_ar; both Keras
peers run it as a subprocess, so the benchmark's own JAX is untouched.
"""

from __future__ import annotations

import importlib
from typing import Any

ROLLOUT_PEERS = ("numpy_loop", "torch_eager", "torch_lstmcell", "torch_compile")
_ROLLOUT_MODULES = {"numpy_loop": "numpy_rollout", "torch_eager": "torch_rollout",
                    "torch_lstmcell": "torch_rollout", "torch_compile": "torch_rollout"}


class PeerUnavailable(RuntimeError):
    """The peer cannot run here (package missing, not applicable, failed); the message says why."""


def import_torch() -> Any:
    """The ``torch`` module, or ``PeerUnavailable`` saying how to install it."""
    try:
        import torch
    except ImportError as e:
        raise PeerUnavailable(f"torch not installed ({e}); pip install '.[peers]'") from None
    return torch


def rollout_peer(name: str, weights: dict, mode: str, x0: float):
    """Build the rollout peer ``name`` on B models' weights.

    Args:
      name: one of ``ROLLOUT_PEERS``.
      weights: numpy arrays with a leading model axis B, Keras layout: ``kernel f32[B, 4u]``,
        ``recurrent f32[B, u, 4u]``, ``bias f32[B, 4u]``, ``dense f32[B, u]``, ``dense_bias f32[B]``.
      mode: ``"window"`` (window 1, zero state every step) or ``"stateful"`` (state carried).
      x0: the one-value context every model starts from.

    Returns:
      A ``Peer``: ``run(n) -> f32[B, n]`` predictions and ``note`` (how it was done).

    Raises:
      ValueError: an unknown peer or mode. PeerUnavailable: the peer cannot run here.
    """
    if name not in _ROLLOUT_MODULES:
        raise ValueError(f"unknown rollout peer {name!r}; valid: {', '.join(ROLLOUT_PEERS)}")
    if mode not in ("window", "stateful"):
        raise ValueError(f"mode must be 'window' or 'stateful', got {mode!r}")
    module = importlib.import_module(f"{__name__}.{_ROLLOUT_MODULES[name]}")
    return getattr(module, name)(weights, mode, x0)
