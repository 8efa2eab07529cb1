"""Initial next-token distributions with a chosen vocabulary, support size and shape.

Every builder returns a probability vector of shape ``(s,)`` whose first ``support`` tokens
carry the mass, sorted from most to least likely, and whose other ``s - support`` tokens have
probability 0. The paper fixes only ``s``, the support size ``s~`` and ``S_0 = ||p||_2^2`` of its
initial distributions; :func:`with_S0` picks the shape parameter that hits a target ``S_0``.
:func:`describe` reports the numbers a figure caption needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from helpers._validate import validate_int, validate_real

__all__ = ["uniform", "geometric", "power_law", "shape_parameter", "with_S0", "describe",
           "Profile", "SHAPES"]

SHAPES = ("power_law", "geometric")


def _sizes(s, support) -> tuple[int, int]:
    s = validate_int(s, "s", 1)
    support = validate_int(support, "support", 1)
    if support > s:
        raise ValueError(f"support ({support}) cannot exceed the vocabulary size s ({s}).")
    return s, support


def _pad(weights: np.ndarray, s: int) -> np.ndarray:
    """Normalise positive ``weights`` and pad them with zeros to length ``s``."""
    p = np.zeros(s)
    p[: len(weights)] = weights / weights.sum()
    if not (p[: len(weights)] > 0).all():
        raise ValueError("the shape parameter is so extreme that the smallest probabilities "
                         "underflow to 0, which would shrink the support; use a milder one.")
    return p


def uniform(s: int, support: int) -> np.ndarray:
    """Uniform on the first ``support`` of ``s`` tokens: ``S_0 = 1 / support``."""
    s, support = _sizes(s, support)
    return _pad(np.ones(support), s)


def geometric(s: int, support: int, ratio: float) -> np.ndarray:
    """``p_i`` proportional to ``ratio ** (i - 1)`` for ``i = 1..support``, ``0 < ratio <= 1``.

    ``ratio = 1`` is :func:`uniform`; smaller ratios concentrate the mass on the first tokens.
    """
    s, support = _sizes(s, support)
    ratio = validate_real(ratio, "ratio", 0, 1, open_min=True)
    # computed in log space; the first weight is exactly 1, so the sum never underflows
    return _pad(np.exp(np.arange(support) * np.log(ratio)), s)


def power_law(s: int, support: int, exponent: float) -> np.ndarray:
    """Zipf-like: ``p_i`` proportional to ``i ** -exponent`` for ``i = 1..support``.

    ``exponent >= 0``; ``exponent = 0`` is :func:`uniform` and ``exponent = 1`` Zipf's law.
    """
    s, support = _sizes(s, support)
    exponent = validate_real(exponent, "exponent", 0)
    return _pad(np.exp(-exponent * np.log(np.arange(1, support + 1))), s)


def _sigma(p: np.ndarray) -> float:
    return float(p @ p)


def shape_parameter(support: int, S0: float, shape: str = "power_law") -> float:
    """The exponent (``"power_law"``) or ratio (``"geometric"``) that gives ``||p||_2^2 = S0``.

    ``S0`` must lie in ``[1 / support, 1)``: ``1 / support`` is the uniform distribution, the
    most spread out one on that support (exponent 0, ratio 1), and ``S0 = 1`` would be a Dirac
    mass. Solved by bisection (Brent's method) to about 1e-12 in ``S0``.
    """
    support = validate_int(support, "support", 1)
    S0 = validate_real(S0, "S0")
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}.")
    if not 1 / support <= S0 < 1:
        raise ValueError(f"S0 must lie in [1/support, 1) = [{1 / support:.6g}, 1) for support "
                         f"{support}, got {S0}; a smaller S0 needs a larger support.")
    if np.isclose(S0, 1 / support, rtol=0, atol=1e-13):
        return 0.0 if shape == "power_law" else 1.0

    # S_0 increases monotonically with the concentration t >= 0, from 1/support (t = 0, the
    # uniform distribution) to 1 (t -> infinity); t is the exponent, or -log(ratio).
    def build(t: float) -> np.ndarray:
        if shape == "power_law":
            return power_law(support, support, t)
        return geometric(support, support, float(np.exp(-t)))

    hi = 1.0
    while _sigma(build(hi)) < S0:
        hi *= 2
    t = brentq(lambda t: _sigma(build(t)) - S0, 0.0, hi, xtol=1e-14, rtol=1e-14)
    return float(t) if shape == "power_law" else float(np.exp(-t))


def with_S0(s: int, support: int, S0: float, shape: str = "power_law") -> np.ndarray:
    """A ``shape`` distribution on the first ``support`` of ``s`` tokens with ``S_0 = S0``.

    ``shape`` is ``"power_law"`` or ``"geometric"``; the shape parameter comes from
    :func:`shape_parameter`, whose conditions on ``S0`` apply.
    """
    s, support = _sizes(s, support)
    theta = shape_parameter(support, S0, shape)
    if shape == "power_law":
        return power_law(s, support, theta)
    return geometric(s, support, theta)


@dataclass(frozen=True)
class Profile:
    """What a figure caption says about an initial distribution."""

    s: int
    support: int
    S0: float
    largest: float
    smallest_positive: float

    def __str__(self) -> str:
        return (f"s = {self.s}, support = {self.support}, S_0 = {self.S0:.4g},\n"
                f"  p_max = {self.largest:.3g}, smallest positive p_i = "
                f"{self.smallest_positive:.3g}")


def describe(p) -> Profile:
    """Vocabulary size, support size, ``S_0``, largest and smallest positive entry of ``p``."""
    p = np.asarray(p, dtype=float)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"p must be a nonempty 1-D probability vector, got shape {p.shape}.")
    if (p < 0).any() or not np.isclose(p.sum(), 1.0, rtol=0, atol=1e-9):
        raise ValueError("p must be nonnegative and sum to 1.")
    positive = p[p > 0]
    return Profile(p.size, int(positive.size), _sigma(p), float(p.max()), float(positive.min()))
