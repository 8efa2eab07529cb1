"""Where and how big: the device, the scale of the experiments, and the seeds.

Every chapter calls :func:`setup` once. The transformer chapters run at scale ``full`` on a
CUDA GPU and at the reduced scale ``ci`` everywhere else; the variable ``BOOK_SCALE``
overrides the choice and ``BOOK_DEVICE`` the device. torch is optional: without it the
device is the CPU.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np

SCALES = ("full", "ci")
DEVICES = ("cuda", "mps", "cpu")
SCALE_VAR = "BOOK_SCALE"
DEVICE_VAR = "BOOK_DEVICE"


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


def pick_scale(device: str | None = None, name: str | None = None) -> str:
    """Return ``name``, else ``$BOOK_SCALE``, else ``full`` on CUDA and ``ci`` elsewhere."""
    name = name or os.environ.get(SCALE_VAR) or None
    if name is None:
        return "full" if (device or pick_device()) == "cuda" else "ci"
    if name not in SCALES:
        raise ValueError(
            f"Unknown scale {name!r}; choose one of {SCALES}, e.g. `export {SCALE_VAR}=ci`."
        )
    return name


def seed_everything(seed: int) -> np.random.Generator:
    """Seed python's ``random``, numpy's global state and torch; return a fresh numpy Generator."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
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
        return f"Running at scale '{self.scale}' on device '{self.device}' (seed {self.seed})."


def setup(seed: int = 0, device: str | None = None, scale: str | None = None,
          verbose: bool = True) -> Runtime:
    """Pick device and scale, seed everything, and say what was chosen."""
    device = pick_device(device)
    runtime = Runtime(device, pick_scale(device, scale), seed, seed_everything(seed))
    if verbose:
        print(runtime.describe())
    return runtime
