"""Closed forms of Theorem 1 (Fully Synthetic training), written once for every chapter.

Notation follows the paper (Seddik et al. 2024, arXiv 2404.05090): ``p0`` is the true
next-token distribution of one context, shape ``(s,)``, or of ``c`` contexts, shape ``(c, s)``;
``n`` is the number of samples each generation is trained on (an int, or one per context);
``m`` is the generation. ``S_0 = sigma(p0)`` and ``s~ = support_size(p0)``.

Theorem 1 assumes a nontrivial ``p0`` (``S_0 < 1``). For a Dirac ``p0`` the chain has already
collapsed: the bounds are returned as their limits, ``rho_m = 1`` and ``E[T] = 1``.
"""

from __future__ import annotations

import numpy as np

from helpers._validate import (
    validate_distribution,
    validate_generation_index,
    validate_int,
    validate_sample_size,
)

__all__ = [
    "sigma",
    "support_size",
    "expected_sigma_fully_synthetic",
    "collapse_probability_bounds",
    "collapse_time_bounds",
    "token_survival",
    "validate_distribution",
    "validate_sample_size",
    "validate_int",
]


def sigma(p) -> np.ndarray:
    """Squared L2 norm along the last axis, ``sigma = ||p||_2^2`` (1 exactly for a Dirac mass)."""
    p = np.asarray(p, dtype=float)
    return np.einsum("...i,...i->...", p, p)


def support_size(p) -> np.ndarray:
    """Number of positive entries along the last axis (the paper's ``s~ = |supp(p)|``)."""
    return np.count_nonzero(np.asarray(p) > 0, axis=-1)


def _setup(p0, n):
    """Validated ``(S_0, s~, n)``, each broadcastable to the contexts of ``p0``."""
    p0 = validate_distribution(p0)
    n = validate_sample_size(n, contexts=p0.shape[0] if p0.ndim == 2 else None)
    s0 = sigma(p0)
    return s0, support_size(p0), np.broadcast_to(np.asarray(n, dtype=float), s0.shape)


def _ratio(s0, support):
    """``(1 - S_0) / (1 - 1/s~)``, taken as 0 for a Dirac ``p0`` (where it reads 0/0)."""
    trivial = support == 1
    return np.where(trivial, 0.0, (1 - s0) / np.where(trivial, 2, 1 - 1 / support))


def _decay(n, m):
    """``(1 - 1/n)^m`` with generations ``m`` on the leading axes and contexts last."""
    m = validate_generation_index(m)
    return (1 - 1 / n) ** m.reshape(m.shape + (1,) * np.ndim(n))


def expected_sigma_fully_synthetic(p0, n, m) -> np.ndarray:
    """``S_m = E||p^(m)||_2^2 = 1 - (1 - 1/n)^m (1 - S_0)``, eq. (6).

    ``m`` is an int or an array of ints; the result has shape ``m.shape`` for a 1-D ``p0`` and
    ``m.shape + (c,)`` for a 2-D ``p0`` (generations first, contexts last).
    """
    s0, _, n = _setup(p0, n)
    return 1 - _decay(n, m) * (1 - s0)


def collapse_probability_bounds(p0, n, m, clip: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Bounds ``(lower, upper)`` on ``rho_m = P(p^(m) is a Dirac mass)``, eq. (7).

    ``1 - n (1-S_0) (1-1/n)^m <= rho_m <= 1 - (1-S_0)/(1-1/s~) (1-1/n)^m``. The lower bound is
    returned as printed and is negative (vacuous) for small ``m``; ``clip=True`` clips it at 0.
    Shapes as in :func:`expected_sigma_fully_synthetic`.
    """
    s0, support, n = _setup(p0, n)
    decay = _decay(n, m)
    lower = 1 - n * (1 - s0) * decay
    upper = 1 - _ratio(s0, support) * decay
    return (np.maximum(lower, 0.0) if clip else lower), upper


def collapse_time_bounds(p0, n) -> tuple[np.ndarray, np.ndarray]:
    """Bounds ``(lower, upper)`` on the mean collapse time ``E[T]``, eq. (8).

    ``1 + (1-S_0)/(1-1/s~) (n-1) <= E[T] <= 1 + (1-S_0) n (n-1)``; scalars for a 1-D ``p0``,
    shape ``(c,)`` for a 2-D one.
    """
    s0, support, n = _setup(p0, n)
    return 1 + _ratio(s0, support) * (n - 1), 1 + (1 - s0) * n * (n - 1)


def token_survival(p0, n, generations: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``P(p^(m)_i > 0)`` and ``P(p^(m) = delta_i)`` for every token, Fully Synthetic.

    Under Fully Synthetic training the count ``n p^(m)_i`` of one token is itself a two-type
    Wright-Fisher chain with transition matrix ``Q[a, b] = Binomial(n, a/n).pmf(b)``, started
    from ``Binomial(n, p_i)`` at generation 1. Returns two arrays of shape
    ``(generations + 1, s)`` (row 0 is generation 0). Costs ``O(generations s n^2)``: meant for
    ``n`` up to a few thousand. ``p0`` must be 1-D and ``n`` an int.
    """
    from scipy.stats import binom

    p0 = validate_distribution(p0)
    if p0.ndim != 1:
        raise ValueError(f"token_survival takes one context, p0 of shape (s,); got {p0.shape}.")
    n = int(validate_sample_size(n))
    generations = validate_int(generations, "generations", 0)
    grid = np.arange(n + 1)
    step = binom.pmf(grid[None, :], n, grid[:, None] / n)
    law = binom.pmf(grid[None, :], n, p0[:, None])  # law of n p^(1)_i, one row per token
    alive = np.empty((generations + 1, p0.size))
    fixed = np.empty_like(alive)
    alive[0], fixed[0] = p0 > 0, p0 == 1
    for m in range(1, generations + 1):
        alive[m], fixed[m] = 1 - law[:, 0], law[:, n]
        law = law @ step
    return alive, fixed
