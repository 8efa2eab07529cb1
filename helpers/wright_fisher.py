"""Wright-Fisher results on Fully Synthetic training, all in one module.

Fully Synthetic training is the neutral haploid Wright-Fisher model of population genetics with
``n`` gene copies (Chapter 10, *Model collapse is genetic drift*). That dictionary gives results
the paper does not have, and they all live here:

- the exact survival of every token, from the two-type chain of one token's count
  (:func:`token_survival`, Chapters 4 and 12);
- the mean collapse time: its diffusion limit (:func:`collapse_time_asymptotic`), bounds linear
  in ``n`` (:func:`collapse_time_wf_bounds`), the paper's tail bound capped at 1
  (:func:`capped_tail_bound`) and the diffusion limit of the first loss of a token
  (:func:`first_loss_time_asymptotic`);
- the genealogy of the tokens: one generation by parent choice (:func:`genealogical_step`), the
  backward chain of the lineage count (:func:`lineage_count_matrix`), the exact ``E[T]`` it gives
  (:func:`collapse_time_from_genealogy`) and the coalescent bounds (:func:`coalescent_bound`);
- Kingman's coalescent, the limit law of ``T/n`` (:func:`kingman_tmrca_moments`,
  :func:`kingman_tmrca_sample`, :func:`kingman_tmrca_density`).

The paper's own closed forms and bounds are in :mod:`helpers.theory`, the simulations and the
exact chain on count vectors (:func:`helpers.statmodel.exact_collapse_time`) in
:mod:`helpers.statmodel`.
"""

from __future__ import annotations

import numpy as np

from helpers._validate import (
    validate_distribution,
    validate_int,
    validate_sample_size,
    validate_sizes,
)
from helpers.theory import sigma

__all__ = [
    "token_survival",
    "collapse_time_asymptotic",
    "collapse_time_wf_bounds",
    "capped_tail_bound",
    "first_loss_time_asymptotic",
    "genealogical_step",
    "lineage_count_matrix",
    "collapse_time_from_genealogy",
    "coalescent_bound",
    "kingman_tmrca_moments",
    "kingman_tmrca_sample",
    "kingman_tmrca_density",
]


# --- the survival of one token: a two-type chain --------------------------------------------------

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


# --- the mean collapse time: diffusion limits and bounds (theory notes §2.3-2.5) ------------------

FIRST_LOSS_MAX_SUPPORT = 20  # first_loss_time_asymptotic sums over 2^K subsets of the support


def _wf_setup(p0, n):
    """Validated 1-D ``p0`` and ``n`` as a float (scalar or array of ints >= 1)."""
    p0 = validate_distribution(p0, ndims=(1,))
    return p0, validate_sizes(n, "n")


def collapse_time_asymptotic(p0, n) -> np.ndarray:
    """Diffusion limit ``E[T] ~ -2n sum_i (1 - p_i) ln(1 - p_i)`` of the collapse time.

    Kimura (1955) for two tokens, Littler (1975) for many; exact as ``n -> inf`` with ``p0``
    fixed, and always ``< 2n``. ``p0`` has shape ``(s,)``; ``n`` is an int or an int array,
    and the result has the shape of ``n``. Uniform on ``K`` tokens it is
    ``2n (K-1) ln(K/(K-1))``: ``1.386 n`` for ``K = 2``, ``1.622 n`` for ``K = 3``.
    """
    from scipy.special import xlogy

    p0, n = _wf_setup(p0, n)
    return 2 * n * float(-xlogy(1 - p0, 1 - p0).sum()) + 0.0  # + 0.0: no -0.0 for a Dirac


def collapse_time_wf_bounds(p0, n) -> tuple[np.ndarray, np.ndarray]:
    """Non-asymptotic bounds ``n (1 - S_0) <= E[T] <= 3n - 2`` (theory notes §2.5).

    The lower bound sums ``E[1 - S_m]``; the upper one follows the genealogy of the ``n``
    tokens (a discrete coalescent). They hold for every ``n >= 1`` and ``p0`` and are much
    tighter than eq. (8) for large ``n``. Shapes as in :func:`collapse_time_asymptotic`.
    """
    p0, n = _wf_setup(p0, n)
    return n * (1 - float(sigma(p0))), 3 * n - 2


def capped_tail_bound(p0, n) -> float:
    """``sum_{k >= 0} min(1, n (1 - S_0) (1 - 1/n)^k)``: the paper's tail bound, capped at 1.

    The paper sums ``P(T > k) <= n (1 - S_0)(1 - 1/n)^k`` without the cap and gets
    ``1 + n (n - 1)(1 - S_0)``; capping each term gives about ``n ln(n (1 - S_0)) + n``.
    ``p0`` is a 1-D probability vector, ``n >= 2`` an int.
    """
    p0 = validate_distribution(p0, ndims=(1,))
    n = validate_int(n, "n", 2)
    a = n * (1.0 - float(p0 @ p0))
    if a <= 1.0:   # every term is already <= 1 (the k = 0 term is P(T > 0) = 1)
        return 1.0 + a * (n - 1)
    q = 1.0 - 1.0 / n
    k0 = int(np.floor(np.log(a) / -np.log(q))) + 1       # first k >= 1 with a q^k < 1
    return k0 + a * q**k0 * n                             # k0 ones, then a geometric tail


def first_loss_time_asymptotic(p0, n) -> np.ndarray:
    """Diffusion limit of the mean time until the first token of the support is lost.

    ``E[T_first] ~ 2n sum_{S != {}} (-1)^{|S|} p_S ln p_S`` over the nonempty subsets ``S``
    of the support of ``p0`` (``p_S = sum_{i in S} p_i``; Littler 1975, Baxter et al. 2007).
    Costs ``2^K`` terms for a support of ``K`` tokens, so ``K <= FIRST_LOSS_MAX_SUPPORT``. For
    ``K = 2`` it equals :func:`collapse_time_asymptotic`; ``0`` for a Dirac ``p0``. Shapes as in
    :func:`collapse_time_asymptotic`.
    """
    from scipy.special import xlogy

    p0, n = _wf_setup(p0, n)
    q = p0[p0 > 0]
    if q.size > FIRST_LOSS_MAX_SUPPORT:
        raise ValueError(f"p0 has {q.size} tokens in its support; the first-loss formula sums "
                         f"2^{q.size} subsets and is limited to {FIRST_LOSS_MAX_SUPPORT}. For a "
                         "large uniform support use the approximation 2n / (K ln K).")
    sums, sizes = np.zeros(1), np.zeros(1, np.int64)  # p_S and |S| over all subsets S
    for x in q:
        sums, sizes = np.concatenate([sums, sums + x]), np.concatenate([sizes, sizes + 1])
    terms = np.where(sizes % 2, -1.0, 1.0) * xlogy(sums, sums)
    return 2 * n * float(terms[1:].sum())


# --- the genealogy of the tokens ------------------------------------------------------------------

def genealogical_step(counts, rng: np.random.Generator) -> np.ndarray:
    """One generation by parent choice: each of the ``n`` children copies a uniform parent.

    ``counts`` is a ``(B, K)`` array of nonnegative ints whose rows all sum to the same ``n``
    (the types of the ``n`` current tokens, row by row). Every child of row ``b`` picks one of
    the ``n`` parents of row ``b`` uniformly and independently and copies its type. Returns the
    ``(B, K)`` counts of the children; in law this is ``Multinomial(n, counts / n)``.
    """
    counts = np.asarray(counts)
    if not np.issubdtype(counts.dtype, np.integer):
        raise TypeError(f"counts must hold integers (token counts), got dtype {counts.dtype}.")
    if counts.ndim != 2 or counts.shape[1] < 1:
        raise ValueError(f"counts must have shape (B, K), got {counts.shape}.")
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


def lineage_count_matrix(n) -> np.ndarray:
    """``P[k, j]``: the chance that ``k`` tokens pick ``j`` distinct parents among ``n``.

    The backward step of the genealogy: each of ``k`` tokens picks a uniform parent among the
    ``n`` tokens of the previous generation. Row ``k`` (``0 <= k <= n``) is built draw by draw:
    a new draw hits a new parent with probability ``(n - j)/n`` when ``j`` are already hit.
    Returns an ``(n + 1, n + 1)`` lower-triangular stochastic matrix; ``n >= 1`` an int.
    """
    n = validate_int(n, "n", 1)
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
    p0 = validate_distribution(p0, ndims=(1,))
    n = validate_int(n, "n", 1)
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


def coalescent_bound(n, form: str = "exact") -> float:
    """Upper bound on ``E[T]`` from the genealogy of the ``n`` tokens (any ``p0``).

    ``form="exact"``: ``1 + sum_{k=2}^{n} 1 / (1 - prod_{j<k} (1 - j/n))``, one generation plus
    the sum over ``k`` of the mean time the backward lineage count spends at ``k`` if it visits
    it. ``"exp"``: the same
    with the product replaced by ``exp(-k(k-1)/(2n))``. ``"linear"``: ``3n - 2``. Each form is
    at most the next one.
    """
    n = validate_int(n, "n", 1)
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


# --- Kingman's coalescent: the limit law of T/n ---------------------------------------------------

def kingman_tmrca_moments() -> tuple[float, float]:
    """Mean and variance of the Kingman coalescent's ``T_MRCA = sum_{k>=2} Exp(k(k-1)/2)``.

    ``(2, 4 pi^2/3 - 12)``: the limit law of ``T/n`` when ``p0`` spreads over ever more tokens
    (Kingman 1982; Tavare 1984), so ``E[T] ~ 2n`` and ``sd(T) ~ 1.08 n``.
    """
    return 2.0, 4 * np.pi**2 / 3 - 12


def kingman_tmrca_sample(size: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` draws of ``sum_{k=2}^{n} Exp(rate k(k-1)/2)``: Kingman's T_MRCA of ``n`` lineages.

    Time is in units of ``n`` generations of the Wright-Fisher model. Cost ``size * n``.
    """
    size = validate_int(size, "size", 1)
    n = validate_int(n, "n", 2)
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
