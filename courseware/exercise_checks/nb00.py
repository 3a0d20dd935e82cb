"""Exercises of notebook 00 (setup: the device, the model and the data)."""

from __future__ import annotations

import math
from numbers import Real

from courseware.exercises import Exercise, NotYet, require


def _frame(namespace, name: str, what: str, columns: tuple[str, ...]):
    import pandas as pd

    frame = require(namespace, name, pd.DataFrame, what)
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise NotYet(f"`{name}` has no column {', '.join(repr(column) for column in missing)}: {what}.")
    return frame


def _count(namespace, name: str, what: str) -> int:
    """The learner's whole number ``name`` (an int, a NumPy integer, or a float with no fraction)."""
    value = require(namespace, name, None, what)
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value != int(value):
        raise NotYet(f"`{name}` is {value!r}; it should be a whole number: {what}.")
    return int(value)


def _check_deduplicate(namespace) -> str:
    sms_df = _frame(namespace, "sms_df", "run the cell that loads the messages first", ("text", "label_id"))
    texts = sms_df["text"]
    expected_count = int(texts.duplicated().sum())
    duplicate_count = _count(namespace, "duplicate_count", "store the number of repeated texts in `duplicate_count`")
    if duplicate_count != expected_count:
        every_copy = int(texts.duplicated(keep=False).sum())
        distinct_repeated = int(texts[texts.duplicated()].nunique())
        if duplicate_count == every_copy:
            raise NotYet(f"`duplicate_count` is {duplicate_count}: that counts the first occurrence of each repeated "
                         "text too. Count only the later copies: `duplicated()` marks them (keep='first').")
        if duplicate_count == distinct_repeated:
            raise NotYet(f"`duplicate_count` is {duplicate_count}: that is how many different texts repeat. Count "
                         "every later copy instead (`sms_df['text'].duplicated().sum()`).")
        if duplicate_count == int(sms_df.duplicated().sum()):
            raise NotYet(f"`duplicate_count` is {duplicate_count}: that compares whole rows. Compare the texts "
                         "only (`sms_df['text'].duplicated()`).")
        raise NotYet(f"`duplicate_count` is {duplicate_count}; count the texts that already appeared earlier "
                     "(`sms_df['text'].duplicated().sum()`).")

    unique_df = _frame(namespace, "unique_df", "the deduplicated messages, with the columns of `sms_df`",
                       ("text", "label_id"))
    reference = sms_df.drop_duplicates(subset="text", keep="first")
    if unique_df["text"].duplicated().any():
        raise NotYet(f"`unique_df` still repeats {int(unique_df['text'].duplicated().sum())} texts: deduplicate "
                     "with `data.deduplicate(sms_df)`.")
    if len(unique_df) != len(reference):
        if set(unique_df["text"]) < set(reference["text"]):
            raise NotYet(f"`unique_df` has {len(unique_df):,} messages, not {len(reference):,}: it dropped every "
                         "copy of a repeated text, the first one too. Keep the first occurrence (keep='first').")
        raise NotYet(f"`unique_df` has {len(unique_df):,} messages; it should keep each text once: "
                     f"{len(sms_df):,} - {expected_count} = {len(reference):,}.")
    if unique_df["text"].tolist() != reference["text"].tolist():
        raise NotYet("`unique_df` has the right texts in another order (or keeps the last copy of each). Keep the "
                     "first occurrence, in the original order: the split below depends on the order.")
    if unique_df["label_id"].tolist() != reference["label_id"].tolist():
        raise NotYet("the labels of `unique_df` do not match its texts: keep each row whole.")
    return (f"{expected_count} repeated texts; {len(unique_df):,} messages remain, each text once, in their "
            "original order.")


deduplicate = Exercise(
    name="deduplicate",
    checker=_check_deduplicate,
    hint_text="`sms_df['text'].duplicated()` is True for every text that already appeared earlier in the "
              "column; `.sum()` counts them. `data.deduplicate(sms_df)` keeps the first copy of each text.",
    solution_code='''
# Exercise: count the repeated texts of `sms_df` (every copy of a text after its first
#   occurrence) and store the count in `duplicate_count`.
# Exercise: deduplicate `sms_df` with `data.deduplicate` and store the result in `unique_df`;
#   print both counts and the spam share.
duplicate_count = int(sms_df["text"].duplicated().sum())
unique_df = data.deduplicate(sms_df)
print(f"repeated texts: {duplicate_count}")
print(f"after deduplication: {len(unique_df):,} messages, {unique_df['label_id'].mean():.1%} spam")
''',
    alternative_code='''
duplicate_count = len(sms_df) - sms_df["text"].nunique()
unique_df = sms_df.drop_duplicates(subset="text")
print(duplicate_count, len(unique_df))
''',
)


def _check_always_ham(namespace) -> str:
    splits = require(namespace, "splits", None, "run the cell that splits the data first")
    test = getattr(splits, "test", None)
    if test is None or "label_id" not in getattr(test, "columns", ()):
        raise NotYet("`splits` has no test split with a 'label_id' column: run the cell that splits the data.")
    labels = test["label_id"]
    expected_spam = int((labels == 1).sum())
    expected_accuracy = float((labels == 0).mean())

    test_spam = _count(namespace, "test_spam", "store the number of spam messages of `splits.test` in `test_spam`")
    if test_spam != expected_spam:
        if test_spam == len(test) - expected_spam:
            raise NotYet(f"`test_spam` is {test_spam}: that is the number of ham messages. Spam has label_id 1.")
        raise NotYet(f"`test_spam` is {test_spam}; count the messages of `splits.test` whose label_id is 1.")

    accuracy = require(namespace, "always_ham_accuracy", None,
                       "store the accuracy of always answering 'ham' on the test split, as a fraction")
    if isinstance(accuracy, bool) or not isinstance(accuracy, Real):
        raise NotYet(f"`always_ham_accuracy` is a {type(accuracy).__name__}; it should be one number, a fraction "
                     "between 0 and 1 (`.mean()` of a True/False column gives it).")
    accuracy = float(accuracy)
    if abs(accuracy - expected_accuracy) <= 1e-9:
        return (f"always 'ham' is right on the {len(test) - expected_spam} ham messages of {len(test)}: "
                f"{expected_accuracy:.1%}, without learning anything.")
    if abs(accuracy - 100 * expected_accuracy) <= 1e-6:
        raise NotYet(f"`always_ham_accuracy` is {accuracy:.4g}: that is a percentage. Store a fraction between 0 and 1 "
                     "(print it with :.1% to show a percentage).")
    if abs(accuracy - (1 - expected_accuracy)) <= 1e-9:
        raise NotYet(f"`always_ham_accuracy` is {accuracy:.3f}: that is the share of spam, the messages this model "
                     "gets wrong. It is right on every ham message.")
    for name in ("train", "val"):
        other = getattr(splits, name, None)
        ham_share = float((other["label_id"] == 0).mean()) if "label_id" in getattr(other, "columns", ()) else None
        if ham_share is not None and abs(accuracy - ham_share) <= 1e-9:
            raise NotYet(f"`always_ham_accuracy` is the ham share of the {name} split; use the test split, "
                         "`splits.test`.")
    raise NotYet(f"`always_ham_accuracy` is {accuracy:.4g}; it should be the share of test messages that are ham "
                 "(label_id 0), a fraction between 0 and 1.")


always_ham = Exercise(
    name="always ham",
    checker=_check_always_ham,
    hint_text="A model that always answers 'ham' is right exactly on the ham messages (label_id 0): "
              "`(splits.test['label_id'] == 0).mean()` is that share.",
    solution_code='''
# Exercise: store the number of spam messages in the test split (`splits.test`) in `test_spam`.
# Exercise: store the accuracy of a model that always answers 'ham' on the test split in
#   `always_ham_accuracy`, as a fraction between 0 and 1.
test_spam = int(splits.test["label_id"].sum())
always_ham_accuracy = (splits.test["label_id"] == 0).mean()
print(f"test split: {len(splits.test)} messages, {test_spam} spam")
print(f"a model that always answers 'ham' is right on {always_ham_accuracy:.1%} of them")
''',
    alternative_code='''
test_labels = splits.test["label"]
test_spam = (test_labels == "spam").sum()
always_ham_accuracy = (test_labels == "ham").sum() / len(test_labels)
print(test_spam, always_ham_accuracy)
''',
)
