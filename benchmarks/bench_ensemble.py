"""Train an ensemble of K models together against K trainings one after the other.

Both sides train the same K models (Chapter 14's model of the scale, each on its own slice of
tiny Shakespeare, from its own seed, for ``--iters`` iterations), in the same process, after a
warm-up of each; the table gives the best of ``--repeats`` wall times and the ratio, and the
largest weight difference between an ensemble member and the same model trained alone (the
ensemble must train the same models, not only faster ones).

    python benchmarks/bench_ensemble.py                        # CPU: the small model
    python benchmarks/bench_ensemble.py --scale full --iters 200   # a CUDA GPU

What to expect. On a CPU the ratio is about 1 or a little below (0.78x measured on this
project's 2-core machine under load): the arithmetic of a batch already keeps the cores busy,
the ensemble does the same arithmetic, and under ``vmap`` the CPU's attention falls back to its
plain kernel. That is why :func:`helpers.experiments.run` ensembles on a large GPU only by
default.

On a GPU the gain should be large. The paper's model (6.3M parameters, width 256, batch 256 x
128 tokens) launches some 300 kernels per training step, each a matrix product of at most 32768
x 256 x 1024 or an elementwise pass, far too small to fill an H100-class GPU (132
multiprocessors, 790 TFLOP/s on large bf16 products): one model runs at perhaps a tenth of the
peak and its step time is dominated by launches and memory passes. An ensemble of K runs the
same number of launches for K times the work, in batched products that fill more of the chip,
so K = 3 to 6 should train 2 to 4 times faster than K models one after the other
(helpers.timing assumes 2.1x for the H200), until the arithmetic, not the launches, limits it.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled
from helpers import data, gpt  # noqa: E402
from helpers.ensemble import train_ensemble  # noqa: E402
from helpers.runtime import pick_device  # noqa: E402
from helpers.train import synchronize, train  # noqa: E402


def timed(fn, device: str):
    synchronize(device)
    t0 = time.perf_counter()
    out = fn()
    synchronize(device)
    return time.perf_counter() - t0, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="cpu", choices=list(gpt.SCALE_CONFIGS))
    ap.add_argument("--members", type=int, default=3)
    ap.add_argument("--iters", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--device", default=None)
    ap.add_argument("--threads", type=int, default=1, help="torch threads on the CPU")
    args = ap.parse_args(argv)

    device = pick_device(args.device)
    if device == "cpu":
        torch.set_num_threads(args.threads)
    config = replace(gpt.config_for_scale(args.scale), max_iters=args.iters,
                     eval_interval=args.iters, eval_iters=1, warmup_iters=min(10, args.iters))
    text = data.load_tiny_shakespeare()
    ids, val = data.train_val_split(data.CharTokenizer(text).encode(text))
    size = len(ids) // args.members
    corpora = [ids[k * size:(k + 1) * size] for k in range(args.members)]
    seeds = list(range(args.members))

    def sequential():
        return [train(config, c, val, device=device, seed=s, progress=False)[1]
                for c, s in zip(corpora, seeds, strict=True)]

    def together():
        return train_ensemble(config, corpora, val, seeds, device=device, progress=False)[1]

    warm = replace(config, max_iters=3, eval_interval=3, warmup_iters=1)
    train(warm, corpora[0], val, device=device, progress=False)  # warm-up (and compile)
    train_ensemble(warm, corpora, val, seeds, device=device, progress=False)
    t_seq, alone = min((timed(sequential, device) for _ in range(args.repeats)),
                       key=lambda r: r[0])
    t_ens, members = min((timed(together, device) for _ in range(args.repeats)),
                         key=lambda r: r[0])
    gap = max((a.state_dict()[k] - m.state_dict()[k]).abs().max().item()
              for a, m in zip(alone, members, strict=True) for k in a.state_dict())
    print(f"device {device}, scale {args.scale} model ({config.n_layer} layers, width "
          f"{config.n_embd}), {args.members} models x {args.iters} iterations, best of "
          f"{args.repeats}")
    print(f"  {args.members} trainings one after the other: {t_seq:8.2f} s")
    print(f"  one ensemble of {args.members}:               {t_ens:8.2f} s")
    print(f"  ratio (sequential / ensemble):      {t_seq / t_ens:8.2f}x")
    print(f"  largest weight difference, member vs alone: {gap:.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
