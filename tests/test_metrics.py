"""course_utils.metrics: the formulas, the threshold helpers, and their input checks."""

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from course_utils.errors import CourseError
from course_utils.metrics import (
    _DEFAULT_THRESHOLDS,
    _GOOD_TARGETS,
    best_threshold,
    _check_labels,
    _check_probabilities,
    classification_scores,
    compare_to_targets,
    confusion_counts,
    counts_to_labels,
    average_scores,
    bootstrap_difference,
    bootstrap_interval,
    confusion_table,
    f1_averages,
    per_class_scores,
    top_confusions,
    precision_recall_points,
    predict_at_threshold,
    _scores_from_counts,
    threshold_table,
)


# --- counts and scores --------------------------------------------------------------------------

def test_worked_example_from_the_seeds():
    scores = _scores_from_counts(tp=80, fp=10, fn=20, tn=90)
    assert scores["precision"] == pytest.approx(80 / 90)
    assert round(scores["precision"], 2) == 0.89
    assert scores["recall"] == pytest.approx(0.80)
    assert scores["f1"] == pytest.approx(2 * (8 / 9) * 0.8 / (8 / 9 + 0.8))
    assert round(scores["f1"], 2) == 0.84
    assert scores["accuracy"] == pytest.approx(170 / 200)


def test_scores_are_zero_where_undefined():
    assert _scores_from_counts(tp=0, fp=0, fn=5, tn=95) == {"accuracy": 0.95, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert _scores_from_counts(0, 0, 0, 0)["accuracy"] == 0.0


def test_classification_scores_agree_with_scikit_learn(scored_messages):
    y_true, p_spam = scored_messages
    y_pred = (p_spam >= 0.5).astype(int)
    ours = classification_scores(y_true, y_pred)
    assert ours["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert ours["precision"] == pytest.approx(skm.precision_score(y_true, y_pred))
    assert ours["recall"] == pytest.approx(skm.recall_score(y_true, y_pred))
    assert ours["f1"] == pytest.approx(skm.f1_score(y_true, y_pred))


def test_confusion_counts_match_scikit_learn_layout(scored_messages):
    y_true, p_spam = scored_messages
    y_pred = (p_spam >= 0.4).astype(int)
    counts = confusion_counts(y_true, y_pred)
    (tn, fp), (fn, tp) = skm.confusion_matrix(y_true, y_pred)
    assert counts == {"tp": tp, "fp": fp, "fn": fn, "tn": tn}
    assert all(isinstance(value, int) for value in counts.values())


def test_confusion_counts_keep_one_vs_rest_for_other_class_numbers():
    # training.evaluate relies on this function; other class numbers count as "not positive"
    assert confusion_counts([0, 1, 2, 2], [2, 1, 2, 0], positive=2) == {"tp": 1, "fp": 1, "fn": 1, "tn": 1}
    assert confusion_counts([True, False], [True, True]) == {"tp": 1, "fp": 1, "fn": 0, "tn": 0}


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [
        ([0, 1, 1], [0, 1], "y_true has 3 entries but y_pred has 2"),
        (["ham", "spam"], [0, 1], "use the label_id column"),
        ([0, -1], [0, 1], "found [-1]"),
        ([0, 1], [[0.9, 0.1], [0.2, 0.8]], "logits.argmax(dim=1)"),
        ([0, 0.5], [0, 1], "found [0.5]"),
    ],
)
def test_confusion_counts_reject_bad_input(y_true, y_pred, message):
    with pytest.raises(CourseError) as caught:
        confusion_counts(y_true, y_pred)
    assert message in str(caught.value)


def test_check_labels_with_num_classes_rejects_other_classes():
    assert _check_labels([1, 0, 1], num_classes=2).tolist() == [1, 0, 1]
    assert _check_labels([0, 2, 3, 1]).tolist() == [0, 2, 3, 1]
    with pytest.raises(CourseError, match=r"only class numbers 0 to 1; found \[2, 3\] \(2 of 4 values\)"):
        _check_labels([0, 2, 3, 1], num_classes=2)
    with pytest.raises(CourseError, match=r"found \[-1\]"):
        _check_labels([0, -1])


def test_counts_to_labels_round_trip():
    y_true, y_pred = counts_to_labels(tp=80, fp=10, fn=20, tn=90)
    assert len(y_true) == len(y_pred) == 200
    assert confusion_counts(y_true, y_pred) == {"tp": 80, "fp": 10, "fn": 20, "tn": 90}
    assert skm.precision_score(y_true, y_pred) == pytest.approx(80 / 90)


@pytest.mark.parametrize("bad", [-1, 2.5, "3", True])
def test_counts_to_labels_rejects_non_counts(bad):
    with pytest.raises(CourseError, match="tp must be a whole number"):
        counts_to_labels(tp=bad, fp=0, fn=0, tn=0)


def test_f1_averages_agree_with_scikit_learn(scored_messages):
    y_true, p_spam = scored_messages
    y_pred = (p_spam >= 0.45).astype(int)
    averages = f1_averages(y_true, y_pred)
    per_class = skm.f1_score(y_true, y_pred, average=None)
    assert averages["0 F1"] == pytest.approx(per_class[0])
    assert averages["1 F1"] == pytest.approx(per_class[1])
    assert averages["macro F1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="macro"))
    assert averages["weighted F1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="weighted"))
    named = f1_averages(y_true, y_pred, label_names=("ham", "spam"))
    assert list(named) == ["ham F1", "spam F1", "macro F1", "weighted F1"]


def test_weighted_f1_hides_a_useless_spam_detector():
    y_true, y_pred = counts_to_labels(tp=0, fp=0, fn=12, tn=88)  # always ham at 12% spam
    averages = f1_averages(y_true, y_pred, label_names=("ham", "spam"))
    assert averages["spam F1"] == 0.0
    assert averages["weighted F1"] > 0.8 > averages["macro F1"]


def test_compare_to_targets_uses_the_seeds_values():
    table = compare_to_targets({"accuracy": 0.98, "precision": 0.95, "recall": 0.12, "f1": 0.21})
    assert list(table.index) == ["accuracy", "precision", "recall", "f1"]
    assert table["meets target"].tolist() == [True, True, False, False]
    assert table.loc["accuracy", "target"] == "> 0.85"
    assert _GOOD_TARGETS == {"accuracy": 0.85, "precision": 0.80, "recall": 0.80, "f1": 0.80}


def test_compare_to_targets_is_strict_and_names_missing_scores():
    assert not compare_to_targets({"accuracy": 0.85}, {"accuracy": 0.85})["meets target"].item()
    with pytest.raises(CourseError, match="scores has no recall, f1"):
        compare_to_targets({"accuracy": 0.9, "precision": 0.9})


# --- probabilities and thresholds ---------------------------------------------------------------

def test_predict_at_threshold_flags_at_or_above():
    p_spam = [0.1, 0.3, 0.5, 0.7]
    assert predict_at_threshold(p_spam, 0.5).tolist() == [0, 0, 1, 1]
    assert predict_at_threshold(p_spam, 0.3).tolist() == [0, 1, 1, 1]
    assert predict_at_threshold(p_spam, 0.0).tolist() == [1, 1, 1, 1]


def test_threshold_half_is_argmax_of_two_logits():
    import torch

    logits = torch.randn(500, 2, generator=torch.Generator().manual_seed(1))
    p_spam = torch.softmax(logits, dim=1)[:, 1].numpy()
    assert predict_at_threshold(p_spam, 0.5).tolist() == logits.argmax(dim=1).tolist()


@pytest.mark.parametrize(
    ("p_spam", "message"),
    [
        ([0.2, 1.3], "position 1 is 1.3. Fix: apply softmax"),
        ([-0.1, 0.5], "position 0 is -0.1"),
        ([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8]], "one threshold needs one class's probability"),
        ([[[0.8]]], "one probability per text"),
        ([0.2, float("nan")], "contains NaN at position 1"),
        (["a", "b"], "must hold numbers between 0 and 1"),
    ],
)
def test_probabilities_are_checked(p_spam, message):
    with pytest.raises(CourseError) as caught:
        _check_probabilities(p_spam)
    assert message in str(caught.value)


def test_threshold_table_rows_match_counts_at_each_threshold(scored_messages):
    y_true, p_spam = scored_messages
    table = threshold_table(y_true, p_spam)
    assert list(table.columns) == ["threshold", "tp", "fp", "fn", "tn", "accuracy", "precision", "recall", "f1"]
    assert table["threshold"].tolist() == list(_DEFAULT_THRESHOLDS)
    for row in table.itertuples():
        expected = confusion_counts(y_true, (p_spam >= row.threshold).astype(int))
        assert (row.tp, row.fp, row.fn, row.tn) == tuple(expected[key] for key in ("tp", "fp", "fn", "tn"))
        assert row.f1 == pytest.approx(_scores_from_counts(**expected)["f1"])
    flagged = table["tp"] + table["fp"]
    assert flagged.is_monotonic_decreasing and flagged.iloc[0] > flagged.iloc[-1]
    assert table["recall"].is_monotonic_decreasing
    assert (table[["tp", "fp", "fn", "tn"]].sum(axis=1) == len(y_true)).all()


@pytest.mark.parametrize(
    ("y_true", "p_spam", "thresholds", "message"),
    [
        ([0, 1, 1], [0.2, 0.9], (0.5,), "y_true has 3 entries but probabilities has 2"),
        ([0, 1], [0.2, 0.9], (0.5, 1.5), "each threshold must be between 0 and 1; got 1.5"),
        ([0, 1], [0.2, 0.9], (), "thresholds is empty"),
        ([], [], (0.5,), "are empty"),
        ([0, -1], [0.2, 0.9], (0.5,), "found [-1]"),
    ],
)
def test_threshold_table_rejects_bad_input(y_true, p_spam, thresholds, message):
    with pytest.raises(CourseError) as caught:
        threshold_table(y_true, p_spam, thresholds)
    assert message in str(caught.value)


def test_best_threshold_finds_the_gap():
    y_true = np.array([0, 0, 0, 0, 1, 1, 1])
    p_spam = np.array([0.05, 0.10, 0.20, 0.62, 0.30, 0.70, 0.90])
    # thresholds in (0.20, 0.30] catch every spam message at the cost of one ham (F1 6/7);
    # thresholds in (0.62, 0.70] keep precision perfect but miss one spam (F1 0.8)
    assert best_threshold(y_true, p_spam, "f1") == 0.3
    assert best_threshold(y_true, p_spam, "recall", min_precision=0.99) == 0.63
    assert best_threshold(y_true, p_spam, "precision", min_recall=1.0) == 0.3


def test_best_threshold_prefers_the_tie_closest_to_a_half():
    y_true = [0, 0, 1, 1]
    p_spam = [0.1, 0.2, 0.8, 0.9]  # every threshold in (0.2, 0.8] is perfect
    assert best_threshold(y_true, p_spam) == 0.5
    assert best_threshold(y_true, p_spam, thresholds=[0.25, 0.7, 0.79]) == 0.7


def test_best_threshold_beats_every_row_of_its_table(scored_messages):
    y_true, p_spam = scored_messages
    chosen = best_threshold(y_true, p_spam)
    table = threshold_table(y_true, p_spam, np.round(np.arange(1, 100) / 100, 2))
    chosen_f1 = table.loc[np.isclose(table["threshold"], chosen), "f1"].item()
    assert chosen_f1 == pytest.approx(table["f1"].max())


def test_best_threshold_rejects_unknown_metric_and_impossible_constraints(scored_messages):
    y_true, p_spam = scored_messages
    with pytest.raises(CourseError, match=r"metric must be one of \['accuracy', 'precision', 'recall', 'f1'\]"):
        best_threshold(y_true, p_spam, metric="auc")
    with pytest.raises(CourseError, match="No threshold reaches min_precision=1.0 and min_recall=1.0"):
        best_threshold(y_true, p_spam, min_precision=1.0, min_recall=1.0)


def test_precision_recall_points_agree_with_scikit_learn(scored_messages):
    y_true, p_spam = scored_messages
    table = precision_recall_points(y_true, p_spam)
    precision, recall, thresholds = skm.precision_recall_curve(y_true, p_spam)
    assert isinstance(table, pd.DataFrame)
    np.testing.assert_allclose(table["threshold"], thresholds)
    np.testing.assert_allclose(table["precision"], precision[:-1])
    np.testing.assert_allclose(table["recall"], recall[:-1])
    assert table.attrs["average_precision"] == pytest.approx(skm.average_precision_score(y_true, p_spam))


def test_precision_recall_points_need_some_spam():
    with pytest.raises(CourseError, match="no text of the positive class"):
        precision_recall_points([0, 0, 0], [0.1, 0.2, 0.3])


def test_two_column_probabilities_take_the_positive_column():
    table = [[0.8, 0.2], [0.1, 0.9]]
    assert _check_probabilities(table).tolist() == [0.2, 0.9]
    assert _check_probabilities(table, positive=0).tolist() == [0.8, 0.1]
    assert predict_at_threshold(table, 0.5).tolist() == [0, 1]


def test_positive_means_the_same_class_number_everywhere():
    """A perfect classifier scored for class 0: thresholded predictions are class numbers, so both ways say 1.0."""
    y = np.array([0, 1, 1, 0, 0, 1])
    probabilities = np.eye(2)[y]  # predict_proba output, all the mass on the true class
    predicted = predict_at_threshold(probabilities, 0.5, positive=0)
    assert predicted.tolist() == y.tolist()
    assert classification_scores(y, predicted, positive=0) == {"accuracy": 1.0, "precision": 1.0, "recall": 1.0,
                                                              "f1": 1.0}
    row = threshold_table(y, probabilities, [0.5], positive=0).iloc[0]
    assert (row["precision"], row["recall"], row["f1"]) == (1.0, 1.0, 1.0)
    assert best_threshold(y, probabilities, positive=0) == 0.5


def test_predict_at_threshold_names_two_classes():
    assert predict_at_threshold([0.9, 0.2], 0.5, positive=0).tolist() == [0, 1]  # class 0's probability
    with pytest.raises(CourseError, match="positive=2: a threshold decides between two classes"):
        predict_at_threshold([0.9, 0.2], 0.5, positive=2)
    with pytest.raises(CourseError, match="positive=2 is neither"):
        _check_probabilities([[0.1, 0.9]], positive=2)


def test_threshold_table_counts_ties_at_the_threshold_as_flagged():
    rng = np.random.default_rng(5)
    y_true = rng.integers(0, 2, 400)
    p_spam = np.round(rng.random(400), 2)  # many probabilities equal a grid threshold exactly
    grid = np.round(np.arange(0, 101) / 100, 2)
    table = threshold_table(y_true, p_spam, grid)
    for row in table.itertuples():
        counts = confusion_counts(y_true, (p_spam >= row.threshold).astype(int))
        assert (row.tp, row.fp, row.fn, row.tn) == tuple(counts.values())
        assert row.f1 == _scores_from_counts(**counts)["f1"]  # the same formula, not merely close


def test_positive_class_can_be_any_class():
    y_true = [0, 1, 2, 2, 1]
    y_pred = [0, 2, 2, 1, 1]
    assert confusion_counts(y_true, y_pred, positive=2) == {"tp": 1, "fp": 1, "fn": 1, "tn": 2}
    assert classification_scores(y_true, y_pred, positive=2)["precision"] == pytest.approx(0.5)


# --- more than two classes --------------------------------------------------------------------

@pytest.fixture
def three_classes():
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 3, 300)
    y_pred = np.where(rng.random(300) < 0.7, y_true, rng.integers(0, 3, 300))
    return y_true, y_pred


def test_per_class_and_average_scores_agree_with_scikit_learn(three_classes):
    y_true, y_pred = three_classes
    names = ("business", "sport", "tech")
    table = per_class_scores(y_true, y_pred, names)
    assert list(table.index) == list(names)
    np.testing.assert_allclose(table["f1"], skm.f1_score(y_true, y_pred, average=None))
    assert table["support"].tolist() == np.bincount(y_true, minlength=3).tolist()
    averages = average_scores(y_true, y_pred, names)
    assert averages["macro_f1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="macro"))
    assert averages["weighted_f1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="weighted"))
    assert averages["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred))


def test_a_class_never_predicted_still_has_a_row():
    table = per_class_scores([0, 1, 2], [0, 1, 1], ("a", "b", "c"))
    assert table.loc["c", "recall"] == 0.0 and table.loc["c", "support"] == 1


def test_confusion_table_and_top_confusions(three_classes):
    y_true, y_pred = three_classes
    names = ("business", "sport", "tech")
    table = confusion_table(y_true, y_pred, names)
    assert table.shape == (3, 3)
    np.testing.assert_array_equal(table.to_numpy(), skm.confusion_matrix(y_true, y_pred))
    top = top_confusions(y_true, y_pred, names, n=2)
    assert len(top) == 2
    off_diagonal = table.to_numpy() - np.diag(np.diag(table.to_numpy()))
    assert top.loc[0, "count"] == off_diagonal.max()
    assert top.loc[0, "actual"] != top.loc[0, "predicted"]


def test_thresholds_refuse_more_than_two_classes():
    probabilities = np.full((4, 3), 1 / 3)
    with pytest.raises(CourseError, match="one class's probability.*argmax"):
        threshold_table([0, 1, 2, 0], probabilities)


# --- noise ---------------------------------------------------------------------------------------

def test_bootstrap_interval_brackets_the_score_and_narrows_with_more_texts():
    rng = np.random.default_rng(0)
    small_true = rng.integers(0, 2, 100)
    small_pred = np.where(rng.random(100) < 0.85, small_true, 1 - small_true)
    small = bootstrap_interval(small_true, small_pred, "accuracy", resamples=500)
    assert small.low <= small.estimate <= small.high
    assert small.estimate == pytest.approx(skm.accuracy_score(small_true, small_pred))
    big_true, big_pred = np.tile(small_true, 16), np.tile(small_pred, 16)
    big = bootstrap_interval(big_true, big_pred, "accuracy", resamples=500)
    assert (big.high - big.low) < 0.5 * (small.high - small.low)
    assert bootstrap_interval(small_true, small_pred, "accuracy", resamples=500).low == small.low  # seeded


def test_bootstrap_difference_of_a_model_with_itself_is_zero_and_detects_a_real_gap():
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 2, 400)
    good = np.where(rng.random(400) < 0.95, y_true, 1 - y_true)
    poor = np.where(rng.random(400) < 0.70, y_true, 1 - y_true)
    same = bootstrap_difference(y_true, good, good, "f1", resamples=300)
    assert same.estimate == 0.0 and same.low == 0.0 and same.high == 0.0
    gap = bootstrap_difference(y_true, good, poor, "f1", resamples=300)
    assert gap.low > 0 and not gap.contains(0.0)
    assert "interval" in str(gap)


def test_bootstrap_rejects_bad_settings():
    with pytest.raises(CourseError, match="confidence"):
        bootstrap_interval([0, 1], [0, 1], confidence=95)
    with pytest.raises(CourseError, match="too few"):
        bootstrap_interval([0, 1], [0, 1], resamples=10)
    with pytest.raises(CourseError, match="metric must be one of"):
        bootstrap_interval([0, 1], [0, 1], metric="auc")


# --- the vectorised bootstrap ---------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["accuracy", "precision", "recall", "f1",
                                    "macro_f1", "weighted_f1", "macro_precision", "macro_recall"])
def test_vectorised_bootstrap_gives_the_intervals_of_scoring_each_resample(metric, three_classes, scored_messages):
    """The named metrics are scored on all resamples at once; a function of one's own, one resample at a time."""
    from course_utils.metrics import _metric_function

    if metric in ("accuracy", "precision", "recall", "f1"):
        y_true, p_spam = scored_messages
        y_pred = (p_spam >= 0.5).astype(int)
        other = (p_spam >= 0.4).astype(int)
    else:
        y_true, y_pred = three_classes
        other = np.roll(y_pred, 1)
    one_at_a_time = _metric_function(metric)  # scikit-learn, one call per resample: the fewest resamples allowed
    fast = bootstrap_interval(y_true, y_pred, metric, resamples=100, seed=5)
    slow = bootstrap_interval(y_true, y_pred, one_at_a_time, resamples=100, seed=5)
    assert (fast.estimate, fast.low, fast.high) == pytest.approx((slow.estimate, slow.low, slow.high))
    fast_gap = bootstrap_difference(y_true, y_pred, other, metric, resamples=100, seed=5)
    slow_gap = bootstrap_difference(y_true, y_pred, other, one_at_a_time, resamples=100, seed=5)
    assert (fast_gap.low, fast_gap.high) == pytest.approx((slow_gap.low, slow_gap.high))


def test_vectorised_bootstrap_scores_resamples_without_positives_as_zero():
    """A resample with no positive text and no flag: precision, recall, F1 are 0 (zero_division=0)."""
    y_true = np.array([0] * 40 + [1])
    interval = bootstrap_interval(y_true, y_true.copy(), "f1", resamples=200, seed=0)
    assert interval.low == 0.0 and interval.high == 1.0


# --- a threshold that can be trusted --------------------------------------------------------------


def test_choose_threshold_keeps_half_with_few_positives(scored_messages):
    from course_utils.metrics import MIN_THRESHOLD_POSITIVES, choose_threshold

    y_true, p_spam = scored_messages
    enough = choose_threshold(y_true, p_spam)
    assert enough.tuned and enough.value == best_threshold(y_true, p_spam)
    assert enough.positives == int(y_true.sum()) >= MIN_THRESHOLD_POSITIVES
    few = choose_threshold(y_true[:40], p_spam[:40])
    assert not few.tuned and few.value == 0.5
    assert few.positives == int(y_true[:40].sum()) < MIN_THRESHOLD_POSITIVES
    assert f"holds {few.positives} texts of the positive class" in few.reason
    assert choose_threshold(y_true, p_spam, min_positives=1000).value == 0.5


# --- calibration ------------------------------------------------------------------------------------


def test_expected_calibration_error_of_calibrated_and_overconfident_probabilities():
    from course_utils.metrics import expected_calibration_error

    rng = np.random.default_rng(0)
    p = rng.random(20000)
    calibrated_truth = (rng.random(20000) < p).astype(int)
    assert expected_calibration_error(calibrated_truth, p) < 0.02
    overconfident = np.where(p >= 0.5, 1.0, 0.0)
    assert expected_calibration_error(calibrated_truth, overconfident) > 0.2


def test_fit_temperature_recovers_the_temperature_that_made_probabilities_overconfident():
    from course_utils.metrics import apply_temperature, expected_calibration_error, fit_temperature

    rng = np.random.default_rng(1)
    logits = rng.normal(0, 1.5, size=(4000, 2))
    true_probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = (rng.random(4000) < true_probs[:, 1]).astype(int)
    sharpened = np.exp(3 * logits) / np.exp(3 * logits).sum(axis=1, keepdims=True)  # over-confident: T = 1/3
    temperature = fit_temperature(labels, sharpened)
    assert temperature == pytest.approx(3.0, rel=0.15)
    rescaled = apply_temperature(sharpened, temperature)
    assert np.array_equal(rescaled.argmax(axis=1), sharpened.argmax(axis=1))  # the ranking does not change
    assert expected_calibration_error(labels, rescaled) < expected_calibration_error(labels, sharpened)


def test_fit_temperature_refuses_one_column():
    from course_utils.metrics import fit_temperature

    with pytest.raises(CourseError, match="shape"):
        fit_temperature([0, 1], [0.2, 0.8])
