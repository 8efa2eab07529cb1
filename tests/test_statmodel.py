"""Tests of helpers.statmodel: Fully Synthetic training and its one-generation step, every
scheme as a configuration of the engine, collapse times, samplers and the exact chain."""

import functools

import numpy as np
import pytest
from scipy.stats import binom

from helpers import agreement, decoding, statmodel, theory, wright_fisher

P = np.array([0.5, 0.3, 0.2])
CONTEXTS = np.array([[0.5, 0.3, 0.2, 0.0], [0.25, 0.25, 0.25, 0.25], [0.0, 1.0, 0.0, 0.0]])
N_CONTEXTS = np.array([5, 40, 3])
P_ZEROS = np.array([0.0, 0.5, 0.0, 0.3, 0.2, 0.0])
TWO_CONTEXTS = np.array([[0.5, 0.3, 0.2, 0.0], [0.0, 1.0, 0.0, 0.0]])

SCHEMES = {
    "partial_fixed": lambda p, g, r, s: statmodel.partially_synthetic(p, 6, 4, g, r, s),
    "partial_fresh": lambda p, g, r, s: statmodel.partially_synthetic(p, 6, 4, g, r, s, "fresh"),
    "most_recent": lambda p, g, r, s: statmodel.most_recent(p, 7, 3, g, r, s),
    "random_pool": lambda p, g, r, s: statmodel.random_pool(p, 5, g, r, s),
    "accumulate": lambda p, g, r, s: statmodel.accumulate(p, 3, g, r, s),
    "accumulate_subsample": lambda p, g, r, s: statmodel.accumulate(p, 3, g, r, s, train_size=4),
}


# Monte-Carlo agreement within 4 standard errors (raises otherwise); 1e-12 absorbs the rounding
# of generation 0, which is exact.
within = functools.partial(agreement.agree, atol=1e-12)


# --- fully_synthetic ------------------------------------------------------------------------------

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
    within(sigma.mean(0)[1:], expected[1:], se=se)


def test_expected_sigma_per_context():
    n = np.array([4, 30, 3])
    traj = statmodel.fully_synthetic(CONTEXTS, n, 5, runs=3000, seed=12)
    sigma = theory.sigma(traj)  # (runs, generations + 1, c)
    se = np.maximum(sigma.std(0, ddof=1), 1e-12) / np.sqrt(len(sigma))
    within(sigma.mean(0), theory.expected_sigma_fully_synthetic(CONTEXTS, n,
                                                                          np.arange(6)), se=se)


def test_martingale_mean_is_p0():
    traj = statmodel.fully_synthetic(P, 6, 10, runs=4000, seed=13)
    se = traj.std(0, ddof=1)[1:] / np.sqrt(len(traj))
    within(traj.mean(0)[1:], P, se=se)


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


def test_next_generation_is_the_step_of_fully_synthetic():
    rng = np.random.default_rng(4)
    chains = np.broadcast_to(CONTEXTS, (5, 3, 4)).reshape(15, 4)  # 5 runs of 3 contexts
    sizes = np.tile(N_CONTEXTS, 5)
    p1 = statmodel.next_generation(chains, sizes, rng)
    assert p1.shape == (15, 4)
    np.testing.assert_allclose(p1.sum(1), 1)
    np.testing.assert_allclose(p1 * sizes[:, None], np.round(p1 * sizes[:, None]), atol=1e-12)
    assert np.all(p1[chains == 0] == 0)  # an unseen token stays unseen
    # fully_synthetic is next_generation, repeated, on the chains of its runs and contexts
    traj = statmodel.fully_synthetic(CONTEXTS, N_CONTEXTS, 4, runs=5, seed=9)
    rng, p = np.random.default_rng(9), chains
    for m in range(1, 5):
        p = statmodel.next_generation(p, sizes, rng)
        np.testing.assert_array_equal(p.reshape(5, 3, 4), traj[:, m])


# --- collapse_times -------------------------------------------------------------------------------

def test_collapse_times_absorbs_every_run():
    ct = statmodel.collapse_times(P, 10, runs=3000, seed=21)
    assert ct.times.shape == ct.token.shape == ct.absorbed.shape == (3000,)
    assert ct.absorbed.all() and ct.times.min() >= 1 and set(np.unique(ct.token)) <= {0, 1, 2}
    # Proposition 1: the chain collapses onto token i with probability p_i.
    freq = np.bincount(ct.token, minlength=3) / 3000
    within(freq, P, se=np.sqrt(P * (1 - P) / 3000))
    # Theorem 1 (8): lower <= E[T] <= upper, up to Monte-Carlo error.
    lower, upper = theory.collapse_time_bounds(P, 10)
    assert lower - 4 * ct.sem() <= ct.mean() <= upper + 4 * ct.sem()


def test_collapse_times_agree_with_trajectories():
    n, runs, horizon = 6, 3000, 30
    ct = statmodel.collapse_times(P, n, runs=runs, seed=22)
    rho = statmodel.collapsed_fraction(statmodel.fully_synthetic(P, n, horizon, runs=runs, seed=23))
    from_times = (ct.times[:, None] <= np.arange(horizon + 1)).mean(0)
    se = np.sqrt(2 * np.maximum(rho * (1 - rho), 1 / runs) / runs)
    within(from_times, rho, se=se)


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


# --- every scheme: shapes, seeding, support -------------------------------------------------------

@pytest.mark.parametrize("name", SCHEMES)
def test_shapes_seeding_and_support(name):
    run = SCHEMES[name]
    traj = run(P_ZEROS, 5, 3, 0)
    assert traj.shape == (3, 6, 6) and traj.dtype == float
    np.testing.assert_array_equal(traj[:, 0], np.broadcast_to(P_ZEROS, (3, 6)))
    np.testing.assert_allclose(traj.sum(-1), 1)
    assert np.all(traj[..., P_ZEROS == 0] == 0)  # a zero-probability token never appears
    np.testing.assert_array_equal(traj, run(P_ZEROS, 5, 3, 0))
    assert not np.array_equal(traj, run(P_ZEROS, 5, 3, 1))
    np.testing.assert_array_equal(run(P, 4, 2, np.random.default_rng(7)),
                                  run(P, 4, 2, np.random.default_rng(7)))
    assert run(P, 0, 1, None).shape == (1, 1, 3)


@pytest.mark.parametrize("name", SCHEMES)
def test_contexts_are_independent_chains(name):
    traj = SCHEMES[name](TWO_CONTEXTS, 4, 3, 2)
    assert traj.shape == (3, 5, 2, 4)
    np.testing.assert_array_equal(traj[:, 0], np.broadcast_to(TWO_CONTEXTS, (3, 2, 4)))
    assert np.all(traj[:, :, 0, 3] == 0)
    assert np.all(traj[:, :, 1, 1] == 1)  # a Dirac context stays put


def test_training_set_sizes():
    def integral(x):
        return np.allclose(x, np.round(x), atol=1e-9)

    m = np.arange(1, 9)[None, :, None]
    traj = statmodel.partially_synthetic(P, 6, 4, 8, runs=5, seed=0)
    assert integral(traj[:, 1] * 4) and integral(traj[:, 2:] * 10)
    traj = statmodel.most_recent(P, 7, 3, 8, runs=5, seed=0)  # n^(m) = min(m, 3) * 2
    assert integral(traj[:, 1:] * np.minimum(m, 3) * 2)
    traj = statmodel.accumulate(P, 3, 8, runs=5, seed=0)  # the pool: m n samples
    assert integral(traj[:, 1:] * m * 3)
    traj = statmodel.accumulate(P, 3, 8, runs=5, seed=0, train_size=5)
    assert integral(traj[:, 1:] * np.minimum(m * 3, 5))
    # a training size at least the pool size is the whole pool, draw for draw
    np.testing.assert_array_equal(statmodel.accumulate(P, 3, 8, runs=5, seed=0, train_size=24),
                                  statmodel.accumulate(P, 3, 8, runs=5, seed=0))


def test_accumulate_keeps_its_batches():
    # the pool only grows: p^(m+1) = (m p^(m) + batch) / (m + 1) with a nonnegative batch
    traj = statmodel.accumulate(P, 4, 10, runs=20, seed=3)
    m = np.arange(1, 10)[None, :, None]
    batch = (m + 1) * traj[:, 2:] * 4 - m * traj[:, 1:-1] * 4
    assert np.all(batch > -1e-9)
    np.testing.assert_allclose(batch.sum(-1), 4)
    # the real samples stay in the pool: p^(m) >= p^(1) / m on every token
    assert np.all(traj[:, 1:] * np.arange(1, 11)[:, None] >= traj[:, 1:2] - 1e-12)


def test_fixed_real_corpus_keeps_the_support_of_p1():
    traj = statmodel.partially_synthetic(P_ZEROS, 20, 3, 60, runs=200, seed=4)
    support = traj[:, 1:2] > 0
    np.testing.assert_array_equal(traj[:, 1:] > 0, np.broadcast_to(support, traj[:, 1:].shape))
    real = statmodel.is_dirac(traj[:, 1])  # only a Dirac p^(1) gives a Dirac p^(m)
    np.testing.assert_array_equal(statmodel.is_dirac(traj[:, 2:]).any(1), real)
    fresh = statmodel.partially_synthetic(P_ZEROS, 20, 3, 60, runs=200, seed=4, real="fresh")
    assert (fresh[:, 2:] > 0).sum() != (traj[:, 2:] > 0).sum()  # fresh data moves the support


# --- laws -----------------------------------------------------------------------------------------

def test_window_of_one_is_fully_synthetic_in_law():
    n, m = 6, np.arange(7)
    window = statmodel.most_recent(P, n, 1, 6, runs=20000, seed=5)
    mean, se = agreement.mean_se(theory.sigma(window))
    within(mean, theory.expected_sigma_fully_synthetic(P, n, m), se=se)
    full = statmodel.fully_synthetic(P, n, 6, runs=20000, seed=6)
    for moment in (theory.sigma, lambda p: (p**3).sum(-1), lambda p: p[..., 0]):
        (ma, sa), (mb, sb) = agreement.mean_se(moment(window)), agreement.mean_se(moment(full))
        within(ma, mb, se=np.hypot(sa, sb))


@pytest.mark.parametrize(("p0", "n", "N"), [(np.array([0.55, 0.35, 0.1]), 20, 3), (P, 5, 5)])
def test_partially_synthetic_sigma_is_the_corrected_eq9(p0, n, N):
    runs = 40000
    traj = statmodel.partially_synthetic(p0, n, N, 4, runs=runs, seed=7)
    mean, se = agreement.mean_se(theory.sigma(traj))
    m = np.arange(5)
    within(mean, theory.expected_sigma_partially_synthetic(p0, n, N, m), se=se)
    printed = theory.expected_sigma_partially_synthetic(p0, n, N, m, printed=True)
    assert abs(mean[2] - printed[2]) > 8 * se[2]  # the printed sign is wrong


def test_unbiased_every_scheme():
    for name, run in SCHEMES.items():
        traj = run(P, 6, 20000, 8)
        mean, se = agreement.mean_se(traj[:, 1:])
        within(mean, P, se=se, what=name)


def test_fresh_real_data_l2_deviation():
    n, N = 20, 5
    traj = statmodel.partially_synthetic(P, n, N, 12, runs=20000, seed=9, real="fresh")
    mean, se = agreement.mean_se(((traj - P) ** 2).sum(-1))
    within(mean, theory.expected_l2_fresh(P, n, N, np.arange(13)), se=se)
    assert theory.expected_l2_fresh(P, n, N, 12) == pytest.approx(
        theory.stationary_l2_fresh(P, n, N), rel=1e-2)


def test_fixed_real_data_l2_deviation_given_p1():
    n, N = 20, 5
    traj = statmodel.partially_synthetic(P, n, N, 12, runs=20000, seed=10)
    # E[||p^(m) - p^(1)||^2 - W_m(p^(1))] = 0 for every m >= 1
    w = np.stack([theory.expected_l2_fixed(p1, n, N, np.arange(1, 13)) for p1 in traj[:200, 1]])
    w_all = theory.expected_l2_fixed(traj[:, 1], n, N, np.arange(1, 13)).T
    np.testing.assert_allclose(w_all[:200], w)  # contexts axis: one p^(1) per row
    diff = ((traj[:, 1:] - traj[:, 1:2]) ** 2).sum(-1) - w_all
    mean, se = agreement.mean_se(diff)
    within(mean, 0, se=se)


def test_random_pool_first_generations():
    n = 5
    traj = statmodel.random_pool(P, n, 2, runs=20000, seed=11)
    mean, se = agreement.mean_se(theory.sigma(traj[:, 1]))
    within(mean, 1 / n + (1 - 1 / n) * theory.sigma(P), se=se)  # p^(1): n real samples
    assert np.allclose(traj[:, 1:] * n, np.round(traj[:, 1:] * n))


def test_first_dirac_time():
    d, u = [1.0, 0.0], [0.5, 0.5]
    traj = np.array([[u, u, d, u], [u, d, d, d], [u, u, u, u], [d, u, u, d]])
    np.testing.assert_array_equal(statmodel.first_dirac_time(traj), [2, 1, -1, 3])
    two = np.stack([traj, traj[::-1]], axis=2)  # (runs, G + 1, c, s)
    np.testing.assert_array_equal(statmodel.first_dirac_time(two), [[2, 3], [1, -1], [-1, 1],
                                                                    [3, 2]])
    full = statmodel.fully_synthetic(P, 3, 200, runs=50, seed=12)
    times = statmodel.first_dirac_time(full)
    assert times.min() >= 1 and np.all(statmodel.is_dirac(full[np.arange(50), times]))
    assert not statmodel.is_dirac(full[np.arange(50), times - 1]).any()
    with pytest.raises(ValueError, match="shape"):
        statmodel.first_dirac_time(np.ones((3, 2)))


def test_subsample_is_hypergeometric():
    rng = np.random.default_rng(13)
    colors = np.array([[3, 0, 5, 2, 0, 1, 4], [0, 0, 9, 0, 0, 0, 1]])
    k = np.array([6, 10])
    draws = statmodel._subsample(np.tile(colors, (4000, 1)), np.tile(k, 4000), rng)
    draws = draws.reshape(4000, 2, -1)
    np.testing.assert_array_equal(draws.sum(-1), np.broadcast_to(k, (4000, 2)))
    assert np.all(draws <= colors) and np.all(draws[:, 1] == colors[1])
    mean, se = agreement.mean_se(draws[:, 0].astype(float))
    expected = k[0] * colors[0] / colors[0].sum()
    within(mean, expected, se=se)


# --- the engine and argument checks ---------------------------------------------------------------

def test_engine_with_a_custom_schedule():
    # generation m trains on 4 fresh real samples: every p^(m) is an independent empirical law
    sched = statmodel.Schedule(lambda m, rng, chains: np.eye(m, dtype=int)[0] * 4)
    traj = statmodel.recursive(P, sched, 5, runs=20000, seed=14)
    mean, se = agreement.mean_se(theory.sigma(traj[:, 1:]))
    within(mean, 1 / 4 + 0.75 * theory.sigma(P), se=se)
    # fully synthetic as a schedule: same law as fully_synthetic
    full = statmodel.Schedule(lambda m, rng, chains: np.eye(m, dtype=int)[m - 1] * 6)
    mean, se = agreement.mean_se(theory.sigma(statmodel.recursive(P, full, 4, runs=20000, seed=15)))
    within(mean, theory.expected_sigma_fully_synthetic(P, 6, np.arange(5)), se=se)


@pytest.mark.parametrize(
    ("counts", "stored", "error", "match"),
    [
        (lambda m, rng, B: np.ones(m), None, TypeError, "must return integers"),
        (lambda m, rng, B: np.ones(m + 1, int), None, ValueError,
         r"must return shape \(1,\) or \(2, 1\)"),
        (lambda m, rng, B: -np.ones(m, int), None, ValueError, "negative"),
        (lambda m, rng, B: np.zeros(m, int), None, ValueError, "no training samples"),
        (lambda m, rng, B: np.full(m, 5), lambda t: 3, ValueError, "stored batch has only 3"),
        (lambda m, rng, B: np.ones(m, int), lambda t: 0, ValueError, r"stored\(0\) must be >= 1"),
    ],
)
def test_bad_schedules(counts, stored, error, match):
    with pytest.raises(error, match=match):
        statmodel.recursive(P, statmodel.Schedule(counts, stored), 3, runs=2, seed=0)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: statmodel.recursive(P, lambda m: 1, 3), TypeError, "must be a statmodel.Schedule"),
        (lambda: statmodel.partially_synthetic(P, 5, 0, 3), ValueError, "N must be >= 1"),
        (lambda: statmodel.partially_synthetic(P, 0, 5, 3), ValueError, "n must be >= 1"),
        (lambda: statmodel.partially_synthetic(P, 5, 5, 3, real="new"), ValueError,
         "real must be 'fixed'"),
        (lambda: statmodel.partially_synthetic(P, 5, 2.0, 3), TypeError, "N must be an integer"),
        (lambda: statmodel.most_recent(P, 5, 0, 3), ValueError, "K must be >= 1"),
        (lambda: statmodel.most_recent(P, 5, 6, 3), ValueError, "K=6 exceeds n=5"),
        (lambda: statmodel.random_pool(P, 5, -1), ValueError, "generations must be nonnegative"),
        (lambda: statmodel.random_pool(P, 5, 3, runs=0), ValueError, "runs must be >= 1"),
        (lambda: statmodel.random_pool(TWO_CONTEXTS, [3, 4], 3), ValueError, "single integer"),
        (lambda: statmodel.accumulate(P, 5, 3, train_size=0), ValueError,
         "train_size must be >= 1"),
        (lambda: statmodel.accumulate([0.5, 0.4], 5, 3), ValueError, r"p0 sums to 0\.9"),
        (lambda: statmodel.accumulate(P, 5, 3, seed=1.5), TypeError,
         "seed must be a non-negative integer"),
    ],
)
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_stored_batches_and_subsets():
    # a stored real corpus of L = 8 samples, used whole at m = 1 (so p^(1) reveals it) and as a
    # random subset of k = 4 afterwards: E[sigma_m | corpus] is the hypergeometric second moment
    L, k = 8, 4

    def second_moment(q):
        return (k * q * (1 - q) * (L - k) / (L - 1) + (k * q) ** 2).sum(-1) / k**2

    corpus = statmodel.Schedule(lambda m, rng, B: np.eye(m, dtype=int)[0] * (L if m == 1 else k),
                                lambda t: L if t == 0 else None)
    # the same through Schedule.subset: the whole corpus designated, a subset of k trained on
    via_subset = statmodel.Schedule(lambda m, rng, B: np.eye(m, dtype=int)[0] * L,
                                    lambda t: L if t == 0 else None,
                                    lambda m: None if m == 1 else k)
    for seed, sched in enumerate((corpus, via_subset)):
        traj = statmodel.recursive(P, sched, 3, runs=20000, seed=seed)
        assert np.allclose(traj[:, 1] * L, np.round(traj[:, 1] * L))
        assert np.allclose(traj[:, 2:] * k, np.round(traj[:, 2:] * k))
        mean, se = agreement.mean_se(theory.sigma(traj[:, 2:]) - second_moment(traj[:, 1])[:, None])
        within(mean, 0, se=se)


def test_stored_window_of_one_is_fully_synthetic_in_law():
    n, K = 6, 1
    sched = statmodel.Schedule(lambda m, rng, B: (np.arange(m) >= m - K) * (n // K),
                               lambda t: n // K)
    traj = statmodel.recursive(P, sched, 5, runs=20000, seed=18)
    mean, se = agreement.mean_se(theory.sigma(traj))
    within(mean, theory.expected_sigma_fully_synthetic(P, n, np.arange(6)), se=se)


# --- sampling inside the statistical model --------------------------------------------------------

def test_fully_synthetic_with_a_sampler():
    sharpen = functools.partial(decoding.transform, temperature=0.5)
    traj = statmodel.fully_synthetic(P, 20, generations=6, runs=5, seed=0, sampler=sharpen)
    assert traj.shape == (5, 7, 3)
    np.testing.assert_allclose(traj.sum(-1), 1)
    counts = traj[:, 1:] * 20
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-9)
    np.testing.assert_array_equal(
        traj, statmodel.fully_synthetic(P, 20, generations=6, runs=5, seed=0, sampler=sharpen))
    # p^(1) is fitted on real samples of p0: the same draw as without a sampler
    plain = statmodel.fully_synthetic(P, 20, generations=6, runs=5, seed=0)
    np.testing.assert_array_equal(traj[:, 1], plain[:, 1])
    np.testing.assert_array_equal(statmodel.fully_synthetic(P, 20, 6, runs=5, seed=0, sampler=None),
                                  plain)
    # top_k=1 is greedy decoding: collapse right after the first synthetic generation
    greedy = functools.partial(decoding.transform, top_k=1)
    traj = statmodel.fully_synthetic(P, 20, generations=3, runs=50, seed=1, sampler=greedy)
    assert statmodel.is_dirac(traj[:, 2]).all()


def test_sampler_for_contexts():
    contexts = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    sampler = functools.partial(decoding.transform, top_p=0.9)
    traj = statmodel.fully_synthetic(contexts, np.array([5, 30]), 4, runs=3, seed=2,
                                     sampler=sampler)
    assert traj.shape == (3, 5, 2, 3) and np.all(traj[:, :, 0, 2] == 0)
    ct = statmodel.collapse_times(contexts, np.array([5, 30]), runs=100, seed=2, sampler=sampler)
    assert ct.times.shape == (100, 2) and ct.absorbed.all()


def test_identity_sampler_has_the_same_law():
    identity = functools.partial(decoding.transform, temperature=1.0)
    runs = 6000
    base = statmodel.collapse_times(P, 20, runs=runs, seed=10)
    same = statmodel.collapse_times(P, 20, runs=runs, seed=11, sampler=identity)
    assert same.absorbed.all()
    se = np.hypot(base.sem(), same.sem())
    assert abs(base.mean() - same.mean()) <= 4 * se
    sd_base, sd_same = base.times.std(), same.times.std()
    assert abs(sd_base - sd_same) <= 0.1 * sd_base
    # a martingale: the chain collapses onto token i with probability p_i
    freq = np.bincount(same.token, minlength=3) / runs
    assert np.all(np.abs(freq - P) <= 4 * np.sqrt(P * (1 - P) / runs))


def test_low_temperature_collapses_faster():
    base = statmodel.collapse_times(P, 20, runs=3000, seed=12)
    cold = statmodel.collapse_times(P, 20, runs=3000, seed=13,
                                    sampler=functools.partial(decoding.transform, temperature=0.8))
    assert base.mean() - cold.mean() > 4 * np.hypot(base.sem(), cold.sem())
    # not a martingale any more: the majority token wins more often than its mass 0.5
    assert (cold.token == 0).mean() > 0.5 + 4 * np.sqrt(0.25 / 3000)


def test_sampler_checks_and_limits():
    ct = statmodel.collapse_times(P, 50, runs=20, seed=1, max_generations=3,
                                  sampler=functools.partial(decoding.transform, temperature=2.0))
    assert ct.max_generations == 3 and np.all((ct.times == -1) | (ct.times <= 3))
    with pytest.raises(TypeError, match="sampler must be None or a callable"):
        statmodel.fully_synthetic(P, 5, 2, sampler=0.8)
    with pytest.raises(ValueError, match="keep the shape"):
        statmodel.collapse_times(P, 5, runs=3, seed=0, sampler=lambda p: p[..., :2])
    with pytest.raises(ValueError, match="negative, NaN"):
        statmodel.fully_synthetic(P, 5, 3, seed=0, sampler=lambda p: p - 1)
