"""A character-level GPT in one readable file, after nanoGPT's ``model.py``.

- :class:`GPTConfig` holds the architecture and the training hyperparameters that
  ``helpers.train`` reads; :data:`CONFIGS` has three of them: ``paper`` (the paper's Table 1),
  ``nanogpt`` (nanoGPT's Shakespeare-char recipe) and ``small`` (small enough to train on two
  CPU cores in about a minute). :func:`config_for_scale` is the one Chapter 14 trains at each
  scale of :data:`helpers.runtime.SCALES`.
- :class:`GPT` is a decoder-only transformer: token and position embeddings, pre-norm blocks of
  causal self-attention (``scaled_dot_product_attention``) and a 4x GELU MLP, a final LayerNorm
  and a language-model head tied to the token embedding.
- :meth:`GPT.forward_step` runs only the new tokens against a :class:`KVCache`.

The KV cache and long sequences. Positions are absolute (learned ``wpe``), so the keys of a
token depend on where it sits in the window and cannot be reused once the window slides. When a
step would take the window past ``block_size`` tokens, the cache is refilled from the last
``keep`` tokens (default ``block_size // 2``) in one full forward, and stepping resumes from
there. The model therefore always attends to between ``keep`` and ``block_size`` tokens, and
``cache.start`` says where the current window begins: the logits of a step equal
``model(tokens[:, cache.start:cache.end])[0][:, -1]``. ``helpers.generation.generate`` follows the
same window rule without a cache, so both paths sample from the same model of text.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from helpers._validate import validate_int, validate_real

__all__ = ["GPTConfig", "CONFIGS", "SCALE_CONFIGS", "get_config", "config_for_scale", "GPT",
           "KVCache", "parameter_count_formula"]


@dataclass(frozen=True)
class GPTConfig:
    """Architecture and training hyperparameters of a character-level GPT."""

    # architecture
    vocab_size: int = 65
    block_size: int = 128  # context length
    n_layer: int = 8
    n_head: int = 4
    n_embd: int = 256
    dropout: float = 0.2
    bias: bool = False  # biases in Linear and LayerNorm layers
    # training (AdamW with linear warm-up and cosine decay to min_lr)
    learning_rate: float = 1e-3
    batch_size: int = 256
    max_iters: int = 2000
    warmup_iters: int = 100
    min_lr: float = 1e-4
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0  # 0 disables clipping
    eval_interval: int = 250
    eval_iters: int = 100

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd", "batch_size",
                     "max_iters", "eval_interval", "eval_iters"):
            validate_int(getattr(self, name), f"GPTConfig.{name}", 1)
        validate_int(self.warmup_iters, "GPTConfig.warmup_iters", 0)
        if self.n_embd % self.n_head:
            near = [h for h in range(1, self.n_embd + 1) if self.n_embd % h == 0]
            best = min(near, key=lambda h: abs(h - self.n_head))
            raise ValueError(
                f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head}) so that "
                f"every head gets n_embd // n_head dimensions; use e.g. n_head={best}, or "
                f"n_embd={self.n_head * max(1, round(self.n_embd / self.n_head))}.")
        validate_real(self.dropout, "GPTConfig.dropout", 0, 1, open_max=True,
                      hint="Use 0.0 to disable it.")
        for name in ("min_lr", "weight_decay", "grad_clip"):
            validate_real(getattr(self, name), f"GPTConfig.{name}", 0)
        validate_real(self.learning_rate, "GPTConfig.learning_rate", 0, open_min=True)
        if self.min_lr > self.learning_rate:
            raise ValueError(f"min_lr ({self.min_lr}) must not exceed learning_rate "
                             f"({self.learning_rate}); cosine decay goes from the latter down.")
        for name in ("beta1", "beta2"):
            validate_real(getattr(self, name), f"GPTConfig.{name}", 0, 1, open_max=True)

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def to_dict(self) -> dict:
        return asdict(self)


CONFIGS: dict[str, GPTConfig] = {
    # The paper's Table 1: context 128, width 256, 8 layers, 4 heads, vocabulary 65, dropout
    # 0.2, AdamW at lr 1e-3 with warm-up and cosine decay, batch 256, 2000 iterations.
    "paper": GPTConfig(vocab_size=65, block_size=128, n_layer=8, n_head=4, n_embd=256,
                       dropout=0.2, learning_rate=1e-3, batch_size=256, max_iters=2000,
                       warmup_iters=100, min_lr=1e-4, beta2=0.99, eval_interval=250,
                       eval_iters=100),
    # nanoGPT's config/train_shakespeare_char.py (best validation loss about 1.47).
    "nanogpt": GPTConfig(vocab_size=65, block_size=256, n_layer=6, n_head=6, n_embd=384,
                         dropout=0.2, learning_rate=1e-3, batch_size=64, max_iters=5000,
                         warmup_iters=100, min_lr=1e-4, beta2=0.99, eval_interval=250,
                         eval_iters=200),
    # Small enough to train and sample in a notebook on two CPU cores in about a minute:
    # 500 iterations took 56 s on 2 CPU cores and reached validation loss 2.06 (ln 65 = 4.17).
    "small": GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128,
                       dropout=0.0, learning_rate=2e-3, batch_size=32, max_iters=500,
                       warmup_iters=50, min_lr=2e-4, beta2=0.99, eval_interval=250,
                       eval_iters=20),
}
# The model Chapter 14 trains at each scale: the paper's on any GPU (a T4 trains it in a few
# minutes, see helpers.timing), the small one on a CPU.
SCALE_CONFIGS = {"full": "paper", "t4": "paper", "cpu": "small"}


def get_config(name: str, **overrides) -> GPTConfig:
    """The named config of :data:`CONFIGS`, with any field replaced by ``overrides``."""
    if name not in CONFIGS:
        raise ValueError(f"Unknown GPT config {name!r}; choose one of {sorted(CONFIGS)}.")
    valid = {f.name for f in fields(GPTConfig)}
    unknown = sorted(set(overrides) - valid)
    if unknown:
        raise TypeError(f"Unknown GPTConfig field(s) {unknown}; valid fields are "
                        f"{sorted(valid)}.")
    return replace(CONFIGS[name], **overrides)


def config_for_scale(scale: str) -> GPTConfig:
    """The model Chapter 14 trains at ``scale`` (a key of :data:`SCALE_CONFIGS`)."""
    if scale not in SCALE_CONFIGS:
        raise ValueError(f"Unknown scale {scale!r}; choose one of {list(SCALE_CONFIGS)}.")
    return CONFIGS[SCALE_CONFIGS[scale]]


def parameter_count_formula(config: GPTConfig, non_embedding: bool = False) -> int:
    """Exact number of parameters of ``GPT(config)`` in closed form.

    With ``V`` the vocabulary, ``T`` the context, ``C`` the width, ``L`` the layers and
    ``b = 1`` with biases (else 0): ``V C + T C + L (12 C^2 + 2 C + 11 b C) + C + b C``.
    The LM head is tied to the token embedding and adds nothing. ``non_embedding`` leaves out
    the position embedding ``T C`` (the token embedding is also the output layer, so it stays),
    as nanoGPT does.
    """
    V, T, C, L, b = (config.vocab_size, config.block_size, config.n_embd, config.n_layer,
                     int(config.bias))
    per_layer = (
        2 * (C + b * C)  # ln_1, ln_2
        + 3 * C * C + b * 3 * C  # attention: q, k, v projection
        + C * C + b * C  # attention: output projection
        + 4 * C * C + b * 4 * C  # MLP up
        + 4 * C * C + b * C  # MLP down
    )
    total = V * C + T * C + L * per_layer + C + b * C  # + final LayerNorm
    return total - T * C if non_embedding else total


class KVCache:
    """Keys and values of the current window, preallocated as ``(B, n_head, block_size, hd)``.

    ``start`` and ``end`` are the positions (in the whole generated sequence, prompt included)
    of the first token in the window and one past the last token seen; ``tokens`` holds the
    window's token ids. Make one with :meth:`GPT.init_cache`.
    """

    def __init__(self, config: GPTConfig, batch: int, keep: int | None = None,
                 device=None, dtype=None):
        batch = validate_int(batch, "batch", 1)
        keep = validate_int(config.block_size // 2 if keep is None else keep, "keep", 1,
                            config.block_size,
                            hint="It is how many tokens the window keeps when it slides.")
        self.config, self.batch, self.keep = config, int(batch), int(keep)
        shape = (batch, config.n_head, config.block_size, config.head_dim)
        dtype = dtype or torch.get_default_dtype()
        self.k = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(config.n_layer)]
        self.v = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(config.n_layer)]
        self.tokens = torch.zeros((batch, config.block_size), device=device, dtype=torch.long)
        self.length = 0  # tokens in the window
        self.start = 0
        self.refills = 0  # how many times the window slid

    @property
    def end(self) -> int:
        return self.start + self.length


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with one fused q, k, v projection.

    Shown in Chapter 14, *A transformer on tiny Shakespeare*.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        C, bias = config.n_embd, config.bias
        # query, key and value projections for all heads, in one matrix
        self.c_attn = nn.Linear(C, 3 * C, bias=bias)
        # output projection
        self.c_proj = nn.Linear(C, C, bias=bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head, self.n_embd = config.n_head, config.n_embd
        self.dropout = config.dropout

    def forward(self, x, cache: KVCache | None = None, layer: int = 0):
        # batch size, sequence length, embedding width (n_embd)
        B, T, C = x.shape
        # query, key and value of every head in one matrix product
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)  # each (B, T, C)
        # the heads become a batch dimension: each (B, nh, T, hs), hs = C // nh
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
                   for t in (q, k, v))
        if cache is None or cache.length == 0:
            if cache is not None:  # fill an empty cache with the whole window
                cache.k[layer][:, :, :T] = k
                cache.v[layer][:, :, :T] = v
            # softmax(q k^T / sqrt(hs) + mask) v, (B, nh, T, hs), in one fused
            # kernel; the causal mask hides every later position
            y = F.scaled_dot_product_attention(
                q, k, v, is_causal=True,
                dropout_p=self.dropout if self.training else 0.0)
        else:  # new tokens attend to the cached window and to each other
            past = cache.length
            cache.k[layer][:, :, past:past + T] = k
            cache.v[layer][:, :, past:past + T] = v
            k = cache.k[layer][:, :, :past + T]  # (B, nh, past + T, hs)
            v = cache.v[layer][:, :, :past + T]
            mask = None  # one new token: the whole window is its past
            if T > 1:  # new token i sees the window and new tokens 0..i
                mask = torch.ones(T, past + T, dtype=torch.bool,
                                  device=x.device).tril(past)  # (T, past + T)
            y = F.scaled_dot_product_attention(q.to(k.dtype), k, v,
                                               attn_mask=mask)
        # the heads side by side again: (B, T, C)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))  # output projection


class MLP(nn.Module):
    """Two linear layers and a GELU, ``C -> 4C -> C``, for each position.

    Shown in Chapter 14, *A transformer on tiny Shakespeare*.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        C, bias = config.n_embd, config.bias
        self.c_fc = nn.Linear(C, 4 * C, bias=bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * C, C, bias=bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-norm block: ``x + attn(ln(x))``, then ``x + mlp(ln(x))``.

    Shown in Chapter 14, *A transformer on tiny Shakespeare*.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x, cache: KVCache | None = None, layer: int = 0):
        # x: (B, T, C), the residual stream
        x = x + self.attn(self.ln_1(x), cache, layer)  # positions exchange
        return x + self.mlp(self.ln_2(x))  # each position on its own


class GPT(nn.Module):
    """Decoder-only transformer language model over ``config.vocab_size`` tokens."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"GPT needs a GPTConfig, got {type(config).__name__}; use e.g. "
                            "GPT(get_config('small')).")
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # weight tying
        # GPT-2 init: N(0, 0.02), residual projections scaled by 1/sqrt(2 n_layer)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_parameters(self, non_embedding: bool = False) -> int:
        """Parameters of the model (tied weights once); ``non_embedding`` drops ``wpe``."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.transformer.wpe.weight.numel() if non_embedding else n

    def _check_idx(self, idx, limit: int | None = None):
        if not isinstance(idx, torch.Tensor) or idx.dtype != torch.long:
            what = idx.dtype if isinstance(idx, torch.Tensor) else type(idx).__name__
            raise TypeError(f"idx must be a LongTensor of token ids, got {what}.")
        if idx.ndim != 2:
            raise ValueError(f"idx must have shape (batch, time), got {tuple(idx.shape)}.")
        T = idx.shape[1]
        limit = self.config.block_size if limit is None else limit
        if not 1 <= T <= limit:
            raise ValueError(f"sequence length {T} must lie in [1, block_size="
                             f"{self.config.block_size}]; crop it with idx[:, -block_size:].")

    def _embed(self, idx, pos0: int = 0):
        pos = torch.arange(pos0, pos0 + idx.shape[1], dtype=torch.long, device=idx.device)
        return self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))

    def forward(self, idx, targets=None):
        """``(logits, loss)`` for ``idx`` of shape ``(B, T)``, ``T <= block_size``.

        Logits are ``(B, T, vocab)``; ``loss`` is the mean cross-entropy against ``targets``
        (same shape as ``idx``), or ``None`` without targets.
        """
        self._check_idx(idx)
        x = self._embed(idx)
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        loss = None
        if targets is not None:
            if targets.shape != idx.shape:
                raise ValueError(f"targets must have the shape of idx {tuple(idx.shape)}, got "
                                 f"{tuple(targets.shape)}.")
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)).float(), targets.reshape(-1))
        return logits, loss

    def init_cache(self, batch: int, keep: int | None = None, dtype=None) -> KVCache:
        """An empty :class:`KVCache` for ``batch`` streams on the model's device.

        ``keep`` is how many tokens the window keeps when it slides (default
        ``block_size // 2``). ``dtype`` defaults to the autocast dtype when autocast is on for
        the model's device (bfloat16 or float16), else the weights' dtype.
        """
        device = self.transformer.wte.weight.device
        if dtype is None:
            kind = "cuda" if device.type == "cuda" else "cpu"
            dtype = (torch.get_autocast_dtype(kind) if torch.is_autocast_enabled(kind)
                     else self.lm_head.weight.dtype)
        return KVCache(self.config, batch, keep, device=device, dtype=dtype)

    def forward_step(self, idx_new, cache: KVCache):
        """Logits ``(B, vocab)`` of the next token after appending ``idx_new`` to ``cache``.

        ``idx_new`` is ``(B, T_new)``: a prompt at first, then one token per step. Only the new
        tokens run through the model; when the window would pass ``block_size`` it is refilled
        from its last ``max(keep, T_new)`` tokens (at most ``block_size``) and ``cache.start``
        moves forward. Use it in eval mode (dropout off).
        """
        if not isinstance(cache, KVCache) or cache.config != self.config:
            raise ValueError("cache must be a KVCache from this model's init_cache().")
        self._check_idx(idx_new, limit=10**12)
        B, T = idx_new.shape
        if B != cache.batch:
            raise ValueError(f"idx_new has batch {B} but the cache was made for {cache.batch}.")
        block = self.config.block_size
        if cache.length + T > block:  # slide: recompute the window from scratch
            window = torch.cat([cache.tokens[:, :cache.length], idx_new], dim=1)
            w = min(block, max(cache.keep, T))
            cache.start, cache.length = cache.end + T - w, 0
            cache.refills += 1
            idx_new, T = window[:, -w:], w
        past = cache.length
        x = self._embed(idx_new, pos0=past)
        for i, block_ in enumerate(self.transformer.h):
            x = block_(x, cache, i)
        cache.tokens[:, past:past + T] = idx_new
        cache.length = past + T
        return self.lm_head(self.transformer.ln_f(x[:, -1]))
