"""Atomic file writes: every file the book writes goes through :func:`atomic_write`.

The bytes go to a temporary file in the target's folder, which is flushed, fsynced and then
renamed over the target (``os.replace``, atomic on POSIX and Windows); the folder is fsynced
too where the system allows it, so that the rename itself survives a crash. An interrupted
write (a full disk, a killed process, a Colab disconnect) leaves the old file or the new one,
never half of one, and no temporary file behind. Training checkpoints (:mod:`helpers.train`,
:mod:`helpers.ensemble`), the arrays and models of a run folder (:mod:`helpers.experiments`)
and JSON results (:func:`helpers.results.write_json`) are all written this way.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write"]


def atomic_write(path, write: Callable[[BinaryIO], object]) -> Path:
    """Write the file ``path`` atomically; ``write(handle)`` writes its bytes to ``handle``.

    ``handle`` is a binary file open for writing, e.g. ``lambda f: np.save(f, array)`` or
    ``lambda f: torch.save(obj, f)``. Creates the folder if needed; returns ``path``. If
    ``write`` raises, ``path`` is left as it was and the exception propagates.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # make the rename itself durable where possible
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    return path
