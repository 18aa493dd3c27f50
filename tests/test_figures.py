import pathlib

import numpy as np
import pytest

pytest.importorskip("matplotlib")
import matplotlib.image  # noqa: E402

from lstm_ar.study import figures  # noqa: E402

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
