"""The formulas of helpers.theory, helpers.wright_fisher and helpers.statmodel pinned to
exactly enumerated chains at small cases (a cross-module test).

The chains of fully and partially synthetic training are enumerated with exact fractions for a
few tokens and samples: every law below is exact, and so are the means, probabilities and
collapse times computed from it. A bound checked only against simulations could be made looser
(e.g. computed with the vocabulary size ``s`` instead of the support size ``s~``) and still pass;
here the bounds are compared with their formulas in exact arithmetic, and with exact values
where they are attained.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from fractions import Fraction as F
from functools import cache
from math import factorial, isclose, log, pi, prod, sqrt

import numpy as np
import pytest

from helpers import statmodel, theory, wright_fisher

# p0 with zeros: vocabulary size s = 4 or 5, support size s~ = 3 or 2.
P3 = (F(1, 2), F(1, 3), F(1, 6), F(0))
P2 = (F(3, 10), F(0), F(7, 10), F(0), F(0))


def floats(p) -> np.ndarray:
    return np.array([float(x) for x in p])


def sq(p) -> F:
    return sum(x * x for x in p)


def support(p) -> int:
    return sum(1 for x in p if x > 0)


def compositions(total: int, parts: int):
    """Every tuple of ``parts`` nonnegative ints that sum to ``total``."""
    for bars in itertools.combinations(range(total + parts - 1), parts - 1):
        edges = (-1, *bars, total + parts - 1)
        yield tuple(b - a - 1 for a, b in itertools.pairwise(edges))


@cache
def multinomial(n: int, q: tuple) -> dict:
    """The exact law of the counts of ``n`` draws of ``q``: ``{counts: probability}``."""
    law = {}
    for x in compositions(n, len(q)):
        prob = F(factorial(n), prod(factorial(k) for k in x)) * prod(
            qi**k for qi, k in zip(q, x, strict=True))
        if prob:
            law[x] = prob
    return law


def push(law: dict, step) -> dict:
    """The law of ``step(X)`` for ``X ~ law``, where ``step(x)`` is a law."""
    out: dict = defaultdict(F)
    for x, px in law.items():
        for y, py in step(x).items():
            out[y] += px * py
    return dict(out)


def mean(law: dict, f) -> F:
    return sum(px * f(x) for x, px in law.items())


def fully_synthetic_laws(p0, n: int, generations: int) -> list[dict]:
    """Exact laws of the counts ``n p^(m)``, ``m = 1..generations``."""
    laws = [multinomial(n, tuple(p0))]
    for _ in range(1, generations):
        laws.append(push(laws[-1], lambda x: multinomial(n, tuple(F(k, n) for k in x))))
    return laws


def solve(A: list[list[F]], b: list[F]) -> list[F]:
    """Gaussian elimination in exact arithmetic."""
    size = len(b)
    M = [row[:] + [b[i]] for i, row in enumerate(A)]
    for c in range(size):
        pivot = next(r for r in range(c, size) if M[r][c] != 0)
        M[c], M[pivot] = M[pivot], M[c]
        for r in range(size):
            if r != c and M[r][c] != 0:
                factor = M[r][c] / M[c][c]
                M[r] = [a - factor * e for a, e in zip(M[r], M[c], strict=True)]
    return [M[i][size] / M[i][i] for i in range(size)]


def exact_collapse_time(p0, n: int) -> F:
    """``E[T]`` from the chain on count vectors, solved in fractions."""
    live = [i for i, x in enumerate(p0) if x > 0]
    if len(live) == 1:
        return F(1)
    states = [x for x in compositions(n, len(live)) if sum(1 for k in x if k) > 1]
    index = {x: i for i, x in enumerate(states)}
    A = [[F(int(i == j)) for j in range(len(states))] for i in range(len(states))]
    for x in states:
        for y, py in multinomial(n, tuple(F(k, n) for k in x)).items():
            if y in index:
                A[index[x]][index[y]] -= py
    t = solve(A, [F(1)] * len(states))
    first = multinomial(n, tuple(p0[i] for i in live))
    return 1 + sum(first[x] * t[index[x]] for x in states if x in first)


def extrapolate(values: list[F]) -> F:
    """The limit of a sequence that obeys ``v_{m+1} = a + b v_m``, from three of its terms."""
    v0, v1, v2 = values[-3:]
    b = (v2 - v1) / (v1 - v0)
    return (v2 - b * v1) / (1 - b)


# --- Theorem 1: eq. (6), (7), (8) ---------------------------------------------------------------

@pytest.mark.parametrize(("p0", "n"), [(P3, 3), (P2, 4), ((F(1, 4),) * 4, 2)])
def test_eq6_is_the_exact_mean_of_sigma(p0, n):
    laws = fully_synthetic_laws(p0, n, 5)
    for m, law in enumerate(laws, start=1):
        exact = mean(law, lambda x: sq(F(k, n) for k in x))
        assert exact == 1 - (1 - F(1, n)) ** m * (1 - sq(p0))
        assert isclose(theory.expected_sigma_fully_synthetic(floats(p0), n, m), exact,
                       rel_tol=1e-13)
    assert theory.expected_sigma_fully_synthetic(floats(p0), n, 0) == pytest.approx(sq(p0))


def _eq7(p0, n, m) -> tuple[F, F]:
    """The bounds (7) in fractions, with the support size s~."""
    s0, st = sq(p0), support(p0)
    return (1 - n * (1 - s0) * (1 - F(1, n)) ** m,
            1 - (1 - s0) / (1 - F(1, st)) * (1 - F(1, n)) ** m)


@pytest.mark.parametrize(("p0", "n"), [(P3, 3), (P2, 4), (P2, 3)])
def test_eq7_is_the_printed_formula_and_holds_on_the_exact_chain(p0, n):
    laws = fully_synthetic_laws(p0, n, 6)
    lower, upper = theory.collapse_probability_bounds(floats(p0), n, np.arange(1, 7))
    for m, law in enumerate(laws, start=1):
        rho = mean(law, lambda x: F(int(sum(1 for k in x if k) == 1)))
        low, up = _eq7(p0, n, m)
        assert isclose(lower[m - 1], low, rel_tol=1e-12, abs_tol=1e-15)
        assert isclose(upper[m - 1], up, rel_tol=1e-12, abs_tol=1e-15)
        assert low <= rho <= up


def test_eq7_and_eq8_are_attained_at_n2_whatever_the_vocabulary():
    # Two tokens in a vocabulary of five, n = 2: generation 1 is a Dirac mass with probability
    # S_0, and from (1/2, 1/2) each generation collapses with probability 1/2. So
    # rho_m = 1 - 2 (1 - S_0) 2^-m, which is the upper bound (7) with s~ = 2, and
    # E[T] = 1 + 2 (1 - S_0), both bounds (8). With s = 5 in place of s~ neither holds.
    p0, n = P2, 2
    s0 = sq(p0)
    laws = fully_synthetic_laws(p0, n, 8)
    _, upper = theory.collapse_probability_bounds(floats(p0), n, np.arange(1, 9))
    for m, law in enumerate(laws, start=1):
        rho = mean(law, lambda x: F(int(sum(1 for k in x if k) == 1)))
        assert rho == 1 - 2 * (1 - s0) / 2**m
        assert isclose(upper[m - 1], rho, rel_tol=1e-13)
    exact = exact_collapse_time(p0, n)
    assert exact == 1 + 2 * (1 - s0)
    lower, upper = theory.collapse_time_bounds(floats(p0), n)
    assert isclose(lower, exact, rel_tol=1e-13) and isclose(upper, exact, rel_tol=1e-13)


@pytest.mark.parametrize(("p0", "n"), [(P3, 2), (P3, 3), (P3, 5), (P2, 6), ((F(1, 3),) * 3, 4),
                                       ((F(1),), 3)])
def test_eq8_and_the_wright_fisher_bounds_on_exact_collapse_times(p0, n):
    exact = exact_collapse_time(p0, n)
    s0, st = sq(p0), support(p0)
    p = floats(p0)
    assert isclose(statmodel.exact_collapse_time(p, n), exact, rel_tol=1e-11)
    assert isclose(wright_fisher.collapse_time_from_genealogy(p, n), exact, rel_tol=1e-11)
    lower, upper = theory.collapse_time_bounds(p, n)
    if st > 1:
        assert isclose(lower, 1 + (1 - s0) / (1 - F(1, st)) * (n - 1), rel_tol=1e-13)
    assert isclose(upper, 1 + (1 - s0) * n * (n - 1), rel_tol=1e-13)
    assert lower <= exact * (1 + 1e-13) and exact <= upper * (1 + 1e-13)
    wf_lower, wf_upper = wright_fisher.collapse_time_wf_bounds(p, n)
    assert isclose(wf_lower, n * (1 - s0), rel_tol=1e-13, abs_tol=1e-15)
    assert wf_lower <= exact <= wf_upper == 3 * n - 2


def test_collapse_time_by_hand():
    assert exact_collapse_time((F(1, 2), F(1, 2)), 1) == 1       # n = 1: T = 1 = 3n - 2
    assert wright_fisher.collapse_time_wf_bounds([0.5, 0.5], 1)[1] == 1
    assert exact_collapse_time((F(1, 2), F(1, 2)), 2) == 2       # 1 + 2 (1 - S_0)
    # n = 3, two tokens: from (1, 2) the chain stays with 2/3, collapses with 1/3: 3 steps
    # on average; generation 1 is mixed with probability 1 - p^3 - q^3.
    p = F(1, 3)
    assert exact_collapse_time((p, 1 - p), 3) == 1 + 3 * (1 - p**3 - (1 - p) ** 3)


def test_token_survival_is_the_exact_marginal_chain():
    p0, n = P3, 3
    alive, fixed = wright_fisher.token_survival(floats(p0), n, 5)
    for m, law in enumerate(fully_synthetic_laws(p0, n, 5), start=1):
        for i in range(len(p0)):
            assert isclose(alive[m, i], mean(law, lambda x, i=i: F(int(x[i] > 0))),
                           abs_tol=1e-14)
            assert isclose(fixed[m, i], mean(law, lambda x, i=i: F(int(x[i] == n))),
                           abs_tol=1e-14)


# --- Theorem 2, Theorems 3-4, exact L2 deviations: partially synthetic training ---------------

def partially_synthetic_laws(p0, n: int, N: int, generations: int, fresh: bool = False):
    """Exact laws of ``(real counts, p^(m))``, ``m = 1..generations``; ``p^(1)`` = real / N."""
    laws = [{(r, tuple(F(k, N) for k in r)): pr for r, pr in multinomial(N, tuple(p0)).items()}]

    def step(state):
        r, q = state
        reals = multinomial(N, tuple(p0)) if fresh else {r: F(1)}
        return {(r2, tuple(F(a + b, N + n) for a, b in zip(r2, x, strict=True))): pr * px
                for r2, pr in reals.items() for x, px in multinomial(n, q).items()}

    for _ in range(1, generations):
        laws.append(push(laws[-1], step))
    return laws


def l1(p, q) -> F:
    return sum(abs(a - b) for a, b in zip(p, q, strict=True))


def split(p) -> F:
    """``pi_p = max_A min(p(A), 1 - p(A))`` by brute force over all subsets."""
    best = F(0)
    for mask in itertools.product((0, 1), repeat=len(p)):
        mass = sum(x for x, keep in zip(p, mask, strict=True) if keep)
        best = max(best, min(mass, 1 - mass))
    return best


@pytest.mark.parametrize(("p0", "n", "N"), [((F(1, 2), F(1, 3), F(1, 6)), 2, 2),
                                            ((F(1, 4), F(3, 4), F(0)), 3, 2)])
def test_eq9_corrected_is_the_exact_mean_of_sigma(p0, n, N):
    laws = partially_synthetic_laws(p0, n, N, 5)
    exact = [sq(p0)] + [mean(law, lambda state: sq(state[1])) for law in laws]
    got = theory.expected_sigma_partially_synthetic(floats(p0), n, N, np.arange(6))
    printed = theory.expected_sigma_partially_synthetic(floats(p0), n, N, np.arange(6), True)
    np.testing.assert_allclose(got, [float(v) for v in exact], rtol=1e-13)
    assert not np.isclose(printed[2], float(exact[2]), rtol=1e-6)  # the paper's sign is wrong
    alpha, beta = theory.alpha_beta(n, N)
    assert isclose(alpha, F(n, N + n)) and isclose(beta, F(n * (n - 1), (N + n) ** 2))
    # S_m obeys S_{m+1} = a + beta S_m from m = 2 on; its limit is 1 - gamma.
    assert (exact[4] - exact[3]) / (exact[3] - exact[2]) == F(n * (n - 1), (N + n) ** 2)
    assert isclose(1 - theory.gamma_partially_synthetic(floats(p0), n, N), extrapolate(exact),
                   rel_tol=1e-13)


def test_l2_deviations_are_exact():
    p0, n, N = (F(1, 2), F(1, 3), F(1, 6)), 2, 2
    fresh = partially_synthetic_laws(p0, n, N, 5, fresh=True)
    v = [mean(law, lambda state: sq(a - b for a, b in zip(state[1], p0, strict=True)))
         for law in fresh]
    np.testing.assert_allclose(theory.expected_l2_fresh(floats(p0), n, N, np.arange(1, 6)),
                               [float(x) for x in v], rtol=1e-13)
    assert isclose(theory.stationary_l2_fresh(floats(p0), n, N), extrapolate(v), rel_tol=1e-13)
    p1 = (F(1, 2), F(1, 2), F(0))  # a first model fitted on N = 2 real samples
    laws = [{(tuple(N * x for x in p1), p1): F(1)}]
    for _ in range(4):
        laws.append(push(laws[-1], lambda state: {
            (state[0], tuple(F(a + b, N + n) for a, b in zip(state[0], x, strict=True))): px
            for x, px in multinomial(n, state[1]).items()}))
    w = [mean(law, lambda state: sq(a - b for a, b in zip(state[1], p1, strict=True)))
         for law in laws]
    np.testing.assert_allclose(theory.expected_l2_fixed(floats(p1), n, N, np.arange(1, 6)),
                               [float(x) for x in w], rtol=1e-13, atol=1e-16)
    assert isclose(theory.stationary_l2_fixed(floats(p1), n, N), extrapolate(w), rel_tol=1e-13)


def test_phi_is_its_definition_down_to_tiny_arguments():
    for x in (F(1, 2 * 10**300), F(1, 10**17), F(1, 1000), F(1, 10), F(1, 4), F(1, 3), F(2, 5)):
        definition = log((1 - x) / x) / (1 - 2 * x)
        assert isclose(theory.phi(float(x)), definition, rel_tol=1e-13), x
    assert theory.phi(0.5) == 2 and theory.phi(0.0) == np.inf


def test_pi_split_and_lemma1_against_exact_probabilities():
    p, n = (F(1, 2), F(1, 3), F(1, 6)), 6
    pi_p = split(p)
    assert pi_p == F(1, 2)
    assert theory.pi_split(floats(p)) == pytest.approx(float(pi_p), abs=1e-15)
    q = (F(7, 10), F(1, 5), F(1, 10))
    assert theory.lambda_max_split(floats(q)) == pytest.approx(float(split(q) * (1 - split(q))))
    # s = 3 < C_0 n / 4 + 2: G_n(s) = 2^s - 2 and the lemma is Weissman's inequality.
    law = multinomial(n, p)
    for eps in (F(1, 3), F(2, 3), F(1)):
        tail = mean(law, lambda x, eps=eps: F(int(l1((F(k, n) for k in x), p) >= eps)))
        bound = theory.lemma1_tail_bound(floats(p), n, float(eps))
        assert isclose(bound, 6 * np.exp(-n * theory.phi(0.5) * float(eps) ** 2 / 4),
                       rel_tol=1e-13)
        assert tail <= bound


def test_theorems_3_and_4_against_the_exact_drift():
    p0, n, N = (F(1, 2), F(1, 3), F(1, 6)), 2, 3
    laws = partially_synthetic_laws(p0, n, N, 4)
    first = {r: pr for (r, _), pr in laws[0].items()}
    E_lambda1 = sum(pr * split(tuple(F(k, N) for k in r)) * (1 - split(tuple(F(k, N) for k in r)))
                    for r, pr in first.items())
    zeta = theory.theorem4_zeta(float(E_lambda1), n, N)
    assert isclose(zeta, 2 * min(F(1, 4), (N**2 * E_lambda1 + N * n + F(n**2, 4)) / (N + n) ** 2),
                   rel_tol=1e-13)
    bound3 = theory.theorem3_bound(n, N, 3)
    bound4 = theory.theorem4_bound(n, N, 3, zeta)
    assert isclose(bound3, sqrt(pi * n / 2) / N * (2**3 - 2), rel_tol=1e-13)
    assert isclose(bound4, sqrt(pi * n / theory.phi(zeta)) / N * (2**3 - 2), rel_tol=1e-13)
    for law in laws[1:]:
        drift = mean(law, lambda state: l1(state[1], tuple(F(k, N) for k in state[0])))
        assert 0 < drift < bound4 <= bound3
        assert drift <= F(2 * n, N + n)  # the trivial bound, item 1 of the chapter's proposition
        # the step of Theorem 4's proof: E[lambda_k] <= (N^2 E lambda_1 + N n + n^2/4)/(N+n)^2
        lam = mean(law, lambda state: split(state[1]) * (1 - split(state[1])))
        assert lam <= (N**2 * E_lambda1 + N * n + F(n**2, 4)) / (N + n) ** 2
        assert mean(law, lambda state: split(state[1])) <= zeta


# --- Wright-Fisher limits -------------------------------------------------------------------------

def test_genealogy_matrix_is_the_stirling_formula():
    def stirling2(k, j):
        return sum((-1) ** i * F(factorial(j), factorial(i) * factorial(j - i)) * (j - i) ** k
                   for i in range(j + 1)) / factorial(j)

    n = 6
    P = wright_fisher.lineage_count_matrix(n)
    for k in range(n + 1):
        for j in range(n + 1):
            exact = stirling2(k, j) * F(factorial(n), factorial(n - j)) / F(n) ** k
            assert isclose(P[k, j], exact, abs_tol=1e-15)


def test_limits_by_hand():
    for K in (2, 3, 10):
        assert wright_fisher.collapse_time_asymptotic(np.full(K, 1 / K), 7) == pytest.approx(
            14 * (K - 1) * log(K / (K - 1)), rel=1e-14)
    p = np.array([0.3, 0.7])
    assert wright_fisher.first_loss_time_asymptotic(p, 9) == pytest.approx(
        wright_fisher.collapse_time_asymptotic(p, 9), rel=1e-14)
    # uniform on 3: 2n [3 (1/3) ln 3 - 3 (2/3) ln(3/2)] = 2n ln(4/3)
    assert wright_fisher.first_loss_time_asymptotic(np.full(3, 1 / 3), 5) == pytest.approx(
        10 * log(4 / 3), rel=1e-13)
    mean_t, var_t = wright_fisher.kingman_tmrca_moments()
    k = range(2, 10_001)
    assert mean_t == 2 and var_t == pytest.approx(sum(4 / (i * (i - 1)) ** 2 for i in k), abs=1e-11)


def test_diffusion_limit_against_exact_collapse_times():
    # The envelope |E[T] - n c(p)| <= ln n that Chapter 11 relies on, from exact values.
    for p in (np.array([0.5, 0.5]), np.array([0.2, 0.8]), np.full(10, 0.1)):
        for n in (10, 100, 1000):
            exact = wright_fisher.collapse_time_from_genealogy(p, n)
            gap = exact - wright_fisher.collapse_time_asymptotic(p, n)
            assert -log(n) <= gap < 0, (p, n, gap)
