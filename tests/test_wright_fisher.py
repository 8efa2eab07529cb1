"""Wright-Fisher results beyond the paper: asymptotics, bounds and the exact mean collapse time."""

import numpy as np
import pytest
from scipy.stats import binom

from helpers import statmodel, theory

P = np.array([0.5, 0.3, 0.2])


def birth_death_collapse_time(p, n):
    """E[T] for two tokens from the chain of one token's count on {0..n} (binomial steps)."""
    i = np.arange(1, n)  # transient counts
    Q = binom.pmf(i[None, :], n, i[:, None] / n)
    t = np.linalg.solve(np.eye(n - 1) - Q, np.ones(n - 1))
    return 1 + binom.pmf(i, n, p) @ t


# --- asymptotics --------------------------------------------------------------------------------

@pytest.mark.parametrize(("K", "coef"), [(2, 1.386), (3, 1.622), (10, 1.897)])
def test_collapse_time_asymptotic_uniform(K, coef):
    n = 100
    value = theory.collapse_time_asymptotic(np.full(K, 1 / K), n)
    assert value == pytest.approx(2 * n * (K - 1) * np.log(K / (K - 1)))
    assert value == pytest.approx(coef * n, abs=1e-3 * n)


def test_collapse_time_asymptotic_shapes_and_range():
    n = np.array([10, 20, 50])
    values = theory.collapse_time_asymptotic(P, n)
    assert values.shape == (3,)
    np.testing.assert_allclose(values / n, values[0] / 10)  # linear in n
    s0 = theory.sigma(P)
    assert 2 * (1 - s0) <= values[0] / 10 < 2  # theory notes §2.4
    assert theory.collapse_time_asymptotic([0.0, 1.0, 0.0], 10) == 0.0
    # zero-probability tokens do not change anything
    assert theory.collapse_time_asymptotic([0.5, 0.0, 0.3, 0.2], 7) == pytest.approx(
        theory.collapse_time_asymptotic(P, 7))


def test_first_loss_time_asymptotic():
    n = 50
    two = theory.first_loss_time_asymptotic([0.3, 0.7], n)
    assert two == pytest.approx(-2 * n * (0.3 * np.log(0.3) + 0.7 * np.log(0.7)))
    assert two == pytest.approx(theory.collapse_time_asymptotic([0.3, 0.7], n))
    assert theory.first_loss_time_asymptotic(np.full(10, 0.1), 1) == pytest.approx(0.0811, abs=1e-4)
    three = theory.first_loss_time_asymptotic(P, n)
    assert 0 < three < theory.collapse_time_asymptotic(P, n)  # first loss comes before collapse
    assert theory.first_loss_time_asymptotic([1.0, 0.0], n) == 0
    assert theory.first_loss_time_asymptotic(P, [10, 20]).shape == (2,)
    with pytest.raises(ValueError, match="limited to 20"):
        theory.first_loss_time_asymptotic(np.full(21, 1 / 21), n)


def test_kingman_tmrca_moments():
    mean, var = theory.kingman_tmrca_moments()
    k = np.arange(2, 2_000_000, dtype=float)
    rates = k * (k - 1) / 2
    assert mean == pytest.approx((1 / rates).sum(), rel=1e-5)
    assert var == pytest.approx((1 / rates**2).sum(), rel=1e-9)
    assert np.sqrt(var) == pytest.approx(1.077, abs=1e-3)


@pytest.mark.parametrize("p0", [P, np.full(10, 0.1), [0.99, 0.01]])
@pytest.mark.parametrize("n", [2, 10, 1000])
def test_wf_bounds_ordering(p0, n):
    lower, upper = theory.collapse_time_wf_bounds(p0, n)
    assert 0 < lower <= theory.collapse_time_asymptotic(p0, n) < 2 * n <= upper + 2
    if n >= 10 and theory.sigma(p0) < 0.9:  # tighter than the paper's quadratic bound (8)
        assert upper < theory.collapse_time_bounds(p0, n)[1]
    np.testing.assert_allclose(theory.collapse_time_wf_bounds(p0, [n, 2 * n])[1],
                               [3 * n - 2, 6 * n - 2])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: theory.collapse_time_asymptotic([[0.5, 0.5]], 3), ValueError, r"shape \(s,\)"),
        (lambda: theory.collapse_time_asymptotic([0.5, 0.4], 3), ValueError, "normalise"),
        (lambda: theory.collapse_time_wf_bounds(P, 0), ValueError, "n must be >= 1"),
        (lambda: theory.first_loss_time_asymptotic(P, 2.5), TypeError, "n must be an integer"),
        (lambda: statmodel.exact_collapse_time(P, 0), ValueError, "n must be >= 1"),
        (lambda: statmodel.exact_collapse_time(np.full(4, 0.25), 40), ValueError,
         "EXACT_MAX_STATES"),
    ],
)
def test_validation(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --- exact mean collapse time -------------------------------------------------------------------

def test_exact_hand_values():
    assert statmodel.exact_collapse_time([0.5, 0.5], 2) == pytest.approx(2.0)  # 1 + 1/2 * 2
    assert statmodel.exact_collapse_time([0.0, 1.0], 9) == 1.0
    assert statmodel.exact_collapse_time(P, 1) == 1.0  # one sample is a Dirac mass


@pytest.mark.parametrize(("p", "n"), [(0.5, 10), (0.1, 25), (0.7, 40)])
def test_exact_two_tokens_matches_birth_death(p, n):
    exact = statmodel.exact_collapse_time([p, 0.0, 1 - p], n)
    assert exact == pytest.approx(birth_death_collapse_time(p, n), rel=1e-10)


@pytest.mark.parametrize(("p0", "n", "seed"),
                         [([0.5, 0.5], 10, 1), (P, 10, 2), (np.full(3, 1 / 3), 20, 3),
                          ([0.4, 0.3, 0.2, 0.1], 8, 4)])
def test_exact_matches_monte_carlo(p0, n, seed):
    exact = statmodel.exact_collapse_time(p0, n)
    ct = statmodel.collapse_times(np.asarray(p0), n, runs=20_000, seed=seed)
    assert abs(ct.mean() - exact) <= 4 * ct.sem()
    lower, upper = theory.collapse_time_wf_bounds(p0, n)
    assert lower <= exact <= upper
    t_lower, t_upper = theory.collapse_time_bounds(p0, n)
    assert t_lower <= exact <= t_upper


def test_exact_approaches_the_asymptotic():
    gaps = [1 - statmodel.exact_collapse_time([0.5, 0.5], n)
            / theory.collapse_time_asymptotic([0.5, 0.5], n) for n in (10, 40, 160)]
    assert 0 < gaps[2] < gaps[1] < gaps[0] < 0.1
    gap3 = 1 - (statmodel.exact_collapse_time(np.full(3, 1 / 3), 30)
                / theory.collapse_time_asymptotic(np.full(3, 1 / 3), 30))
    assert 0 < gap3 < 0.05


def test_exact_moments():
    assert statmodel.exact_collapse_time_moments([0.5, 0.5], 2) == pytest.approx((2.0, 2.0))
    assert statmodel.exact_collapse_time_moments([1.0, 0.0], 5) == (1.0, 0.0)
    mean, var = statmodel.exact_collapse_time_moments(P, 10)
    assert mean == pytest.approx(statmodel.exact_collapse_time(P, 10))
    ct = statmodel.collapse_times(P, 10, runs=20_000, seed=5)
    assert ct.times.std(ddof=1) == pytest.approx(np.sqrt(var), rel=0.05)
    # diffusion values of sd(T)/n (theory notes §2.3): 1.017 at x = 1/2, 0.834 at x = 0.1
    for x, sd in [(0.5, 1.017), (0.1, 0.834)]:
        _, var = statmodel.exact_collapse_time_moments([x, 1 - x], 200)
        assert np.sqrt(var) / 200 == pytest.approx(sd, rel=0.01)
