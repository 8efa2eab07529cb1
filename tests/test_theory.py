"""Tests of helpers.theory: the closed forms of Theorems 1 to 4, Lemma 1 and the exact L2
deviations, checked by hand, and their argument checks."""

import itertools

import numpy as np
import pytest

from helpers import theory

P = np.array([0.5, 0.3, 0.2])
P_ZEROS = np.array([0.6, 0.0, 0.3, 0.1, 0.0])
CONTEXTS = np.array([[0.5, 0.3, 0.2], [0.25, 0.25, 0.5], [0.9, 0.1, 0.0]])
C0, C1 = np.e**3 / (2 * np.pi), 6 * np.e / np.pi**1.5


def test_sigma_and_support_size():
    assert theory.sigma(np.full(4, 0.25)) == pytest.approx(0.25)
    assert theory.sigma([0, 1, 0]) == 1
    assert theory.support_size(P_ZEROS) == 3
    np.testing.assert_allclose(theory.sigma(CONTEXTS), (CONTEXTS**2).sum(1))
    np.testing.assert_array_equal(theory.support_size(CONTEXTS), [3, 3, 2])


def test_expected_sigma_identities():
    n = 8
    s0 = theory.sigma(P)
    assert theory.expected_sigma_fully_synthetic(P, n, 0) == pytest.approx(s0)
    assert theory.expected_sigma_fully_synthetic(P, n, 1) == pytest.approx(1 / n + (1 - 1 / n) * s0)
    s = theory.expected_sigma_fully_synthetic(P, n, np.arange(50))
    np.testing.assert_allclose(s[1:], 1 / n + (1 - 1 / n) * s[:-1])  # recursion (14)
    assert np.all(np.diff(s) > 0) and s[-1] < 1
    assert theory.expected_sigma_fully_synthetic(P, 1, 1) == 1  # one sample: a Dirac mass


def test_shapes_generations_first_contexts_last():
    m = np.arange(6)
    n = np.array([4, 10, 50])
    assert theory.expected_sigma_fully_synthetic(P, 10, m).shape == (6,)
    assert theory.expected_sigma_fully_synthetic(CONTEXTS, n, m).shape == (6, 3)
    assert theory.expected_sigma_fully_synthetic(CONTEXTS, 10, 3).shape == (3,)
    lower, upper = theory.collapse_probability_bounds(CONTEXTS, n, m)
    assert lower.shape == upper.shape == (6, 3)
    lower, upper = theory.collapse_time_bounds(CONTEXTS, n)
    assert lower.shape == upper.shape == (3,)
    one_by_one = [theory.expected_sigma_fully_synthetic(CONTEXTS[i], n[i], m) for i in range(3)]
    np.testing.assert_allclose(theory.expected_sigma_fully_synthetic(CONTEXTS, n, m),
                               np.stack(one_by_one, axis=1))


@pytest.mark.parametrize("p0", [P, P_ZEROS, np.full(10, 0.1)])
@pytest.mark.parametrize("n", [2, 10, 200])
def test_bounds_are_ordered(p0, n):
    m = np.arange(0, 20 * n, 7)
    lower, upper = theory.collapse_probability_bounds(p0, n, m)
    assert np.all(lower <= upper) and np.all((upper >= 0) & (upper <= 1))
    clipped, _ = theory.collapse_probability_bounds(p0, n, m, clip=True)
    assert np.all(clipped >= 0) and np.all(clipped <= upper)
    assert lower[0] < 0  # the printed lower bound is vacuous early on
    t_lower, t_upper = theory.collapse_time_bounds(p0, n)
    assert 1 <= t_lower <= t_upper


def test_time_bounds_sum_the_tail_bounds():
    # E[T] = 1 + sum_{k>=1} P(T > k), and P(T > k) = 1 - rho_k is bounded by (7).
    n = 12
    k = np.arange(1, 4000)
    lower, upper = theory.collapse_probability_bounds(P, n, k)
    t_lower, t_upper = theory.collapse_time_bounds(P, n)
    assert t_lower == pytest.approx(1 + (1 - upper).sum())
    assert t_upper == pytest.approx(1 + (1 - lower).sum())


def test_dirac_p0_has_already_collapsed():
    dirac = np.array([0.0, 1.0, 0.0])
    assert theory.expected_sigma_fully_synthetic(dirac, 5, 3) == 1
    lower, upper = theory.collapse_probability_bounds(dirac, 5, [0, 4])
    np.testing.assert_array_equal(lower, 1)
    np.testing.assert_array_equal(upper, 1)
    assert theory.collapse_time_bounds(dirac, 5) == (1, 1)


@pytest.mark.parametrize(
    ("p0", "error", "match"),
    [
        ([0.5, 0.4], ValueError, r"p0 sums to 0\.9.*p0 / p0\.sum\(-1, keepdims=True\)"),
        ([[0.5, 0.5], [0.2, 0.2]], ValueError, r"row 1 of p0 sums to 0\.4"),
        ([1.2, -0.2], ValueError, "negative entries"),
        ([np.nan, 1.0], ValueError, "NaN"),
        (np.ones((2, 2, 2)) / 2, ValueError, r"shape \(s,\) or \(c, s\)"),
        ([], ValueError, "at least one token"),
        ("abc", TypeError, "array of probabilities"),
    ],
)
def test_bad_distributions(p0, error, match):
    with pytest.raises(error, match=match):
        theory.expected_sigma_fully_synthetic(p0, 10, 1)


def test_sums_within_tolerance_are_accepted():
    assert theory.collapse_time_bounds([0.5, 0.5 + 1e-12], 4)[0] > 1


@pytest.mark.parametrize(
    ("p0", "n", "error", "match"),
    [
        (P, 0, ValueError, "n must be >= 1"),
        (P, 2.5, TypeError, "n must be an integer"),
        (P, True, TypeError, "n must be an integer"),
        (P, [3, 4, 5], ValueError, "single integer for a 1-D p0"),
        (CONTEXTS, [3, 4], ValueError, r"shape \(3,\), one sample size per context"),
        (CONTEXTS, np.array([3.0, 4, 5]), TypeError, "n must hold integers"),
        (CONTEXTS, np.array([3, 0, 5]), ValueError, "every sample size in n must be >= 1"),
    ],
)
def test_bad_sample_sizes(p0, n, error, match):
    with pytest.raises(error, match=match):
        theory.collapse_time_bounds(p0, n)


def test_bad_generation_indices():
    with pytest.raises(ValueError, match="nonnegative"):
        theory.expected_sigma_fully_synthetic(P, 10, [-1, 2])
    with pytest.raises(TypeError, match="generation index"):
        theory.collapse_probability_bounds(P, 10, 1.5)
    assert theory.expected_sigma_fully_synthetic(P, 10, 2.0) == pytest.approx(
        theory.expected_sigma_fully_synthetic(P, 10, 2))


def test_scalar_n_with_several_contexts_broadcasts():
    p0 = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    got = theory.expected_sigma_fully_synthetic(p0, 10, np.arange(3))
    assert got.shape == (3, 2)
    per_context = theory.expected_sigma_fully_synthetic(p0, np.array([10, 10]), np.arange(3))
    np.testing.assert_allclose(got, per_context)


# --- Theorem 2 ------------------------------------------------------------------------------------

def test_alpha_beta_identities():
    for n, N in [(1, 1), (5, 5), (20, 3), (10, 100), (1000, 7)]:
        alpha, beta = theory.alpha_beta(n, N)
        assert alpha == pytest.approx(n / (N + n))
        assert beta == pytest.approx(n * (n - 1) / (N + n) ** 2)
        assert 1 - beta == pytest.approx((1 - alpha) * (1 + (1 + 1 / N) * alpha))
        assert 0 <= beta < alpha < 1
    alpha, beta = theory.alpha_beta(np.array([5, 20]), 5)
    np.testing.assert_allclose(alpha, [0.5, 0.8])


def _iterate_nu(p, n, N, generations):
    """S_m from the per-coordinate linear recursion of the proof of Theorem 2."""
    alpha, beta = n / (N + n), n * (n - 1) / (N + n) ** 2
    nu = p / N + (1 - 1 / N) * p**2
    out = [np.sum(p**2), nu.sum()]
    for _ in range(2, generations + 1):
        nu = (1 - alpha) * (1 + 2 * alpha) * p / N + (1 - 1 / N) * (1 - alpha**2) * p**2 + beta * nu
        out.append(nu.sum())
    return np.array(out)


@pytest.mark.parametrize(("n", "N"), [(20, 3), (5, 5), (1, 4), (10, 100), (200, 2)])
def test_corrected_eq9_solves_the_recursion(n, N):
    m = np.arange(30)
    np.testing.assert_allclose(theory.expected_sigma_partially_synthetic(P, n, N, m),
                               _iterate_nu(P, n, N, 29), rtol=1e-12)


def test_digest_table_values():
    p = np.array([0.55, 0.35, 0.1])  # S_0 = 0.435
    assert theory.expected_sigma_partially_synthetic(p, 20, 3, 2) == pytest.approx(
        0.63757, abs=5e-6)
    assert theory.expected_sigma_partially_synthetic(p, 20, 3, 2, printed=True) == pytest.approx(
        0.58165, abs=5e-6)
    assert theory.expected_sigma_partially_synthetic(P, 5, 5, 2) == pytest.approx(0.5288)
    assert theory.expected_sigma_partially_synthetic(P, 5, 5, 2, printed=True) == pytest.approx(
        0.5212)
    s = theory.expected_sigma_partially_synthetic(P, 5, 5, [0, 1])  # printed changes m >= 2 only
    np.testing.assert_allclose(theory.expected_sigma_partially_synthetic(P, 5, 5, [0, 1], True), s)
    np.testing.assert_allclose(s, [0.38, 0.2 + 0.8 * 0.38])


def test_gamma_bounds_and_limit():
    for n, N in [(2, 2), (20, 3), (10, 100), (500, 5)]:
        gamma = theory.gamma_partially_synthetic(P, n, N)
        s = theory.expected_sigma_partially_synthetic(P, n, N, np.arange(2, 400))
        assert np.all(s[:5] < 1 - gamma) and np.all(s <= 1 - gamma + 1e-15)
        limit = theory.expected_sigma_partially_synthetic(P, n, N, 10**5)
        assert limit == pytest.approx(1 - gamma)
        alpha, _ = theory.alpha_beta(n, N)
        s0 = theory.sigma(P)
        assert (1 + alpha) / (2 + 3 * alpha) * (1 - s0) <= gamma + 1e-15 and gamma <= 1 - s0


def test_sigma_is_s1_plus_the_expected_fixed_l2_deviation():
    # E||p^(m)||^2 = E||p^(1)||^2 + E||p^(m) - p^(1)||^2, and W_m is linear in ||p^(1)||^2
    n, N, m = 7, 4, np.arange(1, 20)
    s1 = 1 / N + (1 - 1 / N) * theory.sigma(P)
    a = (1 + np.sqrt(2 * s1 - 1)) / 2
    q = np.array([a, 1 - a])  # any p1 with ||p1||^2 = S_1
    np.testing.assert_allclose(theory.expected_sigma_partially_synthetic(P, n, N, m),
                               s1 + theory.expected_l2_fixed(q, n, N, m))


def test_contexts_and_shapes():
    contexts = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    got = theory.expected_sigma_partially_synthetic(contexts, 5, np.array([3, 9]), np.arange(4))
    assert got.shape == (4, 2)
    np.testing.assert_allclose(got[:, 1], theory.expected_sigma_partially_synthetic(
        contexts[1], 5, 9, np.arange(4)))
    assert theory.gamma_partially_synthetic(contexts, 5, 3).shape == (2,)
    assert theory.expected_l2_fresh(contexts, 5, 3, np.arange(6)).shape == (6, 2)


# --- G_n(s), phi, pi_p, Lemma 1 -------------------------------------------------------------------

def test_concentration_G_branches():
    # n = 10: branch 3 below C0*10/4 + 2 = 9.97, branch 2 up to C0*10/e + 2 = 13.7, then branch 1
    assert theory.concentration_G(10, 9) == pytest.approx(2**9 - 2)
    assert theory.concentration_G(10, 10) == pytest.approx(C1 * 10 * (C0 * 10 / 10) ** 5)
    assert theory.concentration_G(10, 13) == pytest.approx(C1 * 13 * (C0 * 10 / 13) ** 6.5)
    assert theory.concentration_G(10, 14) == pytest.approx(C1 * 14 * np.exp(C0 * 10 / (2 * np.e)))
    assert theory.concentration_G(1, 1) == 0 and theory.concentration_G(1, 2) == 2
    assert theory.concentration_G(10, 600) == pytest.approx(6.288e5, rel=1e-3)  # digest table
    huge = theory.log_concentration_G(10**6, 5000)
    assert np.isfinite(huge) and theory.concentration_G(10**6, 5000) == np.inf
    np.testing.assert_allclose(theory.log_concentration_G(10, [9, 14]),
                               np.log([2**9 - 2, C1 * 14 * np.exp(C0 * 10 / (2 * np.e))]))


def test_phi():
    assert theory.phi(0.5) == 2
    assert theory.phi(0.25) == pytest.approx(2 * np.log(3))
    assert theory.phi(0.5 - 1e-10) == pytest.approx(2)
    assert theory.phi(0) == np.inf
    x = np.linspace(0.001, 0.5, 200)
    assert np.all(np.diff(theory.phi(x)) < 0) and np.all(theory.phi(x) >= 2)
    with pytest.raises(ValueError, match=r"\[0, 1/2\]"):
        theory.phi(0.6)


def _brute_pi(p):
    best = 0.0
    for k in range(len(p) + 1):
        for subset in itertools.combinations(range(len(p)), k):
            mass = p[list(subset)].sum()
            best = max(best, min(mass, 1 - mass))
    return best


def test_pi_split_and_lambda_by_brute_force():
    rng = np.random.default_rng(0)
    for s in (1, 2, 3, 5, 9, 12):
        p = rng.dirichlet(np.ones(s))
        assert theory.pi_split(p) == pytest.approx(_brute_pi(p), abs=1e-12)
        pi = _brute_pi(p)
        assert theory.lambda_max_split(p) == pytest.approx(pi * (1 - pi), abs=1e-12)
    assert theory.pi_split(P) == 0.5 and theory.pi_split([0.7, 0.2, 0.1]) == pytest.approx(0.3)
    assert theory.pi_split([0.0, 1.0]) == 0
    assert theory.pi_split(np.full(51, 1 / 51)) == pytest.approx(25 / 51, abs=51e-7)


def test_pi_split_dp_is_a_tight_upper_bound(monkeypatch):
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(14))
    exact = theory.pi_split(p)
    monkeypatch.setattr(theory, "EXACT_SUPPORT", 4)
    bound = theory.pi_split(p, resolution=1e-6)
    assert exact <= bound <= exact + 14e-6


def test_lemma1_tail_bound():
    # s = 2 < C0 n/4 + 2: G = 2; pi_p = 1/2 for the uniform law: phi = 2
    assert theory.lemma1_tail_bound([0.5, 0.5], 40, 0.3) == pytest.approx(
        2 * np.exp(-40 * 2 * 0.09 / 4))
    p = np.array([0.7, 0.2, 0.1])  # pi_p = 0.3
    assert theory.lemma1_tail_bound(p, 50, 0.2) == pytest.approx(
        6 * np.exp(-50 * np.log(7 / 3) / 0.4 * 0.04 / 4))
    got = theory.lemma1_tail_bound(p, 50, [0.1, 0.2])
    assert got.shape == (2,) and got[0] > got[1]
    with pytest.raises(ValueError, match="eps must be positive"):
        theory.lemma1_tail_bound(p, 50, 0)


# --- Theorems 3 and 4 -----------------------------------------------------------------------------

def test_theorem3_digest_numbers():
    assert theory.theorem3_bound(10, 100, 600) == pytest.approx(2.49e4, rel=2e-3)
    np.testing.assert_allclose(theory.theorem3_bound(np.array([5, 10, 20]), 10**6, 65),
                               [0.0101, 0.270, 136.6], rtol=3e-3)
    n_max = theory.theorem3_max_n(10**6, 65, 0.1)
    assert n_max == pytest.approx(5.13, abs=0.01)
    assert theory.theorem3_bound(int(n_max), 10**6, 65) < 0.1
    assert theory.theorem3_max_n(10, 65, 0.1) < 1  # nothing guaranteed
    assert theory.theorem3_bound(10, 100, 600) == pytest.approx(
        np.sqrt(np.pi * 10 / 2) / 100 * theory.concentration_G(10, 600))


def test_theorem4_zeta_and_bound():
    n, N, lam = 10, 100, 0.15
    printed = theory.theorem4_zeta(lam, n, N, corrected=False)
    corrected = theory.theorem4_zeta(lam, n, N)
    assert printed == pytest.approx(0.5 - (0.5 - 2 * lam) * (N / (N + n)) ** 2)
    assert corrected == pytest.approx(2 * (N**2 * lam + N * n + n**2 / 4) / (N + n) ** 2)
    assert corrected - printed == pytest.approx(N * n / (N + n) ** 2)
    assert theory.theorem4_zeta(0.25, 5, 5) == 0.5  # capped at 1/2
    # zeta = 1/2 gives phi = 2: Theorem 3 exactly; smaller zeta gives a smaller bound
    assert theory.theorem4_bound(n, N, 600, 0.5) == pytest.approx(theory.theorem3_bound(n, N, 600))
    assert theory.theorem4_bound(n, N, 600, corrected) < theory.theorem3_bound(n, N, 600)
    with pytest.raises(ValueError, match=r"E_lambda1 must lie in \[0, 1/4\]"):
        theory.theorem4_zeta(0.3, n, N)


# --- exact L2 deviations --------------------------------------------------------------------------

def test_l2_fresh_recursion_and_limit():
    n, N = 20, 5
    h = 1 - theory.sigma(P)
    v = theory.expected_l2_fresh(P, n, N, np.arange(60))
    assert v[0] == 0 and v[1] == pytest.approx(h / N)
    np.testing.assert_allclose(v[2:], ((N + n) * h + (n**2 - n) * v[1:-1]) / (N + n) ** 2)
    assert v[-1] == pytest.approx(theory.stationary_l2_fresh(P, n, N))
    # N real samples only (n = 1 adds one sample): never below the real-data variance h/(N+n)
    assert theory.stationary_l2_fresh(P, n, N) > h / (N + n)


def test_l2_fixed_recursion_and_limit():
    n, N = 20, 5
    p1 = np.array([0.4, 0.4, 0.2])
    h = 1 - theory.sigma(p1)
    w = theory.expected_l2_fixed(p1, n, N, np.arange(1, 60))
    assert w[0] == 0
    np.testing.assert_allclose(w[1:], (n * h + (n**2 - n) * w[:-1]) / (N + n) ** 2)
    assert w[-1] == pytest.approx(theory.stationary_l2_fixed(p1, n, N))
    assert theory.stationary_l2_fixed(p1, n, N) == pytest.approx(n * h / (N**2 + 2 * N * n + n))
    with pytest.raises(ValueError, match="m >= 1"):
        theory.expected_l2_fixed(p1, n, N, 0)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: theory.alpha_beta(5, 0), ValueError, "N must be >= 1"),
        (lambda: theory.alpha_beta(2.5, 3), TypeError, "n must be an integer"),
        (lambda: theory.expected_sigma_partially_synthetic(P, 5, 0, 2), ValueError,
         "N must be >= 1"),
        (lambda: theory.expected_sigma_partially_synthetic(P, 5, 5, -1), ValueError,
         "nonnegative"),
        (lambda: theory.gamma_partially_synthetic([0.5, 0.4], 5, 5), ValueError, "sums to 0.9"),
        (lambda: theory.concentration_G(0, 5), ValueError, "n must be >= 1"),
        (lambda: theory.theorem3_max_n(10, 65, -1), ValueError, "eps must be positive"),
        (lambda: theory.stationary_l2_fixed([0.5, 0.6], 5, 5), ValueError, "p1 sums to"),
        (lambda: theory.pi_split(np.full((2, 2), 0.5)), ValueError, r"shape \(s,\)"),
    ],
)
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_pi_split_of_an_empirical_distribution_is_exact():
    rng = np.random.default_rng(2)
    counts = rng.multinomial(37, rng.dirichlet(np.ones(9)))
    p = counts / 37
    assert theory.pi_split(p, denominator=37) == pytest.approx(_brute_pi(p), abs=1e-12)
    assert theory.lambda_max_split(p, denominator=37) == pytest.approx(theory.lambda_max_split(p))
    big = rng.multinomial(100, np.full(60, 1 / 60)) / 100  # > EXACT_SUPPORT tokens, still exact
    assert theory.pi_split(big, denominator=100) == 0.5
    with pytest.raises(ValueError, match="integer multiple"):
        theory.pi_split(p, denominator=10)
