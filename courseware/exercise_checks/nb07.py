"""Exercises of notebook 07 (metrics pitfalls: the accuracy paradox, leakage, overfitting, imbalance, noise)."""

from __future__ import annotations

import math
from numbers import Real

from courseware.exercises import Exercise, NotYet, require


def _number(namespace, name: str, what: str) -> float:
    """The learner's number ``name`` as a float (a bool, a string or an array is not a number)."""
    value = require(namespace, name, None, what)
    if hasattr(value, "item") and getattr(value, "size", None) == 1:  # a NumPy scalar
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise NotYet(f"`{name}` is {value!r}; it should be one number: {what}.")
    return float(value)


def _whole(namespace, name: str, what: str) -> int:
    value = _number(namespace, name, what)
    if value != int(value):
        raise NotYet(f"`{name}` is {value:g}; it should be a whole number of messages: {what}.")
    return int(value)


def _close(value: float, expected: float, tolerance: float = 1e-9) -> bool:
    return abs(value - expected) <= tolerance


# --- 3.2 the self-check on the SMS test split ---------------------------------------------------


def _check_best_accuracy(namespace) -> str:
    import numpy as np

    y_test = np.asarray(require(namespace, "y_test", None, "run the first cells of the notebook first"))
    if y_test.ndim != 1 or not len(y_test):
        raise NotYet("`y_test` has changed: run the first cells of the notebook again.")
    spam, total = int((y_test == 1).sum()), len(y_test)
    expected_caught = round(0.12 * spam)
    expected_missed = spam - expected_caught
    expected_accuracy = (total - expected_missed) / total

    caught = _whole(namespace, "caught", "store how many test spam messages 12% recall catches, rounded")
    missed = _whole(namespace, "missed", "store how many test spam messages it misses")
    if (caught, missed) == (expected_missed, expected_caught):
        raise NotYet("`caught` and `missed` are swapped: 12% recall catches 12% of the spam and misses the rest.")
    if caught != expected_caught:
        if caught == round(0.12 * total):
            raise NotYet(f"`caught` is {caught}: that is 12% of all test messages. Recall counts only the spam: "
                         f"12% of the {spam} spam messages.")
        raise NotYet(f"`caught` is {caught}; 12% of the {spam} test spam messages, rounded to a whole message.")
    if missed != expected_missed:
        raise NotYet(f"`missed` is {missed}; the spam that is not caught: {spam} - {caught}.")

    accuracy = _number(namespace, "best_possible_accuracy", "store the highest accuracy possible, as a fraction")
    if _close(accuracy, expected_accuracy):
        return (f"{missed} missed spam messages are {missed} wrong answers out of {total}, even with no false "
                f"alarm: accuracy at most {expected_accuracy:.1%}.")
    if _close(accuracy, 100 * expected_accuracy, 1e-6):
        raise NotYet(f"`best_possible_accuracy` is {accuracy:.4g}: that is a percentage. Store a fraction between "
                     "0 and 1.")
    if _close(accuracy, (total - caught) / total):
        raise NotYet("`best_possible_accuracy` subtracts the caught spam; the wrong answers are the *missed* spam.")
    if _close(accuracy, (spam - missed) / spam) or _close(accuracy, caught / spam):
        raise NotYet("`best_possible_accuracy` is the recall. Accuracy counts every message: "
                     "(all messages - wrong answers) / all messages.")
    raise NotYet(f"`best_possible_accuracy` is {accuracy:.4g}; with no false alarm the only wrong answers are "
                 "the missed spam: (len(y_test) - missed) / len(y_test).")


best_accuracy = Exercise(
    name="the best accuracy at 12% recall",
    checker=_check_best_accuracy,
    hint_text="Count the test spam (`y_test.sum()`), catch 12% of it (`round(...)`), and count the rest as "
              "wrong answers: with no false alarm, accuracy is (all messages - missed) / all messages.",
    solution_code='''
# Exercise: find the highest accuracy possible when only 12% of the test spam is caught.
# Exercise: store the spam caught in `caught` (rounded) and the spam missed in `missed`.
# Exercise: store that highest accuracy, as a fraction, in `best_possible_accuracy`.
spam_in_test = int(y_test.sum())
caught = round(0.12 * spam_in_test)
missed = spam_in_test - caught
best_possible_accuracy = (len(y_test) - missed) / len(y_test)
print(f"caught {caught}, missed {missed}: accuracy at most {best_possible_accuracy:.1%}")
''',
    alternative_code='''
caught = int(np.round(0.12 * np.count_nonzero(y_test == 1)))
missed = np.count_nonzero(y_test == 1) - caught
wrong_at_least = missed  # even with no false alarm
best_possible_accuracy = 1 - wrong_at_least / y_test.size
''',
)


# --- 3.3 copies of training messages in the leaky split -----------------------------------------


def _check_leaky_copies(namespace) -> str:
    import numpy as np

    from course_utils import data

    leaky_splits = require(namespace, "leaky_splits", data.Splits, "run the cell that builds the raw split first")
    train, test = leaky_splits.train, leaky_splits.test
    expected = test["text"].isin(set(train["text"])).to_numpy()
    is_spam = (test["label_id"] == 1).to_numpy()

    try:
        copied = np.asarray(require(namespace, "copied", None,
                                    "store one True/False per test message: is it a copy of a training message?"))
    except Exception:  # an object numpy cannot turn into an array
        raise NotYet("`copied` should hold one True/False per test message of `leaky_splits.test`.") from None
    if copied.shape != expected.shape:
        raise NotYet(f"`copied` has shape {copied.shape}; it should hold one True/False per test message "
                     f"({len(test)}), in the order of `leaky_splits.test`.")
    if copied.dtype != bool:
        if not np.issubdtype(copied.dtype, np.number) or not set(np.unique(copied).tolist()) <= {0, 1}:
            raise NotYet("`copied` should hold True/False values: `.isin(...)` gives them.")
        copied = copied.astype(bool)
    if not np.array_equal(copied, expected):
        if np.array_equal(copied, test["text"].isin(set(leaky_splits.val["text"])).to_numpy()):
            raise NotYet("`copied` marks copies of *validation* messages; compare with the training split, "
                         "`leaky_splits.train`.")
        if np.array_equal(copied, test["text"].duplicated(keep=False).to_numpy()) or np.array_equal(
                copied, test["text"].duplicated().to_numpy()):
            raise NotYet("`copied` marks texts repeated *within* the test split; mark the test messages whose text "
                         "is also in the training split.")
        if np.array_equal(copied, ~expected):
            raise NotYet("`copied` is the wrong way round: True should mark the copies.")
        raise NotYet(f"`copied` marks {int(copied.sum())} test messages; it should mark the {int(expected.sum())} "
                     "whose text is also in `leaky_splits.train`.")

    test_spam = _whole(namespace, "test_spam", "store the number of spam messages in the leaky test split")
    if test_spam != int(is_spam.sum()):
        raise NotYet(f"`test_spam` is {test_spam}; count the spam (label_id 1) of `leaky_splits.test`: "
                     f"{int(is_spam.sum())}.")
    copied_spam = _whole(namespace, "copied_spam", "store the number of test spam messages that are copies")
    if copied_spam != int((expected & is_spam).sum()):
        if copied_spam == int(expected.sum()):
            raise NotYet(f"`copied_spam` is {copied_spam}: that counts every copy, ham too. Count only the spam "
                         "among them.")
        raise NotYet(f"`copied_spam` is {copied_spam}; count the copies whose label_id is 1.")
    return (f"{int(expected.sum())} of {len(test)} test messages are copies of a training message, "
            f"{copied_spam} of the {test_spam} spam messages.")


leaky_copies = Exercise(
    name="copies of training messages in the test split",
    checker=_check_leaky_copies,
    hint_text="`leaky_splits.test['text'].isin(set(leaky_splits.train['text']))` is True for each test message "
              "whose text is also a training text. Sum it for the copies, and sum `label_id` over the copied "
              "rows for the spam among them.",
    solution_code='''
# Exercise: in `copied`, mark each test message of the leaky split that copies a training message.
# Exercise: count the test spam in `test_spam` and the copied test spam in `copied_spam`.
copied = leaky_splits.test["text"].isin(set(leaky_splits.train["text"]))
copied_spam = int(leaky_splits.test.loc[copied, "label_id"].sum())
test_spam = int(leaky_splits.test["label_id"].sum())
print(f"{copied.sum()} of {len(copied)} test messages ({copied.mean():.1%}) are copies of a training message")
print(f"{copied_spam} of the {test_spam} test spam messages ({copied_spam / test_spam:.0%}) are copies")
''',
    alternative_code='''
training_texts = set(leaky_splits.train["text"])
copied = np.array([text in training_texts for text in leaky_splits.test["text"]])
spam = leaky_splits.test["label_id"].to_numpy() == 1
test_spam, copied_spam = spam.sum(), (copied & spam).sum()
''',
)


# --- 4.5 balanced class weights -------------------------------------------------------------------


def _check_class_weights(namespace) -> str:
    import numpy as np
    import pandas as pd

    train_df = require(namespace, "train_df", pd.DataFrame, "run the cells of section 4.1 first")
    if "label_id" not in train_df.columns:
        raise NotYet("`train_df` has no label_id column: run the cells of section 4.1 again.")
    counts = train_df["label_id"].value_counts().reindex([0, 1], fill_value=0).to_numpy()
    expected = len(train_df) / (2 * counts)

    weights = require(namespace, "class_weights", None, "store the two weights, ham first, as a list")
    try:
        array = np.asarray(weights, dtype=float)
    except (TypeError, ValueError):
        raise NotYet("`class_weights` should be two numbers, ham's first: a list such as [w_ham, w_spam].") from None
    if array.shape != (2,):
        raise NotYet(f"`class_weights` has shape {array.shape}; it should be two numbers, one per class, ham first.")
    try:
        per_class = np.asarray(require(namespace, "counts_per_class", None,
                                       "store the number of messages of each class, ham first"), dtype=float)
    except (TypeError, ValueError):
        raise NotYet("`counts_per_class` should be two counts, ham first.") from None
    if per_class.shape != (2,) or not np.array_equal(per_class, counts):
        raise NotYet(f"`counts_per_class` should be the messages of each class of `train_df`, ham first: "
                     f"{counts.tolist()}.")
    if np.allclose(array, expected, atol=1e-3):
        return (f"{counts[0]} ham and {counts[1]} spam messages give weights {array.round(3).tolist()}: one spam "
                f"message weighs as much as {expected[1] / expected[0]:.1f} ham messages.")
    if np.allclose(array, expected[::-1], atol=1e-3):
        raise NotYet("`class_weights` is the wrong way round: ham (class 0) comes first, and the rare class, "
                     "spam, gets the larger weight.")
    if np.allclose(array, counts / len(train_df), atol=1e-3):
        raise NotYet("`class_weights` holds the class shares. The weight goes the other way: messages / "
                     "(2 x messages of that class), larger for the rarer class.")
    if np.allclose(array, len(train_df) / counts, atol=1e-3):
        raise NotYet("`class_weights` forgets the number of classes: divide by 2 x the messages of each class.")
    raise NotYet(f"`class_weights` is {array.round(3).tolist()}; each weight is len(train_df) / (2 x the messages "
                 "of its class), rounded to 3 places.")


class_weights = Exercise(
    name="balanced class weights",
    checker=_check_class_weights,
    hint_text="`train_df['label_id'].value_counts().sort_index()` counts ham (0) then spam (1); divide "
              "`len(train_df)` by 2 times each count, then `.round(3).tolist()`.",
    solution_code='''
# Exercise: count the messages per class of `train_df` (ham first) in `counts_per_class`.
# Exercise: store the balanced weights, rounded to 3 places, as a list in `class_weights`.
# Exercise: a class's balanced weight is messages / (2 x messages of that class).
counts_per_class = train_df["label_id"].value_counts().sort_index()
class_weights = (len(train_df) / (2 * counts_per_class)).round(3).tolist()
print("messages per class:", counts_per_class.tolist(), " weights (ham, spam):", class_weights)
print(f"one spam message weighs as much as {class_weights[1] / class_weights[0]:.1f} ham messages")
''',
    alternative_code='''
from sklearn.utils.class_weight import compute_class_weight

counts_per_class = np.bincount(train_df["label_id"])
class_weights = [round(float(w), 3) for w in compute_class_weight("balanced", classes=np.array([0, 1]),
                                                                  y=train_df["label_id"])]
''',
)
