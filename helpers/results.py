"""Small committed result files with their provenance (hardware, date, commit, configuration).

Full-scale runs need a GPU; their results are saved here as JSON under ``results/`` in the
repository and shown by the chapters beside the live run. Writes are atomic (temporary file,
then rename), so an interrupted save never leaves a half-written file.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path

from helpers.data import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "results"


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def hardware(device: str = "cpu") -> str:
    """A one-line description of the machine: the GPU's name on CUDA, else the CPU."""
    if device == "cuda":
        import torch

        return f"{torch.cuda.get_device_name()} (CUDA {torch.version.cuda})"
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores"


def provenance(device: str, config: dict) -> dict:
    """Where, when and how a result was produced."""
    return {
        "hardware": hardware(device),
        "device": device,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "commit": _commit(),
        "config": config,
    }


def _path(name: str) -> Path:
    if not name or any(part in ("", ".", "..") for part in Path(name).parts):
        raise ValueError(f"Result name {name!r} must be a plain relative name like 'gpt/paper'.")
    return RESULTS_DIR / f"{name}.json"


def write_json(path, obj) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically (temporary file, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(obj, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def save(name: str, data: dict, device: str, config: dict,
         record_provenance: dict | None = None) -> Path:
    """Write ``data`` with its provenance to ``results/<name>.json``, atomically.

    ``record_provenance`` replaces the provenance measured now (use it to publish a result
    with the provenance of the run that produced it).
    """
    record = {"provenance": record_provenance or provenance(device, config), "data": data}
    return write_json(_path(name), record)


def load(name: str) -> dict | None:
    """The record saved under ``name`` (keys ``provenance`` and ``data``), or None if none."""
    path = _path(name)
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def load_all(prefix: str) -> list[dict]:
    """Every record whose name is ``prefix`` or ``prefix-<suffix>`` (e.g. one per seed), sorted
    by name; an empty list when none is committed."""
    base = _path(prefix)
    paths = sorted(base.parent.glob(f"{base.stem}-*.json"))
    if base.is_file():
        paths.insert(0, base)
    return [json.loads(p.read_text()) for p in paths]
