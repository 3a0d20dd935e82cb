"""find_learning_rate drives train's own run and step: accelerate, mixed precision, the head's rate multiplier."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from course_utils import labels, models, training

FRAME = pd.DataFrame({"text": ["see you at six", "ok thanks", "call me later", "WIN a prize now", "free cash",
                               "lunch?", "claim your reward", "on my way"] * 3,
                      "label": ["ham", "ham", "ham", "spam", "spam", "ham", "spam", "ham"] * 3,
                      "label_id": [0, 0, 0, 1, 1, 0, 1, 0] * 3})


@pytest.fixture(scope="module")
def tokenizer():
    return models.load_tokenizer("packaged")


def tiny_model(tokenizer):
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=37, max_position_embeddings=64, **labels.label_config(("ham", "spam")))
    return BertForSequenceClassification(config)


def test_the_range_test_sweeps_the_encoders_rate_with_the_head_at_its_multiplier(tokenizer, monkeypatch):
    steps, prepared = [], []
    real_step, real_prepare = training._train_step, training._make_accelerator

    def recording_step(run, *args, **kwargs):
        steps.append(run.optimizer.param_groups[0]["lr"])
        return real_step(run, *args, **kwargs)

    def recording_prepare(settings, device=None):
        prepared.append(settings.mixed_precision)
        return real_prepare(settings, device)

    monkeypatch.setattr(training, "_train_step", recording_step)
    monkeypatch.setattr(training, "_make_accelerator", recording_prepare)
    model = tiny_model(tokenizer)
    before = {key: value.clone() for key, value in model.state_dict().items()}
    search = training.find_learning_rate(model, tokenizer, FRAME, start_lr=1e-6, end_lr=1e-3, steps=12, batch_size=8,
                                         max_length=16, device="cpu")
    assert prepared == ["auto"]  # the accelerator train makes, with its mixed precision (bf16 where the CPU has it)
    assert len(steps) == len(search.curve) and steps == pytest.approx(search.curve["lr"].tolist())  # train's step
    assert search.head_lr_multiplier == 10.0  # a small model's recipe: the head at 10x the encoder
    assert (search.curve["head_lr"] / search.curve["lr"]).tolist() == pytest.approx([10.0] * len(search.curve))
    assert search.curve["lr"].iloc[0] == pytest.approx(1e-6) and search.curve["lr"].is_monotonic_increasing
    assert all(torch.equal(before[key], value) for key, value in model.state_dict().items())  # weights put back
    one_rate = training.find_learning_rate(model, tokenizer, FRAME, start_lr=1e-6, end_lr=1e-3, steps=12,
                                           batch_size=8, max_length=16, device="cpu", head_lr_multiplier=1.0)
    assert one_rate.head_lr_multiplier == 1.0
    assert one_rate.curve["head_lr"].tolist() == pytest.approx(one_rate.curve["lr"].tolist())
