"""Tests of helpers.atomic: a write replaces the file whole, or leaves it as it was."""

import numpy as np
import pytest

from helpers.atomic import atomic_write


def test_writes_through_the_callback_and_creates_the_folder(tmp_path):
    path = tmp_path / "run" / "probs.npy"
    assert atomic_write(path, lambda f: np.save(f, np.arange(3))) == path
    np.testing.assert_array_equal(np.load(path), np.arange(3))
    atomic_write(path, lambda f: np.save(f, np.ones(2)))  # replaces the old file
    np.testing.assert_array_equal(np.load(path), np.ones(2))
    assert [p.name for p in path.parent.iterdir()] == ["probs.npy"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path):
    path = tmp_path / "result.json"
    path.write_bytes(b'{"old": 1}')

    def failing(f):
        f.write(b"partial garbage")
        raise OSError("disk full (simulated)")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, failing)
    assert path.read_bytes() == b'{"old": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]
    with pytest.raises(KeyboardInterrupt):  # an interrupt, too
        atomic_write(tmp_path / "new.npy", lambda f: (_ for _ in ()).throw(KeyboardInterrupt))
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]
