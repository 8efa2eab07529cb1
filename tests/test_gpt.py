"""Tests of helpers.gpt: configs, parameter count, weight tying and the KV cache."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from helpers.gpt import (  # noqa: E402
    CONFIGS,
    GPT,
    GPTConfig,
    get_config,
    parameter_count_formula,
)

TINY = GPTConfig(block_size=16, n_layer=2, n_head=2, n_embd=32, dropout=0.0)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return GPT(TINY).eval()


def test_forward_shapes_and_loss(model):
    idx = torch.randint(0, 65, (3, 10))
    logits, loss = model(idx)
    assert logits.shape == (3, 10, 65) and loss is None
    logits, loss = model(idx, targets=torch.randint(0, 65, (3, 10)))
    assert logits.shape == (3, 10, 65) and loss.ndim == 0
    assert abs(loss.item() - torch.log(torch.tensor(65.0)).item()) < 0.1  # near uniform at init


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_parameter_count_formula(name):
    cfg = get_config(name)
    with torch.device("meta"):
        m = GPT(cfg)
    assert m.num_parameters() == parameter_count_formula(cfg)
    assert m.num_parameters(non_embedding=True) == parameter_count_formula(cfg, True)


def test_parameter_count_with_bias():
    cfg = GPTConfig(block_size=8, n_layer=3, n_head=2, n_embd=16, bias=True)
    assert GPT(cfg).num_parameters() == parameter_count_formula(cfg)


def test_paper_config_matches_table_1():
    c = get_config("paper")
    assert (c.block_size, c.n_embd, c.n_layer, c.n_head, c.vocab_size) == (128, 256, 8, 4, 65)
    assert (c.dropout, c.learning_rate, c.batch_size, c.max_iters) == (0.2, 1e-3, 256, 2000)


def test_get_config_overrides_and_errors():
    assert get_config("small", dropout=0.1).dropout == 0.1
    with pytest.raises(ValueError, match="Unknown GPT config 'big'.*'nanogpt'.*'paper'.*'small'"):
        get_config("big")
    with pytest.raises(TypeError, match="Unknown GPTConfig field"):
        get_config("small", n_layers=3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_embd=100, n_head=3), "divisible by n_head"),
    (dict(n_layer=0), "n_layer must be >= 1"),
    (dict(block_size=-1), "block_size must be >= 1"),
    (dict(dropout=1.0), r"dropout must be in \[0, 1\)"),
    (dict(dropout=-0.1), r"dropout must be in \[0, 1\)"),
    (dict(min_lr=1.0, learning_rate=1e-3), "min_lr"),
    (dict(beta2=1.0), "beta2"),
])
def test_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GPTConfig(**kwargs)


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        TINY.n_layer = 3


def test_weight_tying(model):
    assert model.lm_head.weight is model.transformer.wte.weight


def test_forward_rejects_too_long(model):
    with pytest.raises(ValueError, match="block_size"):
        model(torch.zeros((1, 17), dtype=torch.long))
    with pytest.raises(TypeError, match="LongTensor"):
        model(torch.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"shape \(batch, time\)"):
        model(torch.zeros(4, dtype=torch.long))


@pytest.mark.parametrize("keep", [None, 1, 5, 16])
def test_cache_matches_full_forward_past_block_size(model, keep):
    torch.manual_seed(1)
    seq = torch.randint(0, 65, (3, 50))
    cache = model.init_cache(3, keep=keep)
    with torch.no_grad():
        out = model.forward_step(seq[:, :4], cache)
        for t in range(4, 50):
            assert cache.end == t and cache.end - cache.start <= TINY.block_size
            ref = model(seq[:, cache.start:cache.end])[0][:, -1]
            torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)
            out = model.forward_step(seq[:, t:t + 1], cache)
    assert cache.refills > 0  # the window slid


def test_cache_multi_token_steps_and_long_prompt(model):
    seq = torch.randint(0, 65, (2, 40))
    cache = model.init_cache(2)
    with torch.no_grad():
        out = model.forward_step(seq[:, :20], cache)  # prompt longer than block_size
        assert (cache.start, cache.end) == (4, 20)
        torch.testing.assert_close(out, model(seq[:, 4:20])[0][:, -1], atol=1e-5, rtol=0)
        out = model.forward_step(seq[:, 20:23], cache)  # slides, then 3 at once
        torch.testing.assert_close(out, model(seq[:, cache.start:23])[0][:, -1], atol=1e-5,
                                   rtol=0)
        cache = model.init_cache(2)
        model.forward_step(seq[:, :5], cache)
        out = model.forward_step(seq[:, 5:9], cache)  # several new tokens, no slide
        torch.testing.assert_close(out, model(seq[:, :9])[0][:, -1], atol=1e-5, rtol=0)


def test_cache_validation(model):
    cache = model.init_cache(2)
    with pytest.raises(ValueError, match="batch 3"):
        model.forward_step(torch.zeros((3, 1), dtype=torch.long), cache)
    with pytest.raises(ValueError, match="keep"):
        model.init_cache(2, keep=17)
