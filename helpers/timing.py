"""How long the transformer chapters take: FLOP counts, speeds, and the estimate printed first.

A chapter's work is a list of :class:`Stage` s: trainings (their floating-point operations,
evaluation included) and sampling (its sequential steps and operations).
:func:`chapter14_stages` and :func:`experiment_stages` list them for a configuration, and
:func:`estimate` turns them into seconds at a :class:`Speed`:

- :func:`measure` times the first iterations of the real training code on this machine (and
  a few sampling steps), so a chapter can print its expected time before a long run;
- :data:`GPUS` holds *assumed* speeds of a free Colab T4 and of an H200, from which the book
  states expected times on hardware it was not built on. They are estimates until measured.

Training operations are counted as nanoGPT and the PaLM paper do: ``6 N + 12 L C T`` per token
for ``N`` non-embedding parameters, ``L`` layers, width ``C`` and context ``T`` (forward and
backward); evaluation and sampling run the forward pass only, a third of that.
"""

from __future__ import annotations

import math
import textwrap
import time
from dataclasses import dataclass, field, replace

from helpers.gpt import GPTConfig, parameter_count_formula

__all__ = ["Stage", "Speed", "Estimate", "GPUS", "flops_per_token", "training_flops",
           "sampling_work", "chapter14_stages", "experiment_stages", "estimate", "measure",
           "duration", "scales_table"]


@dataclass(frozen=True)
class Stage:
    """One piece of a chapter's work: training FLOPs (of one model, or of ``members`` models
    trained together) and sampling steps and FLOPs."""

    name: str
    train_flops: float = 0.0
    members: int = 1
    sample_steps: int = 0
    sample_flops: float = 0.0


@dataclass(frozen=True)
class Speed:
    """How fast a machine runs the chapters' work.

    ``train_flops`` is the training throughput of one model in FLOP/s, ``ensemble_flops`` that
    of an ensemble (all members together; ensembling raises it on a GPU), ``step_seconds`` the
    floor of one sampling step of a batch of streams (kernel launches and Python, whatever the
    batch). ``measured`` tells a measurement on this machine from an assumption.
    """

    label: str
    train_flops: float
    ensemble_flops: float
    step_seconds: float
    measured: bool = False


# Assumed speeds (estimates until measured). T4: 65 TFLOP/s fp16 tensor-core peak, of which a
# 6M-parameter model with 256-wide matrices is assumed to reach 20% (13 TFLOP/s), with no gain
# from ensembling (one paper-size model already fills it). H200: 790 TFLOP/s measured for large
# bf16 matrix products on this project's machines; the same model is assumed to reach 12%
# alone (95 TFLOP/s) and 25% in an ensemble, which gives it larger matrix products. Sampling
# steps: about 150 small kernels each, assumed 1.5 ms (T4) and 1.0 ms (H200) of launch and
# Python overhead per step.
GPUS: dict[str, Speed] = {
    "t4": Speed("NVIDIA T4, 16 GB (assumed speed)", 13e12, 13e12, 1.5e-3),
    "h200": Speed("NVIDIA H200 (assumed speed)", 95e12, 200e12, 1.0e-3),
}


def flops_per_token(config: GPTConfig) -> float:
    """Training FLOPs per token of ``GPT(config)``: ``6 N + 12 L C T`` (forward and backward)."""
    n = parameter_count_formula(config, non_embedding=True)
    return 6 * n + 12 * config.n_layer * config.n_embd * config.block_size


def training_flops(config: GPTConfig) -> float:
    """FLOPs of one training run of ``config``: its steps and its evaluations (every
    ``eval_interval`` steps, at the start and at the end; each ``eval_iters`` forward batches
    of both splits)."""
    tokens = config.batch_size * config.block_size
    evals = len(set(range(0, config.max_iters, config.eval_interval)) | {config.max_iters})
    eval_tokens = evals * 2 * config.eval_iters * tokens
    return flops_per_token(config) * (config.max_iters * tokens + eval_tokens / 3)


def sampling_work(config: GPTConfig, chars: int, streams: int) -> tuple[int, float]:
    """``(steps, FLOPs)`` of sampling ``chars`` characters in ``streams`` parallel streams with
    the KV cache: one step per character of a stream, and a full forward of the ``block // 2``
    kept tokens each time the window slides (every ``block - block // 2`` steps)."""
    streams = min(streams, chars)
    steps = math.ceil(chars / streams)
    keep = config.block_size // 2
    refills = steps // (config.block_size - keep)
    forward = flops_per_token(config) / 3
    return steps + refills, forward * streams * (steps + refills * keep)


def chapter14_stages(config: GPTConfig) -> list[Stage]:
    """Chapter 14: one training of ``config``, then two 400-character samples."""
    steps, flops = sampling_work(config, 800, 1)
    return [Stage("training", training_flops(config)),
            Stage("sampling", sample_steps=steps, sample_flops=flops)]


def experiment_stages(config, settings=None, ensemble: bool = True) -> list[Stage]:
    """The recursive experiment of :mod:`helpers.experiments` (an ``ExperimentConfig``) as
    stages: the ground truth and its corpus, generation 1 and its replica, and each later
    generation of ``settings`` (default: all of the configuration's), each trained together
    when ``ensemble`` and each sampled."""
    from helpers.experiments import SETTINGS

    model, chars = config.model, config.corpus_chars
    settings = tuple(config.settings if settings is None else settings)
    one = training_flops(model)
    steps, flops = sampling_work(model, chars, config.sample_streams)
    decodings = len({(SETTINGS[s].temperature, SETTINGS[s].top_k) for s in settings})
    k = len(settings)
    stages = [Stage("ground truth", one, 1, steps, flops),
              Stage("generation 1 and replica", 2 * one, 2 if ensemble else 1,
                    decodings * steps, decodings * flops)]
    for m in range(2, config.generations + 1):
        stages.append(Stage(f"generation {m}", k * one, k if ensemble else 1, k * steps,
                            k * flops))
    return stages


@dataclass
class Estimate:
    """Expected seconds of each stage of some work at one :class:`Speed`."""

    speed: Speed
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    def describe(self, what: str = "this chapter") -> str:
        kind = "measured on this machine" if self.speed.measured else "an estimate"
        parts = ", ".join(f"{name} {duration(s)}" for name, s in self.seconds.items())
        return textwrap.fill(f"Expected time of {what} on {self.speed.label}: about "
                             f"{duration(self.total)} ({kind}; {parts}).", width=76)


def duration(seconds: float) -> str:
    """``seconds`` in the unit a reader wants: seconds, minutes or hours."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def estimate(stages: list[Stage], speed: Speed) -> Estimate:
    """Seconds of each stage at ``speed``; stages of the same name are added up."""
    out = Estimate(speed)
    for st in stages:
        rate = speed.ensemble_flops if st.members > 1 else speed.train_flops
        seconds = (st.train_flops / rate + st.sample_steps * speed.step_seconds
                   + st.sample_flops / speed.train_flops)
        out.seconds[st.name] = out.seconds.get(st.name, 0.0) + seconds
    return out


def measure(config: GPTConfig, device: str, members: int = 1, streams: int = 64,
            warmup: int = 3, iters: int = 9, **train_options) -> Speed:
    """Time the first iterations of the real training code on ``device`` and return the
    :class:`Speed` they show.

    Trains a fresh ``GPT(config)`` (or an ensemble of ``members``) on random token ids for
    ``warmup`` iterations (which include compiling on a GPU) and then ``iters`` more, timing
    the latter; then times sampling steps of ``streams`` streams. ``train_options`` go to the
    training (``precision``, ``fused``, ``compile``). A few seconds at a CPU scale; on a GPU
    mostly compilation, which the real run then reuses.
    """
    import torch

    from helpers.ensemble import train_ensemble
    from helpers.generation import generate
    from helpers.train import synchronize, train

    if iters % warmup:
        raise ValueError(f"iters ({iters}) must be a multiple of warmup ({warmup}).")
    probe = replace(config, max_iters=warmup + iters, warmup_iters=0, eval_interval=warmup,
                    eval_iters=1)
    gen = torch.Generator().manual_seed(0)
    tokens = torch.randint(config.vocab_size, (probe.block_size * 64,), generator=gen)
    per_iter_flops = flops_per_token(config) * config.batch_size * config.block_size

    def rate(history) -> float:  # FLOP/s of the timed iterations (evaluations excluded)
        return per_iter_flops * iters / max(history.elapsed[-1] - history.elapsed[1], 1e-9)

    history, model = train(probe, tokens, tokens, device=device, progress=False,
                           **train_options)
    single = rate(history)
    together = single
    if members > 1:
        histories, _ = train_ensemble(probe, [tokens] * members, tokens, list(range(members)),
                                      device=device, progress=False, **train_options)
        together = members * rate(histories[0])
    prompt = torch.zeros(1, dtype=torch.long)
    steps = config.block_size  # two slides of the window at the default keep
    precision = train_options.get("precision")
    generate(model, prompt, streams, 4, seed=0, precision=precision)  # warm-up
    synchronize(device)
    t0 = time.perf_counter()
    generate(model, prompt, streams, steps, seed=0, precision=precision)
    synchronize(device)
    per_step = (time.perf_counter() - t0) / steps
    _, flops = sampling_work(config, streams * steps, streams)
    step_seconds = max(per_step - flops / steps / single, 0.0)
    name = device
    if device == "cuda":
        name = f"cuda ({torch.cuda.get_device_name()})"
    return Speed(f"this machine, {name}", single, together, step_seconds, measured=True)


def scales_table(chapter: int) -> str:
    """A Markdown table of what Chapter 14 or 15 runs at each scale of
    :data:`helpers.runtime.SCALES` and its expected time on a T4 and on an H200 (estimates at
    the assumed speeds of :data:`GPUS`). Shown in both chapters and on the instructor page."""
    from helpers import experiments, gpt
    from helpers.runtime import SCALES

    if chapter not in (14, 15):
        raise ValueError(f"chapter must be 14 or 15, got {chapter!r}.")
    gpus = ("t4", "h200")
    if chapter == 14:
        rows = ["| scale | model | parameters | iterations | T4 (estimate) | H200 (estimate) |",
                "| --- | --- | --- | --- | --- | --- |"]
        for scale in SCALES:
            cfg = gpt.config_for_scale(scale)
            t4, h200 = (duration(estimate(chapter14_stages(cfg), GPUS[g]).total) for g in gpus)
            rows.append(f"| `{scale}` | `{gpt.SCALE_CONFIGS[scale]}` | "
                        f"{gpt.parameter_count_formula(cfg):,} | {cfg.max_iters:,} | {t4} | "
                        f"{h200} |")
        return "\n".join(rows)
    rows = ["| scale | layers × width, context | iterations | corpus | generations | "
            "T4 (estimate) | H200 (estimate) |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for scale in SCALES:
        cfg = experiments.experiment_config(scale)
        m = cfg.model
        cells = []
        for g in gpus:
            whole, figure5 = (duration(estimate(experiment_stages(cfg, settings), GPUS[g]).total)
                              for settings in (cfg.settings, experiments.PAPER_SETTINGS))
            cells.append(f"{whole} (Figure 5: {figure5})")
        rows.append(f"| `{scale}` | {m.n_layer} × {m.n_embd}, {m.block_size} | "
                    f"{m.max_iters:,} | {cfg.corpus_chars:,} | {cfg.generations} | "
                    f"{cells[0]} | {cells[1]} |")
    return "\n".join(rows)
