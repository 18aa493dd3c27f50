"""The exported Keras file gives back our forecasts: each model is saved, read by ``keras.saving.load_model`` in
safe mode with no custom objects, and its forecasts on raw windows compared with ours (``forecast_batch`` per seed
on the standardised windows, median over seeds, destandardised). Refused models raise before anything is written."""

import os
import pathlib

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from lstm_ar.config import ModelConfig  # noqa: E402
from lstm_ar.linear.ar import ar_rollout_host, ar_window_map_host, fit_ar_host  # noqa: E402
from lstm_ar.model.forecaster import forecast_batch  # noqa: E402
from lstm_ar.user.keras_export import (  # noqa: E402
    keras_forecaster,
    keras_linear,
    keras_side,
    save_forecaster,
    seed_trees,
    usage_example,
)

# Keras variables' __array__ predates numpy 2's copy keyword (a warning per weight read).
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

MEAN, STD = 50.0, 8.0  # raw units far from the standardised ones, so a missing (de)standardisation shows
RTOL, ATOL = 1e-5, 1e-5 * STD  # float32 (ours: statistics in float64, Keras: in float32), at the raw scale


def ensemble(model: ModelConfig, seeds: int, seed: int) -> dict:
    """A numpy tree stacked over seeds (leading axis), every weight nonzero (biases and the skip kernel too)."""
    rng = np.random.default_rng(seed)
    u, o = model.units, model.outputs
    normal = lambda scale, *shape: rng.normal(0.0, scale, (seeds, *shape)).astype(np.float32)  # noqa: E731
    params = {"lstm": {"kernel": normal(0.8, 1, 4 * u), "recurrent_kernel": normal(0.5, u, 4 * u),
                       "bias": normal(0.3, 4 * u)},
              "dense": {"kernel": normal(0.5, u, o), "bias": normal(0.3, o)}}
    if model.linear_skip:
        params["skip"] = {"kernel": normal(0.3, model.window, o)}
    return params


def raw_windows(window: int, batch: int = 5) -> np.ndarray:
    """f32[batch, window, 1] in raw units; the last window is constant (the window std's floor)."""
    x = MEAN + STD * np.random.default_rng(window).normal(size=(batch, window, 1))
    x[-1] = MEAN + 3.0
    return x.astype(np.float32)


def per_seed(params, model: ModelConfig, raw: np.ndarray) -> np.ndarray:
    """f64[seeds, batch, outputs]: each seed's forecast_batch on the standardised windows (one compile),
    destandardised in float64."""
    z = ((raw.astype(np.float64) - MEAN) / STD).astype(np.float32)
    forecasts = jax.jit(jax.vmap(lambda p, x: forecast_batch(p, x, model), (0, None)))(params, jnp.asarray(z))
    return MEAN + STD * np.asarray(forecasts, np.float64)


def ours(params, model: ModelConfig, raw: np.ndarray) -> np.ndarray:
    """Our ensemble forecast f64[batch, outputs]: the median over seeds."""
    return np.median(per_seed(params, model, raw), axis=0)


def round_trip(keras_model, path: pathlib.Path, raw: np.ndarray) -> np.ndarray:
    """Save, load in safe mode with no custom objects, predict on ``raw``."""
    save_forecaster(path, keras_model)
    with keras_side():
        loaded = keras.saving.load_model(path)
        assert {type(layer).__module__.split(".")[0] for layer in loaded.layers} == {"keras"}
        return np.asarray(loaded.predict(raw, verbose=0))


# (model, seeds, ensemble given as): each of the four window_scaling x linear_skip settings, both heads, odd and
# even seed counts, a stacked tree, a list of trees, a single tree.
CASES = {
    "next_scaled_skip_3seeds": (ModelConfig(units=3, window=6, window_scaling=True, linear_skip=True), 3, "list"),
    "direct_plain_1seed": (ModelConfig(units=4, window=5, head="direct", horizon=3, activation="relu"), 1, "tree"),
    "direct_scaled_4seeds": (ModelConfig(units=3, window=4, head="direct", horizon=2, window_scaling=True,
                                         recurrent_activation="hard_sigmoid"), 4, "stacked"),
    "next_skip_3seeds": (ModelConfig(units=2, window=3, linear_skip=True), 3, "stacked"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_saved_file_forecasts_equal_ours(case, tmp_path):
    model, seeds, given = CASES[case]
    params = ensemble(model, seeds, seed=len(case))
    arg = {"stacked": params, "list": seed_trees(params), "tree": seed_trees(params)[0]}[given]
    raw = raw_windows(model.window)
    got = round_trip(keras_forecaster(arg, model, mean=MEAN, std=STD), tmp_path / "m.keras", raw)
    seeds_forecasts = per_seed(params, model, raw)
    want = np.median(seeds_forecasts, axis=0)
    assert got.shape == (raw.shape[0], model.outputs) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    if seeds > 2:  # the median is not one seed's forecast nor the mean (it can fail)
        assert not np.allclose(got, seeds_forecasts.mean(axis=0), rtol=RTOL, atol=ATOL)


def test_the_usage_example_runs_and_rank2_windows_are_read(tmp_path, monkeypatch):
    model = CASES["next_scaled_skip_3seeds"][0]
    params = ensemble(model, 3, seed=0)
    path, usage_path = save_forecaster(tmp_path / "forecaster.keras", keras_forecaster(params, model, mean=MEAN,
                                                                                       std=STD))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forecaster.keras", "forecaster.usage.py"]  # no temp left
    text = usage_path.read_text()
    assert text == usage_example("forecaster.keras", window=model.window, outputs=1) and len(text.splitlines()) == 10
    monkeypatch.chdir(tmp_path)
    namespace = {}
    with keras_side():
        exec(compile(text, str(usage_path), "exec"), namespace)
        rank2 = np.asarray(namespace["model"].predict(namespace["window"][..., 0], verbose=0))
    values = np.linspace(0.0, 1.0, model.window).astype(np.float32).reshape(1, model.window, 1)  # the example's
    want = ours(params, model, values)
    np.testing.assert_allclose(namespace["forecast"], want[0], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(rank2, want, rtol=RTOL, atol=ATOL)


def test_linear_forecaster_files_equal_their_formulas(tmp_path):
    """A direct linear map (random coefficients) and an AR(3)'s 4-step rollout (``ar_window_map_host``)."""
    window, horizon = 5, 4
    rng = np.random.default_rng(3)
    coefs, intercept = rng.normal(0, 0.5, (window, horizon)), rng.normal(0, 0.5, horizon)
    raw = raw_windows(window)
    z = ((raw[..., 0].astype(np.float64) - MEAN) / STD).astype(np.float32)
    got = round_trip(keras_linear(coefs, intercept, mean=MEAN, std=STD), tmp_path / "direct.keras", raw)
    np.testing.assert_allclose(got, MEAN + STD * (z @ coefs.astype(np.float32) + intercept.astype(np.float32)),
                               rtol=RTOL, atol=ATOL)
    series = np.sin(np.arange(200) / 3.0) + 0.2 * rng.normal(size=200)  # standardised units
    fit = fit_ar_host(series, 3)
    got = round_trip(keras_linear(*ar_window_map_host(fit, window, horizon), mean=MEAN, std=STD),
                     tmp_path / "ar.keras", raw)
    want = [MEAN + STD * ar_rollout_host(fit, row.astype(np.float64), horizon) for row in z]
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("model", [ModelConfig(units=2, window=3, head="gaussian"),
                                   ModelConfig(units=2, window=3, residual=True),
                                   ModelConfig(units=2, window=3, layer_norm=True)],
                         ids=["gaussian", "residual", "layer_norm"])
def test_refused_models_raise_before_anything_is_written(model, tmp_path):
    params = seed_trees(ensemble(model, 1, seed=0))[0]
    with pytest.raises(ValueError, match="cannot export"):
        save_forecaster(tmp_path / "m.keras", keras_forecaster(params, model, mean=MEAN, std=STD))
    assert list(tmp_path.iterdir()) == []


def test_bad_inputs_are_refused_with_what_was_found(tmp_path):
    model = ModelConfig(units=2, window=3, linear_skip=True)
    params = seed_trees(ensemble(model, 1, seed=0))[0]
    with pytest.raises(ValueError, match=r"lstm.kernel has shape \(1, 8\), expected \(1, 12\)"):
        keras_forecaster(params, ModelConfig(units=3, window=3, linear_skip=True), mean=0.0, std=1.0)
    with pytest.raises(ValueError, match="needs"):  # a skip kernel the config does not know
        keras_forecaster(params, ModelConfig(units=2, window=3), mean=0.0, std=1.0)
    with pytest.raises(ValueError, match="std must be > 0"):
        keras_forecaster(params, model, mean=0.0, std=0.0)
    with pytest.raises(ValueError, match="non-finite"):
        keras_linear(np.ones((3, 1)), [np.nan], mean=0.0, std=1.0)
    with pytest.raises(ValueError, match=r"must end in \.keras"):
        save_forecaster(tmp_path / "m.h5", object())
    assert list(tmp_path.iterdir()) == []
