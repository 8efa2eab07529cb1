"""The statistical language model of the paper, trained recursively: a vectorised engine.

One context's next-token distribution is a probability vector over ``s`` tokens. Generation
``m`` is the empirical distribution (the MLE, eq. (2)) of ``n`` samples drawn from generation
``m - 1`` (Fully Synthetic training, §2.2). With ``c`` contexts, ``p0`` has shape ``(c, s)`` and
every context evolves independently, with its own sample size if ``n`` has shape ``(c,)``.

Internally every (run, context) pair is one *chain*, a row of a count matrix, and one
generation is one call of :func:`_resample` on all chains. Other training schemes change only
what is resampled and added: Partially Synthetic training is ``real + _resample(counts, n, rng,
total=N + n)`` with the fixed real counts ``real``; a window of the ``K`` latest generations or a
random pool resamples ``n / K`` (or random) samples from each stored generation and sums them.

Collapse times need many generations of one chain at a time, so :func:`collapse_times` runs its
generations after the first in a small numba kernel that touches only each chain's live tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from helpers._validate import validate_distribution, validate_int, validate_sample_size
from helpers.theory import (
    collapse_probability_bounds,
    collapse_time_bounds,
    expected_sigma_fully_synthetic,
    sigma,
    support_size,
)

__all__ = [
    "fully_synthetic",
    "collapse_times",
    "CollapseTimes",
    "l1_drift",
    "is_dirac",
    "collapsed_fraction",
    "sigma",
    "support_size",
    "expected_sigma_fully_synthetic",
    "collapse_probability_bounds",
    "collapse_time_bounds",
]


# --- engine -----------------------------------------------------------------------------------

def _rng(seed) -> np.random.Generator:
    """A Generator from an int seed, ``None`` (fresh entropy) or an existing Generator."""
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    return np.random.default_rng(validate_int(seed, "seed", 0))


def _chains(p0, n, runs: int):
    """Flatten ``runs`` copies of every context into chains.

    Returns the chains' start distributions ``(B, s)``, their sample sizes ``(B,)`` and the
    leading output shape, ``(runs,)`` or ``(runs, c)``; chain ``b`` is run ``b // c``, context
    ``b % c``.
    """
    p0 = validate_distribution(p0)
    contexts = p0.shape[0] if p0.ndim == 2 else None
    n = validate_sample_size(n, contexts)
    runs = validate_int(runs, "runs", 1)
    p0 = p0 / p0.sum(axis=-1, keepdims=True)  # exact normalisation for the sampler
    lead = (runs,) + p0.shape[:-1]
    starts = np.broadcast_to(p0, lead + p0.shape[-1:]).reshape(-1, p0.shape[-1])
    sizes = np.broadcast_to(np.asarray(n, dtype=np.int64), lead).reshape(-1)
    return starts, sizes, lead


def _resample(weights: np.ndarray, n: np.ndarray, rng: np.random.Generator,
              total: np.ndarray | None = None) -> np.ndarray:
    """Counts of ``n[b]`` samples from the distribution ``weights[b] / total[b]``.

    ``weights`` is a ``(B, w)`` array of probabilities or counts, ``n`` a ``(B,)`` int array and
    ``total`` the row sums of ``weights``, shape ``(B, 1)`` or scalar (computed if not given).
    Returns ``(B, w)`` int64 counts whose row ``b`` sums to ``n[b]``. This is the only random
    step of the engine.
    """
    if total is None:
        total = weights.sum(axis=1, keepdims=True)
    return rng.multinomial(n, weights / total)


def fully_synthetic(p0, n, generations: int, runs: int = 1, seed=None) -> np.ndarray:
    """Simulate Fully Synthetic training: ``p^(m)`` is the MLE on ``n`` samples of ``p^(m-1)``.

    Returns a float array of shape ``(runs, generations + 1, s)`` for ``p0`` of shape ``(s,)``
    and ``(runs, generations + 1, c, s)`` for ``p0`` of shape ``(c, s)``; index 0 holds ``p0``.
    ``n`` is an int, or an int array of shape ``(c,)`` with one sample size per context.
    ``seed`` is an int, ``None`` or a ``np.random.Generator``; the same int gives the same array.
    """
    starts, sizes, lead = _chains(p0, n, runs)
    generations = validate_int(generations, "generations", 0)
    rng = _rng(seed)
    shape = lead + starts.shape[1:]  # (runs, s) or (runs, c, s): one generation of every run
    traj = np.empty(shape[:1] + (generations + 1,) + shape[1:])
    traj[:, 0] = starts.reshape(shape)
    counts = starts
    for m in range(1, generations + 1):
        counts = _resample(counts, sizes, rng, total=None if m == 1 else sizes[:, None])
        traj[:, m] = (counts / sizes[:, None]).reshape(shape)
    return traj


@dataclass(frozen=True, eq=False)
class CollapseTimes:
    """Collapse times ``T`` of independent chains; arrays of shape ``(runs,)`` or ``(runs, c)``.

    ``times``: the first generation ``m >= 1`` at which ``p^(m)`` is a Dirac mass, ``-1`` where
    the chain was still alive after ``max_generations``. ``token``: the index (last axis of
    ``p0``) of the token it collapsed onto, ``-1`` where not absorbed. ``absorbed``:
    ``times >= 1``. ``max_generations``: the limit used (the safety cap if none was given).
    """

    times: np.ndarray
    token: np.ndarray
    absorbed: np.ndarray
    max_generations: int

    def _check_absorbed(self) -> None:
        if not self.absorbed.all():
            raise ValueError(
                f"{int((~self.absorbed).sum())} of {self.absorbed.size} chains were not absorbed "
                f"within max_generations={self.max_generations}, so their collapse times are "
                "unknown; rerun collapse_times with max_generations=None (run to absorption).")

    def mean(self) -> float | np.ndarray:
        """Mean collapse time over runs (per context for a 2-D ``p0``); needs every run absorbed."""
        self._check_absorbed()
        return self.times.mean(axis=0)

    def sem(self) -> float | np.ndarray:
        """Standard error of :meth:`mean` (needs at least two runs, all absorbed)."""
        self._check_absorbed()
        if len(self.times) < 2:
            raise ValueError("the standard error needs at least two runs.")
        return self.times.std(axis=0, ddof=1) / np.sqrt(len(self.times))


def collapse_times(p0, n, runs: int, seed=None,
                   max_generations: int | None = None) -> CollapseTimes:
    """Simulate ``runs`` Fully Synthetic chains until each collapses to a Dirac mass.

    Arguments as in :func:`fully_synthetic`. With ``max_generations=None`` every chain runs to
    absorption, which the paper's own tail bound ``P(T > k) <= n (1 - S_0)(1 - 1/n)^k`` makes
    certain well before the safety cap ``100 n + 1000`` (a ``RuntimeError`` if ever reached).
    With an int, chains alive after that many generations are reported as not absorbed.

    The first generation is drawn with numpy; the rest run in a compiled kernel
    (:func:`_run_to_absorption`) that keeps only each chain's live tokens, so the cost follows
    the live chains and their live tokens.
    """
    starts, sizes, lead = _chains(p0, n, runs)
    rng = _rng(seed)
    cap = 100 * int(sizes.max()) + 1000
    limit = cap if max_generations is None else validate_int(max_generations, "max_generations", 1)
    first = _resample(starts, sizes, rng)
    kernel_seed = int(rng.integers(2**31 - 1))
    times, token = _run_to_absorption(first, sizes, limit, kernel_seed)
    absorbed = times >= 1
    if max_generations is None and not absorbed.all():
        raise RuntimeError(f"{int((~absorbed).sum())} chains were still alive after {cap} "
                           "generations; this should not happen, please report it.")
    return CollapseTimes(times.reshape(lead), token.reshape(lead), absorbed.reshape(lead), limit)


@numba.njit(cache=True)
def _run_to_absorption(counts, sizes, limit, seed):  # pragma: no cover (compiled)
    """Resample each chain (row of ``counts``, generation 1) until it is a Dirac mass.

    Each generation draws the multinomial as a sequence of conditional binomials over the
    chain's live tokens only. Returns the collapse time and token of every chain, ``-1`` for
    chains still alive after ``limit`` generations.
    """
    np.random.seed(seed)  # noqa: NPY002 (numba kernels have their own, seeded, state)
    chains, width = counts.shape
    times = np.full(chains, -1)
    token = np.full(chains, -1)
    x = np.empty(width, np.int64)  # live counts of the current chain
    ids = np.empty(width, np.int64)  # their token indices
    for b in range(chains):
        k = 0
        for i in range(width):
            if counts[b, i] > 0:
                x[k], ids[k] = counts[b, i], i
                k += 1
        m = 1
        while k > 1 and m < limit:
            m += 1
            left, mass, j = sizes[b], sizes[b], 0
            for i in range(k):
                y = left if i == k - 1 else (np.random.binomial(left, x[i] / mass) if left else 0)  # noqa: NPY002
                mass -= x[i]
                left -= y
                if y > 0:
                    x[j], ids[j] = y, ids[i]
                    j += 1
            k = j
        if k == 1:
            times[b], token[b] = m, ids[0]
    return times, token


# --- tracked quantities -----------------------------------------------------------------------

def is_dirac(p, atol: float = 1e-12) -> np.ndarray:
    """Whether each distribution (last axis) is a Dirac mass, i.e. its largest entry is 1."""
    return np.max(p, axis=-1) >= 1 - atol


def collapsed_fraction(traj: np.ndarray) -> np.ndarray:
    """Fraction of runs that are a Dirac mass at each generation: the estimate of ``rho_m``.

    ``traj`` as returned by :func:`fully_synthetic`; shape ``(generations + 1,)`` or
    ``(generations + 1, c)``.
    """
    return is_dirac(traj).mean(axis=0)


def l1_drift(traj: np.ndarray, ref_index: int = 1) -> np.ndarray:
    """Drift ``||p^(m) - p^(ref)||_1`` of every run and generation (default ref: ``p^(1)``).

    ``traj`` as returned by :func:`fully_synthetic`; shape ``(runs, generations + 1)`` or
    ``(runs, generations + 1, c)``.
    """
    traj = np.asarray(traj)
    if traj.ndim not in (3, 4):
        raise ValueError("traj must have shape (runs, generations + 1, s) or "
                         f"(runs, generations + 1, c, s), got shape {traj.shape}.")
    generations = traj.shape[1]
    ref_index = validate_int(ref_index, "ref_index", 0)
    if ref_index >= generations:
        raise ValueError(f"ref_index={ref_index} is out of range for {generations} stored "
                         "generations (indices 0 to generations).")
    return np.abs(traj - traj[:, ref_index : ref_index + 1]).sum(axis=-1)
