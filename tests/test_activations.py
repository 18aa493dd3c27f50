import jax.numpy as jnp
import numpy as np
import pytest

from lstm_ar.activations import ACTIVATIONS, get_activation
from tests.keras_numpy import ACT


@pytest.mark.parametrize("name", sorted(ACT))
def test_activation_matches_keras_definition(name):
    x = np.linspace(-5, 5, 101)
    np.testing.assert_allclose(get_activation(name)(jnp.asarray(x, jnp.float32)), ACT[name](x),
                               rtol=2e-6, atol=2e-6)


def test_gelu_is_exact_not_tanh_approximation():
    x = jnp.asarray([-2.0, -0.7, 1.3])
    exact = ACT["gelu"](np.asarray(x, np.float64))
    tanh_approx = 0.5 * x * (1 + jnp.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    assert np.max(np.abs(exact - tanh_approx)) > 1e-4  # the two differ ...
    np.testing.assert_allclose(get_activation("gelu")(x), exact, atol=1e-6)  # ... and we are exact


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown activation 'swishy'.*hard_sigmoid.*relu"):
        get_activation("swishy")
    with pytest.raises(TypeError):
        get_activation(3)


def test_callable_passes_through():
    fn = lambda x: 2 * x  # noqa: E731
    assert get_activation(fn) is fn
    assert set(ACT) <= set(ACTIVATIONS)


def test_config_imports_no_model_code():
    # Strings become callables at the config boundary: lstm_ar.activations sits beside config,
    # and config (the bottom layer) imports nothing from lstm_ar.model.
    import ast
    import importlib.util
    import pathlib

    import lstm_ar.config
    tree = ast.parse(pathlib.Path(lstm_ar.config.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert "lstm_ar.activations" in imported
    assert not [name for name in imported if name.startswith("lstm_ar.model")]
    assert importlib.util.find_spec("lstm_ar.model.activations") is None
