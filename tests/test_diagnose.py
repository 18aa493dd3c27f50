"""``lstm-ar diagnose`` on Keras models written here by Keras 3 on the JAX backend.

Two window-1 models with weights set by hand (one LSTM unit, gates saturated open, so
``f(x) ~ a tanh(tanh(k x)) + b``): a collapsing one (|f'| < 1 at its fixed point) and a cycling
one (``f(x) = -1.5 tanh(tanh(3 x))``: |f'(0)| = 4.5, the rollout jumps between two values and
never settles), saved as ``.keras``, legacy ``.h5`` and an ``.npz`` of ``get_weights()``. A random
window-3 model checks the rollout against Keras's own ``model(x)`` for a longer window. Models the
diagnosis cannot represent (GRU, SimpleRNN, Bidirectional, stacked LSTMs, two features, two
outputs) and broken files are refused with a message naming what was found."""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

from lstm_ar import cli  # noqa: E402
from lstm_ar.user import diagnose  # noqa: E402
from lstm_ar.user.io import InputError, UserSeries  # noqa: E402
from lstm_ar.user.model_file import keras_side, load_model  # noqa: E402

N = 300  # series length: 240 train, 60 held out


def lstm_model(window, units, weights=None, features=1, outputs=1):
    model = keras.Sequential([keras.Input((window, features)), keras.layers.LSTM(units), keras.layers.Dense(outputs)])
    if weights is not None:
        model.set_weights(weights)
    return model


def saturated(gain, out, bias):
    """One unit, input/forget/output gates saturated (i = o = 1, f = 0): h = tanh(tanh(gain x))."""
    b = np.zeros(4, np.float32)
    b[0], b[1], b[3] = 20.0, -20.0, 20.0
    return [np.array([[0, 0, gain, 0]], np.float32), np.zeros((1, 4), np.float32), b,
            np.array([[out]], np.float32), np.array([bias], np.float32)]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    with keras_side():
        return write_files(tmp_path_factory.mktemp("models"))


def write_files(d):
    collapse = lstm_model(1, 1, saturated(0.3, 0.5, 0.2))
    collapse.save(d / "collapse.keras")
    np.savez(d / "collapse.npz", *collapse.get_weights())
    cycle = lstm_model(1, 1, saturated(3.0, -1.5, 0.0))
    cycle.save(d / "cycle.h5")
    rng = np.random.default_rng(0)
    w3 = lstm_model(3, 4)
    w3.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in w3.get_weights()])
    w3.save(d / "window3.keras")
    keras.Sequential([keras.Input((5, 1)), keras.layers.GRU(4), keras.layers.Dense(1)]).save(d / "gru.keras")
    keras.Sequential([keras.Input((5, 1)), keras.layers.SimpleRNN(4), keras.layers.Dense(1)]).save(d / "rnn.keras")
    keras.Sequential([keras.Input((5, 1)), keras.layers.Bidirectional(keras.layers.LSTM(2)),
                      keras.layers.Dense(1)]).save(d / "bidi.keras")
    keras.Sequential([keras.Input((5, 1)), keras.layers.LSTM(2, return_sequences=True), keras.layers.LSTM(2),
                      keras.layers.Dense(1)]).save(d / "stacked.keras")
    lstm_model(5, 2, features=2).save(d / "two_features.keras")
    lstm_model(5, 2, outputs=2).save(d / "two_outputs.keras")
    (d / "corrupt.keras").write_bytes(b"PK\x03\x04 this is not a zip archive")
    (d / "corrupt.npz").write_bytes(b"not an archive")
    np.savez(d / "three.npz", *collapse.get_weights()[:3])
    t = np.arange(N)
    values = np.sin(2 * np.pi * t / 40) + 0.1 * np.random.default_rng(1).standard_normal(N)
    np.savetxt(d / "series.csv", values, header="y", comments="", fmt="%.8f")
    return d


def user_series(d):
    values = np.loadtxt(d / "series.csv", skiprows=1)
    return UserSeries(values=values, times=None, column="y", time_column=None, path="series.csv", notes=())


@pytest.mark.parametrize("name, kind", [("collapse.keras", "keras"), ("cycle.h5", "h5"), ("collapse.npz", "npz"),
                                        ("window3.keras", "keras")])
def test_the_rollout_is_keras_exact(files, name, kind):
    model = load_model(files / name, window=1 if kind == "npz" else None)
    assert model.kind == kind and model.keras_model is not None
    data = user_series(files)
    own = diagnose.roll_out(model, data.values[:240], data.values[240:], diagnose.scaling_of("raw", data.values[:240]),
                            origins=4 if name == "window3.keras" else 0)
    assert own.agreement is not None and own.agreement <= 1e-5
    expected = diagnose.keras_rollout(model.keras_model, data.values[:240].astype(np.float32), 5)
    np.testing.assert_allclose(own.ys[:5], expected, atol=1e-5)
    assert (own.rho_tail is not None) == (model.config.window > 1)
    assert (own.backtest is not None) == (name == "window3.keras")


def test_collapsing_and_cycling_models_are_told_apart(files):
    data = user_series(files)
    train, held = data.values[:240], data.values[240:]
    raw = diagnose.scaling_of("raw", train)
    collapsing = diagnose.roll_out(load_model(files / "collapse.keras"), train, held, raw, origins=0)
    cycling = diagnose.roll_out(load_model(files / "cycle.h5"), train, held, raw, origins=0)
    # the collapsing map: f(x) = 0.5 tanh(tanh(0.3 x)) + 0.2, fixed point x* by iteration, f'(x*) by hand
    x = 0.0
    for _ in range(200):
        x = 0.5 * np.tanh(np.tanh(0.3 * x)) + 0.2
    slope = 0.5 * 0.3 * (1 - np.tanh(0.3 * x) ** 2) * (1 - np.tanh(np.tanh(0.3 * x)) ** 2)
    assert collapsing.collapsed and collapsing.fixed_points == 1
    np.testing.assert_allclose([collapsing.settle, collapsing.slope], [x, slope], atol=1e-4)
    assert not cycling.collapsed and cycling.tail_ratio > 1
    np.testing.assert_allclose(abs(cycling.slope), 4.5, rtol=1e-3)
    lines = diagnose.diagnosis_lines(collapsing, load_model(files / "collapse.keras"), raw, 0.9, words="w")
    assert f"collapses to {x:.4g} (your units)" in lines[0]
    assert f"attracting fixed point (|f'| = {slope:.3f})" in lines[-1]
    lines = diagnose.diagnosis_lines(cycling, load_model(files / "cycle.h5"), raw, 0.9, words="w")
    assert "does not collapse" in lines[0] and "(>= 1: not attracting), so the rollout keeps moving" in lines[-1]


def test_scaling_maps_back_to_the_users_units(files):
    data = user_series(files)
    train, held = 10 + 3 * data.values[:240], 10 + 3 * data.values[240:]
    model = load_model(files / "collapse.keras")
    standard = diagnose.scaling_of("standard", train)
    own = diagnose.roll_out(model, train, held, standard, origins=0)
    raw = diagnose.roll_out(model, (train - standard.offset) / standard.factor, (held - standard.offset) / standard.factor,
                            diagnose.scaling_of("raw", train), origins=0)
    np.testing.assert_allclose(own.settle, raw.settle * standard.factor + standard.offset, rtol=1e-5)
    minmax = diagnose.scaling_of("minmax", train)
    assert np.isclose(minmax.to_model(train).min(), 0) and np.isclose(minmax.to_model(train).max(), 1)


@pytest.mark.parametrize("name, message", [
    ("gru.keras", r"layers \['GRU', 'Dense'\]; supported: a univariate LSTM\(u\) -> \[Dropout\] -> Dense\(1\)"),
    ("rnn.keras", r"layers \['SimpleRNN', 'Dense'\]; supported"),
    ("bidi.keras", r"layers \['Bidirectional', 'Dense'\]; supported"),
    ("stacked.keras", r"layers \['LSTM', 'LSTM', 'Dense'\]; supported"),
    ("two_features.keras", r"input shape is \(None, 5, 2\); supported"),
    ("two_outputs.keras", r"Dense head has units=2.*supported"),
    ("corrupt.keras", r"not a readable Keras \.keras model"),
    ("corrupt.npz", r"not a readable \.npz"),
    ("three.npz", r"expected 5 arrays .* got 3"),
    ("nope.keras", r"no such file"),
    ("model.pt", r"unknown model file kind '\.pt'; supported: \.keras"),
])
def test_unsupported_models_and_broken_files_are_refused(files, name, message):
    if name == "model.pt":
        (files / name).write_text("x")
    with pytest.raises(InputError, match=message):
        load_model(files / name, window=5 if name.endswith(".npz") else None)


def test_npz_needs_a_window_and_keras_files_keep_their_activations(files):
    with pytest.raises(InputError, match=r"does not record the model's input length: give --window"):
        load_model(files / "collapse.npz")
    with pytest.raises(InputError, match=r"the model reads windows of 1 values, but --window is 4"):
        load_model(files / "collapse.keras", window=4)
    with pytest.raises(InputError, match=r"--activation and --recurrent-activation are for \.npz weights only"):
        load_model(files / "collapse.keras", activation="relu")


@pytest.mark.parametrize("words, message", [
    (["gru.keras"], "layers ['GRU', 'Dense']; supported"),
    (["collapse.npz"], "give --window"),
    (["corrupt.keras"], "not a readable Keras .keras model"),
    (["collapse.keras", "--test-fraction", "0.1"], "too few values: 30 held out"),
])
def test_the_command_refuses_bad_models_before_any_compute(files, tmp_path, capsys, words, message):
    code = cli.main(["diagnose", str(files / words[0]), *words[1:], "--csv", str(files / "series.csv"),
                     "--out", str(tmp_path / "out"), "--quick"])
    assert code == 2
    err = capsys.readouterr().err
    assert "lstm-ar diagnose: error:" in err and message in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()


def test_the_command_without_retraining_writes_the_diagnosis(files, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["diagnose", str(files / "collapse.keras"), "--csv", str(files / "series.csv"), "--no-retrain",
                     "--out", str(out), "--name", "mine"]) == 0
    text = capsys.readouterr()
    assert "Keras check: the first 5 rollout steps match" in text.err
    report = (out / "mine" / "report.md").read_text()
    assert "## Verdict" in report and "collapses to" in report and (out / "mine" / "learned_map.png").is_file()


def test_fix_diagnoses_the_model_and_hands_back_the_forecaster_chosen_without_peeking(files, tmp_path, capsys):
    """``lstm-ar fix``: the diagnosis of the user's model, then the recommendation, written as forecaster.keras
    (a file Keras loads with no custom objects) and named in the verdict; an unknown recipe is refused first."""
    import json

    out = tmp_path / "out"
    words = ["fix", str(files / "collapse.keras"), "--csv", str(files / "series.csv"), "--out", str(out), "--name",
             "mine", "--quick", "--no-plots", "--no-progress", "--backtests", "4"]
    assert cli.main([*words, "--recipes", "plain,nope"]) == 2 and not out.exists()
    assert "unknown recipe 'nope'" in capsys.readouterr().err
    assert cli.main([*words, "--recipes", "scaled_direct"]) == 0
    summary = json.loads((out / "mine" / "diagnosis.json").read_text())
    rec = summary["user"]["recommendation"]
    assert rec["chosen"] == min(rec["validation"], key=rec["validation"].get)
    assert (out / "mine" / "forecaster.keras").is_file() and (out / "mine" / "forecaster.usage.py").is_file()
    report = (out / "mine" / "report.md").read_text()
    assert "collapses to" in report and "## The recommended forecaster (chosen without peeking)" in report
    assert "forecaster.keras: keras.saving.load_model reads it" in capsys.readouterr().out
    # the file, fed the raw values before each held-out origin, gives the held-out RMSE the report states for it
    from lstm_ar.study import backtest

    series = np.loadtxt(files / "series.csv", skiprows=1)
    held = rec["heldout_backtest"]
    with keras_side():
        model = keras.saving.load_model(out / "mine" / "forecaster.keras")
        n_train, window = held["n_train"], model.input_shape[1]
        origins = backtest.origins(series.size - n_train, held["origins"], held["horizon"])
        contexts = np.stack([series[n_train + o - window:n_train + o] for o in origins])[:, :, None]
        forecasts = np.asarray(model.predict(contexts.astype(np.float32), verbose=0), np.float64)
    truths = np.stack([series[n_train + o:n_train + o + held["horizon"]] for o in origins])
    rmse = np.mean(np.sqrt(np.mean(np.square(forecasts - truths), axis=1)))
    assert rmse == pytest.approx(rec["chosen_rmse"] * rec["std"], rel=1e-3)


def test_the_command_retrains_the_architecture(files, tmp_path, monkeypatch):
    """The retraining is the study's own path (tests/test_user_study.py runs it); here: that diagnose
    plans the same architecture with the remedies and puts its verdict first (no training)."""
    captured = {}

    def run_user(parser, args, plan, command, *, extra=None, rplan=None):
        captured.update(plan=plan, extra=extra, seeds=args.seeds, rplan=rplan)
        return {}

    monkeypatch.setattr(cli, "_run_user", run_user)
    assert cli.main(["diagnose", str(files / "cycle.h5"), "--csv", str(files / "series.csv"), "--remedies",
                     "tanh,clip_1,direct", "--seeds", "3", "--out", str(tmp_path / "out")]) == 0
    plan = captured["plan"]
    assert list(plan.scenario.variants) == ["window_1", "clip_1", "direct"] and captured["seeds"] == 3
    assert captured["rplan"] is None  # diagnose recommends only when --recipes asks (fix always does)
    assert "remedy tanh left out: it is the same model as window_1" in plan.notes
    # the direct head on the model's own architecture: its units and activations, window 50, H = the 60 held out
    r = plan.scenario.variants["direct"]
    assert (r.model.head, r.model.units, r.model.window, r.horizon) == ("direct", 1, 50, 60)
    for words, expected in ((["--quick"], ()), (["--quick", "--remedies", "direct"], ("direct",))):
        assert cli.main(["diagnose", str(files / "cycle.h5"), "--csv", str(files / "series.csv"), *words,
                         "--out", str(tmp_path / "out")]) == 0
        variants = captured["plan"].scenario.variants
        assert tuple(n for n, c in variants.items() if c.model.head == "direct") == expected, words
    assert captured["plan"].scenario.variants["direct"].model.window == 5  # --quick: test-suite size
    model = plan.scenario.variants["window_1"].model
    assert (model.units, model.window, model.activation, model.recurrent_activation) == (1, 1, "tanh", "sigmoid")
    summary = {"user": {"verdict": ["the study's sentence"]}}
    lines, own_map = captured["extra"](None, summary)
    first = summary["user"]["verdict"][0]
    assert first.startswith("Your model (LSTM(1, tanh), window 1, from") and "does not collapse" in first
    assert summary["user"]["verdict"][-1] == "the study's sentence"
    assert summary["user"]["diagnosis"]["collapsed"] is False and abs(summary["user"]["diagnosis"]["settle_slope"]) > 4
    assert lines[0] == "## Your model" and own_map[0].shape == own_map[1].shape


def test_without_retraining_the_files_are_replaced_as_a_set(files, tmp_path, monkeypatch):
    """report.md and diagnosis.json were written one by one: a failure between them left a new report.md beside
    the old diagnosis.json."""
    from lstm_ar.report import scenario

    folder = tmp_path / "out" / "mine"
    folder.mkdir(parents=True)
    (folder / "report.md").write_text("old report")
    (folder / "diagnosis.json").write_text("{}")
    words = ["diagnose", str(files / "collapse.keras"), "--csv", str(files / "series.csv"), "--no-retrain", "--out",
             str(tmp_path / "out"), "--name", "mine", "--no-plots"]

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(scenario, "write_json", disk_full)
        with pytest.raises(OSError, match="No space left"):
            cli.main(words)
    assert (folder / "report.md").read_text() == "old report" and sorted(p.name for p in folder.iterdir()) == [
        "diagnosis.json", "report.md"]  # the old set, no staging folder left (a success: the test above)
