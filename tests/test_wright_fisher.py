"""Tests of helpers.wright_fisher: token survival, the collapse-time asymptotics and bounds, the
genealogy and Kingman's law."""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import chi2, multinomial

from helpers import statmodel, theory, wright_fisher

P = np.array([0.5, 0.3, 0.2])


# --- asymptotics ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("K", "coef"), [(2, 1.386), (3, 1.622), (10, 1.897)])
def test_collapse_time_asymptotic_uniform(K, coef):
    n = 100
    value = wright_fisher.collapse_time_asymptotic(np.full(K, 1 / K), n)
    assert value == pytest.approx(2 * n * (K - 1) * np.log(K / (K - 1)))
    assert value == pytest.approx(coef * n, abs=1e-3 * n)


def test_collapse_time_asymptotic_shapes_and_range():
    n = np.array([10, 20, 50])
    values = wright_fisher.collapse_time_asymptotic(P, n)
    assert values.shape == (3,)
    np.testing.assert_allclose(values / n, values[0] / 10)  # linear in n
    s0 = theory.sigma(P)
    assert 2 * (1 - s0) <= values[0] / 10 < 2  # theory notes §2.4
    assert wright_fisher.collapse_time_asymptotic([0.0, 1.0, 0.0], 10) == 0.0
    # zero-probability tokens do not change anything
    assert wright_fisher.collapse_time_asymptotic([0.5, 0.0, 0.3, 0.2], 7) == pytest.approx(
        wright_fisher.collapse_time_asymptotic(P, 7))


def test_first_loss_time_asymptotic():
    n = 50
    two = wright_fisher.first_loss_time_asymptotic([0.3, 0.7], n)
    assert two == pytest.approx(-2 * n * (0.3 * np.log(0.3) + 0.7 * np.log(0.7)))
    assert two == pytest.approx(wright_fisher.collapse_time_asymptotic([0.3, 0.7], n))
    ten = wright_fisher.first_loss_time_asymptotic(np.full(10, 0.1), 1)
    assert ten == pytest.approx(0.0811, abs=1e-4)
    three = wright_fisher.first_loss_time_asymptotic(P, n)
    assert 0 < three < wright_fisher.collapse_time_asymptotic(P, n)  # first loss, then collapse
    assert wright_fisher.first_loss_time_asymptotic([1.0, 0.0], n) == 0
    assert wright_fisher.first_loss_time_asymptotic(P, [10, 20]).shape == (2,)
    with pytest.raises(ValueError, match="limited to 20"):
        wright_fisher.first_loss_time_asymptotic(np.full(21, 1 / 21), n)


def test_kingman_tmrca_moments():
    mean, var = wright_fisher.kingman_tmrca_moments()
    k = np.arange(2, 2_000_000, dtype=float)
    rates = k * (k - 1) / 2
    assert mean == pytest.approx((1 / rates).sum(), rel=1e-5)
    assert var == pytest.approx((1 / rates**2).sum(), rel=1e-9)
    assert np.sqrt(var) == pytest.approx(1.077, abs=1e-3)


@pytest.mark.parametrize("p0", [P, np.full(10, 0.1), [0.99, 0.01]])
@pytest.mark.parametrize("n", [2, 10, 1000])
def test_wf_bounds_ordering(p0, n):
    lower, upper = wright_fisher.collapse_time_wf_bounds(p0, n)
    assert 0 < lower <= wright_fisher.collapse_time_asymptotic(p0, n) < 2 * n <= upper + 2
    if n >= 10 and theory.sigma(p0) < 0.9:  # tighter than the paper's quadratic bound (8)
        assert upper < theory.collapse_time_bounds(p0, n)[1]
    np.testing.assert_allclose(wright_fisher.collapse_time_wf_bounds(p0, [n, 2 * n])[1],
                               [3 * n - 2, 6 * n - 2])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: wright_fisher.collapse_time_asymptotic([[0.5, 0.5]], 3), ValueError,
         r"shape \(s,\)"),
        (lambda: wright_fisher.collapse_time_asymptotic([0.5, 0.4], 3), ValueError, "normalise"),
        (lambda: wright_fisher.collapse_time_wf_bounds(P, 0), ValueError, "n must be >= 1"),
        (lambda: wright_fisher.first_loss_time_asymptotic(P, 2.5), TypeError,
         "n must be an integer"),
    ],
)
def test_validation(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --- token survival -------------------------------------------------------------------------------

def test_token_survival_first_generation_and_limits():
    p = np.array([0.6, 0.3, 0.1, 0.0])
    alive, fixed = wright_fisher.token_survival(p, 8, 400)
    np.testing.assert_allclose(alive[1], 1 - (1 - p) ** 8)
    np.testing.assert_allclose(fixed[1], p**8)
    assert np.all(np.diff(alive, axis=0) <= 1e-12)
    np.testing.assert_allclose(alive[-1], p, atol=1e-9)  # Proposition 1 in the limit
    np.testing.assert_allclose(fixed[-1], p, atol=1e-9)
    with pytest.raises(ValueError, match="one context"):
        wright_fisher.token_survival(np.full((2, 2), 0.5), 8, 3)


# --- the genealogy and Kingman's law --------------------------------------------------------------

def test_genealogical_step_is_multinomial_in_law():
    start = np.array([3, 2, 1])
    runs = 60_000
    out = wright_fisher.genealogical_step(np.tile(start, (runs, 1)), np.random.default_rng(1))
    assert np.all(out.sum(axis=1) == 6)
    outcomes, observed = np.unique(out, axis=0, return_counts=True)
    expected = runs * multinomial.pmf(outcomes, 6, start / 6)
    assert expected.sum() == pytest.approx(runs)          # every outcome was seen
    stat = np.sum((observed - expected) ** 2 / expected)
    assert chi2.sf(stat, len(outcomes) - 1) > 1e-4


def test_genealogical_step_keeps_dirac_and_validates():
    rng = np.random.default_rng(0)
    assert np.array_equal(wright_fisher.genealogical_step(np.array([[0, 5, 0]]), rng), [[0, 5, 0]])
    with pytest.raises(ValueError):
        wright_fisher.genealogical_step(np.array([[1, 2], [2, 2]]), rng)
    with pytest.raises(ValueError):
        wright_fisher.genealogical_step(np.array([1, 2]), rng)
    with pytest.raises(TypeError, match="integers"):
        wright_fisher.genealogical_step(np.array([[0.5, 0.5]]), rng)


def test_capped_tail_bound_between_truth_and_paper():
    p = np.array([0.5, 0.3, 0.2])
    for n in (5, 20, 60):
        capped = wright_fisher.capped_tail_bound(p, n)
        uncapped = 1 + n * (n - 1) * (1 - p @ p)
        k = np.arange(0, 200 * n)
        brute = np.minimum(1, n * (1 - p @ p) * (1 - 1 / n) ** k).sum()
        assert capped == pytest.approx(brute, rel=1e-9)
        assert statmodel.exact_collapse_time(p, n) <= capped <= uncapped
    with pytest.raises(ValueError):
        wright_fisher.capped_tail_bound(p, 1)


@pytest.mark.parametrize("n", [2, 3, 8, 30])
def test_coalescent_bounds_are_ordered_and_valid(n):
    exact, expo, lin = (wright_fisher.coalescent_bound(n, f) for f in ("exact", "exp", "linear"))
    assert exact <= expo <= lin == 3 * n - 2
    # the bound holds for every p0; the uniform p0 on n tokens is the hardest case
    assert statmodel.exact_collapse_time(np.full(min(n, 3), 1 / min(n, 3)), n) <= exact
    with pytest.raises(ValueError):
        wright_fisher.coalescent_bound(n, "bad")


def test_kingman_density_and_sample():
    total, _ = quad(wright_fisher.kingman_tmrca_density, 0.01, 60, limit=200)
    mean, _ = quad(lambda t: t * wright_fisher.kingman_tmrca_density(t), 0.01, 60, limit=200)
    assert total == pytest.approx(1, abs=1e-8) and mean == pytest.approx(2, abs=1e-8)
    x = wright_fisher.kingman_tmrca_sample(20_000, 50, np.random.default_rng(3))
    se = x.std() / np.sqrt(x.size)
    assert abs(x.mean() - 2 * (1 - 1 / 50)) < 4 * se
    with pytest.raises(ValueError):
        wright_fisher.kingman_tmrca_density(0.0)
    with pytest.raises(ValueError):
        wright_fisher.kingman_tmrca_sample(10, 1, np.random.default_rng(0))


def test_collapse_time_from_genealogy_validates_and_scales():
    with pytest.raises(ValueError, match="normalise"):
        wright_fisher.collapse_time_from_genealogy([0.5, 0.4], 5)
    with pytest.raises(ValueError, match="n must be >= 1"):
        wright_fisher.collapse_time_from_genealogy([0.5, 0.5], 0)
    assert wright_fisher.collapse_time_from_genealogy([0.5, 0.5], 1) == 1
    P = wright_fisher.lineage_count_matrix(50)
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-13)
    assert np.all(np.triu(P, 1) == 0)
    # all tokens distinct (p uniform on n tokens): E[T] is the mean Kingman time, about 2n
    n = 300
    assert 1.9 * n < wright_fisher.collapse_time_from_genealogy(np.full(n, 1 / n), n) < 2 * n
