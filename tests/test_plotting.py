"""The figure style, bands and simplex plots."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers import plotting  # noqa: E402


def test_style_sets_the_colour_cycle():
    plotting.use_book_style()
    cycle = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    assert [c.lower() for c in cycle] == [c.lower() for c in plotting.COLORS]


def test_band_returns_mean_and_standard_error():
    fig, ax = plt.subplots()
    samples = np.array([[0.0, 1.0], [2.0, 3.0]])
    mean, half = plotting.band(ax, [0, 1], samples, sigmas=1.0)
    np.testing.assert_allclose(mean, [1.0, 2.0])
    np.testing.assert_allclose(half, [1.0, 1.0])
    with pytest.raises(ValueError, match="shape"):
        plotting.band(ax, [0, 1, 2], samples)
    plt.close(fig)


def test_simplex_vertices_are_the_dirac_masses():
    xy = plotting.simplex_coordinates(np.eye(3))
    np.testing.assert_allclose(xy[0], [0, 0])
    np.testing.assert_allclose(xy[1], [1, 0])
    np.testing.assert_allclose(np.linalg.norm(xy[2] - xy[0]), 1.0)
    with pytest.raises(ValueError, match="3 tokens"):
        plotting.simplex_coordinates(np.ones(4) / 4)
