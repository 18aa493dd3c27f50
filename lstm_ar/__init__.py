"""lstm_ar: why autoregressive LSTM forecasters collapse to one value, measured over many seeds."""

from lstm_ar.activations import ACTIVATIONS, get_activation
from lstm_ar.config import DROPOUT_SITES, Hyper, ModelConfig, TrainConfig, validate_hyper
from lstm_ar.data.series import Dataset, Series, linspace_identity, noisy_sine, windows
from lstm_ar.dynamics.batched_rollout import rollout_batched
from lstm_ar.dynamics.rollout import rollout, rollout_stateful, rollout_window
from lstm_ar.model.cell import LSTMCarry, LSTMCell, init_lstm_params, lstm_sequence, lstm_step, zero_carry
from lstm_ar.model.forecaster import Forecaster, forecast, forecast_batch, init_params
from lstm_ar.model.keras_io import from_keras, model_config_from_keras, to_keras
from lstm_ar.study.experiment import run_scenario, summarise
from lstm_ar.study.scenario import Scenario
from lstm_ar.training import TrainResult, make_train, seed_keys, train_many
from lstm_ar.training.keras_adam import KerasAdamState, keras_adam

__all__ = [
    "ACTIVATIONS", "Dataset", "DROPOUT_SITES", "Forecaster", "Hyper", "KerasAdamState", "LSTMCarry",
    "LSTMCell", "ModelConfig", "Scenario", "Series", "TrainConfig", "TrainResult", "forecast",
    "forecast_batch", "from_keras", "get_activation", "init_lstm_params", "init_params",
    "keras_adam", "linspace_identity", "lstm_sequence", "lstm_step", "make_train",
    "model_config_from_keras", "noisy_sine", "rollout", "rollout_batched", "rollout_stateful",
    "rollout_window", "run_scenario", "seed_keys", "summarise", "to_keras", "train_many", "validate_hyper",
    "windows", "zero_carry",
]
__version__ = "0.1.0"
