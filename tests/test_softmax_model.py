"""The one-hot softmax model: corpora, count tables, the loss and the gradient-descent fit."""

import numpy as np
import pytest

from helpers import softmax_model as sm

P = np.array([[0.5, 0.3, 0.2], [0.1, 0.0, 0.9]])


def test_sample_corpus_is_seeded_and_in_range():
    a = sm.sample_corpus(P, [0.5, 0.5], 500, seed=3)
    b = sm.sample_corpus(P, [0.5, 0.5], 500, seed=3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    x, y = a
    assert x.shape == y.shape == (500,)
    assert x.min() >= 0 and x.max() <= 1 and y.min() >= 0 and y.max() <= 2
    assert not np.any((x == 1) & (y == 1)), "a zero-probability token was drawn"


def test_sample_corpus_frequencies_match_p():
    x, y = sm.sample_corpus(P, [0.25, 0.75], 40_000, seed=0)
    freqs = sm.empirical_conditionals(sm.count_table(x, y, 2, 3))
    counts = np.bincount(x, minlength=2)
    se = np.sqrt(P * (1 - P) / counts[:, None]) + 1e-12
    assert np.all(np.abs(freqs - P) < 4.5 * se + 1e-12)
    assert abs(counts[0] / 40_000 - 0.25) < 4.5 * np.sqrt(0.25 * 0.75 / 40_000)


def test_count_table_and_conditionals():
    counts = sm.count_table([0, 0, 1, 0], [2, 2, 0, 1], 2, 3)
    np.testing.assert_array_equal(counts, [[0, 1, 2], [1, 0, 0]])
    np.testing.assert_allclose(sm.empirical_conditionals(counts), [[0, 1 / 3, 2 / 3], [1, 0, 0]])
    h = -(1 * np.log(1 / 3) + 2 * np.log(2 / 3)) / 4
    assert np.isclose(sm.conditional_entropy(counts), h)


def test_argument_errors_are_clear():
    with pytest.raises(ValueError, match="same length"):
        sm.count_table([0, 1], [0], 2, 3)
    with pytest.raises(ValueError, match="range"):
        sm.count_table([0, 2], [0, 0], 2, 3)
    with pytest.raises(ValueError, match="never occur"):
        sm.empirical_conditionals([[1, 0], [0, 0]])
    with pytest.raises(ValueError, match="rows"):
        sm.sample_corpus(P, [1.0], 10)
    with pytest.raises(ValueError, match="not 1; normalise"):
        sm.sample_corpus([[0.5, 0.6]], [1.0], 10)
    with pytest.raises(ValueError, match="lr"):
        sm.fit_softmax([0], [0], 1, 2, steps=3, lr=-1.0)
    with pytest.raises(TypeError, match="integers"):
        sm.count_table([0.5], [0], 1, 2)


def test_kl_divergence():
    assert np.isclose(sm.kl_divergence([0.5, 0.5, 0], [0.25, 0.25, 0.5]), np.log(2))
    assert sm.kl_divergence([0.5, 0.5], [1.0, 0.0]) == np.inf
    assert sm.kl_divergence([0.2, 0.8], [0.2, 0.8]) == 0


def test_softmax_and_cross_entropy():
    q = sm.softmax([[1000.0, 1000.0], [0.0, np.log(3.0)]])
    np.testing.assert_allclose(q, [[0.5, 0.5], [0.25, 0.75]])
    W = np.zeros((2, 3))
    assert np.isclose(sm.cross_entropy(W, [0, 1], [2, 0]), np.log(3))


def test_fit_matches_the_count_table():
    x, y = sm.sample_corpus(P, [0.5, 0.5], 300, seed=1)
    counts = sm.count_table(x, y, 2, 3)
    fit = sm.fit_softmax(x, y, 2, 3, steps=3000, record_at=[0, 3000])
    q = sm.softmax(fit.weights)
    assert np.abs(q - sm.empirical_conditionals(counts)).max() < 1e-3
    assert np.all(np.diff(fit.losses) <= 1e-12)
    assert fit.losses[-1] >= sm.conditional_entropy(counts) - 1e-12
    np.testing.assert_allclose(fit.snapshots[0], 0.0)
    np.testing.assert_allclose(fit.snapshots[1], fit.weights)
    assert np.isclose(fit.losses[-1], sm.cross_entropy(fit.weights, x, y))


def test_kl_bound_holds_along_the_path():
    x, y = sm.sample_corpus(P, [0.5, 0.5], 200, seed=2)
    counts = sm.count_table(x, y, 2, 3)
    freqs = sm.empirical_conditionals(counts)
    steps = np.array([1, 10, 100, 1000])
    lr = sm.default_lr(x, 2)
    fit = sm.fit_softmax(x, y, 2, 3, steps=1000, lr=lr, record_at=steps)
    q = sm.softmax(fit.snapshots)
    kl = sm.kl_divergence(freqs, q)
    assert np.all(kl <= sm.gd_kl_bound(counts, lr, steps) + 1e-12)
