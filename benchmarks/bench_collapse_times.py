"""Time ``collapse_times`` against a plain Python loop over runs.

The reference runs one chain at a time and calls ``rng.multinomial`` once per generation until
the chain is a Dirac mass. Both are timed in the same process (best of ``--repeats``), and both
mean collapse times are printed with their standard errors as a correctness check.

    python benchmarks/bench_collapse_times.py [--runs 500] [--n 200] [--s 10] [--assert-ratio]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled
from helpers.statmodel import collapse_times  # noqa: E402


def reference(p0: np.ndarray, n: int, runs: int, seed: int) -> np.ndarray:
    """Collapse times, one run and one generation at a time."""
    rng = np.random.default_rng(seed)
    times = np.empty(runs, dtype=int)
    for run in range(runs):
        p, m = p0, 0
        while True:
            m += 1
            counts = rng.multinomial(n, p)
            if counts.max() == n:
                break
            p = counts / n
        times[run] = m
    return times


def best_of(repeats: int, fn, *args, **kwargs):
    """Smallest wall time over ``repeats`` calls, and the last result."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--n", type=int, default=200, help="samples per generation")
    parser.add_argument("--s", type=int, default=10, help="vocabulary size (uniform p0)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--assert-ratio", action="store_true",
                        help="exit with status 1 if the speed-up is below --min-ratio")
    parser.add_argument("--min-ratio", type=float, default=10.0)
    args = parser.parse_args(argv)

    p0 = np.full(args.s, 1 / args.s)
    t_ref, ref_times = best_of(args.repeats, reference, p0, args.n, args.runs, args.seed)
    t_eng, result = best_of(args.repeats, collapse_times, p0, args.n, args.runs, seed=args.seed)
    ratio = t_ref / t_eng
    print(f"s={args.s} uniform, n={args.n}, {args.runs} runs, best of {args.repeats}")
    print(f"reference (Python loop over runs): {t_ref:8.3f} s")
    print(f"collapse_times (engine):          {t_eng:8.3f} s")
    print(f"speed-up:                          {ratio:8.1f} x")

    ref_mean, ref_se = ref_times.mean(), ref_times.std(ddof=1) / np.sqrt(args.runs)
    eng_mean, eng_se = result.mean(), result.sem()
    z = abs(ref_mean - eng_mean) / np.hypot(ref_se, eng_se)
    verdict = "consistent" if z < 4 else "INCONSISTENT"
    print(f"mean T: reference {ref_mean:.1f} +- {ref_se:.1f}, collapse_times {eng_mean:.1f} "
          f"+- {eng_se:.1f} ({verdict}, {z:.1f} standard errors apart)")

    if args.assert_ratio and ratio < args.min_ratio:
        print(f"FAIL: speed-up {ratio:.1f}x is below {args.min_ratio:g}x", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
