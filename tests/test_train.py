import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lstm_ar.config import Hyper, ModelConfig, TrainConfig
from lstm_ar.data.series import Dataset, windows
from lstm_ar.model.forecaster import DropoutMasks, draw_masks, forecast_batch, init_params
from lstm_ar.training import TrainResult, fast, first_step, make_train, plain, seed_keys, train_many
from lstm_ar.training.keras_adam import keras_adam

MODEL = ModelConfig(units=4, window=2)
CONFIG = TrainConfig(model=MODEL, epochs=3, batch_size=8, hyper=Hyper(learning_rate=1e-2, output_dropout=0.2))
DATA = windows(np.sin(np.linspace(0, 6, 22)).astype(np.float32), 2)  # n = 20: batches of 8, 8, 4


@pytest.fixture(scope="module")
def train():
    return make_train(CONFIG, DATA)


@pytest.fixture(scope="module")
def vmapped(train):
    return jax.jit(jax.vmap(lambda k: train(k, DATA)))(seed_keys(0, 0, 3))


@pytest.fixture(scope="module")
def plain_vmapped():
    """The plain path over the same three seeds as ``vmapped``: the reference of several tests."""
    return jax.jit(jax.vmap(lambda k: make_train(CONFIG, DATA, fast=False)(k, DATA)))(seed_keys(0, 0, 3))


@pytest.fixture(scope="module")
def single(train):
    """One compiled single-seed run, shared by every test that runs ``train`` alone: traced once."""
    return jax.jit(chex.assert_max_traces(lambda k: train(k, DATA), n=1))


@pytest.fixture(scope="module")
def single_with_hyper(train):
    """One compiled single run with the learning rate and output dropout as (traced) inputs: one
    program for every setting, traced once however many settings and keys call it."""
    return jax.jit(chex.assert_max_traces(
        lambda k, lr, rate: train(k, DATA, CONFIG.hyper._replace(learning_rate=lr, output_dropout=rate)), n=1))


def test_entry_point_chooses_the_variant():
    window1 = TrainConfig(model=ModelConfig(units=4), epochs=1)
    data1 = windows(np.arange(10.0), 1)
    assert make_train(window1, data1).__module__ == first_step.__name__
    assert make_train(CONFIG, DATA).__module__ == fast.__name__
    assert make_train(CONFIG, DATA, fast=False).__module__ == plain.__name__
    assert make_train(window1, data1, fast=False).__module__ == plain.__name__
    from lstm_ar import make_train as top
    from lstm_ar.training.train import make_train as in_module
    assert top is make_train and in_module is make_train


def test_vmap_over_seeds_equals_per_seed_runs(single, vmapped):
    keys = seed_keys(0, 0, 3)
    for i in range(3):
        one = single(keys[i])
        chex.assert_trees_all_close(jax.tree.map(lambda a: a[i], vmapped), one, rtol=1e-5, atol=1e-6)
    # different seeds really differ
    assert not np.allclose(vmapped.params["dense"]["kernel"][0], vmapped.params["dense"]["kernel"][1])


def test_no_retrace_on_second_call(single, single_with_hyper):
    # ``single`` counts its traces (at most 1) across every test of the module that calls it
    jax.block_until_ready(single(jax.random.key(0)))
    jax.block_until_ready(single(jax.random.key(1)))
    # new hyper-parameter values are new inputs of one program, not new programs
    # (the rates at sites the config lacks stay concrete: traced there, they are refused)
    for lr in (1e-2, 3e-2):
        jax.block_until_ready(single_with_hyper(jax.random.key(2), jnp.float32(lr), jnp.float32(0.2)))


def test_loss_decreases_and_is_finite(vmapped):
    loss = np.asarray(vmapped.epoch_loss)
    assert loss.shape == (3, 3) and np.all(np.isfinite(loss))
    assert np.all(loss[:, -1] < loss[:, 0])


def test_batch_indices_cover_each_example_once_with_padding_masked():
    idx, mask = plain.batch_indices(jax.random.key(0), 20, 8, True)
    assert idx.shape == (3, 8)
    real = np.asarray(idx)[np.asarray(mask) == 1]
    np.testing.assert_array_equal(np.sort(real), np.arange(20))
    np.testing.assert_array_equal(np.asarray(mask).sum(axis=1), [8, 8, 4])
    idx2, _ = plain.batch_indices(jax.random.key(1), 20, 8, True)
    assert not np.array_equal(idx, idx2)  # reshuffled with a new key


def test_masked_mse_ignores_padding():
    pred, y = jnp.asarray([[1.0], [2.0], [100.0]]), jnp.asarray([[0.0], [0.0], [0.0]])
    np.testing.assert_allclose(plain.masked_mse(pred, y, jnp.asarray([1.0, 1.0, 0.0])), 2.5)


def test_scan_equals_a_python_loop_over_the_documented_keys(plain_vmapped):
    # Every epoch of the plain path (seed 0 of the shared reference: shuffled, with output dropout)
    # against a Python loop that follows the keys of plain's docstring step by step; the partial
    # last batch takes a step on its own mean loss, as Keras does.
    config = CONFIG
    result = jax.tree.map(lambda a: a[0], plain_vmapped)
    key = seed_keys(0, 0, 1)[0]
    init_key, shuffle_key, dropout_key = jax.random.split(key, 3)
    params = init_params(init_key, MODEL)
    tx = keras_adam(config.hyper.learning_rate)
    state = tx.init(params)

    @jax.jit
    def step(params, state, x, y, example_keys):
        def loss(p):
            masks = jax.vmap(lambda k: draw_masks(k, config.hyper, 4, sites=("output",)))(example_keys)
            return jnp.mean(jnp.square(forecast_batch(p, x, MODEL, masks) - y))
        value, grads = jax.value_and_grad(loss)(params)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state, value

    epoch_loss = []
    for e in range(config.epochs):
        order = np.asarray(jax.random.permutation(jax.random.fold_in(shuffle_key, e), 20))
        epoch_key = jax.random.fold_in(dropout_key, e)
        total = 0.0
        for b, (lo, hi) in enumerate(((0, 8), (8, 16), (16, 20))):
            before_partial = params
            idx = order[lo:hi]
            # a batch always draws 8 example keys; the partial batch's 4 real examples use the first 4
            example_keys = jax.random.split(jax.random.fold_in(epoch_key, b), 8)[:hi - lo]
            params, state, value = step(params, state, jnp.asarray(DATA.x[idx]), jnp.asarray(DATA.y[idx]), example_keys)
            total += float(value) * (hi - lo)
        epoch_loss.append(total / 20)
    chex.assert_trees_all_close(result.params, params, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.epoch_loss, epoch_loss, rtol=1e-5)
    # Dropping the partial batch would give different parameters.
    assert not np.allclose(before_partial["dense"]["bias"], result.params["dense"]["bias"])


def _vmap_hyper(train, hyper: Hyper, axes: Hyper, data=DATA):
    """``jax.vmap(train, in_axes=(None, axes))`` with the unmapped fields closed over (concrete):
    under ``jit`` a rate passed as an argument is traced even when it is not mapped."""
    mapped = {name: getattr(hyper, name) for name in Hyper._fields if getattr(axes, name) is not None}
    return lambda key: jax.vmap(lambda stack: train(key, data, hyper._replace(**stack)))(mapped)


def test_hyper_can_be_vmapped(train, single_with_hyper):
    lrs, rates = [1e-4, 1e-2], [0.0, 0.3]
    hyper = CONFIG.hyper._replace(learning_rate=jnp.asarray(lrs), output_dropout=jnp.asarray(rates))
    key = jax.random.key(0)
    out = jax.jit(_vmap_hyper(train, hyper, Hyper(0, None, None, 0, None, None, None)))(key)
    assert out.epoch_loss.shape == (2, 3)
    for i, (lr, rate) in enumerate(zip(lrs, rates, strict=True)):
        one = single_with_hyper(key, jnp.float32(lr), jnp.float32(rate))
        chex.assert_trees_all_close(jax.tree.map(lambda a, i=i: a[i], out), one, rtol=1e-5, atol=1e-7)
    assert out.epoch_loss[1, -1] < out.epoch_loss[0, -1]  # 100x the learning rate learns faster


def test_traced_hyper_out_of_range_trains_to_nan_not_silently(train, single_with_hyper, single):
    """jit(lambda lr: train(key, hyper(lr)))(-1.0) trained (loss 3.6 -> 95) without a word; so did a dropout of 1.5
    and a vmapped learning rate of -5: now each such run is NaN, ``hyper_errors`` marks which parameter, and
    ``check_result`` (on the host) names it; valid values keep their bits."""
    from lstm_ar.training import check_result

    key = jax.random.key(0)
    lr_bit, rate_bit = (1 << Hyper._fields.index(name) for name in ("learning_rate", "output_dropout"))
    for lr, rate, bits, named in ((-1.0, 0.2, lr_bit, "learning_rate must be finite and > 0"),
                                  (1e-2, 1.5, rate_bit, r"output_dropout must be in \[0, 1\)"),
                                  (np.inf, -0.1, lr_bit | rate_bit, "learning_rate .*Hyper.output_dropout")):
        out = single_with_hyper(key, jnp.float32(lr), jnp.float32(rate))
        assert np.isnan(out.epoch_loss).all() and all(np.isnan(p).all() for p in jax.tree.leaves(out.params)), (lr, rate)
        assert int(out.hyper_errors) == bits
        with pytest.raises(ValueError, match=rf"Hyper\.{named}.* but was not in 1 of 1 runs"):
            check_result(out)
    good = single_with_hyper(key, jnp.float32(1e-2), jnp.float32(0.2))
    assert int(good.hyper_errors) == 0 and check_result(good) is good and single(key).hyper_errors is None
    jax.tree.map(np.testing.assert_array_equal, good._replace(hyper_errors=None), single(key))
    lrs = jnp.asarray([1e-2, -5.0])
    out = jax.jit(jax.vmap(lambda lr: train(key, DATA, CONFIG.hyper._replace(learning_rate=lr))))(lrs)
    assert np.isfinite(out.epoch_loss[0]).all() and np.isnan(out.epoch_loss[1]).all()
    with pytest.raises(ValueError, match=r"Hyper\.learning_rate must be finite and > 0, but was not in 1 of 2 runs "
                                         r"\(runs at index \[\[1\]\]\)"):
        check_result(out)


def test_run_seeds_refuses_a_hyper_parameter_it_traced_out_of_range(train):
    """A learning rate passed to ``run_seeds`` as an input (traced: one program for every value) came back as a
    NaN sweep, indistinguishable from a diverged one; now the sweep raises, naming it."""
    from lstm_ar.runtime.sweep import run_seeds

    per_seed = lambda key, lr: train(key, DATA, CONFIG.hyper._replace(learning_rate=lr))
    with pytest.raises(ValueError, match=r"Hyper\.learning_rate must be finite and > 0, but was not in 2 of 2 runs"):
        run_seeds(per_seed, 2, lanes=1, progress=False, inputs=np.float32(-1.0))


def test_train_many_equals_single_runs_per_key_and_setting(single_with_hyper, vmapped):
    keys = seed_keys(0, 0, 2)
    rates = np.asarray([0.0, 0.3], np.float32)
    out = train_many(CONFIG, DATA, keys, CONFIG.hyper._replace(output_dropout=rates))
    assert out.epoch_loss.shape == (2, 2, 3)
    lr = jnp.float32(CONFIG.hyper.learning_rate)
    for k in range(2):
        for j, rate in enumerate(rates):
            one = single_with_hyper(keys[k], lr, jnp.float32(rate))
            chex.assert_trees_all_close(jax.tree.map(lambda a, k=k, j=j: a[k, j], out), one, rtol=1e-5, atol=1e-7)
    # no stack: one run per key, as jax.vmap(train) over the keys, with config.hyper by default
    per_key = train_many(CONFIG, DATA, keys)
    assert per_key.epoch_loss.shape == (2, 3)
    # (seed_keys(0, 0, 2) are the first two of the fixture's seed_keys(0, 0, 3))
    chex.assert_trees_all_close(per_key, jax.tree.map(lambda a: a[:2], vmapped), rtol=1e-6, atol=1e-7)
    import lstm_ar.training
    assert "train_many" in lstm_ar.training.__all__


def test_train_many_checks_the_stack_before_compiling():
    keys = seed_keys(0, 0, 2)
    no_sites = TrainConfig(model=MODEL, epochs=1, batch_size=8)
    with pytest.raises(ValueError, match=r"learning_rate must be finite and > 0.*bad at \[\[1\]\]"):
        train_many(CONFIG, DATA, keys, CONFIG.hyper._replace(learning_rate=np.asarray([1e-3, -1.0])))
    with pytest.raises(ValueError, match="output_dropout is .* but the dropout site 'output'"):
        train_many(no_sites, DATA, keys, Hyper(output_dropout=np.asarray([0.0, 0.9])))
    with pytest.raises(ValueError, match="one nonzero length"):
        train_many(CONFIG, DATA, keys, CONFIG.hyper._replace(learning_rate=np.asarray([1e-3, 1e-2]),
                                                             output_dropout=np.asarray([0.1, 0.2, 0.3])))
    with pytest.raises(ValueError, match="numbers or 1-D arrays"):
        train_many(CONFIG, DATA, keys, CONFIG.hyper._replace(learning_rate=np.full((2, 2), 1e-3)))
    with pytest.raises(TypeError, match="keys must be"):
        train_many(CONFIG, DATA, np.zeros((2, 2), np.uint32))
    with pytest.raises(TypeError, match="must be a Hyper"):
        train_many(CONFIG, DATA, keys, {"learning_rate": 1e-3})


def test_traced_rate_at_a_missing_site_is_refused_at_trace_time():
    # With no dropout site a vmapped output_dropout of [0, 0.9] would train bit-identical members.
    no_sites = TrainConfig(model=MODEL, epochs=1, batch_size=8)
    train = make_train(no_sites, DATA)
    with pytest.raises(ValueError, match="output_dropout is traced .* 'output' is not among dropout_sites"):
        jax.vmap(train, in_axes=(None, None, Hyper(None, None, None, 0, None, None, None)))(
            jax.random.key(0), DATA, Hyper(output_dropout=jnp.asarray([0.0, 0.9])))
    with pytest.raises(ValueError, match="dropout is traced"):
        jax.jit(train)(jax.random.key(0), DATA, Hyper())  # every leaf traced, no site configured
    # traced values at configured sites are fine; concrete zeros elsewhere too
    jax.eval_shape(lambda k, r: train(k, DATA, Hyper(learning_rate=r)), jax.random.key(0), jnp.float32(1e-2))


def test_a_stacked_hyper_without_vmap_is_a_clear_error(train):
    with pytest.raises(ValueError, match=r"Hyper.learning_rate must be a single number \(0-d\), got an array of "
                                         r"shape \(2,\); .*train_many.*jax.vmap\(train, in_axes"):
        train(jax.random.key(0), DATA, Hyper(learning_rate=np.array([1e-3, 1e-2])))
    with pytest.raises(ValueError, match=r"TrainConfig.hyper.weight_decay must be a single number .*shape \(1,\)"):
        TrainConfig(hyper=Hyper(weight_decay=np.array([0.1])))
    assert TrainConfig(hyper=Hyper(learning_rate=np.float32(1e-2))).hyper.learning_rate == np.float32(1e-2)


def test_make_train_checks_the_data_once(monkeypatch):
    from lstm_ar.training import train as train_module
    from lstm_ar.training import validation
    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return validation.check_dataset(*args, **kwargs)

    for module in (train_module, plain, fast, first_step):
        if hasattr(module, "check_dataset"):
            monkeypatch.setattr(module, "check_dataset", counted)
    window1 = TrainConfig(model=ModelConfig(units=4), epochs=1)
    for config, data, use_fast in ((CONFIG, DATA, True), (CONFIG, DATA, False), (window1, windows(np.arange(10.0), 1), True)):
        calls.clear()
        make_train(config, data, fast=use_fast)
        assert len(calls) == 1


# --- bad input: a clear error before any compute ---

BAD_HYPERS = [dict(dropout=-0.1), dict(output_dropout=1.0), dict(recurrent_dropout=1.5), dict(learning_rate=0.0),
              dict(learning_rate=np.inf), dict(learning_rate=np.nan), dict(learning_rate=-1e-3),
              dict(weight_decay=np.inf), dict(weight_decay=-0.1), dict(global_clipnorm=0.0),
              dict(global_clipnorm=np.nan), dict(dropout=np.nan)]


@pytest.mark.parametrize("bad", BAD_HYPERS, ids=lambda b: "-".join(f"{k}={v}" for k, v in b.items()))
def test_bad_hyper_is_a_clear_error(bad):
    (name, value), = bad.items()
    with pytest.raises(ValueError, match=f"Hyper.{name} must be"):
        TrainConfig(hyper=Hyper(**bad), dropout_sites=("input", "output", "recurrent"))
    train = make_train(dataclasses.replace(CONFIG, dropout_sites=("input", "output", "recurrent")), DATA)
    with pytest.raises(ValueError, match=f"Hyper.{name} must be"):
        train(jax.random.key(0), DATA, Hyper(**bad))


def test_stacked_hyper_arrays_are_validated_element_by_element():
    from lstm_ar.config import validate_hyper
    good = Hyper(learning_rate=np.asarray([1e-3, 1e-2]), output_dropout=np.asarray([0.0, 0.2]))
    validate_hyper(good)
    with pytest.raises(ValueError, match=r"learning_rate must be finite and > 0.*bad at \[\[1\]\]"):
        validate_hyper(good._replace(learning_rate=np.asarray([1e-3, -1e-3])))
    # concrete arrays given to train are checked at the call, before anything runs
    with pytest.raises(ValueError, match="learning_rate"):
        make_train(CONFIG, DATA)(jax.random.key(0), DATA, good._replace(learning_rate=np.asarray([1e-3, -1e-3])))
    with pytest.raises(TypeError, match="real number"):
        validate_hyper(good._replace(weight_decay=np.asarray([1j, 0.0])))
    with pytest.raises(TypeError, match="must be a Hyper"):
        validate_hyper({"learning_rate": 1e-3})


@pytest.mark.parametrize("field,value", [("beta_1", 1.5), ("beta_1", -0.1), ("beta_2", 1.0), ("epsilon", -1.0),
                                         ("epsilon", 0.0), ("epsilon", np.inf), ("epsilon", np.nan)])
def test_bad_adam_constants_are_clear_errors(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


def test_dropout_sites_are_static_and_checked():
    assert TrainConfig().dropout_sites == ()
    assert TrainConfig(hyper=Hyper(output_dropout=0.2, dropout=0.1)).dropout_sites == ("input", "output")
    assert TrainConfig(dropout_sites=["recurrent", "output", "output"]).dropout_sites == ("output", "recurrent")
    with pytest.raises(ValueError, match="unknown dropout site.*valid: input, recurrent, output"):
        TrainConfig(dropout_sites=("outputs",))
    with pytest.raises(TypeError, match="tuple of site names"):
        TrainConfig(dropout_sites="output")
    with pytest.raises(ValueError, match="'output' is not among dropout_sites"):
        TrainConfig(hyper=Hyper(output_dropout=0.2), dropout_sites=("input",))
    # a concretely nonzero rate at a site the program does not have is refused at the call
    train = make_train(TrainConfig(model=MODEL, epochs=3, batch_size=8), DATA)
    with pytest.raises(ValueError, match="output_dropout is 0.2 but the dropout site 'output'"):
        train(jax.random.key(0), DATA, Hyper(output_dropout=0.2))
    with pytest.raises(ValueError, match="recurrent_dropout"):
        train(jax.random.key(0), DATA, Hyper(recurrent_dropout=np.asarray([0.0, 0.1])))


def _count_primitive(jaxpr, name: str) -> int:
    """Equations of primitive ``name`` in a jaxpr and every sub-jaxpr (scan, cond, jit bodies)."""
    count = 0
    for eqn in jaxpr.eqns:
        count += eqn.primitive.name == name
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                if hasattr(sub, "eqns") or hasattr(sub, "jaxpr"):
                    count += _count_primitive(getattr(sub, "jaxpr", sub), name)
    return count


@pytest.mark.parametrize("window", [1, 2])
def test_the_masks_drawn_come_from_the_config_not_from_tracers(window):
    # The same random hashes (unrolled Threefry: its shifts) whether the rates are the config's
    # numbers or traced arrays: the dropout sites are static configuration.
    config = TrainConfig(model=ModelConfig(units=4, window=window), epochs=1, batch_size=8,
                         hyper=Hyper(output_dropout=0.2))
    data = windows(np.sin(np.linspace(0, 6, 12)).astype(np.float32), window)
    train = make_train(config, data)
    key = jax.random.key(0)
    concrete = jax.make_jaxpr(lambda k: train(k, data))(key)
    traced = jax.make_jaxpr(lambda k, rate: train(k, data, config.hyper._replace(output_dropout=rate)))(
        key, jnp.float32(0.2))
    assert _count_primitive(concrete.jaxpr, "shift_left") == _count_primitive(traced.jaxpr, "shift_left") > 0


def test_traced_and_concrete_rates_compile_the_same_program(window1_runs):
    # Which masks are drawn comes from the config, not from whether a rate is a tracer: the
    # same hyper-parameters passed as traced arrays give the same bits as the config's numbers
    # (the concrete run: the fast result of the window1_runs fixture, same config, data and keys).
    config = WINDOW1["relu_output_dropout"]
    train = make_train(config, DATA1)
    concrete = window1_runs["relu_output_dropout"][0]
    traced = jax.jit(lambda keys, lr, rate: jax.vmap(
        lambda k: train(k, DATA1, config.hyper._replace(learning_rate=lr, output_dropout=rate)))(keys))(
        seed_keys(0, 0, 2), jnp.float32(1e-2), jnp.float32(0.2))
    assert not np.asarray(traced.hyper_errors).any() and concrete.hyper_errors is None  # traced: the range marks
    jax.tree.map(np.testing.assert_array_equal, traced._replace(hyper_errors=None), concrete)


@pytest.mark.parametrize("x,match", [
    (np.zeros((0, 2, 1), np.float32), "empty"),
    (np.ones((20, 2, 1), np.complex64), "complex"),
    (np.ones((20, 2, 1), bool), "dtype bool"),
])
def test_bad_dataset_values_are_clear_errors(x, match):
    y = np.zeros((x.shape[0], 1), np.float32)
    for fast_path in (True, False):
        with pytest.raises(ValueError, match=match):
            make_train(CONFIG, Dataset(x, y), fast=fast_path)


def test_non_finite_data_is_refused_with_counts_and_first_index():
    x = DATA.x.copy()
    x[3, 1, 0], x[7, 0, 0], x[9, 0, 0] = np.nan, np.inf, -np.inf
    with pytest.raises(ValueError, match=r"data.x has 1 NaN and 2 inf values.*first at index \(3, 1, 0\)"):
        make_train(CONFIG, Dataset(x, DATA.y))
    y = DATA.y.astype(np.float64)
    y[5, 0] = 1e39  # finite in float64, inf in float32
    with pytest.raises(ValueError, match=r"data.y has 0 NaN and 1 inf values \(after conversion to float32\)"):
        make_train(CONFIG, Dataset(DATA.x, y))
    # integers are real numbers: accepted and converted
    make_train(CONFIG, Dataset(np.round(DATA.x * 10).astype(np.int32), DATA.y))


def test_bad_config_and_data_shapes_are_clear_errors():
    with pytest.raises(ValueError, match="units"):
        ModelConfig(units=0)
    with pytest.raises(ValueError, match="unknown activation"):
        ModelConfig(activation="sigmoidal")
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match=r"\[batch, 2, 1\]"):
        make_train(CONFIG, windows(np.arange(10.0), 3))
    with pytest.raises(ValueError, match="targets"):
        make_train(CONFIG, Dataset(DATA.x, DATA.y[:, 0]))


def test_seed_keys_do_not_depend_on_how_many_run():
    a = jax.random.key_data(seed_keys(0, 0, 10))
    b = jax.random.key_data(seed_keys(0, 5, 7))
    np.testing.assert_array_equal(a[5:7], b)


@pytest.mark.parametrize("root", [2 ** 32, -1, 2 ** 40])
def test_seed_keys_refuse_roots_that_would_wrap(root):
    with pytest.raises(ValueError, match=r"root seed must be an int (>= 0|<= 4,294,967,295)"):
        seed_keys(root, 0, 2)


def test_seed_keys_refuse_bad_ranges_and_types():
    np.testing.assert_array_equal(jax.random.key_data(seed_keys(2 ** 32 - 1, 0, 1)),
                                  jax.random.key_data(jax.random.fold_in(jax.random.key(2 ** 32 - 1), 0))[None])
    with pytest.raises(ValueError, match="start"):
        seed_keys(0, -1, 2)
    with pytest.raises(ValueError, match="stop"):
        seed_keys(0, 3, 2)
    with pytest.raises(TypeError, match="root seed must be an int"):
        seed_keys(1.5, 0, 2)
    with pytest.raises(TypeError, match="root seed must be an int"):
        seed_keys(True, 0, 2)


def test_trained_model_forecasts_better_than_init(vmapped):
    params0 = jax.tree.map(lambda a: a[0], vmapped.params)
    pred = forecast_batch(params0, jnp.asarray(DATA.x), MODEL)
    assert float(jnp.mean((pred - DATA.y) ** 2)) < float(np.var(DATA.y))


# --- each fast variant against the plain path (make_train(..., fast=False)) ---

DATA1 = windows(np.sin(np.linspace(0, 6, 21)).astype(np.float32), 1)  # window 1: first_step layout
WINDOW1 = {
    "relu_output_dropout": TrainConfig(model=ModelConfig(units=4, activation="relu"), epochs=2, batch_size=8,
                                       hyper=Hyper(learning_rate=1e-2, output_dropout=0.2)),
    "sigmoid_every_option": TrainConfig(
        model=ModelConfig(units=4, activation="sigmoid"), epochs=2, batch_size=8,
        hyper=Hyper(learning_rate=1e-2, dropout=0.3, recurrent_dropout=0.2, output_dropout=0.1,
                    weight_decay=0.05, global_clipnorm=0.5)),
}


def _fast_and_plain(config, data, keys, hyper=None, axes=None) -> tuple[TrainResult, TrainResult]:
    if hyper is None:
        run = lambda f: jax.jit(jax.vmap(lambda k: make_train(config, data, fast=f)(k, data)))(keys)  # noqa: E731
    else:
        run = lambda f: jax.jit(_vmap_hyper(make_train(config, data, fast=f), hyper, axes, data))(keys)  # noqa: E731
    return run(True), run(False)


@pytest.fixture(scope="module")
def window1_runs():
    """Fast and plain results of each WINDOW1 config over two seeds, computed once per module."""
    keys = seed_keys(0, 0, 2)
    return {name: _fast_and_plain(config, DATA1, keys) for name, config in WINDOW1.items()}


@pytest.mark.parametrize("name", list(WINDOW1))
def test_window1_layout_equals_plain_within_float32_rounding(name, window1_runs):
    config = WINDOW1[name]
    keys = seed_keys(0, 0, 2)
    fast_result, ref = window1_runs[name]
    # same shuffles and masks (else these would differ at O(1e-2)); only rounding differs
    chex.assert_trees_all_close(fast_result, ref, rtol=1e-5, atol=1e-6)
    # parameters with an always-zero gradient: without weight decay left exactly as initialised
    # (as Adam leaves them: bit-identical); with it, decayed as Adam decays them (to rounding:
    # XLA may fuse p - p * wd * lr into one multiply-add in one program and not the other)
    u = config.model.units
    init = jax.vmap(lambda k: init_params(jax.random.split(k, 3)[0], config.model))(keys)
    for got, want, start in ((fast_result.params["lstm"]["recurrent_kernel"], ref.params["lstm"]["recurrent_kernel"],
                              init["lstm"]["recurrent_kernel"]),
                             (fast_result.params["lstm"]["bias"][:, u:2 * u], ref.params["lstm"]["bias"][:, u:2 * u],
                              init["lstm"]["bias"][:, u:2 * u])):
        if config.hyper.weight_decay == 0.0:
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(got, start)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
            assert not np.allclose(got, start, rtol=1e-4)


def test_window1_layout_with_vmapped_hyper_equals_plain():
    # traced rates: the masks at the configured site drawn, the frozen part decayed per member
    config = WINDOW1["relu_output_dropout"]
    hyper = Hyper(learning_rate=jnp.asarray([1e-2, 3e-2]), output_dropout=jnp.asarray([0.0, 0.3]),
                  weight_decay=jnp.asarray([0.0, 0.1]))
    axes = Hyper(0, None, None, 0, 0, None, None)
    fast_result, ref = _fast_and_plain(config, DATA1, jax.random.key(4), hyper, axes)
    chex.assert_trees_all_close(fast_result, ref, rtol=1e-5, atol=1e-6)
    kernel = fast_result.params["lstm"]["recurrent_kernel"]
    np.testing.assert_array_equal(kernel[0], ref.params["lstm"]["recurrent_kernel"][0])  # no decay: exact
    assert not np.allclose(kernel[1], kernel[0], rtol=1e-4)  # decayed


def test_generic_fast_path_equals_plain(vmapped, plain_vmapped):
    # window 2 (no window-1 layout): key-sort shuffles, unrolled threefry, masks at the output site
    chex.assert_trees_all_close(vmapped, plain_vmapped, rtol=1e-5, atol=1e-6)


def test_generic_fast_path_equals_plain_for_a_regime_with_every_dropout_site():
    from lstm_ar.data.series import sequences
    config = TrainConfig(model=ModelConfig(units=3, window=3), epochs=1, batch_size=8, regime="scheduled_linear",
                         horizon=3, hyper=Hyper(learning_rate=1e-2, dropout=0.2, recurrent_dropout=0.1,
                                                output_dropout=0.1))
    data = sequences(np.sin(np.linspace(0, 6, 25)), 3, 3)
    fast_result, ref = _fast_and_plain(config, data, seed_keys(1, 0, 1))
    chex.assert_trees_all_close(fast_result, ref, rtol=1e-5, atol=1e-6)


def test_fast_random_numbers_are_the_plain_ones_bit_for_bit():
    key = jax.random.key(9)
    jax.tree.map(np.testing.assert_array_equal, jax.jit(fast.batch_indices, static_argnums=(1, 2, 3))(key, 20, 8, True),
                 plain.batch_indices(key, 20, 8, True))
    every = Hyper(dropout=0.3, recurrent_dropout=0.2, output_dropout=0.4)
    configs = (TrainConfig(model=MODEL, hyper=every), TrainConfig(model=MODEL, hyper=every, regime="free_running",
                                                                   horizon=2))
    # one compiled program draws both paths' numbers for both configs
    drawn = jax.jit(lambda k: [(fast.draw_batch(k, 8, c, every), plain.draw_batch(k, 8, c, every)) for c in configs])(key)
    for got, want in drawn:
        jax.tree.map(np.testing.assert_array_equal, got[0], want[0])
        if want[1] is not None:
            np.testing.assert_array_equal(jax.random.key_data(got[1]), jax.random.key_data(want[1]))


def test_fewer_sites_change_no_bits_of_the_others():
    key, every = jax.random.key(2), Hyper(dropout=0.3, recurrent_dropout=0.2, output_dropout=0.4)
    all_sites = draw_masks(key, every, 6, sites=("input", "output", "recurrent"))
    output_only = draw_masks(key, every, 6, sites=("output",))
    assert output_only.input is None and output_only.recurrent is None
    np.testing.assert_array_equal(output_only.output, all_sites.output)
    np.testing.assert_array_equal(draw_masks(key, every, 6, sites=("recurrent",)).recurrent, all_sites.recurrent)
    assert draw_masks(key, every, 6, sites=()) == DropoutMasks(None, None, None)


def test_early_stopping_keeps_the_epoch_with_the_lowest_validation_loss():
    """``validation_tail``: the last windows are held out; the params kept are those a run stopped after the best
    epoch ends with (the same keys), and the validation loss is theirs on the tail; the remedy refuses DaD."""
    t = np.arange(80, dtype=np.float32)
    data = windows(np.sin(t / 4) + 0.3 * np.cos(t), 4)
    config = TrainConfig(model=ModelConfig(units=4, window=4), epochs=4, validation_tail=0.25, shuffle=True,
                         hyper=Hyper(learning_rate=1.0))  # large steps: the validation loss jumps
    assert config.validation_windows(76) == 19 and "early stopping" in config.remedies
    result = make_train(config, data)(jax.random.key(0), data)
    assert result.validation_loss.shape == (4,) and result.epoch_loss.shape == (4,)
    best = int(np.argmin(np.asarray(result.validation_loss)))
    assert best < 3, "a run whose last epoch is best would not show that the best is kept"
    shorter = make_train(dataclasses.replace(config, epochs=best + 1), data)(jax.random.key(0), data)
    chex.assert_trees_all_close(result.params, shorter.params)
    held = forecast_batch(result.params, jnp.asarray(data.x[57:]), config.model)
    np.testing.assert_allclose(np.mean(np.square(held - data.y[57:])), result.validation_loss[best], rtol=1e-5)
    with pytest.raises(ValueError, match="use one of the two"):
        dataclasses.replace(config, dad_rounds=1)
    with pytest.raises(ValueError, match="validation_tail must be"):
        dataclasses.replace(config, validation_tail=0.5)
