"""Scores and predictions of a classifier (notebook 04; used by every later notebook).

:func:`evaluate` scores a labelled frame (loss, accuracy, macro and weighted F1, and for two
classes precision, recall and F1 of one class), :func:`predict_proba` gives class
probabilities in the order of the texts, :func:`predict_labels` class names. All run in
``model.eval()`` with no gradients, batching texts of similar length together.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from course_utils.batches import LengthGroupedBatchSampler, make_loader
from course_utils.errors import CourseError
from course_utils.guards import _check_frame, check_labels_match_model, _check_max_length, _num_labels_of
from course_utils.metrics import average_scores, classification_scores

__all__ = ["evaluate", "predict_proba", "predict_labels", "labels_from_probabilities"]


def _logits_in_order(model, loader, device: torch.device) -> tuple[np.ndarray, np.ndarray | None]:
    """Logits (float32) and labels for every text, back in the frame's original order (used by training).

    Always in ``model.eval()`` mode (dropout off) with no gradients: a model left in
    training mode would give different scores on every call. A loader from
    :func:`make_loader` batches texts by length; its batch sampler says which rows each
    batch holds. Any other iterable of batches is taken in its own order.
    """
    sampler = getattr(loader, "batch_sampler", None)
    batches = sampler.batches() if isinstance(sampler, LengthGroupedBatchSampler) else None
    logit_parts, label_parts, rows = [], [], []
    model.eval()
    with torch.no_grad():
        for position, batch in enumerate(loader):
            batch = dict(batch)
            labels = batch.pop("labels", None)
            logits = model(**{key: value.to(device) for key, value in batch.items()}).logits
            logit_parts.append(logits.float().cpu().numpy())
            if labels is not None:
                label_parts.append(labels.cpu().numpy())
            rows.extend(batches[position] if batches is not None else
                        range(len(rows), len(rows) + len(logit_parts[-1])))
    if not logit_parts:
        return np.zeros((0, int(model.config.num_labels)), dtype=np.float32), None
    order = np.argsort(np.asarray(rows), kind="stable")
    logits_out = np.concatenate(logit_parts)[order]
    labels_out = np.concatenate(label_parts)[order] if len(label_parts) == len(logit_parts) else None
    return logits_out, labels_out


def _softmax(logits: np.ndarray) -> np.ndarray:
    return torch.softmax(torch.from_numpy(logits), dim=-1).numpy()


def _scores_from_logits(logits: np.ndarray, labels: np.ndarray, threshold: float | None, positive: int = 1) -> dict[str, float]:
    """:func:`evaluate`'s scores from logits and labels (training validates with it too)."""
    loss = float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels)))
    num_labels = logits.shape[1]
    if threshold is None:
        predictions = logits.argmax(axis=1)
    else:
        predictions = np.where(_softmax(logits)[:, positive] >= threshold, positive, 1 - positive).astype(np.int64)
    averages = average_scores(labels, predictions, tuple(str(i) for i in range(num_labels)))
    scores = {"loss": loss, "accuracy": averages["accuracy"], "macro_f1": averages["macro_f1"],
              "weighted_f1": averages["weighted_f1"]}
    if num_labels == 2:
        binary = classification_scores(labels, predictions, positive=positive)
        scores.update({"precision": binary["precision"], "recall": binary["recall"], "f1": binary["f1"]})
    return scores


def evaluate(model, tokenizer, frame: pd.DataFrame, *, batch_size: int = 64, max_length: int = 128,
             device=None, threshold: float | None = None, positive: int = 1) -> dict[str, float]:
    """Loss, accuracy, macro and weighted F1 of ``model`` on ``frame``; for two classes also
    precision, recall and F1 of class ``positive`` (notebook 04).

    Runs in ``model.eval()`` mode with no gradients. Predictions are the largest logit
    (argmax); with two classes, ``threshold`` calls a text positive when its positive-class
    probability is ``>= threshold`` (notebook 05 moves it). Scores come from
    :mod:`course_utils.metrics` (scikit-learn).
    """
    from course_utils.device import get_device

    _check_frame(frame, "frame", need_labels=True)
    num_labels = _num_labels_of(model)
    _check_max_length(model, max_length)
    check_labels_match_model(model, frame, "frame")
    if threshold is not None:
        if num_labels != 2:
            raise CourseError(f"threshold is a two-class idea; this model has {num_labels} classes. "
                              "Fix: leave threshold out (argmax picks the most probable class).")
        if not 0.0 <= threshold <= 1.0:
            raise CourseError(f"threshold is a probability of the positive class, between 0 and 1; got {threshold}.")
    if positive not in range(num_labels):
        raise CourseError(f"positive={positive} is not a class number of this model (0..{num_labels - 1}).")
    device = torch.device(device) if device is not None else get_device()
    model.to(device)
    loader = make_loader(tokenizer, frame, batch_size=batch_size, max_length=max_length)
    return _scores_from_logits(*_logits_in_order(model, loader, device), threshold, positive)


def predict_proba(model, tokenizer, texts: Sequence[str] | str, *, batch_size: int = 64, max_length: int = 128,
                  device=None) -> np.ndarray:
    """Class probabilities (softmax of the logits), shape ``(n, num_labels)``, in the order given (notebook 04).

    Column ``i`` is the probability of class ``i`` (``model.config.id2label[i]``). Runs in
    eval mode with no gradients, batching texts of similar length together.
    """
    from course_utils.device import get_device

    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    if not texts:
        return np.zeros((0, int(model.config.num_labels)), dtype=np.float32)
    _check_max_length(model, max_length)
    device = torch.device(device) if device is not None else get_device()
    model.to(device)
    loader = make_loader(tokenizer, pd.DataFrame({"text": texts}), batch_size=batch_size, max_length=max_length)
    logits, _ = _logits_in_order(model, loader, device)
    return _softmax(logits)


def predict_labels(model, tokenizer, texts: Sequence[str] | str, *, threshold: float | None = None,
                   positive: int = 1, **kwargs) -> pd.DataFrame:
    """One row per text: the predicted class name and its probability (notebooks 07 and 08).

    With two classes and a ``threshold`` (for example the one saved with the model),
    a text is class ``positive`` when that class's probability reaches the threshold.
    Extra keyword arguments go to :func:`predict_proba`.
    """
    probabilities = predict_proba(model, tokenizer, texts, **kwargs)
    texts = [texts] if isinstance(texts, str) else list(texts)
    return labels_from_probabilities(model, texts, probabilities, threshold=threshold, positive=positive)


def labels_from_probabilities(model, texts: Sequence[str], probabilities: np.ndarray, *, threshold: float | None = None,
                              positive: int = 1) -> pd.DataFrame:
    """:func:`predict_labels` from probabilities already computed (``predict_proba`` output)."""
    names = [model.config.id2label[i] for i in range(probabilities.shape[1])]
    if threshold is not None:
        if probabilities.shape[1] != 2:
            raise CourseError(f"threshold is a two-class idea; this model has {probabilities.shape[1]} classes.")
        predicted = np.where(probabilities[:, positive] >= threshold, positive, 1 - positive)
    else:
        predicted = probabilities.argmax(axis=1)
    return pd.DataFrame({"text": list(texts), "label": [names[i] for i in predicted],
                         "probability": probabilities[np.arange(len(predicted)), predicted]})
