"""Decoding transforms of a next-token distribution: temperature, top-k and top-p (nucleus).

Every function acts on the last axis of ``p`` (one distribution per row, any leading axes)
and returns renormalised probabilities of the same shape. ``p`` holds nonnegative weights with
a positive sum per row (probabilities, or unnormalised counts). Tokens of probability zero stay
zero under every transform, so a Dirac mass stays a Dirac mass.

``p`` may be a numpy array (or anything ``np.asarray`` takes), returning a float numpy array,
or a ``torch.Tensor``, returning a tensor of the same dtype and device computed with torch ops
(torch is never imported otherwise). Ties are broken deterministically: among equal
probabilities the token with the lower index ranks first.

:func:`transform` composes them in the usual order (temperature, then top-k, then top-p); a
``functools.partial`` of it is a ``sampler`` for :func:`helpers.statmodel.fully_synthetic`.
"""

from __future__ import annotations

import numbers
import sys

import numpy as np

__all__ = ["apply_temperature", "top_k", "top_p", "transform"]

# top_p keeps a token while the mass ranked strictly above it is below p_threshold - _ROUND,
# so that rounding in a cumulative sum (0.5 + 0.3 vs 0.8) does not keep an extra token.
_ROUND = 1e-12


def _is_torch(p) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(p, torch.Tensor)


def _check(p, name: str = "p"):
    """``p`` normalised along its last axis, as a float array or a floating torch tensor."""
    if _is_torch(p):
        q = p if p.is_floating_point() else p.double()
        bad = (not bool(q.isfinite().all()), bool((q < 0).any()))
        total = q.sum(-1, keepdim=True) if q.ndim else q
    else:
        try:
            q = np.asarray(p, dtype=float)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must be an array of probabilities, got "
                            f"{type(p).__name__}.") from err
        bad = (not np.isfinite(q).all(), bool((q < 0).any()))
        total = q.sum(-1, keepdims=True) if q.ndim else q
    if q.ndim == 0 or q.shape[-1] == 0:
        raise ValueError(f"{name} must have at least one token on its last axis, got shape "
                         f"{tuple(q.shape)}.")
    if bad[0]:
        raise ValueError(f"{name} contains NaN or infinite entries.")
    if bad[1]:
        raise ValueError(f"{name} has negative entries; probabilities must be nonnegative.")
    if bool((total <= 0).any()):
        raise ValueError(f"some row of {name} is all zeros; every distribution needs positive "
                         "mass.")
    return q / total


def _check_temperature(temperature) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
        raise TypeError(f"temperature must be a positive number, got {temperature!r}.")
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be positive and finite, got {temperature}; use 1.0 "
                         "for no change, < 1 to sharpen and > 1 to flatten.")
    return float(temperature)


def _check_k(k, s: int) -> int:
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"k must be an integer, got {k!r} ({type(k).__name__}).")
    if not 1 <= k <= s:
        raise ValueError(f"k must satisfy 1 <= k <= s = {s} (the vocabulary size), got {k}; "
                         "use top_k=None for no truncation.")
    return int(k)


def _check_threshold(p_threshold) -> float:
    if isinstance(p_threshold, bool) or not isinstance(p_threshold, numbers.Real):
        raise TypeError(f"p_threshold must be a number in (0, 1], got {p_threshold!r}.")
    if not 0 < p_threshold <= 1:
        raise ValueError(f"p_threshold must lie in (0, 1], got {p_threshold}; 1 keeps every "
                         "token (use top_p=None for no truncation).")
    return float(p_threshold)


def apply_temperature(p, temperature: float):
    """``p_i^(1/temperature)`` renormalised (softmax of ``log p / temperature``).

    Computed in log space, so small temperatures do not underflow; zeros stay zero and
    ``temperature = 1`` only renormalises. ``temperature -> 0`` tends to the uniform
    distribution over the most probable tokens, ``-> inf`` to uniform over the support.
    """
    q = _check(p)
    t = _check_temperature(temperature)
    if t == 1.0:
        return q
    if _is_torch(q):
        import torch

        logit = torch.log(q) / t
        logit = logit - logit.max(-1, keepdim=True).values
        w = torch.exp(logit)
        return w / w.sum(-1, keepdim=True)
    with np.errstate(divide="ignore"):
        logit = np.log(q) / t
    w = np.exp(logit - logit.max(-1, keepdims=True))
    return w / w.sum(-1, keepdims=True)


def _keep_sorted(q, keep_fn):
    """Zero the tokens outside ``keep_fn(q sorted descending, stably)``; renormalise."""
    if _is_torch(q):
        import torch

        values, order = torch.sort(q, dim=-1, descending=True, stable=True)
        keep = keep_fn(values).expand_as(values)
        mask = torch.zeros_like(q, dtype=torch.bool).scatter(-1, order, keep)
        w = torch.where(mask, q, torch.zeros_like(q))
        return w / w.sum(-1, keepdim=True)
    order = np.argsort(-q, axis=-1, kind="stable")
    values = np.take_along_axis(q, order, -1)
    mask = np.zeros(q.shape, bool)
    np.put_along_axis(mask, order, np.broadcast_to(keep_fn(values), values.shape), -1)
    w = np.where(mask, q, 0.0)
    return w / w.sum(-1, keepdims=True)


def top_k(p, k: int):
    """Keep the ``k`` most probable tokens of every row, renormalised (``1 <= k <= s``).

    Ties at the cut go to the lower token index.
    """
    q = _check(p)
    k = _check_k(k, q.shape[-1])
    if k == q.shape[-1]:
        return q
    return _keep_sorted(q, lambda v: _arange_like(v) < k)


def top_p(p, p_threshold: float):
    """Nucleus sampling: keep the smallest set of most probable tokens with mass ``>= p_threshold``.

    Tokens are ranked by probability (ties: lower index first) and kept while the mass ranked
    strictly above them is below ``p_threshold`` (up to ``1e-12`` for rounding), so the most
    probable token is always kept. ``0 < p_threshold <= 1``; 1 keeps the whole support.
    """
    q = _check(p)
    thr = _check_threshold(p_threshold)
    if thr == 1.0:
        return q

    def keep(v):
        above = (v.cumsum(-1) - v)  # mass ranked strictly above each token
        return above < thr - _ROUND

    return _keep_sorted(q, keep)


def _arange_like(v):
    """Positions ``0..s-1`` along the last axis, broadcastable to ``v``."""
    if _is_torch(v):
        import torch

        return torch.arange(v.shape[-1], device=v.device)
    return np.arange(v.shape[-1])


def transform(p, temperature: float = 1.0, top_k: int | None = None,
              top_p: float | None = None):
    """Temperature, then top-k, then top-p, as decoders usually apply them; renormalised.

    ``top_k=None`` and ``top_p=None`` skip that truncation; the defaults only renormalise.
    ``functools.partial(transform, temperature=0.8)`` is a ``sampler`` for the engine in
    :mod:`helpers.statmodel`.
    """
    q = apply_temperature(p, temperature)
    if top_k is not None:
        q = _top_k(q, top_k)
    if top_p is not None:
        q = _top_p(q, top_p)
    return q


_top_k, _top_p = top_k, top_p  # transform's keyword arguments shadow the functions
