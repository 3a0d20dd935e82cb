"""course_utils.baseline: the TF-IDF + linear SVM baseline every fine-tune is compared with."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from course_utils import corpora, data
from course_utils.baseline import _C_GRID, fit_baseline
from course_utils.errors import CourseError


@pytest.fixture(scope="module")
def splits():
    return corpora.load_splits()


def test_baseline_is_strong_on_spam_and_chosen_on_validation(splits):
    train_df = data.subsample(splits.train, 1000, seed=data.SEED)
    baseline = fit_baseline(train_df, splits.val)
    assert baseline.metric == "f1" and baseline.C in _C_GRID
    val_f1 = f1_score(splits.val["label_id"], baseline.predict(splits.val["text"]))
    assert val_f1 == pytest.approx(baseline.val_score)  # the score it reports is its validation score
    test_f1 = f1_score(splits.test["label_id"], baseline.predict(splits.test["text"]))
    assert test_f1 > 0.85  # far above always-ham (F1 0): the bar a fine-tune has to clear
    assert "TF-IDF + linear SVM" in str(baseline) and "chosen on validation" in str(baseline)


def test_baseline_never_looks_at_test(splits):
    """Same train and validation, different test rows: the same fitted model."""
    small_train = data.subsample(splits.train, 300, seed=1)
    first = fit_baseline(small_train, splits.val)
    second = fit_baseline(small_train, splits.val)
    texts = splits.test["text"].iloc[:200]
    assert first.C == second.C and np.array_equal(first.predict(texts), second.predict(texts))


def test_baseline_uses_macro_f1_for_more_classes():
    titles = corpora.load_question_titles()
    train_df = data.subsample(titles.train, 400, seed=0)
    baseline = fit_baseline(train_df, data.subsample(titles.val, 200, seed=0))
    assert baseline.metric == "macro_f1"
    assert set(np.unique(baseline.predict(titles.test["text"].iloc[:300]))) > {0, 1}


@pytest.mark.parametrize("change, message", [
    (lambda frame: frame.drop(columns="label_id"), "no column 'label_id'"),
    (lambda frame: frame.iloc[:0], "is empty"),
    (lambda frame: frame.assign(label_id=0), "one class only"),
])
def test_baseline_refuses_bad_frames(splits, change, message):
    with pytest.raises(CourseError, match=message):
        fit_baseline(change(splits.train.iloc[:100]), splits.val)
