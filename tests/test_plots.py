"""course_utils.plots: what each plot draws, that it is shown once, and the threshold widget."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.metrics import precision_recall_curve  # noqa: E402

from course_utils.errors import CourseError  # noqa: E402
from course_utils.metrics import counts_to_labels, threshold_table  # noqa: E402
from course_utils.plots import (  # noqa: E402
    _confusion_array,
    plot_confusion_matrix,
    plot_loss_curves,
    plot_precision_recall,
    plot_threshold_metrics,
    threshold_explorer,
)
from course_utils.training import TrainResult  # noqa: E402


@pytest.fixture(autouse=True)
def no_figures_left_open():
    plt.close("all")
    yield
    assert plt.get_fignums() == [], "a plot helper left a figure open (it would be shown twice in Jupyter)"


def cell_texts(ax):
    return [text.get_text() for text in ax.texts]


# --- confusion matrix ---------------------------------------------------------------------------

def test_confusion_array_accepts_counts_arrays_and_labels():
    expected = [[90, 10], [20, 80]]
    counts = {"tp": 80, "fp": 10, "fn": 20, "tn": 90}
    assert _confusion_array(counts).tolist() == expected
    assert _confusion_array(np.array(expected)).tolist() == expected
    assert _confusion_array(*counts_to_labels(**counts)).tolist() == expected


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"tp": 1, "fp": 2}, "missing ['fn', 'tn']"),
        (np.zeros((3, 2)), "got shape (3, 2)"),
        ([[1, -2], [3, 4]], "whole numbers, 0 or more"),
        ([[1.5, 2], [3, 4]], "whole numbers, 0 or more"),
    ],
)
def test_confusion_array_rejects_bad_input(bad, message):
    with pytest.raises(CourseError) as caught:
        _confusion_array(bad)
    assert message in str(caught.value)


def test_confusion_matrix_from_counts_returns_one_closed_figure():
    figure = plot_confusion_matrix({"tp": 80, "fp": 10, "fn": 20, "tn": 90}, title="worked example",
                                   label_names=("ham", "spam"))
    assert isinstance(figure, matplotlib.figure.Figure)
    assert plt.get_fignums() == []  # closed: Jupyter shows it once, from the returned value
    (ax,) = figure.axes  # no colour bar
    assert cell_texts(ax) == ["TN\n90", "FP\n10", "FN\n20", "TP\n80"]
    assert [label.get_text() for label in ax.get_xticklabels()] == ["ham", "spam"]
    assert [label.get_text() for label in ax.get_yticklabels()] == ["ham", "spam"]
    assert ax.get_ylabel() == "actual"
    assert "precision 0.889" in ax.get_xlabel() and "recall 0.800" in ax.get_xlabel()
    assert "F1 0.842" in ax.get_xlabel() and "accuracy 0.850" in ax.get_xlabel()
    assert ax.get_title() == "worked example"
    assert repr(figure) == "<Figure size 380x320 with 1 Axes>"  # no memory address


def test_confusion_matrix_from_labels_draws_into_a_given_axes():
    y_true, y_pred = counts_to_labels(tp=3, fp=1, fn=2, tn=4)
    figure, (left, right) = plt.subplots(1, 2)
    returned = plot_confusion_matrix(y_true, y_pred, ax=right, show_scores=False)
    assert returned is right
    assert cell_texts(right) == ["TN\n4", "FP\n1", "FN\n2", "TP\n3"]
    assert right.get_xlabel() == "predicted"
    assert cell_texts(left) == []
    assert plt.fignum_exists(figure.number)  # the caller's figure stays open for the caller
    plt.close(figure)


def test_confusion_matrix_checks_labels():
    with pytest.raises(CourseError, match="y_true has 3 entries but y_pred has 2"):
        plot_confusion_matrix([0, 1, 1], [0, 1])


# --- threshold plots ----------------------------------------------------------------------------

def test_precision_recall_curve_is_scikit_learns_with_marked_thresholds(scored_messages):
    y_true, p_spam = scored_messages
    figure = plot_precision_recall(y_true, p_spam, thresholds=(0.3, 0.5), label="val", positive_label="spam")
    ax = figure.axes[0]
    curve = ax.lines[0]
    precision, recall, _ = precision_recall_curve(y_true, p_spam)
    np.testing.assert_allclose(curve.get_xdata(), recall[:-1])
    np.testing.assert_allclose(curve.get_ydata(), precision[:-1])
    table = threshold_table(y_true, p_spam, (0.3, 0.5))
    markers = ax.lines[2:]
    assert len(markers) == 2
    for marker, row in zip(markers, table.itertuples()):
        assert marker.get_xdata()[0] == pytest.approx(row.recall)
        assert marker.get_ydata()[0] == pytest.approx(row.precision)
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend[0].startswith("val, AP ")
    assert legend[1] == f"spam share {y_true.mean():.1%}"
    assert legend[2].startswith("threshold 0.30: P ")


def test_threshold_metrics_plot_follows_the_table(scored_messages):
    y_true, p_spam = scored_messages
    figure = plot_threshold_metrics(y_true, p_spam, mark=0.42)
    ax = figure.axes[0]
    table = threshold_table(y_true, p_spam, np.round(np.arange(1, 100) / 100, 2))
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["precision", "recall", "f1", "threshold 0.42"]
    for line, metric in zip(ax.lines, ("precision", "recall", "f1")):
        np.testing.assert_allclose(line.get_ydata(), table[metric])
    assert list(ax.lines[3].get_xdata()) == [0.42, 0.42]


def test_threshold_metrics_rejects_bad_probabilities():
    with pytest.raises(CourseError, match="one threshold needs one class"):
        plot_threshold_metrics([0, 1], [[0.9, 0.05, 0.05], [0.2, 0.7, 0.1]])


def test_confusion_matrix_with_three_classes_counts_and_shares():
    y_true = [0, 0, 1, 1, 2, 2, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 2, 0, 2]
    figure = plot_confusion_matrix(y_true, y_pred, label_names=("news", "sport", "tech"), normalize=True)
    (ax,) = figure.axes
    assert [label.get_text() for label in ax.get_xticklabels()] == ["news", "sport", "tech"]
    texts = cell_texts(ax)
    assert len(texts) == 9
    assert texts[0] == "50%\n1" and texts[8] == "75%\n3"
    assert "accuracy 0.750" in ax.get_xlabel()
    with pytest.raises(CourseError, match="2 names but the matrix has 3 classes"):
        plot_confusion_matrix(y_true, y_pred, label_names=("a", "b", "c"), ax=None) if False else \
            plot_confusion_matrix(np.eye(3, dtype=int), label_names=("a", "b"))


# --- loss curves --------------------------------------------------------------------------------

def make_result(val_losses):
    epochs = pd.DataFrame({"epoch": [1, 2, 3, 4], "train_loss": [0.5, 0.3, 0.1, 0.05]})
    if val_losses is not None:
        epochs["val_loss"] = val_losses
    return TrainResult(history=pd.DataFrame(), per_epoch=epochs, best_epoch=2, seconds=1.0,
                       samples_per_second=1.0, padding_efficiency=1.0)


def test_loss_curves_show_train_and_validation_and_circle_the_lowest():
    figure = plot_loss_curves(make_result([0.4, 0.25, 0.3, 0.45]), title="high learning rate")
    ax = figure.axes[0]
    train_line, val_line, best = ax.lines
    assert list(train_line.get_ydata()) == [0.5, 0.3, 0.1, 0.05]
    assert list(val_line.get_ydata()) == [0.4, 0.25, 0.3, 0.45]
    assert (best.get_xdata()[0], best.get_ydata()[0]) == (2, 0.25)
    assert best.get_label() == "lowest validation loss (epoch 2)"
    assert ax.get_title() == "high learning rate"
    assert plt.get_fignums() == []


def test_loss_curves_without_validation_and_from_rows():
    figure, ax = plt.subplots()
    returned = plot_loss_curves([{"epoch": 1, "train_loss": 0.6}, {"epoch": 2, "train_loss": 0.2}], ax=ax,
                                label="run A")
    assert returned is ax
    assert [line.get_label() for line in ax.lines] == ["run A: training loss"]
    plt.close(figure)
    assert len(plot_loss_curves(make_result(None)).axes[0].lines) == 1


@pytest.mark.parametrize("bad", [[], 3, [{"loss": 1.0}]])
def test_loss_curves_reject_what_is_not_a_train_result(bad):
    with pytest.raises(CourseError, match="plot_loss_curves needs"):
        plot_loss_curves(bad)


# --- the threshold widget -----------------------------------------------------------------------

def test_threshold_explorer_updates_scores_when_the_slider_moves(scored_messages):
    import ipywidgets as widgets

    y_true, p_spam = scored_messages
    shown = threshold_explorer(y_true, p_spam, label_names=("ham", "spam"))
    explorer = shown.widget
    slider, scores_line, plot_area = explorer.children
    assert isinstance(explorer, widgets.VBox)
    bundle = shown._repr_mimebundle_()  # without a kernel (GitHub, nbviewer): the scores at 0.50, not a repr
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == explorer.model_id
    assert "VBox(" not in bundle["text/plain"] and "threshold 0.50" in bundle["text/plain"]
    assert scores_line.value in bundle["text/html"]
    assert isinstance(slider, widgets.FloatSlider) and slider.value == 0.5
    assert isinstance(plot_area, widgets.Output)
    table = threshold_table(y_true, p_spam, (0.5, 0.2))
    at_half, at_low = (table.iloc[row].to_dict() for row in (0, 1))
    for row in (at_half, at_low):
        row.update({key: int(row[key]) for key in ("tp", "fp", "fn", "tn")})
    assert f"recall {at_half['recall']:.3f}" in scores_line.value
    assert f"flagged {at_half['tp'] + at_half['fp']} of {len(y_true)}" in scores_line.value

    slider.value = 0.2
    assert "<b>threshold 0.20</b>" in scores_line.value
    assert f"precision {at_low['precision']:.3f}" in scores_line.value
    assert f"missed spam (FN) {at_low['fn']}, ham flagged (FP) {at_low['fp']}" in scores_line.value
    assert at_low['recall'] > at_half['recall']


def test_threshold_explorer_checks_its_input():
    with pytest.raises(CourseError, match="y_true has 2 entries but probabilities has 3"):
        threshold_explorer([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(CourseError, match="value must be between 0 and 1"):
        threshold_explorer([0, 1], [0.1, 0.2], value=2)


# --- calibration and the learning-rate search ------------------------------------------------------


def test_threshold_metrics_leave_precision_undefined_where_nothing_is_flagged():
    y_true = np.array([0, 0, 1, 1])
    p_positive = np.array([0.1, 0.2, 0.3, 0.6])  # above 0.6 nothing is flagged
    fig, ax = plt.subplots()
    plot_threshold_metrics(y_true, p_positive, ax=ax)
    precision = {line.get_label(): line for line in ax.get_lines()}["precision"]
    thresholds, values = precision.get_xdata(), precision.get_ydata()
    assert np.isnan(values[thresholds > 0.6]).all()  # undefined, not drawn as 0
    assert not np.isnan(values[thresholds <= 0.6]).any()
    plt.close(fig)


def test_reliability_diagram_draws_each_set_with_its_calibration_error():
    from sklearn.calibration import calibration_curve

    from course_utils.metrics import expected_calibration_error
    from course_utils.plots import plot_reliability

    rng = np.random.default_rng(0)
    p = rng.random(2000)
    y_true = (rng.random(2000) < p).astype(int)
    timid = 0.25 + p / 2
    figure = plot_reliability(y_true, {"honest": p, "timid": timid}, positive_label="spam")
    ax = figure.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"perfectly calibrated", f"honest (ECE {expected_calibration_error(y_true, p):.3f})",
                          f"timid (ECE {expected_calibration_error(y_true, timid):.3f})"}
    observed, predicted = calibration_curve(y_true, timid, n_bins=10)
    timid_line = [line for label, line in lines.items() if label.startswith("timid")][0]
    np.testing.assert_allclose(timid_line.get_xdata(), predicted)
    np.testing.assert_allclose(timid_line.get_ydata(), observed)


def test_learning_rate_search_plot_marks_the_suggestion():
    from course_utils.plots import plot_learning_rate_search
    from course_utils.training import LearningRateSearch

    rates = np.logspace(-7, -2, 40)
    loss = np.concatenate([np.full(20, 0.69), np.linspace(0.69, 0.2, 15), np.linspace(0.3, 3.0, 5)])
    curve = pd.DataFrame({"step": range(1, 41), "lr": rates, "loss": loss, "smoothed": loss})
    search = LearningRateSearch(curve, suggested=float(rates[34]) / 10, lowest_loss_lr=float(rates[34]),
                                stopped_at=float(rates[-1]))
    ax = plot_learning_rate_search(search).axes[0]
    assert ax.get_xscale() == "log"
    labels = [line.get_label() for line in ax.get_lines()]
    assert f"suggested {search.suggested:.1e}" in labels and f"lowest smoothed loss at {rates[34]:.1e}" in labels
    with pytest.raises(CourseError, match="find_learning_rate"):
        plot_learning_rate_search(object())
