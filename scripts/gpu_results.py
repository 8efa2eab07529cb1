"""Every GPU result of the book in one resumable run: ``bash scripts/gpu_results.sh OUT_DIR``.

Stages, in this order (the most valuable first, so that a short loan of a GPU is not wasted):

1. ``paper``: the paper's Table 1 model, 2000 iterations on tiny Shakespeare: wall time,
   tokens per second, the validation-loss curve, and samples of its text.
2. ``sampler``: 1M characters sampled from that model in one batch of streams with the KV
   cache (throughput), and a short sample with and without the cache (their ratio).
3. ``figure5``: the paper's Figure 5, its three settings over 10 generations, with the
   independent models of each stage trained as an ensemble.
4. ``nanogpt``: nanoGPT's Shakespeare-char recipe: the time to validation loss 1.48 and the
   final loss.
5. ``beyond``: the settings of Chapter 15 beyond the paper (accumulation, temperature 0.8,
   top-k 10), as time allows.

Each call stops cleanly before its time budget (``--budget``, 510 s by default: under 9 minutes
with start-up) and a later call with the same run folder resumes where it stopped: trainings
from their last checkpoint, the experiment from its last finished generation. Run folders live
under ``runs/`` (ignored by git; ``$BOOK_RUNS`` if set), so they survive between calls on the
same machine. At the end of every call, each finished stage's result is (re)written to
``OUT_DIR`` in the format of :mod:`helpers.results` (at most 4 files, no subfolders): copy
them into ``results/`` and commit.

``--dry-run`` shrinks every size so that the whole script runs in under a minute on a CPU
and writes the same files, marked ``"dry_run": true`` (never shown by the book). It goes
through the GPU code paths that exist on a CPU: bf16 autocast, fused AdamW and ensembling.
What it cannot exercise is CUDA itself and ``torch.compile``.

Expected time on an H200 (helpers.timing, an estimate until measured): about 19 minutes of
training and sampling for all five stages (paper 0.6 min, nanoGPT 1.6 min, Figure 5 8.6 min,
beyond 7.5 min), plus compilation: two calls finish stages 1 to 4 and a third the rest.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the helpers come from this checkout, never installed

from helpers import data, experiments, results, runtime, timing  # noqa: E402
from helpers.generation import generate, generate_text  # noqa: E402
from helpers.gpt import get_config  # noqa: E402
from helpers.train import DeadlineReached, synchronize, train  # noqa: E402

RESULT_NAMES = {"paper": "transformer-paper", "sampler": "transformer-sampler",
                "nanogpt": "transformer-nanogpt", "figure5": "transformer-recursive-full",
                "beyond": "transformer-recursive-full"}
TARGET_LOSS = 1.48  # nanoGPT's recipe reaches about 1.47
MARGIN = 45.0  # seconds before the budget ends: no new stage starts, trainings stop
PROGRESS = sys.stderr.isatty()  # progress bars on a terminal, not in a log


def sizes(dry_run: bool) -> dict:
    """Every size of the run, shrunk for a dry run."""
    if not dry_run:
        return {"paper": get_config("paper"), "nanogpt": get_config("nanogpt"),
                "sample_chars": 1_000_000, "sample_streams": 1024, "short_steps": 256,
                "experiment": experiments.experiment_config("full"), "sample_text": 400}
    small = {"n_layer": 2, "n_head": 2, "n_embd": 32, "block_size": 32, "batch_size": 8,
             "max_iters": 24, "warmup_iters": 4, "eval_interval": 8, "eval_iters": 2}
    return {"paper": get_config("paper", **small), "nanogpt": get_config("nanogpt", **small),
            "sample_chars": 20_000, "sample_streams": 64, "short_steps": 48,
            "experiment": experiments.experiment_config(
                experiments.TEST_SCALE, generations=2, settings=tuple(experiments.SETTINGS)),
            "sample_text": 200}


class Run:
    """One call of the script: where it writes, what it runs on, and its deadline."""

    def __init__(self, out_dir: Path, dry_run: bool, budget: float, device: str):
        self.out_dir, self.dry_run, self.device = out_dir, dry_run, device
        base = runtime.runs_dir()
        self.runs = base / ("gpu-results-dry-run" if dry_run else "gpu-results")
        self.sizes = sizes(dry_run)
        self.deadline = time.monotonic() + budget - MARGIN
        # the GPU paths that also run on a CPU: bf16 autocast and fused AdamW (no compile)
        self.options = ({"precision": "bf16", "fused": True, "compile": False}
                        if device == "cpu" else {})
        text = data.load_tiny_shakespeare()
        self.tokenizer = data.CharTokenizer(text)
        self.train_ids, self.val_ids = data.train_val_split(self.tokenizer.encode(text))

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def finished(self, stage: str) -> dict | None:
        path = self.runs / stage / "result.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def finish(self, stage: str, data_: dict, config: dict, timings: dict) -> None:
        prov = results.provenance(self.device, config)
        prov.update(dry_run=self.dry_run, precision=runtime.pick_precision(
            self.device, self.options.get("precision")), stage=stage, timings=timings)
        results.write_json(self.runs / stage / "result.json", {"provenance": prov,
                                                                "data": data_})

    def samples(self, model) -> dict:
        n = self.sizes["sample_text"]
        return {str(t): generate_text(model, self.tokenizer, n, num_streams=1, temperature=t,
                                      seed=1, precision=self.options.get("precision"))
                for t in (1.0, 0.8)}

    def train_model(self, name: str):
        config = self.sizes[name]
        return config, train(config, self.train_ids, self.val_ids, device=self.device, seed=0,
                             out_dir=self.runs / name, progress=PROGRESS,
                             deadline=self.deadline, **self.options)


def stage_paper(run: Run) -> None:
    config, (history, model) = run.train_model("paper")
    run.finish("paper", _training_record(run, "paper", history, model), config.to_dict(),
               _timings(history))


def _training_record(run: Run, name: str, history, model) -> dict:
    """What a training stage publishes: its history, losses, speed, size and samples."""
    return {"model": name, "history": asdict(history), "best_val_loss": history.best_val_loss,
            "final_val_loss": history.val_loss[-1], "wall_seconds": history.wall_time,
            "train_seconds": history.elapsed[-1], "eval_seconds": history.eval_seconds,
            "tokens_per_second": history.tokens_per_second,
            "parameters": model.num_parameters(), "samples": run.samples(model)}


def _timings(history) -> dict:
    return {"train_seconds": history.elapsed[-1], "eval_seconds": history.eval_seconds,
            "total_seconds": history.wall_time}


def _timed_generate(run: Run, model, streams: int, length: int, use_cache: bool) -> float:
    synchronize(run.device)
    t0 = time.perf_counter()
    generate(model, run.tokenizer.encode("\n"), streams, length, seed=0, use_cache=use_cache,
             precision=run.options.get("precision"))
    synchronize(run.device)
    return time.perf_counter() - t0


def stage_sampler(run: Run) -> None:
    config, (_, model) = run.train_model("paper")  # finished: returns the model at once
    streams, chars = run.sizes["sample_streams"], run.sizes["sample_chars"]
    length = -(-chars // streams)
    _timed_generate(run, model, streams, 8, True)  # warm-up
    seconds = _timed_generate(run, model, streams, length, True)
    short = run.sizes["short_steps"]
    cached = _timed_generate(run, model, streams, short, True)
    recomputed = _timed_generate(run, model, streams, short, False)
    run.finish("sampler", {
        "model": "paper", "streams": streams, "chars": streams * length,
        "seconds": seconds, "chars_per_second": streams * length / seconds,
        "short": {"steps": short, "cached_seconds": cached, "recomputed_seconds": recomputed,
                  "speedup": recomputed / cached}}, config.to_dict(),
        {"total_seconds": seconds + cached + recomputed})


def stage_nanogpt(run: Run) -> None:
    config, (history, model) = run.train_model("nanogpt")
    record = _training_record(run, "nanogpt", history, model)
    record.update(target_loss=TARGET_LOSS, seconds_to_target=history.time_to_loss(TARGET_LOSS))
    run.finish("nanogpt", record, config.to_dict(), _timings(history))


def _experiment(run: Run, stage: str, settings) -> None:
    cfg = run.sizes["experiment"]
    root = experiments.run(cfg, run.runs / "recursive", device=run.device, settings=settings,
                           ensemble=True, deadline=run.deadline, cpu_threads=None,
                           progress=PROGRESS, **run.options)
    summary = experiments.summarize(root)
    complete = {k: v for k, v in summary["settings"].items() if len(v) == cfg.generations}
    summary["settings"] = complete
    summary["labels"] = {k: summary["labels"][k] for k in complete}
    run.finish(stage, summary, cfg.to_dict(), experiments.stage_timings(summary))


def stage_figure5(run: Run) -> None:
    _experiment(run, "figure5", experiments.PAPER_SETTINGS)


def stage_beyond(run: Run) -> None:
    _experiment(run, "beyond", run.sizes["experiment"].settings)


STAGES = {"paper": stage_paper, "sampler": stage_sampler, "figure5": stage_figure5,
          "nanogpt": stage_nanogpt, "beyond": stage_beyond}


def publish(run: Run) -> list[Path]:
    """Write the result of every finished stage to ``OUT_DIR`` (the later of ``figure5`` and
    ``beyond``, which share a file, wins)."""
    written = {}
    for stage in STAGES:
        record = run.finished(stage)
        if record is not None:
            name = RESULT_NAMES[stage]
            written[name] = results.save(name, record["data"], run.device, {},
                                         record_provenance=record["provenance"],
                                         directory=run.out_dir)
    return list(written.values())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir", type=Path, help="folder for the result files (made if missing)")
    ap.add_argument("--dry-run", action="store_true", help="tiny sizes, on the CPU")
    ap.add_argument("--budget", type=float, default=510.0,
                    help="seconds this call may take (default 510: under 9 minutes)")
    ap.add_argument("--device", default=None, help="default: cuda, or cpu for a dry run")
    args = ap.parse_args(argv)

    device = runtime.pick_device(args.device or ("cpu" if args.dry_run else None))
    if device != "cuda" and not args.dry_run:
        print("scripts/gpu_results.sh needs a CUDA GPU; on this machine run it with --dry-run.",
              file=sys.stderr)
        return 2
    run = Run(args.out_dir, args.dry_run, args.budget, device)
    print(f"gpu_results: device {results.hardware(device)}, torch {torch.__version__}, "
          f"{'dry run' if args.dry_run else 'full sizes'}, budget {args.budget:.0f} s, "
          f"run folders {run.runs}", flush=True)
    if not args.dry_run:
        exp = run.sizes["experiment"]
        h200 = timing.GPUS["h200"]
        parts = {"paper": timing.chapter14_stages(run.sizes["paper"])[:1],
                 "nanogpt": timing.chapter14_stages(run.sizes["nanogpt"])[:1],
                 "figure5": timing.experiment_stages(exp, experiments.PAPER_SETTINGS),
                 "all settings": timing.experiment_stages(exp)}
        for what, stages in parts.items():
            print("  " + timing.estimate(stages, h200).describe(what), flush=True)
    status = {}
    try:
        for stage, fn in STAGES.items():
            if run.finished(stage) is not None:
                status[stage] = "done earlier"
                continue
            if run.left() <= 0:
                status[stage] = "not started: out of time"
                continue
            t0 = time.perf_counter()
            print(f"== {stage}: {run.left():.0f} s left", flush=True)
            try:
                fn(run)
                status[stage] = f"done in {time.perf_counter() - t0:.0f} s"
            except DeadlineReached as stop:
                status[stage] = f"stopped at the deadline ({stop})"
                break
    finally:
        written = publish(run)
    print("\nstage      status")
    for stage in STAGES:
        print(f"{stage:<10} {status.get(stage, 'not started: out of time')}")
    print(f"\nresult files in {run.out_dir}: {', '.join(p.name for p in written) or 'none'}")
    pending = [s for s in STAGES if run.finished(s) is None]
    if pending:
        print(f"Not finished: {', '.join(pending)}. Run the same command again to resume.")
    else:
        print("All stages are finished: copy the files into results/ and commit them.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
