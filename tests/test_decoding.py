"""Decoding transforms (temperature, top-k, top-p) and sampling inside the statistical model."""

import functools

import numpy as np
import pytest

from helpers import decoding, statmodel

P = np.array([0.5, 0.3, 0.2, 0.0])
BATCH = np.random.default_rng(0).dirichlet(np.ones(6), size=(4, 3))


# --- transforms: hand examples ------------------------------------------------------------------

def test_temperature_hand_values():
    np.testing.assert_allclose(decoding.apply_temperature(P, 0.5), np.array([25, 9, 4, 0]) / 38)
    np.testing.assert_allclose(decoding.apply_temperature([0.9, 0.1], 2.0), [0.75, 0.25])
    np.testing.assert_allclose(decoding.apply_temperature(P, 1.0), P)
    np.testing.assert_allclose(decoding.apply_temperature([2, 1, 1], 1.0), [0.5, 0.25, 0.25])
    # log space: no underflow at tiny temperatures, and zeros stay zero at huge ones
    np.testing.assert_allclose(decoding.apply_temperature(P, 1e-3), [1, 0, 0, 0], atol=1e-12)
    np.testing.assert_allclose(decoding.apply_temperature(P, 1e6), [1 / 3, 1 / 3, 1 / 3, 0],
                               atol=1e-5)


def test_top_k_and_top_p_hand_values():
    np.testing.assert_allclose(decoding.top_k(P, 2), [0.625, 0.375, 0, 0])
    np.testing.assert_allclose(decoding.top_k(P, 4), P)
    np.testing.assert_allclose(decoding.top_p(P, 0.8), [0.625, 0.375, 0, 0])  # 0.5 + 0.3 = 0.8
    np.testing.assert_allclose(decoding.top_p(P, 0.81), P)
    np.testing.assert_allclose(decoding.top_p(P, 0.5), [1, 0, 0, 0])
    np.testing.assert_allclose(decoding.top_p(P, 0.01), [1, 0, 0, 0])
    np.testing.assert_allclose(decoding.top_p(P, 1.0), P)


def test_ties_go_to_the_lower_index():
    flat = np.full(4, 0.25)
    np.testing.assert_allclose(decoding.top_k(flat, 2), [0.5, 0.5, 0, 0])
    np.testing.assert_allclose(decoding.top_p(flat, 0.6), [1 / 3, 1 / 3, 1 / 3, 0])
    np.testing.assert_allclose(decoding.top_k([0.1, 0.45, 0.45], 1), [0, 1, 0])


def test_transform_order():
    # temperature first: at T = 0.5, P becomes (25, 9, 4)/38, so top_p=0.8 keeps two tokens
    np.testing.assert_allclose(decoding.transform(P, temperature=0.5, top_p=0.8),
                               [25 / 34, 9 / 34, 0, 0])
    np.testing.assert_allclose(decoding.transform(P, top_k=3, top_p=0.6), [0.625, 0.375, 0, 0])
    np.testing.assert_allclose(decoding.transform(P), P)


# --- invariants ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [{"temperature": 0.7}, {"temperature": 1.6}, {"top_k": 3},
                                    {"top_p": 0.7}, {"temperature": 0.8, "top_k": 4, "top_p": 0.9}])
def test_invariants_and_vectorisation(kwargs):
    out = decoding.transform(BATCH, **kwargs)
    assert out.shape == BATCH.shape
    np.testing.assert_allclose(out.sum(-1), 1)
    assert np.all(out >= 0)
    assert np.all(out[BATCH == 0] == 0)
    rows = np.stack([decoding.transform(row, **kwargs) for row in BATCH.reshape(-1, 6)])
    np.testing.assert_allclose(out.reshape(-1, 6), rows)
    # the ranking of the kept tokens is preserved
    order = np.argsort(-BATCH, axis=-1, kind="stable")
    ranked = np.take_along_axis(out, order, -1)
    assert np.all(np.diff(ranked, axis=-1) <= 1e-15)


def test_a_dirac_stays_a_dirac():
    dirac = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    for kwargs in [{"temperature": 0.3}, {"temperature": 5.0}, {"top_k": 1}, {"top_k": 3},
                   {"top_p": 0.2}, {"top_p": 1.0}, {"temperature": 9.0, "top_k": 2, "top_p": 1}]:
        np.testing.assert_array_equal(decoding.transform(dirac, **kwargs), dirac)


def test_torch_tensors_use_torch_ops():
    torch = pytest.importorskip("torch")
    kwargs = {"temperature": 0.7, "top_k": 4, "top_p": 0.8}
    out = decoding.transform(torch.tensor(BATCH), **kwargs)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
    np.testing.assert_allclose(out.numpy(), decoding.transform(BATCH, **kwargs), atol=1e-12)
    flat = decoding.top_k(torch.full((2, 4), 0.25, dtype=torch.float32), 2)
    assert flat.dtype == torch.float32
    np.testing.assert_allclose(flat.numpy(), [[0.5, 0.5, 0, 0]] * 2)
    with pytest.raises(ValueError, match="negative"):
        decoding.top_p(torch.tensor([0.5, -0.1]), 0.5)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: decoding.apply_temperature(P, 0), ValueError, "temperature must be positive"),
        (lambda: decoding.apply_temperature(P, -1.0), ValueError, "use 1.0 for no change"),
        (lambda: decoding.apply_temperature(P, "hot"), TypeError, "positive number"),
        (lambda: decoding.top_k(P, 0), ValueError, r"1 <= k <= s = 4"),
        (lambda: decoding.top_k(P, 5), ValueError, "top_k=None"),
        (lambda: decoding.top_k(P, 2.0), TypeError, "k must be an integer"),
        (lambda: decoding.top_p(P, 0), ValueError, r"p_threshold must lie in \(0, 1\]"),
        (lambda: decoding.top_p(P, 1.5), ValueError, "top_p=None"),
        (lambda: decoding.transform([0.5, -0.5]), ValueError, "negative"),
        (lambda: decoding.transform([0.0, 0.0]), ValueError, "all zeros"),
        (lambda: decoding.transform([np.nan, 1.0]), ValueError, "NaN"),
        (lambda: decoding.transform(0.5), ValueError, "at least one token"),
    ],
)
def test_validation(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --- sampling inside the statistical model ------------------------------------------------------

Q = np.array([0.5, 0.3, 0.2])


def test_fully_synthetic_with_a_sampler():
    sharpen = functools.partial(decoding.transform, temperature=0.5)
    traj = statmodel.fully_synthetic(Q, 20, generations=6, runs=5, seed=0, sampler=sharpen)
    assert traj.shape == (5, 7, 3)
    np.testing.assert_allclose(traj.sum(-1), 1)
    counts = traj[:, 1:] * 20
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-9)
    np.testing.assert_array_equal(
        traj, statmodel.fully_synthetic(Q, 20, generations=6, runs=5, seed=0, sampler=sharpen))
    # p^(1) is fitted on real samples of p0: the same draw as without a sampler
    plain = statmodel.fully_synthetic(Q, 20, generations=6, runs=5, seed=0)
    np.testing.assert_array_equal(traj[:, 1], plain[:, 1])
    np.testing.assert_array_equal(statmodel.fully_synthetic(Q, 20, 6, runs=5, seed=0, sampler=None),
                                  plain)
    # top_k=1 is greedy decoding: collapse right after the first synthetic generation
    greedy = functools.partial(decoding.transform, top_k=1)
    traj = statmodel.fully_synthetic(Q, 20, generations=3, runs=50, seed=1, sampler=greedy)
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
    base = statmodel.collapse_times(Q, 20, runs=runs, seed=10)
    same = statmodel.collapse_times(Q, 20, runs=runs, seed=11, sampler=identity)
    assert same.absorbed.all()
    se = np.hypot(base.sem(), same.sem())
    assert abs(base.mean() - same.mean()) <= 4 * se
    sd_base, sd_same = base.times.std(), same.times.std()
    assert abs(sd_base - sd_same) <= 0.1 * sd_base
    # a martingale: the chain collapses onto token i with probability p_i
    freq = np.bincount(same.token, minlength=3) / runs
    assert np.all(np.abs(freq - Q) <= 4 * np.sqrt(Q * (1 - Q) / runs))


def test_low_temperature_collapses_faster():
    base = statmodel.collapse_times(Q, 20, runs=3000, seed=12)
    cold = statmodel.collapse_times(Q, 20, runs=3000, seed=13,
                                    sampler=functools.partial(decoding.transform, temperature=0.8))
    assert base.mean() - cold.mean() > 4 * np.hypot(base.sem(), cold.sem())
    # not a martingale any more: the majority token wins more often than its mass 0.5
    assert (cold.token == 0).mean() > 0.5 + 4 * np.sqrt(0.25 / 3000)


def test_sampler_checks_and_limits():
    ct = statmodel.collapse_times(Q, 50, runs=20, seed=1, max_generations=3,
                                  sampler=functools.partial(decoding.transform, temperature=2.0))
    assert ct.max_generations == 3 and np.all((ct.times == -1) | (ct.times <= 3))
    with pytest.raises(TypeError, match="sampler must be None or a callable"):
        statmodel.fully_synthetic(Q, 5, 2, sampler=0.8)
    with pytest.raises(ValueError, match="keep the shape"):
        statmodel.collapse_times(Q, 5, runs=3, seed=0, sampler=lambda p: p[..., :2])
    with pytest.raises(ValueError, match="negative, NaN"):
        statmodel.fully_synthetic(Q, 5, 3, seed=0, sampler=lambda p: p - 1)
