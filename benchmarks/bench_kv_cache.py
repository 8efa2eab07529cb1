"""Time batched generation with the KV cache against recomputing the window every step.

Both runs use the same model (``small`` config, random init unless ``--checkpoint`` is given),
the same prompt and seed, in the same process (best of ``--repeats``); the sampled tokens are
compared as a correctness check. Without the cache each step runs the whole current window
(between ``keep`` and ``block_size`` tokens; the ``small`` context is only 64), so the gain grows
with the context length.

    python benchmarks/bench_kv_cache.py [--streams 256] [--length 256] [--assert-ratio]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled
from helpers.generation import generate  # noqa: E402
from helpers.gpt import GPT, get_config  # noqa: E402


def best_time(fn, repeats: int):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small")
    ap.add_argument("--streams", type=int, default=256)
    ap.add_argument("--length", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--checkpoint", default=None, help="state_dict to load (default: random)")
    ap.add_argument("--assert-ratio", action="store_true")
    ap.add_argument("--min-ratio", type=float, default=5.0)
    args = ap.parse_args(argv)

    torch.manual_seed(0)
    cfg = get_config(args.config)
    model = GPT(cfg).to(args.device).eval()
    if args.checkpoint:
        model.load_state_dict(torch.load(args.checkpoint, map_location=args.device))
    kw = dict(prompt_ids=[0], num_streams=args.streams, length=args.length, seed=0)
    generate(model, **(kw | dict(length=4)))  # warm-up
    t_cache, a = best_time(lambda: generate(model, use_cache=True, **kw), args.repeats)
    t_full, b = best_time(lambda: generate(model, use_cache=False, **kw), args.repeats)
    ratio = t_full / t_cache
    agree = (a == b).float().mean().item()
    print(f"config {args.config} (block_size {cfg.block_size}), {args.streams} streams x "
          f"{args.length} tokens on {args.device}, {torch.get_num_threads()} threads")
    print(f"  with KV cache:    {t_cache:8.3f} s")
    print(f"  without (recompute window): {t_full:8.3f} s")
    print(f"  speed-up: {ratio:.2f}x   tokens identical: {agree:.4f}")
    if args.assert_ratio and ratio < args.min_ratio:
        print(f"FAIL: speed-up {ratio:.2f}x is below --min-ratio {args.min_ratio}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
