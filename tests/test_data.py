"""The tiny Shakespeare loader, tokenizer and split."""

import hashlib

import numpy as np
import pytest

from helpers import data


@pytest.fixture(scope="module")
def text():
    return data.load_tiny_shakespeare(download=False)


def test_loads_the_verified_text(text):
    assert len(text) == data.SIZE == 1_115_394
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == data.SHA256


def test_vocabulary_and_round_trip(text):
    tok = data.CharTokenizer(text)
    assert tok.vocab_size == 65
    ids = tok.encode(text[:5000])
    assert ids.dtype == np.int64 and ids.min() >= 0 and ids.max() < 65
    assert tok.decode(ids) == text[:5000]


def test_standard_split_sizes(text):
    tok = data.CharTokenizer(text)
    train, val = data.train_val_split(tok.encode(text))
    assert (len(train), len(val)) == (1_003_854, 111_540)


def test_split_rejects_bad_fraction():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        data.train_val_split(np.arange(10), 1.0)


def test_unknown_character_is_a_clear_error():
    tok = data.CharTokenizer("abc")
    with pytest.raises(ValueError, match="not in the vocabulary"):
        tok.encode("abd")


def test_environment_variable_takes_precedence(tmp_path, monkeypatch, text):
    copy = tmp_path / "input.txt"
    copy.write_text(text, encoding="utf-8")
    monkeypatch.setenv(data.ENV_VAR, str(copy))
    assert data.find_tiny_shakespeare(download=False) == copy


def test_corrupted_copy_raises_with_paths_and_fix(tmp_path, monkeypatch, text):
    bad = tmp_path / "input.txt"
    bad.write_text("x" + text[1:], encoding="utf-8")  # right size, wrong content
    monkeypatch.setenv(data.ENV_VAR, str(bad))
    with pytest.raises(data.DataFileError) as err:
        data.load_tiny_shakespeare(download=False)
    message = str(err.value)
    assert str(bad) in message and "sha256" in message and "How to fix" in message


def test_truncated_copy_reports_its_size(tmp_path, monkeypatch):
    bad = tmp_path / "input.txt"
    bad.write_text("First Citizen:\n", encoding="utf-8")
    monkeypatch.setenv(data.ENV_VAR, str(bad))
    with pytest.raises(data.DataFileError, match="15 bytes, expected 1,115,394"):
        data.load_tiny_shakespeare(download=False)


def test_missing_everywhere_lists_every_path_and_never_downloads(tmp_path, monkeypatch):
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "nowhere.txt"))
    monkeypatch.setattr(data, "SHARED_COPY", tmp_path / "shared" / "input.txt")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv(data.OFFLINE_VAR, "1")

    def no_network(*args, **kwargs):
        raise AssertionError("the loader tried to download")

    monkeypatch.setattr(data.urllib.request, "urlopen", no_network)
    with pytest.raises(data.DataFileError) as err:
        data.load_tiny_shakespeare()
    message = str(err.value)
    for path in data.candidate_paths():
        assert str(path) in message
    assert "BOOK_OFFLINE" in message
