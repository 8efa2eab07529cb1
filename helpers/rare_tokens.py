"""Rare tokens under Fully Synthetic training: first-loss times and Feller survival.

Small tools for the chapter "Rare tokens die first": a vectorised simulator of the time until
the first token of the support is lost, the Feller (square-root diffusion) approximation of the
survival of one token, and the expected surviving vocabulary it implies.
"""

from __future__ import annotations

import numpy as np

from helpers._validate import validate_distribution, validate_int, validate_sample_size

__all__ = ["first_loss_times", "feller_survival", "expected_vocabulary_feller",
           "rare_token_collapse_time"]


def first_loss_times(p0, n, runs: int, seed=None, max_generations: int = 100_000) -> np.ndarray:
    """Simulate the first generation ``m >= 1`` at which ``p^(m)`` has lost a token of ``p0``.

    Fully Synthetic training of one context (``p0`` of shape ``(s,)``, ``n`` an int): ``p^(m)``
    is the empirical distribution of ``n`` draws from ``p^(m-1)``. Returns an int array of shape
    ``(runs,)``; ``-1`` marks runs that still had the whole support after ``max_generations``.
    All runs are advanced together; a run leaves the loop once it has lost a token.
    """
    p0 = validate_distribution(p0, "p0", ndims=(1,))
    n = int(validate_sample_size(n))
    runs = validate_int(runs, "runs", 1)
    limit = validate_int(max_generations, "max_generations", 1)
    rng = np.random.default_rng(seed)
    q = p0[p0 > 0] / p0[p0 > 0].sum()
    times = np.full(runs, -1)
    if q.size == 1:
        return times  # a Dirac mass never loses its only token
    live = np.arange(runs)
    counts = rng.multinomial(n, np.broadcast_to(q, (runs, q.size)))
    for m in range(1, limit + 1):
        lost = (counts == 0).any(1)
        times[live[lost]] = m
        live, counts = live[~lost], counts[~lost]
        if not live.size or m == limit:
            break
        counts = rng.multinomial(n, counts / n)
    return times


def feller_survival(c, t) -> np.ndarray:
    """Feller's approximation ``1 - exp(-2c/t)`` of ``P(token alive at generation t)``.

    ``c > 0`` is the token's initial number of copies ``n p_i``, ``t >= 1`` the generation;
    valid for ``t`` much smaller than ``n``. Broadcasts over ``c`` and ``t``.
    """
    c, t = np.asarray(c, float), np.asarray(t, float)
    if (c < 0).any() or (t <= 0).any():
        raise ValueError("feller_survival needs c >= 0 copies and generations t > 0.")
    return -np.expm1(-2 * c / t)


def expected_vocabulary_feller(p0, n, t) -> np.ndarray:
    """``sum_i [1 - exp(-2 n p_i / t)]``: expected number of tokens still alive at ``t``.

    Sum of :func:`feller_survival` over the support of ``p0`` (shape ``(s,)``); ``t`` an int or
    an array of generations ``>= 1``; the result has the shape of ``t``.
    """
    p0 = validate_distribution(p0, "p0", ndims=(1,))
    n = int(validate_sample_size(n))
    t = np.asarray(t, float)
    return feller_survival(n * p0[p0 > 0], t[..., None]).sum(-1)


def rare_token_collapse_time(c, n) -> np.ndarray:
    """Heuristic ``E[T] ~ 2c (1 + ln(n/c))`` for ``p0 = (1 - c/n, c/n)``, with ``0 < c < n``.

    The leading terms of Kimura's ``-2n [x ln x + (1-x) ln(1-x)]`` at ``x = c/n``.
    """
    c, n = np.asarray(c, float), np.asarray(n, float)
    if (c <= 0).any() or (c >= n).any():
        raise ValueError("rare_token_collapse_time needs 0 < c < n.")
    return 2 * c * (1 + np.log(n / c))
