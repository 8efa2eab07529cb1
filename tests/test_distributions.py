"""Initial distributions with a given support size and shape (helpers.distributions)."""

import numpy as np
import pytest

from helpers import distributions as dist


def _check_distribution(p, s, support):
    assert p.shape == (s,)
    assert np.isclose(p.sum(), 1.0, rtol=0, atol=1e-12)
    assert (p[:support] > 0).all() and (p[support:] == 0).all()
    assert (np.diff(p[:support]) <= 1e-15).all(), "mass must be sorted, most likely first"


def test_uniform():
    p = dist.uniform(10, 4)
    _check_distribution(p, 10, 4)
    np.testing.assert_allclose(p[:4], 0.25)
    assert dist.describe(p).S0 == pytest.approx(0.25)


@pytest.mark.parametrize("builder, parameter", [(dist.geometric, 0.5), (dist.power_law, 1.3)])
def test_shapes_have_the_requested_support(builder, parameter):
    p = builder(30, 12, parameter)
    _check_distribution(p, 30, 12)


def test_geometric_and_power_law_formulas():
    np.testing.assert_allclose(dist.geometric(5, 3, 0.5), np.array([4, 2, 1, 0, 0]) / 7)
    np.testing.assert_allclose(dist.power_law(4, 3, 1.0), np.array([6, 3, 2, 0]) / 11)
    np.testing.assert_allclose(dist.geometric(6, 4, 1.0), dist.uniform(6, 4))
    np.testing.assert_allclose(dist.power_law(6, 4, 0.0), dist.uniform(6, 4))


@pytest.mark.parametrize("shape", dist.SHAPES)
@pytest.mark.parametrize("target", [1 / 52, 0.03, 0.1, 0.5, 0.95])
def test_with_S0_hits_the_target(shape, target):
    p = dist.with_S0(600, 52, target, shape=shape)
    _check_distribution(p, 600, 52)
    assert p @ p == pytest.approx(target, abs=1e-10)


def test_part_three_distribution():
    p = dist.with_S0(600, 52, 0.1)
    profile = dist.describe(p)
    assert (profile.s, profile.support) == (600, 52)
    assert profile.S0 == pytest.approx(0.1, abs=1e-12)
    assert 1.0 < dist.shape_parameter(52, 0.1) < 1.2  # close to Zipf's law


@pytest.mark.parametrize("shape", dist.SHAPES)
def test_S0_is_monotone_in_the_shape_parameter(shape):
    targets = np.linspace(0.05, 0.9, 12)
    params = np.array([dist.shape_parameter(20, t, shape) for t in targets])
    steps = np.diff(params)
    assert (steps > 0).all() if shape == "power_law" else (steps < 0).all()


def test_describe():
    profile = dist.describe(np.array([0.5, 0.25, 0.25, 0.0]))
    assert (profile.s, profile.support) == (4, 3)
    assert profile.S0 == pytest.approx(0.375)
    assert (profile.largest, profile.smallest_positive) == (0.5, 0.25)
    assert "support = 3" in str(profile)


@pytest.mark.parametrize("call, error, match", [
    (lambda: dist.uniform(10, 11), ValueError, "cannot exceed"),
    (lambda: dist.uniform(10, 0), ValueError, "support must be >= 1"),
    (lambda: dist.uniform(10.0, 3), TypeError, "s must be an integer"),
    (lambda: dist.geometric(10, 3, 0.0), ValueError, "ratio"),
    (lambda: dist.geometric(10, 3, 1.5), ValueError, "ratio"),
    (lambda: dist.geometric(10, 3, "0.5"), TypeError, "ratio"),
    (lambda: dist.power_law(10, 3, -1.0), ValueError, "exponent"),
    (lambda: dist.power_law(10, 3, float("nan")), ValueError, "finite"),
    (lambda: dist.geometric(1000, 1000, 1e-300), ValueError, "underflow"),
    (lambda: dist.with_S0(600, 52, 0.01), ValueError, "1/support"),
    (lambda: dist.with_S0(600, 52, 1.0), ValueError, "1/support"),
    (lambda: dist.with_S0(600, 52, 0.1, shape="zipf"), ValueError, "shape"),
    (lambda: dist.describe(np.array([0.5, 0.4])), ValueError, "sum to 1"),
    (lambda: dist.describe(np.ones((2, 2)) / 2), ValueError, "1-D"),
])
def test_arguments_are_validated(call, error, match):
    with pytest.raises(error, match=match):
        call()
