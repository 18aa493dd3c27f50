"""``lstm-ar study`` end to end on series whose answer is known, and the verdict's sentences.

Three tiny runs (module fixtures, ``--quick``: 4 seeds, window 1, 20 epochs so the models learn; one
compiled program):

* white noise: the flat forecast is optimal; the verdict must say so and call the LSTM's collapse
  to the mean not a failure;
* the article's noisy sine (its first 500 values): the window-1 model collapses, its learned map has an attracting fixed
  point, and the data's one-lag least-squares slope (0.980, the shrinkage formula
  ``cos(w) s2 / (s2 + n2)``) explains why;
* a noisy linear trend (``lstm_ar.data.collapse_series.trend``): the held-out values leave the training range and
  the level shifts, and the verdict's causes say so (``lstm_ar.user.causes``; tests/test_verdict_causes.py has
  every cause's rule without training).

The sine run also asks for the remedy ``direct`` (the direct multi-horizon head, at quick size;
the noise run has no remedies, as ``--quick`` defaults): a variant of the scenario like the
others, it must appear among the judged variants, in the verdict and in ``per_seed.csv``, whose
values are recomputed for a single seed with ``make_train`` + ``rollouts`` + ``judge_rollout``
and numpy (the backtest and the settle value in the user's units).

Every number the verdict states is checked against the per-seed files. The verdict itself is also
tested on hand-made measures (no training), so each sentence can be made to fail."""

import csv
import json
import math

import numpy as np
import pytest

from lstm_ar import cli
from lstm_ar.config import ModelConfig, TrainConfig
from lstm_ar.data.collapse_series import trend
from lstm_ar.data.series import noisy_sine, white_noise
from lstm_ar.user import causes, study, verdict
from lstm_ar.user.io import InputError, UserSeries
from tests.conftest import compilation_cache as conftest_compilation_cache

# The article's noisy sine, its first 500 values (2.5 periods; the same length as the noise: one compile for both)
SINE = noisy_sine(standardise=False).values.astype(np.float64)[:500]
QUICK = ["--quick", "--epochs", "20", "--window", "1", "--backtests", "5", "--no-progress", "--no-plots"]


@pytest.fixture(scope="module")
def compilation_cache(tmp_path_factory):
    with conftest_compilation_cache(tmp_path_factory.mktemp("xla_cache")):
        yield


OUT = {}  # run name -> its output folder (per_seed.npz: the epoch losses)


def run(folder, values, name, *extra):
    path = folder / f"{name}.csv"
    np.savetxt(path, values, header="y", comments="", fmt="%.8f")
    code = cli.main(["study", "--csv", str(path), "--column", "y", "--name", name, "--out", str(folder / "out"),
                     *QUICK, *extra])
    assert code == 0
    out = OUT[name] = folder / "out" / name
    rows = list(csv.DictReader(open(out / "per_seed.csv")))
    assert not (out / "remedies_per_seed.csv").exists()  # every remedy is a variant of the scenario
    return json.loads((out / "summary.json").read_text()), rows, (out / "report.md").read_text()


@pytest.fixture(scope="module")
def noise_run(tmp_path_factory, compilation_cache):
    return run(tmp_path_factory.mktemp("noise"), 5 + 2 * white_noise(500, seed=3), "noise")


@pytest.fixture(scope="module")
def sine_run(tmp_path_factory, compilation_cache):
    return run(tmp_path_factory.mktemp("sine"), SINE, "sine", "--remedies", "direct")


@pytest.fixture(scope="module")
def trend_run(tmp_path_factory, compilation_cache):  # the sine's and the noise's program: 500 values, window 1
    return run(tmp_path_factory.mktemp("trend"), trend(500), "trend")


def seeds_of(rows, variant):
    return [r for r in rows if r["variant"] == variant]


def test_white_noise_verdict_says_flat_is_optimal(noise_run, capsys):
    summary, rows, report = noise_run
    lines = summary["user"]["verdict"]
    assert summary["user"]["data"]["flat_is_optimal"] is True
    assert any("a flat forecast is the best one can do here, and an LSTM whose rollout collapses to the mean is not "
               "failing" in line for line in lines)
    w1 = seeds_of(rows, "window_1")
    collapsed = sum(float(r["collapsed"]) > 0 for r in w1)
    sentence = next(line for line in lines if line.startswith("LSTM(32, tanh), window 1:"))
    assert f"collapses on {collapsed}/{len(w1)} seeds" in sentence
    assert collapsed == len(w1)  # the known answer: every seed learns the flat forecast
    assert "the training mean" in sentence and "is not a failure" in sentence
    assert not any(line.startswith("Why") for line in lines)  # nothing to explain
    assert summary["user"]["variants"]["window_1"]["causes"] == []
    assert "## Verdict" in report and lines[1] in report


def test_noisy_sine_verdict_says_window_one_collapses_and_why(sine_run):
    summary, rows, report = sine_run
    lines = summary["user"]["verdict"]
    assert summary["user"]["data"]["flat_is_optimal"] is False
    assert not any("flat forecast is the best" in line for line in lines)
    w1 = seeds_of(rows, "window_1")
    collapsed = [r for r in w1 if float(r["collapsed"]) > 0]
    assert len(collapsed) == len(w1)  # the known answer
    sentence = next(line for line in lines if line.startswith("LSTM(32, tanh), window 1:"))
    slope = float(np.median([float(r["abs_settle_slope"]) for r in collapsed]))
    settle = float(np.median([float(r["settle_value_raw"]) for r in collapsed]))
    steps = float(np.median([float(r["steps_to_collapse"]) for r in collapsed]))
    assert f"collapses on {len(w1)}/{len(w1)} seeds" in sentence
    assert "its learned map has an attracting fixed point there" in sentence and slope < 1
    assert f"(|f'| = {slope:.2f})" in sentence and f"{settle:.3g}" in sentence and f"median of {steps:.0f} step" in sentence
    why = next(line for line in lines if line.startswith("Why LSTM(32, tanh), window 1 collapses"))
    # the data's one-lag least-squares slope, from numpy, and the shrinkage formula for this series
    values = SINE[:400]
    ols = np.polyfit(values[:-1], values[1:], 1)[0]
    from lstm_ar.linear.shrinkage import one_lag_shrinkage, sine_step

    formula = float(one_lag_shrinkage(sine_step(), 0.5, 0.01))
    assert f"slope of your data is {ols:.3f}" in why and abs(ols - formula) < 0.01
    assert "regression dilution" in why and "rho = cos(w) s2 / (s2 + n2)" in why
    closest = next(line for line in lines if line.startswith("No variant beats AR("))
    assert "the closest is LSTM(32, tanh), window 1" in closest
    beats = summary["user"]["variants"]["window_1"]["beats_best_reference"]
    assert beats["k"] == 0 and f"on 0/{len(w1)} seeds" in sentence


def test_the_summary_and_report_carry_the_user_section(sine_run):
    summary, _, report = sine_run
    user = summary["user"]
    assert user["judged_by"] == "backtest_rmse" or "backtest_origins" not in summary.get("rollout", {})
    assert set(user["references"]) >= {"persistence (the last value)", "the training mean (flat)"}
    label = user["best_reference"]
    assert label.startswith("AR(") and label in report
    std = summary["standardisation"]["std"]
    assert math.isclose(user["references"][label]["rmse_raw"], user["references"][label]["rmse"] * std, rel_tol=1e-9)



def test_quick_runs_no_remedy_unless_asked(noise_run):
    summary, rows, report = noise_run
    assert list(summary["user"]["variants"]) == ["window_1"]
    assert {r["variant"] for r in rows} == {"window_1"}


# ----------------------------------------------------------------------------------------------
# Why each collapsing variant collapses (lstm_ar.user.causes), end to end


def still_falling(name, variant, rows):
    """Whether the collapsed seeds' training loss fell by FALLING or more over the last quarter of the epochs
    (per_seed.npz, numpy), and that median."""
    loss = np.load(OUT[name] / "per_seed.npz")[f"{variant}/epoch_loss"].astype(np.float64)
    k = max(1, loss.shape[1] // 4)
    collapsed = np.array([float(r["collapsed"]) > 0 for r in seeds_of(rows, variant)])
    fall = float(np.median(((loss[:, -1 - k] - loss[:, -1]) / loss[:, -1 - k])[collapsed]))
    return fall >= causes.FALLING, fall


def test_the_sine_collapses_by_regression_dilution_and_nothing_the_data_rules_out(sine_run):
    summary, rows, _ = sine_run
    user = summary["user"]
    named = user["variants"]["window_1"]["causes"]
    falling, fall = still_falling("sine", "window_1", rows)
    assert named == ["regression_dilution"] + (["under_training"] if falling else [])
    np.testing.assert_allclose(user["variants"]["window_1"]["median_loss_fall"], fall, rtol=1e-6)
    shift = user["data"]["shift"]  # the held-out half period stays in range, at a level a sine can fake
    assert shift["above"] + shift["below"] < causes.OUTSIDE_SHARE and abs(shift["heldout_shift"]) < causes.LEVEL
    # rho_end, now measured by every study: for a window-1 map the spectral radius of its 1-D Jacobian, |f'|,
    # at the rollout's last value, where a collapsed rollout has settled
    w1 = seeds_of(rows, "window_1")
    np.testing.assert_allclose([float(r["rho_end"]) for r in w1], [float(r["abs_settle_slope"]) for r in w1],
                               rtol=0.02)


def test_a_trend_leaves_the_training_range_and_shifts_its_level(trend_run):
    """A noisy linear trend (``collapse_series.trend``): 87% of the held-out values above the training maximum,
    the held-out mean 2.2 training stds above the training mean; the verdict names both, with numpy's numbers."""
    summary, rows, report = trend_run
    user = summary["user"]
    values = trend(500)
    train, held = values[:400], values[400:]
    std = train.std()
    above, held_shift = np.mean(held > train.max()), (held.mean() - train.mean()) / std
    assert above > 0.8 and held_shift > 2
    named = user["variants"]["window_1"]["causes"]  # contracting_map: explained by regression dilution
    slope = np.polyfit(train[:-1], train[1:], 1)[0]
    falling, _ = still_falling("trend", "window_1", rows)
    assert slope < 1 and any(float(r["collapsed"]) > 0 for r in seeds_of(rows, "window_1"))  # 0.993; 3/4 seeds
    assert named == ["regression_dilution", "leaves_range", "level_shift"] + (["under_training"] if falling else [])
    why = next(line for line in user["verdict"] if line.startswith("Why LSTM(32, tanh), window 1 collapses"))
    assert f"{100 * above:.0f}% above" in why and f"held-out mean is {held_shift:.2f} training stds above" in why
    assert why in report


# ----------------------------------------------------------------------------------------------
# The remedy ``direct`` end to end, and against an independent computation


def test_the_direct_head_is_judged_beside_the_variants(sine_run):
    summary, rows, report = sine_run
    user = summary["user"]
    assert list(user["variants"]) == ["window_1", "direct"]
    words = "LSTM(8, tanh), window 5, direct head over 100 steps (remedy direct)"  # quick size; H = the 100 held out
    assert user["variants"]["direct"]["words"] == words
    direct_config = summary["config"]["direct"]
    assert (direct_config["model"]["head"], direct_config["model"]["horizon"], direct_config["epochs"]) == ("direct", 100, 2)
    direct = seeds_of(rows, "direct")
    assert [int(r["seed"]) for r in direct] == [0, 1, 2, 3]
    assert set(direct[0]) >= {"collapsed", "diverged", "settle_value_raw", "steps_to_collapse", "rollout_rmse",
                              "valid_horizon", "backtest_rmse", "backtest_valid_horizon", "backtest_collapse_rate"}
    sentence = next(line for line in user["verdict"] if line.startswith(words + ":"))
    collapsed = sum(float(r["collapsed"]) > 0 for r in direct)
    assert (f"collapses on {collapsed}/4 seeds" in sentence) if collapsed else ("does not collapse on any of 4" in sentence)
    best = user["references"][user["best_reference"]]["rmse"]
    beats = sum(float(r["backtest_rmse"]) < best for r in direct)
    assert user["variants"]["direct"]["beats_best_reference"]["k"] == beats and f"on {beats}/4 seeds" in sentence
    assert f"| direct | {words} |" in report and "remedies_per_seed.csv" not in report
    assert seeds_of(rows, "window_1")  # the scenario's own variant is still there


def test_the_direct_variant_equals_make_train_rollouts_and_the_judge(sine_run):
    """Seed 1 of the direct variant in ``per_seed.csv`` recomputed alone: the same plan,
    ``make_train`` + ``rollouts`` + ``judge_rollout``, and numpy for the backtest's origins,
    contexts and mean RMSE and for the settle value in the user's units."""
    import jax
    import jax.numpy as jnp

    from lstm_ar.data.series import sequences
    from lstm_ar.dynamics.judge import judge_rollout
    from lstm_ar.dynamics.rollout import rollouts
    from lstm_ar.training import make_train

    _, rows, _ = sine_run
    plan = study.plan_study(series(SINE), 400, windows=(1,), epochs=20, remedies=("direct",), backtest_origins=5,
                            quick=True)
    recipe, sc = plan.scenario.variants["direct"], plan.scenario
    assert sc.rollout_mode("direct") == "direct"
    assert (recipe.model.head, recipe.horizon, recipe.model.window, recipe.model.units, recipe.epochs) == \
        ("direct", 100, 5, 8, 2)
    mean, std = SINE[:400].mean(), SINE[:400].std()
    z = ((SINE - mean) / std).astype(np.float32)
    data = sequences(z[:400], 5, 100)
    train = jax.jit(make_train(recipe, data))
    roll = jax.jit(lambda p, c, k: rollouts(p, c, 100, recipe, k)["point"])
    origins = (np.arange(5) * (100 - 50)) // 4  # 5 origins over 100 held-out values, 50 steps each
    row = seeds_of(rows, "direct")[1]
    key = jax.random.fold_in(jax.random.key(0), 1)  # seed 1 of root seed 0, as every variant's
    params = train(key, data).params
    ys = roll(params, jnp.asarray(z[395:400]), key)  # a window-5 model reads the last 5 values (one compile)
    m = judge_rollout(ys, jnp.asarray(z[400:]), float(z[:400].std()), float(z[:400].mean()))
    np.testing.assert_allclose(float(row["rollout_rmse"]), float(m["rollout_rmse"]), rtol=1e-4)
    np.testing.assert_allclose(float(row["valid_horizon"]), float(m["valid_horizon"]))
    settle = float(np.mean(np.asarray(ys, np.float64)[-50:])) * std + mean
    np.testing.assert_allclose(float(row["settle_value_raw"]), settle, rtol=1e-4, atol=1e-5)
    rmse = [np.sqrt(np.mean(np.square(np.asarray(roll(params, jnp.asarray(z[400 + o - 5:400 + o]), key))[:50]
                                      - z[400 + o:450 + o]))) for o in origins]
    np.testing.assert_allclose(float(row["backtest_rmse"]), np.mean(rmse), rtol=1e-4)
    assert sc.backtest().origins.tolist() == origins.tolist()


# ----------------------------------------------------------------------------------------------
# Remedies and the plan (no training)


def series(values):
    return UserSeries(values=np.asarray(values, np.float64), times=None, column="y", time_column=None, path="x.csv",
                      notes=())


def test_remedies_parse_and_apply():
    assert study.parse_remedies("default") == study.DEFAULT_REMEDIES and "direct" in study.DEFAULT_REMEDIES
    assert study.parse_remedies("none") == ()
    assert study.parse_remedies("tanh, clip_1,tanh") == ("tanh", "clip_1")
    assert study.parse_remedies("direct,tanh,direct") == ("direct", "tanh")
    with pytest.raises(InputError, match=r"unknown remedy 'cure'; valid: default, none, or a comma-separated list of "
                                         r"window_50, tanh, .*, epochs_x5, direct$"):
        study.parse_remedies("tanh,cure")
    base = TrainConfig(model=ModelConfig(units=8, window=1, activation="relu"), epochs=3)
    for name, remedy in study.REMEDIES.items():
        config, note = remedy.build(base, 400, 100)
        assert isinstance(config, TrainConfig) and config != base and note is None, name
    assert study.REMEDIES["scheduled_k40"].build(base, 400, 100).config.horizon == 40
    assert study.REMEDIES["scheduled_k40"].rollout_mode == "stateful"
    assert study.REMEDIES["direct"].rollout_mode == "direct"


def test_plan_names_variants_and_leaves_out_what_cannot_run():
    x = np.sin(np.arange(300) / 4.0) + 0.01 * np.cos(np.arange(300))
    plan = study.plan_study(series(x), 240, windows=(1, 50), activation="relu", epochs=2,
                            remedies=("window_50", "tanh", "scheduled_k40"), season=25)
    assert list(plan.scenario.variants) == ["window_1", "window_50", "tanh", "scheduled_k40"]
    assert "remedy window_50 left out: it is the same model as window_50" in plan.notes
    assert plan.scenario.rollout_modes == {"scheduled_k40": "stateful"}
    assert plan.words["tanh"] == "LSTM(32, tanh), window 1 (remedy tanh)"
    assert plan.words["scheduled_k40"] == "LSTM(32, relu), window 20, scheduled inverse sigmoid k = 40 (remedy scheduled_k40)"
    assert "seasonal_naive" in plan.references.rmse
    from lstm_ar.study.metrics import computed  # rho_end for the contracting-map cause, window-mode variants only
    assert plan.scenario.end_radius and "rho_end" in computed(plan.scenario, "window_50")
    assert "rho_end" not in computed(plan.scenario, "scheduled_k40")
    short = study.plan_study(series(x[:120]), 60, windows=(1,), remedies=("window_50", "scheduled_k40"))
    assert any("remedy scheduled_k40 left out: it needs 61 training values" in n for n in short.notes)


def test_the_direct_head_is_planned_from_the_users_model():
    """H = the rollout length (every held-out value); window max(first window, 50), reduced when the
    training part holds fewer than MIN_EXAMPLES examples, left out when not even window 1 fits."""
    x = np.sin(np.arange(300) / 4.0) + 0.01 * np.cos(np.arange(300))
    plan = study.plan_study(series(x), 240, windows=(1, 20), units=16, activation="relu", epochs=7,
                            remedies=("direct", "tanh"))
    assert list(plan.scenario.variants) == ["window_1", "window_20", "direct", "tanh"]
    r = plan.scenario.variants["direct"]
    assert (r.model.head, r.horizon, r.model.window, r.model.units, r.model.activation, r.epochs) == ("direct", 60, 50, 16,
                                                                                               "relu", 7)
    assert r.horizon == plan.scenario.rollout_steps and plan.words["direct"] == ("LSTM(16, relu), window 50, direct head "
                                                                                 "over 60 steps (remedy direct)")
    assert plan.scenario.rollout_mode("direct") == "direct"
    assert study.plan_study(series(x), 240, windows=(60,), remedies=("direct",)).scenario.variants["direct"].model.window == 60
    # 200 training values, 100 held out: 200 - 100 + 1 - 32 = 69 >= 50 fits; 150: window 19
    fits = study.plan_study(series(x[:300]), 200, windows=(1,), remedies=("direct",))
    assert fits.scenario.variants["direct"].model.window == 50 and not fits.notes
    shrunk = study.plan_study(series(x[:250]), 150, windows=(1,), remedies=("direct",))
    assert shrunk.scenario.variants["direct"].model.window == 19
    assert "remedy direct: window reduced from 50 to 19, so that the 150 training values hold 32 examples" in shrunk.notes[0]
    gone = study.plan_study(series(x[:300]), 120, windows=(1,), remedies=("direct",))
    assert "direct" not in gone.scenario.variants and "remedy direct left out: a direct head over the 180 held-out " \
                                                       "steps needs at least 212 training values" in gone.notes[0]
    big = study.direct(plan.scenario.variants["window_1"], 20_000, 5_000)  # 14,951 examples x 5,000 targets
    assert big.config is None and "more than the 67108864 it may hold in memory" in big.note
    quick = study.plan_study(series(x), 240, windows=(1,), remedies=("direct",), quick=True).scenario.variants["direct"]
    assert (quick.model.window, quick.model.units, quick.epochs, quick.horizon) == (5, 8, 2, 60)


# ----------------------------------------------------------------------------------------------
# The verdict's sentences on hand-made measures


def data(**changes):
    base = dict(n_train=800, n_heldout=200, judged="by one rollout", mean=0.0, std=1.0,
                references={"persistence (the last value)": 1.0, "the training mean (flat)": 1.0, "AR(7) by AIC": 0.2},
                best="AR(7) by AIC", mean_label="the training mean (flat)", ar_order=7, ar_radius=0.99,
                one_lag_slope=0.98, explained=0.9)
    base.update(changes)
    return verdict.DataMeasures(**base)


def variant(**changes):
    base = dict(name="window_1", words="LSTM(32, relu), window 1", n=64, collapsed=64, diverged=0,
                settle=(0.40, 0.42, 0.44), steps=12.0, slope=0.81, beats=0, rmse=0.9)
    base.update(changes)
    return verdict.VariantMeasures(**base)


def test_verdict_sentences_follow_the_measures():
    lines = verdict.verdict(data(), [variant(), variant(name="w50", words="LSTM(32, relu), window 50", collapsed=3,
                                                        beats=41, rmse=0.15, slope=None)], window_one="window_1")
    assert lines[1] == ("LSTM(32, relu), window 1: collapses on 64/64 seeds to 0.42 (your units) within a median of 12 "
                        "steps of its rollout from the end of the training part; its learned map has an attracting "
                        "fixed point there (|f'| = 0.81); beats AR(7) by AIC on 0/64 seeds (median RMSE 0.9 against 0.2).")
    assert lines[2].startswith("LSTM(32, relu), window 50: collapses on 3/64 seeds") and "on 41/64 seeds" in lines[2]
    assert lines[3].startswith("Why LSTM(32, relu), window 1 collapses: the least-squares one-lag slope of your data "
                               "is 0.980")
    assert lines[4] == "Best: LSTM(32, relu), window 50, which beats AR(7) by AIC on 41/64 seeds."


def test_verdict_flat_optimal_and_spread_settle_values():
    flat = data(references={"the training mean (flat)": 1.0, "AR(0) by AIC": 0.995}, best="AR(0) by AIC",
                explained=0.01, ar_order=0)
    lines = verdict.verdict(flat, [variant(settle=(-0.01, 0.0, 0.01))], window_one="window_1")
    assert "a flat forecast is the best one can do here" in lines[1]
    assert "(your units; the training mean)" in lines[2] and lines[2].endswith("here it is not a failure.")
    assert len(lines) == 3  # no "why", no "best" when flat is optimal
    # a reference 5% better than the mean: not flat-optimal, whatever the explained share
    assert not verdict.flat_is_optimal(flat._replace(references={"the training mean (flat)": 1.0, "AR(0) by AIC": 0.95}))
    split = verdict.verdict(data(), [variant(settle=(-1.0, 0.5, 1.0), slope=1.3, diverged=2)])
    assert "to values from -1 to 1 (your units; median 0.5) within" in split[1]
    assert "is not contracting there (|f'| = 1.30)" in split[1]
    assert "diverges on 2/64" in split[1]
    assert "does not collapse on any of 64 seeds" in verdict.verdict(data(), [variant(collapsed=0, settle=None)])[1]


def test_study_asks_for_the_recommendation_from_recipes_and_refuses_a_bad_one(tmp_path, monkeypatch, capsys):
    """``--recipes`` reaches the recommendation's plan (none by default with --quick); an unknown recipe, or
    ``--export`` without a recommendation, exits 2 before anything trains. (The recommendation itself runs end to
    end in tests/test_diagnose.py's ``fix``, through the same ``_run_recommendation``.)"""
    path = tmp_path / "s.csv"
    np.savetxt(path, SINE, header="y", comments="", fmt="%.8f")
    planned = {}
    monkeypatch.setattr(cli, "_run_user", lambda parser, args, plan, command, rplan=None: planned.update(rplan=rplan))
    base = ["study", "--csv", str(path), "--column", "y", "--out", str(tmp_path / "out"), *QUICK]
    assert cli.main(base) == 0 and planned["rplan"] is None
    assert cli.main([*base, "--recipes", "scaled_direct,scaled_direct_skip_es"]) == 0
    assert list(planned["rplan"].test.variants) == ["scaled_direct", "scaled_direct_skip_es"]
    assert planned["rplan"].validation.series.size + planned["rplan"].validation.heldout_series.size == 400
    assert cli.main([*base, "--recipes", "nope"]) == 2 and "unknown recipe 'nope'" in capsys.readouterr().err
    assert cli.main([*base, "--export", str(tmp_path / "x")]) == 2 and "--export writes the recommended" in \
        capsys.readouterr().err
