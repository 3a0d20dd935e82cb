"""The classical baseline a fine-tune must beat: TF-IDF n-grams and a linear model (notebook 04).

Introduced in notebook 04 (the training loop), before the first fine-tune, and printed beside
every fine-tuned score after it (notebooks 06-08, the command line's ``train``). A bag of
word and character n-grams with a linear support vector machine fits in a second or two on a
CPU and is strong on short texts; a fine-tuned transformer has earned its place only when it
scores above it on the same test texts.

The regularisation strength ``C`` is chosen on the validation split only (never on test), by
the metric the caller names: the positive class's F1 for two classes, macro F1 for more.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from course_utils.errors import CourseError

__all__ = ["Baseline", "fit_baseline"]

#: The values of the SVM's ``C`` tried on validation (smaller: stronger regularisation).
_C_GRID: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0)


@dataclass
class Baseline:
    """A fitted TF-IDF + linear SVM classifier and how it was chosen (notebook 04)."""

    name: ClassVar[str] = "TF-IDF + linear SVM"  # how it is named wherever a score of it is printed
    pipeline: object  # sklearn.pipeline.Pipeline: vectoriser, then LinearSVC
    C: float
    metric: str
    val_score: float
    seconds: float

    def predict(self, texts: Sequence[str] | pd.Series) -> np.ndarray:
        """Class numbers for ``texts``."""
        return self.pipeline.predict(list(texts))

    def __str__(self) -> str:
        return (f"{self.name} (C={self.C:g}, chosen on validation: {self.metric} {self.val_score:.3f}; "
                f"fitted in {self.seconds:.1f} s)")


def _make_vectorizer():
    """Word 1-2-grams and character 2-5-grams (within word boundaries), sublinear TF-IDF."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion([
        ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
    ])


def _score(metric: str, y_true: np.ndarray, y_pred: np.ndarray, positive: int) -> float:
    from sklearn.metrics import accuracy_score, f1_score

    if metric == "f1":
        return float(f1_score(y_true, y_pred, pos_label=positive, average="binary", zero_division=0))
    if metric == "macro_f1":
        return float(f1_score(y_true, y_pred, average="macro", zero_division=0))
    if metric == "accuracy":
        return float(accuracy_score(y_true, y_pred))
    raise CourseError(f"metric={metric!r} is not known for the baseline: use 'f1', 'macro_f1' or 'accuracy'.")


def fit_baseline(train_df: pd.DataFrame, val_df: pd.DataFrame, *, metric: str | None = None, positive: int = 1,
                 text_column: str = "text", label_column: str = "label_id",
                 c_grid: Sequence[float] = _C_GRID) -> Baseline:
    """Fit TF-IDF + a linear SVM on ``train_df``, choosing ``C`` on ``val_df`` (notebook 04).

    ``metric`` defaults to the F1 of class ``positive`` for two classes and macro F1 for more,
    the same choice :func:`course_utils.training.train` makes to keep its best epoch.
    """
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    for name, frame in (("train_df", train_df), ("val_df", val_df)):
        missing = [column for column in (text_column, label_column) if column not in frame.columns]
        if missing:
            raise CourseError(f"{name} has no column {missing[0]!r}: pass text_column= and label_column= "
                              f"naming its texts and class numbers.")
        if frame.empty:
            raise CourseError(f"{name} is empty: the baseline needs texts to fit and to choose C on.")
    y_train = train_df[label_column].to_numpy()
    if len(np.unique(y_train)) < 2:
        raise CourseError("train_df holds one class only: a classifier needs at least two.")
    if metric is None:
        metric = "f1" if len(np.unique(np.concatenate([y_train, val_df[label_column].to_numpy()]))) <= 2 \
            else "macro_f1"
    started = time.perf_counter()
    vectorizer = _make_vectorizer()
    train_features = vectorizer.fit_transform(train_df[text_column].tolist())
    val_features = vectorizer.transform(val_df[text_column].tolist())
    y_val = val_df[label_column].to_numpy()
    best = None
    for c_value in c_grid:  # the features are computed once; only the linear model is refitted
        classifier = LinearSVC(C=c_value).fit(train_features, y_train)
        score = _score(metric, y_val, classifier.predict(val_features), positive)
        if best is None or score > best[0]:
            best = (score, c_value, classifier)
    score, c_value, classifier = best
    pipeline = Pipeline([("tfidf", vectorizer), ("svm", classifier)])
    return Baseline(pipeline, float(c_value), metric, score, time.perf_counter() - started)
