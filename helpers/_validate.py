"""Argument checks shared by every module of :mod:`helpers`, written once.

Every check raises ``TypeError`` for a value of the wrong kind (a float where an integer is
needed, a string where a number is) and ``ValueError`` for a value of the right kind but out of
range, with a message that names the argument and says how to fix it. Checks of one module's
own objects (the output of a :class:`helpers.statmodel.Schedule`, the consistency of a
:class:`helpers.gpt.GPTConfig`, the shape of a trajectory) stay with that module and follow
the same rule.
"""

from __future__ import annotations

import math
import numbers
import sys

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


def validate_int(value, name: str, minimum: int, maximum: int | None = None,
                 hint: str = "") -> int:
    """Return ``value`` as an int after checking it is an integer in ``[minimum, maximum]``.

    ``maximum=None`` leaves it unbounded above; ``hint``, a sentence, is added to the message of
    an out-of-range value. numpy integers are integers; ``bool`` is not.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__}).")
    tail = f" {hint}" if hint else ""
    if maximum is not None and not minimum <= value <= maximum:
        raise ValueError(f"{name} must be an integer in [{minimum}, {maximum}], got {value}."
                         + tail)
    if value < minimum:
        kind = "nonnegative" if minimum == 0 else f">= {minimum}"
        raise ValueError(f"{name} must be {kind}, got {value}." + tail)
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


def validate_seed(seed, name: str = "seed", allow_none: bool = False) -> int | None:
    """Return ``seed``, a non-negative integer (or ``None`` when ``allow_none``), as an int."""
    if seed is None and allow_none:
        return None
    what = "a non-negative integer" + (" or None" if allow_none else "")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be {what}, got {seed!r} ({type(seed).__name__}).")
    if seed < 0:
        raise ValueError(f"{name} must be {what}, got {seed}.")
    return int(seed)


def validate_real(value, name: str, minimum: float = -math.inf, maximum: float = math.inf, *,
                  open_min: bool = False, open_max: bool = False, hint: str = "") -> float:
    """Return ``value`` as a float after checking it is a finite real number in an interval.

    The interval runs from ``minimum`` to ``maximum``, each end included unless ``open_min`` or
    ``open_max``; ``hint``, a sentence, is added to the message of an out-of-range value.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__}).")
    value = float(value)
    tail = f" {hint}" if hint else ""
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}." + tail)
    below = value <= minimum if open_min else value < minimum
    above = value >= maximum if open_max else value > maximum
    if below or above:
        low, high = ("(" if open_min else "["), (")" if open_max else "]")
        if maximum == math.inf:
            where = f"{'>' if open_min else '>='} {minimum:g}"
        elif minimum == -math.inf:
            where = f"{'<' if open_max else '<='} {maximum:g}"
        else:
            where = f"in {low}{minimum:g}, {maximum:g}{high}"
        raise ValueError(f"{name} must be {where}, got {value}." + tail)
    return value


def is_torch(x) -> bool:
    """Whether ``x`` is a ``torch.Tensor`` (without importing torch when nobody has)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def validate_weights(p, name: str = "p"):
    """``p`` normalised along its last axis, as a float array or a floating torch tensor.

    ``p`` holds nonnegative weights (probabilities or counts), any leading axes, each row with a
    positive sum; a torch tensor stays a tensor on its device (integer tensors become float64).
    """
    if is_torch(p):
        q = p if p.is_floating_point() else p.double()
        bad = (not bool(q.isfinite().all()), bool((q < 0).any()))
        total = q.sum(-1, keepdim=True) if q.ndim else q
    else:
        try:
            q = np.asarray(p, dtype=float)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must be an array of probabilities, got "
                            f"{type(p).__name__}.") from err
        bad = (not np.isfinite(q).all(), bool((q < 0).any()))
        total = q.sum(-1, keepdims=True) if q.ndim else q
    if q.ndim == 0 or q.shape[-1] == 0:
        raise ValueError(f"{name} must have at least one token on its last axis, got shape "
                         f"{tuple(q.shape)}.")
    if bad[0]:
        raise ValueError(f"{name} contains NaN or infinite entries.")
    if bad[1]:
        raise ValueError(f"{name} has negative entries; probabilities must be nonnegative.")
    if bool((total <= 0).any()):
        raise ValueError(f"some row of {name} is all zeros; every distribution needs positive "
                         "mass.")
    return q / total


# --- decoding parameters (helpers.decoding and helpers.generation) -----------------------------

def validate_temperature(temperature) -> float:
    """Return the decoding temperature, a positive finite number, as a float."""
    return validate_real(temperature, "temperature", 0, open_min=True,
                         hint="Use 1.0 for no change, < 1 to sharpen and > 1 to flatten.")


def validate_top_k(k, s: int) -> int:
    """Return ``k`` of top-k decoding, an integer with ``1 <= k <= s`` (``s`` the vocabulary)."""
    return validate_int(k, "k", 1, s, hint=f"s = {s} is the vocabulary size; use top_k=None "
                        "for no truncation.")


def validate_top_p(p_threshold) -> float:
    """Return the threshold of top-p (nucleus) decoding, a number in ``(0, 1]``, as a float."""
    return validate_real(p_threshold, "p_threshold", 0, 1, open_min=True,
                         hint="1 keeps every token (use top_p=None for no truncation).")
