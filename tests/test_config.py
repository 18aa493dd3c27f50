import dataclasses

import numpy as np
import pytest

from lstm_ar.config import ModelConfig, TrainConfig

INT_FIELDS = [(ModelConfig, "units"), (ModelConfig, "window"), (ModelConfig, "samples"), (TrainConfig, "epochs"),
              (TrainConfig, "batch_size"), (TrainConfig, "horizon"), (TrainConfig, "dad_starts"),
              (TrainConfig, "dad_length")]
IDS = [f"{cls.__name__}.{name}" for cls, name in INT_FIELDS]


@pytest.mark.parametrize("cls,name", INT_FIELDS, ids=IDS)
@pytest.mark.parametrize("bad", [True, False, np.bool_(True), 0, -1, 2.0, "4", None])
def test_int_fields_refuse_bools_and_non_positive_ints(cls, name, bad):
    if (cls, name, bad) == (TrainConfig, "horizon", None):
        assert TrainConfig(horizon=None).horizon == 1  # None resolves to the head's horizon
        return
    with pytest.raises(ValueError, match=f"{name} must be a positive int, got"):
        cls(**{name: bad})


@pytest.mark.parametrize("cls,name", INT_FIELDS, ids=IDS)
@pytest.mark.parametrize("value", [np.int64(4), np.int32(4), np.uint8(4), 4])
def test_int_fields_accept_numpy_ints_and_store_python_ints(cls, name, value):
    config = cls(**{name: value})
    assert type(getattr(config, name)) is int and getattr(config, name) == 4
    # stored as int: equal to and hashed like the config built from a Python int
    assert config == cls(**{name: 4}) and hash(config) == hash(cls(**{name: 4}))


def test_replace_keeps_the_checks():
    with pytest.raises(ValueError, match="epochs"):
        dataclasses.replace(TrainConfig(), epochs=True)
    assert dataclasses.replace(TrainConfig(), model=ModelConfig(units=np.int64(3))).model.units == 3


def test_lstm_steps_count_the_window_and_a_k_step_regimes_fed_steps():
    model = ModelConfig(units=32, window=20)
    assert TrainConfig(model=model).lstm_steps == 20
    assert TrainConfig(model=model, horizon=20).lstm_steps == 40  # teacher forcing over k = 20
    assert TrainConfig(model=model, regime="free_running", horizon=20).lstm_steps == 40
