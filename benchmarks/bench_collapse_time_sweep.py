"""Time the E[T] sweep of the chapter "E[T] is of order n" against a vectorised numpy reference.

Workload: the uniform distribution on ``s = 10`` tokens, 13 values of ``n`` on a logarithmic grid
from 10 to 10^4, ``--runs`` collapse times per ``n``, all run to absorption. The sweep uses
``statmodel.collapse_times`` (numpy for the first generation, then a compiled kernel). The
reference is the obvious vectorised numpy version: one ``Generator.multinomial`` call per
generation over all chains still alive, on the same workload. By default it runs on the whole
grid; with ``--ref-max-n`` it runs only up to that ``n`` and its time on the rest of the grid is
extrapolated with the power law fitted to its three largest measured points (printed). Both sets
of means are printed with standard errors, as a correctness check. Exit status 1 if the sweep
takes 60 s or more.

    python benchmarks/bench_collapse_time_sweep.py [--runs 1000] [--ref-max-n 10000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled
from helpers.statmodel import collapse_times  # noqa: E402

GRID = np.unique(np.round(np.logspace(1, 4, 13)).astype(int))
BUDGET_S = 60.0


def reference(p0: np.ndarray, n: int, runs: int, seed: int) -> np.ndarray:
    """Collapse times with one vectorised multinomial draw per generation over live chains."""
    rng = np.random.default_rng(seed)
    probs = np.tile(p0, (runs, 1))
    times = np.zeros(runs, dtype=int)
    live = np.arange(runs)
    m = 0
    while live.size:
        m += 1
        counts = rng.multinomial(n, probs[live])
        done = counts.max(axis=1) == n
        times[live[done]] = m
        probs[live] = counts / n
        live = live[~done]
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--s", type=int, default=10)
    parser.add_argument("--ref-max-n", type=int, default=10_000)
    args = parser.parse_args()
    if args.runs < 2 or args.s < 2 or args.ref_max_n < GRID[2]:
        parser.error("need --runs >= 2, --s >= 2 and --ref-max-n >= 32")
    p0 = np.full(args.s, 1.0 / args.s)

    collapse_times(p0, 10, 10, seed=0)  # compile the kernel outside the timing
    start = time.perf_counter()
    sweep = [collapse_times(p0, int(n), args.runs, seed=k) for k, n in enumerate(GRID)]
    sweep_s = time.perf_counter() - start

    ref_ns = GRID[GRID <= args.ref_max_n]
    ref_times, ref_means = [], []
    for k, n in enumerate(ref_ns):
        t0 = time.perf_counter()
        T = reference(p0, int(n), args.runs, seed=10_000 + k)
        ref_times.append(time.perf_counter() - t0)
        ref_means.append((T.mean(), T.std(ddof=1) / np.sqrt(args.runs)))
    ref_times = np.array(ref_times)
    # cost exponent from the three largest measured points, used only to extrapolate
    slope = np.polyfit(np.log(ref_ns[-3:]), np.log(ref_times[-3:]), 1)[0]
    rest = GRID[GRID > args.ref_max_n]
    ref_total = ref_times.sum() + ref_times[-1] * np.sum((rest / ref_ns[-1]) ** slope)

    print(f"workload: uniform p on s = {args.s}, n in {GRID.tolist()}, {args.runs} runs per n")
    print(f"{'n':>6s} {'E[T]/n (kernel)':>18s} {'E[T]/n (numpy ref)':>20s}")
    for k, (n, T) in enumerate(zip(GRID, sweep, strict=True)):
        ref = (f"{ref_means[k][0] / n:.3f} +- {ref_means[k][1] / n:.3f}"
               if k < len(ref_ns) else "(extrapolated)")
        print(f"{n:6d} {T.mean() / n:10.3f} +- {T.sem() / n:.3f} {ref:>20s}")
    print(f"sweep with collapse_times: {sweep_s:.2f} s")
    if rest.size:
        print(f"numpy reference: {ref_times.sum():.2f} s measured for n <= {args.ref_max_n}; "
              f"cost ~ n^{slope:.2f}; whole grid extrapolated to {ref_total:.1f} s")
    else:
        print(f"numpy reference: {ref_total:.2f} s measured on the whole grid")
    print(f"ratio reference / sweep: {ref_total / sweep_s:.1f}x")
    verdict = "meets" if sweep_s < BUDGET_S else "does NOT meet"
    print(f"the sweep {verdict} the target of under {BUDGET_S:.0f} s")
    return 0 if sweep_s < BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
