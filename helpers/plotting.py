"""The book's figure style and the plots every part uses: bands and simplex (triangle) plots."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

# Okabe-Ito: distinguishable with every common form of colour blindness.
COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

STYLE = {
    "figure.figsize": (7.0, 4.2),
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "figure.constrained_layout.use": True,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 9.5,
    "legend.frameon": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": mpl.cycler(color=COLORS),
    "lines.linewidth": 1.8,
}


def use_book_style() -> None:
    """Apply the book's style to every later figure."""
    mpl.rcParams.update(STYLE)


def band(ax, x, samples, label=None, color=None, sigmas=2.0, alpha=0.25):
    """Plot the mean over axis 0 of ``samples`` with a band of ``sigmas`` standard errors.

    ``samples`` has shape (runs, len(x)). Returns the mean and the half-width of the band.
    """
    samples = np.asarray(samples, dtype=float)
    if samples.ndim != 2 or samples.shape[1] != len(x):
        raise ValueError(f"samples must have shape (runs, {len(x)}), got {samples.shape}.")
    if samples.shape[0] < 2:
        raise ValueError("A band needs at least two runs to estimate its standard error.")
    mean = samples.mean(axis=0)
    half = sigmas * samples.std(axis=0, ddof=1) / np.sqrt(samples.shape[0])
    (line,) = ax.plot(x, mean, label=label, color=color)
    ax.fill_between(x, mean - half, mean + half, color=line.get_color(), alpha=alpha, lw=0)
    return mean, half


_VERTICES = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])


def simplex_coordinates(p) -> np.ndarray:
    """Map probability vectors over three tokens, shape (..., 3), to points in a triangle."""
    p = np.asarray(p, dtype=float)
    if p.shape[-1] != 3:
        raise ValueError(f"A simplex plot needs distributions over 3 tokens, got {p.shape[-1]}.")
    return p @ _VERTICES


def simplex_axes(ax, labels=("token 1", "token 2", "token 3")) -> None:
    """Draw the probability triangle with its vertices (the Dirac masses) labelled."""
    ax.plot(*np.vstack([_VERTICES, _VERTICES[:1]]).T, color="0.3", lw=1)
    offsets = [(-0.04, -0.05), (0.04, -0.05), (0.0, 0.04)]
    for (x, y), (dx, dy), text in zip(_VERTICES, offsets, labels, strict=True):
        ax.text(x + dx, y + dy, text, ha="center", va="center", fontsize=9)
    ax.set_aspect("equal")
    ax.set_xlim(-0.12, 1.12)
    ax.set_ylim(-0.1, 0.95)
    ax.axis("off")


def simplex_scatter(ax, p, labels=("token 1", "token 2", "token 3"), **kwargs):
    """Scatter distributions over three tokens (one point per row of ``p``) in a triangle."""
    simplex_axes(ax, labels)
    xy = simplex_coordinates(p).reshape(-1, 2)
    kwargs.setdefault("s", 12)
    kwargs.setdefault("alpha", 0.8)
    return ax.scatter(xy[:, 0], xy[:, 1], **kwargs)


def new_figure(*args, **kwargs):
    """``plt.subplots`` with the book's style applied first."""
    use_book_style()
    return plt.subplots(*args, **kwargs)
