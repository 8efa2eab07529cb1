"""Closed forms of Theorem 1 (Fully Synthetic training), written once for every chapter.

Notation follows the paper (Seddik et al. 2024, arXiv 2404.05090): ``p0`` is the true
next-token distribution of one context, shape ``(s,)``, or of ``c`` contexts, shape ``(c, s)``;
``n`` is the number of samples each generation is trained on (an int, or one per context);
``m`` is the generation. ``S_0 = sigma(p0)`` and ``s~ = support_size(p0)``.

Theorem 1 assumes a nontrivial ``p0`` (``S_0 < 1``). For a Dirac ``p0`` the chain has already
collapsed: the bounds are returned as their limits, ``rho_m = 1`` and ``E[T] = 1``.

Beyond the paper, the last section gives the Wright-Fisher (population-genetics) results on
``E[T]``: its diffusion limit, non-asymptotic bounds linear in ``n``, the first-loss time and
the Kingman limit (theory notes §2).
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
    "alpha_beta",
    "expected_sigma_partially_synthetic",
    "gamma_partially_synthetic",
    "concentration_G",
    "log_concentration_G",
    "phi",
    "pi_split",
    "lambda_max_split",
    "lemma1_tail_bound",
    "theorem3_bound",
    "theorem3_max_n",
    "theorem4_zeta",
    "theorem4_bound",
    "stationary_l2_fresh",
    "expected_l2_fresh",
    "stationary_l2_fixed",
    "expected_l2_fixed",
    "collapse_time_asymptotic",
    "collapse_time_wf_bounds",
    "first_loss_time_asymptotic",
    "kingman_tmrca_moments",
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


# --- Partially Synthetic training: Theorem 2 ---------------------------------------------------

def _partial_setup(p0, n, N):
    """Validated ``(S_0, n, N)`` as floats broadcastable to the contexts of ``p0``."""
    p0 = validate_distribution(p0)
    contexts = p0.shape[0] if p0.ndim == 2 else None
    n = validate_sample_size(n, contexts)
    N = validate_sample_size(N, contexts, name="N")
    s0 = sigma(p0)
    return (s0, np.broadcast_to(np.asarray(n, float), s0.shape),
            np.broadcast_to(np.asarray(N, float), s0.shape))


def alpha_beta(n, N):
    """``(alpha, beta)`` of Theorem 2: ``alpha = n/(N+n)``, ``beta = alpha[(1+1/N) alpha - 1/N]``.

    ``n`` synthetic and ``N`` real samples per generation (ints, or int arrays that broadcast).
    ``beta = n (n-1) / (N+n)^2`` is the contraction factor of the recursion of ``S_m``, and
    ``1 - beta = (1 - alpha)(1 + (1 + 1/N) alpha)``.
    """
    n, N = _positive_ints(n, "n"), _positive_ints(N, "N")
    alpha = n / (N + n)
    return alpha, alpha * ((1 + 1 / N) * alpha - 1 / N)


def _positive_ints(x, name):
    """``x`` (an int or an array of ints >= 1) as float; scalars stay scalars."""
    arr = np.asarray(x)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must be an integer (or an array of integers), got {x!r}.")
    if (arr < 1).any():
        raise ValueError(f"{name} must be >= 1, got min {arr.min()}.")
    return arr.astype(float) if arr.ndim else float(arr)


def expected_sigma_partially_synthetic(p0, n, N, m, printed: bool = False) -> np.ndarray:
    """``S_m = E||p^(m)||^2`` under Partially Synthetic training (fixed real corpus), eq. (9).

    ``S_0 = ||p0||^2``, ``S_1 = 1/N + (1 - 1/N) S_0`` and, for ``m >= 1`` (the paper's
    ``S_{m+1}`` with ``beta^m``), with ``D = 1 + (1 + 1/N) alpha``::

        S_{m+1} = (1/N) [1 + 2 alpha - (1 - 1/N) alpha beta^m] / D
                + (1 - 1/N) S_0 [1 + alpha + (alpha/N) beta^m] / D

    This is the corrected formula (the paper prints ``- (alpha/N) beta^m``, an erratum checked
    by derivation and Monte Carlo); ``printed=True`` gives the printed sign for ``m >= 2`` (for
    comparison only; ``S_0`` and ``S_1`` are unaffected). Shapes as in
    :func:`expected_sigma_fully_synthetic`; ``N`` may be per context like ``n``.
    """
    s0, n, N = _partial_setup(p0, n, N)
    m = validate_generation_index(m)
    mm = m.reshape(m.shape + (1,) * s0.ndim)
    alpha, beta = _alpha_beta(n, N)
    d = 1 + (1 + 1 / N) * alpha
    power = beta ** np.maximum(mm - 1, 0)
    sign = np.where(printed & (mm >= 2), -1.0, 1.0)
    later = ((1 + 2 * alpha - (1 - 1 / N) * alpha * power) / (N * d)
             + (1 - 1 / N) * s0 * (1 + alpha + sign * alpha / N * power) / d)
    return np.where(mm == 0, s0, later)


def _alpha_beta(n, N):
    """:func:`alpha_beta` on validated float arrays (no checks)."""
    alpha = n / (N + n)
    return alpha, alpha * ((1 + 1 / N) * alpha - 1 / N)


def gamma_partially_synthetic(p0, n, N) -> np.ndarray:
    """``gamma = (1 - 1/N)(1 + alpha)(1 - S_0) / (1 + (1 + 1/N) alpha)`` of Theorem 2.

    ``S_m < 1 - gamma`` for every ``m >= 2`` (when ``n >= 2``) and ``S_m -> 1 - gamma``: no
    total collapse in expectation. Scalar for a 1-D ``p0``, shape ``(c,)`` for a 2-D one.
    """
    s0, n, N = _partial_setup(p0, n, N)
    alpha, _ = _alpha_beta(n, N)
    return (1 - 1 / N) * (1 + alpha) * (1 - s0) / (1 + (1 + 1 / N) * alpha)


# --- Theorem 3, Lemma 1 and Theorem 4: model deviation -----------------------------------------

C0 = np.e**3 / (2 * np.pi)
C1 = 6 * np.e / np.pi**1.5


def log_concentration_G(n, s) -> np.ndarray:
    """``log G_n(s)``, eq. (10), computed in log space (``G_n(s)`` overflows for large ``s``).

    ``G = C_1 s e^{C_0 n / (2e)}`` if ``C_0 n/e + 2 <= s``; ``C_1 s (C_0 n/s)^{s/2}`` if
    ``C_0 n/4 + 2 <= s < C_0 n/e + 2``; ``2^s - 2`` if ``s < C_0 n/4 + 2``; with
    ``C_0 = e^3/(2 pi)`` and ``C_1 = 6e/pi^{3/2}``. ``-inf`` for ``s = 1`` (``2^1 - 2 = 0``).
    """
    return _log_G(_positive_ints(n, "n"), _positive_ints(s, "s"))


def _log_G(n, s):
    """:func:`log_concentration_G` on validated floats."""
    n, s = np.broadcast_arrays(np.asarray(n, float), np.asarray(s, float))
    base = np.log(C1) + np.log(s)
    with np.errstate(divide="ignore"):
        small = s * np.log(2) + np.log1p(-(2.0 ** (1 - s)))
    out = np.where(s >= C0 * n / np.e + 2, base + C0 * n / (2 * np.e),
                   np.where(s >= C0 * n / 4 + 2, base + s / 2 * np.log(C0 * n / s), small))
    return out if out.ndim else float(out)


def concentration_G(n, s) -> np.ndarray:
    """``G_n(s)`` of eq. (10) (see :func:`log_concentration_G`); may be ``inf`` when huge."""
    with np.errstate(over="ignore"):
        return np.exp(log_concentration_G(n, s))


def phi(x) -> np.ndarray:
    """``phi(x) = log((1-x)/x) / (1-2x)`` on ``[0, 1/2]``, ``phi(1/2) = 2``, ``phi(0) = inf``.

    Evaluated as ``2 artanh(1-2x)/(1-2x)``, smooth through ``x = 1/2``, and as the log of the
    definition for ``x < 1/4`` (where ``1 - 2x`` rounds to 1 for tiny ``x``); decreasing, ``>= 2``.
    """
    x = np.asarray(x, float)
    if ((x < 0) | (x > 0.5) | np.isnan(x)).any():
        raise ValueError(f"phi is defined on [0, 1/2], got values in [{x.min()}, {x.max()}].")
    u = 1 - 2 * x
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(u < 1e-8, 2 + 2 * u**2 / 3, 2 * np.arctanh(u) / np.where(u < 1e-8, 1, u))
        out = np.where(x < 0.25, (np.log1p(-x) - np.log(x)) / u, out)
    return out if out.ndim else float(out)


EXACT_SUPPORT = 40  # pi_split is exact (meet in the middle) up to this many nonzero entries


def pi_split(p, resolution: float = 1e-7, denominator: int | None = None) -> float:
    """``pi_p = max_A min{p(A), 1 - p(A)}``, eq. (12): the subset sum closest to 1/2 (``<= 1/2``).

    Exact (all subset sums, meet in the middle) when ``p`` has at most ``EXACT_SUPPORT`` nonzero
    entries, or when ``denominator`` ``D`` is given and every ``D p_i`` is an integer (e.g. ``D =
    N`` for an empirical distribution of ``N`` samples): then a subset-sum DP over the integers
    ``D p_i``. Otherwise an upper bound within ``s~ * resolution`` of ``pi_p``: the same DP over
    the probabilities rounded down to multiples of ``resolution``. An upper bound errs on the
    safe side in Lemma 1 and Theorem 4 (``phi`` decreases), as does the paper's fallback
    ``pi_p <= 1/2``, ``phi = 2``. ``p`` is one distribution, shape ``(s,)``.
    """
    p = validate_distribution(p, "p", ndims=(1,))
    q = np.sort(p[p > 0])[::-1]
    if denominator is not None:
        denominator = validate_int(denominator, "denominator", 1)
        units = np.round(q * denominator)
        if not np.allclose(units, q * denominator, rtol=0, atol=1e-6):
            raise ValueError(f"denominator={denominator} does not make every entry of p an "
                             "integer multiple of 1/denominator; pass the sample size of an "
                             "empirical distribution, or None.")
        return _best_half(units.astype(np.int64), denominator // 2) / denominator
    if q.size <= EXACT_SUPPORT:
        half = q.size // 2
        a, b = _subset_sums(q[:half]), np.sort(_subset_sums(q[half:]))
        # for each a, the b closest to 1/2 - a on either side
        k = np.searchsorted(b, 0.5 - a)
        best = 0.0
        for j in (np.clip(k - 1, 0, b.size - 1), np.clip(k, 0, b.size - 1)):
            x = a + b[j]
            best = max(best, float(np.minimum(x, 1 - x).max()))
        return min(best, 0.5)
    if not 0 < resolution < 0.5:
        raise ValueError(f"resolution must lie in (0, 1/2), got {resolution}.")
    top = _best_half(np.floor(q / resolution).astype(np.int64), int(0.5 / resolution))
    return min(0.5, (top + q.size) * resolution)


def _best_half(weights: np.ndarray, target: int) -> int:
    """The largest subset sum of the nonnegative ints ``weights`` that is ``<= target``."""
    reach = np.zeros(target + 1, bool)
    reach[0] = True
    for w in weights:
        if w <= target:
            reach[w:] |= reach[: target + 1 - w].copy()
    return int(np.flatnonzero(reach)[-1])


def _subset_sums(q: np.ndarray) -> np.ndarray:
    """All ``2^len(q)`` subset sums of ``q``."""
    sums = np.zeros(1)
    for x in q:
        sums = np.concatenate([sums, sums + x])
    return sums


def lambda_max_split(p, resolution: float = 1e-7, denominator: int | None = None) -> float:
    """``lambda = max_A p(A) p(A^c)`` (Theorem 4) ``= pi_p (1 - pi_p)``, via :func:`pi_split`.

    Exact under the same conditions as :func:`pi_split`, otherwise an upper bound.
    """
    pi = pi_split(p, resolution, denominator)
    return pi * (1 - pi)


def lemma1_tail_bound(p, n, eps) -> np.ndarray:
    """Lemma 1: ``P(||p_hat - p||_1 >= eps) <= exp(-n phi(pi_p) eps^2 / 4) G_n(s)``.

    ``p_hat`` is the empirical distribution of ``n`` samples of ``p`` (shape ``(s,)``, ``s``
    the vocabulary size, zeros included); ``eps > 0`` a float or array. Computed in log space;
    the bound can exceed 1 (vacuous) and may be ``inf``.

    Caution: as printed (and implemented here) the lemma is false when ``s`` is much larger
    than ``n``: for ``p`` uniform on ``s > n`` tokens ``||p_hat - p||_1 >= 2 - 2n/s`` surely,
    yet the first branch of ``G_n(s)`` makes the bound smaller than 1 (e.g. ``s = 600``,
    ``n = 10``: about ``2.5e-3``). Chapter "How much synthetic data is safe?" shows it.
    """
    p = validate_distribution(p, "p", ndims=(1,))
    eps = np.asarray(eps, float)
    if (eps <= 0).any() or np.isnan(eps).any():
        raise ValueError("eps must be positive.")
    n = _positive_ints(n, "n")
    log = -n * phi(pi_split(p)) * eps**2 / 4 + _log_G(n, p.size)
    with np.errstate(over="ignore"):
        out = np.exp(log)
    return out if np.ndim(out) else float(out)


def theorem3_bound(n, N, s) -> np.ndarray:
    """Theorem 3: ``E||p^(m) - p^(1)||_1 < (1/N) sqrt(pi n / 2) G_n(s)`` for all ``m >= 2``.

    Often vacuous (``> 2``) at the sizes of the paper's figures. Computed in log space.
    """
    n, N, s = _positive_ints(n, "n"), _positive_ints(N, "N"), _positive_ints(s, "s")
    log = _log_G(n, s) + 0.5 * np.log(np.pi * n / 2) - np.log(N)
    with np.errstate(over="ignore"):
        return np.exp(log)


def theorem3_max_n(N, s, eps) -> np.ndarray:
    """Eq. (11): ``n <= 2 pi e^-2 min[s - 2, log(sqrt(2) pi N eps / (6 e s))]`` suffices for
    ``E||p^(m) - p^(1)||_1 < eps`` (in the regime ``C_0 n/e + 2 <= s``).

    Returned as a float; a value below 1 means no ``n >= 1`` is guaranteed by (11).
    """
    N, s = _positive_ints(N, "N"), _positive_ints(s, "s")
    eps = np.asarray(eps, float)
    if (eps <= 0).any():
        raise ValueError("eps must be positive.")
    out = 2 * np.pi / np.e**2 * np.minimum(s - 2, np.log(np.sqrt(2) * np.pi * N * eps
                                                          / (6 * np.e * s)))
    return out if np.ndim(out) else float(out)


def theorem4_zeta(E_lambda1, n, N, corrected: bool = True) -> np.ndarray:
    """``zeta`` of Theorem 4 from ``E_lambda1 = E max_A p^(1)(A) p^(1)(A^c)`` (in [0, 1/4]).

    ``corrected=True`` (default): ``zeta' = 2 min{1/4, (N^2 E_lambda1 + N n + n^2/4)/(N+n)^2}``,
    what the proof supports. ``corrected=False``: the printed
    ``zeta = 1/2 - (1/2 - 2 E_lambda1) (N/(N+n))^2``, which rests on a false equality (it is
    smaller by ``N n / (N+n)^2``).
    """
    lam = np.asarray(E_lambda1, float)
    if ((lam < 0) | (lam > 0.25) | np.isnan(lam)).any():
        raise ValueError(f"E_lambda1 must lie in [0, 1/4] (p(A) p(A^c) <= 1/4), got {E_lambda1}.")
    n, N = _positive_ints(n, "n"), _positive_ints(N, "N")
    if corrected:
        out = 2 * np.minimum(0.25, (N**2 * lam + N * n + n**2 / 4) / (N + n) ** 2)
    else:
        out = 0.5 - (0.5 - 2 * lam) * (N / (N + n)) ** 2
    return out if np.ndim(out) else float(out)


def theorem4_bound(n, N, s, zeta) -> np.ndarray:
    """Theorem 4, eq. (16): ``E||p^(k+1) - p^(1)||_1 < (1/N) sqrt(n pi / phi(zeta)) G_n(s)``.

    ``zeta`` from :func:`theorem4_zeta`, in ``[0, 1/2]``; ``phi(zeta) >= 2``, so this is never
    above :func:`theorem3_bound`. Computed in log space.
    """
    n, N, s = _positive_ints(n, "n"), _positive_ints(N, "N"), _positive_ints(s, "s")
    log = (_log_G(n, s) + 0.5 * np.log(np.pi * n / np.asarray(phi(zeta)))
           - np.log(N))
    with np.errstate(over="ignore"):
        return np.exp(log)


# --- exact L2 deviation: fresh vs fixed real data (theory notes §2.8) --------------------------

def _l2_setup(p, n, N, name="p0"):
    """Validated ``(1 - ||p||^2, n, N)`` as floats broadcastable to the contexts of ``p``."""
    p = validate_distribution(p, name)
    contexts = p.shape[0] if p.ndim == 2 else None
    n = np.asarray(validate_sample_size(n, contexts), float)
    N = np.asarray(validate_sample_size(N, contexts, name="N"), float)
    return 1 - sigma(p), n, N


def stationary_l2_fresh(p0, n, N) -> np.ndarray:
    """``lim E||p^(m) - p0||_2^2 = (1 - ||p0||^2)(N+n) / (N^2 + 2Nn + n)``, fresh real data.

    The scheme ``partially_synthetic(..., real="fresh")``: ``N`` new real samples every
    generation (Wright-Fisher with immigration); scalar or one value per context.
    """
    h, n, N = _l2_setup(p0, n, N)
    return h * (N + n) / (N**2 + 2 * N * n + n)


def expected_l2_fresh(p0, n, N, m) -> np.ndarray:
    """``V_m = E||p^(m) - p0||_2^2`` with fresh real data: ``V_0 = 0``, ``V_1 = (1-||p0||^2)/N``,
    ``V_{m+1} = [(N+n)(1-||p0||^2) + (n^2-n) V_m] / (N+n)^2``.

    Solved as ``V_m = V_inf + (V_1 - V_inf) beta^(m-1)``, ``beta = n(n-1)/(N+n)^2``. Shapes as
    in :func:`expected_sigma_fully_synthetic`.
    """
    h, n, N = _l2_setup(p0, n, N)
    m = validate_generation_index(m)
    mm = m.reshape(m.shape + (1,) * h.ndim)
    v_inf = h * (N + n) / (N**2 + 2 * N * n + n)
    beta = n * (n - 1) / (N + n) ** 2
    v = v_inf + (h / N - v_inf) * beta ** np.maximum(mm - 1, 0)
    return np.where(mm == 0, 0.0, v)


def stationary_l2_fixed(p1, n, N) -> np.ndarray:
    """``lim E[||p^(m) - p^(1)||_2^2 | p^(1)] = n (1 - ||p1||^2) / (N^2 + 2Nn + n)``.

    The paper's scheme (one real corpus, whose empirical distribution is ``p1``, reused).
    """
    h, n, N = _l2_setup(p1, n, N, "p1")
    return n * h / (N**2 + 2 * N * n + n)


def expected_l2_fixed(p1, n, N, m) -> np.ndarray:
    """``W_m = E[||p^(m) - p^(1)||_2^2 | p^(1) = p1]``, fixed real corpus: ``W_1 = 0``,
    ``W_{m+1} = [n (1 - ||p1||^2) + (n^2 - n) W_m] / (N+n)^2``, so
    ``W_m = W_inf (1 - beta^(m-1))`` for ``m >= 1``, ``beta = n(n-1)/(N+n)^2``.

    Only ``m >= 1`` is meaningful (``p^(1)`` is given). Averaged over ``p^(1)``, ``S_1 + E W_m``
    equals the corrected eq. (9).
    """
    h, n, N = _l2_setup(p1, n, N, "p1")
    m = validate_generation_index(m)
    if (m < 1).any():
        raise ValueError("expected_l2_fixed is defined for generations m >= 1 (p^(1) is given).")
    mm = m.reshape(m.shape + (1,) * h.ndim)
    beta = n * (n - 1) / (N + n) ** 2
    return n * h / (N**2 + 2 * N * n + n) * (1 - beta ** (mm - 1))


# --- Wright-Fisher asymptotics of the collapse time (theory notes §2.3-2.5) --------------------

FIRST_LOSS_MAX_SUPPORT = 20  # first_loss_time_asymptotic sums over 2^K subsets of the support


def _wf_setup(p0, n):
    """Validated 1-D ``p0`` and ``n`` as a float (scalar or array of ints >= 1)."""
    p0 = validate_distribution(p0, ndims=(1,))
    return p0, _positive_ints(n, "n")


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
    sums, sizes = _subset_sums(q), np.zeros(1, np.int64)
    for _ in q:
        sizes = np.concatenate([sizes, sizes + 1])
    terms = np.where(sizes % 2, -1.0, 1.0) * xlogy(sums, sums)
    return 2 * n * float(terms[1:].sum())


def kingman_tmrca_moments() -> tuple[float, float]:
    """Mean and variance of the Kingman coalescent's ``T_MRCA = sum_{k>=2} Exp(k(k-1)/2)``.

    ``(2, 4 pi^2/3 - 12)``: the limit law of ``T/n`` when ``p0`` spreads over ever more tokens
    (Kingman 1982; Tavare 1984), so ``E[T] ~ 2n`` and ``sd(T) ~ 1.08 n``.
    """
    return 2.0, 4 * np.pi**2 / 3 - 12
