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
