"""The paper's closed forms and bounds, written once for every chapter.

Notation follows the paper (Seddik et al. 2024, arXiv 2404.05090): ``p0`` is the true
next-token distribution of one context, shape ``(s,)``, or of ``c`` contexts, shape ``(c, s)``;
``n`` is the number of samples each generation is trained on (an int, or one per context);
``m`` is the generation. ``S_0 = sigma(p0)`` and ``s~ = support_size(p0)``.

Sections: Theorem 1 (Fully Synthetic training: ``S_m``, the bounds on ``rho_m`` and on
``E[T]``); Theorem 2 (Partially Synthetic training); Lemma 1 and Theorems 3 and 4 (the drift
from the first model); and the exact ``L^2`` deviations with fresh or fixed real data (theory
notes §2.8). Theorem 1 assumes a nontrivial ``p0`` (``S_0 < 1``). For a Dirac ``p0`` the chain
has already collapsed: the bounds are returned as their limits, ``rho_m = 1`` and ``E[T] = 1``.

The results beyond the paper that come from reading Fully Synthetic training as the
Wright-Fisher model of population genetics are in :mod:`helpers.wright_fisher`.
"""

from __future__ import annotations

import numpy as np

from helpers._validate import (
    validate_distribution,
    validate_generation_index,
    validate_int,
    validate_sample_size,
    validate_sizes,
)

__all__ = [
    "sigma",
    "support_size",
    "expected_sigma_fully_synthetic",
    "collapse_probability_bounds",
    "collapse_time_bounds",
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


# --- Partially Synthetic training: Theorem 2 ---------------------------------------------------

def _partial_setup(p0, n, N):
    """Validated ``(S_0, n, N)``, ``n`` and ``N`` as ints broadcast to the contexts of ``p0``."""
    p0 = validate_distribution(p0)
    contexts = p0.shape[0] if p0.ndim == 2 else None
    n = validate_sample_size(n, contexts)
    N = validate_sample_size(N, contexts, name="N")
    s0 = sigma(p0)
    return s0, np.broadcast_to(np.asarray(n), s0.shape), np.broadcast_to(np.asarray(N), s0.shape)


def alpha_beta(n, N):
    """``(alpha, beta)`` of Theorem 2: ``alpha = n/(N+n)``, ``beta = alpha[(1+1/N) alpha - 1/N]``.

    ``n`` synthetic and ``N`` real samples per generation (ints, or int arrays that broadcast).
    ``beta = n (n-1) / (N+n)^2`` is the contraction factor of the recursion of ``S_m``, and
    ``1 - beta = (1 - alpha)(1 + (1 + 1/N) alpha)``.
    """
    n, N = validate_sizes(n, "n"), validate_sizes(N, "N")
    alpha = n / (N + n)
    return alpha, alpha * ((1 + 1 / N) * alpha - 1 / N)


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
    alpha, beta = alpha_beta(n, N)
    d = 1 + (1 + 1 / N) * alpha
    power = beta ** np.maximum(mm - 1, 0)
    sign = np.where(printed & (mm >= 2), -1.0, 1.0)
    later = ((1 + 2 * alpha - (1 - 1 / N) * alpha * power) / (N * d)
             + (1 - 1 / N) * s0 * (1 + alpha + sign * alpha / N * power) / d)
    return np.where(mm == 0, s0, later)


def gamma_partially_synthetic(p0, n, N) -> np.ndarray:
    """``gamma = (1 - 1/N)(1 + alpha)(1 - S_0) / (1 + (1 + 1/N) alpha)`` of Theorem 2.

    ``S_m < 1 - gamma`` for every ``m >= 2`` (when ``n >= 2``) and ``S_m -> 1 - gamma``: no
    total collapse in expectation. Scalar for a 1-D ``p0``, shape ``(c,)`` for a 2-D one.
    """
    s0, n, N = _partial_setup(p0, n, N)
    alpha, _ = alpha_beta(n, N)
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
    return _log_G(validate_sizes(n, "n"), validate_sizes(s, "s"))


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
    n = validate_sizes(n, "n")
    log = -n * phi(pi_split(p)) * eps**2 / 4 + _log_G(n, p.size)
    with np.errstate(over="ignore"):
        out = np.exp(log)
    return out if np.ndim(out) else float(out)


def theorem3_bound(n, N, s) -> np.ndarray:
    """Theorem 3: ``E||p^(m) - p^(1)||_1 < (1/N) sqrt(pi n / 2) G_n(s)`` for all ``m >= 2``.

    Often vacuous (``> 2``) at the sizes of the paper's figures. Computed in log space.
    """
    n, N, s = validate_sizes(n, "n"), validate_sizes(N, "N"), validate_sizes(s, "s")
    log = _log_G(n, s) + 0.5 * np.log(np.pi * n / 2) - np.log(N)
    with np.errstate(over="ignore"):
        return np.exp(log)


def theorem3_max_n(N, s, eps) -> np.ndarray:
    """Eq. (11): ``n <= 2 pi e^-2 min[s - 2, log(sqrt(2) pi N eps / (6 e s))]`` suffices for
    ``E||p^(m) - p^(1)||_1 < eps`` (in the regime ``C_0 n/e + 2 <= s``).

    Returned as a float; a value below 1 means no ``n >= 1`` is guaranteed by (11).
    """
    N, s = validate_sizes(N, "N"), validate_sizes(s, "s")
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
    n, N = validate_sizes(n, "n"), validate_sizes(N, "N")
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
    n, N, s = validate_sizes(n, "n"), validate_sizes(N, "N"), validate_sizes(s, "s")
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
