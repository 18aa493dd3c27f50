"""Argument checks shared by the data and dynamics layers (bottom layer: numpy and jax only).

TypeError for a value of the wrong type, ValueError for a value of the right type that is not valid.
"""

from __future__ import annotations

import jax
import numpy as np

FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_int(value, name: str, minimum: int, maximum: int | None = None, why: str = "") -> int:
    """A count as a Python int >= ``minimum`` (and <= ``maximum``: ``why`` says why); a bool, a float (``2.5``
    would silently become 2) or an array is refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r} of type {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be an int <= {maximum:,}{why}, got {value:,}")
    return int(value)


def _index(flat: int, shape: tuple[int, ...]) -> str:
    """Where the ``flat``-th value of an array of ``shape`` is, for an error message."""
    if not shape:
        return "(a scalar)"
    where = np.unravel_index(flat, shape)
    return f"at index {tuple(int(i) for i in where) if len(where) > 1 else int(where[0])}"


def real_float32(values, name: str):
    """Values read in float32 as a numpy f32 array: real dtype (complex would lose its imaginary part),
    finite, and finite once in float32 (a float64 1e39 would become inf). A traced array, or one
    spread over other processes, has only its dtype checked and is returned unchanged."""
    dtype = values.dtype if hasattr(values, "dtype") else np.asarray(values).dtype
    if np.dtype(dtype).kind not in "fiu":
        raise TypeError(f"{name} must be real (float or int), got dtype {dtype}")
    if isinstance(values, jax.core.Tracer) or not getattr(values, "is_fully_addressable", True):
        return values
    array = np.asarray(values)
    finite = np.isfinite(array)
    if not finite.all():
        first = int(np.argmin(finite))
        raise ValueError(f"{name} has {array.size - int(finite.sum())} non-finite value(s) (nan/inf), "
                         f"the first {_index(first, array.shape)}: {array.ravel()[first]}")
    with np.errstate(over="ignore"):
        converted = array.astype(np.float32)
    fits = np.isfinite(converted)
    if not fits.all():
        first = int(np.argmin(fits))
        raise ValueError(f"{name} has {array.size - int(fits.sum())} value(s) too large for float32 "
                         f"(|x| > {FLOAT32_MAX:.4g}); the first, {array.ravel()[first]:g} "
                         f"{_index(first, array.shape)}, overflows float32")
    return converted
