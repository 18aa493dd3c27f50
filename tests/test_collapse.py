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
