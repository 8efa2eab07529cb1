"""Result files: atomic, with provenance, and safe names."""

import pytest

from helpers import results


def test_save_and_load_round_trip(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "RESULTS_DIR", tmp_path)
    path = results.save("gpt/test", {"loss": [1.0, 0.5]}, device="cpu", config={"n_layer": 2})
    assert path == tmp_path / "gpt" / "test.json"
    record = results.load("gpt/test")
    assert record["data"] == {"loss": [1.0, 0.5]}
    prov = record["provenance"]
    assert prov["device"] == "cpu" and prov["config"] == {"n_layer": 2}
    assert {"hardware", "date", "commit"} <= prov.keys()
    assert [p.name for p in (tmp_path / "gpt").iterdir()] == ["test.json"]  # no temp files


def test_missing_result_is_none(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "RESULTS_DIR", tmp_path)
    assert results.load("nothing/here") is None


@pytest.mark.parametrize("name", ["", "../escape", "a/../b"])
def test_bad_names_are_rejected(name):
    with pytest.raises(ValueError, match="plain relative name"):
        results.load(name)


def test_load_all_finds_every_seed(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "RESULTS_DIR", tmp_path)
    assert results.load_all("exp") == []
    for name in ("exp-seed2", "exp", "exp-seed1", "other"):
        results.save(name, {"name": name}, device="cpu", config={})
    assert [r["data"]["name"] for r in results.load_all("exp")] == ["exp", "exp-seed1",
                                                                    "exp-seed2"]
