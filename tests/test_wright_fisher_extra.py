"""Tests of helpers.wright_fisher: parent choice, coalescent bounds and Kingman's law."""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import chi2, multinomial

from helpers import statmodel, wright_fisher


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
    with pytest.raises(ValueError):
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
    with pytest.raises(ValueError, match="probability vector"):
        wright_fisher.collapse_time_from_genealogy([0.5, 0.4], 5)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        wright_fisher.collapse_time_from_genealogy([0.5, 0.5], 0)
    assert wright_fisher.collapse_time_from_genealogy([0.5, 0.5], 1) == 1
    P = wright_fisher.lineage_count_matrix(50)
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-13)
    assert np.all(np.triu(P, 1) == 0)
    # all tokens distinct (p uniform on n tokens): E[T] is the mean Kingman time, about 2n
    n = 300
    assert 1.9 * n < wright_fisher.collapse_time_from_genealogy(np.full(n, 1 / n), n) < 2 * n
