"""Training with Keras ``fit`` semantics: ``make_train(config, data) -> train(key, data, hyper=None)``,
``train_many`` for seeds and stacked settings, ``check_result`` for a traced hyper-parameter out of range;
``plain`` is the reference, ``fast`` and ``first_step`` its fast variants, ``keras_adam`` Keras's Adam,
``regimes`` the training regimes."""

from lstm_ar.config import validate_hyper
from lstm_ar.training.train import TrainResult, make_train, seed_keys, train_many
from lstm_ar.training.validation import check_result

__all__ = ["TrainResult", "check_result", "make_train", "seed_keys", "train_many", "validate_hyper"]
