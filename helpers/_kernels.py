"""Compiled kernels that run independent chains in parallel, each with its own random stream.

:func:`run_to_absorption` is the engine of :func:`helpers.statmodel.collapse_times`: one chain
per iteration of a ``numba.prange`` loop, so the chains spread over every core. A parallel
kernel must not share a random state between threads: numba's own ``np.random`` keeps one state
per thread, so its draws depend on how the chains were scheduled, and the results on the number
of threads. Here every chain owns a stream, fixed before the kernel starts by a 64-bit key drawn
with numpy from the caller's seed (:func:`chain_keys`); what a chain draws depends only on its
key, so the results are bit-identical for any number of threads.

The generator is xoshiro256** (Blackman and Vigna), its state seeded from the key by
SplitMix64, as its authors recommend. :func:`binomial` draws a binomial count exactly: by
inversion from 0 when the mean is small, otherwise by Hormann's transformed rejection with
squeeze (BTRS; W. Hormann, "The generation of binomial random variates", J. Statist. Comput.
Simul. 46, 1993), whose final acceptance test uses exact probabilities from a table of
``log k!`` (:func:`log_factorials`), so the cost does not grow with ``n``.

The kernel and everything it calls live in this one file on purpose: numba's on-disk cache
(``cache=True``) notices a change to the file of a cached function, not to the files of the
functions it calls.
"""

from __future__ import annotations

from functools import lru_cache

import numba
import numpy as np

__all__ = ["run_to_absorption", "chain_keys", "log_factorials", "seed", "uniform", "binomial"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_FIVE, _NINE = np.uint64(5), np.uint64(9)
_S7, _S11, _S17, _S27, _S30, _S31, _S45 = (np.uint64(k) for k in (7, 11, 17, 27, 30, 31, 45))
_S57, _S19 = np.uint64(57), np.uint64(19)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
_SMALL_MEAN = 10.0  # below this mean, invert from 0; above, transformed rejection


def chain_keys(rng: np.random.Generator, chains: int) -> np.ndarray:
    """One 64-bit key per chain, drawn from ``rng`` (so a seed fixes every chain's stream)."""
    return rng.integers(0, 2**64, size=chains, dtype=np.uint64)


@lru_cache(maxsize=8)
def log_factorials(n_max: int) -> np.ndarray:
    """``log k!`` for ``k = 0..n_max`` (read-only), for :func:`binomial`."""
    from scipy.special import gammaln

    table = gammaln(np.arange(n_max + 1, dtype=float) + 1.0)
    table.flags.writeable = False
    return table


@numba.njit(cache=True)
def seed(key, state):  # pragma: no cover (compiled)
    """Fill ``state`` (4 uint64) from ``key`` with SplitMix64."""
    z = np.uint64(key)
    for i in range(4):
        z += _GOLDEN
        t = z
        t = (t ^ (t >> _S30)) * _MIX1
        t = (t ^ (t >> _S27)) * _MIX2
        state[i] = t ^ (t >> _S31)


@numba.njit(cache=True)
def _next(state):  # pragma: no cover (compiled)
    """The next 64 random bits of the xoshiro256** stream ``state`` (advanced in place)."""
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    x = s1 * _FIVE
    result = ((x << _S7) | (x >> _S57)) * _NINE
    t = s1 << _S17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << _S45) | (s3 >> _S19)
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return result


@numba.njit(cache=True)
def uniform(state):  # pragma: no cover (compiled)
    """A uniform double in ``[0, 1)`` (53 random bits)."""
    return float(_next(state) >> _S11) * _TO_UNIT


@numba.njit(cache=True)
def binomial(state, n, p, log_fact):  # pragma: no cover (compiled)
    """A Binomial(``n``, ``p``) count from the stream ``state``; ``log_fact[k] = log k!``
    for ``k <= n``."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    flip = p > 0.5
    if flip:
        p = 1.0 - p
    if n * p < _SMALL_MEAN:
        x = _invert(state, n, p)
    else:
        x = _reject(state, n, p, log_fact)
    return n - x if flip else x


@numba.njit(cache=True)
def _invert(state, n, p):  # pragma: no cover (compiled)
    """Inversion in the order 0, 1, 2, ...; ``p <= 1/2`` and ``n p`` small."""
    ratio = p / (1.0 - p)
    f0 = np.exp(n * np.log1p(-p))
    while True:
        u, f, x = uniform(state), f0, 0
        while u > f and x < n:
            u -= f
            x += 1
            f *= (n - x + 1) / x * ratio
        if u <= f:
            return x
        # u fell in the sliver that rounding left above the last outcome: draw again


@numba.njit(cache=True)
def _reject(state, n, p, log_fact):  # pragma: no cover (compiled)
    """Transformed rejection with squeeze (Hormann 1993); ``p <= 1/2`` and ``n p >= 10``.

    A proposal ``k = floor((2a / us + b) u + c)`` from two uniforms is accepted at once in the
    region where the hat is known to lie below the binomial law (about 86% of proposals), and
    otherwise when ``v alpha / (a / us^2 + b) <= f(k) / f(m)``, ``m`` the mode.
    """
    q = 1.0 - p
    spq = np.sqrt(n * p * q)
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    v_r = 0.92 - 4.2 / b
    alpha = (2.83 + 5.1 / b) * spq
    m = int((n + 1) * p)
    log_r = np.log(p / q)
    base = log_fact[m] + log_fact[n - m]  # log f(k) / f(m) = base - lf[k] - lf[n-k] + (k-m) log r
    while True:
        u = uniform(state) - 0.5
        v = uniform(state)
        us = 0.5 - abs(u)
        k = int(np.floor((2.0 * a / us + b) * u + c))
        if us >= 0.07 and v <= v_r:
            return k
        if k < 0 or k > n:
            continue
        if np.log(v * alpha / (a / (us * us) + b)) <= (base - log_fact[k] - log_fact[n - k]
                                                        + (k - m) * log_r):
            return k


@numba.njit(parallel=True, cache=True)
def run_to_absorption(counts, sizes, limit, keys, log_fact):  # pragma: no cover (compiled)
    """Resample each chain (row of ``counts``, generation 1) until it is a Dirac mass.

    Chains run in parallel (``prange``), chain ``b`` drawing from the stream of ``keys[b]``
    only. Returns the collapse time and token of every chain, ``-1`` for chains still alive
    after ``limit`` generations.
    """
    chains = counts.shape[0]
    times = np.full(chains, -1)
    token = np.full(chains, -1)
    for b in numba.prange(chains):
        times[b], token[b] = _absorb(counts[b], sizes[b], limit, keys[b], log_fact)
    return times, token


@numba.njit(cache=True)
def _absorb(first, size, limit, key, log_fact):  # pragma: no cover (compiled)
    """``(T, token)`` of one chain from its first-generation counts ``first``, ``(-1, -1)`` if
    it is alive after ``limit`` generations. Each generation draws the multinomial as a sequence
    of conditional binomials over the chain's live tokens only."""
    state = np.empty(4, np.uint64)
    seed(key, state)
    x = np.empty(first.size, np.int64)  # live counts
    ids = np.empty(first.size, np.int64)  # their token indices
    k = 0
    for i in range(first.size):
        if first[i] > 0:
            x[k], ids[k] = first[i], i
            k += 1
    m = 1
    while k > 1 and m < limit:
        m += 1
        left, mass, j = size, size, 0
        for i in range(k):
            if i == k - 1:
                y = left
            elif left:
                y = binomial(state, left, x[i] / mass, log_fact)
            else:
                y = 0
            mass -= x[i]
            left -= y
            if y > 0:
                x[j], ids[j] = y, ids[i]
                j += 1
        k = j
    if k == 1:
        return m, ids[0]
    return -1, -1
