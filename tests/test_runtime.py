"""Device, scale and seeds."""

import random

import numpy as np
import pytest

from helpers import runtime


def test_scale_follows_the_hardware(monkeypatch):
    monkeypatch.delenv(runtime.SCALE_VAR, raising=False)
    assert runtime.pick_scale("cpu") == "cpu"
    assert runtime.scale_for("cuda", gpu_gib=80) == "full"
    assert runtime.scale_for("cuda", gpu_gib=runtime.FULL_SCALE_MIN_GIB) == "full"
    assert runtime.scale_for("cuda", gpu_gib=15) == "t4"  # a Colab T4 reports 15 GiB
    assert runtime.scale_for("cuda", gpu_gib=39.6) == "full"  # an A100 "40 GB"
    assert runtime.scale_for("cuda", gpu_gib=22.0) == "t4"  # a 24 GB card
    assert runtime.scale_for("mps") == "cpu"
    assert set(runtime.SCALES) == {"full", "t4", "cpu"}


def test_precision_follows_the_device():
    assert runtime.pick_precision("cpu") == "fp32"
    assert runtime.pick_precision("cpu", "bf16") == "bf16"
    with pytest.raises(ValueError, match="fp16 autocast is for CUDA"):
        runtime.pick_precision("cpu", "fp16")
    with pytest.raises(ValueError, match="Unknown precision 'half'"):
        runtime.pick_precision("cpu", "half")


def test_scale_override_and_unknown_scale(monkeypatch):
    monkeypatch.setenv(runtime.SCALE_VAR, "full")
    assert runtime.pick_scale("cpu") == "full"
    monkeypatch.setenv(runtime.SCALE_VAR, "huge")
    with pytest.raises(ValueError, match="Unknown scale 'huge'"):
        runtime.pick_scale("cpu")


def test_device_choice_and_errors(monkeypatch):
    monkeypatch.delenv(runtime.DEVICE_VAR, raising=False)
    assert runtime.pick_device() in runtime.DEVICES
    assert runtime.pick_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="Unknown device 'tpu'"):
        runtime.pick_device("tpu")
    monkeypatch.setenv(runtime.DEVICE_VAR, "gpu")
    with pytest.raises(ValueError, match="Unknown device 'gpu'"):
        runtime.pick_device()


def test_seed_everything_is_reproducible():
    torch = pytest.importorskip("torch")
    values = []
    for _ in range(2):
        rng = runtime.seed_everything(123)
        values.append((random.random(), np.random.rand(),  # noqa: NPY002
                        rng.random(), torch.rand(1).item()))
    assert values[0] == values[1]


@pytest.mark.parametrize(("seed", "error"), [(-1, ValueError), (1.5, TypeError), ("1", TypeError),
                                             (True, TypeError)])
def test_seed_must_be_a_non_negative_integer(seed, error):
    with pytest.raises(error, match="non-negative integer"):
        runtime.seed_everything(seed)


def test_setup_prints_its_choice(capsys, monkeypatch):
    monkeypatch.setenv(runtime.SCALE_VAR, "t4")
    rt = runtime.setup(seed=3, device="cpu")
    assert (rt.device, rt.scale, rt.seed) == ("cpu", "t4", 3)
    assert "scale 't4' on device 'cpu'" in capsys.readouterr().out
