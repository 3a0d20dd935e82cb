"""One rule picks the fine-tuning recipe, for a checkpoint on disk and for a loaded model alike (by depth)."""

from __future__ import annotations

import pytest
from transformers import BertConfig, BertForSequenceClassification

from course_utils import models
from course_utils.settings import TrainSettings


@pytest.mark.parametrize("layers", [4, 12])
def test_a_checkpoint_that_is_not_minilm_gets_the_same_recipe_as_its_model(tmp_path, layers):
    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=37, num_labels=2)
    folder = tmp_path / f"small-bert-{layers}"  # no "minilm" in the name or the path
    config.save_pretrained(folder)
    choice = models.ModelChoice(name=folder.name, source="local folder", path=str(folder), reason="a test")
    model = BertForSequenceClassification(config)
    trained_with = TrainSettings().for_model(model)  # what train() fills in for this model
    for name in ("lr", "epochs", "warmup_ratio", "head_lr_multiplier"):
        assert getattr(choice.recipe, name) == getattr(trained_with, name), name
    assert choice.recipe.lr == (1e-4 if layers <= 6 else 3e-5)
