"""Time one generation of the recursive transformer experiment, stage by stage.

Trains one model of the experiment's scale on tiny Shakespeare, samples a corpus from it the
way the experiment does (``sample_streams`` streams in one batch, KV cache), and computes the
metrics; then samples the same number of characters with a simple reference, 64 streams and
no cache, in the same run, and prints the ratio. From the stage times it projects the whole
Figure 5 reproduction (ground truth, generation 1 and its replica, the later generations of
the paper's 3 settings) and the whole experiment (all settings).

    python benchmarks/bench_recursive_generation.py --scale full   # on a GPU
    python benchmarks/bench_recursive_generation.py --scale cpu --iters 50
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled
from helpers import data, experiments, generation  # noqa: E402
from helpers.runtime import pick_device  # noqa: E402
from helpers.train import train  # noqa: E402


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="cpu", choices=experiments.SCALES)
    ap.add_argument("--iters", type=int, default=None, help="train fewer iterations, projected")
    ap.add_argument("--device", default=None)
    ap.add_argument("--chars", type=int, default=None, help="characters to sample (default: "
                    "the scale's corpus size, at most 200,000 for the reference)")
    args = ap.parse_args(argv)

    device = pick_device(args.device)
    cfg = experiments.experiment_config(args.scale)
    model_cfg = cfg.model if args.iters is None else replace(
        cfg.model, max_iters=args.iters)
    text = data.load_tiny_shakespeare()
    tok = data.CharTokenizer(text)
    train_ids, val_ids = data.train_val_split(tok.encode(text))
    if device == "cpu":
        torch.set_num_threads(1)  # as experiments.run does on the CPU

    t0 = time.perf_counter()
    history, model = train(model_cfg, train_ids, val_ids, device=device, seed=0, progress=False)
    sync(device)
    t_train = (time.perf_counter() - t0) * cfg.model.max_iters / model_cfg.max_iters

    chars = args.chars or min(cfg.corpus_chars, 200_000)
    streams = min(cfg.sample_streams, chars)

    def sample_with(n_streams: int, use_cache: bool) -> float:
        start = time.perf_counter()
        generation.generate(model, tok.encode("\n"), n_streams, math.ceil(chars / n_streams),
                        seed=1, use_cache=use_cache)
        sync(device)
        return time.perf_counter() - start

    sample_with(min(streams, 8), True)  # warm-up
    t_sample = sample_with(streams, True)
    t_reference = sample_with(min(64, chars), False)
    ids = np.random.default_rng(0).integers(0, 65, size=cfg.corpus_chars)
    t0 = time.perf_counter()
    experiments.text_statistics(ids, cfg.ngram_orders)
    t_metrics = time.perf_counter() - t0

    per_million = t_sample / chars * 1e6
    gen = t_train + per_million * cfg.corpus_chars / 1e6 + t_metrics
    fig5 = 3 * gen + (cfg.generations - 1) * 3 * gen  # ground truth, gen 1, replica; 3 settings
    everything = 3 * gen + (cfg.generations - 1) * len(cfg.settings) * gen
    print(f"device {device}, scale {args.scale}: {model_cfg.max_iters} iterations timed")
    print(f"  training, per generation ({cfg.model.max_iters} it): {t_train:9.2f} s "
          f"({history.tokens_per_second:,.0f} tokens/s)")
    print(f"  sampling, per million characters:   {per_million:9.2f} s "
          f"({streams} streams, KV cache)")
    print(f"  reference sampler (64 streams, no cache): {t_reference / chars * 1e6:9.2f} s per "
          f"million -> batched sampler is {t_reference / t_sample:.1f}x faster")
    print(f"  metrics, per generation:             {t_metrics:9.2f} s")
    print(f"  projected Figure 5 ({3 + 3 * (cfg.generations - 1)} trainings):"
          f"   {fig5 / 60:9.1f} min")
    print(f"  projected whole experiment:          {everything / 60:9.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
