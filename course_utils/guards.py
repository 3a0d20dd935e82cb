"""Notebook 03's classic mistakes, caught before any weight changes, each named with its fix.

No ``labels`` in a batch, labels outside ``0..num_labels-1`` or as floats, a ``num_labels``
that does not match the data, class names that disagree with the model's, blank texts, and
inputs longer than the model's positions: each raises :class:`~course_utils.errors.CourseError`
in one message. :func:`course_utils.training.train`, :func:`course_utils.prediction.evaluate`
and the command line call these before they do any work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from course_utils.data import check_texts
from course_utils.errors import CourseError

__all__ = ["check_batch", "check_label_values", "check_labels_match_model"]


def _check_frame(frame, name: str, need_labels: bool) -> None:
    """:class:`CourseError` unless ``frame`` is a DataFrame of non-blank ``text`` (and ``label_id``)."""
    if not isinstance(frame, pd.DataFrame):
        raise CourseError(f"{name} must be a pandas DataFrame with columns 'text' and 'label_id', "
                          f"got {type(frame).__name__}.")
    if "text" not in frame.columns:
        raise CourseError(f"{name} has no 'text' column (columns: {list(frame.columns)}). "
                          "Fix: name the text column 'text'.")
    if need_labels and "label_id" not in frame.columns:
        hint = (" It has 'label': the model needs class numbers, in 'label_id' (0, 1, ...)."
                if "label" in frame.columns else "")
        raise CourseError(f"{name} has no 'label_id' column, so there are no labels to train on: without "
                          f"labels the model returns no loss.{hint} Fix: add 'label_id' with class numbers, "
                          "as course_utils.data.from_dataframe() and load_splits() do.")
    if len(frame) == 0:
        raise CourseError(f"{name} is empty: it needs at least one text.")
    check_texts(frame["text"].tolist(), f"{name}['text']")


def check_batch(batch: Mapping, num_labels: int, max_positions: int | None = None) -> None:
    """Raise :class:`CourseError` unless ``batch`` carries valid ``labels`` (notebook 03).

    ``model(**batch)`` computes a loss only from a key named exactly ``labels``:
    without it ``outputs.loss`` is ``None`` and ``loss.backward()`` fails with an
    ``AttributeError``. Label values must be whole class numbers ``0..num_labels-1``
    (integers: float labels switch transformers to a multi-label loss). With
    ``max_positions``, ``input_ids`` longer than the model's positions are refused too.
    """
    if "labels" not in batch:
        keys = sorted(batch.keys())
        near = [key for key in keys if key in ("label", "label_id", "label_ids", "target", "targets", "y")]
        hint = (f" The batch has {near[0]!r}: the model takes the answers only under the keyword 'labels' "
                f"(other names are rejected or ignored, depending on the transformers version). "
                f"Fix: rename {near[0]!r} to 'labels'." if near else
                " Fix: add the class numbers under the key 'labels' (a LongTensor, one per text).")
        raise CourseError(f"The batch has no 'labels' (keys: {keys}), so the model would return loss=None "
                          f"and loss.backward() would fail.{hint}")
    check_label_values(batch["labels"], num_labels, "batch['labels']")
    input_ids = batch.get("input_ids")
    if max_positions is not None and isinstance(input_ids, torch.Tensor) and input_ids.ndim == 2 \
            and input_ids.shape[1] > max_positions:
        raise CourseError(f"batch['input_ids'] has {input_ids.shape[1]} tokens per text but the model has only "
                          f"{max_positions} positions. Fix: tokenize with truncation=True and "
                          f"max_length={max_positions} or less.")


def check_label_values(labels, num_labels: int | None, name: str = "labels") -> None:
    """Raise :class:`CourseError` naming any label that is not a class number ``0..num_labels-1``.

    Float labels are refused (for single-label classification transformers needs integer
    class numbers; floats switch it to a multi-label loss). Labels that run ``1..K``
    instead of ``0..K-1`` and the ``-1`` of unlabelled rows get their own hint.
    """
    if isinstance(labels, torch.Tensor):
        values, floating = labels.detach().cpu(), labels.is_floating_point()
    else:
        array = np.asarray(labels)
        if array.size and not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            raise CourseError(f"{name} holds {array.dtype} values like {array.ravel()[:3].tolist()}, not class "
                              "numbers. Fix: map each class name to a number 0..K-1 (LabelMap.encode, or the "
                              "label_id column that course_utils.data makes).")
        floating = np.issubdtype(array.dtype, np.floating)
        values = torch.as_tensor(np.nan_to_num(array.astype(np.float64), nan=-1.0) if floating else np.array(array))
    if values.numel() == 0:
        return
    if floating:
        examples = sorted(set(values.flatten().tolist()))[:5]
        raise CourseError(f"{name} holds floats ({examples}): single-label classification needs integer class "
                          "numbers (torch.long). With float labels transformers switches to a multi-label "
                          "loss (BCE) and fails or trains the wrong thing. Fix: labels.long() "
                          "(or .astype(int); a NaN label means a row without a label: remove it).")
    low, high = int(values.min()), int(values.max())
    if low >= 0 and (num_labels is None or high < num_labels):
        return
    bad = sorted({int(v) for v in values.flatten().tolist() if v < 0 or (num_labels is not None and v >= num_labels)})
    if num_labels is not None and low == 1 and high == num_labels:
        hint = (f"They run 1..{num_labels}, but class numbers start at 0. Fix: subtract 1 from every label "
                f"(1..{num_labels} -> 0..{num_labels - 1}).")
    elif low < 0:
        hint = ("-1 usually marks rows without a label. Fix: remove those rows before training "
                "(or give them their class number).")
    else:
        hint = (f"Fix: map the labels to 0..{num_labels - 1}, or load the model with num_labels equal to the "
                "number of classes (label_names=...).")
    allowed = f"0..{num_labels - 1}" if num_labels is not None else "0 or more"
    raise CourseError(f"{name} has values {bad[:10]} outside {allowed}"
                      + (f": the model has num_labels={num_labels}. " if num_labels is not None else ". ") + hint)


def _num_labels_of(model) -> int:
    """The model's number of classes; a one-output (regression) model is refused."""
    num_labels = int(getattr(model.config, "num_labels", 2))
    if num_labels < 2:
        raise CourseError(f"The model has num_labels={num_labels}: with one output transformers trains a "
                          "regression (MSE loss), not a classifier (notebook 02). Fix: load it with "
                          "num_labels equal to the number of classes (2 for two classes: two logits, "
                          "softmax and cross-entropy).")
    return num_labels


def _max_positions_of(model) -> int | None:
    """How many token positions the model can embed (None when its config does not say)."""
    positions = getattr(model.config, "max_position_embeddings", None)
    return int(positions) if positions else None


def _check_max_length(model, max_length: int) -> None:
    """:class:`CourseError` when ``max_length`` leaves no room for text or exceeds the model's positions."""
    positions = _max_positions_of(model)
    if max_length < 2:
        raise CourseError(f"max_length={max_length} leaves no room for a text between [CLS] and [SEP]. "
                          "Fix: max_length=128 (or the longest text you need, in tokens).")
    if positions is not None and max_length > positions:
        raise CourseError(f"max_length={max_length} is longer than the model's {positions} positions: those "
                          f"inputs cannot be embedded. Fix: max_length={positions} or less.")


def _default_names(names: Sequence[str]) -> bool:
    return all(str(name) in (f"LABEL_{i}", str(i)) for i, name in enumerate(names))


def check_labels_match_model(model, frame: pd.DataFrame, name: str, *, require_all_classes: bool = False) -> None:
    """:class:`CourseError` when ``frame``'s labels do not fit ``model`` (notebooks 03 and 07).

    Checks the class numbers (``label_id``) against ``num_labels``, the class names (a
    ``label`` column) against the model's ``id2label``, and with ``require_all_classes``
    that the training data has texts of every class the model has.
    """
    num_labels = _num_labels_of(model)
    label_ids = frame["label_id"].to_numpy()
    check_label_values(label_ids, num_labels, f"{name}['label_id']")
    model_names = [model.config.id2label[i] for i in sorted(model.config.id2label)] \
        if getattr(model.config, "id2label", None) else []
    if "label" in frame.columns and model_names and not _default_names(model_names):
        expected = np.array(model_names, dtype=object)[label_ids.astype(int)]
        actual = frame["label"].astype(str).to_numpy()
        wrong = np.flatnonzero(expected != actual)
        if wrong.size:
            first = int(wrong[0])
            raise CourseError(f"{name}: row {first} is labelled {actual[first]!r} with label_id {int(label_ids[first])}, "
                              f"but the model calls class {int(label_ids[first])} {expected[first]!r} "
                              f"(its classes: {model_names}). Fix: load the model with the data's class names "
                              "(label_names=data.label_names) so that numbers and names agree.")
    if require_all_classes:
        present = set(np.unique(label_ids).tolist())
        if len(present) < num_labels:
            missing = [model_names[i] if i < len(model_names) else str(i) for i in range(num_labels) if i not in present]
            raise CourseError(f"The model has num_labels={num_labels} but {name} has no text of class(es) {missing}: "
                              f"it uses only {len(present)} classes. Fix: load the model with num_labels equal to "
                              "the number of classes in the data, or add texts of the missing classes.")
