"""Train several independent GPTs of one architecture at once: an ensemble, with ``torch.func``.

One generation of the recursive experiment (Chapter 15) trains several models that share an
architecture and a recipe but nothing else: each setting has its own corpus, and the replica
its own seed. Trained one after the other, a model of the paper's size leaves most of a large
GPU idle. :func:`train_ensemble` stacks the members' parameters
(``torch.func.stack_module_state``), runs one forward and backward pass for all of them
(``torch.vmap`` over ``torch.func.functional_call``, dropout drawn independently per member
with ``randomness="different"``), and takes one AdamW step over the stacked parameters.

Nothing couples the members:

- member ``i`` starts from the weights ``GPT(config)`` gets after ``seed_everything(seeds[i])``
  and draws its batches from its own corpus with a generator seeded ``seeds[i]``, exactly as
  :func:`helpers.train.train` does for one model;
- the loss is the sum of the members' losses, so each member's gradient is its own;
- AdamW works element by element, so one optimizer over the stack is one per member;
- gradients are clipped per member, each by its own norm (one global norm over the stack
  would couple the members).

With dropout 0, each member therefore ends with the weights and losses it gets when trained
alone, up to float rounding (tested). The exception is fp16 on GPUs without bf16: its gradient
scaler skips a step for every member when any member's gradients overflow.
"""

from __future__ import annotations

import contextlib
import time
import zlib
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch.func import functional_call, stack_module_state
from torch.nn.attention import SDPBackend, sdpa_kernel
from tqdm.auto import tqdm

from helpers._validate import validate_seed
from helpers.atomic import atomic_write
from helpers.gpt import GPT, GPTConfig
from helpers.train import (
    CHECKPOINT,
    DeadlineReached,
    History,
    _Clock,
    get_batch,
    load_checkpoint,
    lr_at,
    make_optimizer,
    maybe_compile,
    mixed_precision,
    rng_state,
    save_trained,
    set_rng_state,
    update,
)

__all__ = ["train_ensemble", "member_state", "clip_per_member"]

TIED = ("lm_head.weight", "transformer.wte.weight")  # the output layer is the token embedding


def member_state(params: dict, index: int) -> dict:
    """The ``state_dict`` of member ``index`` of stacked parameters (tied weights included)."""
    state = {name: p[index].detach().clone() for name, p in params.items()}
    state[TIED[0]] = state[TIED[1]]
    return state


@torch.no_grad()
def clip_per_member(params: dict, max_norm: float) -> torch.Tensor:
    """Scale each member's gradients so that their joint 2-norm is at most ``max_norm``, as
    ``torch.nn.utils.clip_grad_norm_`` does for one model; return the members' norms."""
    grads = [p.grad for p in params.values() if p.grad is not None]
    members = grads[0].shape[0]
    norms = torch.stack([g.reshape(members, -1).float().norm(dim=1) for g in grads], dim=1)
    total = norms.norm(dim=1)  # (members,)
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(coef.view(-1, *[1] * (g.dim() - 1)).to(g.dtype))
    return total


def _check_members(corpora, seeds) -> tuple[list, list[int]]:
    corpora, seeds = list(corpora), list(seeds)
    if not corpora or len(corpora) != len(seeds):
        raise ValueError(f"Give one corpus per seed (one per member), got {len(corpora)} corpora "
                         f"and {len(seeds)} seeds.")
    return corpora, [validate_seed(s, "every seed") for s in seeds]


def train_ensemble(config: GPTConfig, corpora, val_tokens, seeds, device: str | None = None,
                   out_dir=None, member_dirs=None, progress: bool = True,
                   compile: bool | None = None, precision: str | None = None,
                   fused: bool | None = None, stop_after: int | None = None,
                   deadline: float | None = None):
    """Train ``len(seeds)`` models ``GPT(config)`` together; return ``(histories, models)``.

    Member ``i`` trains on ``corpora[i]`` (token ids) from seed ``seeds[i]``, and is evaluated
    on its own corpus and on ``val_tokens``. With ``out_dir`` a checkpoint of the whole ensemble
    is written every ``eval_interval`` iterations, and resumed from. With ``member_dirs``, each
    member's finished model is written to its folder in the format of
    :func:`helpers.train.train` (which then returns it at once) and the ensemble checkpoint is
    removed. ``precision``, ``fused``, ``compile``, ``stop_after`` and ``deadline`` work as in
    :func:`helpers.train.train`.
    """
    from helpers.runtime import pick_device, seed_everything

    if not isinstance(config, GPTConfig):
        raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}.")
    corpora, seeds = _check_members(corpora, seeds)
    if member_dirs is not None and len(member_dirs) != len(seeds):
        raise ValueError(f"member_dirs must name one folder per member ({len(seeds)}), got "
                         f"{len(member_dirs)}.")
    device = pick_device(device)
    K, B, T = len(seeds), config.batch_size, config.block_size

    models = []
    for seed in seeds:  # each member's initial weights, as train() makes them
        seed_everything(seed)
        models.append(GPT(config).to(device))
    torch.manual_seed(zlib.crc32(repr(seeds).encode()))  # the dropout stream of the ensemble
    params, buffers = stack_module_state(models)
    del models
    with torch.device("meta"):
        base = GPT(config)  # the architecture, without weights, for functional_call

    def member_loss(p, b, x, y):
        return functional_call(base, (p, b), (x, y))[1]

    batched = torch.vmap(member_loss, randomness="different")

    def forward(*args):
        if device == "cuda":  # the fused attention kernels of CUDA have vmap rules
            return batched(*args)
        with sdpa_kernel([SDPBackend.MATH]):  # the CPU's fused one has none: use the plain one
            return batched(*args)

    fwd = maybe_compile(forward, compile, device)
    optimizer = make_optimizer(params.values(), [p.dim() >= 3 for p in params.values()],
                               config, device, fused)
    _, autocast, scaler = mixed_precision(device, precision)
    batch_gens = [torch.Generator().manual_seed(s) for s in seeds]
    tokens = [torch.as_tensor(np.asarray(c), dtype=torch.long).to(device) for c in corpora]
    val = torch.as_tensor(np.asarray(val_tokens), dtype=torch.long).to(device)
    histories = [History(members=K) for _ in seeds]
    step = 0

    path = Path(out_dir) / CHECKPOINT if out_dir is not None else None
    if path is not None and path.exists():
        ckpt = load_checkpoint(path, config)
        if ckpt["seeds"] != seeds:
            raise ValueError(f"The ensemble checkpoint {path} has seeds {ckpt['seeds']}, not "
                             f"{seeds}; use a fresh out_dir.")
        with torch.no_grad():
            for name, p in params.items():
                p.copy_(ckpt["params"][name])
        optimizer.load_state_dict(ckpt["optimizer"])
        if scaler is not None and ckpt.get("scaler"):
            scaler.load_state_dict(ckpt["scaler"])
        set_rng_state(ckpt["rng"], batch_gens)
        histories = [History(**h) for h in ckpt["histories"]]
        step = ckpt["step"]

    def stacked_batches(sources) -> tuple[torch.Tensor, torch.Tensor]:
        pairs = [get_batch(t, T, B, g) for t, g in zip(sources, batch_gens, strict=True)]
        return torch.stack([x for x, _ in pairs]), torch.stack([y for _, y in pairs])

    clock = _Clock(device, histories[0])  # one clock; its times are every member's

    def share_timings() -> None:
        for h in histories[1:]:
            h.elapsed = list(histories[0].elapsed)
            h.eval_seconds = histories[0].eval_seconds
            h.wall_time = histories[0].wall_time
            h.tokens_per_second = histories[0].tokens_per_second

    @torch.no_grad()
    def evaluate(it: int) -> None:
        # as helpers.train.estimate_loss, for every member at once, each with its own
        # evaluation generator: all training-split batches first, then the validation ones
        gens = [torch.Generator().manual_seed(10_000_019 * (s + 1) + it) for s in seeds]
        base.eval()
        losses = {}
        with clock.evaluating():
            for split, sources in (("train", tokens), ("val", [val] * K)):
                values = torch.zeros(config.eval_iters, K)
                for i in range(config.eval_iters):
                    pairs = [get_batch(t, T, B, g) for t, g in zip(sources, gens, strict=True)]
                    x = torch.stack([x for x, _ in pairs])
                    y = torch.stack([y for _, y in pairs])
                    with autocast():
                        values[i] = fwd(params, buffers, x, y).float().cpu()
                losses[split] = values.mean(dim=0).tolist()
        base.train()
        for k, h in enumerate(histories):
            h.iterations.append(it)
            h.train_loss.append(losses["train"][k])
            h.val_loss.append(losses["val"][k])
            h.best_val_loss = min(h.best_val_loss, losses["val"][k])
        share_timings()

    def save() -> None:
        state = {"params": {k: v.detach() for k, v in params.items()},
                 "optimizer": optimizer.state_dict(),
                 "scaler": scaler.state_dict() if scaler is not None else None,
                 "step": step, "config": config.to_dict(), "seeds": seeds,
                 "histories": [asdict(h) for h in histories], "rng": rng_state(batch_gens)}
        atomic_write(path, lambda f: torch.save(state, f))

    if step == 0 and not histories[0].iterations:
        evaluate(0)
    last = config.max_iters if stop_after is None else min(config.max_iters, stop_after)
    def clip_gradients() -> None:  # per member: one global norm would couple the members
        clip_per_member(params, config.grad_clip)

    bar = tqdm(total=config.max_iters, initial=step, disable=not progress,
               desc=f"train {K} models")
    base.train()
    tokens_seen, losses = 0, None
    while step < last:
        if deadline is not None and time.monotonic() >= deadline:
            clock.stop()
            share_timings()
            if path is not None:
                save()
            bar.close()
            raise DeadlineReached(f"ensemble stopped at iteration {step} of {config.max_iters} "
                                  f"at the deadline; call again with out_dir={out_dir} to "
                                  "resume.")
        x, y = stacked_batches(tokens)
        with autocast():
            losses = fwd(params, buffers, x, y)  # (K,)
        # the sum of the members' losses: each member's gradient is its own
        update(optimizer, losses.float().sum(), lr_at(step, config), scaler,
               clip_gradients if config.grad_clip > 0 else None)
        step += 1
        tokens_seen += B * T
        bar.update(1)
        if step % config.eval_interval == 0 or step == config.max_iters:
            evaluate(step)
            bar.set_postfix(val=" ".join(f"{h.val_loss[-1]:.3f}" for h in histories))
            if path is not None:
                save()
    bar.close()
    if tokens_seen:
        clock.stop()
        # each member's own training tokens per second (the ensemble processes K times more)
        histories[0].tokens_per_second = tokens_seen / max(clock.training_seconds, 1e-9)
        share_timings()
        if path is not None:
            save()

    out = []
    for k in range(K):
        model = GPT(config).to(device)
        model.load_state_dict(member_state(params, k))
        out.append(model)
    if member_dirs is not None and step >= config.max_iters:
        for k, folder in enumerate(member_dirs):
            save_trained(folder, out[k].state_dict(), histories[k], config)
        if path is not None:
            path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # the folder, once empty
                path.parent.rmdir()
    return histories, out

