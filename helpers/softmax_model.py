"""The one-hot linear softmax language model of Part I: corpora, count tables and the GD fit.

A corpus is two integer arrays of equal length M: ``contexts`` (values in ``range(c)``) and
``tokens`` (values in ``range(s)``); pair ``l`` says that token ``tokens[l]`` followed context
``contexts[l]``. The model is a weight matrix ``W`` of shape (c, s) whose row ``j`` holds the
logits of context ``j`` (the paper's ``W^T e_j``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from helpers._validate import validate_distribution, validate_int, validate_real


def _as_int_array(x, name: str, upper: int) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {x.shape}.")
    if x.size and not np.issubdtype(x.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, got dtype {x.dtype}.")
    if x.size and (x.min() < 0 or x.max() >= upper):
        raise ValueError(f"{name} must lie in range(0, {upper}), got values in "
                         f"[{x.min()}, {x.max()}].")
    return x.astype(np.int64)


def _check_corpus(contexts, tokens, c: int, s: int):
    c, s = validate_int(c, "c", 1), validate_int(s, "s", 1)
    contexts = _as_int_array(contexts, "contexts", c)
    tokens = _as_int_array(tokens, "tokens", s)
    if contexts.shape != tokens.shape:
        raise ValueError(f"contexts and tokens must have the same length, got "
                         f"{contexts.size} and {tokens.size}.")
    if contexts.size == 0:
        raise ValueError("The corpus is empty.")
    return contexts, tokens


def sample_corpus(p, context_probs, M: int, seed=None):
    """Draw M pairs: a context from ``context_probs`` (shape (c,)), then a token from row ``p[j]``.

    ``p`` has shape (c, s), one next-token distribution per context. Returns ``(contexts,
    tokens)``, two int arrays of length M.
    """
    p = validate_distribution(p, "p", ndims=(2,))
    context_probs = validate_distribution(context_probs, "context_probs", ndims=(1,))
    if context_probs.shape[0] != p.shape[0]:
        raise ValueError(f"context_probs has {context_probs.shape[0]} entries but p has "
                         f"{p.shape[0]} rows (contexts).")
    M = validate_int(M, "M", 1)
    rng = np.random.default_rng(seed)
    contexts = rng.choice(p.shape[0], size=M, p=context_probs)
    # Inverse-CDF sampling of each token from its own context's row, vectorised.
    cdf = np.cumsum(p, axis=1)
    cdf[:, -1] = 1.0
    u = rng.random(M)
    tokens = (u[:, None] >= cdf[contexts]).sum(axis=1)
    return contexts.astype(np.int64), tokens.astype(np.int64)


def count_table(contexts, tokens, c: int, s: int) -> np.ndarray:
    """The (c, s) table N with N[j, k] = number of pairs in which token k follows context j."""
    contexts, tokens = _check_corpus(contexts, tokens, c, s)
    return np.bincount(contexts * s + tokens, minlength=c * s).reshape(c, s)


def empirical_conditionals(counts) -> np.ndarray:
    """Row-normalise a count table: the empirical next-token frequencies of each context.

    Raises if a context never occurs, since its conditional is then undefined.
    """
    counts = np.asarray(counts)
    if counts.ndim != 2 or np.any(counts < 0):
        raise ValueError(f"counts must be a non-negative (c, s) table, got shape {counts.shape}.")
    totals = counts.sum(axis=1, keepdims=True)
    if np.any(totals == 0):
        missing = np.flatnonzero(totals[:, 0] == 0).tolist()
        raise ValueError(f"Contexts {missing} never occur in the corpus; their empirical "
                         f"conditional is undefined.")
    return counts / totals


def conditional_entropy(counts) -> float:
    """Empirical conditional entropy H(Y | X) in nats: -sum_jk (N_jk / M) log(N_jk / N_j)."""
    counts = np.asarray(counts, dtype=float)
    freqs = empirical_conditionals(counts)
    logs = np.log(np.where(counts > 0, freqs, 1.0))
    return float(-(counts * logs).sum() / counts.sum())


def kl_divergence(p, q) -> np.ndarray:
    """KL(p || q) = sum_k p_k log(p_k / q_k) along the last axis, with 0 log 0 = 0."""
    p, q = np.broadcast_arrays(np.asarray(p, dtype=float), np.asarray(q, dtype=float))
    if np.any(p < 0) or np.any(q < 0):
        raise ValueError("p and q must be non-negative.")
    with np.errstate(divide="ignore"):
        terms = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1.0)) - np.log(q)), 0.0)
    return terms.sum(axis=-1)


def softmax(logits) -> np.ndarray:
    """Numerically stable softmax along the last axis."""
    logits = np.asarray(logits, dtype=float)
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def cross_entropy(W, contexts, tokens) -> float:
    """The loss of eq. (1): mean of -log softmax(W[x_l])[y_l] over the corpus."""
    W = np.asarray(W, dtype=float)
    if W.ndim != 2:
        raise ValueError(f"W must be a (c, s) matrix, got shape {W.shape}.")
    contexts, tokens = _check_corpus(contexts, tokens, *W.shape)
    logits = W[contexts]
    shift = logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(logits - shift).sum(axis=1)) + shift[:, 0]
    return float(np.mean(lse - logits[np.arange(contexts.size), tokens]))


def default_lr(contexts, c: int) -> float:
    """The step 2M / max_j N_j = 1/L, with L the smoothness constant of the loss (1).

    Row j of the loss is (N_j / M) times a function whose Hessian has norm at most 1/2.
    """
    counts = np.bincount(_as_int_array(contexts, "contexts", c), minlength=c)
    if counts.sum() == 0:
        raise ValueError("The corpus is empty.")
    return 2.0 * counts.sum() / counts.max()


class SoftmaxFit(NamedTuple):
    """Result of :func:`fit_softmax`."""

    weights: np.ndarray     # (c, s), the final W
    losses: np.ndarray      # (steps + 1,), the loss before each step and after the last
    snapshots: np.ndarray   # (len(record_at), c, s), W after the steps listed in record_at


def fit_softmax(contexts, tokens, c: int, s: int, steps: int, lr=None, record_at=(),
                W0=None) -> SoftmaxFit:
    """Minimise the cross-entropy (1) by full-batch gradient descent from ``W0`` (default 0).

    The gradient is computed from the one-hot data, (1/M) X^T (softmax(X W) - Y), never from
    the count table. ``lr`` defaults to :func:`default_lr`; ``record_at`` lists step numbers
    (0 to ``steps``) after which W is stored.
    """
    contexts, tokens = _check_corpus(contexts, tokens, c, s)
    steps = validate_int(steps, "steps", 0)
    lr = validate_real(default_lr(contexts, c) if lr is None else lr, "lr", 0, open_min=True)
    record_at = np.asarray(record_at, dtype=np.int64).ravel()
    if record_at.size and (record_at.min() < 0 or record_at.max() > steps):
        raise ValueError(f"record_at must lie in [0, steps={steps}].")
    W = np.zeros((c, s)) if W0 is None else np.array(W0, dtype=float)
    if W.shape != (c, s):
        raise ValueError(f"W0 must have shape ({c}, {s}), got {W.shape}.")
    M = contexts.size
    X = np.zeros((M, c))
    X[np.arange(M), contexts] = 1.0
    Y = np.zeros((M, s))
    Y[np.arange(M), tokens] = 1.0
    losses = np.empty(steps + 1)
    snapshots = np.empty((record_at.size, c, s))
    rows = np.arange(M)
    for t in range(steps + 1):
        logits = X @ W
        logits -= logits.max(axis=1, keepdims=True)
        expo = np.exp(logits)
        norm = expo.sum(axis=1, keepdims=True)
        losses[t] = np.mean(np.log(norm[:, 0]) - logits[rows, tokens])
        snapshots[record_at == t] = W
        if t < steps:
            W = W - lr * (X.T @ (expo / norm - Y)) / M
    return SoftmaxFit(W, losses, snapshots)


def gd_kl_bound(counts, lr: float, steps, W0=None, B=None) -> np.ndarray:
    """Upper bound on KL(p_hat_j || softmax(W_t[j])) after t gradient steps, for each context j.

    Row j runs gradient descent with step lr * N_j / M on g_j(w) = logsumexp(w) - p_hat_j . w,
    which is 1/2-smooth and convex; for any comparator u, g_j(w_t) - g_j(u) <= |w_0 - u|^2 /
    (2 lr a_j t). The comparator puts log p_hat on the seen tokens and -B on the unseen ones;
    B defaults to the best value on a grid. Returns shape (len(steps), c).
    """
    counts = np.asarray(counts, dtype=float)
    freqs = empirical_conditionals(counts)
    a = counts.sum(axis=1) / counts.sum()
    if np.any(lr * a > 2 + 1e-12):
        raise ValueError("lr is too large for the bound: it needs lr * N_j / M <= 2 for all j.")
    steps = np.atleast_1d(np.asarray(steps, dtype=float))
    if np.any(steps <= 0):
        raise ValueError("steps must be positive.")
    c, s = counts.shape
    W0 = np.zeros((c, s)) if W0 is None else np.asarray(W0, dtype=float)
    seen = counts > 0
    unseen = (~seen).sum(axis=1)
    log_f = np.log(np.where(seen, freqs, 1.0))
    grid = np.linspace(0.0, 60.0, 6001) if B is None else np.atleast_1d(float(B))
    # Comparator u(B); the softmax is shift invariant, so also shift u to best match W0's row.
    u = np.where(seen[None], log_f[None], -grid[:, None, None])            # (B, c, s)
    diff = W0[None] - u
    diff -= diff.mean(axis=2, keepdims=True)
    dist2 = (diff**2).sum(axis=2)                                           # (B, c)
    kl_u = np.log1p(unseen[None] * np.exp(-grid[:, None]))  # KL(p_hat || softmax(u)), (B, c)
    bound = kl_u[None] + dist2[None] / (2 * lr * a[None, None] * steps[:, None, None])
    return bound.min(axis=1)
