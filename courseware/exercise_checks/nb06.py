"""Exercises of notebook 06 (metrics: accuracy, precision, recall, F1 and the threshold)."""

from __future__ import annotations

import math
from numbers import Real

from courseware.exercises import Exercise, NotYet, require


def _number(namespace, name: str, what: str) -> float:
    """The learner's number ``name`` as a float (a bool, a string or an array is not a number)."""
    value = require(namespace, name, None, what)
    if hasattr(value, "item") and getattr(value, "size", None) == 1:  # a NumPy or torch scalar
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise NotYet(f"`{name}` is {value!r}; it should be one number: {what}.")
    return float(value)


def _count(namespace, name: str) -> int:
    value = _number(namespace, name, "run the cell above the exercise first, which sets the four counts")
    if value != int(value) or value < 0:
        raise NotYet(f"`{name}` is {value!r}; it should be a count. Run the cell above the exercise again.")
    return int(value)


def _close(value: float, expected: float, tolerance: float = 1e-9) -> bool:
    return abs(value - expected) <= tolerance


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


# --- 2.1 the four scores by hand ----------------------------------------------------------------


def _check_scores_by_hand(namespace) -> str:
    tp, fp, fn, tn = (_count(namespace, name) for name in ("tp", "fp", "fn", "tn"))
    total = tp + fp + fn + tn
    if not total or not tp + fp or not tp + fn:
        raise NotYet("the counts above the exercise have changed (nothing flagged or no positives): run that "
                     "cell again.")
    expected = {"accuracy": (tp + tn) / total, "precision": tp / (tp + fp), "recall": tp / (tp + fn)}
    expected["f1"] = _f1(expected["precision"], expected["recall"])
    what = {"accuracy": "store (TP + TN) / all in `accuracy`", "precision": "store TP / (TP + FP) in `precision`",
            "recall": "store TP / (TP + FN) in `recall`", "f1": "store the harmonic mean of the two in `f1`"}
    got = {name: _number(namespace, name, what[name]) for name in expected}

    for name, value in got.items():
        if _close(value, 100 * expected[name], 1e-6) and not _close(value, expected[name]):
            raise NotYet(f"`{name}` is {value:.4g}: that is a percentage. Store a fraction between 0 and 1 "
                         "(print it with :.1% if you want a percentage).")
    if not _close(got["accuracy"], expected["accuracy"]):
        if _close(got["accuracy"], tp / total):
            raise NotYet(f"`accuracy` is {got['accuracy']:.4g}: that counts only the caught positives. The true "
                         "negatives are right answers too: (tp + tn) / (tp + fp + fn + tn).")
        raise NotYet(f"`accuracy` is {got['accuracy']:.4g}; it is the share of right answers, "
                     "(tp + tn) / (tp + fp + fn + tn).")
    if _close(got["precision"], expected["recall"]) and _close(got["recall"], expected["precision"]):
        raise NotYet("`precision` and `recall` are swapped. Precision divides by what was flagged (tp + fp), "
                     "recall by what really is positive (tp + fn).")
    meaning = {"precision": ("recall", "the share of the flagged examples that is positive: tp / (tp + fp)"),
               "recall": ("precision", "the share of the real positives that was caught: tp / (tp + fn)")}
    for name, (other, definition) in meaning.items():
        if not _close(got[name], expected[name]):
            mixed_up = f", which is the {other}" if _close(got[name], expected[other]) else ""
            raise NotYet(f"`{name}` is {got[name]:.4g}{mixed_up}; {name} is {definition}.")
    if not _close(got["f1"], expected["f1"]):
        if _close(got["f1"], (expected["precision"] + expected["recall"]) / 2):
            raise NotYet(f"`f1` is {got['f1']:.4f}, the plain mean of precision and recall. F1 is their harmonic "
                         "mean: 2 * precision * recall / (precision + recall).")
        rounded = _f1(round(expected["precision"], 2), round(expected["recall"], 2))
        if _close(got["f1"], rounded, 1e-6):
            raise NotYet(f"`f1` is {got['f1']:.4f}: it was computed from precision and recall rounded to two "
                         f"places. Use the unrounded `precision` and `recall` (F1 {expected['f1']:.4f}); round "
                         "only when you print.")
        raise NotYet(f"`f1` is {got['f1']:.4g}; compute 2 * precision * recall / (precision + recall).")
    return (f"accuracy {expected['accuracy']:.2f}, precision {expected['precision']:.4f}, recall "
            f"{expected['recall']:.2f} and F1 {expected['f1']:.4f} from {total} examples.")


scores_by_hand = Exercise(
    name="the four scores from counts",
    checker=_check_scores_by_hand,
    hint_text="Each score is one division: accuracy counts every right answer (tp + tn) over all, precision "
              "divides tp by what was flagged (tp + fp), recall divides tp by the real positives (tp + fn), "
              "and F1 is 2 * precision * recall / (precision + recall).",
    solution_code='''
# Exercise: compute `accuracy`, `precision`, `recall` and `f1` from the four counts set above.
# Exercise: the formulas are in the table of section 1. Print the four scores.
total = tp + fp + fn + tn
accuracy = (tp + tn) / total
precision = tp / (tp + fp)
recall = tp / (tp + fn)
f1 = 2 * precision * recall / (precision + recall)

print(f"total      {total}")
print(f"accuracy   {accuracy:.2f}  ({tp + tn}/{total})")
print(f"precision  {precision:.2f}  ({tp}/{tp + fp} = {precision:.4f})")
print(f"recall     {recall:.2f}  ({tp}/{tp + fn})")
print(f"F1         {f1:.4f} ~ {f1:.2f}")
''',
    alternative_code='''
right, flagged, positives = tp + tn, tp + fp, tp + fn
accuracy = right / (right + fp + fn)
precision, recall = tp / flagged, tp / positives
f1 = 1 / ((1 / precision + 1 / recall) / 2)  # the harmonic mean, written as one
''',
)


# --- 3.2 predictions at three thresholds --------------------------------------------------------


def _as_int_array(value, name: str, length: int, what: str):
    import numpy as np

    try:
        array = np.asarray(value)
    except Exception:  # any object numpy cannot turn into an array
        raise NotYet(f"`{name}` should be an array of 0 and 1: {what}.") from None
    if array.shape != (length,):
        raise NotYet(f"`{name}` has shape {array.shape}; it should hold one prediction per message ({length}): "
                     f"{what}.")
    if array.dtype == bool:
        array = array.astype(int)
    if not np.issubdtype(array.dtype, np.number) or not set(np.unique(array).tolist()) <= {0, 1}:
        raise NotYet(f"`{name}` should hold only 0 (ham) and 1 (spam): {what}.")
    return array.astype(int)


def _check_toy_thresholds(namespace) -> str:
    import numpy as np

    from course_utils.metrics import classification_scores

    toy_true = np.asarray(require(namespace, "toy_true", None, "run the cell above the exercise first"))
    toy_p_spam = np.asarray(require(namespace, "toy_p_spam", None, "run the cell above the exercise first"))
    thresholds = require(namespace, "toy_thresholds", (list, tuple), "run the cell above the exercise first")
    if toy_true.shape != toy_p_spam.shape or toy_true.ndim != 1:
        raise NotYet("`toy_true` and `toy_p_spam` no longer match: run the cell above the exercise again.")
    predictions = require(namespace, "toy_predictions", dict,
                          "store the predictions in a dict, one entry per threshold (threshold -> array)")
    lines = []
    for threshold in thresholds:
        if threshold not in predictions:
            raise NotYet(f"`toy_predictions` has no entry for threshold {threshold}: use each threshold of "
                         "`toy_thresholds` as a key.")
        what = f"spam (1) where P(spam) >= {threshold}"
        predicted = _as_int_array(predictions[threshold], f"toy_predictions[{threshold}]", len(toy_p_spam), what)
        expected = (toy_p_spam >= threshold).astype(int)
        if not np.array_equal(predicted, expected):
            if np.array_equal(predicted, (toy_p_spam < threshold).astype(int)):
                raise NotYet(f"`toy_predictions[{threshold}]` is the wrong way round: a message is spam (1) when "
                             "its P(spam) is at or above the threshold.")
            if np.array_equal(predicted, (toy_p_spam > threshold).astype(int)):
                raise NotYet(f"`toy_predictions[{threshold}]` uses > : a message whose P(spam) equals the threshold "
                             "is spam too (>=).")
            raise NotYet(f"`toy_predictions[{threshold}]` is {predicted.tolist()}; it should be 1 where "
                         f"`toy_p_spam` >= {threshold}.")
        scores = classification_scores(toy_true, expected)
        lines.append(f"{threshold}: precision {scores['precision']:.2f}, recall {scores['recall']:.2f}")
    return "; ".join(lines) + "."


toy_thresholds = Exercise(
    name="predictions at three thresholds",
    checker=_check_toy_thresholds,
    hint_text="`(toy_p_spam >= threshold).astype(int)` turns the probabilities into 0 and 1 at one threshold; "
              "loop over `toy_thresholds`, store each array in `toy_predictions[threshold]`, and score it with "
              "`classification_scores(toy_true, ...)`.",
    solution_code='''
# Exercise: for each threshold in `toy_thresholds`, predict spam (1) where `toy_p_spam` >= it.
# Exercise: store the predictions in the dict `toy_predictions` (threshold -> array of 0 and 1).
# Exercise: print the precision and recall at each threshold.
toy_predictions = {}
for toy_threshold in toy_thresholds:
    toy_predictions[toy_threshold] = (toy_p_spam >= toy_threshold).astype(int)
    toy_scores = classification_scores(toy_true, toy_predictions[toy_threshold])
    print(f"threshold {toy_threshold}: predicted {toy_predictions[toy_threshold].tolist()}  "
          f"precision {toy_scores['precision']:.2f}  recall {toy_scores['recall']:.2f}")
''',
    alternative_code='''
toy_predictions = {cut: np.where(toy_p_spam >= cut, 1, 0) for cut in toy_thresholds}
for cut, predicted in toy_predictions.items():
    print(cut, precision_score(toy_true, predicted), recall_score(toy_true, predicted))
''',
)


# --- 4.6 the best-F1 threshold on validation ----------------------------------------------------


def _f1_per_threshold(labels, probabilities, thresholds, strict: bool = False):
    import numpy as np

    labels, probabilities = np.asarray(labels), np.asarray(probabilities, dtype=float)
    values = []
    for threshold in thresholds:
        flagged = probabilities > threshold if strict else probabilities >= threshold
        tp = int((flagged & (labels == 1)).sum())
        denominator = int(flagged.sum()) + int((labels == 1).sum())
        values.append(2 * tp / denominator if denominator else 0.0)
    return np.array(values)


def _check_choose_threshold(namespace) -> str:
    import numpy as np

    from course_utils.metrics import best_threshold

    need = "run the cells of sections 4.2 to 4.5 above first"
    candidates = np.asarray(require(namespace, "candidates", None, need), dtype=float)
    y_val = np.asarray(require(namespace, "y_val", None, need))
    val_p_spam = np.asarray(require(namespace, "val_p_spam", None, need), dtype=float)
    if candidates.ndim != 1 or not len(candidates) or y_val.shape != val_p_spam.shape:
        raise NotYet(f"`candidates`, `y_val` or `val_p_spam` has changed: {need}.")
    expected_f1 = _f1_per_threshold(y_val, val_p_spam, candidates)

    try:
        val_f1 = np.asarray(require(namespace, "val_f1", None, "store one validation F1 per candidate threshold"),
                            dtype=float)
    except (TypeError, ValueError):
        raise NotYet("`val_f1` should be numbers, one F1 per threshold of `candidates`.") from None
    if val_f1.shape != candidates.shape:
        raise NotYet(f"`val_f1` has shape {val_f1.shape}; it should hold one F1 per threshold of `candidates` "
                     f"({len(candidates)}).")
    if not np.allclose(val_f1, expected_f1, atol=1e-9):
        others = {"the test split: choose on validation (`y_val`, `val_p_spam`) and keep the test split for the "
                  "report": ("y_test", "test_p_spam", False),
                  "`>` : a message at exactly the threshold is flagged too (>=)": ("y_val", "val_p_spam", True)}
        if "short_val" in namespace:
            others["the short run's probabilities before temperature scaling: use `val_p_spam`, the scaled ones"] = (
                "y_val", "short_val", False)
        for mistake, (labels_name, probabilities_name, strict) in others.items():
            try:
                probabilities = np.asarray(namespace[probabilities_name], dtype=float)
                probabilities = probabilities[:, 1] if probabilities.ndim == 2 else probabilities
                other = _f1_per_threshold(namespace[labels_name], probabilities, candidates, strict)
            except (KeyError, TypeError, ValueError, IndexError):
                continue
            if other.shape == val_f1.shape and np.allclose(val_f1, other, atol=1e-9):
                raise NotYet(f"`val_f1` was computed with {mistake}.")
        first = int(np.argmax(~np.isclose(val_f1, expected_f1, atol=1e-9)))
        raise NotYet(f"`val_f1` at threshold {candidates[first]:.2f} is {val_f1[first]:.4f}; it should be "
                     f"{expected_f1[first]:.4f}: the spam F1 of `y_val` against `val_p_spam` >= threshold.")

    f1_threshold = _number(namespace, "f1_threshold", "store the threshold with the best validation F1")
    expected = best_threshold(y_val, val_p_spam, metric="f1", thresholds=candidates.tolist())
    best = expected_f1.max()
    tied = candidates[np.isclose(expected_f1, best, atol=1e-12)]
    if not _close(f1_threshold, expected):
        if _close(f1_threshold, best):
            raise NotYet(f"`f1_threshold` is {f1_threshold:.3f}, the best F1 itself; store the threshold that "
                         "reaches it.")
        if any(_close(f1_threshold, t) for t in tied):
            raise NotYet(f"`f1_threshold` is {f1_threshold:.2f}: it reaches the best F1, but {len(tied)} thresholds "
                         f"tie there ({tied.min():.2f} to {tied.max():.2f}). Keep the one closest to 0.5, "
                         "as the prompt asks.")
        raise NotYet(f"`f1_threshold` is {f1_threshold:.2f}, whose validation F1 is not the best; take the "
                     "candidate where `val_f1` is largest.")
    ties = f", one of {len(tied)} thresholds that tie" if len(tied) > 1 else ""
    return f"best validation F1 {best:.3f} at threshold {expected:.2f}{ties}, the one closest to 0.5."


choose_threshold = Exercise(
    name="the best-F1 threshold on validation",
    checker=_check_choose_threshold,
    hint_text="`f1_score(y_val, (val_p_spam >= t).astype(int), zero_division=0)` scores one threshold; a list "
              "comprehension over `candidates` gives them all. `val_f1.max()` is the best F1, and "
              "`candidates[np.isclose(val_f1, best)]` the thresholds that reach it: keep the one with the "
              "smallest `abs(t - 0.5)`.",
    solution_code='''
# Exercise: for each of the `candidates`, compute the spam F1 of `y_val` at `val_p_spam` >= it.
# Exercise: store those F1s in `val_f1`, one per candidate, in the same order.
# Exercise: store the best-F1 threshold in `f1_threshold` (on ties, the one closest to 0.5).
val_f1 = np.array([f1_score(y_val, (val_p_spam >= candidate).astype(int), zero_division=0)
                   for candidate in candidates])
best_f1 = val_f1.max()
f1_threshold = float(min(candidates[np.isclose(val_f1, best_f1)], key=lambda candidate: abs(candidate - 0.5)))
print(f"best validation F1 {best_f1:.3f} at threshold {f1_threshold:.2f}")
''',
    alternative_code='''
table = threshold_table(y_val, val_p_spam, thresholds=candidates)
val_f1 = table["f1"].to_numpy()
best_rows = table[np.isclose(table["f1"], table["f1"].max())]
f1_threshold = best_rows.loc[(best_rows["threshold"] - 0.5).abs().idxmin(), "threshold"]
''',
)
