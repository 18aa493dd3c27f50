import pathlib
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
import pytest

pytest.importorskip("matplotlib")
import matplotlib.image  # noqa: E402

from lstm_ar.report import answer_figures, figures  # noqa: E402
from lstm_ar.report import scenario_figures as report_figures  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _check_png(out, given, min_side=150):
    assert out == given
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 1000
    img = matplotlib.image.imread(out)
    assert img.ndim == 3 and img.shape[2] in (3, 4)
    assert min_side <= img.shape[0] <= 5000 and min_side <= img.shape[1] <= 8000
    return img


def _fan_data(rng, T=60, C=30):
    t = np.arange(-C, T)
    series = np.sin(0.2 * t)
    rollouts = {
        "tanh": series[C:] + 0.1 * rng.standard_normal((20, T)),
        "relu": np.full((5, T), 0.3),  # collapsed to a constant
    }
    medians = {k: np.median(v, axis=0) for k, v in rollouts.items()}
    return rollouts, medians, series[:C], series[C:]


def test_rollout_fan_writes_png_and_creates_dirs(tmp_path, rng):
    rollouts, medians, context, truth = _fan_data(rng)
    given = tmp_path / "a" / "b" / "fan.png"
    out = figures.plot_rollout_fan(given, rollouts, medians=medians, context=context,
                                   truth=truth, title="fan", ylabel="y")
    img = _check_png(out, given)
    assert img.shape[1] > img.shape[0]  # two panels side by side


def test_rollout_fan_survives_non_finite_and_divergence(tmp_path, rng):
    rollouts, medians, context, truth = _fan_data(rng)
    rollouts["tanh"][0] = 1e30
    rollouts["tanh"][1, 10:] = np.nan
    rollouts["tanh"][2, 5:] = np.inf
    rollouts["relu"][:] = np.nan
    medians["relu"] = np.full(60, np.nan)
    given = tmp_path / "fan.png"
    _check_png(figures.plot_rollout_fan(given, rollouts, medians=medians), given)
    # a single variant without context/truth and a 1-D (one-seed) rollout
    given = tmp_path / "one.png"
    out = figures.plot_rollout_fan(str(given), {"x": np.ones(10)}, medians={"x": np.ones(10)})
    _check_png(out, given)


def test_robust_limits_ignores_diverging_seed(rng):
    rolls = 0.5 * rng.standard_normal((20, 50))
    rolls[0] = 1e30  # one of 20 seeds = 5% of the points, past the 99th percentile
    rolls[1, :10] = -np.inf
    rolls[2, :10] = np.nan
    lo, hi = figures.robust_limits([rolls])
    assert -5 < lo < 0 < hi < 5


def test_robust_limits_keeps_context_and_handles_degenerate():
    const = np.full((20, 50), 0.3)  # collapsed rollouts: zero IQR
    context = np.linspace(-2, 2, 30)
    lo, hi = figures.robust_limits([const], keep=[context])
    assert lo < -2 and hi > 2
    lo, hi = figures.robust_limits([const])
    assert lo < 0.3 < hi
    assert figures.robust_limits([np.full(5, np.nan)]) == (-1.0, 1.0)
    assert figures.robust_limits([], keep=[None]) == (-1.0, 1.0)


def test_metric_distribution(tmp_path, rng):
    values = {
        "tanh": rng.lognormal(size=200),
        "relu": np.concatenate([rng.lognormal(size=50), [np.nan, np.inf, -np.inf]]),
        "all_bad": np.full(4, np.nan),
    }
    given = tmp_path / "dist.png"
    out = figures.plot_metric_distribution(given, values, metric="rollout std",
                                           threshold=0.01, title="t")
    _check_png(out, given)
    values["tanh"][:7] = 0.0
    values["tanh"][7:9] = -1.0
    given = tmp_path / "dist_log.png"
    out = figures.plot_metric_distribution(given, values, metric="rollout std", log=True,
                                           threshold=0.01)
    _check_png(out, given)


def test_metric_distribution_labels(monkeypatch, tmp_path):
    plt = figures._pyplot()
    seen = {}
    real_close = plt.close

    def spy_close(fig):
        ax = fig.axes[0]
        seen["ticks"] = [t.get_text() for t in ax.get_xticklabels()]
        seen["legend"] = [t.get_text() for t in ax.get_legend().get_texts()]
        seen["yscale"] = ax.get_yscale()
        real_close(fig)

    monkeypatch.setattr(plt, "close", spy_close)
    values = {"relu": np.array([1.0, 2.0, np.nan, np.inf, 0.0, -3.0]), "tanh": np.ones(4)}
    figures.plot_metric_distribution(tmp_path / "d.png", values, metric="m", log=True,
                                     threshold=0.5)
    assert seen["ticks"] == ["relu\n(2 non-finite)\n(2 <= 0)", "tanh"]
    assert seen["legend"] == ["collapse threshold = 0.5"]
    assert seen["yscale"] == "log"


def test_plot_curves(tmp_path):
    x = np.array([0.1, 0.3, 1.0, 3.0])
    curves = {"collapse rate": np.array([0.1, 0.4, np.nan, 0.9]), "other": x**2}
    bands = {"collapse rate": (curves["collapse rate"] - 0.05, curves["collapse rate"] + 0.05)}
    given = tmp_path / "sub" / "curves.png"
    out = figures.plot_curves(given, x, curves, xlabel="lr", ylabel="rate", title="t",
                              log_y=True, bands=bands)
    _check_png(out, given)


def test_plot_curves_band_shares_curve_colour(monkeypatch, tmp_path):
    plt = figures._pyplot()
    seen = {}
    real_close = plt.close

    def spy_close(fig):
        ax = fig.axes[0]
        seen["line"] = ax.lines[0].get_color()
        seen["band"] = ax.collections[0].get_facecolor()[0][:3]
        real_close(fig)

    monkeypatch.setattr(plt, "close", spy_close)
    x = np.arange(3.0)
    figures.plot_curves(tmp_path / "c.png", x, {"a": x, "b": 2 * x}, xlabel="x", ylabel="y",
                        bands={"a": (x - 1, x + 1)})
    import matplotlib.colors as mcolors
    assert mcolors.to_hex(seen["line"]) == mcolors.to_hex("C0")  # first curve, first colour
    np.testing.assert_allclose(seen["band"], mcolors.to_rgb(seen["line"]))


def test_many_variants_wrap_into_rows(tmp_path):
    import matplotlib.image as mpimg

    rollouts = {f"v{i}": np.zeros((2, 20)) for i in range(6)}
    one_row = mpimg.imread(figures.plot_rollout_fan(tmp_path / "a.png", dict(list(rollouts.items())[:4]),
                                                    medians={}))
    two_rows = mpimg.imread(figures.plot_rollout_fan(tmp_path / "b.png", rollouts, medians={}))
    assert two_rows.shape[0] > 1.8 * one_row.shape[0]  # 6 panels: 4 + 2 in two rows
    assert two_rows.shape[1] == one_row.shape[1]  # no wider than 4 panels


def test_a_figure_is_written_whole_or_not_at_all(monkeypatch, tmp_path):
    """savefig wrote straight to the final name: a failure left half a PNG (or truncated the old one)."""
    x = np.arange(3.0)
    given = tmp_path / "c.png"
    figures.plot_curves(given, x, {"a": x}, xlabel="x", ylabel="y")
    before = given.read_bytes()
    plt = figures._pyplot()
    figure_class = type(plt.figure())
    plt.close("all")

    def broken(self, fname, **kwargs):
        pathlib.Path(fname).write_bytes(PNG_MAGIC)  # a few bytes, then the disk is full
        raise OSError("No space left on device")

    monkeypatch.setattr(figure_class, "savefig", broken)
    with pytest.raises(OSError, match="No space"):
        figures.plot_curves(given, x, {"a": 2 * x}, xlabel="x", ylabel="y")
    assert given.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.png"]
    assert plt.get_fignums() == []  # the figure is closed even so


def test_a_figure_is_never_written_through_a_symlink(tmp_path):
    target = tmp_path / "elsewhere.png"
    target.write_bytes(b"precious")
    (tmp_path / "fig.png").symlink_to(target)
    x = np.arange(3.0)
    with pytest.raises(ValueError, match="symlink"):
        figures.plot_curves(tmp_path / "fig.png", x, {"a": x}, xlabel="x", ylabel="y")
    assert target.read_bytes() == b"precious"


# ---- the answer's figures: shared helpers ---------------------------------------------------------


@pytest.fixture
def drawn(monkeypatch):
    """The figures closed while the test runs (inspectable after closing)."""
    plt = figures._pyplot()
    seen = []
    real_close = plt.close

    def spy_close(fig=None):
        seen.append(fig)
        real_close(fig)

    monkeypatch.setattr(plt, "close", spy_close)
    return seen


def _legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def _iterate(f, x0, steps):
    ys = [f(x0)]
    for _ in range(steps - 1):
        ys.append(f(ys[-1]))
    return np.asarray(ys)


# ---- fixed points on a grid and the cobweb --------------------------------------------------------

def test_grid_fixed_points_interpolate_crossings_with_their_slopes():
    grid = np.linspace(-1.0, 1.0, 64)
    (fp,) = answer_figures.grid_fixed_points(grid, 0.5 * grid + 0.25)  # x* = 0.5, f' = 0.5
    assert fp.x == pytest.approx(0.5) and fp.slope == pytest.approx(0.5)
    cubic = np.linspace(-2.0, 2.0, 40)  # x^3 = x at -1, 0, 1; f' = 3, 0, 3
    found = answer_figures.grid_fixed_points(cubic, cubic**3)
    np.testing.assert_allclose([p.x for p in found], [-1.0, 0.0, 1.0], atol=0.02)
    np.testing.assert_allclose([p.slope for p in found], [3.0, 0.0, 3.0], atol=0.2)  # secants over a 0.1 step
    exact = answer_figures.grid_fixed_points(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.5, 2.5]))
    assert exact == [answer_figures.GridFixedPoint(0.0, 1.5)]  # on a grid point, counted once
    assert answer_figures.grid_fixed_points(cubic, np.where(np.abs(cubic) < 1.5, np.nan, cubic**3)) == []
    with pytest.raises(ValueError, match="strictly increasing"):
        answer_figures.grid_fixed_points(grid[::-1], grid)
    with pytest.raises(ValueError, match="G = 64"):
        answer_figures.grid_fixed_points(grid, grid[:10])


def test_cobweb_draws_maps_identity_fixed_points_and_the_staircase(tmp_path, drawn):
    grid = np.linspace(-1.5, 1.5, 32)
    slopes = (0.9, 0.8, 0.7)
    curves = np.stack([s * grid + 0.05 for s in slopes])  # one stable fixed point each: 0.05 / (1 - s)
    rollouts = np.stack([_iterate(lambda x, s=s: s * x + 0.05, 1.0, 12) for s in slopes])
    given = tmp_path / "cobweb.png"
    _check_png(answer_figures.plot_cobweb(given, grid, curves, rollouts, title="t"), given)
    ax = drawn[-1].axes[0]
    assert len(ax.lines) == 1 + 3 + 1  # identity, a map per seed, the cobweb
    cobweb = ax.lines[-1]
    ys = rollouts[0]
    np.testing.assert_allclose(cobweb.get_xdata()[:5], [ys[0], ys[0], ys[1], ys[1], ys[2]])
    np.testing.assert_allclose(cobweb.get_ydata()[:5], [ys[0], ys[1], ys[1], ys[2], ys[2]])
    (points,) = ax.collections  # all three are attractors: one filled marker set
    np.testing.assert_allclose(np.sort(points.get_offsets()[:, 0]), np.sort([0.05 / (1 - s) for s in slopes]),
                               rtol=1e-6)
    assert [t.get_text() for t in ax.texts] == ["|f'| = 0.9"]  # noted for the first seed's
    assert "fixed point, |f'| < 1 (attracts)" in _legend(ax)


def test_cobweb_marks_a_repelling_fixed_point_and_survives_divergence(tmp_path, drawn):
    grid = np.linspace(-2.0, 2.0, 33)
    rollout = _iterate(lambda x: 1.5 * x, 0.1, 30)
    rollout[20:] = np.inf
    answer_figures.plot_cobweb(tmp_path / "c.png", grid, 1.5 * grid + 1e-3, rollout)
    ax = drawn[-1].axes[0]
    assert "fixed point, |f'| >= 1" in _legend(ax)
    assert np.all(np.isfinite(ax.lines[-1].get_xdata()))


def test_cobweb_refuses_bad_input(tmp_path):
    grid = np.linspace(-1.0, 1.0, 8)
    with pytest.raises(ValueError, match="one per map curve"):
        answer_figures.plot_cobweb(tmp_path / "c.png", grid, np.stack([grid, grid]), np.ones((3, 5)))
    with pytest.raises(ValueError, match="T >= 2"):
        answer_figures.plot_cobweb(tmp_path / "c.png", grid, grid, np.ones(1))
    with pytest.raises(ValueError, match="map_curves must be f"):
        answer_figures.plot_cobweb(tmp_path / "c.png", grid, np.ones((2, 7)), np.ones((2, 5)))
    with pytest.raises(ValueError, match="map_grid"):
        answer_figures.plot_cobweb(tmp_path / "c.png", np.array([0.0, np.nan]), np.ones(2), np.ones(5))
    with pytest.raises(TypeError, match="map_curves must be an array of numbers"):
        answer_figures.plot_cobweb(tmp_path / "c.png", grid, "curve", np.ones(5))
    assert not (tmp_path / "c.png").exists()


# ---- the phase diagram -----------------------------------------------------------------------------

def test_phase_diagram_one_panel_per_family_with_values_in_cells(tmp_path, drawn):
    noise, windows = np.array([0.0, 0.1, 0.5]), np.array([1, 5, 20, 100])
    ar = np.linspace(0, 1, 12).reshape(3, 4)
    lstm = ar[::-1].copy()
    lstm[1, 2] = np.nan
    given = tmp_path / "phase.png"
    out = answer_figures.plot_phase_diagram(given, noise, windows, {"least-squares AR": ar, "LSTM": lstm},
                                            title="t", metric_label="collapse rate")
    _check_png(out, given)
    panels = [ax for ax in drawn[-1].axes if ax.images]
    assert [ax.get_title() for ax in panels] == ["least-squares AR", "LSTM"]
    for ax, rates in zip(panels, (ar, lstm)):
        assert len(ax.texts) == 12
        assert ax.images[0].get_clim() == (0.0, 1.0)
        assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "5", "20", "100"]
        np.testing.assert_array_equal(ax.images[0].get_array().filled(np.nan), rates)
    assert "n/a" in [t.get_text() for t in panels[1].texts] and "0.09" in [t.get_text() for t in panels[0].texts]
    assert panels[0].get_ylabel().startswith("noise level") and panels[0].get_xlabel().startswith("window")
    assert any(ax.get_ylabel() == "collapse rate" for ax in drawn[-1].axes)  # the shared colour bar


def test_phase_diagram_refuses_bad_input(tmp_path):
    noise, windows = np.array([0.0, 0.1]), np.array([1, 5])
    ok = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"f\[2, 2\]"):
        answer_figures.plot_phase_diagram(tmp_path / "p.png", noise, windows, {"AR": np.zeros((2, 3))})
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        answer_figures.plot_phase_diagram(tmp_path / "p.png", noise, windows, {"AR": ok + 1.2})
    with pytest.raises(ValueError, match="windows must be integers >= 1"):
        answer_figures.plot_phase_diagram(tmp_path / "p.png", noise, np.array([0.5, 2]), {"AR": ok})
    with pytest.raises(ValueError, match="non-empty dict"):
        answer_figures.plot_phase_diagram(tmp_path / "p.png", noise, windows, {})


# ---- the forest plot -----------------------------------------------------------------------------

def test_forest_sorts_rows_and_draws_the_reference(tmp_path, drawn):
    rows = [("window 50", 0.3, 0.2, 0.4, 128), ("tanh", 0.55, 0.45, 0.65, 64), ("direct head", 0.9, 0.8, 0.95, 256)]
    given = tmp_path / "forest.png"
    _check_png(answer_figures.plot_forest(given, rows, xlabel="P(beats AR(30))", title="t"), given)
    ax = drawn[-1].axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["window 50 (n = 128)", "tanh (n = 64)",
                                                           "direct head (n = 256)"]
    reference = [line for line in ax.lines if list(line.get_xdata()) == [0.5, 0.5]]
    assert len(reference) == 1
    assert [t.get_text() for t in ax.texts] == ["0.30 [0.20, 0.40]", "0.55 [0.45, 0.65]", "0.90 [0.80, 0.95]"]
    import matplotlib.colors as mcolors
    colours = [mcolors.to_hex(c.lines[0].get_color()) for c in ax.containers]
    assert colours == [mcolors.to_hex(c) for c in ("tab:red", "0.4", "tab:green")]
    assert ax.get_xlabel() == "P(beats AR(30))"


@pytest.mark.parametrize("rows, match", [
    ([], "non-empty"),
    ([("a", 0.5, 0.6, 0.7, 10)], "lo <= estimate <= hi"),
    ([("a", np.nan, 0.1, 0.7, 10)], "finite"),
    ([("a", 0.5, 0.4, 0.7, 0)], "n an int >= 1"),
    ([("a", 0.5, 0.4, 0.7)], r"\(label, estimate, lo, hi, n\)"),
    ([(1, 0.5, 0.4, 0.7, 3)], "str, number"),
])
def test_forest_refuses_bad_rows(tmp_path, rows, match):
    with pytest.raises((ValueError, TypeError), match=match):
        answer_figures.plot_forest(tmp_path / "f.png", rows)
    assert not (tmp_path / "f.png").exists()


# ---- survival --------------------------------------------------------------------------------------

def test_survival_is_the_fraction_still_valid_and_counts_the_censored(tmp_path, drawn):
    h = np.array([0, 2, 5, 5])
    np.testing.assert_allclose(answer_figures.survival_curve(h, 5), [1, 0.75, 0.75, 0.5, 0.5, 0.5])
    given = tmp_path / "survival.png"
    out = answer_figures.plot_survival(given, {"w50": h, "w1": np.array([1.0, 1.0, 3.0])}, 5, title="t")
    _check_png(out, given)
    ax = drawn[-1].axes[0]
    assert len(ax.lines) == 2
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1, 0.75, 0.75, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [1, 1, 1 / 3, 1 / 3, 0, 0])
    assert _legend(ax) == ["w50: median 3.5 steps, 2/4 valid for all 5", "w1: median 1 steps, 0/3 valid for all 5"]
    assert len(ax.collections) == 1  # the censoring mark of w50 only


@pytest.mark.parametrize("h, steps, match", [
    (np.array([6]), 5, r"\[0, steps=5\]"), (np.array([1.5]), 5, "integers"),
    (np.array([np.nan]), 5, "integers"), (np.array([1]), 0, "steps must be an int"),
    (np.array([1]), True, "steps must be an int"), (np.zeros((2, 2)), 5, "1 dimensions"),
])
def test_survival_refuses_bad_horizons(tmp_path, h, steps, match):
    with pytest.raises(ValueError, match=match):
        answer_figures.plot_survival(tmp_path / "s.png", {"a": h}, steps)


# ---- loss curves ----------------------------------------------------------------------------------

def test_loss_curves_median_band_and_log_axis(tmp_path, drawn):
    rng = np.random.default_rng(3)
    a = np.exp(-np.arange(4.0))[None] * rng.uniform(0.5, 2.0, size=(5, 1))
    b = a.copy() * 2
    b[0, 2:] = np.nan  # one seed diverged
    given = tmp_path / "loss.png"
    _check_png(answer_figures.plot_loss_curves(given, {"plain": a, "tanh": b}, title="t"), given)
    ax = drawn[-1].axes[0]
    assert ax.get_yscale() == "log" and len(ax.lines) == 2 and len(ax.collections) == 2
    np.testing.assert_allclose(ax.lines[0].get_ydata(), np.median(a, axis=0))
    np.testing.assert_allclose(ax.lines[1].get_ydata()[2:], np.median(b[1:, 2:], axis=0))
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3, 4])
    assert _legend(ax) == ["plain (5 seeds)", "tanh (5 seeds, 1 with non-finite loss)"]
    answer_figures.plot_loss_curves(tmp_path / "nll.png", {"gaussian": -a})  # a negative loss: linear axis
    assert drawn[-1].axes[0].get_yscale() == "linear"


def test_loss_curves_refuse_bad_input(tmp_path):
    with pytest.raises(ValueError, match="non-empty dict"):
        answer_figures.plot_loss_curves(tmp_path / "l.png", {})
    with pytest.raises(ValueError, match="1 or 2 dimensions"):
        answer_figures.plot_loss_curves(tmp_path / "l.png", {"a": np.ones((2, 2, 2))})
    with pytest.raises(ValueError, match="must not be empty"):
        answer_figures.plot_loss_curves(tmp_path / "l.png", {"a": np.ones((3, 0))})


# ---- where the seeds split -------------------------------------------------------------------------

def _bimodal(rng, n_up=62, n_down=38, T=80):
    """ReLU-like rollouts: n_up settle at +0.98, n_down at -1.0, after a common start."""
    t = np.arange(T)
    ends = np.concatenate([np.full(n_up, 0.98), np.full(n_down, -1.0)])[:, None]
    r = ends * (1 - np.exp(-t / 3.0)) + 0.01 * rng.standard_normal((n_up + n_down, T))
    return r[rng.permutation(len(r))]


def test_settle_groups_find_two_groups_with_their_shares(rng):
    r = _bimodal(rng)
    settle = figures.settle_values(r)
    groups = figures.settle_groups(settle, scale=1.0)
    assert [g.members.size for g in groups] == [38, 62]
    assert [g.share for g in groups] == [0.38, 0.62]
    assert groups[0].value == pytest.approx(-1.0, abs=0.01) and groups[1].value == pytest.approx(0.98, abs=0.01)
    np.testing.assert_array_equal(np.sort(np.concatenate([g.members for g in groups])), np.arange(100))
    assert np.all(settle[groups[1].members] > 0)
    again = figures.settle_groups(settle[::-1], scale=1.0)  # the seeds' order does not matter
    assert [g.members.size for g in again] == [38, 62]


def test_settle_groups_keep_a_unimodal_spread_together_and_leave_diverged_seeds_out(rng):
    phases = np.linspace(0, 2 * np.pi, 40, endpoint=False)[:, None]
    oscillating = np.sin(0.1 * np.arange(200)[None] + phases)  # still moving, ending anywhere in [-1, 1]
    (group,) = figures.settle_groups(oscillating[:, -1], scale=np.std(oscillating))
    assert group.share == 1.0
    settle = np.array([0.1, 0.2, np.nan, 0.15])
    (group,) = figures.settle_groups(settle, scale=1.0)
    assert group.share == 0.75 and list(group.members) == [0, 1, 3]
    assert figures.settle_groups(np.full(3, np.nan), scale=1.0) == []


def test_settle_values_are_the_tail_mean_and_nan_when_it_diverged():
    r = np.zeros((2, 60))
    r[0, -50:] = 2.0
    r[1, -1] = np.inf
    np.testing.assert_allclose(figures.settle_values(r)[:1], [2.0])
    assert np.isnan(figures.settle_values(r)[1])
    np.testing.assert_allclose(figures.settle_values(np.arange(4.0), tail=2), [2.5])
    with pytest.raises(ValueError, match="tail must be an int >= 1"):
        figures.settle_values(r, tail=0)


@pytest.mark.parametrize("kwargs, match", [({"scale": 0.0}, "scale must be"), ({"scale": 1.0, "gap": -1.0}, "gap must be"),
                                           ({"scale": np.nan}, "scale must be")])
def test_settle_groups_refuse_bad_scales(kwargs, match):
    with pytest.raises(ValueError, match=match):
        figures.settle_groups(np.zeros(3), **kwargs)
    with pytest.raises(ValueError, match=r"settle must be f\[S\]"):
        figures.settle_groups(np.zeros((2, 2)), scale=1.0)


def test_fan_draws_each_group_with_its_share(tmp_path, rng, drawn):
    everything = _bimodal(rng)
    unimodal = 0.5 + 0.01 * rng.standard_normal((30, 80))
    medians = {"relu": np.median(everything, axis=0), "sigmoid": np.median(unimodal, axis=0)}
    out = figures.plot_rollout_fan(tmp_path / "fan.png", {"relu": everything[:20], "sigmoid": unimodal[:20]},
                                   medians=medians, all_rollouts={"relu": everything, "sigmoid": unimodal}, scale=1.0)
    _check_png(out, tmp_path / "fan.png")
    relu, sigmoid = drawn[-1].axes[:2]
    assert _legend(relu) == ["20 seeds", "38% settle at -1 (38 seeds)", "62% settle at +0.98 (62 seeds)"]
    assert len(relu.collections) == 2  # one band per group
    assert _legend(sigmoid) == ["20 seeds", "median of all seeds"]
    shown_colours = {line.get_color() for line in relu.lines[:20]}
    assert shown_colours == set(figures.GROUP_COLOURS[:2])  # the shown seeds take their group's colour


def test_fan_counts_small_groups_and_diverged_seeds_in_the_legend(tmp_path, rng, drawn):
    everything = _bimodal(rng)
    everything[:3] = 5.0  # 3% far away: a group too small to draw
    everything[3, -1] = np.nan  # a diverged seed
    figures.plot_rollout_fan(tmp_path / "fan.png", {"relu": everything[:20]}, medians={},
                             all_rollouts={"relu": everything}, truth=np.sin(np.arange(80.0)))
    legend = _legend(drawn[-1].axes[0])
    assert legend[-1] == "3 seeds in smaller groups (< 5% each); 1 seeds diverged"
    assert sum("settle at" in text for text in legend) == 2
    with pytest.raises(ValueError, match="which rollouts lacks"):
        figures.plot_rollout_fan(tmp_path / "fan.png", {"relu": everything[:20]}, medians={},
                                 all_rollouts={"tanh": everything})


# ---- the report's figures --------------------------------------------------------------------------

class _Variant(NamedTuple):  # a VariantResult with the map curve of a window-1 model
    metrics: dict
    rollouts: np.ndarray
    epoch_loss: np.ndarray
    map_curve: np.ndarray | None = None


def _comparison(a, b, p, metric="rollout_rmse", n=4):
    return {"a": a, "b": b, "metric": metric, "lower_is_better": True, "prob_a_better": p,
            "ci95": [max(p - 0.1, 0.0), min(p + 0.1, 1.0)], "n": n, "n_dropped": 0}


def _answer_result(rng, seeds=4, steps=60, map_curve=True):
    from lstm_ar.study.experiment import ScenarioResult

    grid = np.linspace(-2.0, 2.0, 64)
    variants = {}
    for name, slope in (("sigmoid", 0.9), ("relu/w1", 0.8)):
        rollouts = np.stack([_iterate(lambda x, s=slope: s * x, 1.0 + i, steps) for i in range(seeds)])
        metrics = {"tail_std_ratio": rng.lognormal(size=seeds), "collapsed": np.ones(seeds), "diverged": np.zeros(seeds),
                   "valid_horizon": np.array([0.0, 3.0, 9.0, float(steps)])[:seeds]}
        variants[name] = _Variant(metrics, rollouts, rng.uniform(0.1, 1.0, size=(seeds, 5)),
                                  np.stack([slope * grid] * seeds) if map_curve else None)
    scenario = SimpleNamespace(name="toy", title="Toy", context=np.sin(np.arange(30.0)), truth=np.zeros(steps),
                               key_metric="tail_std_ratio", figures=(), map_range=(-2.0, 2.0), scale=1.0,
                               rollout_steps=steps)
    return ScenarioResult(scenario, seeds, 0, variants, 1.0, {})


def test_forest_rows_take_each_variants_hardest_reference(rng):
    summary = {"linear_references": {"AR(30)": {}, "AR(5)": {}}, "references": {"persistence": 0.1},
               "comparisons": [_comparison("sigmoid", "AR(30)", 0.2), _comparison("sigmoid", "AR(5)", 0.7),
                               _comparison("sigmoid", "persistence", 0.9), _comparison("relu", "AR(30)", 0.4),
                               _comparison("relu", "AR(5)", 0.1, metric="seed_prediction_error"),
                               _comparison("sigmoid", "relu", 0.05), _comparison("AR(5)", "AR(30)", 0.01),
                               {"a": "tanh", "b": "AR(30)", "metric": "rollout_rmse"}]}  # malformed: skipped
    rows = report_figures.forest_rows(summary)
    assert [(r.label, r.estimate, r.n, r.metric) for r in rows] == [("sigmoid vs AR(30)", 0.2, 4, "rollout_rmse"),
                                                                    ("relu vs AR(30)", 0.4, 4, "rollout_rmse")]
    listed = {"linear_references": [{"name": "AR(5)"}, "AR(30)"],
              "comparisons": [_comparison("x", "AR(5)", 0.3, metric="mse")]}
    assert [r.label for r in report_figures.forest_rows(listed)] == ["x vs AR(5)"]
    assert report_figures.forest_rows({"references": {}, "comparisons": summary["comparisons"]}) == []
    assert report_figures.forest_rows({"comparisons": []}) == []


def test_write_figures_adds_the_answers_figures_where_the_results_allow(tmp_path, rng):
    result = _answer_result(rng)
    summary = {"linear_references": {"AR(30)": {}}, "comparisons": [_comparison("sigmoid", "AR(30)", 0.3),
                                                                    _comparison("relu/w1", "AR(30)", 0.6)]}
    names = report_figures.write_figures(tmp_path, result, summary)
    assert names == ["rollouts.png", "forest.png", "survival.png", "cobweb_sigmoid.png", "cobweb_relu_w1.png",
                     "tail_std_ratio.png", "epoch_loss.png"]
    for name in names:
        _check_png(tmp_path / name, tmp_path / name, min_side=100)
    bare = _answer_result(rng, map_curve=False)
    for v in bare.variants.values():
        del v.metrics["valid_horizon"]
    names = report_figures.write_figures(tmp_path / "bare", bare)  # no summary: no forest; no map: no cobweb
    assert names == ["rollouts.png", "tail_std_ratio.png", "epoch_loss.png"]


def test_the_cobweb_reads_the_scenarios_map_grid(monkeypatch, tmp_path, rng):
    from lstm_ar.study import experiment

    result = _answer_result(rng)
    seen = []
    monkeypatch.setattr(answer_figures, "plot_cobweb", lambda path, grid, *a, **k: seen.append(grid) or path)
    monkeypatch.delattr(experiment, "map_grid", raising=False)
    report_figures._cobweb_figure(tmp_path, result, "sigmoid")
    np.testing.assert_allclose(seen[0], np.linspace(-2.0, 2.0, 64))  # from map_range without map_grid
    monkeypatch.setattr(experiment, "map_grid", lambda sc: np.linspace(-1.0, 1.0, 64), raising=False)
    seen.clear()
    report_figures._cobweb_figure(tmp_path, result, "sigmoid")
    np.testing.assert_allclose(seen[0], np.linspace(-1.0, 1.0, 64))


def test_answer_figure_names_never_clash_with_a_metrics():
    assert report_figures.figure_file("epoch_loss") == "metric_epoch_loss.png"
    assert report_figures.figure_file("survival") == "metric_survival.png"
    assert report_figures.figure_file("forest") == "metric_forest.png"
    assert report_figures.figure_file("cobweb_sigmoid") == "metric_cobweb_sigmoid.png"
    assert report_figures.cobweb_file("relu/w1") == "cobweb_relu_w1.png"


def test_forest_rows_read_vs_references_and_prefer_the_best_ar():
    def vs(p, metric="rollout_rmse"):
        return {metric: {"lower_is_better": True, "reference_value": 0.06, "prob_a_better": p,
                         "ci95": [p - 0.05, p + 0.05], "n": 64, "n_dropped": 0}}

    summary = {"linear_references": {"ar_30": {}, "best_ar": {"of": "ar_30", "chosen_on": "truth"}},
               "variants": {"w1": {"vs_references": {"persistence": vs(0.1), "best_ar": vs(0.3), "ar_aic": vs(0.2)}},
                            "w50": {"vs_references": {"ar_aic": vs(0.6), "persistence": vs(0.9)}},
                            "real": {"vs_references": {"best_ar": vs(0.5, "backtest_rmse")}},
                            "odd": {"vs_references": {"best_ar": {"rollout_rmse": {"prob_a_better": None}}}}},
               "comparisons": []}
    rows = report_figures.forest_rows(summary)
    assert [(r.label, r.estimate, r.n) for r in rows] == [("w1 vs best_ar (ar_30)", 0.3, 64), ("w50 vs ar_aic", 0.6, 64)]
    assert {r.metric for r in rows} == {"rollout_rmse"}
    only_backtest = {"variants": {"real": summary["variants"]["real"]}}
    assert [(r.label, r.metric) for r in report_figures.forest_rows(only_backtest)] == [("real vs best_ar",
                                                                                        "backtest_rmse")]
