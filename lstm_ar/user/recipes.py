"""Recipe remedies in ``lstm-ar study``: remedies whose training data depends on the horizon judged
(the direct head).

The remedies of ``lstm_ar.user.study.REMEDIES`` change the study's ``TrainConfig`` and run inside
its ``Scenario``. The cure the project measured, a *direct multi-horizon head* (LSTM -> Dense(H):
the model reads a window and outputs the next H values at once, nothing is fed back), is a
``TrainConfig`` too (``ModelConfig(head="direct", horizon=H)``), but its window and H follow from
the training length and the horizon judged, and it is judged by ``lstm_ar.dynamics.rollout.rollouts``:

* ``RECIPE_REMEDIES``: name -> ``RecipeRemedy(words, build)``; ``build(base, n_train, horizon)``
  turns the study's base config (the user's units, activations, epochs and first window), the
  training length and the horizon judged into a ``TrainConfig``, or says why it cannot run.
  ``direct``: window ``max(first window, DIRECT_WINDOW)``, reduced (with a note) when the training
  part holds fewer than ``MIN_EXAMPLES`` (window, next H values) examples; H = the scenario's
  rollout length (every held-out value: the longest horizon the study judges).
* ``plan_recipes``: the chosen recipe remedies for a study, checked (a remedy that cannot train
  on the training part is left out with a note, as the ``TrainConfig`` remedies are); ``quick``
  shrinks them as ``lstm_ar.study.pairs.quick`` does (window <= 5, 8 units, 2 epochs; the
  direct head keeps its horizon).
* ``run_recipes``: each recipe trained by ``lstm_ar.training.make_train`` over the study's
  seeds (``lstm_ar.runtime.sweep.run_seeds``: seed i's key is the scenario variants' key) on the
  standardised training part (``scenario.series``), and judged exactly where the scenario's
  variants are, by the one judge (``lstm_ar.dynamics.judge``): the rollout from the end of the
  training part (``lstm_ar.dynamics.rollout.rollouts``) against ``scenario.truth`` with the
  scenario's scale and center and, with a backtest, from the same origins over the same horizon
  (``Backtest.contexts``, ``judge_origins``). The per-seed metrics carry the scenario variants'
  names and units and go through the same host step (``lstm_ar.study.experiment``'s variant
  result: ``diverged`` also on a non-finite final loss, ``final_train_loss``, and
  ``scenario.derive``, which adds ``settle_value_raw`` and ``rollout_rmse_raw`` in the user's
  units), so ``lstm_ar.user.verdict.measure_variant`` reads them unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

from lstm_ar.config import TrainConfig
from lstm_ar.dynamics.judge import judge_origins, judge_rollout
from lstm_ar.dynamics.rollout import rollouts
from lstm_ar.runtime.sweep import run_seeds
from lstm_ar.study.experiment import VariantResult, variant_result
from lstm_ar.study.metrics import BACKTEST
from lstm_ar.study.pairs import EVAL_STREAM, PLAIN, Candidate, cache_layout, quick, training_program

DIRECT_WINDOW = 50  # the cure search's window (committed cure_64x16: valid for 200 steps on 1,024/1,024 pairs)
MIN_EXAMPLES = 32  # a recipe needs at least one full batch of (window, next H values) training examples
MAX_TARGETS = 2 ** 26  # training targets (examples x H) a direct head may hold: 256 MiB of float32


class RecipeBuild(NamedTuple):
    """What ``RecipeRemedy.build`` gives: the config (None: it cannot train here) and a note for the user (or None)."""

    recipe: TrainConfig | None
    note: str | None = None


class RecipeRemedy(NamedTuple):
    """One recipe remedy: ``words`` (what it changes) and ``build(base, n_train, horizon) -> RecipeBuild``."""

    words: str
    build: Callable[[TrainConfig, int, int], RecipeBuild]


class RecipeVariant(NamedTuple):
    """A planned recipe remedy: its name, the recipe and how the report calls it."""

    name: str
    recipe: TrainConfig
    words: str


def examples(n_train: int, window: int, horizon: int) -> int:
    """Training examples of (``window`` values, the next ``horizon``) in ``n_train`` values
    (``lstm_ar.data.series.example_indices``).

    Args:
        n_train: training values.
        window: values read.
        horizon: values predicted.

    Returns:
        ``n_train - window - horizon + 1`` (may be <= 0).
    """
    return n_train - window - horizon + 1


def direct(base: TrainConfig, n_train: int, horizon: int) -> RecipeBuild:
    """The direct head: LSTM(the user's units and activations) over ``max(first window, 50)``
    values -> Dense(horizon), the user's epochs, Keras's Adam (see the module docstring).

    Args:
        base: the study's base config (first window).
        n_train: training values.
        horizon: H, the longest horizon the study judges.

    Returns:
        ``RecipeBuild``: the recipe, with a note when its window had to shrink; no recipe when
        not even a window of 1 leaves ``MIN_EXAMPLES`` examples, or when the training targets
        (examples x H) would exceed ``MAX_TARGETS``.
    """
    wanted = max(base.model.window, DIRECT_WINDOW)
    room = n_train - horizon + 1 - MIN_EXAMPLES  # the longest window with MIN_EXAMPLES examples
    if room < 1:
        return RecipeBuild(None, f"remedy direct left out: a direct head over the {horizon} held-out steps needs at least "
                                 f"{horizon + MIN_EXAMPLES} training values ({MIN_EXAMPLES} examples of a window and the "
                                 f"next {horizon} values), the training part has {n_train}")
    window = min(wanted, room)
    if examples(n_train, window, horizon) * horizon > MAX_TARGETS:
        return RecipeBuild(None, f"remedy direct left out: {examples(n_train, window, horizon)} training examples of the "
                                 f"next {horizon} values are {examples(n_train, window, horizon) * horizon} targets, more "
                                 f"than the {MAX_TARGETS} it may hold in memory; hold out fewer values (--test-fraction "
                                 "or --test-from) to shorten the horizon")
    model = dataclasses.replace(base.model, window=window, head="direct", horizon=horizon, residual=False)
    recipe = TrainConfig(model=model, epochs=base.epochs, batch_size=base.batch_size)
    note = None
    if window < wanted:
        note = (f"remedy direct: window reduced from {wanted} to {window}, so that the {n_train} training values hold "
                f"{examples(n_train, window, horizon)} examples of a window and the next {horizon} values")
    return RecipeBuild(recipe, note)


RECIPE_REMEDIES: dict[str, RecipeRemedy] = {
    "direct": RecipeRemedy(f"a direct multi-horizon head: the LSTM reads max(your first window, {DIRECT_WINDOW}) values "
                           "and a Dense layer outputs every held-out step at once, nothing fed back (the cure measured "
                           "on the noisy sine)", direct),
}


def describe_recipe(recipe: TrainConfig) -> str:
    """``LSTM(32, tanh), window 50, direct head over 200 steps`` (the study's style of words).

    Args:
        recipe: the recipe.

    Returns:
        The words.
    """
    from lstm_ar.user.study import describe_model  # here: the study module imports this one

    words = describe_model(recipe.model)
    if recipe.model.head == "direct":
        words += f", direct head over {recipe.model.horizon} steps"
    return words


def plan_recipes(names: Sequence[str], base: TrainConfig, n_train: int, horizon: int, *,
                 quick_sizes: bool = False) -> tuple[tuple[RecipeVariant, ...], tuple[str, ...]]:
    """The recipe remedies of a study, checked; nothing is trained.

    Args:
        names: names from ``RECIPE_REMEDIES`` (others are refused with a ValueError).
        base: the study's base config.
        n_train: training values.
        horizon: the scenario's rollout length.
        quick_sizes: shrink each recipe to test-suite size (``lstm_ar.study.pairs.quick``).

    Returns:
        (the planned ``RecipeVariant``s, notes for the user: left out or changed).
    """
    unknown = [n for n in names if n not in RECIPE_REMEDIES]
    if unknown:
        raise ValueError(f"unknown recipe remedy {', '.join(map(repr, unknown))}; valid: {', '.join(RECIPE_REMEDIES)}")
    planned, notes = [], []
    for name in names:
        built = RECIPE_REMEDIES[name].build(base, n_train, horizon)
        if built.note:
            notes.append(built.note)
        if built.recipe is None:
            continue
        recipe = quick(Candidate(built.recipe, PLAIN)).config if quick_sizes else built.recipe
        planned.append(RecipeVariant(name, recipe, f"{describe_recipe(recipe)} (remedy {name})"))
    return tuple(planned), tuple(notes)


def make_recipe_per_seed(scenario, recipe: TrainConfig) -> Callable[[jax.Array], tuple[dict, jax.Array, jax.Array]]:
    """One seed of a recipe remedy: train on the scenario's training series, judge as the scenario does.

    Args:
        scenario: the study's ``Scenario`` (``Scenario.from_series``: standardised series, truth,
            optional backtest).
        recipe: the recipe.

    Returns:
        ``per_seed(key) -> (metrics {name: f32[]}, rollout f32[rollout_steps], epoch loss f32[epochs])``.
    """
    series = jnp.asarray(scenario.series, jnp.float32)
    train = training_program(recipe, scenario.series)
    context = jnp.asarray(scenario.context, jnp.float32)
    steps, scale, center = scenario.rollout_steps, scenario.scale, scenario.center
    truth = jnp.asarray(scenario.truth[:steps], jnp.float32)
    backtest = scenario.backtest()
    if backtest is not None:
        origin_contexts = jnp.asarray(backtest.contexts(recipe.model.window))
        origin_truths = jnp.asarray(backtest.truths())

    def per_seed(key: jax.Array):
        result = train(key, series, recipe.hyper)
        eval_key = jax.random.fold_in(key, EVAL_STREAM)  # only a Gaussian head draws samples
        ys = rollouts(result.params, context, steps, recipe, eval_key)["point"]
        metrics = judge_rollout(ys, truth, scale, center)
        if backtest is not None:
            origin_ys = jax.vmap(lambda c: rollouts(result.params, c, backtest.horizon, recipe, eval_key)["point"])(
                origin_contexts)
            judged = judge_origins(origin_ys, origin_truths, scale, center)
            metrics.update({name: judged[name] for name in BACKTEST})
        return metrics, ys, result.epoch_loss

    return per_seed


def run_recipes(scenario, planned: Sequence[RecipeVariant], seeds: int, *, root_seed: int = 0, chunk: int | None = None,
                lanes: int | None = None, progress: bool = True) -> dict[str, VariantResult] | None:
    """Train and judge every planned recipe over seeds 0..seeds-1 (one program per recipe).

    Args:
        scenario: the study's scenario.
        planned: ``plan_recipes``' variants.
        seeds: seeds per recipe (the scenario's).
        root_seed, chunk, lanes, progress: see ``lstm_ar.runtime.sweep.run_seeds``.

    Returns:
        name -> ``VariantResult`` (metrics f[seeds], rollouts f32[seeds, rollout_steps]), or None
        on processes other than 0 of a multi-process run.
    """
    out, writer = {}, True
    for variant in planned:  # every process runs every sweep (run_seeds is collective); process 0 gets the results
        sweep = run_seeds(make_recipe_per_seed(scenario, variant.recipe), seeds, root_seed=root_seed, chunk=chunk,
                          lanes=lanes, max_lanes=cache_layout(variant.recipe, 1)[1],
                          desc=f"{scenario.name} {variant.name}", progress=progress)
        if sweep.results is None:
            writer = False
            continue
        # as the scenario's variants: diverged also when the last epoch's loss is not finite,
        # final_train_loss, and scenario.derive (the *_raw metrics in the user's units)
        out[variant.name] = variant_result(scenario, *sweep.results)
    return out if writer else None
