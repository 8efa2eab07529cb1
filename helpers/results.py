"""Small committed result files with their provenance: hardware, versions, date, commit, config.

Full-scale runs need a GPU; their results are saved as JSON under ``results/`` in the
repository and shown by the chapters beside the live run. The files ship inside the package
too (``helpers/committed``, see ``pyproject.toml``), so the chapters find them also when the
helpers are pip-installed, as on Colab. Writes are atomic (:func:`helpers.atomic.atomic_write`),
so an interrupted save never leaves a half-written file. A record from a dry run (shrunken sizes, on
a CPU) is never shown as a result.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import warnings
from pathlib import Path

from helpers.atomic import atomic_write
from helpers.data import REPO_ROOT

COMMIT_VAR = "BOOK_COMMIT"  # the commit, for a copy of the repository without its .git


def _results_dir() -> Path:
    """``results/`` of the checkout, or the copy installed with the package."""
    if (REPO_ROOT / "_toc.yml").is_file():
        return REPO_ROOT / "results"
    return Path(__file__).resolve().parent / "committed"


RESULTS_DIR = _results_dir()


def _commit() -> str:
    if os.environ.get(COMMIT_VAR):
        return os.environ[COMMIT_VAR]
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
    return f"{_cpu_name()}, {os.cpu_count()} CPU cores"


def _cpu_name() -> str:
    """The processor's model name where the system says it (Linux), else its architecture."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _versions() -> dict:
    out = {"python": platform.python_version()}
    try:
        import torch
    except ImportError:
        return out
    out["torch"] = torch.__version__
    out["cuda"] = torch.version.cuda
    return out


def provenance(device: str, config: dict) -> dict:
    """Where, when and how a result was produced."""
    return {
        "hardware": hardware(device),
        "device": device,
        "versions": _versions(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "commit": _commit(),
        "config": config,
    }


def _path(name: str, directory=None) -> Path:
    if not name or any(part in ("", ".", "..") for part in Path(name).parts):
        raise ValueError(f"Result name {name!r} must be a plain relative name like 'gpt-paper'.")
    return Path(directory or RESULTS_DIR) / f"{name}.json"


def write_json(path, obj) -> Path:
    """Write ``obj`` as JSON to ``path``, atomically (:func:`helpers.atomic.atomic_write`)."""
    return atomic_write(path, lambda f: f.write(json.dumps(obj, indent=1).encode()))


def save(name: str, data: dict, device: str, config: dict,
         record_provenance: dict | None = None, directory=None) -> Path:
    """Write ``data`` with its provenance to ``<directory>/<name>.json`` (default: ``results/``),
    atomically.

    ``record_provenance`` replaces the provenance measured now (use it to publish a result
    with the provenance of the run that produced it).
    """
    record = {"provenance": record_provenance or provenance(device, config), "data": data}
    return write_json(_path(name, directory), record)


def _read(path: Path) -> dict | None:
    record = json.loads(path.read_text())
    if record.get("provenance", {}).get("dry_run"):
        warnings.warn(f"{path} comes from a dry run (shrunken sizes): it is not a result and "
                      "is not shown; replace it with the output of a real run.", stacklevel=3)
        return None
    return record


def load(name: str) -> dict | None:
    """The record saved under ``name`` (keys ``provenance`` and ``data``), or None if none."""
    path = _path(name)
    if not path.is_file():
        return None
    return _read(path)


def load_all(prefix: str) -> list[dict]:
    """Every record whose name is ``prefix`` or ``prefix-<suffix>`` (e.g. one per seed), sorted
    by name; an empty list when none is committed."""
    base = _path(prefix)
    paths = sorted(base.parent.glob(f"{base.stem}-*.json"))
    if base.is_file():
        paths.insert(0, base)
    records = [_read(p) for p in paths]
    return [r for r in records if r is not None]


# --- one-line descriptions, for the chapters that show committed results ------------------------


def source(record: dict) -> str:
    """Where a record was measured: hardware, torch version, date and commit, in one line."""
    prov = record["provenance"]
    torch_version = prov.get("versions", {}).get("torch", "unknown")
    return (f"{prov['hardware']}, torch {torch_version}, {prov['date'][:10]}, "
            f"commit {prov['commit']}")


def describe_training(record: dict) -> str:
    """A committed training run in one line: iterations, time, speed, best validation loss (and
    the time to the target loss where the run records one). Chapter 14 prints it."""
    res = record["data"]
    text = (f"{res['history']['iterations'][-1]:,} iterations in {res['train_seconds']:.0f} s "
            f"of training ({res['tokens_per_second']:,.0f} tokens/s), best validation loss "
            f"{res['best_val_loss']:.3f}")
    if res.get("seconds_to_target") is not None:
        text += f", loss {res['target_loss']} after {res['seconds_to_target']:.0f} s"
    return text


def describe_sampler(record: dict) -> str:
    """A committed sampler measurement in one line: throughput and the KV cache's speed-up.
    Chapter 14 prints it."""
    res = record["data"]
    return (f"{res['chars']:,} characters in {res['seconds']:.1f} s "
            f"({res['chars_per_second']:,.0f} per second, {res['streams']} streams); the KV "
            f"cache is {res['short']['speedup']:.1f}x faster than recomputing the window")
