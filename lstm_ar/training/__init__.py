"""Training with Keras ``fit`` semantics.

``make_train(config, data, *, fast=True) -> train(key, data, hyper=None) -> TrainResult`` is the entry,
``train_many(config, data, keys, hyper)`` runs many seeds and stacked settings, checked first;
``plain`` is the readable reference path, ``fast`` and ``first_step`` its fast variants (same
inputs and results), ``keras_adam`` Keras's Adam as optax, ``regimes`` the training regimes
(teacher forcing, scheduled sampling, free running), ``validation`` the checks at the entry.
"""

from lstm_ar.config import validate_hyper
from lstm_ar.training.train import TrainResult, make_train, seed_keys, stack_settings, train_many

__all__ = ["TrainResult", "make_train", "seed_keys", "stack_settings", "train_many", "validate_hyper"]
