"""Tests of helpers.train: schedule, batches, learning, determinism, checkpoints and the CLI."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from helpers import train as train_mod  # noqa: E402
from helpers.data import CharTokenizer, load_tiny_shakespeare, train_val_split  # noqa: E402
from helpers.gpt import get_config  # noqa: E402
from helpers.train import CHECKPOINT, get_batch, lr_at, train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=16, max_iters=20,
            warmup_iters=4, eval_interval=5, eval_iters=2, learning_rate=1e-2, min_lr=1e-3)


@pytest.fixture(scope="module")
def data():
    text = load_tiny_shakespeare()[:200_000]
    tok = CharTokenizer(load_tiny_shakespeare())
    train_ids, val_ids = train_val_split(tok.encode(text), 0.9)
    return get_config("small", vocab_size=tok.vocab_size, **TINY), train_ids, val_ids


def run(data, **kwargs):
    config, train_ids, val_ids = data
    kwargs.setdefault("device", "cpu")
    return train(config, train_ids, val_ids, progress=False, **kwargs)


def test_lr_schedule_shape():
    config = get_config("small", max_iters=100, warmup_iters=10, learning_rate=1e-3, min_lr=1e-4)
    lrs = [lr_at(it, config) for it in range(101)]
    assert all(b > a for a, b in zip(lrs[:10], lrs[1:11], strict=True))  # warm-up rises
    assert max(lrs) == pytest.approx(1e-3)
    assert all(b <= a for a, b in zip(lrs[10:-1], lrs[11:], strict=True))  # then decays
    assert lrs[-1] == pytest.approx(1e-4) and min(lrs[10:]) >= 1e-4 - 1e-12
    mid = 10 + 90 // 2
    assert lrs[mid] == pytest.approx((1e-3 + 1e-4) / 2)


def test_get_batch_shapes_and_determinism():
    tokens = torch.arange(1000)
    x, y = get_batch(tokens, 8, 4, torch.Generator().manual_seed(1))
    assert x.shape == y.shape == (4, 8) and x.dtype == torch.long
    assert torch.equal(y[:, :-1], x[:, 1:]) and torch.equal(y[:, -1], x[:, -1] + 1)
    x2, _ = get_batch(tokens, 8, 4, torch.Generator().manual_seed(1))
    x3, _ = get_batch(tokens, 8, 4, torch.Generator().manual_seed(2))
    assert torch.equal(x, x2) and not torch.equal(x, x3)
    with pytest.raises(ValueError, match="block_size"):
        get_batch(torch.arange(8), 8, 2, torch.Generator())


def test_loss_decreases_and_history(data):
    history, model = run(data)
    assert history.iterations == [0, 5, 10, 15, 20]
    assert history.val_loss[0] == pytest.approx(math.log(65), abs=0.15)
    assert history.train_loss[-1] < history.train_loss[0] - 0.5
    assert history.best_val_loss == min(history.val_loss)
    assert history.tokens_per_second > 0 and history.wall_time > 0


def test_same_seed_same_weights(data):
    _, a = run(data, seed=3)
    _, b = run(data, seed=3)
    _, c = run(data, seed=4)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def _same_run(h1, m1, h2, m2):
    s1, s2 = m1.state_dict(), m2.state_dict()
    assert s1.keys() == s2.keys() and all(torch.equal(s1[k], s2[k]) for k in s1)
    assert (h1.iterations, h1.train_loss, h1.val_loss, h1.best_val_loss) == \
        (h2.iterations, h2.train_loss, h2.val_loss, h2.best_val_loss)


@pytest.mark.parametrize("stop", [10, 7])  # at a checkpoint and between two of them
def test_resume_equals_uninterrupted(data, tmp_path, stop):
    h_full, m_full = run(data, seed=1)
    h_part, _ = run(data, seed=1, out_dir=tmp_path, stop_after=stop)
    assert h_part.iterations[-1] <= stop
    assert torch.load(tmp_path / CHECKPOINT, weights_only=True)["step"] == stop
    h_res, m_res = run(data, seed=1, out_dir=tmp_path)
    _same_run(h_full, m_full, h_res, m_res)
    # a finished run resumes to itself
    h_again, m_again = run(data, seed=1, out_dir=tmp_path)
    _same_run(h_full, m_full, h_again, m_again)


def test_resume_after_crash_mid_training(data, tmp_path, monkeypatch):
    h_full, m_full = run(data, seed=2)
    real = train_mod.lr_at

    def crashing(it, config):  # called once at the start of every training step
        if it == 12:
            raise KeyboardInterrupt("simulated interruption")
        return real(it, config)

    monkeypatch.setattr(train_mod, "lr_at", crashing)
    with pytest.raises(KeyboardInterrupt):
        run(data, seed=2, out_dir=tmp_path)
    monkeypatch.setattr(train_mod, "lr_at", real)
    assert torch.load(tmp_path / CHECKPOINT, weights_only=True)["step"] == 10
    h_res, m_res = run(data, seed=2, out_dir=tmp_path)
    _same_run(h_full, m_full, h_res, m_res)


def test_atomic_save_leaves_no_partial_file(data, tmp_path, monkeypatch):
    run(data, seed=0, out_dir=tmp_path, stop_after=5)
    path = tmp_path / CHECKPOINT
    before = path.read_bytes()

    def failing_save(obj, f, *args, **kwargs):
        f.write(b"partial garbage")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(train_mod.torch, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        run(data, seed=0, out_dir=tmp_path)
    assert path.read_bytes() == before  # the old checkpoint is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == [CHECKPOINT]  # no temp file left


def test_checkpoint_from_other_config_is_refused(data, tmp_path):
    config, train_ids, val_ids = data
    run(data, out_dir=tmp_path, stop_after=5)
    other = get_config("small", **{**config.to_dict(), "n_embd": 64})
    with pytest.raises(ValueError, match="different config.*n_embd"):
        train(other, train_ids, val_ids, device="cpu", out_dir=tmp_path, progress=False)


def test_cli_smoke(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "BOOK_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "helpers.train", "--config", "small", "--out", str(out),
           "--max-iters", "4", "--eval-interval", "2", "--eval-iters", "1", "--batch-size", "4",
           "--device", "cpu", "--no-progress"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "step 4: train loss" in proc.stdout and "val loss" in proc.stdout
    assert (out / CHECKPOINT).exists()


def test_batch_streams_resume_and_validation(data, tmp_path):
    config, train_ids, val_ids = data
    h_full, m_full = run(data, batch_streams=2)
    run(data, batch_streams=2, out_dir=tmp_path, stop_after=8)
    h_res, m_res = run(data, batch_streams=2, out_dir=tmp_path)
    _same_run(h_full, m_full, h_res, m_res)
    with pytest.raises(ValueError, match="divisible"):
        run(data, batch_streams=3)
    with pytest.raises(ValueError, match="batch_streams must be >= 1"):
        run(data, batch_streams=0)


def test_deadline_stops_with_a_checkpoint_and_resumes(data, tmp_path):
    h_full, m_full = run(data, seed=5)
    with pytest.raises(train_mod.DeadlineReached, match="resume"):
        run(data, seed=5, out_dir=tmp_path, deadline=0.0)
    assert torch.load(tmp_path / CHECKPOINT, weights_only=True)["step"] == 0
    h_res, m_res = run(data, seed=5, out_dir=tmp_path)
    _same_run(h_full, m_full, h_res, m_res)


def test_history_times_training_apart_from_evaluation(data):
    history, _ = run(data)
    assert len(history.elapsed) == len(history.iterations)
    assert history.elapsed[0] < 0.5 and history.elapsed == sorted(history.elapsed)
    assert 0 < history.eval_seconds < history.wall_time
    assert history.wall_time == pytest.approx(history.elapsed[-1] + history.eval_seconds,
                                              abs=0.05)
    target = history.val_loss[2]
    first = next(i for i, loss in enumerate(history.val_loss) if loss <= target)
    assert history.time_to_loss(target) == history.elapsed[first]
    assert history.time_to_loss(0.0) is None


def test_bf16_autocast_and_fused_adamw_on_the_cpu(data):
    history, _ = run(data, precision="bf16", fused=True)
    assert history.val_loss[-1] < history.val_loss[0] - 0.5
    with pytest.raises(ValueError, match="only supported on CUDA"):
        run(data, compile=True)
