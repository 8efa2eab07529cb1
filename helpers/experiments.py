"""Recursive training of the character-level GPT: the paper's Section 4.1 (Figure 5) and beyond.

The experiment, stage by stage (:func:`run`):

1. **Ground truth** ``p^(0)``: a GPT trained on the tiny Shakespeare training split.
2. **The real corpus**: ``corpus_chars`` characters sampled once from ``p^(0)`` (temperature 1,
   no truncation) and reused by every generation, as the fixed real data of the theory; and
   ``n_contexts`` windows of it, the contexts at which next-token distributions are compared.
3. **Generation 1**, shared by every setting: trained on the real corpus. A replica trained with
   another seed on the same corpus measures the training-noise floor of the drift.
4. **Generation m >= 2** of each :data:`SETTINGS` entry: trained on a corpus of the same size
   mixing the real corpus with text sampled from generation ``m - 1`` (or, for ``accumulate``,
   on the real corpus plus the samples of every earlier generation). Every generation uses the
   same architecture and hyperparameters.
5. **Metrics** of every generation: the validation-loss curve on the real validation split, the
   drift ``||p^(m) - p^(1)||_1`` and ``||p^(m) - p^(0)||_1`` and ``sigma_m = sum_k p_k^2`` over
   the contexts (mean, spread and standard error), and the unigram entropy, distinct character
   n-grams and a few lines of a ``corpus_chars`` sample of the generation.

The models of one stage that are independent (generation 1 and its replica; generation ``m`` of
every setting) are trained together as an ensemble (:mod:`helpers.ensemble`) on a large GPU,
and one after the other elsewhere (:func:`default_ensemble`).

Everything is written to a run folder, one sub-folder per generation, each file atomically; a
generation is finished when its ``metrics.json`` exists. Calling :func:`run` again (after a
crash or a Colab disconnect) skips finished generations and resumes an unfinished training from
its last checkpoint, so nothing finished is lost or repeated. ``python -m helpers.experiments``
is the command-line entry point; :func:`summarize` gathers a run into one JSON-ready dict and
:func:`publish` commits it to ``results/`` with its provenance.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import time
import zlib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from helpers import results
from helpers._validate import validate_int, validate_seed
from helpers.atomic import atomic_write
from helpers.gpt import GPTConfig, get_config
from helpers.runtime import (
    FULL_SCALE_MIN_GIB,
    code_fingerprint,
    gpu_memory_gib,
    pick_device,
    pick_precision,
    pick_scale,
    run_folder,
)

__all__ = ["Setting", "SETTINGS", "PAPER_SETTINGS", "ExperimentConfig", "SCALES",
           "experiment_config", "default_run_dir", "default_ensemble", "run", "summarize",
           "publish",
           "per_context",
           "l1_distances", "text_statistics", "stage_timings"]

METRICS = "metrics.json"
TEST_SCALE = "tiny"  # the experiment's scale for tests and dry runs, not one for readers
T4_ITERS = 400


@dataclass(frozen=True)
class Setting:
    """How the training corpus of generation ``m >= 2`` is made.

    ``synthetic_share`` of the corpus is sampled from generation ``m - 1`` (the rest is the head
    of the fixed real corpus); with ``accumulate`` the corpus is the real corpus followed by the
    samples of generations ``1..m-1``. Samples use ``temperature`` and ``top_k``.
    """

    label: str
    synthetic_share: float = 1.0
    accumulate: bool = False
    temperature: float = 1.0
    top_k: int | None = None


SETTINGS: dict[str, Setting] = {
    "synthetic": Setting("synthetic"),
    "mix-50": Setting("synthetic 50% - real 50%", synthetic_share=0.5),
    "mix-20": Setting("synthetic 20% - real 80%", synthetic_share=0.2),
    "accumulate": Setting("accumulate: real + every synthetic sample", accumulate=True),
    "temperature-0.8": Setting("synthetic, temperature 0.8", temperature=0.8),
    "top-k-10": Setting("synthetic, top-k 10", top_k=10),
}
PAPER_SETTINGS = ("synthetic", "mix-50", "mix-20")


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that determines a recursive-training run (together with the code)."""

    model: GPTConfig
    generations: int = 10
    corpus_chars: int = 1_003_854  # the size of the training split, as the paper does not say
    n_contexts: int = 300
    sample_streams: int = 1024
    settings: tuple[str, ...] = tuple(SETTINGS)
    seed: int = 0
    ngram_orders: tuple[int, ...] = (1, 2, 3, 4, 6, 8)
    shown_chars: int = 300

    def __post_init__(self):
        if not isinstance(self.model, GPTConfig):
            raise TypeError("model must be a GPTConfig; use helpers.gpt.get_config('paper').")
        for name in ("generations", "corpus_chars", "n_contexts", "sample_streams",
                     "shown_chars"):
            validate_int(getattr(self, name), f"ExperimentConfig.{name}", 1)
        validate_seed(self.seed, "ExperimentConfig.seed")
        unknown = [s for s in self.settings if s not in SETTINGS]
        if unknown or not self.settings or len(set(self.settings)) != len(self.settings):
            raise ValueError(f"settings must be distinct names from {list(SETTINGS)}, got "
                             f"{list(self.settings)}.")
        if self.corpus_chars <= 2 * (self.model.block_size + 1):
            raise ValueError(f"corpus_chars={self.corpus_chars} is too small to train a model "
                             f"with block_size={self.model.block_size}; use more characters.")
        for k in self.ngram_orders:
            validate_int(k, "every entry of ExperimentConfig.ngram_orders", 1, 12)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["settings"], d["ngram_orders"] = list(self.settings), list(self.ngram_orders)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ExperimentConfig:
        d = dict(d)
        d["model"] = GPTConfig(**d["model"])
        d["settings"], d["ngram_orders"] = tuple(d["settings"]), tuple(d["ngram_orders"])
        return cls(**d)


def _scales() -> dict[str, ExperimentConfig]:
    return {
        # The paper's model and schedule (Table 1, 2000 iterations); evaluation every 100
        # iterations on 20 batches gives the validation curves of Figure 5.
        "full": ExperimentConfig(get_config("paper", eval_interval=100, eval_iters=20)),
        # A free Colab T4: the paper's model, a fifth of its iterations (the same number of
        # passes over corpora a fifth the size), 6 generations: about 27 minutes by
        # helpers.timing's estimate (tests/test_timing.py keeps it under 30).
        "t4": ExperimentConfig(
            get_config("paper", max_iters=T4_ITERS, warmup_iters=25, eval_interval=50,
                       eval_iters=10),
            generations=6, corpus_chars=200_000, sample_streams=512),
        # Two CPU cores: a 0.1M-parameter model, 5 generations of 40,000 characters.
        "cpu": ExperimentConfig(
            get_config("small", block_size=32, n_layer=2, n_head=2, n_embd=64, batch_size=32,
                       max_iters=200, warmup_iters=20, learning_rate=3e-3, min_lr=3e-4,
                       eval_interval=20, eval_iters=6),
            generations=5, corpus_chars=40_000, n_contexts=300, sample_streams=256),
        # For tests and the dry run of scripts/gpu_results.sh: seconds per run.
        TEST_SCALE: ExperimentConfig(
            get_config("small", block_size=16, n_layer=1, n_head=2, n_embd=32, batch_size=16,
                       max_iters=20, warmup_iters=2, eval_interval=10, eval_iters=2),
            generations=3, corpus_chars=4_000, n_contexts=20, sample_streams=32,
            settings=("synthetic", "mix-20", "accumulate", "top-k-10")),
    }


SCALES = tuple(_scales())


def experiment_config(scale: str, **overrides) -> ExperimentConfig:
    """The experiment at a scale of :data:`helpers.runtime.SCALES` (or ``tiny``, for tests),
    with fields replaced by ``overrides``."""
    presets = _scales()
    if scale not in presets:
        raise ValueError(f"Unknown experiment scale {scale!r}; choose one of {list(presets)}.")
    valid = {f.name for f in fields(ExperimentConfig)}
    unknown = sorted(set(overrides) - valid)
    if unknown:
        raise TypeError(f"Unknown ExperimentConfig field(s) {unknown}; valid: {sorted(valid)}.")
    if "settings" in overrides:
        overrides["settings"] = tuple(overrides["settings"])
    return replace(presets[scale], **overrides)


# the modules whose code determines the results
CODE = ("experiments", "gpt", "train", "ensemble", "generation", "decoding", "data")


# How far a run goes, not what any of its stages computes: a run folder can be extended by a
# later call with more generations or other settings, which reuses every finished stage.
EXTENT = ("generations", "settings")


def _identity(config: ExperimentConfig) -> dict:
    """The fields that determine the result of every stage (all but :data:`EXTENT`)."""
    return {k: v for k, v in config.to_dict().items() if k not in EXTENT}


def default_run_dir(config: ExperimentConfig, name: str = "recursive") -> Path:
    """``<runs>/<name>-<hash>`` (:func:`helpers.runtime.run_folder`); the hash covers the
    configuration and the code, so a notebook re-run finds its finished generations, and a run
    with more generations or other settings (:data:`EXTENT`) extends the same folder."""
    return run_folder(name, _identity(config), CODE)


def _seed(seed: int, *parts) -> int:
    """A seed for one stage, derived from the run seed (same stage, same seed in every setting:
    the settings are compared with common random numbers)."""
    return zlib.crc32(repr((seed, *parts)).encode()) % 2**31


def _save_array(path: Path, array: np.ndarray) -> None:
    atomic_write(path, lambda f: np.save(f, array))


def _save_model(path: Path, model) -> None:
    import torch

    atomic_write(path, lambda f: torch.save(model.state_dict(), f))


def _load_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


# --------------------------------------------------------------------------- metrics


def l1_distances(p, q) -> np.ndarray:
    """Row-wise ``||p_j - q_j||_1`` of two ``(contexts, vocab)`` arrays of distributions."""
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if p.shape != q.shape or p.ndim != 2:
        raise ValueError(f"p and q must be (contexts, vocab) arrays of one shape, got {p.shape} "
                         f"and {q.shape}.")
    return np.abs(p - q).sum(axis=1)


def _spread(values: np.ndarray) -> dict:
    """Mean, spread and standard error over contexts, and the per-context values (rounded)."""
    v = np.asarray(values, dtype=float)
    sd = float(v.std(ddof=1)) if v.size > 1 else 0.0
    return {"mean": float(v.mean()), "std": sd, "se": sd / math.sqrt(v.size),
            "q10": float(np.quantile(v, 0.1)), "q90": float(np.quantile(v, 0.9)),
            "values": [round(float(x), 7) for x in v]}


def per_context(*records: dict, metric: str) -> tuple[np.ndarray, ...]:
    """The per-context values of ``metric`` (``drift_p1``, ``drift_p0``, ``sq_drift_p1`` or
    ``sigma``) in each generation record, one array per record. Records of one run share their
    contexts, so two of them are paired samples: compare them with
    ``helpers.agreement.exceeds(*per_context(a, b, metric=...), paired=True)``, whose standard
    error is that of the mean per-context difference (the finite number of contexts, given
    the trained models)."""
    try:
        out = tuple(np.asarray(r[metric]["values"], dtype=float) for r in records)
    except (KeyError, TypeError):
        raise KeyError(f"Every record needs per-context values of {metric!r}.") from None
    if len({x.shape for x in out}) > 1:
        raise ValueError(f"{metric}: the records hold {[x.size for x in out]} contexts; compare "
                         "records of the same run.")
    return out


def text_statistics(ids, orders=(1, 2, 3, 4, 6, 8), vocab: int = 65) -> dict:
    """Unigram entropy (nats) and the number of distinct character n-grams of a text.

    ``ids`` are token ids in ``[0, vocab)``; each n-gram is coded as one base-``vocab`` integer.
    """
    ids = np.asarray(ids, dtype=np.int64)
    if ids.ndim != 1 or ids.size == 0 or ids.min() < 0 or ids.max() >= vocab:
        raise ValueError(f"ids must be a non-empty 1-D array of ids in [0, {vocab}).")
    if vocab ** max(orders) >= 2**63:
        raise ValueError(f"n-grams of order {max(orders)} over {vocab} symbols overflow int64.")
    freq = np.bincount(ids, minlength=vocab) / ids.size
    nz = freq[freq > 0]
    distinct = {}
    for n in orders:
        if n > ids.size:
            distinct[str(n)] = 0
            continue
        code = np.zeros(ids.size - n + 1, dtype=np.int64)
        for k in range(n):
            code = code * vocab + ids[k:ids.size - n + 1 + k]
        distinct[str(n)] = int(np.unique(code).size)
    return {"unigram_entropy": float(-(nz * np.log(nz)).sum()), "distinct_ngrams": distinct,
            "chars": int(ids.size)}


# --------------------------------------------------------------------------- the run


@dataclass
class _Context:
    """What every stage of one run needs."""

    config: ExperimentConfig
    root: Path
    device: str
    tokenizer: object
    val_tokens: np.ndarray
    stamp: dict = field(default_factory=dict)
    ensemble: bool = False
    precision: str | None = None
    options: dict = field(default_factory=dict)  # compile, fused and deadline of trainings
    deadline: float | None = None

    def check_deadline(self) -> None:
        from helpers.train import DeadlineReached

        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise DeadlineReached(f"stopped at the deadline; run again on {self.root} to "
                                  "resume where it stopped.")


def _train(ctx: _Context, folder: Path, corpus: np.ndarray, seed: int):
    """Train one generation in ``folder`` (resuming its checkpoint; a finished one returns at
    once); return (history, model)."""
    from helpers.train import train

    return train(ctx.config.model, corpus, ctx.val_tokens, device=ctx.device, seed=seed,
                 out_dir=folder, progress=False, precision=ctx.precision,
                 deadline=ctx.deadline, **ctx.options)


def _train_together(ctx: _Context, stage: str, jobs: list[tuple[Path, np.ndarray, int]]) -> None:
    """Train the jobs ``(folder, corpus, seed)`` of one stage that are not finished yet, as one
    ensemble when ensembling is on, so that :func:`_train` then returns each model at once.
    One by one (ensembling off, or a single job), :func:`_train` trains them when asked."""
    from helpers.ensemble import train_ensemble
    from helpers.train import is_trained

    todo = [job for job in jobs if not (job[0] / METRICS).is_file()
            and not is_trained(job[0], ctx.config.model)]
    if not ctx.ensemble or len(todo) < 2:
        return
    folders = [folder for folder, _, _ in todo]
    seeds = [seed for _, _, seed in todo]
    members = "+".join(str(f.relative_to(ctx.root)) for f in folders)
    key = hashlib.sha256(f"{members} {seeds}".encode()).hexdigest()[:10]
    train_ensemble(ctx.config.model, [corpus for _, corpus, _ in todo], ctx.val_tokens, seeds,
                   device=ctx.device, out_dir=ctx.root / "ensembles" / f"{stage}-{key}",
                   member_dirs=folders, progress=False, precision=ctx.precision,
                   deadline=ctx.deadline, **ctx.options)


def _probs(ctx: _Context, model, contexts: np.ndarray) -> np.ndarray:
    from helpers.generation import next_token_distributions

    return next_token_distributions(model, contexts, precision=ctx.precision).numpy()


def _sample(ctx: _Context, model, setting: Setting, seed: int) -> tuple[np.ndarray, float]:
    """``corpus_chars`` sampled ids (streams start at a newline) and the seconds it took."""
    from helpers.generation import generate

    cfg = ctx.config
    streams = min(cfg.sample_streams, cfg.corpus_chars)
    length = math.ceil(cfg.corpus_chars / streams)
    start = time.perf_counter()
    ids = generate(model, ctx.tokenizer.encode("\n"), streams, length,
                   temperature=setting.temperature, top_k=setting.top_k, seed=seed,
                   precision=ctx.precision)
    ids = ids.reshape(-1)[:cfg.corpus_chars].cpu().numpy().astype(np.uint8)  # waits for the GPU
    return ids, time.perf_counter() - start


def _record(ctx: _Context, **entries) -> dict:
    return {**entries, **ctx.stamp}


def _finish(folder: Path, record: dict) -> dict:
    results.write_json(folder / METRICS, record)
    (folder / "ckpt.pt").unlink(missing_ok=True)  # the samples and probs are all later stages need
    return record


def _model_record(history) -> dict:
    h = asdict(history)
    return {"history": h, "final_val_loss": h["val_loss"][-1],
            "train_seconds": h["wall_time"], "tokens_per_second": h["tokens_per_second"]}


def _ground_truth(ctx: _Context, train_tokens: np.ndarray) -> None:
    """Stage 1 and 2: ``p^(0)``, the real corpus sampled from it, the contexts and ``p^(0)``
    at the contexts."""
    cfg, folder = ctx.config, ctx.root / "ground-truth"
    if (folder / METRICS).is_file():
        return
    history, model = _train(ctx, folder, train_tokens, _seed(cfg.seed, "ground-truth"))
    corpus, t_sample = _sample(ctx, model, Setting("ground truth"), _seed(cfg.seed, "corpus"))
    rng = np.random.default_rng(_seed(cfg.seed, "contexts"))
    T = cfg.model.block_size
    starts = rng.choice(corpus.size - T, size=cfg.n_contexts, replace=False)
    contexts = corpus[starts[:, None] + np.arange(T)].astype(np.int64)
    t0 = time.perf_counter()
    p0 = _probs(ctx, model, contexts)
    sigma = (p0**2).sum(axis=1)
    text = text_statistics(corpus, cfg.ngram_orders, cfg.model.vocab_size)
    real = text_statistics(train_tokens[:cfg.corpus_chars], cfg.ngram_orders,
                           cfg.model.vocab_size)
    t_metrics = time.perf_counter() - t0
    _save_array(folder / "real-corpus.npy", corpus)
    _save_array(folder / "contexts.npy", contexts)
    _save_array(folder / "probs.npy", p0)
    _save_model(folder / "model.pt", model)
    _finish(folder, _record(
        ctx, **_model_record(history), sigma=_spread(sigma), text=text,
        tiny_shakespeare_text=real, sample_text=ctx.tokenizer.decode(corpus[:cfg.shown_chars]),
        seeds={"train": _seed(cfg.seed, "ground-truth"), "corpus": _seed(cfg.seed, "corpus"),
               "contexts": _seed(cfg.seed, "contexts")},
        timings={"train_seconds": history.wall_time, "sample_seconds": t_sample,
                 "sample_chars": int(corpus.size), "metrics_seconds": t_metrics}))


def _load(folder: Path, name: str) -> np.ndarray:
    return np.load(folder / name)


def _generation_one(ctx: _Context) -> None:
    """Stage 3: generation 1 on the real corpus, and its replica (the noise floor)."""
    cfg = ctx.config
    gt = ctx.root / "ground-truth"
    corpus, p0 = _load(gt, "real-corpus.npy"), _load(gt, "probs.npy")
    contexts = _load(gt, "contexts.npy")
    jobs = [(ctx.root / name, corpus, seed) for name, seed in (
        ("generation-01", _seed(cfg.seed, "train", 1)),
        ("generation-01-replica", _seed(cfg.seed, "replica")))]
    _train_together(ctx, "generation-01", jobs)
    for folder, _, seed in jobs:
        name = folder.name
        if (folder / METRICS).is_file():
            continue
        ctx.check_deadline()
        history, model = _train(ctx, folder, corpus, seed)
        p = _probs(ctx, model, contexts)
        _save_array(folder / "probs.npy", p)
        extra = {}
        if name == "generation-01":
            _save_model(folder / "model.pt", model)  # later settings sample from it
        else:
            p1 = _load(ctx.root / "generation-01", "probs.npy")
            extra["drift_p1"] = _spread(l1_distances(p, p1))
            extra["sq_drift_p1"] = _spread(((p - p1) ** 2).sum(axis=1))
        _finish(folder, _record(ctx, **_model_record(history), seed=seed,
                                drift_p0=_spread(l1_distances(p, p0)),
                                sigma=_spread((p**2).sum(axis=1)), **extra))


def _gen_folder(root: Path, setting: str, m: int) -> Path:
    return root / setting / f"gen-{m:02d}"


def _corpus_for(ctx: _Context, name: str, m: int) -> tuple[np.ndarray, dict]:
    """The training corpus of generation ``m >= 2`` of setting ``name``, and its make-up."""
    setting, cfg = SETTINGS[name], ctx.config
    real = _load(ctx.root / "ground-truth", "real-corpus.npy")
    if setting.accumulate:
        parts = [real] + [_load(_gen_folder(ctx.root, name, t), "sample.npy")
                          for t in range(1, m)]
        return np.concatenate(parts), {"real_chars": int(real.size),
                                       "synthetic_chars": int(sum(p.size for p in parts[1:]))}
    n_syn = round(setting.synthetic_share * cfg.corpus_chars)
    synthetic = _load(_gen_folder(ctx.root, name, m - 1), "sample.npy")[:n_syn]
    corpus = np.concatenate([real[:cfg.corpus_chars - n_syn], synthetic])
    return corpus, {"real_chars": cfg.corpus_chars - n_syn, "synthetic_chars": n_syn}


def _same_first_sample(ctx: _Context, name: str) -> np.ndarray | None:
    """The finished generation-1 sample of another setting that decodes like ``name``."""
    mine = SETTINGS[name]
    for other in ctx.config.settings:
        theirs = SETTINGS[other]
        folder = _gen_folder(ctx.root, other, 1)
        if other != name and (theirs.temperature, theirs.top_k) == (mine.temperature, mine.top_k) \
                and (folder / METRICS).is_file():
            return _load(folder, "sample.npy")
    return None


def _generation(ctx: _Context, name: str, m: int) -> None:
    """Stage 4 and 5 for generation ``m`` of setting ``name`` (generation 1: its sample only)."""
    import torch

    from helpers.gpt import GPT

    cfg, setting = ctx.config, SETTINGS[name]
    folder = _gen_folder(ctx.root, name, m)
    if (folder / METRICS).is_file():
        return
    gt = ctx.root / "ground-truth"
    p0, contexts = _load(gt, "probs.npy"), _load(gt, "contexts.npy")
    p1 = _load(ctx.root / "generation-01", "probs.npy")
    if m == 1:
        shared = _load_json(ctx.root / "generation-01" / METRICS)
        model = None  # loaded below if this setting's first sample is not already on disk
        p, makeup, seed = p1, {"real_chars": cfg.corpus_chars, "synthetic_chars": 0}, None
        model_part = {k: shared[k] for k in ("history", "final_val_loss", "train_seconds",
                                             "tokens_per_second")}
        t_train = 0.0  # trained once, in generation-01
    else:
        corpus, makeup = _corpus_for(ctx, name, m)
        seed = _seed(cfg.seed, "train", m)
        history, model = _train(ctx, folder, corpus, seed)
        model_part = _model_record(history)
        t_train = history.wall_time
        p = _probs(ctx, model, contexts)
    sample_seed = _seed(cfg.seed, "sample", m)
    shared_sample = _same_first_sample(ctx, name) if m == 1 else None
    if shared_sample is not None:  # same model, decoding and seed: the same text, sampled once
        ids, t_sample = shared_sample, 0.0
    else:
        if model is None:
            model = GPT(cfg.model).to(ctx.device)
            model.load_state_dict(torch.load(ctx.root / "generation-01" / "model.pt",
                                             map_location=ctx.device, weights_only=True))
        ids, t_sample = _sample(ctx, model, setting, sample_seed)
    t0 = time.perf_counter()
    text = text_statistics(ids, cfg.ngram_orders, cfg.model.vocab_size)
    _save_array(folder / "probs.npy", p)
    _save_array(folder / "sample.npy", ids)
    record = _record(
        ctx, setting=name, label=setting.label, generation=m, seed=seed,
        sample_seed=sample_seed, corpus=makeup, **model_part,
        drift_p1=_spread(l1_distances(p, p1)), drift_p0=_spread(l1_distances(p, p0)),
        sq_drift_p1=_spread(((p - p1) ** 2).sum(axis=1)), sigma=_spread((p**2).sum(axis=1)),
        text=text,
        sample_text=ctx.tokenizer.decode(ids[:cfg.shown_chars].tolist()))
    record["timings"] = {"train_seconds": t_train, "sample_seconds": t_sample,
                         "sample_chars": int(ids.size),
                         "metrics_seconds": time.perf_counter() - t0}
    _finish(folder, record)


def default_ensemble(device: str) -> bool:
    """Whether :func:`run` trains the models of a stage together by default: on a CUDA GPU with
    the memory of scale ``full`` (an ensemble holds the activations of all its members, about
    3 GB per model of the paper's size, more for six than a 16 GB T4 has); not on a CPU, where
    it gains nothing (``benchmarks/bench_ensemble.py``)."""
    return device == "cuda" and (gpu_memory_gib() or 0) >= FULL_SCALE_MIN_GIB


def _stages(config: ExperimentConfig) -> list[tuple]:
    return [("ground-truth",), ("generation-1",)] + [
        ("generation", m) for m in range(1, config.generations + 1)]


def _generation_stage(ctx: _Context, settings, m: int, bar) -> None:
    """Generation ``m`` of every setting in ``settings``: the unfinished ones are trained
    together (ensembling on), then each is sampled and measured."""
    if m >= 2:
        seed = _seed(ctx.config.seed, "train", m)
        jobs = [(_gen_folder(ctx.root, name, m), _corpus_for(ctx, name, m)[0], seed)
                for name in settings if not (_gen_folder(ctx.root, name, m) / METRICS).is_file()]
        _train_together(ctx, f"gen-{m:02d}", jobs)
    for name in settings:
        bar.set_postfix_str(f"generation {m}: {name}")
        ctx.check_deadline()
        _generation(ctx, name, m)


@contextlib.contextmanager
def _torch_threads(device: str, threads: int | None):
    """Use ``threads`` torch threads on the CPU for the duration, then restore the setting."""
    import torch

    if device != "cpu" or threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run(config: ExperimentConfig, run_dir=None, device: str | None = None, settings=None,
        progress: bool = True, cpu_threads: int | None = 1, ensemble: bool | None = None,
        precision: str | None = None, fused: bool | None = None, compile: bool | None = None,
        deadline: float | None = None) -> Path:
    """Run (or resume) the experiment in ``run_dir``; return the folder.

    ``settings`` restricts this call to some of ``config.settings`` (to split a long run over
    several calls); the ground truth and generation 1 are shared. A folder of the same run with
    fewer generations or other settings is extended, reusing what is finished. Generations run
    in order, all settings of generation ``m`` before any of ``m + 1``. ``ensemble`` (default:
    :func:`default_ensemble`) trains the independent models of a stage together; ``precision``,
    ``fused`` and ``compile`` are passed to the trainings (defaults from the device).
    ``deadline`` (a ``time.monotonic()`` value) stops the run cleanly, raising
    :class:`helpers.train.DeadlineReached` after saving what it can; calling again resumes. On
    the CPU torch uses ``cpu_threads`` threads (``None``: torch's default); the small CPU-scale
    models gain nothing from more, and one thread is robust when other processes share the
    cores.
    """
    from tqdm.auto import tqdm

    from helpers.data import CharTokenizer, load_tiny_shakespeare, train_val_split

    if not isinstance(config, ExperimentConfig):
        raise TypeError("config must be an ExperimentConfig; use experiment_config('cpu').")
    settings = tuple(config.settings if settings is None else settings)
    missing = [s for s in settings if s not in config.settings]
    if missing or not settings:
        raise ValueError(f"settings {missing or list(settings)} are not in this run's settings "
                         f"{list(config.settings)}.")
    if cpu_threads is not None:
        cpu_threads = validate_int(cpu_threads, "cpu_threads", 1)
    device = pick_device(device)
    precision = pick_precision(device, precision)
    root = Path(run_dir) if run_dir is not None else default_run_dir(config)
    root.mkdir(parents=True, exist_ok=True)
    saved = _load_json(root / "config.json")
    if saved is None:
        results.write_json(root / "config.json", {
            "config": config.to_dict(), "code": code_fingerprint(CODE),
            "provenance": results.provenance(device, config.to_dict())})
    elif {k: v for k, v in saved["config"].items() if k not in EXTENT} != _identity(config):
        diff = [k for k, v in _identity(config).items() if saved["config"].get(k) != v]
        raise ValueError(f"{root} holds a run with another configuration (fields {diff}); use "
                         "a fresh run_dir or delete that folder to start over.")
    elif saved["config"] != config.to_dict():  # extended: summarize() shows this call's extent
        results.write_json(root / "config.json", {**saved, "config": config.to_dict()})
    text = load_tiny_shakespeare()
    tok = CharTokenizer(text)
    if tok.vocab_size != config.model.vocab_size:
        raise ValueError(f"The model's vocab_size {config.model.vocab_size} does not match the "
                         f"{tok.vocab_size} characters of tiny Shakespeare.")
    train_ids, val_ids = train_val_split(tok.encode(text))
    prov = results.provenance(device, {})
    ctx = _Context(config, root, device, tok, np.asarray(val_ids),
                   {"device": device, "hardware": prov["hardware"], "commit": prov["commit"],
                    "date": prov["date"], "precision": precision},
                   ensemble=default_ensemble(device) if ensemble is None else bool(ensemble),
                   precision=precision, options={"fused": fused, "compile": compile},
                   deadline=deadline)
    bar = tqdm(_stages(config), desc="recursive training", disable=not progress)
    with _torch_threads(device, cpu_threads):
        for stage in bar:
            ctx.check_deadline()
            bar.set_postfix_str(" ".join(map(str, stage)))
            if stage == ("ground-truth",):
                _ground_truth(ctx, np.asarray(train_ids))
            elif stage == ("generation-1",):
                _generation_one(ctx)
            else:
                _generation_stage(ctx, settings, stage[1], bar)
    bar.close()
    return root


def _finished(root: Path, name: str, generations: int) -> list[dict]:
    out = []
    for m in range(1, generations + 1):
        rec = _load_json(_gen_folder(root, name, m) / METRICS)
        if rec is None:
            break
        out.append(rec)
    return out


def summarize(run_dir) -> dict:
    """One JSON-ready dict of a run: configuration, provenance, ground truth, noise floor and,
    per setting, the records of its finished generations (in order), as far as the last call
    of :func:`run` on the folder went (its generations and settings)."""
    root = Path(run_dir)
    saved = _load_json(root / "config.json")
    if saved is None:
        raise FileNotFoundError(f"{root} is not a run folder (no config.json); start one with "
                                "helpers.experiments.run(...).")
    config = ExperimentConfig.from_dict(saved["config"])
    return {
        "config": saved["config"], "provenance": saved["provenance"], "code": saved["code"],
        "ground_truth": _load_json(root / "ground-truth" / METRICS),
        "floor": _load_json(root / "generation-01-replica" / METRICS),
        "settings": {name: _finished(root, name, config.generations)
                     for name in config.settings},
        "labels": {name: SETTINGS[name].label for name in config.settings},
    }


def stage_timings(summary: dict) -> dict:
    """Seconds per stage: training per generation, sampling per million characters, metrics."""
    recs = [r for gens in summary["settings"].values() for r in gens if r["generation"] > 1]
    gt = summary["ground_truth"]
    if not recs or gt is None:
        raise ValueError("The run has no finished generation >= 2 yet.")
    train = [r["timings"]["train_seconds"] for r in recs]
    sample = [r["timings"]["sample_seconds"] / r["timings"]["sample_chars"] * 1e6 for r in recs]
    metrics = [r["timings"]["metrics_seconds"] for r in recs]
    return {"ground_truth_train_seconds": gt["timings"]["train_seconds"],
            "train_seconds_per_generation": float(np.mean(train)),
            "sample_seconds_per_million_chars": float(np.mean(sample)),
            "metrics_seconds_per_generation": float(np.mean(metrics)),
            "generations_timed": len(recs),
            "total_seconds": float(gt["timings"]["train_seconds"] + np.sum(train)
                                   + sum(r["timings"]["sample_seconds"] for r in recs))}


def publish(run_dir, name: str) -> Path:
    """Write :func:`summarize` of ``run_dir`` to ``results/<name>.json`` with the provenance of
    the run (hardware, date and commit at its start, its configuration)."""
    summary = summarize(run_dir)
    prov = dict(summary["provenance"])
    prov["timings"] = stage_timings(summary)
    return results.save(name, summary, device=prov.get("device", "unknown"),
                        config=summary["config"], record_provenance=prov)


def main(argv=None) -> None:
    """Command line: run, resume, summarise and publish recursive-training experiments."""
    parser = argparse.ArgumentParser(description="Recursive training of the character-level "
                                                 "GPT on its own tiny-Shakespeare output.")
    parser.add_argument("--scale", default=None, help=f"one of {SCALES} (default: by device)")
    parser.add_argument("--settings", nargs="+", default=None,
                        help=f"run only these of {list(SETTINGS)}")
    parser.add_argument("--generations", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="run folder (default: runs/recursive-*)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--publish", default=None, metavar="NAME",
                        help="then write results/NAME.json")
    parser.add_argument("--cpu-threads", type=int, default=1,
                        help="torch threads on the CPU (default 1; 0 for torch's default)")
    parser.add_argument("--ensemble", default=None, action=argparse.BooleanOptionalAction,
                        help="train the models of a stage together (default: on a GPU with "
                             "40 GB or more)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)


    device = pick_device(args.device)
    scale = args.scale or pick_scale(device)
    overrides = {"seed": args.seed}
    if args.generations is not None:
        overrides["generations"] = args.generations
    config = experiment_config(scale, **overrides)
    root = run(config, args.out, device=device, settings=args.settings,
               progress=not args.no_progress, cpu_threads=args.cpu_threads or None,
               ensemble=args.ensemble)
    summary = summarize(root)
    print(f"run folder: {root}")
    with contextlib.suppress(ValueError):
        for key, value in stage_timings(summary).items():
            print(f"  {key}: {value:.2f}" if isinstance(value, float) else f"  {key}: {value}")
    for name, gens in summary["settings"].items():
        drift = ", ".join(f"{r['drift_p1']['mean']:.3f}" for r in gens)
        print(f"  {name}: drift ||p^(m) - p^(1)||_1 by generation: {drift}")
    if args.publish:
        print(f"published {publish(root, args.publish)}")


if __name__ == "__main__":
    main()
