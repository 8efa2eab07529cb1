"""Time ``collapse_times`` on one thread and on all threads against a plain Python loop over runs.

The reference runs one chain at a time and calls ``rng.multinomial`` once per generation until
the chain is a Dirac mass. The engine runs its chains in parallel over numba's threads; it is
timed with one thread (``numba.set_num_threads(1)``) and with all of them, in the same process
as the reference. The three are timed in turn, ``--repeats`` times, and the best time of each is
kept (the least disturbed by other work on the machine). The engine's times must be identical on
one thread and on all threads (same seed); both mean collapse times are printed with their
standard errors as a correctness check.

    python benchmarks/bench_collapse_times.py [--runs 500] [--n 200] [--s 10] [--assert-ratio]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled
from helpers.agreement import mean_se  # noqa: E402
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


def engine(threads: int, p0: np.ndarray, n: int, runs: int, seed: int) -> np.ndarray:
    """``collapse_times(...).times`` on ``threads`` numba threads."""
    numba.set_num_threads(threads)
    return collapse_times(p0, n, runs, seed=seed).times


def timed(fn, *args) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--n", type=int, default=200, help="samples per generation")
    parser.add_argument("--s", type=int, default=10, help="vocabulary size (uniform p0)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--assert-ratio", action="store_true",
                        help="exit with status 1 if the all-thread speed-up is below --min-ratio")
    parser.add_argument("--min-ratio", type=float, default=20.0)
    args = parser.parse_args(argv)

    p0 = np.full(args.s, 1 / args.s)
    threads = numba.config.NUMBA_NUM_THREADS
    engine(1, p0, args.n, 10, args.seed)  # compile outside the timing
    best = {"reference": np.inf, "one thread": np.inf, "all threads": np.inf}
    results = {}
    for _ in range(args.repeats):
        for name, fn, fn_args in (("reference", reference, ()), ("one thread", engine, (1,)),
                                  ("all threads", engine, (threads,))):
            seconds, results[name] = timed(fn, *fn_args, p0, args.n, args.runs, args.seed)
            best[name] = min(best[name], seconds)
    identical = np.array_equal(results["one thread"], results["all threads"])

    print(f"s={args.s} uniform, n={args.n}, {args.runs} runs, best of {args.repeats}; "
          f"numba threading layer {numba.threading_layer()}, {threads} threads")
    print(f"reference (Python loop over runs):  {best['reference']:8.3f} s")
    for name in ("one thread", "all threads"):
        label = f"collapse_times, {name} ({1 if name == 'one thread' else threads}):"
        print(f"{label:36s}{best[name]:8.3f} s   speed-up {best['reference'] / best[name]:6.1f} x")
    print(f"one thread vs all threads: {'bit-identical' if identical else 'DIFFERENT'} results")

    (ref_mean, ref_se), (eng_mean, eng_se) = mean_se(results["reference"]), \
        mean_se(results["all threads"])
    z = abs(ref_mean - eng_mean) / np.hypot(ref_se, eng_se)
    verdict = "consistent" if z < 4 else "INCONSISTENT"
    print(f"mean T: reference {ref_mean:.1f} +- {ref_se:.1f}, collapse_times {eng_mean:.1f} "
          f"+- {eng_se:.1f} ({verdict}, {z:.1f} standard errors apart)")

    ratio = best["reference"] / best["all threads"]
    if not identical:
        return 1
    if args.assert_ratio and ratio < args.min_ratio:
        print(f"FAIL: all-thread speed-up {ratio:.1f}x is below {args.min_ratio:g}x",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
