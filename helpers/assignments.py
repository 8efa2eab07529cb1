"""Self-checking assignments: functions a student calls at the end of an exercise cell.

Every checker takes the student's answer (a number, an array or a function) and

- prints ``Correct: ...`` and returns ``True`` when the answer is right;
- prints ``Not answered yet: ...`` and returns ``False``, without raising, when the answer is
  still the stub (``None``, ``...``, or a function that raises ``NotImplementedError``), so a
  notebook with unanswered assignments still runs from top to bottom;
- raises :class:`WrongAnswer` otherwise, with what was expected and what was received at one
  concrete case, and a hint aimed at the likely mistake.

Arguments that describe the problem (``p0``, ``n``, ...) are validated: a value of the wrong
kind raises ``TypeError``, one of the right kind but out of range ``ValueError``.

The statistical checks of the chapters themselves (simulation against formula within ``k``
standard errors, the exact binomial test) are in :mod:`helpers.agreement`.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from helpers import agreement
from helpers._validate import is_torch, validate_distribution, validate_int

__all__ = [
    "WrongAnswer",
    "sigma_formula",
    "sigma_simulation",
    "collapse_time",
    "partial_sigma_formula",
    "temperature_top_k",
    "parameter_count",
]


class WrongAnswer(AssertionError):
    """Raised by a checker when the answer is wrong; the message says why and gives a hint."""


class _Unanswered(Exception):
    """Internal: the student's function raised NotImplementedError."""


# --- plumbing ------------------------------------------------------------------------------------

def _is_stub(answer) -> bool:
    return answer is None or answer is Ellipsis


class Verdict:
    """What a checker returns: true for a right answer, false for no answer yet.

    The checker has already printed its message, so a notebook shows nothing more for it
    (no stray ``True`` or ``False`` under the cell).
    """

    def __init__(self, ok: bool):
        self.ok = bool(ok)

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return f"Verdict({self.ok})"

    def _ipython_display_(self) -> None:
        pass


def _not_answered(task: str) -> Verdict:
    print(f"Not answered yet: {task}")
    return Verdict(False)


def _correct(message: str) -> Verdict:
    print(f"Correct: {message}")
    return Verdict(True)


def _first_mismatch(got, want):
    """``(got, want, k)``: both as arrays and ``k`` the first case where they differ (None if
    they agree everywhere, to a relative 1e-7)."""
    got, want = np.array(got), np.array(want)
    bad = np.flatnonzero(~np.isclose(got, want, rtol=1e-7, atol=1e-10))
    return got, want, (int(bad[0]) if bad.size else None)


def _check_function(fn, what: str):
    if not callable(fn):
        raise TypeError(f"{what} must be a function (def ...), got {type(fn).__name__}.")


def _call(fn, name: str, *args):
    """``fn(*args)``; NotImplementedError means unanswered, any other error a wrong answer."""
    try:
        return fn(*args)
    except NotImplementedError as err:
        raise _Unanswered from err
    except Exception as err:  # the student's code failed: say where, keep the traceback
        shown = ", ".join(repr(a) if not isinstance(a, np.ndarray) else _fmt_vec(a)
                          for a in args)
        raise WrongAnswer(f"{name}({shown}) raised {type(err).__name__}: {err}") from err


def _fmt_vec(v) -> str:
    return np.array2string(np.asarray(v, float), precision=4, separator=", ",
                           suppress_small=True)


def _as_float(x, what: str) -> float:
    """A real number from a student's function or answer (a 0-d array is fine)."""
    if isinstance(x, bool):
        raise WrongAnswer(f"{what} is a bool ({x}); it must be a number.")
    try:
        value = float(np.asarray(x, dtype=float).reshape(()))
    except (TypeError, ValueError) as err:
        shape = f" of shape {np.shape(x)}" if np.ndim(x) else ""
        raise WrongAnswer(f"{what} must be one number, got {type(x).__name__}{shape}.") from err
    return value


# --- Monte Carlo ----------------------------------------------------------------------------------

def _runs(values, what: str, min_runs: int = 100) -> np.ndarray:
    """``values`` as a 1-D float array of at least ``min_runs`` finite values, one per run."""
    try:
        x = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{what} must be an array of numbers, one per run, got "
                        f"{type(values).__name__}.") from err
    if x.ndim != 1:
        raise ValueError(f"{what} must be 1-D, one value per independent run, got shape "
                         f"{x.shape}.")
    if x.size < min_runs:
        raise ValueError(f"{what} has {x.size} runs; use at least {min_runs} so that the "
                         "standard error means something.")
    if not np.isfinite(x).all():
        raise WrongAnswer(f"{what} contains NaN or infinite values.")
    return x


def sigma_simulation(sigmas, p0=(0.5, 0.3, 0.2), n: int = 10, m: int = 5) -> Verdict:
    """Check simulated ``sigma_m = ||p^(m)||_2^2`` of fully synthetic runs against Theorem 1.

    ``sigmas`` holds one value of ``sigma_m`` per independent run (at least 100 runs), for the
    initial distribution ``p0``, ``n`` samples per generation and generation ``m``. Their mean
    must lie within 4 standard errors of ``S_m = 1 - (1 - 1/n)^m (1 - S_0)``.
    """
    from helpers import theory

    p0 = validate_distribution(p0, ndims=(1,))
    n = validate_int(n, "n", 1)
    m = validate_int(m, "m", 0)
    if _is_stub(sigmas):
        return _not_answered(f"simulate sigma_{m} for n = {n} and pass one value per run.")
    if callable(sigmas):
        raise TypeError("sigmas must be an array of sigma_m values, one per run, not a function.")
    try:
        arr = np.asarray(sigmas, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"sigmas must be an array of numbers, one per run, got "
                        f"{type(sigmas).__name__}.") from err
    if arr.ndim == 2 and arr.shape[1] == p0.size and np.allclose(arr.sum(1), 1):
        raise ValueError(f"sigmas has shape {arr.shape}: these look like the distributions "
                         f"p^({m}) themselves. Pass sigma_{m} = ||p^({m})||^2 per run, e.g. "
                         f"theory.sigma(traj[:, {m}]).")
    x = _runs(arr, "sigmas")
    mean, se = agreement.mean_se(x)

    def z_from(target: float) -> float:
        return float(agreement.z_scores(x, target).z)

    low = 1 / theory.support_size(p0)
    if (x > 1 + 1e-9).any() or (x < low - 1e-9).any():
        bad = x[(x > 1 + 1e-9) | (x < low - 1e-9)][0]
        raise WrongAnswer(f"sigma_m always lies in [1/s~, 1] = [{low:.4g}, 1], but one of your "
                          f"values is {bad:.4g}. sigma_m = sum_i (p_i^(m))^2: did you square "
                          "the probabilities (and not the counts)?")
    S = theory.expected_sigma_fully_synthetic(p0, n, np.arange(max(m + 2, 2)))
    z = z_from(float(S[m]))
    if abs(z) <= 4:
        return _correct(f"your mean sigma_{m} = {mean:.4f} ± {se:.2g} over {x.size} runs is "
                        f"{abs(z):.2f} standard errors from S_{m} = {S[m]:.4f} (Theorem 1).")
    hint = ("Hint: check that you take generation m of every run (index m of the trajectory; "
            "index 0 holds p0), that each generation draws n samples from the previous model, "
            "and that the runs are independent.")
    for shift in (-1, 1):
        if 0 <= m + shift < len(S) and abs(z_from(float(S[m + shift]))) <= 4:
            hint = (f"Hint: your mean matches S_{m + shift} = {S[m + shift]:.4f}: off by one "
                    f"generation. traj[:, m] is generation m, and traj[:, 0] is p0 itself.")
    if se == 0:
        hint = ("Hint: every run gave the same value: are the runs independent (one call with "
                "runs=..., not the same seed again and again)?")
    raise WrongAnswer(f"your mean sigma_{m} over {x.size} runs is {mean:.4f} ± {se:.2g} (s.e.) "
                      f"but Theorem 1 gives S_{m} = {S[m]:.4f} for p0 = {_fmt_vec(p0)}, n = {n}: "
                      f"{abs(z):.1f} standard errors off (the band is 4). {hint}")


# --- Theorem 1, eq. (6) ---------------------------------------------------------------------------

_FS_CASES_P0 = (np.full(5, 0.2), np.array([0.5, 0.3, 0.2]), np.array([0.9, 0.1]))
_FS_MS = (3, 0, 1, 2, 5, 10, 40)
_FS_NS = (10, 2, 100)


def sigma_formula(S) -> Verdict:
    """Check a function ``S(m, n, S0)`` that returns ``S_m`` of Theorem 1, eq. (6).

    ``S_m = E||p^(m)||_2^2 = 1 - (1 - 1/n)^m (1 - S_0)`` under fully synthetic training; the
    function is called with ints ``m >= 0``, ``n >= 2`` and a float ``S0`` in ``(0, 1)``.
    """
    from helpers import theory

    if _is_stub(S):
        return _not_answered("write S(m, n, S0), then run this cell again.")
    _check_function(S, "S")
    cases, got, want = [], [], []
    try:
        for n in _FS_NS:
            for p0 in _FS_CASES_P0:
                s0 = float(theory.sigma(p0))
                exact = theory.expected_sigma_fully_synthetic(p0, n, np.array(_FS_MS))
                for m, value in zip(_FS_MS, exact, strict=True):
                    out = _as_float(_call(S, "S", m, n, s0), f"S({m}, {n}, {s0:.2f})")
                    cases.append((m, n, s0))
                    got.append(out)
                    want.append(float(value))
    except _Unanswered:
        return _not_answered("S(m, n, S0) still raises NotImplementedError.")
    got, want, k = _first_mismatch(got, want)
    if k is None:
        return _correct(f"S(m, n, S0) matches Theorem 1 at all {len(cases)} cases "
                        f"(e.g. S_40 = {want[6]:.4f} for n = 10, S_0 = 0.2).")
    m, n, s0 = cases[k]
    arr = np.array(cases)
    mm, nn, ss = arr[:, 0], arr[:, 1], arr[:, 2]
    decay = (1 - 1 / nn) ** mm
    guesses = [
        ((1 - 1 / nn) ** mm * (1 - ss), "you returned 1 - S_m, the probability that two draws "
         "differ; S_m is 1 minus that."),
        (1 - decay, "the factor (1 - S_0) is missing: at m = 0 the formula must give S_0."),
        (1 - decay * ss, "you multiplied by S_0 where 1 - S_0 belongs."),
        (1 - (1 - 1 / nn) ** (mm + 1) * (1 - ss), "off by one generation: S_m has (1 - 1/n)^m, "
         "and at m = 0 it is S_0."),
        (1 - (1 - 1 / nn) ** np.maximum(mm - 1, 0) * (1 - ss), "off by one generation: S_m has "
         "(1 - 1/n)^m, and S_1 = 1/n + (1 - 1/n) S_0."),
        (1 - np.exp(-mm / nn) * (1 - ss), "that is the large-n approximation exp(-m/n); use the "
         "exact factor (1 - 1/n)^m."),
        (1 - (1 / nn) ** mm * (1 - ss), "the factor is (1 - 1/n)^m, not (1/n)^m."),
    ]
    hint = ("did you use (1 - 1/n)^m (1 - S_0)? It solves the recursion "
            "S_m = 1/n + (1 - 1/n) S_{m-1} from S_0.")
    for values, text in guesses:
        if np.allclose(got, values, rtol=1e-7, atol=1e-10):
            hint = text
            break
    raise WrongAnswer(f"your S_m at m={m}, n={n}, S_0={s0:.2f} is {got[k]:.4f} but Theorem 1 "
                      f"gives {want[k]:.4f}; {hint}")


# --- collapse time ------------------------------------------------------------------------------

def collapse_time(estimate, sem=None, p0=(0.5, 0.3, 0.2), n: int = 20) -> Verdict:
    """Check an estimate of the mean collapse time ``E[T]`` of fully synthetic training.

    The reference is the exact ``E[T]`` of :func:`helpers.statmodel.exact_collapse_time` (small
    ``n`` and supports only). With ``sem`` (the standard error of a simulated mean) the estimate
    must lie within 4 ``sem`` of it, and ``sem`` must be below 5% of ``E[T]``; without ``sem``
    (an exact computation) within 0.1%. ``T`` is counted in generations: the first ``m >= 1``
    at which ``p^(m)`` is a Dirac mass.
    """
    from helpers import statmodel, theory

    p0 = validate_distribution(p0, ndims=(1,))
    n = validate_int(n, "n", 1)
    if _is_stub(estimate):
        return _not_answered(f"estimate E[T] for p0 = {_fmt_vec(p0)}, n = {n}.")
    if callable(estimate) or isinstance(estimate, str):
        raise TypeError(f"estimate must be a number, got {type(estimate).__name__}.")
    est = _as_float(estimate, "your estimate of E[T]")
    if sem is not None:
        if isinstance(sem, bool) or not isinstance(sem, numbers.Real | np.floating):
            raise TypeError(f"sem must be a number (the standard error of your mean), got "
                            f"{type(sem).__name__}.")
        sem = float(sem)
        if not (math.isfinite(sem) and sem > 0):
            raise ValueError(f"sem must be positive and finite, got {sem}.")
    exact = statmodel.exact_collapse_time(p0, n)
    factor = est / exact
    where = f"for p0 = {_fmt_vec(p0)}, n = {n}"
    if sem is not None and sem > 0.05 * exact:
        raise WrongAnswer(f"your standard error {sem:.3g} is more than 5% of E[T] "
                          f"(about {exact:.3g}): too imprecise to check; use more runs.")
    tol = 4 * sem if sem is not None else 1e-3 * exact
    off = abs(est - exact)
    if off <= tol:
        detail = f" ({off / sem:.2f} standard errors)" if sem else ""
        return _correct(f"your E[T] = {est:.4g} agrees with the exact {exact:.4g} {where}"
                        f"{detail}.")
    lower, upper = theory.collapse_time_bounds(p0, n)
    def near(v):
        return abs(est - v) <= max(tol, 1e-3 * abs(v))

    if near(exact / n):
        hint = "you seem to report E[T]/n; T is counted in generations, not in units of n."
    elif near(exact * n):
        hint = "you seem to have multiplied by n; T is already counted in generations."
    elif near(exact - 1) or near(exact + 1):
        hint = ("off by one generation: T is the first m >= 1 with p^(m) a Dirac mass (T >= 1; "
                "p^(0) = p0 is generation 0).")
    elif near(float(lower)):
        hint = "that is the lower bound of Theorem 1, eq. (8), not E[T] itself."
    elif near(float(upper)):
        hint = "that is the upper bound of Theorem 1, eq. (8), not E[T] itself."
    elif est < exact:
        hint = ("is your time counted in generations? If you capped the number of generations, "
                "the runs that had not collapsed yet are missing (collapse_times with "
                "max_generations=None runs every chain to absorption).")
    else:
        hint = "is your time counted in generations, from generation 1?"
    se_text = f" ({off / sem:.1f} standard errors)" if sem else ""
    raise WrongAnswer(f"your E[T] = {est:.4g} {where} is off by a factor {factor:.2f} from the "
                      f"exact E[T] = {exact:.4g}{se_text}: {hint}")


# --- Theorem 2, eq. (9), corrected --------------------------------------------------------------

_PS_CASES = ((20, 3), (5, 5), (10, 100), (2, 1))  # (n, N)
_PS_P0 = (np.array([0.5, 0.3, 0.2]), np.full(4, 0.25), np.array([0.7, 0.2, 0.1]))
_PS_MS = (2, 0, 1, 3, 5, 10)


def partial_sigma_formula(S) -> Verdict:
    """Check a function ``S(m, n, N, S0)`` returning ``S_m`` of partially synthetic training.

    The reference is the corrected eq. (9) of Theorem 2
    (:func:`helpers.theory.expected_sigma_partially_synthetic`): one fixed real corpus of
    ``N`` samples plus ``n`` samples of the previous model at every generation ``m >= 2``,
    ``S_0 = S0`` and ``S_1 = 1/N + (1 - 1/N) S_0``. Called with ints ``m >= 0``, ``n, N >= 1``
    and a float ``S0``.
    """
    from helpers import theory

    if _is_stub(S):
        return _not_answered("write S(m, n, N, S0), then run this cell again.")
    _check_function(S, "S")
    cases, got, want, printed, full = [], [], [], [], []
    ms = np.array(_PS_MS)
    try:
        for n, N in _PS_CASES:
            for p0 in _PS_P0:
                s0 = float(theory.sigma(p0))
                exact = theory.expected_sigma_partially_synthetic(p0, n, N, ms)
                wrong = theory.expected_sigma_partially_synthetic(p0, n, N, ms, printed=True)
                shifted = theory.expected_sigma_partially_synthetic(p0, n, N, ms + 1)
                fs = theory.expected_sigma_fully_synthetic(p0, n, ms)
                for j, m in enumerate(_PS_MS):
                    out = _as_float(_call(S, "S", m, n, N, s0), f"S({m}, {n}, {N}, {s0:.3f})")
                    cases.append((m, n, N, s0))
                    got.append(out)
                    want.append(float(exact[j]))
                    printed.append(float(wrong[j]))
                    full.append((float(shifted[j]), float(fs[j])))
    except _Unanswered:
        return _not_answered("S(m, n, N, S0) still raises NotImplementedError.")
    got, want, k = _first_mismatch(got, want)
    if k is None:
        return _correct(f"S(m, n, N, S0) matches the corrected eq. (9) at all {len(cases)} "
                        f"cases (e.g. S_2 = {want[0]:.4f} for N = 3, n = 20, S_0 = 0.38, where "
                        f"the printed sign would give {printed[0]:.4f}).")
    m, n, N, s0 = cases[k]
    shifted, fs = np.array(full).T
    def close(v):
        return np.allclose(got, v, rtol=1e-7, atol=1e-10)

    later = np.array(cases)[:, 0] >= 2
    if np.allclose(got[later], np.array(printed)[later], rtol=1e-7, atol=1e-10):
        hint = ("you used the sign printed in the paper; the beta^m term of the second bracket "
                "is + (alpha/N) beta^m (an erratum: with the printed minus the paper's formula for "
                "S_{m+1} does not give S_1 = 1/N + (1 - 1/N) S_0 at m = 0).")
    elif close(shifted):
        hint = ("off by one generation: the paper's closed form gives S_{m+1} with beta^m; "
                "your S(m, ...) must return S_m, i.e. use beta^(m-1) for m >= 1.")
    elif close(fs):
        hint = ("that is Theorem 1 (fully synthetic); here each generation also sees the N "
                "real samples.")
    elif np.isclose(got, want, rtol=1e-7, atol=1e-10)[np.array(cases)[:, 0] >= 1].all():
        hint = "the formula for m >= 1 is right, but S_0 (m = 0) must be S0 itself."
    elif m == 0:
        hint = "at m = 0 the answer is S0 itself."
    elif m == 1:
        hint = ("generation 1 is the empirical distribution of the N real samples: "
                "S_1 = 1/N + (1 - 1/N) S_0.")
    else:
        hint = ("check alpha = n/(N+n), beta = alpha[(1 + 1/N) alpha - 1/N], "
                "D = 1 + (1 + 1/N) alpha, and the sign of the beta^m terms.")
    raise WrongAnswer(f"your S_m at m={m}, n={n}, N={N}, S_0={s0:.3f} is {got[k]:.4f} but the "
                      f"corrected eq. (9) gives {want[k]:.4f}; {hint}")


# --- decoding: temperature then top-k -----------------------------------------------------------

_DEC_P = (np.array([0.5, 0.3, 0.15, 0.05]), np.array([0.1, 0.6, 0.0, 0.25, 0.05]),
          np.array([0.34, 0.33, 0.2, 0.13]))
_DEC_T = (0.8, 0.5, 1.0, 1.25, 2.0)


def temperature_top_k(decode) -> Verdict:
    """Check a function ``decode(p, temperature, k)``: temperature, then keep the top ``k``.

    ``p`` is a 1-D probability vector without ties, ``temperature > 0`` a float and
    ``1 <= k <= len(p)`` an int (``k = len(p)``: no truncation). The answer must equal
    ``helpers.decoding.transform(p, temperature, top_k=k)``: ``p_i^(1/temperature)`` on the
    ``k`` most probable tokens, zero elsewhere, renormalised.
    """
    from helpers import decoding

    if _is_stub(decode):
        return _not_answered("write decode(p, temperature, k), then run this cell again.")
    _check_function(decode, "decode")
    try:
        for p in _DEC_P:
            for t in _DEC_T:
                for k in (2, 1, p.size):
                    out = _call(decode, "decode", p.copy(), t, k)
                    want = decoding.transform(p, t, top_k=k)
                    _compare_decoding(out, want, p, t, k)
    except _Unanswered:
        return _not_answered("decode(p, temperature, k) still raises NotImplementedError.")
    return _correct(f"decode(p, temperature, k) matches helpers.decoding.transform on "
                    f"{len(_DEC_P) * len(_DEC_T) * 3} cases.")


def _compare_decoding(out, want, p, t, k):
    case = f"p = {_fmt_vec(p)}, temperature = {t}, k = {k}"
    if is_torch(out):
        out = out.detach().cpu().numpy()
    try:
        got = np.asarray(out, dtype=float)
    except (TypeError, ValueError) as err:
        raise WrongAnswer(f"decode({case}) returned {type(out).__name__}, not an array of "
                          "probabilities.") from err
    if got.shape != want.shape:
        raise WrongAnswer(f"decode({case}) returned shape {got.shape}; it must have the shape "
                          f"of p, {want.shape} (zeros for the tokens that are cut).")
    if np.allclose(got, want, rtol=1e-6, atol=1e-9):
        return
    hint = "temperature raises p to the power 1/temperature; top-k keeps the k largest entries."
    total = got.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        if not np.isclose(total, 1, atol=1e-6) and total > 0 and np.allclose(got / total, want,
                                                                              atol=1e-9):
            hint = f"your output sums to {total:.4f}: renormalise it to sum to 1."
        elif np.count_nonzero(got > 1e-12) != np.count_nonzero(want > 0):
            hint = (f"you kept {np.count_nonzero(got > 1e-12)} tokens but top-k with k = {k} "
                    f"keeps {np.count_nonzero(want > 0)} (the k most probable, never a token of "
                    "probability 0).")
        elif np.allclose(got, _power_then_top_k(p, t, k), atol=1e-9):
            hint = ("you raised p to the power temperature; it is p^(1/temperature) "
                    "(temperature < 1 sharpens the distribution).")
    raise WrongAnswer(f"for {case} your decode gives {_fmt_vec(got)} but the answer is "
                      f"{_fmt_vec(want)}; {hint}")


def _power_then_top_k(p, power, k):
    w = p**power
    keep = np.zeros(p.size, bool)
    keep[np.argsort(-p, kind="stable")[:k]] = True
    w = np.where(keep, w, 0.0)
    return w / w.sum()


# --- the transformer: parameter count -----------------------------------------------------------

def parameter_count(count, bias: bool = False) -> Verdict:
    """Check a closed form ``count(V, T, C, L)`` of the number of parameters of a GPT.

    ``V`` vocabulary, ``T`` context length, ``C`` width, ``L`` layers, as in
    :class:`helpers.gpt.GPTConfig`; ``bias`` says whether every Linear and LayerNorm layer has
    a bias (the book's configurations have ``bias=False``). The LM head is tied to the token
    embedding. Compared with :func:`helpers.gpt.parameter_count_formula` on the book's three
    configurations and a tiny one, whose model is also built and counted.
    """
    from helpers import gpt

    if not isinstance(bias, bool):
        raise TypeError(f"bias must be True or False, got {bias!r}.")
    if _is_stub(count):
        return _not_answered("write count(V, T, C, L), then run this cell again.")
    _check_function(count, "count")
    configs = [gpt.get_config(name, bias=bias) for name in ("paper", "nanogpt", "small")]
    configs.append(gpt.GPTConfig(vocab_size=11, block_size=7, n_layer=2, n_head=1, n_embd=5,
                                 bias=bias))
    tiny_model = gpt.GPT(configs[-1]).num_parameters()
    if tiny_model != gpt.parameter_count_formula(configs[-1]):  # pragma: no cover
        raise RuntimeError("helpers.gpt.parameter_count_formula disagrees with the model.")
    got, want, dims = [], [], []
    try:
        for cfg in configs:
            V, T, C, L = cfg.vocab_size, cfg.block_size, cfg.n_embd, cfg.n_layer
            out = _call(count, "count", V, T, C, L)
            if isinstance(out, bool) or not isinstance(out, numbers.Real | np.number):
                raise WrongAnswer(f"count({V}, {T}, {C}, {L}) returned {type(out).__name__}; "
                                  "it must return a number.")
            got.append(float(out))
            want.append(gpt.parameter_count_formula(cfg))
            dims.append((V, T, C, L))
    except _Unanswered:
        return _not_answered("count(V, T, C, L) still raises NotImplementedError.")
    got, want = np.array(got), np.array(want, float)
    kind = "with biases" if bias else "without biases"
    if np.array_equal(got, want):
        return _correct(f"count(V, T, C, L) {kind} matches the model: {int(want[0]):,} "
                        f"parameters for the paper's shape, {int(want[2]):,} for the 'small' one.")
    V, T, C, L = np.array(dims, float).T
    b = int(bias)
    diff = got - want
    explanations = [
        (V * C, "the LM head is tied to the token embedding: count its V·C weights once."),
        (-V * C, "the token embedding (V·C) is missing."),
        (-T * C, "the position embedding (T·C) is missing."),
        (-(1 + b) * C, "the final LayerNorm is missing."),
        (-2 * (1 + b) * L * C, "each block has two LayerNorms."),
        (-2 * (1 + b) * L * C - (1 + b) * C, "the LayerNorms are missing: two per block and a "
         "final one."),
        (-4 * L * C * C, "the MLP goes C -> 4C -> C: 8C² weights per layer (attention has 4C²)."),
        (-8 * L * C * C, "the MLP goes C -> 4C -> C: 8C² weights per layer."),
        (-C * C * L, "attention has four C×C matrices per layer: q, k, v and the output "
         "projection."),
    ]
    if bias:
        explanations += [
            (-(11 * L * C + C), "the biases are missing: per block 2C in the LayerNorms, 3C for "
             "q, k, v, C for the output projection, 4C and C in the MLP; C in the final "
             "LayerNorm."),
            (-(3 * L * C), "the MLP's first layer maps to 4C units, so it has 4C biases."),
            (-(2 * L * C + C), "every LayerNorm has a bias too (C per LayerNorm)."),
        ]
    else:
        explanations.append((L * 11 * C + C, "these configurations have bias=False: no biases "
                             "in Linear or LayerNorm layers."))
    hint = ("per block: attention 4C² (q, k, v, output), MLP 8C² (C -> 4C -> C), two "
            "LayerNorms; plus embeddings V·C + T·C and a final LayerNorm"
            + ("; and every Linear and LayerNorm has a bias." if bias else "."))
    for delta, text in explanations:
        if np.allclose(diff, delta):
            hint = text
            break
    k = int(np.flatnonzero(diff != 0)[0])
    Vk, Tk, Ck, Lk = dims[k]
    raise WrongAnswer(f"for V={Vk}, T={Tk}, C={Ck}, L={Lk} {kind} your count is {got[k]:,.0f} "
                      f"but the model has {want[k]:,.0f} parameters (difference "
                      f"{diff[k]:+,.0f}); {hint}")
