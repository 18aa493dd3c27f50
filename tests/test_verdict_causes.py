"""Why a collapsing variant collapses (``lstm_ar.user.causes``), without training: each cause's rule on the
synthetic series built to show it (``lstm_ar.data.collapse_series``) and on hand-made measures, each threshold
from both sides, and the verdict's "Why" lines. The end-to-end runs are in tests/test_user_study.py."""

import numpy as np
import pytest

from lstm_ar.data import collapse_series as cs
from lstm_ar.data.series import noisy_sine
from lstm_ar.user import causes, verdict

N, TRAIN = 500, 400  # the study's default split of 500 values: the last fifth held out
SERIES = {"sine": noisy_sine(standardise=False).values.astype(np.float64)[:N], "trend": cs.trend(N),
          "widening_sine": cs.widening_sine(N), "level_step": cs.level_step(N), "ar1": cs.ar1(N)}
# what the data alone shows on each series: the known answers
DATA_CAUSES = {"sine": set(), "trend": {"leaves_range", "level_shift"}, "widening_sine": {"leaves_range"},
               "level_step": {"level_shift"}, "ar1": set()}


def shift_of(name):
    x = SERIES[name]
    return causes.series_shift(x[:TRAIN], x[TRAIN:])


def data(shift=None, **changes):
    base = dict(n_train=TRAIN, n_heldout=N - TRAIN, judged="by one rollout", mean=0.0, std=1.0,
                references={"the training mean (flat)": 1.0, "AR(3) by AIC": 0.5}, best="AR(3) by AIC",
                mean_label="the training mean (flat)", ar_order=3, ar_radius=0.9, one_lag_slope=0.95, explained=0.5,
                shift=shift)
    base.update(changes)
    return verdict.DataMeasures(**base)


def variant(**changes):
    base = dict(name="window_20", words="LSTM(32, tanh), window 20", n=4, collapsed=4, diverged=0,
                settle=(0.1, 0.2, 0.3), steps=10.0, slope=None, beats=0, rmse=0.9)
    base.update(changes)
    return verdict.VariantMeasures(**base)


def named(d, v, **kw):
    return [c.name for c in causes.collapse_causes(d, v, **kw)]


def test_series_shift_against_numpy():
    x = SERIES["trend"]
    train, held = x[:TRAIN], x[TRAIN:]
    s = shift_of("trend")
    std = train.std()
    assert (s.low, s.high) == (train.min(), train.max())
    assert s.above == np.mean(held > train.max()) and s.below == np.mean(held < train.min()) == 0.0
    np.testing.assert_allclose(s.beyond, (held.max() - train.max()) / std)
    np.testing.assert_allclose(s.heldout_shift, (held.mean() - train.mean()) / std)
    np.testing.assert_allclose(s.inside_shift, (train[200:].mean() - train[:200].mean()) / std)
    assert causes.series_shift([0.0, 1.0], [0.5]).beyond == 0.0  # inside the range: 0, not negative
    for bad in (([1.0, 1.0], [1.0]), ([1.0], [1.0]), ([0.0, 1.0], []), ([0.0, 1.0], [np.nan])):
        with pytest.raises(ValueError, match="series_shift needs"):
            causes.series_shift(*bad)


@pytest.mark.parametrize("name", list(SERIES))
def test_each_series_shows_its_data_causes_and_no_other(name):
    """A collapsed window-20 model that neither contracts (radius 1.2) nor is still learning: only what the
    data shows is named, exactly the known answer."""
    d = data(shift_of(name))
    assert set(named(d, variant(radius=1.2, loss_fall=0.01, epochs=20))) == DATA_CAUSES[name]
    assert named(d, variant(collapsed=0, settle=None, radius=0.5, loss_fall=0.5, epochs=20)) == []  # no collapse


def test_thresholds_from_both_sides():
    base = causes.SeriesShift(low=-1.0, high=1.0, below=0.0, above=0.0, beyond=0.0, heldout_shift=0.0,
                              inside_shift=0.0)
    v = variant()
    assert named(data(base), v) == []
    share = causes.OUTSIDE_SHARE
    assert named(data(base._replace(below=share / 2, above=share / 2, beyond=0.3)), v) == ["leaves_range"]
    assert named(data(base._replace(above=0.99 * share, beyond=0.3)), v) == []
    for field in ("heldout_shift", "inside_shift"):
        for sign in (1, -1):
            assert named(data(base._replace(**{field: sign * causes.LEVEL})), v) == ["level_shift"]
            assert named(data(base._replace(**{field: sign * 0.99 * causes.LEVEL})), v) == []
    assert named(data(), variant(radius=0.999)) == ["contracting_map"]
    assert named(data(), variant(radius=causes.CONTRACTING)) == []
    assert named(data(), variant(loss_fall=causes.FALLING, epochs=20)) == ["under_training"]
    assert named(data(), variant(loss_fall=0.99 * causes.FALLING, epochs=20)) == []


def test_window_one_dilution_explains_the_contraction():
    """The window-1 map: regression dilution when the one-lag slope is below 1 in size (its |f'| then adds no
    second cause); with a slope of 1 or more, a contracting |f'| is named on its own."""
    w1 = variant(name="window_1", words="LSTM(32, tanh), window 1", slope=0.8, radius=0.8)
    assert named(data(), w1, window_one=True) == ["regression_dilution"]
    assert named(data(one_lag_slope=-0.95), w1, window_one=True) == ["regression_dilution"]
    assert named(data(one_lag_slope=1.0), w1, window_one=True) == ["contracting_map"]
    assert named(data(), w1) == ["contracting_map"]  # another window-1 map (a remedy): its |f'| is the measure
    assert named(data(), w1._replace(slope=1.1, radius=0.5)) == []  # a 1-D map's Jacobian is f', not rho_end
    text = causes.collapse_causes(data(one_lag_slope=1.0), w1)[0].text
    assert "|f'| of its learned map at the settle value is 0.80" in text


def test_loss_fall_per_seed():
    epochs = np.arange(20, dtype=np.float64)
    curves = np.stack([np.exp(-epochs / 5), np.full(20, 0.3), 1 + epochs / 100])
    fall = causes.loss_fall(curves)  # k = 5 of 20 epochs
    np.testing.assert_allclose(fall, [1 - np.exp(-1), 0.0, (1.14 - 1.19) / 1.14])
    assert causes.last_quarter(3) == 1 and causes.last_quarter(100) == 25
    np.testing.assert_allclose(causes.loss_fall(np.array([[2.0, 1.0, 0.5]])), [0.5])
    assert np.isnan(causes.loss_fall(np.ones((2, 1)))).all()  # one epoch: nothing to compare
    assert np.isnan(causes.loss_fall(np.array([[np.nan, 1.0], [0.0, 0.0], [1.0, np.inf]]))).all()
    with pytest.raises(ValueError, match=r"f\[seeds, epochs\]"):
        causes.loss_fall(np.ones(5))


def test_measure_variant_reads_rho_end_and_the_loss_over_collapsed_seeds():
    metrics = {"collapsed": np.array([1.0, 1.0, 0.0, 1.0]), "diverged": np.zeros(4),
               "settle_value_raw": np.array([0.1, 0.2, 5.0, 0.3]), "steps_to_collapse": np.array([3.0, 4, 200, 5]),
               "rollout_rmse": np.ones(4), "rho_end": np.array([0.5, np.nan, 0.1, 0.7])}
    loss = np.stack([np.linspace(1.0, 0.5, 8), np.linspace(1.0, 0.9, 8), np.full(8, 1.0), np.full(8, 2.0)])
    m = verdict.measure_variant("w20", "w", metrics, judged="rollout_rmse", std=1.0, best_rmse=0.5, epoch_loss=loss)
    assert m.radius == 0.6  # the median of the collapsed seeds' finite values, not seed 2's 0.1
    expected = np.median([(loss[s, 5] - loss[s, 7]) / loss[s, 5] for s in (0, 1, 3)])  # k = 8 // 4 = 2
    np.testing.assert_allclose(m.loss_fall, expected)
    assert m.epochs == 8
    bare = verdict.measure_variant("w20", "w", {k: v for k, v in metrics.items() if k != "rho_end"},
                                   judged="rollout_rmse", std=1.0, best_rmse=0.5)
    assert bare.radius is None and bare.loss_fall is None and bare.epochs is None


def test_why_lines_in_the_verdict():
    trend = shift_of("trend")
    v = variant(settle=(4.3, 4.5, 4.6), radius=0.42, loss_fall=0.2, epochs=20)
    lines = verdict.verdict(data(trend, std=1.2), [v])
    why = next(line for line in lines if line.startswith("Why LSTM(32, tanh), window 20 collapses: "))
    assert f"{100 * trend.above:.0f}% above" in why and f"up to {trend.beyond:.2f} training stds beyond it" in why
    assert f"it settles at 4.5, {(4.5 - trend.high) / 1.2:.2f} training stds above its maximum" in why
    assert f". The level shifts: the held-out mean is {trend.heldout_shift:.2f} training stds above" in why
    assert f"second half sits {trend.inside_shift:.2f} training stds above its first" in why
    held_mean = trend.heldout_shift * 1.2  # the training mean is 0 here
    assert f"; it settles at 4.5, {abs(4.5 - held_mean) / 1.2:.2f} training stds " \
           f"{'above' if 4.5 > held_mean else 'below'} the held-out mean." in why
    assert ". Its rollout map contracts where the rollout settles: the spectral radius of its window map's " \
           "Jacobian at the rollout's last window is 0.42" in why
    assert ". Its training loss was still falling: by 20% over the last 5 of its 20 epochs" in why
    assert why.endswith("may change what it learns.")
    calm = data(shift_of("ar1"))
    none = verdict.verdict(calm, [v._replace(radius=1.3, loss_fall=0.0)])
    assert "Why LSTM(32, tanh), window 20 collapses: none of the causes the verdict measures holds" in none[2]
    assert not any(line.startswith("Why") for line in verdict.verdict(data(), [variant()]))  # nothing measured
    assert not any(line.startswith("Why") for line in verdict.verdict(calm, [v._replace(collapsed=0, settle=None)]))
    flat = calm._replace(references={"the training mean (flat)": 1.0, "AR(0) by AIC": 1.0}, best="AR(0) by AIC",
                         explained=0.0)
    assert not any(line.startswith("Why") for line in verdict.verdict(flat, [v]))  # a flat forecast needs no cause


def test_generators_are_deterministic_and_checked():
    for make in (cs.trend, cs.widening_sine, cs.level_step, cs.ar1):
        np.testing.assert_array_equal(make(50, seed=3), make(50, seed=3))
        assert make(50).shape == (50,)
    assert np.ptp(cs.widening_sine(100, noise=0.0)[80:]) > 1.9 * np.ptp(cs.widening_sine(100, noise=0.0)[:80])
    with pytest.raises(ValueError, match="phi"):
        cs.ar1(10, phi=1.0)
    with pytest.raises(ValueError, match="noise"):
        cs.trend(10, noise=-1.0)
    with pytest.raises(TypeError, match="n_points"):
        cs.level_step(10.5)
