"""Classification metrics from counts, labels and probabilities, with their noise (notebook 06).

Introduced in notebook 06 (metrics), where each formula is first written out by
hand; used by ``course_utils.prediction.evaluate``, notebook 07 (pitfalls), notebook 08
(multi-class) and notebook 09 (capstone). Where scikit-learn computes a metric, these
functions call it; they add input checks with messages a learner can act on.

Binary metrics (precision, recall, F1, thresholds) are about one ``positive`` class: everywhere
``positive`` is the class number (1 unless you say otherwise) whose probability is
thresholded and whose precision, recall and F1 are scored; with more classes, per-class
scores and their macro and weighted averages. Labels and predictions are always class
numbers: a text is predicted as class ``positive`` when that class's probability is
``>= threshold``, and as the other class otherwise. At 0.5 that is the same decision as
``argmax`` over two logits (except for a probability of exactly 0.5, which argmax gives to
class 0). With more classes: ``argmax``, or one class's probability against the rest (notebook 08).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from course_utils.errors import CourseError

__all__ = ["confusion_counts", "classification_scores", "per_class_scores", "average_scores", "f1_averages",
           "top_confusions", "counts_to_labels", "compare_to_targets", "predict_at_threshold",
           "threshold_table", "best_threshold", "MIN_THRESHOLD_POSITIVES",
           "choose_threshold", "expected_calibration_error", "fit_temperature", "apply_temperature",
           "bootstrap_interval", "bootstrap_difference", "check_threshold",
           "confusion_table", "precision_recall_points"]

#: A common tutorial's "good" values (its metrics page): accuracy above 85%, precision and
#: recall above 80%, F1 near 0.8 or higher. Notebooks 06 and 07 check real models against them.
_GOOD_TARGETS: dict[str, float] = {"accuracy": 0.85, "precision": 0.80, "recall": 0.80, "f1": 0.80}

#: The thresholds of the static threshold table (notebook 06).
_DEFAULT_THRESHOLDS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)

_METRIC_NAMES = ("accuracy", "precision", "recall", "f1")
_AVERAGE_NAMES = ("macro_f1", "weighted_f1", "macro_precision", "macro_recall")


# --- input checks -----------------------------------------------------------------------------

def _check_labels(labels, name: str = "y_true", num_classes: int | None = None) -> np.ndarray:
    """``labels`` as a 1-D array of class numbers, or :class:`CourseError`.

    With ``num_classes`` only ``0 .. num_classes-1`` are allowed; without it any whole
    number 0 or more.
    """
    array = np.asarray(labels)
    if array.ndim != 1:
        raise CourseError(
            f"{name} must be one label per text (a 1-D list or array); got shape {array.shape}."
            + (" For model outputs use probabilities.argmax(axis=1) or logits.argmax(dim=1)." if array.ndim == 2 else "")
        )
    if array.dtype == bool:
        return array.astype(np.int64)
    if array.size and not np.issubdtype(array.dtype, np.number):
        raise CourseError(
            f"{name} must hold class numbers (0, 1, ...); got values like {array[:3].tolist()}. "
            "Fix: use the label_id column, not label."
        )
    if array.size:
        bad = (array < 0) | (np.mod(array, 1) != 0)
        if num_classes is not None:
            bad |= array >= num_classes
        if bad.any():
            allowed = f"0 to {num_classes - 1}" if num_classes is not None else "whole numbers 0, 1, 2, ..."
            examples = sorted({int(v) if float(v).is_integer() else float(v) for v in array[bad][:50]})[:5]
            raise CourseError(
                f"{name} must hold only class numbers {allowed}; found {examples} "
                f"({int(bad.sum())} of {array.size} values). Fix: use the label_id column."
            )
    return array.astype(np.int64)


def _check_same_length(first, second, first_name: str, second_name: str) -> None:
    """:class:`CourseError` unless both have one entry per text."""
    if len(first) != len(second):
        raise CourseError(
            f"{first_name} has {len(first)} entries but {second_name} has {len(second)}: "
            "they must come from the same texts, in the same order."
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


def _check_probabilities(probabilities, name: str = "probabilities", positive: int = 1) -> np.ndarray:
    """The positive class's probability per text, as a 1-D float array in [0, 1].

    Accepts one probability per text (shape ``(n,)``) or ``predict_proba`` output with
    two columns (shape ``(n, 2)``; column ``positive`` is taken). With more columns it
    raises :class:`CourseError`: one threshold needs one class's probability.
    """
    array = np.asarray(probabilities)
    if array.ndim == 2 and array.shape[1] == 2 and positive not in (0, 1):
        raise CourseError(f"{name} has two columns, for classes 0 and 1; positive={positive!r} is neither. "
                          "Fix: pass positive=0 or positive=1.")
    if array.ndim == 2 and array.shape[1] == 2:
        array = array[:, positive]
    elif array.ndim == 2 and array.shape[1] > 2:
        raise CourseError(
            f"{name} has {array.shape[1]} columns, one per class: one threshold needs one class's probability "
            "(that class against the rest). Fix: pass one column, e.g. probabilities[:, k], or predict with "
            "argmax (probabilities.argmax(axis=1)); abstaining below a top probability is shown in notebook 08."
        )
    if array.ndim != 1:
        raise CourseError(f"{name} must be one probability per text (shape (n,) or (n, 2)); got shape {array.shape}.")
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
            "Fix: apply softmax to the logits first (torch.softmax(logits, dim=1))."
        )
    return array


def _check_labels_and_probabilities(y_true, probabilities, positive: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``(is_positive, probability)``: 0/1 truth for the ``positive`` class and its probabilities."""
    true = _check_labels(y_true, "y_true")
    scores = _check_probabilities(probabilities, "probabilities", positive)
    _check_same_length(true, scores, "y_true", "probabilities")
    if not true.size:
        raise CourseError("y_true and probabilities are empty: score at least one text.")
    return (true == positive).astype(np.int64), scores


def _checked_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    true = _check_labels(y_true, "y_true")
    pred = _check_labels(y_pred, "y_pred")
    _check_same_length(true, pred, "y_true", "y_pred")
    return true, pred


# --- counts and scores -------------------------------------------------------------------------

def confusion_counts(y_true: Sequence[int], y_pred: Sequence[int], positive: int = 1) -> dict[str, int]:
    """TP, FP, FN, TN for the ``positive`` class (every other class counts as negative)."""
    from sklearn.metrics import confusion_matrix

    true, pred = _checked_pair(y_true, y_pred)
    tn, fp, fn, tp = confusion_matrix(true == positive, pred == positive, labels=[False, True]).ravel()
    return {"tp": int(tp), "fp": int(fp), "fn": int(fn), "tn": int(tn)}


def _scores_from_counts(tp: int, fp: int, fn: int, tn: int) -> dict[str, float]:
    """Accuracy, precision, recall and F1 from the four counts (0.0 where undefined; notebook 06)."""
    total = tp + fp + fn + tn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": (tp + tn) / total if total else 0.0, "precision": precision, "recall": recall, "f1": f1}


def classification_scores(y_true: Sequence[int], y_pred: Sequence[int], positive: int = 1) -> dict[str, float]:
    """Accuracy, and precision/recall/F1 of the ``positive`` class (scikit-learn; notebook 06)."""
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    true, pred = _checked_pair(y_true, y_pred)
    if not true.size:
        return {"accuracy": 0.0, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    precision, recall, f1, _ = precision_recall_fscore_support(
        true == positive, pred == positive, average="binary", pos_label=True, zero_division=0)
    return {"accuracy": float(accuracy_score(true, pred)), "precision": float(precision),
            "recall": float(recall), "f1": float(f1)}


def _class_numbers(true: np.ndarray, pred: np.ndarray, label_names: Sequence[str] | None) -> list[int]:
    if label_names:
        return list(range(len(label_names)))
    top = int(max(true.max(initial=0), pred.max(initial=0)))
    return list(range(top + 1))


def _names(label_names: Sequence[str] | None, classes: list[int]) -> list[str]:
    return [str(name) for name in label_names] if label_names else [str(index) for index in classes]


def per_class_scores(y_true, y_pred, label_names: Sequence[str] | None = None) -> pd.DataFrame:
    """Precision, recall, F1 and support of every class, one row each (scikit-learn; notebooks 06, 08)."""
    from sklearn.metrics import precision_recall_fscore_support

    true, pred = _checked_pair(y_true, y_pred)
    classes = _class_numbers(true, pred, label_names)
    precision, recall, f1, support = precision_recall_fscore_support(
        true, pred, labels=classes, average=None, zero_division=0)
    table = pd.DataFrame({"precision": precision, "recall": recall, "f1": f1, "support": support.astype(int)},
                         index=pd.Index(_names(label_names, classes), name="class"))
    return table


def average_scores(y_true, y_pred, label_names: Sequence[str] | None = None) -> dict[str, float]:
    """Accuracy and the macro and weighted averages of the per-class scores (notebook 08).

    *macro* is the plain mean over classes (each class counts the same, however rare);
    *weighted* weights each class by its number of texts, so it mostly follows the
    largest classes.
    """
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    true, pred = _checked_pair(y_true, y_pred)
    classes = _class_numbers(true, pred, label_names)
    common = {"labels": classes, "zero_division": 0}
    return {
        "accuracy": float(accuracy_score(true, pred)) if true.size else 0.0,
        "macro_precision": float(precision_score(true, pred, average="macro", **common)),
        "macro_recall": float(recall_score(true, pred, average="macro", **common)),
        "macro_f1": float(f1_score(true, pred, average="macro", **common)),
        "weighted_f1": float(f1_score(true, pred, average="weighted", **common)),
    }


def f1_averages(y_true: Sequence[int], y_pred: Sequence[int],
                label_names: Sequence[str] | None = None) -> dict[str, float]:
    """F1 of every class (keyed by its name), then the macro and weighted averages (notebook 06).

    At 12% spam the weighted average is mostly ham's F1; the macro average treats the
    classes equally.
    """
    table = per_class_scores(y_true, y_pred, label_names)
    averages = average_scores(y_true, y_pred, label_names)
    return {**{f"{name} F1": float(value) for name, value in table["f1"].items()},
            "macro F1": averages["macro_f1"], "weighted F1": averages["weighted_f1"]}


def confusion_table(y_true, y_pred, label_names: Sequence[str] | None = None) -> pd.DataFrame:
    """The K x K confusion matrix as a table: rows the actual class, columns the prediction (notebook 08)."""
    from sklearn.metrics import confusion_matrix

    true, pred = _checked_pair(y_true, y_pred)
    classes = _class_numbers(true, pred, label_names)
    names = _names(label_names, classes)
    matrix = confusion_matrix(true, pred, labels=classes)
    return pd.DataFrame(matrix, index=pd.Index(names, name="actual"), columns=pd.Index(names, name="predicted"))


def top_confusions(y_true, y_pred, label_names: Sequence[str] | None = None, n: int = 5) -> pd.DataFrame:
    """The ``n`` most frequent mistakes: actual class, predicted class, count, share of that class (notebook 08)."""
    table = confusion_table(y_true, y_pred, label_names)
    rows = []
    for actual in table.index:
        total = int(table.loc[actual].sum())
        for predicted in table.columns:
            count = int(table.loc[actual, predicted])
            if actual != predicted and count:
                rows.append({"actual": actual, "predicted": predicted, "count": count,
                             "share of actual %": round(100 * count / total, 1)})
    frame = pd.DataFrame(rows, columns=["actual", "predicted", "count", "share of actual %"])
    return frame.sort_values(["count", "actual"], ascending=[False, True]).head(n).reset_index(drop=True)


def counts_to_labels(tp: int, fp: int, fn: int, tn: int) -> tuple[np.ndarray, np.ndarray]:
    """``(y_true, y_pred)`` arrays that produce exactly these four counts (notebooks 06 and 07).

    Turns a confusion matrix from a page into labels that scikit-learn can score.
    """
    counts = {"tp": tp, "fp": fp, "fn": fn, "tn": tn}
    for key, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise CourseError(f"{key} must be a whole number of texts, 0 or more; got {value!r}.")
    y_true = np.array([1] * tp + [0] * fp + [1] * fn + [0] * tn, dtype=np.int64)
    y_pred = np.array([1] * tp + [1] * fp + [0] * fn + [0] * tn, dtype=np.int64)
    return y_true, y_pred


def compare_to_targets(scores: Mapping[str, float], targets: Mapping[str, float] | None = None) -> pd.DataFrame:
    """One row per metric: the value, the target ("good" value), and whether it is met (notebook 06)."""
    targets = dict(_GOOD_TARGETS if targets is None else targets)
    missing = [name for name in targets if name not in scores]
    if missing:
        raise CourseError(
            f"scores has no {', '.join(missing)}: pass the dict from classification_scores() or evaluate()."
        )
    rows = [{"metric": name, "value": round(float(scores[name]), 4), "target": f"> {target:.2f}",
             "meets target": bool(float(scores[name]) > target)} for name, target in targets.items()]
    return pd.DataFrame(rows).set_index("metric")


# --- probabilities and thresholds (two classes) --------------------------------------------------

def predict_at_threshold(probabilities, threshold: float = 0.5, positive: int = 1) -> np.ndarray:
    """Class numbers: ``positive`` where its probability is ``>= threshold``, else the other class (notebook 06).

    ``probabilities`` is ``predict_proba`` output with two columns, or class ``positive``'s
    probability per text. With ``positive=1`` that is 1 at or above the threshold, else 0;
    with ``positive=0`` it is 0 at or above the threshold, else 1, so the result can go
    straight to :func:`classification_scores` with the same ``positive``.
    """
    from course_utils.labels import decide

    return decide(_check_probabilities(probabilities, "probabilities", positive), check_threshold(threshold), positive)


def _checked_thresholds(thresholds) -> list[float]:
    values = [check_threshold(value, "each threshold") for value in np.atleast_1d(np.asarray(thresholds, dtype=object))]
    if not values:
        raise CourseError("thresholds is empty: pass at least one threshold between 0 and 1.")
    return values


def threshold_table(y_true, probabilities, thresholds: Sequence[float] = _DEFAULT_THRESHOLDS,
                    positive: int = 1) -> pd.DataFrame:
    """Counts and scores at each threshold, one row per threshold (notebook 06).

    Columns: ``threshold, tp, fp, fn, tn, accuracy, precision, recall, f1``, counted for
    class ``positive``. Raising the threshold flags fewer texts: recall can only fall;
    precision usually rises, and is 0.0 (undefined, nothing flagged) once no probability
    reaches the threshold. All thresholds at once: a text is flagged at every threshold up
    to its probability, so sorted probabilities and ``np.searchsorted`` give each count.
    """
    true, scores = _check_labels_and_probabilities(y_true, probabilities, positive)
    grid = np.array(_checked_thresholds(thresholds))

    def flagged(group: np.ndarray) -> np.ndarray:  # how many of the group reach each threshold
        return len(group) - np.searchsorted(np.sort(group), grid, side="left")

    tp, fp = flagged(scores[true == 1]), flagged(scores[true == 0])
    fn, tn = int(true.sum()) - tp, int((true == 0).sum()) - fp
    precision, recall = _safe_ratio(tp, tp + fp), _safe_ratio(tp, tp + fn)
    return pd.DataFrame({"threshold": grid, "tp": tp, "fp": fp, "fn": fn, "tn": tn, "accuracy": (tp + tn) / len(true),
                         "precision": precision, "recall": recall,
                         "f1": _safe_ratio(2 * precision * recall, precision + recall)})


def best_threshold(y_true, probabilities, metric: str = "f1", thresholds: Sequence[float] | None = None,
                   min_precision: float | None = None, min_recall: float | None = None,
                   positive: int = 1) -> float:
    """The threshold that maximises ``metric`` on these texts (use the validation split).

    ``thresholds`` defaults to 0.01, 0.02, ..., 0.99. ``min_precision`` / ``min_recall``
    keep only thresholds that reach them, e.g. ``metric="recall", min_precision=0.95``:
    catch as many positives as possible while at most 1 flagged text in 20 is a false
    alarm. Among equally good thresholds the one closest to 0.5 wins. Choose it on
    validation and report it on test: choosing it on test would be tuning on the exam.
    """
    if metric not in _METRIC_NAMES:
        raise CourseError(f"metric must be one of {list(_METRIC_NAMES)}; got {metric!r}.")
    grid = np.round(np.arange(1, 100) / 100, 2) if thresholds is None else thresholds
    table = threshold_table(y_true, probabilities, grid, positive)
    allowed = pd.Series(True, index=table.index)
    if min_precision is not None:
        allowed &= table["precision"] >= check_threshold(min_precision, "min_precision")
    if min_recall is not None:
        allowed &= table["recall"] >= check_threshold(min_recall, "min_recall")
    if not allowed.any():
        raise CourseError(
            f"No threshold reaches min_precision={min_precision} and min_recall={min_recall} on these "
            f"{len(np.asarray(y_true))} texts. Fix: relax the constraint or train a better model."
        )
    candidates = table[allowed]
    best_value = candidates[metric].max()
    tied = candidates[np.isclose(candidates[metric], best_value)]
    return float(tied.loc[(tied["threshold"] - 0.5).abs().idxmin(), "threshold"])


#: Fewest validation texts of the positive class behind a tuned threshold (notebook 09, ``train``).
#: With fewer, one text more or less moves the chosen threshold far: keep 0.5 instead.
MIN_THRESHOLD_POSITIVES = 30


@dataclass(frozen=True)
class _ThresholdChoice:
    """A decision threshold chosen on validation, or 0.5 kept and why (notebook 09)."""

    value: float
    tuned: bool
    positives: int  # validation texts of the positive class it was chosen on
    reason: str

    def __str__(self) -> str:
        return f"{self.value:.2f} ({self.reason})"


def choose_threshold(y_val, val_probabilities, metric: str = "f1", *, positive: int = 1,
                     min_positives: int = MIN_THRESHOLD_POSITIVES, **constraints) -> _ThresholdChoice:
    """:func:`best_threshold` on validation, only when enough positives back it (notebook 09).

    With fewer than ``min_positives`` validation texts of class ``positive`` the threshold
    would follow a handful of texts: 0.5 is kept (``tuned=False``) and ``reason`` says so.
    ``constraints`` (``min_precision``, ``min_recall``) go to :func:`best_threshold`.
    """
    true = _check_labels(y_val, "y_val")
    positives = int((true == positive).sum())
    if positives < min_positives:
        return _ThresholdChoice(0.5, False, positives,
                               f"kept 0.5: validation holds {positives} texts of the positive class, fewer than "
                               f"the {min_positives} a tuned threshold needs")
    value = best_threshold(true, val_probabilities, metric=metric, positive=positive, **constraints)
    return _ThresholdChoice(value, True, positives,
                           f"best validation {metric} over {positives} texts of the positive class")


def precision_recall_points(y_true, probabilities, positive: int = 1) -> pd.DataFrame:
    """The precision-recall curve as a table: ``threshold, precision, recall`` (notebook 06).

    Each distinct probability is a threshold, as in ``sklearn.metrics.precision_recall_curve``.
    The average precision (scikit-learn's: the precision at each threshold weighted by the recall
    gained there, a step-wise sum rather than the trapezoid area under the curve) is in
    ``table.attrs["average_precision"]``.
    """
    from sklearn.metrics import average_precision_score, precision_recall_curve

    true, scores = _check_labels_and_probabilities(y_true, probabilities, positive)
    if not true.any():
        raise CourseError(f"y_true has no text of the positive class ({positive}): a precision-recall curve "
                          "needs at least one.")
    precision, recall, thresholds = precision_recall_curve(true, scores)
    table = pd.DataFrame({"threshold": thresholds, "precision": precision[:-1], "recall": recall[:-1]})
    table.attrs["average_precision"] = float(average_precision_score(true, scores))
    return table


# --- calibration (notebook 06) ------------------------------------------------------------------

def expected_calibration_error(y_true, probabilities, bins: int = 10, positive: int = 1) -> float:
    """Expected calibration error of the positive class's probabilities (notebook 06).

    The texts are put in ``bins`` equal-width probability bins; in each, the gap between the
    mean predicted probability and the share that really is positive is weighted by the bin's
    share of the texts. 0 means: among texts given 0.8, 80% are positive, and so on.
    """
    true, scores = _check_labels_and_probabilities(y_true, probabilities, positive)
    if bins < 2:
        raise CourseError(f"bins must be at least 2, got {bins}.")
    which = np.minimum((scores * bins).astype(int), bins - 1)
    error = 0.0
    for index in range(bins):
        inside = which == index
        if inside.any():
            error += inside.mean() * abs(scores[inside].mean() - true[inside].mean())
    return float(error)


def _log_loss_at(log_probs: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    scaled = log_probs / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(scaled).sum(axis=1))
    return float(np.mean(log_norm - scaled[np.arange(len(labels)), labels]))


def fit_temperature(y_val, val_probabilities) -> float:
    """The temperature T that makes ``softmax(logits / T)`` best calibrated on validation (notebook 06).

    Temperature scaling (Guo et al., 2017): one number, fitted by minimising the log loss of
    the validation texts. T > 1 softens over-confident probabilities, T < 1 sharpens timid
    ones; the ranking of the texts, and so the argmax, does not change. ``val_probabilities``
    is ``predict_proba`` output, shape ``(n, K)``; log-probabilities serve as logits.
    """
    probabilities = np.asarray(val_probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] < 2:
        raise CourseError(f"val_probabilities must be predict_proba output, shape (n, classes); "
                          f"got shape {probabilities.shape}.")
    labels = _check_labels(y_val, "y_val", num_classes=probabilities.shape[1])
    _check_same_length(labels, probabilities, "y_val", "val_probabilities")
    from scipy.optimize import minimize_scalar

    log_probs = np.log(np.clip(probabilities, 1e-12, 1.0))
    best = minimize_scalar(lambda log_t: _log_loss_at(log_probs, labels, np.exp(log_t)),
                           bounds=(np.log(0.05), np.log(20.0)), method="bounded", options={"xatol": 1e-6})
    return float(np.exp(best.x))


def apply_temperature(probabilities, temperature: float) -> np.ndarray:
    """``predict_proba`` output re-scaled by a temperature from :func:`fit_temperature` (notebook 06)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if not temperature > 0:
        raise CourseError(f"temperature must be above 0, got {temperature}.")
    scaled = np.log(np.clip(probabilities, 1e-12, 1.0)) / temperature
    scaled = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    return scaled / scaled.sum(axis=1, keepdims=True)


# --- noise: bootstrap intervals (notebook 07) ---------------------------------------------------

@dataclass(frozen=True)
class _Interval:
    """A score and its bootstrap confidence interval (notebook 07)."""

    estimate: float
    low: float
    high: float
    confidence: float
    resamples: int

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.estimate:.3f} ({self.confidence:.0%} interval {self.low:.3f} to {self.high:.3f})"


def _metric_function(metric: str | Callable, positive: int = 1) -> Callable[[np.ndarray, np.ndarray], float]:
    """A function ``(y_true, y_pred) -> float`` for a metric name or a callable."""
    if callable(metric):
        return metric
    if metric in _METRIC_NAMES:
        return lambda true, pred: classification_scores(true, pred, positive)[metric]
    if metric in _AVERAGE_NAMES:
        return lambda true, pred: average_scores(true, pred)[metric]
    raise CourseError(f"metric must be one of {list(_METRIC_NAMES + _AVERAGE_NAMES)} or a function "
                      f"(y_true, y_pred) -> float; got {metric!r}.")


def _bootstrap(y_true, predictions: list, metric, positive: int, resamples: int, confidence: float,
               seed: int) -> tuple[np.ndarray, list[float]]:
    if not 0 < confidence < 1:
        raise CourseError(f"confidence must be between 0 and 1, e.g. 0.95; got {confidence}.")
    if resamples < 100:
        raise CourseError(f"resamples={resamples} is too few for an interval; use 1000 or more.")
    true = _check_labels(y_true, "y_true")
    preds = [_check_labels(pred, "y_pred") for pred in predictions]
    for pred in preds:
        _check_same_length(true, pred, "y_true", "y_pred")
    if not true.size:
        raise CourseError("y_true is empty: the bootstrap needs texts to resample.")
    score = _metric_function(metric, positive)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(true), size=(resamples, len(true)))
    if isinstance(metric, str):  # every resample at once, from its confusion counts
        values = np.stack([_resampled_scores(true, pred, draws, metric, positive) for pred in preds], axis=1)
    else:  # a function of the caller's: one call per resample
        values = np.array([[score(true[rows], pred[rows]) for pred in preds] for rows in draws])
    return values, [score(true, pred) for pred in preds]


def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0.0 where the denominator is 0 (scikit-learn's ``zero_division=0``)."""
    out = np.zeros(np.broadcast(numerator, denominator).shape)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _resampled_scores(true: np.ndarray, pred: np.ndarray, draws: np.ndarray, metric: str,
                      positive: int) -> np.ndarray:
    """``metric`` on every resample (rows of ``draws``), vectorised: the same values as scoring each one."""
    if metric in _METRIC_NAMES:  # one class against the rest
        true, pred, classes = (true == positive).astype(np.int64), (pred == positive).astype(np.int64), 2
    else:
        classes = int(max(true.max(initial=0), pred.max(initial=0))) + 1
    resamples = len(draws)
    codes = (true * classes + pred)[draws] + (np.arange(resamples) * classes * classes)[:, None]
    confusion = np.bincount(codes.ravel(), minlength=resamples * classes * classes).reshape(
        resamples, classes, classes).astype(np.float64)  # [resample, actual, predicted]
    hits = np.diagonal(confusion, axis1=1, axis2=2)
    actual, predicted = confusion.sum(axis=2), confusion.sum(axis=1)
    precision, recall = _safe_ratio(hits, predicted), _safe_ratio(hits, actual)
    f1 = _safe_ratio(2 * hits, actual + predicted)
    if metric == "accuracy":
        return hits.sum(axis=1) / draws.shape[1]
    if metric in _METRIC_NAMES:
        return {"precision": precision, "recall": recall, "f1": f1}[metric][:, 1]
    if metric == "weighted_f1":
        return (f1 * actual).sum(axis=1) / draws.shape[1]
    return {"macro_f1": f1, "macro_precision": precision, "macro_recall": recall}[metric].mean(axis=1)


def bootstrap_interval(y_true, y_pred, metric: str | Callable = "f1", *, positive: int = 1,
                       resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> _Interval:
    """The score on this test set and a percentile bootstrap interval for it (notebook 07).

    Resamples the test texts with replacement ``resamples`` times and scores each
    resample: the spread says how much the score would move on another test set of
    the same size from the same source.
    """
    values, estimates = _bootstrap(y_true, [y_pred], metric, positive, resamples, confidence, seed)
    tail = (1 - confidence) / 2
    low, high = np.quantile(values[:, 0], [tail, 1 - tail])
    return _Interval(float(estimates[0]), float(low), float(high), confidence, resamples)


def bootstrap_difference(y_true, y_pred_a, y_pred_b, metric: str | Callable = "f1", *, positive: int = 1,
                         resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> _Interval:
    """Score of model A minus score of model B on the same texts, with a paired bootstrap interval (notebook 07).

    Both models are scored on the same resampled texts each time. An interval that
    contains 0 means the test set cannot tell the two models apart.
    """
    values, estimates = _bootstrap(y_true, [y_pred_a, y_pred_b], metric, positive, resamples, confidence, seed)
    differences = values[:, 0] - values[:, 1]
    tail = (1 - confidence) / 2
    low, high = np.quantile(differences, [tail, 1 - tail])
    return _Interval(float(estimates[0] - estimates[1]), float(low), float(high), confidence, resamples)
