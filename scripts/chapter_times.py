"""How long each chapter takes to execute on this machine: ``python scripts/chapter_times.py``.

Executes every chapter (``notebooks/*.ipynb``, in the book's order) as a build does: a fresh
kernel per notebook, kernel start included, at the scale the runtime picks for this machine.
Chapters 14 and 15 keep finished trainings in run folders and load them when run again; here
the run folders live in a fresh temporary ``BOOK_RUNS``, so every chapter trains from scratch,
as it does for a reader's first run.

Writes ``results/chapter-times-<device>.json`` (:mod:`helpers.results`, with its provenance and
the machine's load average before and after, since a shared machine is slower), which the
instructor page shows. About ten minutes on two CPU cores. ``--only 02 05`` times some chapters
and prints them without writing anything (for a quick look, and for the test of this script).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from tqdm.auto import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the helpers of this checkout

from helpers import results, runtime  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
CELL_TIMEOUT = 1200  # seconds; the build allows 600 per cell (_config.yml)


def chapters(only: list[str] | None = None) -> list[Path]:
    """The chapter notebooks in the book's order, or those whose number is in ``only``."""
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    if only:
        unknown = set(only) - {p.name[:2] for p in paths}
        if unknown:
            raise SystemExit(f"No chapter numbered {', '.join(sorted(unknown))}: the chapters "
                             f"are {', '.join(p.name[:2] for p in paths)}.")
        paths = [p for p in paths if p.name[:2] in only]
    return paths


def execute(path: Path) -> float:
    """Seconds to execute the notebook at ``path`` in a fresh kernel, kernel start included."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="NN",
                        help="time these chapters only, and write nothing")
    args = parser.parse_args(argv)
    paths = chapters(args.only)
    device = runtime.pick_device()
    load_before = os.getloadavg()
    seconds = {}
    with tempfile.TemporaryDirectory() as runs:
        os.environ[runtime.RUNS_VAR] = runs  # no finished run to load: train from scratch
        for path in tqdm(paths, desc="chapters", unit="notebook"):
            seconds[path.stem] = round(execute(path), 1)
            tqdm.write(f"{path.stem:<40} {seconds[path.stem]:7.1f} s")
    load_after = os.getloadavg()
    print(f"load average (1 min) before {load_before[0]:.1f}, after {load_after[0]:.1f}; "
          f"{os.cpu_count()} cores")
    if args.only:
        return
    data = {"seconds": seconds, "scale": runtime.pick_scale(device),
            "load_average": {"before": list(load_before), "after": list(load_after)}}
    config = {"device": device, "cores": os.cpu_count(), "cell_timeout": CELL_TIMEOUT}
    path = results.save(f"chapter-times-{device}", data, device, config)
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
