"""Closed forms of Theorem 1 and the argument checks shared with the engine."""

import numpy as np
import pytest

from helpers import theory

P = np.array([0.5, 0.3, 0.2])
P_ZEROS = np.array([0.6, 0.0, 0.3, 0.1, 0.0])
CONTEXTS = np.array([[0.5, 0.3, 0.2], [0.25, 0.25, 0.5], [0.9, 0.1, 0.0]])


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
