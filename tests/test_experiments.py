"""Recursive transformer training: configuration, metrics, results files and resumption."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import _compare as compare
import numpy as np
import pytest

from helpers import experiments, plotting, results, runtime
from helpers.data import REPO_ROOT

pytest.importorskip("torch")

# Fields that say when, where and how fast a record was made; everything else is the result.
VOLATILE = {"device", "hardware", "commit", "date", "timings", "train_seconds",
            "tokens_per_second", "wall_time", "elapsed", "eval_seconds"}

def strip(obj):
    return compare.strip(obj, VOLATILE)

def files(root: Path, pattern: str) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in sorted(root.rglob(pattern))}

@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    root = tmp_path_factory.mktemp("run") / "uninterrupted"
    experiments.run(experiments.experiment_config("tiny"), root, device="cpu", progress=False)
    return root

# ----------------------------------------------------------------- configuration and metrics

def test_scales_and_overrides():
    full = experiments.experiment_config("full")
    assert full.model.block_size == 128 and full.model.max_iters == 2000
    assert full.generations == 10 and full.n_contexts == 300
    assert full.corpus_chars == 1_003_854  # the training split
    assert set(experiments.PAPER_SETTINGS) <= set(full.settings)
    ci = experiments.experiment_config("cpu", generations=3, settings=["synthetic"])
    assert ci.generations == 3 and ci.settings == ("synthetic",)

@pytest.mark.parametrize("kwargs, message", [
    ({"generations": 0}, "generations must be >= 1"),
    ({"settings": ("synthetic", "nope")}, "settings must be distinct names"),
    ({"settings": ("synthetic", "synthetic")}, "settings must be distinct names"),
    ({"corpus_chars": 20}, "too small"),
    ({"seed": -1}, "seed must be a non-negative integer"),
    ({"ngram_orders": (0, 2)}, "ngram_orders"),
])
def test_bad_configs_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        experiments.experiment_config("tiny", **kwargs)

def test_unknown_scale_and_field():
    with pytest.raises(ValueError, match="Unknown experiment scale"):
        experiments.experiment_config("huge")
    with pytest.raises(TypeError, match="Unknown ExperimentConfig field"):
        experiments.experiment_config("cpu", generation=3)

def test_config_round_trips_through_json():
    cfg = experiments.experiment_config("cpu")
    again = experiments.ExperimentConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg

def test_settings_define_the_corpus_mix():
    s = experiments.SETTINGS
    assert s["synthetic"].synthetic_share == 1 and s["mix-50"].synthetic_share == 0.5
    assert s["mix-20"].synthetic_share == 0.2 and s["accumulate"].accumulate
    assert s["temperature-0.8"].temperature == 0.8 and s["top-k-10"].top_k == 10

def test_text_statistics_by_hand():
    ids = np.array([0, 1, 0, 1, 2])
    stats = experiments.text_statistics(ids, orders=(1, 2, 3, 6), vocab=3)
    assert stats["distinct_ngrams"] == {"1": 3, "2": 3, "3": 3, "6": 0}
    freq = np.array([2, 2, 1]) / 5
    assert stats["unigram_entropy"] == pytest.approx(-(freq * np.log(freq)).sum())
    with pytest.raises(ValueError, match="ids must be"):
        experiments.text_statistics([0, 5], vocab=3)

def test_l1_distances():
    p = np.array([[1.0, 0.0], [0.5, 0.5]])
    q = np.array([[0.0, 1.0], [0.5, 0.5]])
    assert experiments.l1_distances(p, q).tolist() == [2.0, 0.0]
    with pytest.raises(ValueError, match="same shape|one shape"):
        experiments.l1_distances(p, q[:1])

# ----------------------------------------------------------------- a whole run

def test_run_writes_every_generation(uninterrupted):
    cfg = experiments.experiment_config("tiny")
    summary = experiments.summarize(uninterrupted)
    assert summary["config"] == cfg.to_dict()
    assert {"hardware", "date", "commit", "config"} <= set(summary["provenance"])
    for name in cfg.settings:
        gens = summary["settings"][name]
        assert [r["generation"] for r in gens] == list(range(1, cfg.generations + 1))
        assert gens[0]["drift_p1"]["mean"] == 0.0  # generation 1 is the reference
        for rec in gens:
            assert rec["text"]["chars"] == cfg.corpus_chars
            assert {"device", "commit", "seed", "timings", "history"} <= set(rec)
            if rec["generation"] > 1:
                assert rec["corpus"]["real_chars"] + rec["corpus"]["synthetic_chars"] >= \
                    cfg.corpus_chars
                assert len(rec["history"]["val_loss"]) >= 2
    acc = summary["settings"]["accumulate"]
    assert [r["corpus"]["synthetic_chars"] for r in acc[1:]] == [
        (m - 1) * cfg.corpus_chars for m in range(2, cfg.generations + 1)]
    mix = summary["settings"]["mix-20"][1]["corpus"]
    assert mix == {"real_chars": cfg.corpus_chars - round(0.2 * cfg.corpus_chars),
                   "synthetic_chars": round(0.2 * cfg.corpus_chars)}

    assert summary["floor"]["drift_p1"]["mean"] > 0
    # Settings that decode alike share one generation-1 sample; top-k has its own.
    first = {name: np.load(uninterrupted / name / "gen-01" / "sample.npy") for name in cfg.settings}
    np.testing.assert_array_equal(first["synthetic"], first["accumulate"])
    np.testing.assert_array_equal(first["synthetic"], first["mix-20"])
    assert not np.array_equal(first["synthetic"], first["top-k-10"])
    # No training checkpoints are left behind once a generation is finished.
    assert not list(uninterrupted.rglob("ckpt.pt"))
    timings = experiments.stage_timings(summary)
    assert timings["generations_timed"] == len(cfg.settings) * (cfg.generations - 1)
    assert timings["sample_seconds_per_million_chars"] > 0

def test_resuming_a_finished_run_recomputes_nothing(uninterrupted):
    before = {k: p.stat().st_mtime_ns for k, p in files(uninterrupted, "metrics.json").items()}
    experiments.run(experiments.experiment_config("tiny"), uninterrupted, device="cpu",
                    progress=False)
    after = {k: p.stat().st_mtime_ns for k, p in files(uninterrupted, "metrics.json").items()}
    assert after == before

def test_another_config_in_the_same_folder_is_refused(uninterrupted):
    with pytest.raises(ValueError, match="another configuration.*corpus_chars"):
        experiments.run(experiments.experiment_config("tiny", corpus_chars=5_000),
                        uninterrupted, device="cpu", progress=False)


def test_a_longer_run_extends_the_folder_and_reuses_finished_stages(uninterrupted, tmp_path):
    import shutil

    root = tmp_path / "extended"
    shutil.copytree(uninterrupted, root)
    cfg = experiments.experiment_config("tiny")
    longer = experiments.experiment_config("tiny", generations=cfg.generations + 1,
                                           settings=["synthetic"])
    assert experiments.default_run_dir(longer) == experiments.default_run_dir(cfg)
    before = {k: p.stat().st_mtime_ns for k, p in files(root, "metrics.json").items()}
    experiments.run(longer, root, device="cpu", progress=False)
    after = files(root, "metrics.json")
    assert {k: after[k].stat().st_mtime_ns for k in before} == before  # nothing recomputed
    assert set(after) - set(before) == {f"synthetic/gen-{cfg.generations + 1:02d}/metrics.json"}
    summary = experiments.summarize(root)
    assert list(summary["settings"]) == ["synthetic"]
    assert len(summary["settings"]["synthetic"]) == cfg.generations + 1
    experiments.run(cfg, root, device="cpu", progress=False)  # back to the original extent
    assert experiments.summarize(root)["config"] == cfg.to_dict()

def test_killed_run_resumes_to_the_same_result(uninterrupted, tmp_path):
    """SIGKILL a run part-way (as a Colab disconnect would), resume it, compare everything."""
    root = tmp_path / "killed"
    cmd = [sys.executable, "-m", "helpers.experiments", "--scale", "tiny", "--out", str(root),
           "--device", "cpu", "--no-progress"]
    env = {**os.environ, "BOOK_OFFLINE": "1"}
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.time() + 300
    # Kill once generation 2 has started somewhere: finished generations exist, others not.
    while time.time() < deadline and proc.poll() is None:
        if list(root.glob("*/gen-02")):
            break
        time.sleep(0.005)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read()}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done_before = files(root, "metrics.json")
    assert done_before, "nothing had finished before the kill"
    stamps = {k: p.stat().st_mtime_ns for k, p in done_before.items()}
    cfg = experiments.experiment_config("tiny")
    expected_total = 2 + 1 + len(cfg.settings) * cfg.generations  # ground truth, gen 1 + replica
    assert len(done_before) < expected_total

    experiments.run(cfg, root, device="cpu", progress=False)

    # Nothing finished before the kill was recomputed...
    assert {k: done_before[k].stat().st_mtime_ns for k in done_before} == stamps
    # ...and the resumed run equals the uninterrupted one, number for number.
    got, want = files(root, "metrics.json"), files(uninterrupted, "metrics.json")
    assert got.keys() == want.keys() and len(got) == expected_total
    for key in want:
        assert strip(json.loads(got[key].read_text())) == \
            strip(json.loads(want[key].read_text())), key
    arrays_got, arrays_want = files(root, "*.npy"), files(uninterrupted, "*.npy")
    assert arrays_got.keys() == arrays_want.keys()
    for key in arrays_want:
        np.testing.assert_array_equal(np.load(arrays_got[key]), np.load(arrays_want[key]),
                                      err_msg=key)

def test_publish_writes_a_results_file(uninterrupted, tmp_path, monkeypatch):
    monkeypatch.setattr(results, "RESULTS_DIR", tmp_path)
    path = experiments.publish(uninterrupted, "transformer/test")
    record = results.load("transformer/test")
    assert path == tmp_path / "transformer" / "test.json"
    assert record["provenance"]["config"]["generations"] == 3
    assert record["provenance"]["timings"]["train_seconds_per_generation"] > 0
    assert record["data"]["settings"]["synthetic"][0]["generation"] == 1

def test_summarize_needs_a_run_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a run folder"):
        experiments.summarize(tmp_path)

def test_run_validates_arguments(tmp_path):
    cfg = experiments.experiment_config("tiny")
    with pytest.raises(ValueError, match="not in this run's settings"):
        experiments.run(cfg, tmp_path, device="cpu", settings=["mix-50"], progress=False)
    with pytest.raises(TypeError, match="ExperimentConfig"):
        experiments.run({"scale": "cpu"}, tmp_path)
    with pytest.raises(ValueError, match="cpu_threads"):
        experiments.run(cfg, tmp_path, device="cpu", cpu_threads=0, progress=False)

def test_default_run_dir_follows_config_and_env(monkeypatch, tmp_path):
    monkeypatch.setenv(runtime.RUNS_VAR, str(tmp_path))
    a = experiments.default_run_dir(experiments.experiment_config("cpu"))
    b = experiments.default_run_dir(experiments.experiment_config("cpu", seed=1))
    assert a.parent == tmp_path and a != b
    assert a == experiments.default_run_dir(experiments.experiment_config("cpu"))

def test_plots_of_a_run(uninterrupted):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = experiments.summarize(uninterrupted)
    gens = summary["settings"]["synthetic"]
    fig, (a, b) = plt.subplots(1, 2)
    mean, half = plotting.generation_curve(a, gens, "drift_p1")
    assert mean[0] == 0 and half.shape == mean.shape
    mean, half = plotting.generation_curve(a, [gens, gens], "text.unigram_entropy")
    assert np.all(half == 0)
    plotting.loss_curves(b, gens, title="synthetic")
    assert len(b.lines) == len(gens) and b.get_xscale() == "log"
    with pytest.raises(KeyError, match="no metric"):
        plotting.generation_curve(a, gens, "nope")
    plt.close(fig)


def test_per_context_values_pair_up_for_agreement(uninterrupted):
    from helpers import agreement

    gens = experiments.summarize(uninterrupted)["settings"]["synthetic"]
    last, first = experiments.per_context(gens[-1], gens[0], metric="drift_p1")
    assert first.tolist() == [0.0] * first.size  # generation 1 is the reference
    assert last.tolist() == gens[-1]["drift_p1"]["values"]
    diff = agreement.z_scores(last, first, paired=True)
    assert diff.estimate == pytest.approx(last.mean())
    assert diff.se == pytest.approx(last.std(ddof=1) / np.sqrt(last.size))
    with pytest.raises(KeyError, match="per-context values"):
        experiments.per_context(gens[-1], gens[0], metric="text")
    with pytest.raises(ValueError, match="same run"):
        experiments.per_context(gens[-1], {"drift_p1": {"values": [0.1, 0.2]}},
                                metric="drift_p1")


def test_ensemble_run_gives_the_same_summary(uninterrupted, tmp_path):
    """Training the models of each stage together (helpers.ensemble) instead of one by one
    changes nothing but rounding: the tiny scale has dropout 0. Measured: per-context drift and
    sigma agree to 1e-7 and every sample is the same text; the tolerance is 1e-4."""
    cfg = experiments.experiment_config("tiny")
    assert cfg.model.dropout == 0
    root = experiments.run(cfg, tmp_path / "ensembled", device="cpu", progress=False,
                           ensemble=True)
    a, b = experiments.summarize(uninterrupted), experiments.summarize(root)
    # the ensemble path was taken: generation m >= 2 trained all settings together
    assert {r["history"]["members"] for r in b["settings"]["synthetic"][1:]} == {
        len(cfg.settings)}
    assert not list(root.rglob("ckpt.pt"))
    for name in cfg.settings:
        for ra, rb in zip(a["settings"][name], b["settings"][name], strict=True):
            for metric in ("drift_p1", "drift_p0", "sigma"):
                np.testing.assert_allclose(rb[metric]["values"], ra[metric]["values"],
                                           atol=1e-4, err_msg=f"{name} {metric}")
            assert rb["final_val_loss"] == pytest.approx(ra["final_val_loss"], abs=1e-4)
            assert rb["sample_text"] == ra["sample_text"]
    assert b["floor"]["drift_p1"]["mean"] == pytest.approx(a["floor"]["drift_p1"]["mean"],
                                                           abs=1e-4)


def test_run_stops_at_its_deadline_and_resumes(uninterrupted, tmp_path):
    from helpers.train import DeadlineReached

    cfg = experiments.experiment_config("tiny")
    root = tmp_path / "deadline"
    with pytest.raises(DeadlineReached, match="resume"):
        experiments.run(cfg, root, device="cpu", progress=False, deadline=time.monotonic())
    assert not files(root, "metrics.json")
    experiments.run(cfg, root, device="cpu", progress=False)
    got, want = files(root, "metrics.json"), files(uninterrupted, "metrics.json")
    assert got.keys() == want.keys()
