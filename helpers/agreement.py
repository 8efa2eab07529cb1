"""The simulation agrees with the formula: one named check, within ``k`` standard errors.

Every theorem of the book is checked by simulation. A check compares a statistic of independent
runs (a mean, a variance, a fraction of runs, a count) with the value a formula predicts, and
allows ``k`` standard errors of the simulation (``k = 4`` unless a chapter says otherwise). The
functions here compute the standard errors themselves, raise :class:`Disagreement` naming the
worst point when the simulation is off, and return an :class:`Agreement` with the z-scores,
which prints as a one-line summary::

    sigma = theory.sigma(statmodel.fully_synthetic(p, n, 40, runs=20_000, seed=1))
    print(agreement.agree(sigma[:, 1:], S[1:]))   # max |z| = 1.83 over 40 points (4 SE allowed)

How ``simulated`` is read (runs always on axis 0):

- real numbers, one row per run (``statistic="mean"``): the mean over runs, with standard error
  ``std(ddof=1) / sqrt(runs)``;
- booleans, one event per run: the fraction of runs, a binomial count, with the binomial
  standard error ``sqrt(q (1 - q) / runs)`` at the expected probability ``q`` (and, with
  ``exact=True``, the exact binomial test of :func:`binomial_test` instead of the normal band);
- ``statistic="variance"``: the sample variance over runs, with the delta-method standard error
  ``sqrt((m4 - m2^2) / runs)`` (``m2``, ``m4`` the second and fourth central moments);
- ``statistic="count"``: counts with no runs axis, each Poisson (or a sum of rare events against
  its compensator) around its expected value ``lam``, standard error ``sqrt(lam)``;
- ``paired=True`` or ``False``: the second argument is a second sample, not a formula, and the
  statistic is the difference of the two means: over the same runs, with the standard error of
  the per-run differences (paired), or over independent runs, with ``hypot`` of the two
  standard errors;
- ``se=...``: ``simulated`` is already an estimate (a fitted coefficient, say) and ``se`` its
  standard error.

:func:`agree` is two-sided; :func:`at_least` and :func:`at_most` check bounds (the simulation may
not be more than ``k`` standard errors on the wrong side); :func:`exceeds` and
:func:`falls_below` check a direction (the simulation must be more than ``k`` standard errors
on the right side). All take the same keyword arguments. :func:`z_scores` computes the same
z-scores without checking anything (for a printout), and :func:`mean_se` the mean over runs and
its standard error (for a printout or an error bar).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from helpers._validate import validate_real

__all__ = [
    "agree",
    "at_least",
    "at_most",
    "exceeds",
    "falls_below",
    "z_scores",
    "mean_se",
    "Agreement",
    "Disagreement",
    "binomial_se",
    "binomial_test",
    "level",
    "FOUR_SIGMA_LEVEL",
]

# 2 Phi(-4): a two-sided test at this level is as strict as a 4-standard-error band
FOUR_SIGMA_LEVEL = 6.334248366623973e-05

_STATISTICS = ("mean", "variance", "count")
# what each kind of check requires of z, for the summary and the error message
_RULES = {
    "agree": "|z| <= {k:g}",
    "at_least": "z >= -{k:g}",
    "at_most": "z <= {k:g}",
    "exceeds": "z > {k:g}",
    "falls_below": "z < -{k:g}",
    "report": "nothing",
}


class Disagreement(AssertionError):
    """Raised when the simulation disagrees with the formula; the message names the worst point.

    ``result`` holds the :class:`Agreement` (z-scores, estimates, standard errors) of the check.
    """

    def __init__(self, message: str, result: Agreement):
        super().__init__(message)
        self.result = result


@dataclass(frozen=True, eq=False, repr=False)
class Agreement:
    """What a check returns: the z-scores, and what they were computed from.

    ``z = (estimate - expected) / se`` point by point (``0`` where ``se = 0`` and the two are
    equal, ``+-inf`` where they are not); ``expected`` is the formula's value, the bound, or
    for two samples the second mean. ``p_value`` holds the exact binomial p-values of
    ``agree(..., exact=True)`` and is ``None`` otherwise. Prints as a one-line summary such as
    ``max |z| = 1.83 over 40 points (4 SE allowed)``.
    """

    kind: str
    z: np.ndarray
    estimate: np.ndarray
    expected: np.ndarray
    se: np.ndarray
    k: float
    tolerance: np.ndarray
    p_value: np.ndarray | None = None

    @property
    def worst(self) -> float:
        """The z-score nearest to failing: max ``|z|`` for :func:`agree`, min ``z`` for
        :func:`at_least` and :func:`exceeds`, max ``z`` for :func:`at_most` and
        :func:`falls_below`."""
        z = np.asarray(self.z, dtype=float)
        if self.kind in ("agree", "report"):
            return float(np.abs(z).max())
        return float(z.min() if self.kind in ("at_least", "exceeds") else z.max())

    @property
    def summary(self) -> str:
        """The z-scores in a few words, e.g. ``max |z| = 1.83 over 40 points``."""
        size = int(np.size(self.z))
        name = {"agree": "max |z|", "report": "max |z|", "at_least": "min z",
                "exceeds": "min z"}.get(self.kind, "max z")
        if size == 1:
            text = f"z = {float(np.asarray(self.z).flat[0]):+.2f}"
        else:
            text = f"{name} = {self.worst:.2f} over {size} points"
        if self.p_value is not None:
            text += f", smallest exact p-value {float(np.min(self.p_value)):.2g}"
        return text

    @property
    def allowance(self) -> str:
        """What the check allowed, e.g. ``4 SE allowed``."""
        return _allowance(self)

    def __repr__(self) -> str:
        return f"{self.summary} ({self.allowance})"

    __str__ = __repr__


def _allowance(result: Agreement) -> str:
    k = result.k
    if result.p_value is not None:
        return f"exact binomial test at level {level(k):.2g}, as strict as {k:g} SE"
    extra = " + tolerance" if np.any(result.tolerance > 0) else ""
    return {"agree": f"{k:g} SE{extra} allowed",
            "at_least": f"down to {k:g} SE below allowed",
            "at_most": f"up to {k:g} SE above allowed",
            "exceeds": f"more than {k:g} SE above required",
            "falls_below": f"more than {k:g} SE below required",
            "report": "z-scores only, no check"}[result.kind]


def level(k: float) -> float:
    """The two-sided level ``2 Phi(-k)`` of a ``k``-standard-error band (``6.3e-5`` for 4).

    An exact test at this level is as strict as the band; Chapter 4 uses it for the exact
    binomial test of where collapse lands.
    """
    from scipy.stats import norm

    return float(2 * norm.sf(validate_real(k, "k (the number of standard errors allowed)", 0)))


def binomial_se(q, trials) -> np.ndarray:
    """The binomial standard error ``sqrt(q (1 - q) / trials)`` of a fraction of ``trials``
    events of probability ``q`` (``q`` clipped to ``[0, 1]``, so a vacuous bound above 1 has
    standard error 0). Chapter 3 introduces it for the probability of collapse; Chapter 4 draws
    it as a band."""
    q = np.clip(np.asarray(q, dtype=float), 0.0, 1.0)
    trials = np.asarray(trials)
    if trials.dtype == bool or not np.issubdtype(trials.dtype, np.integer) or (trials < 1).any():
        raise ValueError(f"trials must be a positive integer (or integers), got {trials!r}.")
    return np.sqrt(q * (1 - q) / trials)


def binomial_test(counts, trials, probs) -> tuple[np.ndarray, np.ndarray]:
    """Exact two-sided binomial p-values and z-scores of ``counts`` against ``probs``.

    ``counts`` are observed successes out of ``trials`` (an int, or ints that broadcast) under
    success probabilities ``probs`` in ``[0, 1]``. The p-value is
    ``min(1, 2 min(P(X <= c), P(X >= c)))`` for ``X ~ Binomial(trials, prob)``, exact (unlike a
    normal approximation) also when the expected count is small. Requiring every p-value above
    :data:`FOUR_SIGMA_LEVEL` is a 4-standard-error band. The z-score
    ``(c - trials prob) / sqrt(trials prob (1 - prob))`` is for reporting (``0`` where the
    variance is 0 and the count is as expected, ``inf`` where it is not). Chapter 4 teaches it
    (``agree(events, probs, exact=True)`` calls it).
    """
    from scipy.stats import binom

    c = np.asarray(counts)
    if c.dtype == bool or not np.issubdtype(c.dtype, np.integer):
        raise TypeError(f"counts must be integers, got dtype {c.dtype}.")
    trials_arr = np.asarray(trials)
    if trials_arr.dtype == bool or not np.issubdtype(trials_arr.dtype, np.integer):
        raise TypeError(f"trials must be an integer (or integers), got {trials!r}.")
    q = np.asarray(probs, dtype=float)
    if np.isnan(q).any() or (q < 0).any() or (q > 1).any():
        raise ValueError("probs must lie in [0, 1].")
    if (trials_arr < 1).any():
        raise ValueError("trials must be >= 1.")
    if (c < 0).any() or (c > trials_arr).any():
        raise ValueError("every count must lie between 0 and trials.")
    p_value = np.minimum(1.0, 2 * np.minimum(binom.cdf(c, trials_arr, q),
                                             binom.sf(c - 1, trials_arr, q)))
    var = trials_arr * q * (1 - q)
    diff = c - trials_arr * q
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, diff / np.sqrt(np.where(var > 0, var, 1)),
                     np.where(np.abs(diff) < 1e-9, 0.0, np.inf))
    return p_value, z


# --- the checks ---------------------------------------------------------------------------------

def agree(simulated, expected, *, k: float = 4.0, statistic: str = "mean", paired=None,
          exact: bool = False, rtol: float = 0.0, atol=0.0, se=None, min_se=0.0, labels=None,
          what: str = "the simulation") -> Agreement:
    """Check that the simulation agrees with the formula within ``k`` standard errors.

    ``simulated`` has the runs on axis 0 and one column per point (a generation, a token, ...);
    ``expected`` broadcasts to the points. Passes when ``|estimate - expected| <= k se +
    atol + rtol |expected|`` at every point; ``atol`` and ``rtol`` (default 0) allow a known
    approximation error on top of the statistical band. How the estimate and its standard
    error ``se`` are computed (mean, fraction of boolean events, variance, counts, two samples
    with ``paired``, or given as ``se`` for an estimate that is not a mean over runs) is described
    in the module docstring; ``min_se`` is a lower limit on ``se``.
    ``exact=True`` (boolean events only) replaces the band by the exact two-sided binomial test
    at the level :func:`level` ``(k)``, as strict as ``k`` standard errors.

    Raises :class:`Disagreement` (an ``AssertionError``) naming the worst point, by its index
    or by ``labels`` (one label per point along the first point axis), and ``what`` is checked.
    Returns the :class:`Agreement`. Chapter 0 (the quickstart) introduces it; Chapter 1 explains
    the 4-standard-error band.
    """
    return _check("agree", simulated, expected, k=k, statistic=statistic, paired=paired,
                  exact=exact, rtol=rtol, atol=atol, se=se, min_se=min_se, labels=labels,
                  what=what)


def at_least(simulated, bound, *, k: float = 4.0, statistic: str = "mean", paired=None,
             se=None, min_se=0.0, labels=None, what: str = "the simulation") -> Agreement:
    """Check a lower bound: the estimate is at least ``bound - k se`` at every point.

    Arguments as in :func:`agree`; with boolean events the binomial standard error is taken at
    the bound. Chapter 3 teaches it (the bounds (7) and (8) of Theorem 1).
    """
    return _check("at_least", simulated, bound, k=k, statistic=statistic, paired=paired,
                  se=se, min_se=min_se, labels=labels, what=what)


def at_most(simulated, bound, *, k: float = 4.0, statistic: str = "mean", paired=None,
            se=None, min_se=0.0, labels=None, what: str = "the simulation") -> Agreement:
    """Check an upper bound: the estimate is at most ``bound + k se`` at every point.

    Arguments as in :func:`agree`. Chapter 3 teaches it (the bounds (7) and (8) of Theorem 1).
    """
    return _check("at_most", simulated, bound, k=k, statistic=statistic, paired=paired,
                  se=se, min_se=min_se, labels=labels, what=what)


def exceeds(simulated, value, *, k: float = 4.0, statistic: str = "mean", paired=None,
            se=None, min_se=0.0, labels=None, what: str = "the simulation") -> Agreement:
    """Check a direction: the estimate is above ``value`` by more than ``k`` standard errors.

    With ``paired=True`` or ``False``, ``value`` is a second sample and the check is that the
    first mean exceeds the second (e.g. common tokens survive longer than rare ones, run by
    run). Arguments as in :func:`agree`. Chapter 4 teaches the paired version, Chapter 7 the
    independent one.
    """
    return _check("exceeds", simulated, value, k=k, statistic=statistic, paired=paired,
                  se=se, min_se=min_se, labels=labels, what=what)


def falls_below(simulated, value, *, k: float = 4.0, statistic: str = "mean", paired=None,
                se=None, min_se=0.0, labels=None, what: str = "the simulation") -> Agreement:
    """Check a direction: the estimate is below ``value`` by more than ``k`` standard errors.

    The mirror image of :func:`exceeds`; arguments as in :func:`agree`. Chapter 13 teaches it
    (decoding rules that speed collapse up).
    """
    return _check("falls_below", simulated, value, k=k, statistic=statistic, paired=paired,
                  se=se, min_se=min_se, labels=labels, what=what)


def z_scores(simulated, expected, *, statistic: str = "mean", paired=None, se=None,
             min_se=0.0) -> Agreement:
    """The z-scores of :func:`agree`, without the check: for a printout of how far the
    simulation is from a value it is not expected to match (a misprinted formula, a biased
    decoding rule). Arguments as in :func:`agree`. Chapter 13 uses it for the drift of the mode.
    """
    return _check("report", simulated, expected, k=0.0, statistic=statistic, paired=paired,
                  se=se, min_se=min_se)


def mean_se(values) -> tuple[np.ndarray, np.ndarray]:
    """The mean of ``values`` over runs (axis 0) and its standard error
    ``std(ddof=1) / sqrt(runs)``, for a printout or an error bar (booleans count as 0 and 1;
    NaN, e.g. a quantity not defined yet at early generations, propagates as in numpy). The
    checks above compute the same standard error themselves. Chapter 8 uses it.
    """
    try:
        x = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"values must be an array of numbers, got {type(values).__name__}.") \
            from err
    mean, se = _mean_se(x, "values")
    return _scalar(mean), _scalar(se)


# --- estimates and standard errors --------------------------------------------------------------

def _as_array(values, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values)
        if arr.dtype != bool:
            arr = arr.astype(float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of numbers, got {type(values).__name__}.") \
            from err
    if arr.dtype != bool and not np.isfinite(arr).all():
        where = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name} contains NaN or infinite values (first at index "
                         f"{tuple(int(i) for i in where)}).")
    return arr


def _runs(x: np.ndarray, name: str) -> int:
    if x.ndim == 0:
        raise ValueError(f"{name} must have one value per run along axis 0, got a single "
                         "number; pass the per-run values, not their mean.")
    if x.shape[0] < 2:
        raise ValueError(f"{name} has {x.shape[0]} run(s); a standard error needs at least 2.")
    return x.shape[0]


def _mean_se(x: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean over runs and its standard error ``std(ddof=1) / sqrt(runs)``."""
    runs = _runs(x, name)
    x = x.astype(float)
    return x.mean(axis=0), x.std(axis=0, ddof=1) / math.sqrt(runs)


def _variance_se(x: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Sample variance (ddof=1) over runs and its delta-method standard error
    ``sqrt((m4 - m2^2) / runs)``, ``m2``, ``m4`` the central moments."""
    runs = _runs(x, name)
    centred = x - x.mean(axis=0)
    m2, m4 = (centred**2).mean(axis=0), (centred**4).mean(axis=0)
    return x.var(axis=0, ddof=1), np.sqrt(np.maximum(m4 - m2**2, 0.0) / runs)


def _estimate(simulated, reference, statistic, paired, tolerate_outside: bool, se=None):
    """``(estimate, reference value, se, points shape, boolean?)`` of one check."""
    if se is not None:
        if statistic != "mean" or paired is not None:
            raise ValueError("se= gives the standard error of an estimate computed elsewhere; it "
                             "cannot be combined with statistic or paired.")
        estimate = _as_array(simulated, "simulated").astype(float)
        given = _nonnegative(se, "se", estimate.shape)
        ref = _broadcast(_as_array(reference, "expected"), estimate.shape, "expected")
        return estimate, ref, given, estimate.shape, False
    if statistic not in _STATISTICS:
        raise ValueError(f"statistic must be one of {', '.join(map(repr, _STATISTICS))}, got "
                         f"{statistic!r}.")
    if paired not in (None, True, False):
        raise TypeError("paired must be None (the second argument is the formula's value), True "
                        "(a second sample over the same runs) or False (an independent second "
                        f"sample), got {paired!r}.")
    x = _as_array(simulated, "simulated")
    if paired is not None:
        if statistic != "mean":
            raise ValueError(f"two samples (paired={paired}) compare means; statistic="
                             f"{statistic!r} is not supported.")
        y = _as_array(reference, "the second sample")
        if paired:
            if x.shape != y.shape:
                raise ValueError(f"paired samples must have the same shape (one row per run), "
                                 f"got {x.shape} and {y.shape}.")
            estimate, se = _mean_se(x.astype(float) - y, "simulated")
            return estimate, np.zeros_like(estimate), se, estimate.shape, False
        mean_x, se_x = _mean_se(x, "simulated")
        mean_y, se_y = _mean_se(y, "the second sample")
        try:
            shape = np.broadcast_shapes(mean_x.shape, mean_y.shape)
        except ValueError:
            raise ValueError(f"independent samples must have matching points (axes after the "
                             f"runs): got {x.shape} and {y.shape}.") from None
        return (np.broadcast_to(mean_x, shape), np.broadcast_to(mean_y, shape),
                np.broadcast_to(np.hypot(se_x, se_y), shape), shape, False)
    ref = _as_array(reference, "expected")
    if ref.dtype == bool:
        ref = ref.astype(float)
    if statistic == "count":
        if x.dtype == bool or (x < 0).any():
            raise ValueError("statistic='count' needs nonnegative counts.")
        if (ref < 0).any():
            raise ValueError("statistic='count' needs nonnegative expected counts.")
        shape = x.shape
        estimate, se = x.astype(float), np.sqrt(np.broadcast_to(ref, shape))
    elif x.dtype == bool:
        if statistic == "variance":
            raise ValueError("boolean events have a binomial variance; statistic='variance' "
                             "needs real numbers.")
        runs = _runs(x, "simulated")
        shape = x.shape[1:]
        if not tolerate_outside and ((ref < -1e-9).any() or (ref > 1 + 1e-9).any()):
            raise ValueError("boolean events (one per run) are compared with probabilities; "
                             f"expected must lie in [0, 1], got values from {ref.min():.4g} "
                             f"to {ref.max():.4g}.")
        estimate = x.mean(axis=0)
        se = binomial_se(_broadcast(ref, shape, "expected"), runs)
    else:
        estimate, se = (_variance_se if statistic == "variance" else _mean_se)(x, "simulated")
        shape = estimate.shape
    return estimate, _broadcast(ref, shape, "expected"), se, shape, x.dtype == bool


def _broadcast(values, shape, name: str) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    try:
        return np.broadcast_to(values, shape)
    except ValueError:
        raise ValueError(f"{name} has shape {values.shape}, which does not broadcast to the "
                         f"points of the simulation, shape {shape} (the axes after the runs). "
                         "For a second sample of runs, say paired=True or paired=False.") \
            from None


def _nonnegative(value, name: str, shape) -> np.ndarray:
    arr = _broadcast(_as_array(value, name), shape, name)
    if (arr < 0).any():
        raise ValueError(f"{name} must be nonnegative, got {arr.min():.4g}.")
    return arr


def _z_scores(diff: np.ndarray, se: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``diff / se``; where ``se = 0``, ``0`` if ``diff`` is zero (to rounding), else +-inf."""
    tiny = 1e-12 * np.maximum(1.0, scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(se > 0, diff / np.where(se > 0, se, 1.0),
                        np.where(np.abs(diff) <= tiny, 0.0, np.sign(diff) * np.inf))


# --- the common engine ---------------------------------------------------------------------------

def _check(kind, simulated, reference, *, k, statistic, paired, exact=False, rtol=0.0,
           atol=0.0, se=None, min_se=0.0, labels=None, what="the simulation") -> Agreement:
    k = validate_real(k, "k (the number of standard errors allowed)", 0)
    if not isinstance(exact, bool):
        raise TypeError(f"exact must be True or False, got {exact!r}.")
    estimate, expected, se, shape, events = _estimate(simulated, reference, statistic, paired,
                                                      tolerate_outside=kind != "agree", se=se)
    se = np.maximum(se, _nonnegative(min_se, "min_se", shape))
    rtol = validate_real(rtol, "rtol", 0)
    tolerance = _nonnegative(atol, "atol", shape) + rtol * np.abs(expected)
    diff = estimate - expected
    scale = np.abs(expected)
    z = _z_scores(diff, se, scale)
    p_value = None
    if exact:
        if not events or paired is not None or kind != "agree":
            raise ValueError("exact=True is the exact binomial test of agree(): it needs boolean "
                             "events (one per run) compared with probabilities.")
        runs = np.shape(simulated)[0]
        counts = np.asarray(simulated).sum(axis=0)
        p_value, _ = binomial_test(counts, runs, np.clip(expected, 0.0, 1.0))
        failed = p_value <= level(k)
    elif kind == "agree":
        excess = np.maximum(np.abs(diff) - tolerance, 0.0)
        failed = _z_scores(excess, se, scale) > k
    elif kind == "report":
        failed = np.zeros(np.shape(z), bool)
    elif kind == "at_least":
        failed = z < -k
    elif kind == "at_most":
        failed = z > k
    elif kind == "exceeds":
        failed = ~(z > k)
    else:
        failed = ~(z < -k)
    result = Agreement(kind, *(_scalar(a) for a in (z, estimate, expected, se)), k,
                       _scalar(tolerance), p_value)
    if np.any(failed):
        raise Disagreement(_message(result, failed, labels, what, paired), result)
    return result


def _scalar(a):
    """A 0-d array as a numpy scalar (prints and formats like a number); others unchanged."""
    a = np.asarray(a)
    return a[()] if a.ndim == 0 else a


def _worst_index(result: Agreement, failed: np.ndarray) -> tuple:
    """Index of the failing point furthest beyond the allowance."""
    z = np.where(failed, np.asarray(result.z, dtype=float), np.nan)
    if result.p_value is not None:
        key = np.where(failed, -result.p_value, -np.inf)
    elif result.kind in ("agree",):
        key = np.nan_to_num(np.abs(z), nan=-np.inf, posinf=np.inf)
    elif result.kind in ("at_least", "exceeds"):
        key = np.nan_to_num(-z, nan=-np.inf, posinf=np.inf, neginf=-np.inf)
    else:
        key = np.nan_to_num(z, nan=-np.inf, posinf=np.inf, neginf=-np.inf)
    if not np.ndim(key):
        return ()
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(key)), np.shape(key)))


def _label(index: tuple, labels, shape) -> str:
    if not index:
        return ""
    if labels is None:
        return f" at point {index[0] if len(index) == 1 else index}"
    labels = list(labels)
    if len(labels) != shape[0]:
        raise ValueError(f"labels has {len(labels)} entries but the points have {shape[0]} "
                         "along their first axis (one label per point).")
    rest = f", index {index[1:] if len(index) > 2 else index[1]}" if len(index) > 1 else ""
    return f" at {labels[index[0]]}{rest}"


def _message(result: Agreement, failed: np.ndarray, labels, what: str, paired) -> str:
    idx = _worst_index(result, failed)
    est, exp, se = (float(np.asarray(a)[idx]) for a in (result.estimate, result.expected,
                                                       result.se))
    z = float(np.asarray(result.z)[idx])
    where = _label(idx, labels, np.shape(result.z))
    if paired is None:
        versus = {"agree": "expected", "at_least": "lower bound", "at_most": "upper bound"}.get(
            result.kind, "reference")
        sim = f"simulated {est:.6g} ± {se:.2g} (s.e.), {versus} {exp:.6g}"
    else:
        sim = (f"mean difference {est - exp:.6g} ± {se:.2g} (s.e., "
               f"{'paired' if paired else 'independent'} samples)")
    if result.p_value is not None:
        why = (f"exact binomial p-value {float(result.p_value[idx]):.2g} is below the level "
               f"{level(result.k):.2g} of a {result.k:g}-standard-error band (z = {z:+.2f})")
    else:
        rule = _RULES[result.kind].format(k=result.k)
        tol = float(result.tolerance[idx])
        extra = f", plus a tolerance of {tol:.3g}" if tol > 0 else ""
        why = f"z = {z:+.2f} standard errors, but {rule} is required{extra}"
    count = int(np.count_nonzero(failed))
    size = int(np.size(failed))
    also = f" ({count} of {size} points fail)" if size > 1 else ""
    return f"{what}{where}: {sim}: {why}{also}."
