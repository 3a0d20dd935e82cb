"""Classification metrics for the spam task: from counts, from labels, and from probabilities.

Introduced in notebook 05 (metrics), where each formula is first written out by
hand; used by ``course_utils.training.evaluate``, notebook 06 (pitfalls) and the
capstone. Spam is the positive class (label 1), ham is 0.

Thresholds: a message is called spam when its spam probability is ``>= threshold``.
At 0.5 that is the same decision as ``argmax`` over the two logits (except for a
probability of exactly 0.5, which argmax calls ham).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from course_utils.errors import CourseError

#: The seeds' "good" values (metrics page): accuracy above 85%, precision and recall
#: above 80%, F1 near 0.8 or higher. Notebook 05 checks the fine-tuned model against them.
GOOD_TARGETS: dict[str, float] = {"accuracy": 0.85, "precision": 0.80, "recall": 0.80, "f1": 0.80}

#: The thresholds of the static threshold table (notebook 05).
DEFAULT_THRESHOLDS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)

METRIC_NAMES = ("accuracy", "precision", "recall", "f1")
COUNT_NAMES = ("tp", "fp", "fn", "tn")


# --- input checks -----------------------------------------------------------------------------

def check_labels(labels, name: str = "y_true", binary: bool = True) -> np.ndarray:
    """``labels`` as a 1-D integer array, or :class:`CourseError`.

    With ``binary`` (the default) only 0 (ham) and 1 (spam) are allowed; without it any
    class number 0, 1, 2, ... (one-vs-rest counting in :func:`confusion_counts`).
    """
    array = np.asarray(labels)
    if array.ndim != 1:
        raise CourseError(
            f"{name} must be one label per message (a 1-D list or array); got shape {array.shape}."
            + (" For model outputs use probabilities[:, 1] or logits.argmax(dim=1)." if array.ndim == 2 else "")
        )
    if array.dtype == bool:
        return array.astype(np.int64)
    if array.size and not np.issubdtype(array.dtype, np.number):
        raise CourseError(
            f"{name} must hold class numbers (0 ham, 1 spam); got values like {array[:3].tolist()}. "
            "Fix: use the label_id column, not label."
        )
    if array.size:
        allowed = "0 (ham) and 1 (spam)" if binary else "whole numbers 0, 1, 2, ..."
        bad = ~np.isin(array, (0, 1)) if binary else (array < 0) | (np.mod(array, 1) != 0)
        if bad.any():
            examples = sorted({int(v) if float(v).is_integer() else float(v) for v in array[bad][:50]})[:5]
            raise CourseError(
                f"{name} must hold only {allowed}; found {examples} "
                f"({int(bad.sum())} of {array.size} values). Fix: use the label_id column."
            )
    return array.astype(np.int64)


def check_probabilities(probabilities, name: str = "p_spam") -> np.ndarray:
    """``probabilities`` as a 1-D float array in [0, 1], or :class:`CourseError`."""
    array = np.asarray(probabilities)
    if array.ndim != 1:
        hint = ""
        if array.ndim == 2 and array.shape[1] == 2:
            hint = " For predict_proba output (one column per class) pass probabilities[:, 1], the spam column."
        raise CourseError(f"{name} must be one spam probability per message (shape (n,)); got shape {array.shape}.{hint}")
    if array.size and not np.issubdtype(array.dtype, np.number):
        raise CourseError(f"{name} must hold numbers between 0 and 1; got values like {array[:3].tolist()}.")
    array = array.astype(np.float64)
    if np.isnan(array).any():
        raise CourseError(f"{name} contains NaN at position {int(np.flatnonzero(np.isnan(array))[0])}: "
                          "the model produced no probability there (check for a diverged training run).")
    outside = (array < 0) | (array > 1)
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        raise CourseError(
            f"{name} must be probabilities between 0 and 1; position {first} is {array[first]:g}. "
            "Fix: apply softmax to the logits first (torch.softmax(logits, dim=1)[:, 1])."
        )
    return array


def check_same_length(first: np.ndarray, second: np.ndarray, first_name: str, second_name: str) -> None:
    """:class:`CourseError` unless both arrays have one entry per message."""
    if len(first) != len(second):
        raise CourseError(
            f"{first_name} has {len(first)} entries but {second_name} has {len(second)}: "
            "they must come from the same messages, in the same order."
        )


def check_threshold(threshold: float, name: str = "threshold") -> float:
    """``threshold`` as a float in [0, 1], or :class:`CourseError`."""
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise CourseError(f"{name} must be a number between 0 and 1; got {threshold!r}.") from None
    if not 0.0 <= value <= 1.0 or np.isnan(value):
        raise CourseError(f"{name} must be between 0 and 1; got {threshold!r}.")
    return value


# --- counts and scores (the three functions training.evaluate uses) ---------------------------

def confusion_counts(y_true: Sequence[int], y_pred: Sequence[int], positive: int = 1) -> dict[str, int]:
    """TP, FP, FN, TN for the ``positive`` class (spam is 1)."""
    true = check_labels(y_true, "y_true", binary=False)
    pred = check_labels(y_pred, "y_pred", binary=False)
    check_same_length(true, pred, "y_true", "y_pred")
    true = true == positive
    pred = pred == positive
    return {
        "tp": int(np.sum(true & pred)),
        "fp": int(np.sum(~true & pred)),
        "fn": int(np.sum(true & ~pred)),
        "tn": int(np.sum(~true & ~pred)),
    }


def scores_from_counts(tp: int, fp: int, fn: int, tn: int) -> dict[str, float]:
    """Accuracy, precision, recall and F1 from the four counts (0.0 where undefined)."""
    total = tp + fp + fn + tn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "accuracy": (tp + tn) / total if total else 0.0,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def classification_scores(y_true: Sequence[int], y_pred: Sequence[int], positive: int = 1) -> dict[str, float]:
    """Accuracy, and precision/recall/F1 of the ``positive`` class, from labels."""
    return scores_from_counts(**confusion_counts(y_true, y_pred, positive))


def counts_to_labels(tp: int, fp: int, fn: int, tn: int) -> tuple[np.ndarray, np.ndarray]:
    """``(y_true, y_pred)`` arrays that produce exactly these four counts (notebooks 05 and 06).

    Turns a confusion matrix from a page into labels that scikit-learn can score.
    """
    counts = {"tp": tp, "fp": fp, "fn": fn, "tn": tn}
    for key, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise CourseError(f"{key} must be a whole number of messages, 0 or more; got {value!r}.")
    y_true = np.array([1] * tp + [0] * fp + [1] * fn + [0] * tn, dtype=np.int64)
    y_pred = np.array([1] * tp + [1] * fp + [0] * fn + [0] * tn, dtype=np.int64)
    return y_true, y_pred


def f1_averages(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, float]:
    """Spam F1, ham F1, and their macro and weighted averages (notebook 05).

    *macro* is the plain mean of the two per-class F1 scores; *weighted* weights each
    by how many messages of that class there are, so at 12% spam it is mostly ham's F1.
    """
    true = check_labels(y_true, "y_true")
    pred = check_labels(y_pred, "y_pred")
    check_same_length(true, pred, "y_true", "y_pred")
    spam_f1 = classification_scores(true, pred, positive=1)["f1"]
    ham_f1 = classification_scores(true, pred, positive=0)["f1"]
    spam_share = float(true.mean()) if true.size else 0.0
    return {
        "spam_f1": spam_f1,
        "ham_f1": ham_f1,
        "macro_f1": (spam_f1 + ham_f1) / 2,
        "weighted_f1": spam_share * spam_f1 + (1 - spam_share) * ham_f1,
    }


def compare_to_targets(scores: Mapping[str, float], targets: Mapping[str, float] | None = None) -> pd.DataFrame:
    """One row per metric: the value, the seeds' "good" target, and whether it is met (notebook 05)."""
    targets = dict(GOOD_TARGETS if targets is None else targets)
    missing = [name for name in targets if name not in scores]
    if missing:
        raise CourseError(
            f"scores has no {', '.join(missing)}: pass the dict from classification_scores() or evaluate()."
        )
    rows = [{"metric": name, "value": round(float(scores[name]), 4), "target": f"> {target:.2f}",
             "meets target": bool(float(scores[name]) > target)} for name, target in targets.items()]
    return pd.DataFrame(rows).set_index("metric")


# --- probabilities and thresholds --------------------------------------------------------------

def predict_at_threshold(p_spam, threshold: float = 0.5) -> np.ndarray:
    """1 (spam) where the spam probability is ``>= threshold``, else 0 (notebook 05)."""
    probabilities = check_probabilities(p_spam)
    return (probabilities >= check_threshold(threshold)).astype(np.int64)


def check_labels_and_probabilities(y_true, p_spam) -> tuple[np.ndarray, np.ndarray]:
    """``(y_true, p_spam)`` checked: 0/1 labels, probabilities in [0, 1], same length, not empty."""
    true = check_labels(y_true, "y_true")
    probabilities = check_probabilities(p_spam, "p_spam")
    check_same_length(true, probabilities, "y_true", "p_spam")
    if not true.size:
        raise CourseError("y_true and p_spam are empty: score at least one message.")
    return true, probabilities


def _checked_thresholds(thresholds) -> list[float]:
    values = [check_threshold(value, "each threshold") for value in np.atleast_1d(np.asarray(thresholds, dtype=object))]
    if not values:
        raise CourseError("thresholds is empty: pass at least one threshold between 0 and 1.")
    return values


def threshold_table(y_true, p_spam, thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """Counts and scores at each threshold, one row per threshold (notebook 05).

    Columns: ``threshold, tp, fp, fn, tn, accuracy, precision, recall, f1``.
    Raising the threshold flags fewer messages: precision tends to go up, recall down.
    """
    true, probabilities = check_labels_and_probabilities(y_true, p_spam)
    rows = []
    for threshold in _checked_thresholds(thresholds):
        counts = confusion_counts(true, (probabilities >= threshold).astype(np.int64))
        rows.append({"threshold": threshold, **counts, **scores_from_counts(**counts)})
    return pd.DataFrame(rows, columns=["threshold", *COUNT_NAMES, *METRIC_NAMES])


def best_threshold(y_true, p_spam, metric: str = "f1", thresholds: Sequence[float] | None = None,
                   min_precision: float | None = None, min_recall: float | None = None) -> float:
    """The threshold that maximises ``metric`` on these messages (use the validation split).

    ``thresholds`` defaults to 0.01, 0.02, ..., 0.99. ``min_precision`` / ``min_recall``
    keep only thresholds that reach them, e.g. ``metric="recall", min_precision=0.95``:
    catch as much spam as possible while at most 1 flagged message in 20 is ham. Among
    equally good thresholds the one closest to 0.5 wins. Notebook 05 chooses the threshold
    on validation and reports it on test: choosing it on test would be tuning on the exam.
    """
    if metric not in METRIC_NAMES:
        raise CourseError(f"metric must be one of {list(METRIC_NAMES)}; got {metric!r}.")
    grid = np.round(np.arange(1, 100) / 100, 2) if thresholds is None else thresholds
    table = threshold_table(y_true, p_spam, grid)
    allowed = pd.Series(True, index=table.index)
    if min_precision is not None:
        allowed &= table["precision"] >= check_threshold(min_precision, "min_precision")
    if min_recall is not None:
        allowed &= table["recall"] >= check_threshold(min_recall, "min_recall")
    if not allowed.any():
        raise CourseError(
            f"No threshold reaches min_precision={min_precision} and min_recall={min_recall} on these "
            f"{len(np.asarray(y_true))} messages. Fix: relax the constraint or train a better model."
        )
    candidates = table[allowed]
    best_value = candidates[metric].max()
    tied = candidates[np.isclose(candidates[metric], best_value)]
    return float(tied.loc[(tied["threshold"] - 0.5).abs().idxmin(), "threshold"])


def precision_recall_points(y_true, p_spam) -> pd.DataFrame:
    """The precision-recall curve as a table: ``threshold, precision, recall`` (notebook 05).

    Each distinct spam probability is a threshold, as in
    ``sklearn.metrics.precision_recall_curve``. The average precision (area under the curve,
    as scikit-learn computes it) is in ``table.attrs["average_precision"]``.
    """
    from sklearn.metrics import average_precision_score, precision_recall_curve

    true, probabilities = check_labels_and_probabilities(y_true, p_spam)
    if not true.any():
        raise CourseError("y_true has no spam (label 1): a precision-recall curve needs at least one.")
    precision, recall, thresholds = precision_recall_curve(true, probabilities)
    table = pd.DataFrame({"threshold": thresholds, "precision": precision[:-1], "recall": recall[:-1]})
    table.attrs["average_precision"] = float(average_precision_score(true, probabilities))
    return table
