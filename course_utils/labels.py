"""Class names and class numbers: the label map a data set and a model share (notebook 08).

:class:`LabelMap` is built once from the data and stored in the model's config
(:func:`label_config`), so that a saved model and ``transformers.pipeline`` print the
names rather than ``LABEL_1``. Neither knows any data set.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from course_utils.errors import CourseError

__all__ = ["LabelMap", "label_config", "decide"]


def _label_text(value) -> str:
    """A label as text: 3 and 3.0 and "3" are the same class, "3"."""
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)) or (isinstance(value, (float, np.floating)) and float(value).is_integer()):
        return str(int(value))
    return str(value).strip()


@dataclass(frozen=True)
class LabelMap:
    """Class names in class-number order, ``names[i]`` is class ``i`` (notebook 08): built once from the data, kept
    in the model's config (``id2label``), so a saved model and ``pipeline`` print names rather than ``LABEL_1``."""

    names: tuple[str, ...]
    text = staticmethod(_label_text)  # a label as text: 3, 3.0 and "3" are the same class, "3"

    def __post_init__(self) -> None:
        names = tuple(_label_text(name) for name in self.names)
        if len(names) < 2:
            raise CourseError(f"A classifier needs at least two classes; got {list(names)}. "
                              "Fix: add texts of another class.")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise CourseError(f"Class names must be distinct; {duplicates} appear more than once.")
        object.__setattr__(self, "names", names)

    @classmethod
    def from_values(cls, values: Iterable, order: Sequence | None = None) -> LabelMap:
        """The classes in ``values``, in ``order`` (which must hold them all) or sorted (whole numbers: 2 before 10)."""
        found = {_label_text(value) for value in values}
        if order is not None:
            names = tuple(_label_text(name) for name in order)
            unknown = sorted(found - set(names))
            if unknown:
                raise CourseError(f"Labels {unknown[:5]} are not in the label order {list(names)}. "
                                  "Fix: add them to the order, or correct those rows.")
            return cls(names)
        numbers = all(name.lstrip("-").isdigit() for name in found)
        return cls(tuple(sorted(found, key=int) if numbers else sorted(found)))

    @classmethod
    def from_config(cls, config) -> LabelMap:
        """The label map a model's config carries (``id2label``)."""
        id2label = getattr(config, "id2label", None) or {}
        return cls(tuple(id2label[index] for index in sorted(int(key) for key in id2label)))

    def __len__(self) -> int:
        return len(self.names)

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.names))

    @property
    def label2id(self) -> dict[str, int]:
        return {name: index for index, name in enumerate(self.names)}

    def encode(self, values: Iterable, name: str = "labels") -> np.ndarray:
        """Class numbers for ``values`` (names, or numbers written as names)."""
        texts = [_label_text(value) for value in values]
        lookup = self.label2id
        unknown = sorted({text for text in texts if text not in lookup})
        if unknown:
            raise CourseError(f"{name} has labels {unknown[:5]} that are not among the classes {list(self.names)}. "
                              "Fix: correct those rows, or use a model trained with these classes.")
        return np.array([lookup[text] for text in texts], dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Class names for class numbers."""
        return [self.names[int(index)] for index in ids]


def label_config(label_names: Sequence[str] | None = None, num_labels: int | None = None) -> dict:
    """``num_labels``, ``id2label`` and ``label2id`` for ``from_pretrained`` (notebooks 02 and 08)."""
    if label_names is None and num_labels is None:
        raise CourseError("Say which classes the model predicts: label_names=('ham', 'spam') (or "
                          "data.label_names), so that predictions carry names, not LABEL_1.")
    if label_names is None:
        if num_labels < 2:
            return {"num_labels": int(num_labels)}
        label_names = [str(index) for index in range(int(num_labels))]
    label_map = LabelMap(tuple(label_names))
    if num_labels is not None and num_labels != len(label_map):
        raise CourseError(f"num_labels={num_labels} does not match the {len(label_map)} label_names "
                          f"{list(label_map.names)}. Fix: pass only label_names.")
    return {"num_labels": len(label_map), "id2label": label_map.id2label, "label2id": label_map.label2id}


def decide(probabilities, threshold: float | None = None, positive: int = 1) -> np.ndarray:
    """Class numbers from probabilities: the most probable class, or with a ``threshold`` the course's one
    two-class rule: class ``positive`` where its probability is ``>= threshold``, the other class elsewhere.

    ``probabilities`` is ``predict_proba`` output (one column per class), or with a threshold also class
    ``positive``'s probability per text. At 0.5 the rule agrees with argmax over two classes (except at
    exactly 0.5, which argmax gives to class 0). A threshold with more than two classes, a ``positive``
    other than 0 or 1, or a threshold outside 0..1 raises :class:`CourseError`.
    """
    array = np.asarray(probabilities)
    if threshold is None:
        return array.argmax(axis=1)
    if array.ndim == 2 and array.shape[1] != 2:
        raise CourseError(f"There are {array.shape[1]} classes: this threshold decides between two classes, one "
                          "against the other. Fix: leave the threshold out (argmax picks the most probable class).")
    if positive not in (0, 1):
        raise CourseError(f"positive={positive!r}: a threshold decides between two classes, 0 and 1. "
                          "Fix: pass positive=0 or positive=1; with more classes, predict with argmax.")
    if not 0.0 <= threshold <= 1.0:
        raise CourseError(f"threshold is a probability of the positive class, between 0 and 1; got {threshold}.")
    column = array[:, positive] if array.ndim == 2 else array
    return np.where(column >= threshold, positive, 1 - positive).astype(np.int64)
