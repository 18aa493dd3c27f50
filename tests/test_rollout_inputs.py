"""Rollouts refuse bad input with a clear error before compiling: steps that are not a
non-negative int, contexts that are complex, non-finite, of the wrong shape or too short, and
models that are not univariate."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lstm_ar.config import ModelConfig
from lstm_ar.dynamics.batched_rollout import rollout_batched
from lstm_ar.dynamics.rollout import rollout, rollout_stateful, rollout_window
from lstm_ar.dynamics.stability import lyapunov_exponent, rollout_spectral_radius, stateful_lyapunov_exponent
from lstm_ar.model.forecaster import init_params

MODEL = ModelConfig(units=3, window=2)
CONTEXT = np.asarray([0.1, -0.4, 0.8, 0.3], np.float32)
ROLLOUTS = {"window": rollout_window, "stateful": rollout_stateful}


@pytest.fixture(scope="module")
def params():
    return init_params(jax.random.key(0), MODEL)


@pytest.fixture(scope="module")
def stacked():
    return jax.vmap(lambda k: init_params(k, MODEL))(jax.random.split(jax.random.key(1), 2))


@pytest.mark.parametrize("steps", [2.5, 2.0, True, np.float32(3), "3", None, jnp.asarray(3)])
@pytest.mark.parametrize("mode", ["window", "stateful"])
def test_steps_must_be_an_int(params, stacked, mode, steps):
    # before: steps=2.5 ran 2 steps, steps=True ran 1
    with pytest.raises(TypeError, match=r"steps must be an int >= 0, got .* of type"):
        ROLLOUTS[mode](params, CONTEXT, steps, MODEL)
    with pytest.raises(TypeError, match=r"steps must be an int >= 0"):
        rollout(params, CONTEXT, steps, MODEL, mode=mode)
    with pytest.raises(TypeError, match=r"steps must be an int >= 0"):
        rollout_batched(stacked, CONTEXT, steps, MODEL, mode=mode)


@pytest.mark.parametrize("mode", ["window", "stateful"])
def test_negative_steps(params, stacked, mode):
    with pytest.raises(ValueError, match="steps must be an int >= 0, got -1"):
        rollout(params, CONTEXT, -1, MODEL, mode=mode)
    with pytest.raises(ValueError, match="steps must be an int >= 0, got -1"):
        rollout_batched(stacked, CONTEXT, np.int64(-1), MODEL, mode=mode)


@pytest.mark.parametrize("mode", ["window", "stateful"])
def test_steps_beyond_memory_are_refused_before_compiling(params, stacked, mode):
    """rollout(steps=10**12) was a MemoryError traceback after compiling."""
    with pytest.raises(ValueError, match=r"steps must be an int <= 100,000,000 \(its float32 predictions alone would "
                                         r"take 400 MB per model\), got 1,000,000,000,000"):
        rollout(params, CONTEXT, 10**12, MODEL, mode=mode)
    with pytest.raises(ValueError, match=r"steps must be an int <= 100,000,000"):
        rollout_batched(stacked, CONTEXT, 10**12, MODEL, mode=mode)


def test_numpy_int_and_zero_steps_run(params, stacked):
    ys = rollout(params, CONTEXT, np.int32(3), MODEL)
    assert ys.shape == (3,)
    np.testing.assert_array_equal(ys, rollout(params, CONTEXT, 3, MODEL))
    assert rollout(params, CONTEXT, 0, MODEL, mode="stateful").shape == (0,)
    assert rollout_batched(stacked, CONTEXT, 0, MODEL).shape == (2, 0)


@pytest.mark.parametrize("mode", ["window", "stateful"])
def test_complex_context_is_refused(params, stacked, mode):
    # before: the imaginary part was dropped silently
    context = CONTEXT + 1j
    with pytest.raises(TypeError, match="context must be real .*got dtype complex"):
        rollout(params, context, 3, MODEL, mode=mode)
    with pytest.raises(TypeError, match="context must be real .*got dtype complex"):
        rollout(params, jnp.asarray(context), 3, MODEL, mode=mode)
    with pytest.raises(TypeError, match="context must be real .*got dtype complex"):
        rollout_batched(stacked, context, 3, MODEL, mode=mode)
    # a traced context has no values yet, but its dtype is checked
    with pytest.raises(TypeError, match="context must be real .*got dtype complex"):
        jax.jit(lambda c: rollout(params, c, 3, MODEL, mode=mode))(jnp.asarray(context))


@pytest.mark.parametrize("bad", [np.asarray([True, False, True]), np.asarray(["0.1", "0.2", "0.3"]),
                                 np.asarray([0.1, None, 0.3], dtype=object)])
def test_non_numeric_context_is_refused(params, bad):
    with pytest.raises(TypeError, match="context must be real"):
        rollout(params, bad, 3, MODEL)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("mode", ["window", "stateful"])
def test_non_finite_context_is_refused(params, stacked, value, mode):
    # before: a nan anywhere in a stateful warm-up (or in the window) made the whole rollout nan
    context = CONTEXT.copy()
    context[1] = value
    with pytest.raises(ValueError, match=r"context has 1 non-finite value\(s\) \(nan/inf\), the first at index 1"):
        rollout(params, context, 3, MODEL, mode=mode)
    with pytest.raises(ValueError, match="non-finite"):
        rollout_batched(stacked, np.stack([CONTEXT, context]), 3, MODEL, mode=mode)


def test_int_context_and_column_context_equal_float_context(params):
    ys = rollout(params, [1, 0, -1], 3, MODEL)
    np.testing.assert_array_equal(ys, rollout(params, np.asarray([[1.0], [0.0], [-1.0]]), 3, MODEL))


@pytest.mark.parametrize("mode", ["window", "stateful"])
def test_context_shapes(params, stacked, mode):
    for shape in [(4, 2), (2, 2, 1), ()]:
        with pytest.raises(ValueError, match=r"context must be f32\[time\] or f32\[time, 1\], got shape"):
            rollout(params, np.zeros(shape, np.float32), 3, MODEL, mode=mode)
    with pytest.raises(ValueError, match=r"context must be f32\[time\] or f32\[2, time\], got shape \(3, 4\)"):
        rollout_batched(stacked, np.zeros((3, 4), np.float32), 3, MODEL, mode=mode)
    needed = MODEL.window if mode == "window" else 1
    short = CONTEXT[:needed - 1]
    with pytest.raises(ValueError, match=f"context has {needed - 1} values, the model needs {needed}"):
        rollout(params, short, 3, MODEL, mode=mode)
    with pytest.raises(ValueError, match=f"context has {needed - 1} values per model, the model needs {needed}"):
        rollout_batched(stacked, short, 3, MODEL, mode=mode)


def test_multivariate_model_is_refused():
    model = ModelConfig(units=3, window=2)
    params = init_params(jax.random.key(0), model, input_dim=3)
    with pytest.raises(ValueError, match=r"univariate model .*kernel shape \(3, 12\)"):
        rollout(params, CONTEXT, 3, model)
    stacked = jax.tree.map(lambda a: a[None], params)
    with pytest.raises(ValueError, match="univariate model"):
        rollout_batched(stacked, CONTEXT, 3, model)


def test_unroll_block_and_mode(params, stacked):
    with pytest.raises(TypeError, match="unroll must be an int >= 1"):
        rollout(params, CONTEXT, 3, MODEL, unroll=1.5)
    with pytest.raises(ValueError, match="unroll must be an int >= 1, got 0"):
        rollout(params, CONTEXT, 3, MODEL, unroll=0)
    with pytest.raises(TypeError, match="block must be an int >= 1, got 1.5 of type float"):
        rollout_batched(stacked, CONTEXT, 3, MODEL, block=1.5)
    with pytest.raises(ValueError, match="unknown rollout mode 'Window'; valid: 'window', 'stateful'"):
        rollout(params, CONTEXT, 3, MODEL, mode="Window")


def test_stability_diagnostics_check_their_inputs(params):
    with pytest.raises(TypeError, match="steps must be an int"):
        lyapunov_exponent(params, CONTEXT, 2.5, MODEL)
    with pytest.raises(ValueError, match="steps must be an int >= 1, got 0"):
        stateful_lyapunov_exponent(params, CONTEXT, 0, MODEL)
    with pytest.raises(TypeError, match="context must be real"):
        rollout_spectral_radius(params, CONTEXT + 0j, 3, MODEL)
    with pytest.raises(ValueError, match="non-finite"):
        lyapunov_exponent(params, np.asarray([0.0, np.nan]), 3, MODEL)


def test_lyapunov_tangent_is_checked(params):
    with pytest.raises(ValueError, match=r"tangent must have the state's shape \(2,\), got \(3,\)"):
        lyapunov_exponent(params, CONTEXT, 3, MODEL, tangent=np.ones(3))
    with pytest.raises(ValueError, match="tangent must not be all zeros"):  # before: a nan exponent
        lyapunov_exponent(params, CONTEXT, 3, MODEL, tangent=np.zeros(2))
    with pytest.raises(ValueError, match="tangent has 1 non-finite"):
        stateful_lyapunov_exponent(params, CONTEXT, 3, MODEL, tangent=np.r_[np.nan, np.ones(2 * MODEL.units)])


@pytest.mark.parametrize("value", [1e39, -1e39, np.finfo(np.float64).max])
@pytest.mark.parametrize("mode", ["window", "stateful"])
def test_context_overflowing_float32_is_refused(params, stacked, value, mode):
    # before: 1e39 passed the finite check in float64, became inf in float32, and the rollout
    # returned finite numbers computed from inf
    context = np.asarray([0.1, value, 0.3, 0.2])
    message = r"context has 1 value\(s\) too large for float32 .*at index 1, overflows float32"
    with pytest.raises(ValueError, match=message):
        rollout(params, context, 3, MODEL, mode=mode)
    with pytest.raises(ValueError, match="overflows float32"):
        rollout_batched(stacked, np.stack([CONTEXT, context]), 3, MODEL, mode=mode)
    with pytest.raises(ValueError, match="overflows float32"):
        rollout_batched(stacked, context, 3, MODEL, mode=mode)


def test_one_value_context_overflowing_float32_is_refused():
    model = ModelConfig(units=2)
    with pytest.raises(ValueError, match=r"value\(s\) too large for float32 .*1e\+39 at index 0, overflows float32"):
        rollout(init_params(jax.random.key(0), model), np.array([1e39]), 3, model)
    with pytest.raises(ValueError, match="overflows float32"):
        lyapunov_exponent(init_params(jax.random.key(0), model), np.array([1e39]), 3, model)


def test_float64_context_runs_as_its_float32_rounding(params):
    context = np.asarray([0.1, -0.4, 0.8, 3.4e38])  # the last fits float32 (max 3.40282e38)
    np.testing.assert_array_equal(rollout(params, context, 3, MODEL, mode="stateful"),
                                  rollout(params, context.astype(np.float32), 3, MODEL, mode="stateful"))


@pytest.mark.parametrize("value", [np.nan, np.inf, 0.5])
@pytest.mark.parametrize("mode", ["window", "stateful"])
def test_scalar_context_is_refused_by_shape(params, stacked, value, mode):
    # before: a 0-d nan or inf raised IndexError while formatting where it was
    with pytest.raises(ValueError, match=r"context must be f32\[time\] or f32\[time, 1\], got shape \(\)"):
        rollout(params, np.array(value), 2, MODEL, mode=mode)
    with pytest.raises(ValueError, match=r"context must be f32\[time\] or f32\[2, time\], got shape \(\)"):
        rollout_batched(stacked, np.array(value), 2, MODEL, mode=mode)


@pytest.mark.parametrize("time", [2, 4])
def test_batched_rollout_refuses_a_column_context(stacked, time):
    # before: with B models, a (B, 1) column was read as B per-model contexts of one value,
    # where rollout reads it as one shared context of B values; they disagreed silently
    column = CONTEXT[:time, None]
    with pytest.raises(ValueError, match=rf"shape \({time}, 1\) is ambiguous: a context shared by all models is "
                                         r"f32\[time\] and per-model contexts are f32\[2, time\]"):
        rollout_batched(stacked, column, 2, MODEL, mode="stateful")
    shared = rollout_batched(stacked, column[:, 0], 2, MODEL, mode="stateful")  # the documented way
    np.testing.assert_allclose(shared, jax.vmap(lambda p: rollout(p, column, 2, MODEL, mode="stateful"))(stacked),
                               rtol=1e-6, atol=1e-7)


def test_shared_checks_keep_one_exception_type_per_kind_of_error():
    from lstm_ar.checks import check_int, real_float32

    for bad in (2.5, True, np.bool_(True), "3", None, np.asarray(3)):
        with pytest.raises(TypeError, match=r"n must be an int >= 1, got .* of type"):
            check_int(bad, "n", 1)
    with pytest.raises(ValueError, match="n must be an int >= 1, got 0"):
        check_int(np.int64(0), "n", 1)
    assert check_int(np.int32(4), "n", 1) == 4 and type(check_int(np.int32(4), "n", 1)) is int
    with pytest.raises(TypeError, match="x must be real .*got dtype complex"):
        real_float32(np.ones(2) + 0j, "x")
    with pytest.raises(ValueError, match=r"x has 1 non-finite value\(s\) \(nan/inf\), the first \(a scalar\): nan"):
        real_float32(np.array(np.nan), "x")
    with pytest.raises(ValueError, match=r"the first at index \(1, 0\): inf"):
        real_float32(np.asarray([[0.0], [np.inf]]), "x")
    out = real_float32([1, 2], "x")
    assert out.dtype == np.float32 and out.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("flag", ["window_scaling", "linear_skip"])
def test_a_window_scaled_model_is_not_fed_raw_values_one_by_one(params, flag):
    """window_scaling reads each window by its own mean and std: the stateful rollout and the stateful map would
    skip that and give another model's numbers, so they refuse it before tracing anything."""
    import dataclasses

    from lstm_ar.dynamics.stability import stateful_map_jacobian
    from lstm_ar.model.cell import LSTMCarry

    scaled = dataclasses.replace(MODEL, **{flag: True})
    if flag == "linear_skip":
        params = {**params, "skip": {"kernel": jnp.zeros((MODEL.window, 1))}}
    with pytest.raises(ValueError, match="linear_skip model reads each window whole"):
        rollout(params, CONTEXT, 5, scaled, mode="stateful")
    with pytest.raises(ValueError, match="linear_skip model reads each window whole"):
        stateful_lyapunov_exponent(params, CONTEXT, 5, scaled)
    zeros = jnp.zeros(MODEL.units)
    with pytest.raises(ValueError, match="linear_skip model reads each window whole"):
        stateful_map_jacobian(params, LSTMCarry(zeros, zeros), jnp.zeros(()), scaled)
    assert rollout(params, CONTEXT, 5, scaled, mode="window").shape == (5,)  # the window mode reads it right
