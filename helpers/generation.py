"""Sampling from a :class:`helpers.gpt.GPT`: many streams at once, with a KV cache.

- :func:`generate` returns new token ids for ``num_streams`` streams decoded in one batch,
  stepping a KV cache by default (``use_cache=False`` recomputes the whole window each step).
  Decoding transforms come from :mod:`helpers.decoding`; a seed makes it deterministic.
- :func:`generate_text` returns exactly ``total_chars`` characters of generated text.
- :func:`next_token_distributions` returns the next-token probabilities of fixed contexts,
  the quantity drift metrics are computed on.

Long generations: the model attends to a window of at most ``block_size`` tokens; when it is
full it slides to its last ``keep`` tokens (default ``block_size // 2``), with or without the
cache (see :mod:`helpers.gpt`), so both paths sample from the same distribution.
Everything runs under ``torch.inference_mode`` in eval mode, in the mixed precision
``precision`` (default: bf16 on CUDA GPUs that support it, fp16 on older ones, fp32 on the CPU;
see :func:`helpers.runtime.pick_precision`).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from helpers import decoding
from helpers._validate import (
    validate_int,
    validate_seed,
    validate_temperature,
    validate_top_k,
    validate_top_p,
)
from helpers.gpt import GPT

__all__ = ["generate", "generate_text", "next_token_distributions"]


def _device(model: GPT) -> torch.device:
    return model.transformer.wte.weight.device


def _autocast(device: torch.device, precision: str | None):
    """Autocast to ``precision`` (default from the device, see :mod:`helpers.runtime`)."""
    from helpers.runtime import autocast, pick_precision

    kind = "cuda" if device.type == "cuda" else "cpu"
    return autocast(kind, pick_precision(kind, precision))


def _check_model(model) -> None:
    if not isinstance(model, GPT):
        raise TypeError(f"model must be a helpers.gpt.GPT, got {type(model).__name__}.")


def _as_ids(ids, name: str, vocab: int, device) -> torch.Tensor:
    """``ids`` as a LongTensor on ``device``, checked to be token ids below ``vocab``."""
    if isinstance(ids, torch.Tensor):
        t = ids
    else:
        arr = np.asarray(ids)
        if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
            raise TypeError(f"{name} must hold integer token ids, got dtype {arr.dtype}; "
                            "encode text with tokenizer.encode(...).")
        t = torch.as_tensor(arr.astype(np.int64))
    if t.dtype.is_floating_point or t.dtype == torch.bool or t.is_complex():
        raise TypeError(f"{name} must hold integer token ids, got {t.dtype}.")
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= vocab):
        raise ValueError(f"{name} has token ids outside [0, {vocab}), the model's vocabulary "
                         f"(min {int(t.min())}, max {int(t.max())}).")
    return t.to(device=device, dtype=torch.long)


def _slide(start: int, end: int, new: int, block: int, keep: int) -> int:
    """Window start after appending ``new`` tokens to ``[start, end)`` (mirrors the KV cache)."""
    if end - start + new <= block:
        return start
    return end + new - min(block, max(keep, new))


def generate(model: GPT, prompt_ids, num_streams: int, length: int, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
             use_cache: bool = True, keep: int | None = None,
             precision: str | None = None) -> torch.LongTensor:
    """New token ids for each of ``num_streams`` streams, shape ``(num_streams, length)``.

    ``prompt_ids`` is one prompt of shape ``(P,)`` shared by every stream, or one per stream of
    shape ``(num_streams, P)``, with ``P >= 1``. Each step applies ``temperature``, ``top_k``
    and ``top_p`` (:func:`helpers.decoding.transform`) to the softmax of the logits and samples
    with a ``torch.Generator`` seeded by ``seed`` on the model's device (``None``: fresh
    entropy). ``keep`` is the window kept when the context slides (default
    ``block_size // 2``); ``precision`` the mixed precision (default from the device). The
    result is on the model's device.
    """
    _check_model(model)
    cfg = model.config
    num_streams = validate_int(num_streams, "num_streams", 1)
    length = validate_int(length, "length", 1)
    validate_temperature(temperature)
    if top_k is not None:
        validate_top_k(top_k, cfg.vocab_size)
    if top_p is not None:
        validate_top_p(top_p)
    keep = validate_int(cfg.block_size // 2 if keep is None else keep, "keep", 1, cfg.block_size,
                        hint="It is how many tokens the window keeps when it slides.")
    seed = validate_seed(seed, allow_none=True)
    device = _device(model)
    prompt = _as_ids(prompt_ids, "prompt_ids", cfg.vocab_size, device)
    shape = tuple(prompt.shape)
    if prompt.ndim == 1:
        prompt = prompt.unsqueeze(0).expand(num_streams, -1)
    if prompt.ndim != 2 or prompt.shape[0] != num_streams or prompt.shape[1] < 1:
        raise ValueError(f"prompt_ids must have shape (P,) or (num_streams={num_streams}, P) "
                         f"with P >= 1, got {shape}; start from a newline token, e.g. "
                         "tokenizer.encode('\\n').")
    gen = torch.Generator(device=device)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed))

    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), _autocast(device, precision):
            P = prompt.shape[1]
            out = torch.empty((num_streams, length), dtype=torch.long, device=device)
            if use_cache:
                cache = model.init_cache(num_streams, keep=keep)
                logits = model.forward_step(prompt, cache)
            else:
                seq = torch.cat([prompt, out], dim=1)
                start = _slide(0, 0, P, cfg.block_size, keep)
                logits = model(seq[:, start:P])[0][:, -1]
            for t in range(length):
                probs = decoding.transform(F.softmax(logits.float(), dim=-1), temperature,
                                           top_k, top_p)
                nxt = torch.multinomial(probs, 1, generator=gen)
                out[:, t:t + 1] = nxt
                if t == length - 1:
                    break
                if use_cache:
                    logits = model.forward_step(nxt, cache)
                else:
                    end = P + t
                    seq[:, end] = nxt[:, 0]
                    start = _slide(start, end, 1, cfg.block_size, keep)
                    logits = model(seq[:, start:end + 1])[0][:, -1]
    finally:
        model.train(was_training)
    return out


def generate_text(model: GPT, tokenizer, total_chars: int, num_streams: int = 256,
                  prompt: str = "\n", temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None, seed: int | None = None,
                  use_cache: bool = True, precision: str | None = None) -> str:
    """Exactly ``total_chars`` characters of generated text (prompts not included).

    ``num_streams`` streams (fewer if ``total_chars`` is smaller) each continue ``prompt``
    (default a newline) for ``ceil(total_chars / num_streams)`` characters; their texts are
    concatenated in stream order and cut to ``total_chars``.
    """
    total_chars = validate_int(total_chars, "total_chars", 1)
    num_streams = min(validate_int(num_streams, "num_streams", 1), total_chars)
    if not isinstance(prompt, str) or not prompt:
        raise ValueError(f"prompt must be a non-empty string, got {prompt!r}; the default "
                         "'\\n' starts every stream at a line break.")
    length = math.ceil(total_chars / num_streams)
    ids = generate(model, tokenizer.encode(prompt), num_streams, length, temperature, top_k,
                   top_p, seed, use_cache, precision=precision)
    text = tokenizer.decode(ids.reshape(-1).tolist())
    return text[:total_chars]


def next_token_distributions(model: GPT, contexts, batch_size: int = 1024,
                             precision: str | None = None) -> torch.Tensor:
    """Next-token probabilities after each context, a float64 CPU tensor ``(B, vocab)``.

    ``contexts`` holds token ids of shape ``(B, T)`` with ``1 <= T <= block_size`` (a tensor or
    an array). Rows are computed ``batch_size`` at a time and sum to 1 in float64.
    """
    _check_model(model)
    cfg = model.config
    batch_size = validate_int(batch_size, "batch_size", 1)
    device = _device(model)
    ctx = _as_ids(contexts, "contexts", cfg.vocab_size, device)
    if ctx.ndim != 2 or not 1 <= ctx.shape[1] <= cfg.block_size:
        raise ValueError(f"contexts must have shape (B, T) with 1 <= T <= block_size="
                         f"{cfg.block_size}, got {tuple(ctx.shape)}; crop with "
                         "contexts[:, -block_size:].")
    was_training = model.training
    model.eval()
    rows = []
    try:
        with torch.inference_mode(), _autocast(device, precision):
            for i in range(0, ctx.shape[0], batch_size):
                logits = model(ctx[i:i + batch_size])[0][:, -1]
                rows.append(F.softmax(logits.float(), dim=-1).double().cpu())
    finally:
        model.train(was_training)
    if not rows:
        return torch.empty((0, cfg.vocab_size), dtype=torch.float64)
    p = torch.cat(rows)
    return p / p.sum(-1, keepdim=True)
