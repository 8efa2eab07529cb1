"""The statistical language model of the paper, trained recursively: a vectorised engine.

One context's next-token distribution is a probability vector over ``s`` tokens. Generation
``m`` is the empirical distribution (the MLE, eq. (2)) of ``n`` samples drawn from generation
``m - 1`` (Fully Synthetic training, §2.2). With ``c`` contexts, ``p0`` has shape ``(c, s)`` and
every context evolves independently, with its own sample size if ``n`` has shape ``(c,)``.

Internally every (run, context) pair is one *chain*, a row of a ``(B, s)`` array, and one
generation of every chain is one call of :func:`next_generation` (shown in Chapter 2,
*Recursive training*).

Every other scheme is a :class:`Schedule` run by one engine, :func:`recursive` (eq. (5)): the
schedule gives ``n_t^(m)``, the number of samples generation ``m`` takes from each source ``t``
(the real data ``t = 0``, the models ``t >= 1``), and says which sources are drawn afresh and
which are stored once. :func:`partially_synthetic` (fixed or fresh real data),
:func:`most_recent`, :func:`random_pool` and :func:`accumulate` are a few lines each on top of it.

Collapse times need many generations of one chain at a time, so :func:`collapse_times` runs its
generations after the first in a small numba kernel that touches only each chain's live tokens,
its chains in parallel on every core, each with its own random stream (so the results do not
depend on the number of threads).
Both :func:`fully_synthetic` and :func:`collapse_times` take an optional ``sampler`` (a decoding
rule from :mod:`helpers.decoding`) that each model samples through; :func:`exact_collapse_time`
gives the exact ``E[T]`` for small ``n`` and support from the chain on count vectors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from helpers import _kernels
from helpers._validate import (
    validate_distribution,
    validate_int,
    validate_sample_size,
    validate_seed,
)
from helpers.agreement import mean_se

__all__ = [
    "fully_synthetic",
    "next_generation",
    "recursive",
    "Schedule",
    "partially_synthetic",
    "most_recent",
    "random_pool",
    "accumulate",
    "first_dirac_time",
    "collapse_times",
    "CollapseTimes",
    "exact_collapse_time",
    "exact_collapse_time_moments",
    "l1_drift",
    "is_dirac",
    "collapsed_fraction",
]


# --- engine -----------------------------------------------------------------------------------

def _rng(seed) -> np.random.Generator:
    """A Generator from an int seed, ``None`` (fresh entropy) or an existing Generator."""
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    return np.random.default_rng(validate_seed(seed))


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
    Returns ``(B, w)`` int64 counts whose row ``b`` sums to ``n[b]``. :func:`recursive` and the
    first generation of :func:`collapse_times` draw with it; :func:`next_generation` is the same
    draw for Fully Synthetic training.
    """
    if total is None:
        total = weights.sum(axis=1, keepdims=True)
    return rng.multinomial(n, weights / total)


def next_generation(p: np.ndarray, n: np.ndarray, rng: np.random.Generator,
                    sampler: Callable | None = None) -> np.ndarray:
    """One generation of Fully Synthetic training, for every chain at once.

    Shown in Chapter 2, *Recursive training*.

    Row ``b`` of ``p``, shape ``(B, s)``, is the model ``p^(m-1)`` of chain
    ``b`` (one run of one context), and ``n[b]`` its sample size. Each chain
    draws ``n[b]`` training tokens from its model (or from ``sampler(p)``,
    the distribution a decoding rule makes it sample from), counted by
    token: one multinomial draw per chain, the only random step. Returns
    ``p^(m)``, their empirical distributions (the MLE, eq. (2)), ``(B, s)``.
    """
    # (B, s): the distribution each model samples from
    q = p if sampler is None else _apply_sampler(sampler, p)
    counts = rng.multinomial(n, q)  # (B, s) ints, row b sums to n[b]
    return counts / n[:, None]  # (B, s): the empirical distributions


def fully_synthetic(p0, n, generations: int, runs: int = 1, seed=None,
                    sampler: Callable | None = None) -> np.ndarray:
    """Simulate Fully Synthetic training: ``p^(m)`` is the MLE on ``n`` samples of ``p^(m-1)``.

    Returns a float array of shape ``(runs, generations + 1, s)`` for ``p0`` of shape ``(s,)``
    and ``(runs, generations + 1, c, s)`` for ``p0`` of shape ``(c, s)``; index 0 holds ``p0``.
    ``n`` is an int, or an int array of shape ``(c,)`` with one sample size per context.
    ``seed`` is an int, ``None`` or a ``np.random.Generator``; the same int gives the same array.

    ``sampler``, if given, maps probabilities ``(..., s)`` to the distributions each model
    actually samples from (a decoding rule, e.g. ``functools.partial(decoding.transform,
    temperature=0.8)``): generation ``m >= 2`` draws its ``n`` samples from
    ``sampler(p^(m-1))``, and ``p^(m)`` is still their MLE. ``p^(1)`` is fitted on real samples
    of ``p0`` itself. With temperature ``!= 1`` or truncation the chain is no longer a
    martingale; a Dirac mass stays absorbing under every transform of :mod:`helpers.decoding`.
    """
    starts, sizes, lead = _chains(p0, n, runs)
    generations = validate_int(generations, "generations", 0)
    sampler = _check_sampler(sampler)
    rng = _rng(seed)
    shape = lead + starts.shape[1:]  # (runs, s) or (runs, c, s): one generation of every run
    traj = np.empty(shape[:1] + (generations + 1,) + shape[1:])
    traj[:, 0] = starts.reshape(shape)
    p = starts / starts.sum(axis=1, keepdims=True)  # p0, one row per chain
    for m in range(1, generations + 1):  # generation 1 is fitted on real data: no sampler
        p = next_generation(p, sizes, rng, sampler if m > 1 else None)
        traj[:, m] = p.reshape(shape)
    return traj


def _check_sampler(sampler):
    """``sampler`` itself after checking it is ``None`` or callable."""
    if sampler is not None and not callable(sampler):
        raise TypeError("sampler must be None or a callable mapping probabilities (..., s) to "
                        f"probabilities, got {type(sampler).__name__}; e.g. "
                        "functools.partial(decoding.transform, temperature=0.8).")
    return sampler


def _apply_sampler(sampler, q: np.ndarray) -> np.ndarray:
    """``sampler(q)`` for ``(B, s)`` models ``q``, checked and renormalised row by row."""
    out = np.asarray(sampler(q), dtype=float)
    if out.shape != q.shape:
        raise ValueError(f"sampler must keep the shape of its input: got {out.shape} for input "
                         f"{q.shape}.")
    if not np.isfinite(out).all() or (out < 0).any():
        raise ValueError("sampler returned negative, NaN or infinite probabilities.")
    total = out.sum(1, keepdims=True)
    if (total <= 0).any():
        raise ValueError("sampler returned an all-zero distribution; every row needs mass.")
    out = out / total
    return out / out.sum(1, keepdims=True)  # renormalised twice, as always: the same draws


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
        return mean_se(self.times)[1]


def collapse_times(p0, n, runs: int, seed=None, max_generations: int | None = None,
                   sampler: Callable | None = None) -> CollapseTimes:
    """Simulate ``runs`` Fully Synthetic chains until each collapses to a Dirac mass.

    Arguments as in :func:`fully_synthetic`. With ``max_generations=None`` every chain runs to
    absorption, which the paper's own tail bound ``P(T > k) <= n (1 - S_0)(1 - 1/n)^k`` makes
    certain well before the safety cap ``100 n + 1000`` (a ``RuntimeError`` if ever reached).
    With an int, chains alive after that many generations are reported as not absorbed.

    The first generation is drawn with numpy; the rest run in a compiled kernel
    (:func:`helpers._kernels.run_to_absorption`) that keeps only each chain's live tokens, so
    the cost follows the live chains and their live tokens. The chains run in parallel on all
    of numba's threads, each drawing from its own stream keyed by ``seed`` and its index: the
    same seed gives the same times whatever the number of threads (``numba.set_num_threads``).

    ``sampler`` as in :func:`fully_synthetic`; with one, the generations after the first run
    in numpy instead, all live chains at once, dropping each chain once it is a Dirac mass.
    """
    starts, sizes, lead = _chains(p0, n, runs)
    sampler = _check_sampler(sampler)
    rng = _rng(seed)
    cap = 100 * int(sizes.max()) + 1000
    limit = cap if max_generations is None else validate_int(max_generations, "max_generations", 1)
    first = _resample(starts, sizes, rng)
    if sampler is None:
        keys = _kernels.chain_keys(rng, len(first))
        log_fact = _kernels.log_factorials(int(sizes.max()))
        times, token = _kernels.run_to_absorption(first, sizes, limit, keys, log_fact)
    else:
        times, token = _run_sampled(first, sizes, limit, sampler, rng)
    absorbed = times >= 1
    if max_generations is None and not absorbed.all():
        why = ("the sampler may let a Dirac mass leave its token" if sampler is not None
               else "this should not happen, please report it")
        raise RuntimeError(f"{int((~absorbed).sum())} chains were still alive after {cap} "
                           f"generations; {why}.")
    return CollapseTimes(times.reshape(lead), token.reshape(lead), absorbed.reshape(lead), limit)


def _run_sampled(counts, sizes, limit, sampler, rng):
    """:func:`helpers._kernels.run_to_absorption` with a ``sampler``: :func:`next_generation`
    on the live chains, dropping each chain once it is a Dirac mass."""
    times = np.full(len(counts), -1)
    token = np.full(len(counts), -1)
    live = np.arange(len(counts))
    p = counts / sizes[:, None]
    m = 1
    while True:
        dirac = (p == 1).any(1)
        times[live[dirac]], token[live[dirac]] = m, p[dirac].argmax(1)
        live, p = live[~dirac], p[~dirac]
        if not live.size or m >= limit:
            return times, token
        m += 1
        p = next_generation(p, sizes[live], rng, sampler)


EXACT_MAX_STATES = 5000  # exact_collapse_time solves a dense system of this many states


def exact_collapse_time(p0, n) -> float:
    """Exact ``E[T]`` of Fully Synthetic training from the multinomial chain on count vectors.

    The states are the compositions of ``n`` into ``K`` parts, ``K`` the support size of ``p0``
    (``C(n+K-1, K-1)`` of them, at most ``EXACT_MAX_STATES``); from counts ``x`` the next counts
    are ``Multinomial(n, x/n)``. The expected absorption times ``t`` of the transient states
    (two or more live tokens) solve ``(I - Q) t = 1``; then ``E[T] = 1 + E[t(X_1)]`` with
    ``X_1 ~ Multinomial(n, p0)``, the first generation counted in ``T``. ``p0`` has shape
    ``(s,)``, ``n`` is an int; ``1`` for a Dirac ``p0``.
    """
    return exact_collapse_time_moments(p0, n)[0]


def exact_collapse_time_moments(p0, n) -> tuple[float, float]:
    """Exact ``(E[T], Var[T])`` from the chain of :func:`exact_collapse_time`.

    With ``t = (I - Q)^-1 1``, the second moments of the absorption times are
    ``2 (I - Q)^-1 t - t`` (fundamental matrix); ``T = 1 + tau(X_1)``.
    """
    from scipy.linalg import lu_factor, lu_solve

    first, Q = _exact_chain(p0, n)
    if first is None:
        return 1.0, 0.0
    lu = lu_factor(np.eye(len(Q)) - Q)
    t = lu_solve(lu, np.ones(len(Q)))
    t2 = 2 * lu_solve(lu, t) - t
    mean_tau, mean_tau2 = float(first @ t), float(first @ t2)
    return 1 + mean_tau, mean_tau2 - mean_tau**2


def _exact_chain(p0, n):
    """``(P(X_1 = x), Q)`` over the transient count vectors ``x``; ``(None, None)`` if Dirac."""
    from itertools import combinations
    from math import comb

    from scipy.special import gammaln, xlogy

    p0 = validate_distribution(p0, ndims=(1,))
    n = int(validate_sample_size(n))
    q = p0[p0 > 0]
    K = q.size
    if K == 1:
        return None, None
    states = comb(n + K - 1, K - 1)
    if states > EXACT_MAX_STATES:
        raise ValueError(f"the exact chain has C(n+K-1, K-1) = {states} states for n={n} and a "
                         f"support of K={K} tokens, above EXACT_MAX_STATES={EXACT_MAX_STATES}; "
                         "use a smaller n or support, or estimate E[T] with collapse_times.")
    # compositions by stars and bars: bar positions among n + K - 1 slots
    bars = np.array(list(combinations(range(n + K - 1), K - 1)), np.int64).reshape(-1, K - 1)
    edges = np.concatenate([np.full((len(bars), 1), -1), bars,
                            np.full((len(bars), 1), n + K - 1)], axis=1)
    x = np.diff(edges, axis=1) - 1  # (states, K) counts summing to n
    log_coef = gammaln(n + 1) - gammaln(x + 1).sum(1)  # multinomial coefficient of each target
    transient = np.count_nonzero(x, axis=1) > 1
    xt = x[transient]
    with np.errstate(divide="ignore"):
        log_src = np.where(xt > 0, np.log(xt / n), -1e250)  # log of each source's probabilities
    # Q[a, b] = P(transient a -> transient b) = coef(b) prod_j (x_aj / n)^(x_bj)
    Q = np.exp(log_coef[transient][None, :] + log_src @ xt.T.astype(float))
    first = np.exp(log_coef[transient] + xlogy(xt, q).sum(1))  # P(X_1 = each transient state)
    return first, Q


# --- general recursive training, eq. (5) ---------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Schedule:
    """How generation ``m`` is trained, eq. (5): ``n_t^(m)`` samples from each source ``t < m``.

    Source ``t = 0`` is the real data (``p0``), source ``t >= 1`` the model ``p^(t)``.

    ``counts(m, rng, chains)`` returns the ints ``n_t^(m)``, shape ``(m,)`` (the same for every
    chain) or ``(chains, m)`` (e.g. random per chain, drawn with ``rng``); every chain needs a
    positive total. ``stored(t)`` says how source ``t`` is sampled: ``None`` (or ``stored``
    itself ``None``) draws ``n_t^(m)`` fresh samples of ``p^(t)`` at every generation that uses
    it; an int ``L`` draws one batch of ``L`` samples of ``p^(t)`` once, when the model (or, for
    ``t = 0``, the real corpus) is made, and each generation trains on a uniformly random subset
    of ``n_t^(m) <= L`` of that batch (the whole batch when ``n_t^(m) = L``). ``subset(m)``, if
    given and not ``None``, makes generation ``m`` train on a uniformly random subset (without
    replacement) of that many of the samples chosen by ``counts`` (all of them if fewer).

    For example, Fully Synthetic training is ``Schedule(lambda m, rng, B: np.eye(m, dtype=int)[m
    - 1] * n)``; a window of ``K`` models whose samples are stored once (the other reading of
    §4.2) is ``Schedule(lambda m, rng, B: (np.arange(m) >= m - K) * (n // K), lambda t: n //
    K)``.
    """

    counts: Callable[[int, np.random.Generator, int], np.ndarray]
    stored: Callable[[int], int | None] | None = None
    subset: Callable[[int], int | None] | None = None


def _subsample(counts: np.ndarray, k: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Counts of a uniform random subset of ``k[b]`` items of the multiset ``counts[b]``.

    A multivariate hypergeometric draw per row, vectorised over rows by halving the columns:
    ``log2(w)`` calls of ``rng.hypergeometric``. ``counts`` is ``(B, w)`` ints, ``k`` ``(B,)``.
    """
    rows, w = counts.shape
    width = 1 << max(0, (w - 1).bit_length())
    # level sums, finest first: sums[j] has width / 2**j blocks
    sums = [np.zeros((rows, width), np.int64)]
    sums[0][:, :w] = counts
    while sums[-1].shape[1] > 1:
        sums.append(sums[-1].reshape(rows, -1, 2).sum(-1))
    take = np.asarray(k, np.int64).reshape(rows, 1)
    for level in sums[-2::-1]:  # split every block into its two halves
        pairs = level.reshape(rows, -1, 2)
        good, bad = pairs[..., 0], pairs[..., 1]
        left = np.where(bad == 0, take, 0)  # forced unless both halves are nonempty
        draw = (take > 0) & (good > 0) & (bad > 0)
        left[draw] = rng.hypergeometric(good[draw], bad[draw], take[draw])
        take = np.stack([left, take - left], -1).reshape(rows, -1)
    return take[:, :w]


def _sum_by_row(rows: np.ndarray, values: np.ndarray, out: np.ndarray) -> None:
    """``out[r] += sum of values[i] with rows[i] == r``, for ``rows`` sorted ascending."""
    if rows.size:
        uniq, first = np.unique(rows, return_index=True)
        out[uniq] += np.add.reduceat(values, first, axis=0)


def _uint_for(total: int):
    """Smallest unsigned dtype holding counts up to ``total`` (int64 beyond uint32)."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if total <= np.iinfo(dtype).max:
            return dtype
    return np.int64


def recursive(p0, schedule: Schedule, generations: int, runs: int = 1, seed=None) -> np.ndarray:
    """Simulate recursive training, eq. (5), under any :class:`Schedule`; the shared engine.

    ``p^(m)`` is the empirical distribution of the ``n^(m) = sum_t n_t^(m)`` samples of
    generation ``m``. Returns a float array of shape ``(runs, generations + 1, s)`` (or
    ``(runs, generations + 1, c, s)`` for ``p0`` of shape ``(c, s)``, each context its own
    chain); index 0 holds ``p0``, index ``m`` is ``p^(m)``. Fresh samples are drawn as integer
    counts (``Generator.multinomial``), subsets of stored batches as multivariate hypergeometric
    counts, vectorised over runs and contexts; only generations are looped over. ``seed`` is an
    int, ``None`` or a ``np.random.Generator``; the same int gives the same array.
    """
    if not isinstance(schedule, Schedule):
        raise TypeError("schedule must be a statmodel.Schedule, got "
                        f"{type(schedule).__name__}; e.g. Schedule(counts=lambda m, rng, B: ...).")
    starts, _, lead = _chains(p0, 1, runs)
    generations = validate_int(generations, "generations", 0)
    rng = _rng(seed)
    chains, s = starts.shape
    traj = np.zeros((chains, generations + 1, s))
    traj[:, 0] = starts
    # tokens outside the support of p0 never appear: sample on the support columns only
    cols = np.flatnonzero((starts > 0).any(axis=0))
    w = cols.size
    models = (lambda r, t: traj[r, t]) if w == s else (lambda r, t: traj[r, t][..., cols])
    sizes = [None if schedule.stored is None else schedule.stored(t) for t in range(generations)]
    for t, size in enumerate(sizes):
        if size is not None:
            sizes[t] = validate_int(size, f"schedule.stored({t})", 1)
    batch_size = np.array([size or 0 for size in sizes], np.int64)  # 0: fresh source
    slot = np.full(generations + 1, -1)  # index of each stored source among the stored ones
    kept = [t for t, size in enumerate(sizes) if size is not None]
    slot[kept] = np.arange(len(kept))
    # cumulative counts of the stored batches: batches j..k sum to cum[:, k + 1] - cum[:, j]
    cum = None
    if kept:
        cum = np.zeros((chains, len(kept) + 1, w), _uint_for(sum(sizes[t] for t in kept)))
    everyone = np.arange(chains)

    def store(t):
        if sizes[t] is not None:
            j = slot[t]
            batch = _resample(models(everyone, t), np.full(chains, sizes[t]), rng, total=1.0)
            cum[:, j + 1] = cum[:, j] + batch.astype(cum.dtype)

    if generations:
        store(0)
    for m in range(1, generations + 1):
        nt = _schedule_counts(schedule, m, rng, chains, batch_size)
        counts = np.zeros((chains, w), np.int64)
        fresh = batch_size[:m] == 0
        # fresh samples: one multinomial row per (chain, source) pair that is used
        rows, src = np.nonzero(nt * fresh)
        if rows.size:
            drawn = rng.multinomial(nt[rows, src], models(rows, src))
            _sum_by_row(rows, drawn, counts)
        # stored batches used whole: contiguous stored sources, one difference of cum each
        whole = ~fresh & (nt == batch_size[:m]).all(0)
        if whole.any():
            j = slot[:m][whole]
            for seg in np.split(j, np.flatnonzero(np.diff(j) != 1) + 1):
                counts += cum[:, seg[-1] + 1].astype(np.int64) - cum[:, seg[0]]
        # stored batches used in part: a hypergeometric subset per (chain, source) pair
        rows, src = np.nonzero(nt * (~fresh & ~whole))
        if rows.size:
            j = slot[src]
            batch = cum[rows, j + 1].astype(np.int64) - cum[rows, j]
            _sum_by_row(rows, _subsample(batch, nt[rows, src], rng), counts)
        size = nt.sum(1, keepdims=True)
        if schedule.subset is not None and schedule.subset(m) is not None:
            k = validate_int(schedule.subset(m), f"schedule.subset({m})", 1)
            if (size > k).any():
                counts = _subsample(counts, np.minimum(size[:, 0], k), rng)
                size = np.minimum(size, k)
        new = counts / size
        if w == s:
            traj[:, m] = new
        else:
            traj[:, m, cols] = new
        if m < generations:
            store(m)
    return _unchain(traj, lead)


def _schedule_counts(schedule, m, rng, chains, sizes) -> np.ndarray:
    """The checked ``n_t^(m)`` of a schedule as a ``(chains, m)`` int64 array.

    ``sizes[t]`` is the stored batch size of source ``t``, 0 for a fresh source.
    """
    raw = np.asarray(schedule.counts(m, rng, chains))
    if raw.dtype == bool or not np.issubdtype(raw.dtype, np.integer):
        raise TypeError(f"schedule.counts({m}, ...) must return integers, got dtype {raw.dtype}.")
    if raw.shape not in ((m,), (chains, m)):
        raise ValueError(f"schedule.counts({m}, ...) must return shape ({m},) or ({chains}, {m}) "
                         f"(one count per source t = 0..{m - 1}), got shape {raw.shape}.")
    nt = np.broadcast_to(raw.astype(np.int64), (chains, m))
    if (nt < 0).any():
        raise ValueError(f"schedule.counts({m}, ...) returned a negative sample count.")
    if (nt.sum(1) < 1).any():
        raise ValueError(f"schedule.counts({m}, ...) gives some chain no training samples at "
                         f"generation {m}; every generation needs n^(m) >= 1.")
    over = (sizes[:m] > 0) & (nt > sizes[:m]).any(0)
    if over.any():
        t = int(np.flatnonzero(over)[0])
        raise ValueError(f"schedule.counts({m}, ...) asks for {int(nt[:, t].max())} samples of "
                         f"source {t}, whose stored batch has only {sizes[t]}.")
    return nt


def _unchain(traj: np.ndarray, lead: tuple) -> np.ndarray:
    """``(chains, G + 1, s)`` back to ``(runs, G + 1, s)`` or ``(runs, G + 1, c, s)``."""
    if len(lead) == 1:
        return traj
    runs, contexts = lead
    return np.ascontiguousarray(traj.reshape(runs, contexts, *traj.shape[1:]).swapaxes(1, 2))


def _single_n(p0, n, name: str = "n") -> int:
    """A scalar sample size (the schemes below take one ``n`` for every context)."""
    if np.ndim(n) != 0:
        raise ValueError(f"{name} must be a single integer for this scheme, got shape "
                         f"{np.shape(n)}; per-context sizes are supported by fully_synthetic only.")
    return validate_int(n.item() if isinstance(n, np.ndarray) else n, name, 1)


def partially_synthetic(p0, n, N, generations: int, runs: int = 1, seed=None,
                        real: str = "fixed") -> np.ndarray:
    """Partially Synthetic training (§2.2): ``N`` real samples plus ``n`` from ``p^(m-1)``.

    ``p^(1)`` is the empirical distribution of ``N`` real samples of ``p0``; for ``m >= 2``,
    ``p^(m) = (real counts + counts of n samples of p^(m-1)) / (N + n)``. ``real="fixed"`` reuses
    the corpus ``p^(1)`` was fitted on at every generation (the paper's scheme, Theorems 2-4);
    ``real="fresh"`` draws ``N`` new real samples of ``p0`` at every generation, generation 1
    included (Wright-Fisher with immigration, theory notes §2.8). Output as in :func:`recursive`.
    """
    n, N = _single_n(p0, n), _single_n(p0, N, "N")
    if real not in ("fixed", "fresh"):
        raise ValueError("real must be 'fixed' (one real corpus reused every generation, the "
                         "paper's scheme) or 'fresh' (new real samples every generation), "
                         f"got {real!r}.")

    def counts(m, rng, chains):
        nt = np.zeros(m, np.int64)
        nt[0] = N
        if m >= 2:
            nt[m - 1] = n
        return nt

    stored = (lambda t: N if t == 0 else None) if real == "fixed" else None
    return recursive(p0, Schedule(counts, stored), generations, runs, seed)


def most_recent(p0, n, K, generations: int, runs: int = 1, seed=None) -> np.ndarray:
    """Most Recent Models (§4.2): ``floor(n/K)`` samples from each of the ``K`` latest sources.

    ``n_t^(m) = floor(n/K)`` for ``max(0, m-K) <= t <= m-1``, source 0 being the real data, so
    ``n^(m) = min(m, K) floor(n/K)``, below ``n`` until ``m >= K``. The paper leaves open whether
    past samples are redrawn or reused (digest §8, item 7); here, as eq. (5) reads literally, the
    samples of source ``t`` are drawn afresh from ``p^(t)`` (real ones from ``p0``) for every
    generation that uses them. ``K = 1`` is Fully Synthetic in law. Needs ``1 <= K <= n``.
    """
    n = _single_n(p0, n)
    K = validate_int(K, "K", 1)
    if K > n:
        raise ValueError(f"K={K} exceeds n={n}: each of the K sources gives floor(n/K) = 0 "
                         "samples; use K <= n.")
    per = n // K

    def counts(m, rng, chains):
        nt = np.zeros(m, np.int64)
        nt[max(0, m - K):] = per
        return nt

    return recursive(p0, Schedule(counts), generations, runs, seed)


def random_pool(p0, n, generations: int, runs: int = 1, seed=None) -> np.ndarray:
    """Randomly Sampled Data (§4.2): each of ``n`` samples comes from a uniform random source.

    Generation ``m`` trains on ``n`` samples whose sources ``g_i`` are i.i.d. uniform on
    ``{0, ..., m-1}`` (0 = real data), independently per run and generation, i.e.
    ``(n_t^(m))_t ~ Multinomial(n, uniform)``; each sample is drawn afresh from ``p^(g_i)``
    (real ones from ``p0``), as in :func:`most_recent`. Output as in :func:`recursive`.
    """
    n = _single_n(p0, n)

    def counts(m, rng, chains):
        return rng.multinomial(n, np.full(m, 1 / m), size=chains)

    return recursive(p0, Schedule(counts), generations, runs, seed)


def accumulate(p0, n, generations: int, runs: int = 1, seed=None,
               train_size: int | None = None) -> np.ndarray:
    """Accumulate (Gerstgrasser et al. 2024): a growing pool of real and synthetic data.

    The pool starts with ``n`` real samples of ``p0``; after model ``m`` is fitted, ``n`` samples
    of ``p^(m)`` are drawn once and added for good. With ``train_size=None``, ``p^(m)`` is the
    empirical distribution of the whole pool of ``m n`` samples; with an int, of a uniformly
    random subset (without replacement) of ``min(train_size, m n)`` pool samples, drawn anew each
    generation (accumulate-subsample). Output as in :func:`recursive`.
    """
    n = _single_n(p0, n)
    if train_size is not None:
        train_size = validate_int(train_size, "train_size", 1)

    schedule = Schedule(lambda m, rng, chains: np.full(m, n), lambda t: n, lambda m: train_size)
    return recursive(p0, schedule, generations, runs, seed)


def first_dirac_time(traj: np.ndarray, atol: float = 1e-12) -> np.ndarray:
    """First generation ``m >= 1`` at which ``p^(m)`` is a Dirac mass, ``-1`` if none in ``traj``.

    ``traj`` as returned by any scheme; shape ``(runs,)`` or ``(runs, c)``. Under Most Recent
    Models with ``K > 1`` (or with real data) a Dirac mass can be left again; ``is_dirac(traj[:,
    -1])`` says which runs are a Dirac mass at the last generation.
    """
    traj = _check_traj(traj)
    dirac = is_dirac(traj[:, 1:], atol)
    hit = dirac.any(axis=1)
    return np.where(hit, dirac.argmax(axis=1) + 1, -1)


def _check_traj(traj) -> np.ndarray:
    traj = np.asarray(traj)
    if traj.ndim not in (3, 4):
        raise ValueError("traj must have shape (runs, generations + 1, s) or "
                         f"(runs, generations + 1, c, s), got shape {traj.shape}.")
    return traj


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
    traj = _check_traj(traj)
    generations = traj.shape[1]
    ref_index = validate_int(ref_index, "ref_index", 0)
    if ref_index >= generations:
        raise ValueError(f"ref_index={ref_index} is out of range for {generations} stored "
                         "generations (indices 0 to generations).")
    return np.abs(traj - traj[:, ref_index : ref_index + 1]).sum(axis=-1)
