"""Tests for helpers.rare_tokens (first-loss times, Feller survival)."""

import numpy as np
import pytest

from helpers import rare_tokens, wright_fisher


def test_first_loss_times_two_tokens_match_collapse_mean():
    # with two tokens the first loss is total collapse: compare with the exact mean
    from helpers import statmodel

    p, n = np.array([0.5, 0.5]), 10
    t = rare_tokens.first_loss_times(p, n, 20_000, seed=0)
    assert (t >= 1).all()
    exact = statmodel.exact_collapse_time(p, n)
    assert abs(t.mean() - exact) < 4 * t.std() / np.sqrt(t.size)


def test_first_loss_times_seeded_and_censoring():
    p = np.ones(4) / 4
    a = rare_tokens.first_loss_times(p, 50, 100, seed=3)
    b = rare_tokens.first_loss_times(p, 50, 100, seed=3)
    assert np.array_equal(a, b)
    c = rare_tokens.first_loss_times(p, 10_000, 50, seed=1, max_generations=2)
    assert (c == -1).all()


def test_first_loss_times_dirac_and_zero_entries():
    assert (rare_tokens.first_loss_times(np.array([0.0, 1.0]), 5, 3, seed=0) == -1).all()
    t = rare_tokens.first_loss_times(np.array([0.5, 0.0, 0.5]), 5, 100, seed=0)
    assert (t >= 1).all()  # the zero entry is not in the support and does not count as a loss


def test_first_loss_times_validation():
    with pytest.raises(ValueError):
        rare_tokens.first_loss_times(np.array([0.5, 0.6]), 5, 3)
    with pytest.raises(TypeError):
        rare_tokens.first_loss_times(np.array([0.5, 0.5]), 5, 2.5)


def test_feller_survival_values_and_validation():
    assert rare_tokens.feller_survival(1, 2) == pytest.approx(1 - np.exp(-1))
    assert rare_tokens.feller_survival(0, 5) == 0
    with pytest.raises(ValueError):
        rare_tokens.feller_survival(1, 0)
    with pytest.raises(ValueError):
        rare_tokens.feller_survival(-1, 3)


def test_expected_vocabulary_feller_sum_and_shape():
    p = np.array([0.7, 0.2, 0.1, 0.0])
    t = np.array([1, 10, 100])
    v = rare_tokens.expected_vocabulary_feller(p, 100, t)
    assert v.shape == (3,)
    manual = sum(1 - np.exp(-2 * 100 * q / t) for q in (0.7, 0.2, 0.1))
    assert np.allclose(v, manual)
    # close to the exact expected support for 1 << t << n
    alive, _ = wright_fisher.token_survival(np.array([0.98, 0.01, 0.01]), 500, 40)
    approx = rare_tokens.expected_vocabulary_feller(np.array([0.98, 0.01, 0.01]), 500, 40)
    assert abs(approx - alive[40].sum()) < 0.1


def test_rare_token_collapse_time():
    assert rare_tokens.rare_token_collapse_time(1, np.e) == pytest.approx(4.0)
    assert np.allclose(rare_tokens.rare_token_collapse_time(1, [100, 200]),
                       2 * (1 + np.log([100, 200])))
    with pytest.raises(ValueError):
        rare_tokens.rare_token_collapse_time(5, 5)
