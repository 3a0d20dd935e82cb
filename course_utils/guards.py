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

from course_utils.errors import CourseError
from course_utils.settings import MAX_LENGTH

__all__ = ["check_texts", "check_frame", "check_batch", "check_label_values", "check_model"]


def check_texts(texts: Sequence, name: str = "texts", first_row: int = 0, where: str = "row") -> list[str]:
    """``texts`` as a list of non-blank strings, or :class:`CourseError` naming the rows (from ``first_row``) that are not."""
    values = list(texts)
    not_text = [i for i, value in enumerate(values) if not isinstance(value, str)]
    blank = [i for i, value in enumerate(values) if isinstance(value, str) and not value.strip()]
    for bad in (not_text, blank):
        rows = ", ".join(str(i + first_row) for i in bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
        if bad is not_text and bad:
            raise CourseError(f"{name} has {len(bad)} {'entry that is' if len(bad) == 1 else 'entries that are'} "
                              f"not text ({where} {rows}; values like {[values[i] for i in bad[:3]]}). Fix: remove "
                              "those rows or fill in the text (an empty CSV cell reads as NaN).")
        if bad:
            raise CourseError(f"{name} has {len(bad)} blank text{'s' if len(bad) != 1 else ''} ({where} {rows}). "
                              "Fix: remove those rows or fill in the text.")
    return values


def check_frame(frame, name: str, model=None, *, require_all_classes: bool = False) -> None:
    """:class:`CourseError` unless ``frame`` has non-blank ``text`` and class numbers in ``label_id`` (required with a
    ``model``, whose numbers and names a ``label`` column must match, every class present if required; notebook 08)."""
    if not isinstance(frame, pd.DataFrame):
        raise CourseError(f"{name} must be a pandas DataFrame with columns 'text' and 'label_id', "
                          f"got {type(frame).__name__}.")
    if "text" not in frame.columns:
        raise CourseError(f"{name} has no 'text' column (columns: {list(frame.columns)}). "
                          "Fix: name the text column 'text'.")
    if model is not None and "label_id" not in frame.columns:
        hint = " It has 'label': the model needs class numbers, in 'label_id' (0, 1, ...)." if "label" in frame else ""
        raise CourseError(f"{name} has no 'label_id' column, so there are no labels to train on: without "
                          f"labels the model returns no loss.{hint} Fix: add 'label_id' with class numbers, "
                          "as course_utils.data.from_dataframe() and load_splits() do.")
    if len(frame) == 0:
        raise CourseError(f"{name} is empty: it needs at least one text.")
    check_texts(frame["text"].tolist(), f"{name}['text']")
    num_labels = None if model is None else check_model(model)
    if "label_id" in frame.columns:
        check_label_values(frame["label_id"].to_numpy(), num_labels, f"{name}['label_id']")
    if model is None:
        return
    label_ids, model_names = frame["label_id"].to_numpy().astype(int), [model.config.id2label[i] for i in range(num_labels)]
    if "label" in frame.columns and any(str(n) not in (f"LABEL_{i}", str(i)) for i, n in enumerate(model_names)):
        expected, actual = np.array(model_names, dtype=object)[label_ids], frame["label"].astype(str).to_numpy()
        for row in np.flatnonzero(expected != actual)[:1]:
            raise CourseError(f"{name}: row {row} is labelled {actual[row]!r} with label_id {label_ids[row]}, but the model "
                              f"calls class {label_ids[row]} {expected[row]!r} (its classes: {model_names}). Fix: load the "
                              "model with the data's class names (label_names=data.label_names) so that numbers and names agree.")
    present = set(np.unique(label_ids).tolist())
    if require_all_classes and len(present) < num_labels:
        missing = [model_names[i] for i in range(num_labels) if i not in present]
        raise CourseError(f"The model has num_labels={num_labels} but {name} has no text of class(es) {missing}: "
                          f"it uses only {len(present)} classes. Fix: load the model with num_labels equal to "
                          "the number of classes in the data, or add texts of the missing classes.")


def check_batch(batch: Mapping, num_labels: int, max_positions: int | None = None) -> None:
    """Raise :class:`CourseError` unless ``batch`` has ``labels`` (a loss needs that key) of class numbers (notebook 03)."""
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
    if max_positions is not None and getattr(input_ids, "ndim", None) == 2 and input_ids.shape[1] > max_positions:
        raise CourseError(f"batch['input_ids'] has {input_ids.shape[1]} tokens per text but the model has only "
                          f"{max_positions} positions. Fix: tokenize with truncation=True and "
                          f"max_length={max_positions} or less.")


def check_label_values(labels, num_labels: int | None, name: str = "labels") -> None:
    """Raise :class:`CourseError` naming any label that is not a class number ``0..num_labels-1``, with a hint why."""
    array = labels.detach().cpu().numpy() if hasattr(labels, "detach") else np.asarray(labels)  # a tensor, or not
    if array.size and np.issubdtype(array.dtype, np.floating):
        raise CourseError(f"{name} holds floats ({sorted(set(np.nan_to_num(array, nan=-1.0).ravel().tolist()))[:5]}): "
                          "single-label classification needs integer class numbers (torch.long). With float labels "
                          "transformers switches to a multi-label loss (BCE) and fails or trains the wrong thing. Fix: "
                          "labels.long() (or .astype(int); a NaN label means a row without a label: remove it).")
    if array.size and not (np.issubdtype(array.dtype, np.integer) or array.dtype == bool):
        raise CourseError(f"{name} holds {array.dtype} values like {array.ravel()[:3].tolist()}, not class numbers. "
                          "Fix: map each class name to a number 0..K-1 (LabelMap.encode, or course_utils.data's label_id).")
    values = array.astype(np.int64).ravel()
    low, high = (int(values.min()), int(values.max())) if values.size else (0, 0)
    if low >= 0 and (num_labels is None or high < num_labels):
        return
    bad = sorted({int(v) for v in values if v < 0 or (num_labels is not None and v >= num_labels)})
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


def check_model(model, max_length: int | None = None) -> int:
    """The model's number of classes, if it is a classifier whose positions hold ``max_length``; else CourseError."""
    positions, num_labels = getattr(model.config, "max_position_embeddings", None), int(model.config.num_labels)
    if max_length is not None and max_length < 2:
        raise CourseError(f"max_length={max_length} leaves no room for a text between [CLS] and [SEP]. "
                          f"Fix: max_length={MAX_LENGTH} (or the longest text you need, in tokens).")
    if positions and max_length is not None and max_length > positions:
        raise CourseError(f"max_length={max_length} is longer than the model's {positions} positions: those "
                          f"inputs cannot be embedded. Fix: max_length={positions} or less.")
    if num_labels < 2:
        raise CourseError(f"The model has num_labels={num_labels}: with one output transformers trains a "
                          "regression (MSE loss), not a classifier (notebook 02). Fix: load it with "
                          "num_labels equal to the number of classes (2 for two classes: two logits, "
                          "softmax and cross-entropy).")
    return num_labels
