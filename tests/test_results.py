"""Result files: atomic, with provenance, and safe names."""

import json

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


def test_save_to_another_directory_and_versions(tmp_path):
    path = results.save("transformer-x", {"a": 1}, device="cpu", config={}, directory=tmp_path)
    assert path == tmp_path / "transformer-x.json"
    prov = json.loads(path.read_text())["provenance"]
    assert {"python", "torch"} <= set(prov["versions"])


def test_dry_run_records_are_never_shown(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "RESULTS_DIR", tmp_path)
    results.save("exp", {"x": 1}, device="cpu", config={},
                 record_provenance={"dry_run": True, "hardware": "cpu"})
    results.save("exp-seed1", {"x": 2}, device="cpu", config={})
    with pytest.warns(UserWarning, match="dry run"):
        assert results.load("exp") is None
    with pytest.warns(UserWarning, match="dry run"):
        assert [r["data"]["x"] for r in results.load_all("exp")] == [2]


def test_committed_results_are_real_and_complete():
    """Every file under results/ is a real (not dry-run) record with its provenance."""
    for path in sorted(results.RESULTS_DIR.rglob("*.json")):
        record = json.loads(path.read_text())
        prov = record["provenance"]
        assert not prov.get("dry_run"), f"{path} is a dry-run output, not a result"
        assert {"hardware", "date", "commit"} <= set(prov), path


def test_commit_can_come_from_the_environment(monkeypatch):
    monkeypatch.setenv(results.COMMIT_VAR, "abc1234")
    assert results.provenance("cpu", {})["commit"] == "abc1234"
