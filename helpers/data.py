"""Tiny Shakespeare: finding a verified local copy, a character tokenizer, the 90/10 split.

The text is never committed and never downloaded at import time. ``load_tiny_shakespeare``
looks for a local copy first and downloads from the canonical public address only as a
last resort (and never when ``BOOK_OFFLINE`` is set, as the tests do). Every copy, local or
downloaded, is checked against the known size and SHA-256 before it is used.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from collections.abc import Iterable
from pathlib import Path

import numpy as np

URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
SIZE = 1_115_394
SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
ENV_VAR = "TINY_SHAKESPEARE"
OFFLINE_VAR = "BOOK_OFFLINE"
REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_COPY = REPO_ROOT.parent / "shared" / "data" / "tinyshakespeare" / "input.txt"


class DataFileError(RuntimeError):
    """No verified copy of the data set could be found or made."""


def cache_path() -> Path:
    """Where a downloaded copy is kept: ``$XDG_CACHE_HOME`` (or ``~/.cache``)/collapse-book."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "collapse-book" / "tinyshakespeare" / "input.txt"


def candidate_paths() -> list[Path]:
    """The places searched, in order: ``$TINY_SHAKESPEARE``, the shared data folder, the cache."""
    paths = []
    if os.environ.get(ENV_VAR):
        paths.append(Path(os.environ[ENV_VAR]).expanduser())
    paths += [SHARED_COPY, cache_path()]
    return paths


def verify(path: Path) -> str | None:
    """Return ``None`` if ``path`` holds the exact data set, else what is wrong with it."""
    size = path.stat().st_size
    if size != SIZE:
        return f"it has {size:,} bytes, expected {SIZE:,}"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256:
        return f"its sha256 is {digest}, expected {SHA256}"
    return None


def _download(target: Path) -> None:
    """Download to a temporary file beside ``target``, verify it, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        print(f"Downloading tiny Shakespeare from {URL} ...")
        with urllib.request.urlopen(URL, timeout=60) as response:
            tmp_path.write_bytes(response.read())
        problem = verify(tmp_path)
        if problem:
            raise DataFileError(f"The downloaded file is not the expected data set: {problem}.")
        tmp_path.replace(target)
    finally:
        tmp_path.unlink(missing_ok=True)


def _explain(tried: Iterable[str], extra: str) -> str:
    lines = "\n".join(f"  - {t}" for t in tried)
    return (
        f"Could not find a verified copy of tiny Shakespeare.\nPaths tried:\n{lines}\n{extra}\n"
        f"How to fix: point the variable {ENV_VAR} at a good copy of input.txt "
        f"({SIZE:,} bytes, sha256 {SHA256}), or delete the bad file and run again with "
        f"network access so that it is downloaded from {URL}."
    )


def find_tiny_shakespeare(download: bool | None = None) -> Path:
    """Return the path of a verified copy, downloading one into the cache if allowed.

    ``download=None`` allows a download unless ``BOOK_OFFLINE`` is set (tests set it).
    The first existing candidate is used; if it is corrupted this raises rather than
    silently falling back to another copy.
    """
    if download is None:
        download = not os.environ.get(OFFLINE_VAR)
    tried = []
    for path in candidate_paths():
        if not path.is_file():
            tried.append(f"{path} (not found)")
            continue
        problem = verify(path)
        if problem is None:
            return path
        tried.append(f"{path} (found, but {problem})")
        raise DataFileError(_explain(tried, f"The copy at {path} is corrupted: {problem}."))
    if not download:
        raise DataFileError(_explain(tried, f"Downloading is off ({OFFLINE_VAR} is set)."))
    target = cache_path()
    try:
        _download(target)
    except OSError as err:
        raise DataFileError(_explain(tried, f"The download failed: {err}.")) from err
    return target


def load_tiny_shakespeare(download: bool | None = None) -> str:
    """Return the full text of tiny Shakespeare (1,115,394 characters), verified."""
    return find_tiny_shakespeare(download).read_text(encoding="utf-8")


class CharTokenizer:
    """Map each distinct character of a text to an integer, in sorted order."""

    def __init__(self, text: str):
        if not text:
            raise ValueError("CharTokenizer needs a non-empty text to build its vocabulary from.")
        self.chars = sorted(set(text))
        self.stoi = {ch: i for i, ch in enumerate(self.chars)}

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """Return the token ids of ``text`` as an int64 array."""
        unknown = sorted(set(text) - self.stoi.keys())
        if unknown:
            raise ValueError(
                f"Characters {unknown!r} are not in the vocabulary of {self.vocab_size}; "
                "build the tokenizer from a text that contains them."
            )
        return np.fromiter((self.stoi[ch] for ch in text), dtype=np.int64, count=len(text))

    def decode(self, ids: Iterable[int]) -> str:
        """Return the text whose token ids are ``ids``."""
        return "".join(self.chars[int(i)] for i in ids)


def train_val_split(tokens, train_fraction: float = 0.9):
    """Split a sequence into its first ``train_fraction`` and the rest (no shuffling)."""
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must lie strictly between 0 and 1, got {train_fraction}.")
    cut = int(train_fraction * len(tokens))
    return tokens[:cut], tokens[cut:]
