"""The recursive-training engine: shapes, seeding, checks, and agreement with Theorem 1."""

import numpy as np
import pytest
from scipy.stats import binom

from helpers import statmodel, theory, wright_fisher

P = np.array([0.5, 0.3, 0.2])
CONTEXTS = np.array([[0.5, 0.3, 0.2, 0.0], [0.25, 0.25, 0.25, 0.25], [0.0, 1.0, 0.0, 0.0]])
N_CONTEXTS = np.array([5, 40, 3])


def within(estimate, expected, se, k=4.0):
    """Monte-Carlo agreement: |estimate - expected| <= k standard errors (elementwise)."""
    return np.all(np.abs(np.asarray(estimate) - expected) <= k * np.asarray(se) + 1e-12)


# --- fully_synthetic ----------------------------------------------------------------------------

def test_shapes_and_generation_zero():
    traj = statmodel.fully_synthetic(P, 7, generations=4, runs=3, seed=0)
    assert traj.shape == (3, 5, 3) and traj.dtype == float
    np.testing.assert_array_equal(traj[:, 0], np.broadcast_to(P, (3, 3)))
    np.testing.assert_allclose(traj.sum(-1), 1)
    counts = traj[:, 1:] * 7
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-9)  # empirical, denominator n
    assert statmodel.fully_synthetic(P, 7, generations=0, seed=0).shape == (1, 1, 3)


def test_contexts_with_their_own_sample_sizes():
    traj = statmodel.fully_synthetic(CONTEXTS, N_CONTEXTS, generations=3, runs=4, seed=1)
    assert traj.shape == (4, 4, 3, 4)
    np.testing.assert_array_equal(traj[:, 0], np.broadcast_to(CONTEXTS, (4, 3, 4)))
    counts = traj[:, 1:] * N_CONTEXTS[:, None]
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-9)
    assert np.all(traj[:, :, 0, 3] == 0)  # a zero-probability token never appears
    assert np.all(traj[:, :, 2, 1] == 1)  # a Dirac context stays put
    scalar_n = statmodel.fully_synthetic(CONTEXTS, 6, generations=2, runs=2, seed=1)
    assert scalar_n.shape == (2, 3, 3, 4)


def test_seeding():
    a = statmodel.fully_synthetic(P, 10, 5, runs=4, seed=3)
    np.testing.assert_array_equal(a, statmodel.fully_synthetic(P, 10, 5, runs=4, seed=3))
    assert not np.array_equal(a, statmodel.fully_synthetic(P, 10, 5, runs=4, seed=4))
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    np.testing.assert_array_equal(statmodel.fully_synthetic(P, 10, 5, seed=g1),
                                  statmodel.fully_synthetic(P, 10, 5, seed=g2))
    assert statmodel.fully_synthetic(P, 10, 5, seed=None).shape == (1, 6, 3)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"p0": [0.5, 0.4]}, ValueError, r"p0 sums to 0\.9"),
        ({"p0": np.ones((2, 2, 2)) / 2}, ValueError, r"shape \(s,\) or \(c, s\)"),
        ({"n": 0}, ValueError, "n must be >= 1"),
        ({"n": 10.0}, TypeError, "n must be an integer"),
        ({"p0": CONTEXTS, "n": [3, 4]}, ValueError, r"shape \(3,\)"),
        ({"generations": -1}, ValueError, "generations must be nonnegative"),
        ({"generations": 2.0}, TypeError, "generations must be an integer"),
        ({"runs": 0}, ValueError, "runs must be >= 1"),
        ({"seed": "0"}, TypeError, "seed must be a non-negative integer"),
        ({"seed": -1}, ValueError, "seed must be a non-negative integer"),
    ],
)
def test_fully_synthetic_checks_its_arguments(kwargs, error, match):
    args = {"p0": P, "n": 10, "generations": 3, "runs": 2, "seed": 0} | kwargs
    with pytest.raises(error, match=match):
        statmodel.fully_synthetic(**args)


def test_expected_sigma_matches_theorem_1():
    n, runs, m = 8, 4000, np.arange(7)
    sigma = theory.sigma(statmodel.fully_synthetic(P, n, 6, runs=runs, seed=11))
    se = sigma.std(0, ddof=1)[1:] / np.sqrt(runs)
    expected = theory.expected_sigma_fully_synthetic(P, n, m)
    assert sigma[0, 0] == pytest.approx(expected[0])
    assert within(sigma.mean(0)[1:], expected[1:], se)


def test_expected_sigma_per_context():
    n = np.array([4, 30, 3])
    traj = statmodel.fully_synthetic(CONTEXTS, n, 5, runs=3000, seed=12)
    sigma = theory.sigma(traj)  # (runs, generations + 1, c)
    se = np.maximum(sigma.std(0, ddof=1), 1e-12) / np.sqrt(len(sigma))
    assert within(sigma.mean(0), theory.expected_sigma_fully_synthetic(CONTEXTS, n,
                                                                          np.arange(6)), se)


def test_martingale_mean_is_p0():
    traj = statmodel.fully_synthetic(P, 6, 10, runs=4000, seed=13)
    se = traj.std(0, ddof=1)[1:] / np.sqrt(len(traj))
    assert within(traj.mean(0)[1:], P, se)


def test_tracked_quantities():
    traj = statmodel.fully_synthetic(P, 5, 30, runs=200, seed=14)
    drift = statmodel.l1_drift(traj)
    assert drift.shape == (200, 31)
    np.testing.assert_array_equal(drift[:, 1], 0)
    assert np.all((drift >= 0) & (drift <= 2 + 1e-12))
    np.testing.assert_array_equal(statmodel.l1_drift(traj, ref_index=0)[:, 0], 0)
    rho = statmodel.collapsed_fraction(traj)
    assert rho.shape == (31,) and rho[0] == 0 and np.all(np.diff(rho) >= 0)  # Dirac is absorbing
    np.testing.assert_array_equal(statmodel.is_dirac(traj).mean(0), rho)
    assert statmodel.is_dirac([0.0, 1.0]) and not statmodel.is_dirac(P)
    multi = statmodel.fully_synthetic(CONTEXTS, N_CONTEXTS, 3, runs=5, seed=0)
    assert statmodel.l1_drift(multi).shape == (5, 4, 3)
    assert statmodel.collapsed_fraction(multi).shape == (4, 3)
    with pytest.raises(ValueError, match="ref_index=31 is out of range"):
        statmodel.l1_drift(traj, ref_index=31)
    with pytest.raises(ValueError, match="traj must have shape"):
        statmodel.l1_drift(traj[0])


def test_collapsed_fraction_within_bounds():
    n, runs = 5, 4000
    rho = statmodel.collapsed_fraction(statmodel.fully_synthetic(P, n, 25, runs=runs, seed=15))
    lower, upper = theory.collapse_probability_bounds(P, n, np.arange(26), clip=True)
    se = np.sqrt(np.maximum(rho * (1 - rho), 1 / runs) / runs)
    assert np.all(rho >= lower - 4 * se) and np.all(rho <= upper + 4 * se)


# --- collapse_times -------------------------------------------------------------------------------

def test_collapse_times_absorbs_every_run():
    ct = statmodel.collapse_times(P, 10, runs=3000, seed=21)
    assert ct.times.shape == ct.token.shape == ct.absorbed.shape == (3000,)
    assert ct.absorbed.all() and ct.times.min() >= 1 and set(np.unique(ct.token)) <= {0, 1, 2}
    # Proposition 1: the chain collapses onto token i with probability p_i.
    freq = np.bincount(ct.token, minlength=3) / 3000
    assert within(freq, P, np.sqrt(P * (1 - P) / 3000))
    # Theorem 1 (8): lower <= E[T] <= upper, up to Monte-Carlo error.
    lower, upper = theory.collapse_time_bounds(P, 10)
    assert lower - 4 * ct.sem() <= ct.mean() <= upper + 4 * ct.sem()


def test_collapse_times_agree_with_trajectories():
    n, runs, horizon = 6, 3000, 30
    ct = statmodel.collapse_times(P, n, runs=runs, seed=22)
    rho = statmodel.collapsed_fraction(statmodel.fully_synthetic(P, n, horizon, runs=runs, seed=23))
    from_times = (ct.times[:, None] <= np.arange(horizon + 1)).mean(0)
    se = np.sqrt(2 * np.maximum(rho * (1 - rho), 1 / runs) / runs)
    assert within(from_times, rho, se)


def test_collapse_times_seeding_and_zero_tokens():
    p = np.array([0.0, 0.6, 0.0, 0.4])
    a = statmodel.collapse_times(p, 20, runs=50, seed=5)
    b = statmodel.collapse_times(p, 20, runs=50, seed=5)
    np.testing.assert_array_equal(a.times, b.times)
    np.testing.assert_array_equal(a.token, b.token)
    assert set(np.unique(a.token)) <= {1, 3}
    assert not np.array_equal(a.times, statmodel.collapse_times(p, 20, runs=50, seed=6).times)


def test_max_generations_reports_unabsorbed_runs():
    ct = statmodel.collapse_times(np.full(10, 0.1), 200, runs=20, seed=1, max_generations=5)
    assert ct.max_generations == 5 and not ct.absorbed.any()
    np.testing.assert_array_equal(ct.times, -1)
    np.testing.assert_array_equal(ct.token, -1)
    with pytest.raises(ValueError, match="20 of 20 chains were not absorbed"):
        ct.mean()
    with pytest.raises(ValueError, match="max_generations=None"):
        ct.sem()
    partial = statmodel.collapse_times(P, 10, runs=200, seed=2, max_generations=15)
    assert 0 < partial.absorbed.sum() < 200
    assert np.all(partial.times[partial.absorbed] <= 15)
    assert np.all(partial.token[~partial.absorbed] == -1)


def test_collapse_times_for_contexts():
    ct = statmodel.collapse_times(CONTEXTS, N_CONTEXTS, runs=300, seed=3)
    assert ct.times.shape == (300, 3) and ct.absorbed.all()
    np.testing.assert_array_equal(ct.times[:, 2], 1)  # a Dirac context collapses at m = 1
    np.testing.assert_array_equal(ct.token[:, 2], 1)
    assert not np.isin(ct.token[:, 0], [3]).any()
    assert ct.mean().shape == (3,)
    lower, upper = theory.collapse_time_bounds(CONTEXTS[:2], N_CONTEXTS[:2])
    assert np.all(ct.mean()[:2] >= lower - 4 * ct.sem()[:2])
    assert np.all(ct.mean()[:2] <= upper + 4 * ct.sem()[:2])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"runs": 0}, ValueError, "runs must be >= 1"),
        ({"max_generations": 0}, ValueError, "max_generations must be >= 1"),
        ({"max_generations": 2.5}, TypeError, "max_generations must be an integer"),
        ({"n": -3}, ValueError, "n must be >= 1"),
        ({"p0": [[[1.0]]]}, ValueError, "shape"),
    ],
)
def test_collapse_times_checks_its_arguments(kwargs, error, match):
    args = {"p0": P, "n": 10, "runs": 5, "seed": 0} | kwargs
    with pytest.raises(error, match=match):
        statmodel.collapse_times(**args)


def birth_death_collapse_time(p, n):
    """E[T] for two tokens from the chain of one token's count on {0..n} (binomial steps)."""
    i = np.arange(1, n)  # transient counts
    Q = binom.pmf(i[None, :], n, i[:, None] / n)
    t = np.linalg.solve(np.eye(n - 1) - Q, np.ones(n - 1))
    return 1 + binom.pmf(i, n, p) @ t


# --- exact_collapse_time, the chain on count vectors ----------------------------------------------

@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: statmodel.exact_collapse_time(P, 0), ValueError, "n must be >= 1"),
        (lambda: statmodel.exact_collapse_time(np.full(4, 0.25), 40), ValueError,
         "EXACT_MAX_STATES"),
    ],
)
def test_exact_validation(call, error, match):
    with pytest.raises(error, match=match):
        call()


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
    lower, upper = wright_fisher.collapse_time_wf_bounds(p0, n)
    assert lower <= exact <= upper
    t_lower, t_upper = theory.collapse_time_bounds(p0, n)
    assert t_lower <= exact <= t_upper


def test_exact_approaches_the_asymptotic():
    gaps = [1 - statmodel.exact_collapse_time([0.5, 0.5], n)
            / wright_fisher.collapse_time_asymptotic([0.5, 0.5], n) for n in (10, 40, 160)]
    assert 0 < gaps[2] < gaps[1] < gaps[0] < 0.1
    gap3 = 1 - (statmodel.exact_collapse_time(np.full(3, 1 / 3), 30)
                / wright_fisher.collapse_time_asymptotic(np.full(3, 1 / 3), 30))
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
