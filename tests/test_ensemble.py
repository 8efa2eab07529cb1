"""Ensemble training (helpers.ensemble): each member trains as it would alone."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers import ensemble as ensemble_mod  # noqa: E402
from helpers.data import CharTokenizer, load_tiny_shakespeare, train_val_split  # noqa: E402
from helpers.ensemble import clip_per_member, train_ensemble  # noqa: E402
from helpers.gpt import get_config  # noqa: E402
from helpers.train import CHECKPOINT, DeadlineReached, is_trained, train  # noqa: E402

TINY = dict(n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=16, max_iters=20,
            warmup_iters=4, eval_interval=5, eval_iters=2, learning_rate=1e-2, min_lr=1e-3)
# Measured: a member and the same model trained alone differ by at most 1.2e-4 in any weight and
# 2e-4 in any loss after 20 AdamW steps (batched and single matrix products round differently,
# and Adam's early steps, about lr * sign(gradient), amplify that). Clipping the stack by one
# global norm instead of per member ends 0.05 to 0.075 away in the weights and 0.02 to 0.09 in
# the losses: the tolerances sit 8x above the rounding and 20x below that coupling.
WEIGHT_TOL = 1e-3
LOSS_TOL = 1e-3
SEEDS = [3, 4, 3]  # two members share a seed but not a corpus


@pytest.fixture(scope="module")
def data():
    text = load_tiny_shakespeare()
    tok = CharTokenizer(text)
    train_ids, val_ids = train_val_split(tok.encode(text[:300_000]), 0.9)
    corpora = [train_ids[:60_000], train_ids[60_000:100_000], train_ids[120_000:200_000]]
    return get_config("small", **TINY), corpora, val_ids


def run_ensemble(data, **kwargs):
    config, corpora, val = data
    kwargs.setdefault("device", "cpu")
    return train_ensemble(config, corpora, val, SEEDS, progress=False, **kwargs)


def worst_weight_gap(a, b) -> float:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    return max((sa[k] - sb[k]).abs().max().item() for k in sa)


def test_ensemble_members_equal_models_trained_alone(data):
    config, corpora, val = data
    histories, models = run_ensemble(data)
    for corpus, seed, h, model in zip(corpora, SEEDS, histories, models, strict=True):
        h_alone, alone = train(config, corpus, val, device="cpu", seed=seed, progress=False)
        assert worst_weight_gap(model, alone) < WEIGHT_TOL
        assert h.iterations == h_alone.iterations
        assert h.train_loss == pytest.approx(h_alone.train_loss, abs=LOSS_TOL)
        assert h.val_loss == pytest.approx(h_alone.val_loss, abs=LOSS_TOL)
    # the two members with one seed but different corpora did not train alike
    assert worst_weight_gap(models[0], models[2]) > 10 * WEIGHT_TOL


def test_ensemble_dropout_masks_differ_between_members(data):
    config, corpora, val = data
    dropout = config.__class__(**{**config.to_dict(), "dropout": 0.5})
    same = [corpora[0]] * 3
    _, models = train_ensemble(dropout, same, val, [7, 7, 7], device="cpu", progress=False)
    # same seed, corpus and batches: only the dropout masks can make the members differ
    assert worst_weight_gap(models[0], models[1]) > 1e-3
    assert worst_weight_gap(models[1], models[2]) > 1e-3
    _, plain = train_ensemble(config, same, val, [7, 7, 7], device="cpu", progress=False)
    assert worst_weight_gap(plain[0], plain[1]) == 0.0


def test_ensemble_clipping_is_per_member():
    params = {"w": torch.zeros(2, 3, requires_grad=True), "b": torch.zeros(2, 1,
                                                                          requires_grad=True)}
    params["w"].grad = torch.tensor([[3.0, 0.0, 0.0], [0.3, 0.0, 0.0]])
    params["b"].grad = torch.tensor([[4.0], [0.4]])
    norms = clip_per_member(params, 1.0)
    assert norms.tolist() == pytest.approx([5.0, 0.5])
    # member 0 is scaled to norm 1, member 1 (norm 0.5) is left alone
    assert params["w"].grad[0].tolist() == pytest.approx([0.6, 0.0, 0.0], rel=1e-5)
    assert params["w"].grad[1].tolist() == pytest.approx([0.3, 0.0, 0.0])


def test_ensemble_killed_mid_training_resumes_identically(data, tmp_path, monkeypatch):
    full_h, full_m = run_ensemble(data)
    real = ensemble_mod.lr_at

    def crashing(it, config):  # called once at the start of every step
        if it == 12:
            raise KeyboardInterrupt("simulated kill")
        return real(it, config)

    monkeypatch.setattr(ensemble_mod, "lr_at", crashing)
    with pytest.raises(KeyboardInterrupt):
        run_ensemble(data, out_dir=tmp_path)
    monkeypatch.setattr(ensemble_mod, "lr_at", real)
    assert torch.load(tmp_path / CHECKPOINT, weights_only=True)["step"] == 10
    res_h, res_m = run_ensemble(data, out_dir=tmp_path)
    for a, b, ha, hb in zip(full_m, res_m, full_h, res_h, strict=True):
        assert worst_weight_gap(a, b) == 0.0  # bit-identical on the CPU
        assert (ha.train_loss, ha.val_loss) == (hb.train_loss, hb.val_loss)


def test_ensemble_deadline_and_member_checkpoints(data, tmp_path):
    config, corpora, val = data
    with pytest.raises(DeadlineReached, match="resume"):
        run_ensemble(data, out_dir=tmp_path / "ens", deadline=0.0)
    members = [tmp_path / f"m{k}" for k in range(3)]
    histories, models = run_ensemble(data, out_dir=tmp_path / "ens", member_dirs=members)
    assert not (tmp_path / "ens" / CHECKPOINT).exists()  # replaced by the members' own
    for k, folder in enumerate(members):
        assert is_trained(folder, config)
        h, model = train(config, corpora[k], val, device="cpu", seed=SEEDS[k], out_dir=folder,
                         progress=False)  # finished: returns the member at once
        assert worst_weight_gap(model, models[k]) == 0.0
        assert h.val_loss == histories[k].val_loss


@pytest.mark.parametrize("kwargs, message", [
    ({"seeds": [1, 2]}, "one corpus per seed"),
    ({"seeds": [1, -2, 3]}, "non-negative integer"),
    ({"member_dirs": ["a"]}, "one folder per member"),
])
def test_ensemble_bad_arguments_are_explained(data, kwargs, message):
    config, corpora, val = data
    args = {"seeds": SEEDS, **kwargs}
    with pytest.raises(ValueError, match=message):
        train_ensemble(config, corpora, val, device="cpu", progress=False, **args)


def test_ensemble_runs_in_bf16_with_fused_adamw(data):
    """The GPU's mixed precision and fused optimizer, on the CPU (as in the dry run)."""
    histories, _ = run_ensemble(data, precision="bf16", fused=True)
    for h in histories:
        assert np.isfinite(h.val_loss).all() and h.val_loss[-1] < h.val_loss[0] - 0.3
