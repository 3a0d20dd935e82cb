"""A saved model keeps what prediction needs: its positive class and the tokens it was trained to keep.

Tiny randomly initialised BERTs (the packaged tokenizer's vocabulary), so every test runs in about a second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from course_utils import labels, models, prediction
from course_utils.training import train

CPU = torch.device("cpu")
LONG_TEXT = "free entry in a weekly competition to win cup final tickets, text now to claim your prize " * 6


@pytest.fixture(scope="module")
def tokenizer():
    return models.load_tokenizer("packaged")


def tiny_model(tokenizer, seed: int = 0):
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=37, max_position_embeddings=128, **labels.label_config(("ham", "spam")))
    return BertForSequenceClassification(config).eval()


@pytest.fixture
def frame():
    return pd.DataFrame({"text": ["see you at six", "ok thanks", "call me later", "WIN a prize now"],
                         "label": ["ham", "ham", "ham", "spam"], "label_id": [0, 0, 0, 1]})


def test_a_model_saved_with_positive_0_is_thresholded_on_class_0_after_reload(tokenizer, tmp_path, frame):
    model = tiny_model(tokenizer)
    folder = models.save_classifier(model, tokenizer, tmp_path / "ham-positive", threshold=0.0, positive=0)
    reloaded, reloaded_tokenizer = models.load_finetuned(folder)
    threshold = models.saved_threshold(reloaded)
    named = prediction.predict_labels(reloaded, reloaded_tokenizer, frame["text"], threshold=threshold, device=CPU)
    assert named["label"].tolist() == ["ham"] * 4  # every text reaches a threshold of 0 for class 0, the positive one
    assert models.saved_positive(reloaded) == 0 and reloaded.config.positive_label == "ham"
    scores = prediction.evaluate(reloaded, reloaded_tokenizer, frame, threshold=threshold, device=CPU)
    assert scores["accuracy"] == pytest.approx(0.75) and scores["recall"] == pytest.approx(1.0)  # class 0's recall
    never = prediction.predict_labels(reloaded, reloaded_tokenizer, frame["text"], threshold=1.0, device=CPU)
    assert never["label"].tolist() == ["spam"] * 4  # class 0 never reaches 1.0: the other class


def test_train_decides_the_positive_class_and_the_model_keeps_it(tokenizer, tmp_path, frame):
    model = tiny_model(tokenizer)
    train(model, tokenizer, frame, frame, epochs=1, batch_size=4, max_length=16, positive=0, device=CPU,
          progress=False)
    folder = models.save_classifier(model, tokenizer, tmp_path / "trained", threshold=0.0)
    reloaded, reloaded_tokenizer = models.load_finetuned(folder)
    named = prediction.predict_labels(reloaded, reloaded_tokenizer, frame["text"], threshold=0.0, device=CPU)
    assert named["label"].tolist() == ["ham"] * 4  # the threshold acts on class 0, the class train was told is positive
    assert models.saved_positive(reloaded) == 0


def test_max_length_is_saved_and_prediction_and_the_pipeline_use_it(tokenizer, tmp_path, frame):
    from transformers import pipeline

    model = tiny_model(tokenizer)
    train(model, tokenizer, frame, None, epochs=1, batch_size=4, max_length=16, device=CPU, progress=False)
    folder = models.save_classifier(model, tokenizer, tmp_path / "short")
    reloaded, reloaded_tokenizer = models.load_finetuned(folder)
    default = prediction.predict_proba(reloaded, reloaded_tokenizer, [LONG_TEXT], device=CPU)
    np.testing.assert_allclose(default, prediction.predict_proba(reloaded, reloaded_tokenizer, [LONG_TEXT],
                                                                 max_length=16, device=CPU), atol=1e-6)
    assert models.saved_max_length(reloaded) == 16 and reloaded_tokenizer.model_max_length == 16
    assert not np.allclose(default, prediction.predict_proba(reloaded, reloaded_tokenizer, [LONG_TEXT],
                                                             max_length=128, device=CPU), atol=1e-6)
    with models.quiet_transformers():
        classify = pipeline("text-classification", model=str(folder), device=-1, top_k=None)
    answer = {item["label"]: item["score"] for item in classify([LONG_TEXT], truncation=True)[0]}
    assert answer["spam"] == pytest.approx(float(default[0, 1]), abs=1e-5)
    frame_long = pd.DataFrame({"text": [LONG_TEXT, "hi"], "label": ["spam", "ham"], "label_id": [1, 0]})
    assert prediction.evaluate(reloaded, reloaded_tokenizer, frame_long, device=CPU)["loss"] == pytest.approx(
        prediction.evaluate(reloaded, reloaded_tokenizer, frame_long, device=CPU, max_length=16)["loss"])
