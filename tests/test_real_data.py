import numpy as np
import pytest

from lstm_ar.data.real import load_series
from lstm_ar.data.split import split_standardise, train_length


def test_bundled_series_load_offline():
    sunspots = load_series("sunspots")
    assert sunspots.shape == (309,) and np.all(sunspots >= 0)
    co2 = load_series("co2")
    assert co2.ndim == 1 and co2.shape[0] > 500 and np.all(np.isfinite(co2))
    assert abs(np.mean(co2)) < 0.5  # differenced: the trend (~+0.1 ppm a month) is gone
    with pytest.raises(ValueError, match="unknown series"):
        load_series("gold")


def test_split_standardises_with_training_statistics_only():
    values = np.r_[np.arange(8.0), 100.0, 200.0]
    split = split_standardise(values, 0.8)
    assert split.train.shape == (8,) and split.test.shape == (2,)
    np.testing.assert_allclose(split.train.mean(), 0, atol=1e-6)
    np.testing.assert_allclose(split.train.std(), 1, rtol=1e-6)
    np.testing.assert_allclose(split.test, (np.asarray([100.0, 200.0]) - 3.5) / np.std(np.arange(8.0)), rtol=1e-6)
    same = split_standardise(values, n_train=8)  # a count instead of a fraction
    assert all(np.array_equal(a, b) for a, b in zip(same, split, strict=True))
    assert train_length(10, 0.2) == 8 and train_length(5, 0.5) == 3  # the last round(0.5 * 5) = 2 held out
    with pytest.raises(ValueError, match="each part needs at least 2"):
        split_standardise(values, n_train=9)
    with pytest.raises(ValueError):
        split_standardise(np.r_[1.0, np.nan, 2.0])


def test_the_panel_loads_offline_and_its_catalogue_is_checked():
    from lstm_ar.data.real import KINDS, PANEL, PanelSeries, check_panel

    for name, entry in PANEL.items():
        values = load_series(name)
        assert values.shape == (entry.length,) and np.all(np.isfinite(values)), name
    assert {k for e in PANEL.values() for k in e.kinds} == set(KINDS) and len(PANEL) >= 8
    broken = {**PANEL, "nile": PANEL["nile"]._replace(kinds=("long",))}  # 100 values are not long
    with pytest.raises(ValueError, match="'short' means"):
        check_panel(broken)
    with pytest.raises(ValueError, match="covers no series of kind"):
        check_panel({"nile": PANEL["nile"]})
    with pytest.raises(ValueError, match="unknown kinds"):
        check_panel({**PANEL, "x": PanelSeries(500, 12, ("wavy",), "")})
    with pytest.raises(ValueError, match="season"):
        check_panel({**PANEL, "x": PanelSeries(40, 12, ("cycle",), "")})


def test_panel_rules_follow_length_and_season_only():
    from lstm_ar.scenarios import panel

    assert panel.window_for(None, 80) == 10 and panel.window_for(12, 586) == 24 and panel.window_for(52, 1827) == 52
    assert panel.window_for(4, 162) == 12
    assert panel.epochs_for(80, 10) == 300 and panel.epochs_for(1827, 52) == 27  # 3 and 56 batches an epoch
    sc = panel.scenario("nile", ["plain", "direct"], origins=20, quick=False)
    assert sc.backtest().origins.size == 11  # 20 held out, 10 steps each: at most 11 origins fit
    assert sc.variants["direct"].model.horizon == 10 and sc.variants["plain"].model.window == 10
