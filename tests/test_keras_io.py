"""``from_keras`` refuses every weight list it cannot represent, naming what it found and what is
supported, before any computation. (Parity on real Keras models: tests/test_keras_parity.py.)"""

import warnings

import numpy as np
import pytest

from lstm_ar.model.keras_io import from_keras, to_keras

U = 3


def weights(units=U, features=1, outputs=1):
    rng = np.random.default_rng(0)
    return [rng.normal(size=(features, 4 * units)).astype(np.float32),
            rng.normal(size=(units, 4 * units)).astype(np.float32),
            rng.normal(size=(4 * units,)).astype(np.float32),
            rng.normal(size=(units, outputs)).astype(np.float32),
            rng.normal(size=(outputs,)).astype(np.float32)]


def with_array(i, value):
    w = weights()
    w[i] = value
    return w


def test_valid_weights_convert_exactly_and_back():
    w = weights()
    params = from_keras(tuple(np.asarray(a, np.float64) for a in w))  # any real dtype, any sequence
    assert params["lstm"]["kernel"].dtype == np.float32
    for a, b in zip(w, to_keras(params)):
        np.testing.assert_array_equal(a, b)


def test_multivariate_kernel_is_refused():
    # a consistent 3-feature LSTM: before, accepted, and failed later inside dot_general
    with pytest.raises(ValueError, match=r"shape \(3, 12\): 3 input features; supported: a univariate LSTM"):
        from_keras(weights(features=3))


def test_multi_output_head_is_refused():
    with pytest.raises(ValueError, match=r"Dense kernel has shape \(3, 2\): a head with 2 outputs; supported: .*Dense\(1\)"):
        from_keras(weights(outputs=2))


@pytest.mark.parametrize("i,shape,message", [
    (0, (1, 4 * U + 1), r"LSTM kernel has shape \(1, 13\), expected \(1, 12\) for 3 units"),
    (1, (U, 3 * U), r"LSTM recurrent_kernel has shape \(3, 9\), expected \(u, 4u\)"),
    (1, (4 * U,), r"LSTM recurrent_kernel has shape \(12,\), expected 2 axes"),
    (1, (1, U, 4 * U), r"LSTM recurrent_kernel has shape \(1, 3, 12\), expected 2 axes"),
    (2, (4 * U - 1,), r"LSTM bias has shape \(11,\), expected \(12,\) for 3 units"),
    (2, (1, 4 * U), r"LSTM bias has shape \(1, 12\), expected 1 axes"),
    (3, (U + 1, 1), r"Dense kernel has shape \(4, 1\), expected \(3, 1\) for 3 units"),
    (4, (2,), r"Dense bias has shape \(2,\), expected \(1,\)"),
])
def test_mismatched_shapes_are_named(i, shape, message):
    with pytest.raises(ValueError, match=message):
        from_keras(with_array(i, np.zeros(shape, np.float32)))


@pytest.mark.parametrize("n", [0, 4, 6])
def test_wrong_number_of_arrays(n):
    w = (weights() + weights())[:n]
    with pytest.raises(ValueError, match=rf"expected 5 arrays \(LSTM kernel, .*\), got {n}; supported"):
        from_keras(w)


@pytest.mark.parametrize("i,value,count", [(1, np.nan, 1), (4, np.inf, 1), (0, -np.inf, 1)])
def test_non_finite_weights_are_refused(i, value, count):
    w = weights()
    w[i] = w[i].copy()
    w[i].flat[0] = value
    with pytest.raises(ValueError, match=rf"has {count} non-finite value"):
        from_keras(w)


def test_float64_too_large_for_float32_is_refused():
    w = with_array(3, np.full((U, 1), 1e300))
    with pytest.raises(ValueError, match=r"Dense kernel has 3 non-finite value.*too large for float32"):
        from_keras(w)


def test_complex_and_non_numeric_weights_are_refused():
    # before: the imaginary part was dropped with a ComplexWarning
    w = with_array(2, weights()[2] + 1j)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TypeError, match=r"LSTM bias has dtype complex\d+; supported: real"):
            from_keras(w)
    with pytest.raises(TypeError, match="dtype <U"):
        from_keras(with_array(4, np.asarray(["1.0"])))


@pytest.mark.parametrize("bad", [np.zeros((5, 4)), "weights", {"kernel": 1}])
def test_not_a_list_of_arrays(bad):
    with pytest.raises(TypeError, match="Keras model or its get_weights"):
        from_keras(bad)


def test_to_keras_refuses_stacked_and_layer_normalised_params():
    params = from_keras(weights())
    stacked = {k: {n: a[None] for n, a in v.items()} for k, v in params.items()}
    with pytest.raises(ValueError, match=r"one model's params .*got kernel shape \(1, 1, 12\)"):
        to_keras(stacked)
    with pytest.raises(ValueError, match="layer-normalised"):
        to_keras({"lstm": dict(params["lstm"], ln_scale=np.ones(12)), "dense": params["dense"]})
