"""Training loop for :class:`helpers.gpt.GPT`, after nanoGPT's ``train.py``.

- :func:`get_batch` draws random windows from a token tensor kept on the device.
- :func:`lr_at` is linear warm-up then cosine decay to ``min_lr``.
- :func:`train` runs AdamW with periodic evaluation, mixed precision, fused AdamW and
  ``torch.compile`` on CUDA, and atomic checkpoints in ``out_dir`` from which it resumes
  bit-exactly on the CPU. A ``deadline`` stops it cleanly, with a checkpoint, by raising
  :class:`DeadlineReached`.
- ``python -m helpers.train --config small --out runs/x`` trains on tiny Shakespeare; under
  ``torchrun --nproc_per_node=K`` it trains with DistributedDataParallel.

:mod:`helpers.ensemble` trains several independent models at once with the same pieces.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from helpers._validate import validate_int
from helpers.atomic import atomic_write
from helpers.gpt import GPT, GPTConfig, get_config

__all__ = ["History", "DeadlineReached", "get_batch", "lr_at", "estimate_loss", "train",
           "default_out_dir", "is_trained", "CHECKPOINT", "main"]

CHECKPOINT = "ckpt.pt"


@dataclass
class History:
    """Loss curves of a run: evaluation points, their losses, speed and best val loss."""

    iterations: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    tokens_per_second: float = 0.0  # training tokens per second of training steps (this model)
    wall_time: float = 0.0  # seconds spent training and evaluating, summed over resumed runs
    best_val_loss: float = math.inf
    elapsed: list[float] = field(default_factory=list)  # training seconds (no evaluation)
    # before each evaluation point, summed over resumed runs
    eval_seconds: float = 0.0  # seconds spent evaluating
    members: int = 1  # models trained together (helpers.ensemble), sharing these timings

    def time_to_loss(self, target: float) -> float | None:
        """Training seconds (evaluation excluded) until the validation loss first reached
        ``target`` at an evaluation point, or None if it never did."""
        for loss, seconds in zip(self.val_loss, self.elapsed, strict=False):
            if loss <= target:
                return seconds
        return None


class DeadlineReached(RuntimeError):
    """Training stopped at its deadline after writing a checkpoint; call again to resume."""


def get_batch(tokens, block_size: int, batch_size: int, generator: torch.Generator,
              device=None):
    """``(x, y)`` of shape ``(batch_size, block_size)``: random windows and their next tokens.

    ``tokens`` is a 1-D LongTensor, ideally already on ``device``; ``generator`` (on the CPU)
    picks the window starts, so batches depend only on its seed.
    """
    if not isinstance(tokens, torch.Tensor) or tokens.ndim != 1:
        raise ValueError("tokens must be a 1-D torch tensor of token ids; convert with "
                         "torch.as_tensor(ids, dtype=torch.long).")
    if len(tokens) <= block_size:
        raise ValueError(f"Need more than block_size={block_size} tokens to draw a window, got "
                         f"{len(tokens)}; use more data or a smaller block_size.")
    ix = torch.randint(len(tokens) - block_size, (batch_size,), generator=generator)
    ix = ix.to(tokens.device)
    offsets = torch.arange(block_size, device=tokens.device)
    x = tokens[ix[:, None] + offsets]
    y = tokens[ix[:, None] + offsets + 1]
    if device is not None:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    return x, y


def lr_at(it: int, config: GPTConfig) -> float:
    """Learning rate at iteration ``it``: linear warm-up, then cosine decay to ``min_lr``."""
    if it < config.warmup_iters:
        return config.learning_rate * (it + 1) / (config.warmup_iters + 1)
    if it >= config.max_iters:
        return config.min_lr
    progress = (it - config.warmup_iters) / max(1, config.max_iters - config.warmup_iters)
    coeff = 0.5 * (1.0 + math.cos(math.pi * progress))
    return config.min_lr + coeff * (config.learning_rate - config.min_lr)


@torch.no_grad()
def estimate_loss(model, splits: dict, config: GPTConfig, generator: torch.Generator,
                  autocast=contextlib.nullcontext) -> dict:
    """Mean loss over ``config.eval_iters`` random batches of each split in ``splits``."""
    was_training = model.training
    model.eval()
    out = {}
    for name, tokens in splits.items():
        losses = torch.zeros(config.eval_iters)
        for k in range(config.eval_iters):
            x, y = get_batch(tokens, config.block_size, config.batch_size, generator)
            with autocast():
                _, loss = model(x, y)
            losses[k] = loss.item()
        out[name] = losses.mean().item()
    model.train(was_training)
    return out


def make_optimizer(params, decays, config: GPTConfig, device: str,
                   fused: bool | None = None) -> torch.optim.AdamW:
    """AdamW over ``params``; ``decays[i]`` says whether weight decay applies to ``params[i]``
    (nanoGPT decays matrices, not gains and biases). ``fused`` (default: on CUDA) uses the
    fused kernel, which also exists on the CPU."""
    params, decays = list(params), list(decays)
    groups = [
        {"params": [p for p, d in zip(params, decays, strict=True) if d],
         "weight_decay": config.weight_decay},
        {"params": [p for p, d in zip(params, decays, strict=True) if not d],
         "weight_decay": 0.0},
    ]
    if fused is None:
        fused = device == "cuda"
    extra = {"fused": True} if fused else {}
    return torch.optim.AdamW(groups, lr=config.learning_rate,
                             betas=(config.beta1, config.beta2), **extra)


def mixed_precision(device: str, precision: str | None = None):
    """``(precision, autocast factory, GradScaler or None)``: :func:`helpers.runtime.
    pick_precision` decides (bf16 or fp16 on CUDA, fp32 elsewhere unless asked); fp16 scales
    the loss."""
    from helpers.runtime import autocast, pick_precision

    precision = pick_precision(device, precision)
    scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
    return precision, (lambda: autocast(device, precision)), scaler


def maybe_compile(fn, compile: bool | None, device: str):
    """``torch.compile(fn)`` when ``compile`` (default: on CUDA), else ``fn``. A graph that
    fails to compile runs eagerly instead of stopping the run (dynamo's ``suppress_errors``)."""
    if compile is None:
        compile = device == "cuda"
    if not compile:
        return fn
    if device != "cuda":
        raise ValueError("compile=True is only supported on CUDA here; pass compile=None.")
    import torch._dynamo

    torch._dynamo.config.suppress_errors = True
    return torch.compile(fn)


def update(optimizer, loss, lr: float, scaler, clip=None) -> None:
    """One AdamW step at learning rate ``lr`` from ``loss``: backpropagate (scaled under fp16),
    call ``clip()`` on the unscaled gradients (``None``: no clipping), then step."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
    else:
        loss.backward()
    if clip is not None:
        clip()
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()


def synchronize(device: str) -> None:
    """Wait for the GPU, so that a host clock measures finished work."""
    if device == "cuda":
        torch.cuda.synchronize()


def rng_state(generators: list[torch.Generator]) -> dict:
    np_state = np.random.get_state(legacy=False)  # noqa: NPY002 (legacy global state)
    np_state["state"]["key"] = torch.from_numpy(np_state["state"]["key"].astype(np.int64))
    state = {"torch": torch.get_rng_state(), "batch": [g.get_state() for g in generators],
             "numpy": np_state, "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict, generators: list[torch.Generator]) -> None:
    torch.set_rng_state(state["torch"])
    for g, g_state in zip(generators, state["batch"], strict=True):
        g.set_state(g_state)
    np_state = dict(state["numpy"])
    np_state["state"] = dict(np_state["state"])
    np_state["state"]["key"] = np_state["state"]["key"].numpy().astype(np.uint32)
    np.random.set_state(np_state)  # noqa: NPY002
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def load_checkpoint(path: Path, config: GPTConfig) -> dict:
    """The checkpoint at ``path``, refused with a fix-it message if ``config`` differs."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    saved = ckpt["config"]
    diff = {k: (saved.get(k), v) for k, v in config.to_dict().items() if saved.get(k) != v}
    if diff:
        details = ", ".join(f"{k}: checkpoint {a!r} vs now {b!r}" for k, (a, b) in diff.items())
        raise ValueError(f"The checkpoint {path} was written with a different config ({details}); "
                         "use a fresh out_dir, or delete the checkpoint to start over.")
    return ckpt


def default_out_dir(config: GPTConfig, seed: int = 0, name: str = "train") -> Path:
    """A run folder for training ``config`` from ``seed`` on tiny Shakespeare, named after
    both and the code (:func:`helpers.runtime.run_folder`): a chapter re-run, or a resumed
    Colab session with ``BOOK_RUNS`` on Drive, finds its checkpoint there."""
    from helpers.runtime import run_folder

    return run_folder(name, {"config": config.to_dict(), "seed": seed}, ("gpt", "train", "data"))


def is_trained(out_dir, config: GPTConfig) -> bool:
    """Whether ``out_dir`` holds a checkpoint of ``config`` that has finished training."""
    path = Path(out_dir) / CHECKPOINT
    if not path.is_file():
        return False
    return load_checkpoint(path, config)["step"] >= config.max_iters


def save_trained(out_dir, model_state: dict, history: History, config: GPTConfig) -> None:
    """Write the checkpoint of a finished training (no optimizer state: nothing is left to
    resume), so that :func:`train` on ``out_dir`` returns the model at once."""
    state = {"model": model_state, "step": config.max_iters, "config": config.to_dict(),
             "history": asdict(history)}
    atomic_write(Path(out_dir) / CHECKPOINT, lambda f: torch.save(state, f))


def _dist_info() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def train(config: GPTConfig, train_tokens, val_tokens, device: str | None = None, seed: int = 0,
          out_dir=None, progress: bool = True, compile: bool | None = None,
          stop_after: int | None = None, batch_streams: int = 1, precision: str | None = None,
          fused: bool | None = None, deadline: float | None = None):
    """Train ``GPT(config)``; return ``(History, model)``.

    With ``out_dir`` a checkpoint is written every ``eval_interval`` iterations and at the end,
    and a folder that already holds one is resumed from it. ``stop_after`` stops (with a
    checkpoint) after that many iterations in total, to simulate an interruption; ``deadline``
    (a ``time.monotonic()`` value) writes a checkpoint and raises :class:`DeadlineReached` once
    passed. ``precision`` (``bf16``, ``fp16``, ``fp32``; default from the device), ``fused``
    AdamW and ``compile`` default to the fast choices on CUDA and to plain fp32 on the CPU.
    Under an initialised ``torch.distributed`` process group it trains with DDP: each rank draws
    ``batch_size // world_size`` windows per step from the seed ``seed + rank``, and rank 0
    writes. A single process with ``batch_streams=K`` draws the same batches as K DDP ranks
    (``batch_size // K`` windows from each seed ``seed + s``), so the two can be compared.
    """
    from helpers.runtime import pick_device, seed_everything

    if not isinstance(config, GPTConfig):
        raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}; use "
                        "helpers.gpt.get_config('small').")
    device = pick_device(device)
    rank, world = _dist_info()
    batch_streams = validate_int(batch_streams, "batch_streams", 1)
    if world > 1 and batch_streams != 1:
        raise ValueError("batch_streams emulates DDP ranks in one process; leave it at 1 "
                         "under torch.distributed.")
    parts = max(world, batch_streams)
    if config.batch_size % parts:
        raise ValueError(f"batch_size={config.batch_size} must be divisible by the number of "
                         f"processes or batch streams ({parts}); pick e.g. batch_size="
                         f"{parts * max(1, config.batch_size // parts)}.")
    local_batch = config.batch_size // parts

    seed_everything(seed)
    model = GPT(config).to(device)
    if world > 1:
        torch.manual_seed(seed + rank)  # same initial weights, different dropout per rank
    optimizer = make_optimizer(model.parameters(), [p.dim() >= 2 for p in model.parameters()],
                               config, device, fused)
    _, autocast, scaler = mixed_precision(device, precision)
    batch_gens = [torch.Generator().manual_seed(seed + rank + s) for s in range(batch_streams)]
    splits = {name: torch.as_tensor(np.asarray(t), dtype=torch.long).to(device)
              for name, t in (("train", train_tokens), ("val", val_tokens))}
    history = History()
    step = 0

    path = Path(out_dir) / CHECKPOINT if out_dir is not None else None
    if path is not None and path.exists():
        ckpt = load_checkpoint(path, config)
        model.load_state_dict(ckpt["model"])
        history = History(**ckpt["history"])
        step = ckpt["step"]
        if "optimizer" in ckpt:  # absent once training has finished (save_trained)
            optimizer.load_state_dict(ckpt["optimizer"])
            if scaler is not None and ckpt.get("scaler"):
                scaler.load_state_dict(ckpt["scaler"])
            if len(ckpt["rng"]) != world:
                raise ValueError(f"The checkpoint {path} was written by {len(ckpt['rng'])} "
                                 f"process(es); resume it with the same number, not {world}.")
            set_rng_state(ckpt["rng"][rank], batch_gens)
    if world > 1:
        dist.barrier()  # every rank has read the checkpoint before rank 0 overwrites it

    raw_model = model
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[torch.cuda.current_device()] if device == "cuda" else None)
    fwd = maybe_compile(model, compile, device)
    clock = _Clock(device, history)

    def evaluate(it: int) -> None:
        with clock.evaluating():
            gen = torch.Generator().manual_seed(10_000_019 * (seed + 1) + it)  # same on all ranks
            losses = estimate_loss(raw_model, splits, config, gen, autocast)
        history.iterations.append(it)
        history.train_loss.append(losses["train"])
        history.val_loss.append(losses["val"])
        history.best_val_loss = min(history.best_val_loss, losses["val"])

    def save() -> None:
        rngs = [rng_state(batch_gens)]
        if world > 1:
            rngs = [None] * world
            dist.all_gather_object(rngs, rng_state(batch_gens))
        if rank == 0:
            state = {"model": raw_model.state_dict(), "optimizer": optimizer.state_dict(),
                     "scaler": scaler.state_dict() if scaler is not None else None,
                     "step": step, "config": config.to_dict(), "history": asdict(history),
                     "rng": rngs}
            atomic_write(path, lambda f: torch.save(state, f))

    if step == 0 and not history.iterations:
        evaluate(0)
    last = config.max_iters if stop_after is None else min(config.max_iters, stop_after)
    def clip_gradients() -> None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)

    bar = tqdm(total=config.max_iters, initial=step, disable=not progress or rank != 0,
               desc="train")
    model.train()
    tokens_seen, loss = 0, None
    while step < last:
        if deadline is not None and time.monotonic() >= deadline:
            clock.stop()
            if path is not None:
                save()
            bar.close()
            raise DeadlineReached(f"stopped at iteration {step} of {config.max_iters} at the "
                                  f"deadline; call again with out_dir={out_dir} to resume.")
        batches = [get_batch(splits["train"], config.block_size, local_batch, g)
                   for g in batch_gens]
        x, y = (torch.cat(t) for t in zip(*batches, strict=True))
        with autocast():
            _, loss = fwd(x, y)
        update(optimizer, loss, lr_at(step, config), scaler,
               clip_gradients if config.grad_clip > 0 else None)
        step += 1
        tokens_seen += config.batch_size * config.block_size
        bar.update(1)
        if step % config.eval_interval == 0 or step == config.max_iters:
            evaluate(step)
            bar.set_postfix(loss=f"{loss.item():.3f}", val=f"{history.val_loss[-1]:.3f}")
            if path is not None:
                save()
        elif step % 10 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    if tokens_seen:  # (a finished checkpoint resumes to itself, timings untouched)
        clock.stop()
        history.tokens_per_second = tokens_seen / max(clock.training_seconds, 1e-9)
        if path is not None:
            save()  # the exact state where this call stopped, with its timing
    return history, raw_model


class _Clock:
    """Splits the wall time of a training call into training and evaluation and adds both to
    a :class:`History` (its ``wall_time``, ``eval_seconds`` and the ``elapsed`` training time
    recorded at each evaluation point), across resumed calls."""

    def __init__(self, device: str, history: History):
        self.device, self.history = device, history
        self.base = history.wall_time - history.eval_seconds  # training seconds before this call
        self.start = self.mark = time.perf_counter()
        self.training_seconds = 0.0  # in this call
        self.stopped = False

    @contextlib.contextmanager
    def evaluating(self):
        synchronize(self.device)
        t0 = time.perf_counter()
        self.training_seconds += t0 - self.mark
        self.history.elapsed.append(self.base + self.training_seconds)
        yield
        synchronize(self.device)
        self.mark = time.perf_counter()
        self.history.eval_seconds += self.mark - t0

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        synchronize(self.device)
        now = time.perf_counter()
        self.training_seconds += now - self.mark
        self.history.wall_time = (self.base + self.training_seconds
                                  + self.history.eval_seconds)


def main(argv=None) -> None:
    """Command line: train on tiny Shakespeare; DDP when launched by ``torchrun``."""
    from helpers.data import CharTokenizer, load_tiny_shakespeare, train_val_split

    parser = argparse.ArgumentParser(description="Train the character-level GPT on tiny "
                                                 "Shakespeare (use torchrun for DDP).")
    parser.add_argument("--config", default="small", help="paper, nanogpt or small")
    parser.add_argument("--out", required=True, help="folder for the checkpoint (resumed)")
    parser.add_argument("--max-iters", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--eval-interval", type=int, default=None)
    parser.add_argument("--eval-iters", type=int, default=None)
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: best)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    overrides = {name: value for name, value in (
        ("max_iters", args.max_iters), ("batch_size", args.batch_size),
        ("eval_interval", args.eval_interval), ("eval_iters", args.eval_iters))
        if value is not None}
    text = load_tiny_shakespeare()
    tok = CharTokenizer(text)
    train_ids, val_ids = train_val_split(tok.encode(text), 0.9)
    config = get_config(args.config, vocab_size=tok.vocab_size, **overrides)

    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    device = args.device
    if distributed:
        from helpers.runtime import pick_device
        device = pick_device(device)
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if device == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend="nccl" if device == "cuda" else "gloo")
    try:
        history, _ = train(config, train_ids, val_ids, device=device, seed=args.seed,
                           out_dir=args.out, progress=not args.no_progress,
                           compile=False if args.no_compile else None)
        if _dist_info()[0] == 0:
            print(f"step {history.iterations[-1]}: train loss {history.train_loss[-1]:.4f}, "
                  f"val loss {history.val_loss[-1]:.4f} (best {history.best_val_loss:.4f}), "
                  f"{history.tokens_per_second:,.0f} tokens/s", flush=True)
    finally:
        if distributed:
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
