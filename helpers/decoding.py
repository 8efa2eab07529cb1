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

import numpy as np

from helpers._validate import (
    is_torch,
    validate_temperature,
    validate_top_k,
    validate_top_p,
    validate_weights,
)

__all__ = ["apply_temperature", "top_k", "top_p", "transform"]

# top_p keeps a token while the mass ranked strictly above it is below p_threshold - _ROUND,
# so that rounding in a cumulative sum (0.5 + 0.3 vs 0.8) does not keep an extra token.
_ROUND = 1e-12


def apply_temperature(p, temperature: float):
    """``p_i^(1/temperature)`` renormalised (softmax of ``log p / temperature``).

    Computed in log space, so small temperatures do not underflow; zeros stay zero and
    ``temperature = 1`` only renormalises. ``temperature -> 0`` tends to the uniform
    distribution over the most probable tokens, ``-> inf`` to uniform over the support.
    """
    q = validate_weights(p)
    t = validate_temperature(temperature)
    if t == 1.0:
        return q
    if is_torch(q):
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
    if is_torch(q):
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
    q = validate_weights(p)
    k = validate_top_k(k, q.shape[-1])
    if k == q.shape[-1]:
        return q
    return _keep_sorted(q, lambda v: _arange_like(v) < k)


def top_p(p, p_threshold: float):
    """Nucleus sampling: keep the smallest set of most probable tokens with mass ``>= p_threshold``.

    Tokens are ranked by probability (ties: lower index first) and kept while the mass ranked
    strictly above them is below ``p_threshold`` (up to ``1e-12`` for rounding), so the most
    probable token is always kept. ``0 < p_threshold <= 1``; 1 keeps the whole support.
    """
    q = validate_weights(p)
    thr = validate_top_p(p_threshold)
    if thr == 1.0:
        return q

    def keep(v):
        above = (v.cumsum(-1) - v)  # mass ranked strictly above each token
        return above < thr - _ROUND

    return _keep_sorted(q, keep)


def _arange_like(v):
    """Positions ``0..s-1`` along the last axis, broadcastable to ``v``."""
    if is_torch(v):
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
