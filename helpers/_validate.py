"""Argument checks shared by :mod:`helpers.theory`, :mod:`helpers.wright_fisher` and
:mod:`helpers.statmodel`.

Every check raises ``TypeError`` for a value of the wrong kind and ``ValueError`` for a value
of the right kind but out of range, with a message that says how to fix it.
"""

from __future__ import annotations

import numbers

import numpy as np

SUM_TOLERANCE = 1e-9


def validate_distribution(p, name: str = "p0", ndims: tuple[int, ...] = (1, 2)) -> np.ndarray:
    """Return ``p`` as a float array after checking it is a distribution along its last axis.

    ``p`` must have one of ``ndims`` dimensions, be finite and nonnegative, and each row must
    sum to 1 within ``SUM_TOLERANCE``.
    """
    try:
        arr = np.asarray(p, dtype=float)
    except (TypeError, ValueError) as err:
        kind = type(p).__name__
        raise TypeError(f"{name} must be an array of probabilities, got {kind}.") from err
    if arr.ndim not in ndims:
        shapes = " or ".join({1: "(s,)", 2: "(c, s)"}.get(d, f"{d}-D") for d in ndims)
        raise ValueError(f"{name} must have shape {shapes}, got shape {arr.shape}.")
    if arr.shape[-1] == 0:
        raise ValueError(f"{name} must have at least one token (its last axis is empty).")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite entries.")
    if (arr < 0).any():
        raise ValueError(f"{name} has negative entries (smallest {arr.min():.3g}); "
                         "probabilities must be nonnegative.")
    sums = arr.sum(axis=-1)
    bad = np.abs(sums - 1) > SUM_TOLERANCE
    if bad.any():
        where = f"row {int(np.flatnonzero(bad)[0])} of {name}" if arr.ndim == 2 else name
        total = float(sums[bad].flat[0])
        raise ValueError(f"{where} sums to {total:.12g}, not 1; normalise it first, "
                         f"e.g. {name} = {name} / {name}.sum(-1, keepdims=True).")
    return arr


def validate_int(value, name: str, minimum: int) -> int:
    """Return ``value`` as an int after checking it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__}).")
    if value < minimum:
        kind = "nonnegative" if minimum == 0 else f">= {minimum}"
        raise ValueError(f"{name} must be {kind}, got {value}.")
    return int(value)


def validate_sizes(x, name: str) -> float | np.ndarray:
    """Return ``x``, an integer >= 1 or an array of them, as float (scalars stay scalars).

    For the sizes (``n``, ``N``, ``s``) of the closed forms in :mod:`helpers.theory` and
    :mod:`helpers.wright_fisher`, which broadcast over arrays of sizes.
    """
    arr = np.asarray(x)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must be an integer (or an array of integers), got {x!r}.")
    if (arr < 1).any():
        raise ValueError(f"{name} must be >= 1, got min {arr.min()}.")
    return arr.astype(float) if arr.ndim else float(arr)


def validate_sample_size(n, contexts: int | None = None, name: str = "n") -> int | np.ndarray:
    """Return the sample size: an int, or an int array of shape ``(contexts,)``.

    ``n`` is the number of samples each generation is trained on. With one context
    (``contexts=None``) it must be a positive integer; with ``c`` contexts it may also be an
    integer array of shape ``(c,)`` (one sample size per context). ``name`` labels messages
    (e.g. ``"N"`` for the number of real samples).
    """
    if np.ndim(n) == 0:
        return validate_int(n.item() if isinstance(n, np.ndarray) else n, name, 1)
    arr = np.asarray(n)
    if contexts is None:
        raise ValueError(f"{name} must be a single integer for a 1-D p0, got shape {arr.shape}; "
                         "per-context sample sizes need a 2-D p0 of shape (c, s).")
    if arr.shape != (contexts,):
        raise ValueError(f"{name} must be an integer or have shape ({contexts},), one sample "
                         f"size per context of p0, got shape {arr.shape}.")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}; "
                        f"use {name}.astype(int).")
    if (arr < 1).any():
        raise ValueError(f"every sample size in {name} must be >= 1, got min {arr.min()}.")
    return arr.astype(np.int64)


def validate_generation_index(m) -> np.ndarray:
    """Return generation indices ``m`` (an int or an array of ints >= 0) as an int array."""
    arr = np.asarray(m)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer)
                                 or (np.issubdtype(arr.dtype, np.floating)
                                     and np.array_equal(arr, np.round(arr)))):
        raise TypeError(f"m must be a generation index (integer) or an array of them, got {m!r}.")
    if (arr < 0).any():
        raise ValueError(f"generation indices m must be nonnegative, got min {arr.min()}.")
    return arr.astype(np.int64)
