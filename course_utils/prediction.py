"""Scores and predictions of a classifier (notebook 04; used by every later notebook).

:func:`evaluate` scores a labelled frame (loss, accuracy, macro and weighted F1, and for two
classes precision, recall and F1 of the positive class), :func:`predict_proba` gives class
probabilities in the order of the texts, :func:`predict_labels` class names. All run in
``model.eval()`` with no gradients, batching texts of similar length together. What a saved
model carries is used unless a call says otherwise: the tokens it was trained to keep per text
(``max_length``) and its positive class (two classes), whose probability a ``threshold`` acts on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from course_utils.batches import make_loader
from course_utils.guards import check_frame, check_model
from course_utils.labels import decide
from course_utils.models import saved_max_length, saved_positive

__all__ = ["evaluate", "predict_proba", "predict_labels", "labels_from_probabilities"]


def _logits(model, tokenizer, frame: pd.DataFrame, batch_size: int, max_length: int | None, device):
    """The model's logits (float32) and labels (if the frame has them) for ``frame``, in the frame's order:
    in eval mode (dropout off), with no gradients, on ``device``. The batches hold texts of similar length;
    their sampler says which rows each one holds."""
    from course_utils.device import get_device

    max_length = saved_max_length(model) if max_length is None else max_length
    check_model(model, max_length)
    device = torch.device(device) if device is not None else get_device()
    loader = make_loader(tokenizer, frame, batch_size=batch_size, max_length=max_length)
    logits, labels = [], []
    model.to(device).eval()
    with torch.no_grad():
        for batch in loader:
            labels += [batch.pop("labels")] if "labels" in batch else []
            logits.append(model(**{key: value.to(device) for key, value in batch.items()}).logits.float().cpu())
    if not logits:
        return np.zeros((0, int(model.config.num_labels)), dtype=np.float32), None
    order = np.argsort([row for rows in loader.batch_sampler.batches() for row in rows], kind="stable")
    return torch.cat(logits).numpy()[order], torch.cat(labels).numpy()[order] if labels else None


def evaluate(model, tokenizer, frame: pd.DataFrame, *, batch_size: int = 64, max_length: int | None = None,
             device=None, threshold: float | None = None, positive: int | None = None) -> dict[str, float]:
    """Loss, accuracy, macro and weighted F1 of ``model`` on ``frame``; for two classes also
    precision, recall and F1 of class ``positive`` (notebook 04).

    ``max_length`` and ``positive`` default to the model's own
    (:func:`course_utils.models.saved_max_length`, :func:`~course_utils.models.saved_positive`). Predictions are the most probable class; with two
    classes, ``threshold`` calls a text positive when its positive-class probability is
    ``>= threshold`` (notebook 06 moves it). Scores come from scikit-learn.
    """
    from course_utils.training import scores_from_logits

    check_frame(frame, "frame", model)  # the frame, then its labels against the model
    positive = saved_positive(model) if positive is None else positive
    logits, labels = _logits(model, tokenizer, frame, batch_size, max_length, device)
    predictions = decide(torch.softmax(torch.from_numpy(logits), dim=-1).numpy(), threshold, positive)
    return scores_from_logits(logits, labels, predictions, positive)


def predict_proba(model, tokenizer, texts: Sequence[str] | str, *, batch_size: int = 64,
                  max_length: int | None = None, device=None) -> np.ndarray:
    """Class probabilities (softmax of the logits), shape ``(n, num_labels)``, in the order given (notebook 04).

    Column ``i`` is the probability of class ``i`` (``model.config.id2label[i]``). ``max_length``
    defaults to the tokens the model was trained to keep. Runs in eval mode with no gradients,
    batching texts of similar length together.
    """
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not texts:
        return np.zeros((0, int(model.config.num_labels)), dtype=np.float32)
    logits, _ = _logits(model, tokenizer, pd.DataFrame({"text": texts}), batch_size, max_length, device)
    return torch.softmax(torch.from_numpy(logits), dim=-1).numpy()


def predict_labels(model, tokenizer, texts: Sequence[str] | str, *, threshold: float | None = None,
                   positive: int | None = None, **kwargs) -> pd.DataFrame:
    """One row per text: the predicted class name and its probability (notebooks 08 and 09).

    With two classes and a ``threshold`` (for example the one saved with the model), a text is
    class ``positive`` (default: the model's positive class) when that class's probability
    reaches the threshold. Extra keyword arguments go to :func:`predict_proba`.
    """
    probabilities = predict_proba(model, tokenizer, texts, **kwargs)
    texts = [texts] if isinstance(texts, str) else list(texts)
    return labels_from_probabilities(model, texts, probabilities, threshold=threshold, positive=positive)


def labels_from_probabilities(model, texts: Sequence[str], probabilities: np.ndarray, *,
                              threshold: float | None = None, positive: int | None = None) -> pd.DataFrame:
    """:func:`predict_labels` from probabilities already computed (``predict_proba`` output)."""
    predicted = decide(probabilities, threshold, saved_positive(model) if positive is None else positive)
    return pd.DataFrame({"text": list(texts), "label": [model.config.id2label[int(i)] for i in predicted],
                         "probability": probabilities[np.arange(len(predicted)), predicted]})
