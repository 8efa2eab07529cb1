"""Every training scheme as a configuration of one engine: shapes, seeding, checks and laws."""

import numpy as np
import pytest

from helpers import statmodel, theory

P = np.array([0.5, 0.3, 0.2])
P_ZEROS = np.array([0.0, 0.5, 0.0, 0.3, 0.2, 0.0])
CONTEXTS = np.array([[0.5, 0.3, 0.2, 0.0], [0.0, 1.0, 0.0, 0.0]])

SCHEMES = {
    "partial_fixed": lambda p, g, r, s: statmodel.partially_synthetic(p, 6, 4, g, r, s),
    "partial_fresh": lambda p, g, r, s: statmodel.partially_synthetic(p, 6, 4, g, r, s, "fresh"),
    "most_recent": lambda p, g, r, s: statmodel.most_recent(p, 7, 3, g, r, s),
    "random_pool": lambda p, g, r, s: statmodel.random_pool(p, 5, g, r, s),
    "accumulate": lambda p, g, r, s: statmodel.accumulate(p, 3, g, r, s),
    "accumulate_subsample": lambda p, g, r, s: statmodel.accumulate(p, 3, g, r, s, train_size=4),
}


def within(estimate, expected, se, k=4.0):
    """Monte-Carlo agreement: |estimate - expected| <= k standard errors (elementwise)."""
    return np.all(np.abs(np.asarray(estimate) - expected) <= k * np.asarray(se) + 1e-12)


def mean_se(x):
    return x.mean(0), x.std(0, ddof=1) / np.sqrt(len(x))


# --- shapes, seeding, support -------------------------------------------------------------------

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
    traj = SCHEMES[name](CONTEXTS, 4, 3, 2)
    assert traj.shape == (3, 5, 2, 4)
    np.testing.assert_array_equal(traj[:, 0], np.broadcast_to(CONTEXTS, (3, 2, 4)))
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


# --- laws --------------------------------------------------------------------------------------

def test_window_of_one_is_fully_synthetic_in_law():
    n, m = 6, np.arange(7)
    window = statmodel.most_recent(P, n, 1, 6, runs=20000, seed=5)
    mean, se = mean_se(theory.sigma(window))
    assert within(mean, theory.expected_sigma_fully_synthetic(P, n, m), se)
    full = statmodel.fully_synthetic(P, n, 6, runs=20000, seed=6)
    for moment in (theory.sigma, lambda p: (p**3).sum(-1), lambda p: p[..., 0]):
        (ma, sa), (mb, sb) = mean_se(moment(window)), mean_se(moment(full))
        assert within(ma, mb, np.hypot(sa, sb))


@pytest.mark.parametrize(("p0", "n", "N"), [(np.array([0.55, 0.35, 0.1]), 20, 3), (P, 5, 5)])
def test_partially_synthetic_sigma_is_the_corrected_eq9(p0, n, N):
    runs = 40000
    traj = statmodel.partially_synthetic(p0, n, N, 4, runs=runs, seed=7)
    mean, se = mean_se(theory.sigma(traj))
    m = np.arange(5)
    assert within(mean, theory.expected_sigma_partially_synthetic(p0, n, N, m), se)
    printed = theory.expected_sigma_partially_synthetic(p0, n, N, m, printed=True)
    assert abs(mean[2] - printed[2]) > 8 * se[2]  # the printed sign is wrong


def test_unbiased_every_scheme():
    for name, run in SCHEMES.items():
        traj = run(P, 6, 20000, 8)
        mean, se = mean_se(traj[:, 1:])
        assert within(mean, P, se), name


def test_fresh_real_data_l2_deviation():
    n, N = 20, 5
    traj = statmodel.partially_synthetic(P, n, N, 12, runs=20000, seed=9, real="fresh")
    mean, se = mean_se(((traj - P) ** 2).sum(-1))
    assert within(mean, theory.expected_l2_fresh(P, n, N, np.arange(13)), se)
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
    mean, se = mean_se(diff)
    assert within(mean, 0, se)


def test_random_pool_first_generations():
    n = 5
    traj = statmodel.random_pool(P, n, 2, runs=20000, seed=11)
    mean, se = mean_se(theory.sigma(traj[:, 1]))
    assert within(mean, 1 / n + (1 - 1 / n) * theory.sigma(P), se)  # p^(1): n real samples
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
    mean, se = mean_se(draws[:, 0].astype(float))
    expected = k[0] * colors[0] / colors[0].sum()
    assert within(mean, expected, se)


# --- the engine and argument checks --------------------------------------------------------------

def test_engine_with_a_custom_schedule():
    # generation m trains on 4 fresh real samples: every p^(m) is an independent empirical law
    sched = statmodel.Schedule(lambda m, rng, chains: np.eye(m, dtype=int)[0] * 4)
    traj = statmodel.recursive(P, sched, 5, runs=20000, seed=14)
    mean, se = mean_se(theory.sigma(traj[:, 1:]))
    assert within(mean, 1 / 4 + 0.75 * theory.sigma(P), se)
    # fully synthetic as a schedule: same law as fully_synthetic
    full = statmodel.Schedule(lambda m, rng, chains: np.eye(m, dtype=int)[m - 1] * 6)
    mean, se = mean_se(theory.sigma(statmodel.recursive(P, full, 4, runs=20000, seed=15)))
    assert within(mean, theory.expected_sigma_fully_synthetic(P, 6, np.arange(5)), se)


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
        (lambda: statmodel.random_pool(CONTEXTS, [3, 4], 3), ValueError, "single integer"),
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
        mean, se = mean_se(theory.sigma(traj[:, 2:]) - second_moment(traj[:, 1])[:, None])
        assert within(mean, 0, se)


def test_stored_window_of_one_is_fully_synthetic_in_law():
    n, K = 6, 1
    sched = statmodel.Schedule(lambda m, rng, B: (np.arange(m) >= m - K) * (n // K),
                               lambda t: n // K)
    mean, se = mean_se(theory.sigma(statmodel.recursive(P, sched, 5, runs=20000, seed=18)))
    assert within(mean, theory.expected_sigma_fully_synthetic(P, n, np.arange(6)), se)
