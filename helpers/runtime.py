"""Where and how big: the device, the scale of the experiments, the precision and the seeds.

Every chapter calls :func:`setup` once. The transformer chapters (Part V) run at one of the
:data:`SCALES`, picked from the hardware: ``full`` (the paper exactly) on a CUDA GPU with at
least :data:`FULL_SCALE_MIN_GIB` GiB of memory, ``t4`` on a smaller GPU such as Colab's free
T4, ``cpu`` everywhere else. ``BOOK_SCALE`` overrides the choice and ``BOOK_DEVICE`` the device.
torch is optional: without it the device is the CPU.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers._validate import validate_seed

SCALES: dict[str, str] = {
    "full": "the paper exactly: its model (Table 1), 2000 iterations, 1M-character corpora, "
            "10 generations (a GPU with at least 40 GB)",
    "t4": "the paper's model, fewer iterations, smaller corpora and fewer generations "
          "(a free Colab T4, 16 GB)",
    "cpu": "small models that train in minutes on two CPU cores",
}
DEVICES = ("cuda", "mps", "cpu")
PRECISIONS = ("bf16", "fp16", "fp32")
SCALE_VAR = "BOOK_SCALE"
DEVICE_VAR = "BOOK_DEVICE"
RUNS_VAR = "BOOK_RUNS"  # where run folders go (default: runs/ in the repository)
FULL_SCALE_MIN_GIB = 39  # a "40 GB" GPU (A100 40GB: 39.6 GiB) runs scale full; a 24 GB one not


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _available(device: str) -> bool:
    torch = _torch()
    if device == "cpu":
        return True
    if torch is None:
        return False
    if device == "cuda":
        return torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def pick_device(name: str | None = None) -> str:
    """Return ``name``, else ``$BOOK_DEVICE``, else the best available of CUDA, MPS, CPU."""
    name = name or os.environ.get(DEVICE_VAR) or None
    if name is None:
        return next(d for d in DEVICES if _available(d))
    if name not in DEVICES:
        raise ValueError(
            f"Unknown device {name!r}; choose one of {DEVICES} (or unset {DEVICE_VAR})."
        )
    if not _available(name):
        raise ValueError(f"Device {name!r} was asked for but is not available on this machine.")
    return name


def gpu_memory_gib() -> float | None:
    """Memory of the current CUDA GPU in GiB, or None without one."""
    torch = _torch()
    if torch is None or not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory / 2**30


def scale_for(device: str, gpu_gib: float | None = None) -> str:
    """The scale the hardware affords: ``full`` on a CUDA GPU with at least
    :data:`FULL_SCALE_MIN_GIB` GiB, ``t4`` on a smaller one, ``cpu`` on anything else."""
    if device != "cuda":
        return "cpu"
    gib = gpu_memory_gib() if gpu_gib is None else gpu_gib
    return "full" if gib is not None and gib >= FULL_SCALE_MIN_GIB else "t4"


def pick_scale(device: str | None = None, name: str | None = None) -> str:
    """Return ``name``, else ``$BOOK_SCALE``, else :func:`scale_for` the device."""
    name = name or os.environ.get(SCALE_VAR) or None
    if name is None:
        return scale_for(device or pick_device())
    if name not in SCALES:
        raise ValueError(
            f"Unknown scale {name!r}; choose one of {list(SCALES)}, e.g. "
            f"`export {SCALE_VAR}=cpu`.")
    return name


def pick_precision(device: str, name: str | None = None) -> str:
    """``name`` if given, else bf16 on a CUDA GPU that supports it, fp16 on older CUDA GPUs
    (with a gradient scaler in training) and fp32 elsewhere. bf16 also runs on the CPU."""
    if name is None:
        torch = _torch()
        if device != "cuda" or torch is None:
            return "fp32"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if name not in PRECISIONS:
        raise ValueError(f"Unknown precision {name!r}; choose one of {PRECISIONS} or None "
                         "(None picks from the device).")
    if name == "fp16" and device == "cpu":
        raise ValueError("fp16 autocast is for CUDA GPUs; use precision='bf16' or 'fp32' on "
                         "the CPU.")
    return name


def autocast(device: str, precision: str):
    """A context manager: mixed precision ``precision`` on ``device`` (a no-op for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    import torch

    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast("cuda" if device == "cuda" else "cpu", dtype=dtype)


def runs_dir() -> Path:
    """Where run folders (checkpoints, finished generations) live: ``$BOOK_RUNS``, else
    ``runs/`` in the repository, else ``~/.cache/collapse-book/runs`` when the helpers are
    installed without it (on Colab, point ``BOOK_RUNS`` at a Drive folder to keep runs)."""
    from helpers.data import REPO_ROOT

    default = (REPO_ROOT / "runs" if (REPO_ROOT / "_toc.yml").is_file()
               else Path.home() / ".cache" / "collapse-book" / "runs")
    return Path(os.environ.get(RUNS_VAR) or default)


def run_folder(name: str, config: dict, modules: tuple[str, ...]) -> Path:
    """``runs_dir() / <name>-<hash>``. The hash covers ``config``, the source of the helper
    ``modules`` that compute the results, and torch's version, so a re-run of the same code
    finds its finished work and changed code starts a fresh folder."""
    h = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    h.update(code_fingerprint(modules).encode())
    return runs_dir() / f"{name}-{h.hexdigest()[:12]}"


def code_fingerprint(modules: tuple[str, ...]) -> str:
    """A hash of torch's version and the source of the helper ``modules``: the code that
    computes a run's results (:func:`run_folder` names folders with it; a run folder of
    :mod:`helpers.experiments` records it)."""
    import torch

    h = hashlib.sha256(torch.__version__.split("+")[0].encode())
    for module in modules:
        h.update((Path(__file__).with_name(f"{module}.py")).read_bytes())
    return h.hexdigest()


def seed_everything(seed: int) -> np.random.Generator:
    """Seed python's ``random``, numpy's global state and torch; return a fresh numpy Generator."""
    seed = validate_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (seeds legacy global-state code too)
    torch = _torch()
    if torch is not None:
        torch.manual_seed(seed)
    return np.random.default_rng(seed)


@dataclass(frozen=True)
class Runtime:
    """What a chapter runs on: device, scale and the seed it started from."""

    device: str
    scale: str
    seed: int
    rng: np.random.Generator

    def describe(self) -> str:
        where = self.device
        if self.device == "cuda":
            torch = _torch()
            where = f"cuda ({torch.cuda.get_device_name()}, {gpu_memory_gib():.0f} GiB)"
        return f"Running at scale '{self.scale}' on device '{where}' (seed {self.seed})."


def setup(seed: int = 0, device: str | None = None, scale: str | None = None,
          verbose: bool = True) -> Runtime:
    """Pick device and scale, seed everything, and say what was chosen."""
    device = pick_device(device)
    runtime = Runtime(device, pick_scale(device, scale), seed, seed_everything(seed))
    if verbose:
        print(runtime.describe())
    return runtime
