"""The book's figure style and the plots every part uses: bands and simplex (triangle) plots."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from helpers.agreement import mean_se

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
    mean, se = mean_se(samples)
    half = sigmas * se
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


def _metric(record: dict, metric: str):
    """``record[a][b]...`` for ``metric = "a.b..."``: a number or a ``{mean, se}`` dict."""
    value = record
    for key in metric.split("."):
        if not isinstance(value, dict) or key not in value:
            raise KeyError(f"Generation records have no metric {metric!r}.")
        value = value[key]
    return value


def generation_curve(ax, runs, metric: str, label=None, color=None, sigmas: float = 2.0,
                     alpha: float = 0.25, **kwargs):
    """Plot a per-generation metric of recursive-training runs against the generation.

    ``runs`` is one list of generation records (see :mod:`helpers.experiments`) or a list of
    such lists, one per seed. ``metric`` names a field, dotted for nested ones
    (``"drift_p1"``, ``"text.unigram_entropy"``). With one run, a metric that carries a
    standard error (over contexts) gets a band of ``sigmas`` of them; with several seeds the
    curve is their mean and the band ``sigmas`` standard errors across seeds.
    """
    if runs and isinstance(runs[0], dict):
        runs = [runs]
    if not runs or not all(runs):
        raise ValueError("runs must hold at least one non-empty list of generation records.")
    length = min(len(r) for r in runs)
    x = np.array([r["generation"] for r in runs[0][:length]])
    values = [[_metric(rec, metric) for rec in r[:length]] for r in runs]
    means = np.array([[v["mean"] if isinstance(v, dict) else v for v in row] for row in values],
                     dtype=float)
    if len(runs) > 1:
        mean, half = means.mean(axis=0), sigmas * means.std(axis=0, ddof=1) / np.sqrt(len(runs))
    else:
        mean = means[0]
        half = (sigmas * np.array([v["se"] for v in values[0]])
                if isinstance(values[0][0], dict) else None)
    (line,) = ax.plot(x, mean, marker="o", ms=3.5, label=label, color=color, **kwargs)
    if half is not None:
        ax.fill_between(x, mean - half, mean + half, color=line.get_color(), alpha=alpha, lw=0)
    ax.set_xticks(x)
    return mean, half


def loss_curves(ax, records, title=None, cmap: str = "viridis"):
    """Validation loss against training iteration (log axis), one curve per generation."""
    if not records:
        raise ValueError("records must hold at least one generation record.")
    colors = plt.get_cmap(cmap)(np.linspace(0.0, 0.9, len(records)))
    for rec, color in zip(records, colors, strict=True):
        it = np.asarray(rec["history"]["iterations"], dtype=float)
        loss = np.asarray(rec["history"]["val_loss"], dtype=float)
        keep = it > 0  # a log axis has no place for iteration 0
        ax.plot(it[keep], loss[keep], color=color, lw=1.3, label=f"Gen {rec['generation']}")
    ax.set_xscale("log")
    ax.set_xlabel("training iteration")
    ax.set_ylabel("validation loss (nats / char)")
    if title:
        ax.set_title(title)


def drift_panel(ax, summary: dict, settings, colors: dict | None = None,
                title: str | None = None) -> None:
    """Figure 5's drift panel: ``||p^(m) - p^(1)||_1`` of ``settings`` against the generation,
    each with a band of 2 standard errors over the contexts, and the noise floor (two
    trainings on the same corpus) as a dashed line. ``summary`` is
    :func:`helpers.experiments.summarize` of a run, or the data of a committed result."""
    colors = colors or {}
    for name in settings:
        generation_curve(ax, summary["settings"][name], "drift_p1",
                         label=summary["labels"][name], color=colors.get(name))
    floor = summary.get("floor")
    if floor is not None:
        ax.axhline(floor["drift_p1"]["mean"], color="0.5", ls="--", lw=1,
                   label="noise floor (two trainings, same corpus)")
    ax.set_xlabel("generation $m$")
    ax.set_ylabel(r"$\|p^{(m)} - p^{(1)}\|_1$ (mean over contexts)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
