"""Per-chain random streams of the parallel kernels, and results independent of the thread count."""

import numba
import numpy as np
import pytest
from scipy.stats import binom, chisquare

from helpers import _kernels, statmodel


@numba.njit
def _draws(key, n, p, size, log_fact):
    state = np.empty(4, np.uint64)
    _kernels.seed(key, state)
    out = np.empty(size, np.int64)
    for i in range(size):
        out[i] = _kernels.binomial(state, n, p, log_fact)
    return out


@numba.njit
def _uniforms(key, size):
    state = np.empty(4, np.uint64)
    _kernels.seed(key, state)
    out = np.empty(size)
    for i in range(size):
        out[i] = _kernels.uniform(state)
    return out


@pytest.mark.parametrize(("n", "p"), [
    (10, 0.3),        # inversion from 0
    (200, 0.1),       # mean 20: from the mode
    (200, 0.5),
    (1000, 0.9),      # flipped
    (7, 0.99),        # flipped, from 0
    (25_600, 1 / 25_600),
    (10_000, 0.37),
    (1, 0.5),
])
def test_binomial_follows_its_law(n, p):
    draws = 100_000
    x = _draws(np.uint64(n * 7919 + 1), n, p, draws, _kernels.log_factorials(n))
    assert x.min() >= 0 and x.max() <= n
    expected = binom.pmf(np.arange(n + 1), n, p) * draws
    observed = np.bincount(x, minlength=n + 1)
    cells = expected >= 5                              # pool the tails into one cell
    obs = np.append(observed[cells], observed[~cells].sum())
    exp = np.append(expected[cells], expected[~cells].sum())
    keep = exp > 0
    result = chisquare(obs[keep], exp[keep] * obs.sum() / exp[keep].sum())
    assert result.pvalue > 1e-4, (n, p, result)


def test_binomial_edge_cases():
    table = _kernels.log_factorials(5)
    assert (_draws(np.uint64(1), 5, 0.0, 10, table) == 0).all()
    assert (_draws(np.uint64(1), 5, 1.0, 10, table) == 5).all()
    assert (_draws(np.uint64(1), 0, 0.3, 10, table) == 0).all()


def test_uniforms_are_uniform_and_keyed():
    u = _uniforms(np.uint64(42), 200_000)
    assert u.min() >= 0 and u.max() < 1
    counts = np.histogram(u, bins=20, range=(0, 1))[0]
    assert chisquare(counts).pvalue > 1e-4
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01
    np.testing.assert_array_equal(u, _uniforms(np.uint64(42), 200_000))
    assert not np.array_equal(u[:100], _uniforms(np.uint64(43), 100))


def test_chain_keys_come_from_the_seed():
    a = _kernels.chain_keys(np.random.default_rng(5), 1000)
    assert a.dtype == np.uint64 and len(np.unique(a)) == 1000
    np.testing.assert_array_equal(a, _kernels.chain_keys(np.random.default_rng(5), 1000))


def test_log_factorials():
    from math import lgamma

    table = _kernels.log_factorials(50)
    assert table[0] == 0 and table[1] == 0
    assert table[50] == pytest.approx(lgamma(51), rel=1e-14)
    assert not table.flags.writeable


@pytest.fixture
def restore_threads():
    threads = numba.get_num_threads()
    yield
    numba.set_num_threads(threads)


@pytest.mark.parametrize(("p0", "n", "kwargs"), [
    (np.full(10, 0.1), 60, {}),
    (np.array([[0.5, 0.3, 0.2, 0.0], [0.1, 0.1, 0.1, 0.7]]), np.array([15, 40]), {}),
    (np.full(5, 0.2), 100, {"max_generations": 30}),
    (np.array([1 - 1 / 500, 1 / 500]), 500, {}),
])
def test_collapse_times_do_not_depend_on_the_thread_count(restore_threads, p0, n, kwargs):
    results = []
    for threads in sorted({1, 2, numba.config.NUMBA_NUM_THREADS}):
        numba.set_num_threads(threads)
        results.append(statmodel.collapse_times(p0, n, 400, seed=9, **kwargs))
    for other in results[1:]:
        np.testing.assert_array_equal(results[0].times, other.times)
        np.testing.assert_array_equal(results[0].token, other.token)


def test_each_chain_has_its_own_stream():
    """A chain's collapse time depends on its own key only, not on the chains around it."""
    p0, n = np.full(4, 0.25), 30
    rng = np.random.default_rng(0)
    first = rng.multinomial(n, p0, size=6)
    keys = _kernels.chain_keys(rng, 6)
    sizes = np.full(6, n)
    table = _kernels.log_factorials(n)
    times, token = _kernels.run_to_absorption(first, sizes, 10_000, keys, table)
    alone = [_kernels.run_to_absorption(first[[b]], sizes[[b]], 10_000, keys[[b]], table)
             for b in (5, 2)]
    assert (alone[0][0][0], alone[0][1][0]) == (times[5], token[5])
    assert (alone[1][0][0], alone[1][1][0]) == (times[2], token[2])
