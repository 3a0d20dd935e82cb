"""Resuming from a checkpoint is refused when any setting that changes the batches or the numbers differs.

A tiny randomly initialised BERT trains one epoch into a checkpoint once; each case then asks to resume
with one setting changed and must be refused before any step.
"""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from course_utils import device as device_mod
from course_utils import labels, models
from course_utils.errors import CourseError
from course_utils.training import train

BASE = dict(epochs=1, batch_size=4, lr=1e-4, max_length=16, seed=3, mixed_precision="no", group_by_length=True,
            weight_decay=0.01, warmup_ratio=0.1, head_lr_multiplier=10.0, max_grad_norm=1.0, class_weights=None,
            select_metric="f1", positive=1, optimizer="adamw", schedule="linear")
CHANGED = [("group_by_length", False), ("mixed_precision", "bf16"), ("positive", 0), ("lr", 2e-4),
           ("batch_size", 2), ("max_length", 24), ("seed", 4), ("weight_decay", 0.0), ("warmup_ratio", 0.0),
           ("head_lr_multiplier", 1.0), ("max_grad_norm", None), ("class_weights", (1.0, 3.0)),
           ("select_metric", "loss"), ("optimizer", "adam"), ("schedule", "constant"), ("epochs", 2)]


def tiny_model(tokenizer):
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=37, max_position_embeddings=64, **labels.label_config(("ham", "spam")))
    return BertForSequenceClassification(config)


FRAME = pd.DataFrame({"text": ["see you at six", "ok thanks", "call me later", "WIN a prize now", "free cash",
                               "lunch?", "claim your reward", "on my way"],
                      "label": ["ham", "ham", "ham", "spam", "spam", "ham", "spam", "ham"],
                      "label_id": [0, 0, 0, 1, 1, 0, 1, 0]})


@pytest.fixture(scope="module")
def tokenizer():
    return models.load_tokenizer("packaged")


@pytest.fixture(scope="module")
def checkpoint(tokenizer, tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    train(tiny_model(tokenizer), tokenizer, FRAME, FRAME.head(4), checkpoint_dir=folder, device="cpu",
          progress=False, **BASE)
    return folder


def test_the_same_settings_resume(tokenizer, checkpoint):
    result = train(tiny_model(tokenizer), tokenizer, FRAME, FRAME.head(4), checkpoint_dir=checkpoint, device="cpu",
                   progress=False, **BASE)
    assert result.resumed_from == 1


@pytest.mark.parametrize(("name", "value"), CHANGED, ids=[name for name, _ in CHANGED])
def test_resuming_with_a_setting_changed_is_refused(tokenizer, checkpoint, monkeypatch, name, value):
    monkeypatch.setattr(device_mod, "cpu_has_native_bf16", lambda cpuinfo=None: True)  # bf16 runs on any CPU
    model = tiny_model(tokenizer)
    before = {key: tensor.clone() for key, tensor in model.state_dict().items()}
    with pytest.raises(CourseError, match=rf"made with other settings \(.*{name}.* differ\)"):
        train(model, tokenizer, FRAME, FRAME.head(4), checkpoint_dir=checkpoint, device="cpu", progress=False,
              **{**BASE, name: value})
    assert all(torch.equal(before[key], tensor) for key, tensor in model.state_dict().items())
