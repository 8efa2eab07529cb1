"""Expected times (helpers.timing): FLOP counts by hand, the scales' budgets, a measurement."""

from __future__ import annotations

import pytest

from helpers import experiments, gpt, timing

pytest.importorskip("torch")


def test_flops_per_token_by_hand():
    cfg = gpt.CONFIGS["paper"]
    # 6 N + 12 L C T with N = 6,345,216 - 128 * 256 (no position embedding)
    n = 6_345_216 - 128 * 256
    assert timing.flops_per_token(cfg) == 6 * n + 12 * 8 * 256 * 128


def test_training_flops_count_steps_and_evaluations():
    cfg = gpt.get_config("small", max_iters=10, eval_interval=4, eval_iters=3)
    tokens = cfg.batch_size * cfg.block_size
    evals = 4  # at 0, 4, 8 and the end, 10
    expected = timing.flops_per_token(cfg) * (10 * tokens + evals * 2 * 3 * tokens / 3)
    assert timing.training_flops(cfg) == pytest.approx(expected)


def test_sampling_work_counts_window_refills():
    cfg = gpt.get_config("small", block_size=8)  # keeps 4 tokens, slides every 4 steps
    steps, flops = timing.sampling_work(cfg, chars=10 * 3, streams=3)
    assert steps == 10 + 2  # 10 characters a stream, 2 refills
    assert flops == pytest.approx(timing.flops_per_token(cfg) / 3 * 3 * (10 + 2 * 4))


def test_estimate_adds_stages_at_a_speed():
    speed = timing.Speed("test", train_flops=1e9, ensemble_flops=2e9, step_seconds=0.01)
    stages = [timing.Stage("a", train_flops=1e9), timing.Stage("b", 4e9, members=2),
              timing.Stage("a", sample_steps=10, sample_flops=1e9)]
    est = timing.estimate(stages, speed)
    assert est.seconds == pytest.approx({"a": 1 + 0.1 + 1, "b": 2})
    assert est.total == pytest.approx(4.1)
    text = " ".join(est.describe().split())
    assert "an estimate" in text and "4 s" in text


def test_the_gpu_scales_fit_their_budgets():
    """The issue's targets, by this module's estimate at the assumed T4 speed: Chapter 14 in
    at most 5 minutes and Chapter 15 in at most 30 minutes at scale t4."""
    t4 = timing.GPUS["t4"]
    ch14 = timing.estimate(timing.chapter14_stages(gpt.config_for_scale("t4")), t4)
    ch15 = timing.estimate(timing.experiment_stages(experiments.experiment_config("t4")), t4)
    assert ch14.total <= 5 * 60
    assert ch15.total <= 30 * 60
    # the t4 scale keeps the paper's architecture
    full, t4_cfg = (experiments.experiment_config(s).model for s in ("full", "t4"))
    for field in ("n_layer", "n_head", "n_embd", "block_size", "batch_size", "dropout"):
        assert getattr(t4_cfg, field) == getattr(full, field)


def test_measure_times_the_real_training_code():
    cfg = gpt.get_config("small", n_layer=1, n_embd=32, n_head=2, block_size=16, batch_size=8)
    speed = timing.measure(cfg, "cpu", members=2, streams=4, warmup=2, iters=4)
    assert speed.measured and speed.train_flops > 1e6 and speed.ensemble_flops > 1e6
    assert speed.step_seconds >= 0
    est = timing.estimate(timing.chapter14_stages(cfg), speed)
    assert "measured on this machine" in " ".join(est.describe().split())
    with pytest.raises(ValueError, match="multiple of warmup"):
        timing.measure(cfg, "cpu", warmup=3, iters=4)


def test_scales_tables_list_every_scale_with_estimates():
    from helpers.runtime import SCALES

    for chapter in (14, 15):
        table = timing.scales_table(chapter).splitlines()
        assert len(table) == 2 + len(SCALES)
        assert all(f"`{scale}`" in row for scale, row in zip(SCALES, table[2:], strict=True))
        assert "estimate" in table[0]
    with pytest.raises(ValueError, match="chapter must be 14 or 15"):
        timing.scales_table(13)
