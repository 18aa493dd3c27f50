import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lstm_ar.dynamics.collapse import collapse_metrics, map_fixed_points


def test_constant_tail_collapses_and_counts_steps():
    ys = jnp.concatenate([jnp.linspace(1.0, 0.0, 30), jnp.zeros(70)])
    m = collapse_metrics(ys, 1.0)
    assert bool(m.collapsed) and not bool(m.diverged)
    assert float(m.tail_std_ratio) == 0.0 and float(m.settle_value) == 0.0
    # values within 0.05 of 0 start at linspace index 29 (0.0) and 28 (1/29 = 0.034)
    assert int(m.steps_to_collapse) == 28


def test_cycle_and_sine_do_not_collapse():
    cycle = jnp.tile(jnp.asarray([1.0, -1.0]), 100)
    assert not bool(collapse_metrics(cycle, 1.0).collapsed)
    sine = jnp.sin(jnp.linspace(0, 20, 200))
    m = collapse_metrics(sine, 0.7)
    assert not bool(m.collapsed) and int(m.steps_to_collapse) == 200


def test_threshold_is_relative_to_scale():
    ys = 0.01 * jnp.sin(jnp.arange(100.0))
    assert bool(collapse_metrics(ys, 1.0).collapsed)
    assert not bool(collapse_metrics(ys, 0.01).collapsed)


def test_non_finite_rollout_is_diverged_not_collapsed():
    ys = jnp.concatenate([jnp.ones(60), jnp.full(40, jnp.inf)])
    m = collapse_metrics(ys, 1.0)
    assert bool(m.diverged) and not bool(m.collapsed)
    assert np.isinf(m.tail_std_ratio) and np.isnan(m.settle_value)


def test_too_short_rollout_is_an_error():
    with pytest.raises(ValueError, match="tail"):
        collapse_metrics(jnp.ones(10), 1.0)


def test_fixed_points_of_a_known_contraction():
    # f(x) = 0.5 x + 0.25 has one fixed point x* = 0.5 with f'(x*) = 0.5
    fp = map_fixed_points(lambda x: 0.5 * x + 0.25, jnp.asarray(0.5), low=-2.0, high=2.0)
    assert int(fp.count) == 1
    np.testing.assert_allclose(fp.settle_slope, 0.5)
    np.testing.assert_allclose(fp.settle_residual, 0.0, atol=1e-7)


def test_fixed_points_of_a_cubic_map():
    # f(x) = x + 0.1 (x - x^3) has fixed points -1, 0, 1; f'(1) = 1 + 0.1 (1 - 3) = 0.8
    f = lambda x: x + 0.1 * (x - x ** 3)  # noqa: E731
    fp = map_fixed_points(f, jnp.asarray(1.0), low=-1.7, high=1.9, grid=257)
    assert int(fp.count) == 3
    np.testing.assert_allclose(fp.settle_slope, 0.8, rtol=1e-6)


def test_metrics_vmap_over_seeds():
    ys = jnp.stack([jnp.zeros(60), jnp.tile(jnp.asarray([1.0, -1.0]), 30)])
    m = jax.vmap(lambda y: collapse_metrics(y, 1.0))(ys)
    np.testing.assert_array_equal(m.collapsed, [True, False])


def test_valid_horizon_counts_steps_before_the_error_passes_tolerance():
    from lstm_ar.dynamics.collapse import valid_horizon

    truth = jnp.zeros(10)
    ys = jnp.asarray([0.0, 0.1, -0.2, 0.6, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    assert int(valid_horizon(ys, truth, 0.5)) == 3
    assert int(valid_horizon(jnp.zeros(10), truth, 0.5)) == 10
    assert int(valid_horizon(jnp.full(10, jnp.nan), truth, 0.5)) == 0


# --- against an independent reference: the definitions written out in plain Python/numpy -------

def reference_metrics(ys, scale, threshold=0.05, tail=50):
    """The module docstring's definitions, in float64 loops."""
    ys = [float(y) for y in ys]
    if not all(np.isfinite(ys)):
        return dict(diverged=True, collapsed=False, ratio=np.inf, settle=np.nan, steps=len(ys))
    last = ys[-tail:]
    settle = sum(last) / tail
    ratio = (sum((y - settle) ** 2 for y in last) / tail) ** 0.5 / scale
    collapsed = ratio < threshold
    # first step from which every later value stays within threshold * scale of the settle value
    steps = min(t for t in range(len(ys) + 1) if all(abs(y - settle) < threshold * scale for y in ys[t:]))
    return dict(diverged=False, collapsed=collapsed, ratio=ratio, settle=settle,
                steps=steps if collapsed else len(ys))


def linear_map_rollout(a, b, x0, steps):
    """x_{t+1} = a x_t + b: fixed point b / (1 - a), slope a; collapses iff |a| < 1."""
    xs, x = [], x0
    for _ in range(steps):
        x = a * x + b
        xs.append(x)
    return np.asarray(xs)


@pytest.mark.parametrize("a,collapses", [(0.5, True), (-0.8, True), (0.95, True), (-1.0, False), (1.02, False)])
def test_linear_map_rollouts_match_the_reference(a, collapses):
    b, x0, scale = 0.3, 2.0, 0.7
    ys = linear_map_rollout(a, b, x0, 200)
    ys = ys.astype(np.float32)
    m, ref = collapse_metrics(jnp.asarray(ys), scale), reference_metrics(ys, scale)
    assert bool(m.collapsed) == ref["collapsed"] == collapses
    np.testing.assert_allclose(m.tail_std_ratio, ref["ratio"], rtol=1e-4, atol=1e-6)  # float32 std of a constant
    np.testing.assert_allclose(m.settle_value, ref["settle"], rtol=1e-5, atol=1e-6)
    assert int(m.steps_to_collapse) == ref["steps"]
    if collapses:  # settles near the fixed point, and enters its band when |a|^t |x0 - x*| < 0.05 scale
        x_star = b / (1 - a)
        np.testing.assert_allclose(m.settle_value, x_star, atol=abs(x0 - x_star) * abs(a) ** 150 + 1e-6)
        first = int(np.ceil(np.log(0.05 * scale / abs(x0 - x_star)) / np.log(abs(a))))
        assert int(m.steps_to_collapse) in (first - 1, first)  # t counts from x_1, and ceil() may land one past the edge
        fp = map_fixed_points(lambda x: a * x + b, m.settle_value, low=-10.0, high=10.0)
        assert int(fp.count) == 1
        np.testing.assert_allclose(fp.settle_slope, a, rtol=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_random_plateau_series_match_the_reference(seed):
    rng = np.random.default_rng(seed)
    # a wandering start, then a plateau with small noise (sometimes above the threshold)
    ys = np.concatenate([rng.normal(0.0, 1.0, 40), 0.3 + rng.normal(0.0, [0.01, 0.03, 0.06, 0.2][seed], 80)])
    m, ref = collapse_metrics(jnp.asarray(ys, jnp.float32), 1.0), reference_metrics(ys.astype(np.float32), 1.0)
    assert bool(m.collapsed) == ref["collapsed"] and int(m.steps_to_collapse) == ref["steps"]
    np.testing.assert_allclose([m.tail_std_ratio, m.settle_value], [ref["ratio"], ref["settle"]], rtol=1e-5)


def test_fixed_points_of_an_lstm_map_match_a_root_finder():
    """A window-1 LSTM forecaster's fixed points and slopes against scipy's brentq on the numpy map."""
    from scipy.optimize import brentq

    from lstm_ar.config import ModelConfig
    from lstm_ar.model.forecaster import forecast, init_params
    from lstm_ar.model.keras_io import to_keras
    from tests import keras_numpy

    model = ModelConfig(units=4, window=1)
    params = jax.tree.map(lambda w: 3.0 * w, init_params(jax.random.key(2), model))
    weights = to_keras(params)
    g = lambda x: float(keras_numpy.forecaster([[x]], weights)[0]) - x  # noqa: E731
    grid = np.linspace(-3.0, 3.0, 512)
    values = np.asarray([g(x) for x in grid])
    roots = [brentq(g, lo, hi, xtol=1e-12) for lo, hi, v0, v1 in zip(grid[:-1], grid[1:], values[:-1], values[1:])
             if v0 * v1 < 0]
    assert roots  # f(x) - x changes sign: at least one fixed point
    fixed_points = jax.jit(lambda s: map_fixed_points(lambda x: forecast(params, x.reshape(1, 1), model)[0], s,
                                                      low=-3.0, high=3.0))
    for root in roots:
        fp = fixed_points(jnp.asarray(root, jnp.float32))
        assert int(fp.count) == len(roots)
        eps = 1e-6
        slope = (g(root + eps) - g(root - eps)) / (2 * eps) + 1.0
        np.testing.assert_allclose(fp.settle_slope, slope, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(fp.settle_residual, 0.0, atol=1e-6)


def test_bad_arguments_are_refused_before_compute():
    from lstm_ar.dynamics.collapse import valid_horizon

    ys = jnp.zeros(60)
    for scale in (0.0, -1.0, np.nan, np.inf, 1e39):  # before: a zero scale gave ratio nan, "not collapsed"
        with pytest.raises(ValueError, match="scale must be finite and > 0"):
            collapse_metrics(ys, scale)
    with pytest.raises(ValueError, match="threshold must be finite and > 0"):
        collapse_metrics(ys, 1.0, threshold=0.0)
    with pytest.raises(TypeError, match="tail must be an int >= 1, got 50.0"):
        collapse_metrics(ys, 1.0, tail=50.0)
    with pytest.raises(ValueError, match="grid must be an int >= 2, got 1"):
        map_fixed_points(lambda x: x, jnp.asarray(0.0), low=0.0, high=1.0, grid=1)
    with pytest.raises(ValueError, match="need finite low < high, got low=1.0, high=1.0"):
        map_fixed_points(lambda x: x, jnp.asarray(0.0), low=1.0, high=1.0)
    with pytest.raises(ValueError, match=r"ys and truth must both be f32\[T\], got shapes \(10,\) and \(9,\)"):
        valid_horizon(jnp.zeros(10), jnp.zeros(9), 0.5)
    with pytest.raises(ValueError, match="tolerance must be finite and > 0"):
        valid_horizon(jnp.zeros(10), jnp.zeros(10), -0.5)
    with pytest.raises(TypeError, match="scale must be real"):
        collapse_metrics(ys, "1.0")
    # traced scales are not checkable, and pass through
    assert bool(jax.jit(lambda s: collapse_metrics(ys, s).collapsed)(1.0))


# --- the divergence bound ---------------------------------------------------------------------

def test_a_rollout_that_blows_up_is_diverged_even_while_finite():
    from lstm_ar.dynamics.collapse import DIVERGENCE_BOUND

    t = jnp.arange(260.0)
    geometric = 1.2 ** t  # reaches 1e20 (finite in float32) by the end; its tail does not "stop moving"
    assert np.isfinite(np.asarray(geometric)).all() and float(geometric[-1]) > 1e20
    to_1e3 = jnp.concatenate([jnp.sin(t[:200]), jnp.full(60, 1e3)])  # sits at 1e3: a flat, finite tail
    at_50 = jnp.concatenate([jnp.sin(t[:200]), jnp.full(60, 50.0)])  # 50 stds: far, but inside the bound
    m = jax.vmap(lambda y: collapse_metrics(y, 1.0))(jnp.stack([geometric, to_1e3, at_50]))
    np.testing.assert_array_equal(m.diverged, [True, True, False])
    np.testing.assert_array_equal(m.collapsed, [False, False, True])  # a rollout sitting at 1e3 is not "collapsed"
    np.testing.assert_allclose(m.max_abs_deviation, [float(geometric[-1]), 1e3, 50.0], rtol=1e-6)
    assert DIVERGENCE_BOUND == 100.0
    # the bound is relative to the scale and measured from the centre
    assert not bool(collapse_metrics(to_1e3, 20.0).diverged)  # 1e3 / 20 = 50 stds
    assert not bool(collapse_metrics(jnp.full(60, 1e3), 1.0, center=950.0).diverged)  # |1e3 - 950| = 50
    assert bool(collapse_metrics(jnp.full(60, 50.0), 1.0, center=-60.0).diverged)  # |50 + 60| = 110
    inf = collapse_metrics(jnp.concatenate([jnp.ones(60), jnp.full(4, jnp.inf)]), 1.0)
    assert bool(inf.diverged) and np.isinf(inf.max_abs_deviation)
    with pytest.raises(ValueError, match="center"):
        collapse_metrics(at_50, 1.0, center=np.nan)
    with pytest.raises(ValueError, match="bound must be finite and > 0"):
        collapse_metrics(at_50, 1.0, bound=0.0)
