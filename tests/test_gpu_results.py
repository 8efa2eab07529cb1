"""The GPU script's dry run: every stage at tiny sizes on the CPU, stopped and resumed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import _compare as compare
import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu_results.sh"
EXPECTED = {"transformer-paper.json", "transformer-sampler.json", "transformer-nanogpt.json",
            "transformer-recursive-full.json"}
# Fields that say when and how fast; everything else must match between runs.
VOLATILE = {"date", "timings", "wall_seconds", "train_seconds", "eval_seconds",
            "tokens_per_second", "wall_time", "elapsed", "seconds", "chars_per_second",
            "short", "seconds_to_target", "train_seconds_per_generation", "hardware",
            "commit", "versions", "sample_seconds", "metrics_seconds", "total_seconds"}


def strip(obj):
    return compare.strip(obj, VOLATILE)


def dry_run(out: Path, runs: Path, budget: float | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable, "BOOK_RUNS": str(runs)}
    cmd = ["bash", str(SCRIPT), "--dry-run", str(out)]
    if budget is not None:
        cmd += ["--budget", str(budget)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    base = tmp_path_factory.mktemp("gpu")
    proc = dry_run(base / "out", base / "runs")
    return base / "out", proc.stdout


def test_dry_run_writes_every_result_file(uninterrupted):
    out, stdout = uninterrupted
    assert "All stages are finished" in stdout
    files = list(out.iterdir())
    assert {p.name for p in files} == EXPECTED  # at most 8 files, no subfolders
    for path in files:
        assert path.is_file() and path.stat().st_size < 16 * 2**20
        record = json.loads(path.read_text())
        prov = record["provenance"]
        assert prov["dry_run"] is True  # never shown by the book as a result
        assert {"hardware", "date", "commit", "versions", "config", "precision",
                "timings"} <= set(prov)
        assert {"python", "torch", "cuda"} <= set(prov["versions"])
    paper = json.loads((out / "transformer-paper.json").read_text())["data"]
    assert paper["tokens_per_second"] > 0 and paper["final_val_loss"] < 4.2
    assert set(paper["samples"]) == {"1.0", "0.8"}
    sampler = json.loads((out / "transformer-sampler.json").read_text())["data"]
    assert sampler["chars"] >= 20_000 and sampler["short"]["speedup"] > 0
    recursive = json.loads((out / "transformer-recursive-full.json").read_text())["data"]
    assert len(recursive["settings"]) == 6  # the paper's three, then the three beyond it
    assert all(len(g) == 2 for g in recursive["settings"].values())
    prov = json.loads((out / "transformer-recursive-full.json").read_text())["provenance"]
    assert prov["timings"]["train_seconds_per_generation"] > 0


def test_the_chapters_can_describe_every_result_file(uninterrupted):
    """Chapter 14 prints the committed files with helpers.results' one-line descriptions."""
    from helpers import results

    out, _ = uninterrupted
    for name in ("paper", "nanogpt"):
        record = json.loads((out / f"transformer-{name}.json").read_text())
        assert "iterations in" in results.describe_training(record)
        assert "commit" in results.source(record)
    nanogpt = json.loads((out / "transformer-nanogpt.json").read_text())
    reached = nanogpt["data"]["seconds_to_target"] is not None
    assert ("after" in results.describe_training(nanogpt)) == reached
    sampler = json.loads((out / "transformer-sampler.json").read_text())
    assert "faster than recomputing" in results.describe_sampler(sampler)


def test_dry_run_stops_at_its_deadline_and_resumes(uninterrupted, tmp_path):
    out, runs = tmp_path / "out", tmp_path / "runs"
    first = dry_run(out, runs, budget=45 + 2)  # the script keeps a 45 s margin
    assert "stopped at the deadline" in first.stdout or "out of time" in first.stdout
    assert "Run the same command again" in first.stdout
    second = dry_run(out, runs)
    assert "All stages are finished" in second.stdout
    want_dir, _ = uninterrupted
    for name in EXPECTED:
        got = json.loads((out / name).read_text())
        want = json.loads((want_dir / name).read_text())
        assert strip(got) == strip(want), name


def test_without_a_gpu_the_real_run_refuses(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable}
    proc = subprocess.run(["bash", str(SCRIPT), str(tmp_path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    if "needs a CUDA GPU" not in proc.stderr:
        pytest.skip("a CUDA GPU is present")
    assert proc.returncode == 2 and not any(tmp_path.iterdir())


# --- the chapters' cells for committed results, run on the dry run's files ----------------------

def _tagged_cells(chapter: str, tag: str = "committed-results") -> list[str]:
    path = next((ROOT / "notebooks").glob(f"{chapter}-*.ipynb"))
    cells = json.loads(path.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if tag in c["metadata"].get("tags", [])]


@pytest.fixture
def committed(uninterrupted, tmp_path, monkeypatch):
    """The dry run's files as if they were committed results (the dry-run mark removed)."""
    from helpers import results

    out, _ = uninterrupted
    for path in out.iterdir():
        record = json.loads(path.read_text())
        del record["provenance"]["dry_run"]
        (tmp_path / path.name).write_text(json.dumps(record))
    monkeypatch.setattr(results, "RESULTS_DIR", tmp_path)
    import matplotlib

    matplotlib.use("Agg")


def test_chapter_14_shows_committed_results(committed, capsys):
    """No GPU result is committed yet, so the build never runs these cells: run them here on
    files of the format the GPU script writes."""
    import matplotlib.pyplot as plt

    from helpers import gpt, results

    cells = _tagged_cells("14")
    assert len(cells) == 2
    namespace = {"results": results, "plt": plt, "gpt": gpt, "scale": "cpu",
                 "RUNTIME": SimpleNamespace(device="cpu"), "unigram_entropy": 3.3,
                 "history": SimpleNamespace(iterations=[0, 10], val_loss=[4.2, 3.0])}
    for cell in cells:
        exec(cell, namespace)
    plt.close("all")
    printed = capsys.readouterr().out
    for expected in ("'paper' model on", "'nanogpt' model on", "sampler on", "temperature 0.8"):
        assert expected in printed
    assert "No GPU result" not in printed


def test_chapter_15_shows_committed_results(committed, capsys):
    import matplotlib.pyplot as plt

    from helpers import agreement, experiments, plotting, results

    (cell,) = _tagged_cells("15")
    namespace = {"results": results, "plt": plt, "plotting": plotting, "agreement": agreement,
                 "experiments": experiments, "drift": "drift_p1",
                 "colors": dict(zip(experiments.SETTINGS, plotting.COLORS, strict=False))}
    # The dry run has 2 generations, so "growth since generation 2" compares generation 2 with
    # itself: the cell must get to that check and the check must fail.
    with pytest.raises(agreement.Disagreement, match="committed run: growth since generation 2"):
        exec(cell, namespace)
    plt.close("all")
    printed = capsys.readouterr().out
    assert "seed 0:" in printed and "No full-scale result" not in printed
