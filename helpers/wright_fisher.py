"""Wright-Fisher tools for Part IV: the genealogy (its step, the exact mean collapse time it
gives, coalescent bounds) and Kingman's law.

Fully Synthetic training is the neutral haploid Wright-Fisher model with ``n`` gene copies.
This module holds what the chapters on that dictionary need beyond :mod:`helpers.statmodel`
and :mod:`helpers.theory`.
"""

from __future__ import annotations

import numpy as np


def _int_at_least(x, low: int, name: str) -> int:
    if isinstance(x, bool) or int(x) != x or int(x) < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {x!r}.")
    return int(x)


def genealogical_step(counts, rng: np.random.Generator) -> np.ndarray:
    """One generation by parent choice: each of the ``n`` children copies a uniform parent.

    ``counts`` is a ``(B, K)`` array of nonnegative ints whose rows all sum to the same ``n``
    (the types of the ``n`` current tokens, row by row). Every child of row ``b`` picks one of
    the ``n`` parents of row ``b`` uniformly and independently and copies its type. Returns the
    ``(B, K)`` counts of the children; in law this is ``Multinomial(n, counts / n)``.
    """
    counts = np.asarray(counts)
    if counts.ndim != 2 or counts.shape[1] < 1 or not np.issubdtype(counts.dtype, np.integer):
        raise ValueError("counts must be a 2-D integer array of shape (B, K).")
    if np.any(counts < 0):
        raise ValueError("counts must be nonnegative.")
    sizes = counts.sum(axis=1)
    if sizes.size == 0 or np.any(sizes != sizes[0]) or sizes[0] < 1:
        raise ValueError("every row of counts must sum to the same population size n >= 1.")
    B, K = counts.shape
    n = int(sizes[0])
    offset = n * np.arange(B)[:, None]
    # parent u of row b has the type i with cum[b, i-1] <= u < cum[b, i]
    edges = (np.cumsum(counts, axis=1) + offset).ravel()
    parents = (rng.integers(0, n, size=(B, n)) + offset).ravel()
    cell = np.searchsorted(edges, parents, side="right")     # = b * K + type
    return np.bincount(cell, minlength=B * K).reshape(B, K)


def capped_tail_bound(p0, n) -> float:
    """``sum_{k >= 0} min(1, n (1 - S_0) (1 - 1/n)^k)``: the paper's tail bound, capped at 1.

    The paper sums ``P(T > k) <= n (1 - S_0)(1 - 1/n)^k`` without the cap and gets
    ``1 + n (n - 1)(1 - S_0)``; capping each term gives about ``n ln(n (1 - S_0)) + n``.
    ``p0`` is a 1-D probability vector, ``n >= 2`` an int.
    """
    p0 = np.asarray(p0, dtype=float)
    if p0.ndim != 1 or np.any(p0 < 0) or not np.isclose(p0.sum(), 1.0):
        raise ValueError("p0 must be a 1-D probability vector.")
    n = _int_at_least(n, 2, "n")
    a = n * (1.0 - float(p0 @ p0))
    if a <= 1.0:   # every term is already <= 1 (the k = 0 term is P(T > 0) = 1)
        return 1.0 + a * (n - 1)
    q = 1.0 - 1.0 / n
    k0 = int(np.floor(np.log(a) / -np.log(q))) + 1       # first k >= 1 with a q^k < 1
    return k0 + a * q**k0 * n                             # k0 ones, then a geometric tail


def coalescent_bound(n, form: str = "exact") -> float:
    """Upper bound on ``E[T]`` from the genealogy of the ``n`` tokens (any ``p0``).

    ``form="exact"``: ``1 + sum_{k=2}^{n} 1 / (1 - prod_{j<k} (1 - j/n))``, one generation plus
    the sum over ``k`` of the mean time the backward lineage count spends at ``k`` if it visits
    it. ``"exp"``: the same
    with the product replaced by ``exp(-k(k-1)/(2n))``. ``"linear"``: ``3n - 2``. Each form is
    at most the next one.
    """
    n = _int_at_least(n, 1, "n")
    if form == "linear":
        return 3.0 * n - 2.0
    k = np.arange(2, n + 1, dtype=float)
    if form == "exact":
        log_stay = np.cumsum(np.log1p(-np.arange(1, n) / n))[: len(k)]  # sum_{j<k} log(1 - j/n)
    elif form == "exp":
        log_stay = -k * (k - 1) / (2 * n)
    else:
        raise ValueError(f"form must be 'exact', 'exp' or 'linear', got {form!r}.")
    return 1.0 + float(np.sum(-1.0 / np.expm1(log_stay)))


def lineage_count_matrix(n) -> np.ndarray:
    """``P[k, j]``: the chance that ``k`` tokens pick ``j`` distinct parents among ``n``.

    The backward step of the genealogy: each of ``k`` tokens picks a uniform parent among the
    ``n`` tokens of the previous generation. Row ``k`` (``0 <= k <= n``) is built draw by draw:
    a new draw hits a new parent with probability ``(n - j)/n`` when ``j`` are already hit.
    Returns an ``(n + 1, n + 1)`` lower-triangular stochastic matrix; ``n >= 1`` an int.
    """
    n = _int_at_least(n, 1, "n")
    P = np.zeros((n + 1, n + 1))
    P[0, 0] = 1.0
    j = np.arange(n + 1)
    for k in range(1, n + 1):
        P[k, 1:] = P[k - 1, :-1] * (n - j[:-1]) / n
        P[k] += P[k - 1] * j / n
    return P


def collapse_time_from_genealogy(p0, n) -> float:
    """Exact ``E[T]`` of Fully Synthetic training, for any ``p0`` and ``n`` up to a few thousand.

    Generation ``m >= 1`` is a Dirac mass exactly when the ``A_{m-1}`` distinct tokens of
    generation 1 from which its ``n`` tokens descend share a type. The genealogy does not
    depend on the types, and the tokens of generation 1 are i.i.d. draws of ``p0``, so
    ``P(T <= m) = E[sum_i p_i^A]`` with ``A = A_{m-1}`` the lineage count (started at
    ``A_0 = n``, stepped by :func:`lineage_count_matrix`). Summing ``P(T > m)``,
    ``E[T] = 1 + sum_{k=2}^{n} (1 - sum_i p_i^k) G_k``, where ``G_k`` is the mean number of
    generations the lineage count spends at ``k``. Costs ``O(n^2 + n s)``, unlike the chain on
    count vectors, so it serves many tokens (e.g. ``p0`` uniform on 10 tokens, ``n = 100``).
    """
    p0 = np.asarray(p0, dtype=float)
    if p0.ndim != 1 or np.any(p0 < 0) or not np.isclose(p0.sum(), 1.0):
        raise ValueError("p0 must be a 1-D probability vector.")
    n = _int_at_least(n, 1, "n")
    P = lineage_count_matrix(n)
    q = p0[p0 > 0]
    k = np.arange(n + 1)
    split = 1.0 - (q[None, :] ** k[:, None]).sum(axis=1)  # P(k i.i.d. draws are not one type)
    visit = np.zeros(n + 1)  # chance that the lineage count ever equals k
    visit[n] = 1.0
    time = np.zeros(n + 1)   # mean number of generations it spends at k
    for j in range(n, 1, -1):
        time[j] = visit[j] / (1.0 - P[j, j])
        visit[1:j] += time[j] * P[j, 1:j]
    return 1.0 + float(split[2:] @ time[2:])


def kingman_tmrca_sample(size: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` draws of ``sum_{k=2}^{n} Exp(rate k(k-1)/2)``: Kingman's T_MRCA of ``n`` lineages.

    Time is in units of ``n`` generations of the Wright-Fisher model. Cost ``size * n``.
    """
    size = _int_at_least(size, 1, "size")
    n = _int_at_least(n, 2, "n")
    k = np.arange(2, n + 1, dtype=float)
    return rng.exponential(size=(size, n - 1)) @ (2.0 / (k * (k - 1)))


def kingman_tmrca_density(t) -> np.ndarray:
    """Density of Kingman's T_MRCA from infinitely many lineages (Tavare 1984), ``t > 0``.

    ``f(t) = sum_{k>=2} (-1)^k (2k-1) k(k-1)/2 exp(-k(k-1) t/2)``, the derivative of
    ``P(T_MRCA <= t) = 1 + sum_{k>=2} (-1)^(k-1) (2k-1) exp(-k(k-1) t/2)``. Enough terms are
    summed that the neglected ones are below ``1e-12``; ``t`` must be at least ``0.01``
    (below, cancellations in the alternating series lose accuracy; the density is ~0 there).
    """
    t = np.asarray(t, dtype=float)
    if np.any(~np.isfinite(t)) or np.any(t < 0.01):
        raise ValueError("t must be finite and >= 0.01.")
    kmax = int(np.ceil(np.sqrt(2 * 80 / t.min()))) + 2
    k = np.arange(2, kmax + 1, dtype=float)
    rate = k * (k - 1) / 2
    terms = (-1.0) ** k * (2 * k - 1) * rate * np.exp(-np.multiply.outer(t, rate))
    return terms.sum(axis=-1)
