"""Tests of helpers.decoding: temperature, top-k and top-p on numpy arrays and torch tensors."""


import numpy as np
import pytest

from helpers import decoding

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
        (lambda: decoding.apply_temperature(P, 0), ValueError, "temperature must be > 0"),
        (lambda: decoding.apply_temperature(P, -1.0), ValueError, "Use 1.0 for no change"),
        (lambda: decoding.apply_temperature(P, "hot"), TypeError, "temperature must be a number"),
        (lambda: decoding.top_k(P, 0), ValueError, r"k must be an integer in \[1, 4\]"),
        (lambda: decoding.top_k(P, 5), ValueError, "top_k=None"),
        (lambda: decoding.top_k(P, 2.0), TypeError, "k must be an integer"),
        (lambda: decoding.top_p(P, 0), ValueError, r"p_threshold must be in \(0, 1\]"),
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
