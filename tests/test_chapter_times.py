"""scripts/chapter_times.py, which measures the chapter times that the instructor page shows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "chapter_times.py"


def run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_times_one_chapter_and_writes_nothing():
    before = sorted((ROOT / "results").glob("*.json"))
    proc = run("--only", "02")
    assert proc.returncode == 0, proc.stderr
    assert "02-recursive-training" in proc.stdout and "load average" in proc.stdout
    assert "wrote" not in proc.stdout
    assert sorted((ROOT / "results").glob("*.json")) == before


def test_an_unknown_chapter_is_refused_with_the_list():
    proc = run("--only", "99")
    assert proc.returncode != 0
    assert "No chapter numbered 99" in proc.stderr and "00, 01" in proc.stderr
