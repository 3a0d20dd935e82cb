"""Plots for the metrics notebooks (notebook 06): confusion matrices, threshold curves, loss curves.

Introduced in notebook 06 (metrics); used by notebooks 07 (pitfalls), 08 (multi-class)
and 09 (capstone). Binary plots take ``label_names`` (negative class first) and the
positive class's probabilities; confusion matrices take any number of classes.

Every function draws into ``ax`` when one is given and returns that ``Axes`` (the
caller owns the figure). Without ``ax`` it makes its own figure, closes it so that
Jupyter does not show it a second time, and returns the ``Figure``: as the last line
of a cell it is displayed exactly once, and it can be saved with ``fig.savefig``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from course_utils.errors import CourseError
from course_utils.metrics import (
    check_threshold,
    classification_scores,
    confusion_table,
    counts_to_labels,
    expected_calibration_error,
    precision_recall_points,
    threshold_table,
)
from course_utils.widgets import import_ipywidgets, with_fallback  # with_fallback: notebooks 06 and 09 import it from here

_DEFAULT_NAMES = ("negative", "positive")


def _new_axes(ax, figsize: tuple[float, float]):
    """``(figure, axes, made_here)``: a new closed-on-return figure unless ``ax`` was given."""
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax.figure, ax, False
    figure, axes = plt.subplots(figsize=figsize)
    return figure, axes, True


def _dress(axes, xlabel: str, ylabel: str, *, xlim: tuple[float, float], legend: str, title: str | None,
           ylim: tuple[float, float] = (0, 1.02)) -> None:
    """Axis labels and limits, a small legend, and the title if any: the finish of every score plot."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xlim(*xlim)
    axes.set_ylim(*ylim)
    axes.legend(loc=legend, fontsize=8)
    if title:
        axes.set_title(title)


def _finish(figure, ax, made_here: bool):
    import matplotlib.pyplot as plt

    if made_here:
        figure.tight_layout()
        plt.close(figure)
        return figure
    return ax


def _confusion_array(counts_or_y_true: Any, y_pred: Sequence[int] | None = None,
                    num_classes: int | None = None) -> np.ndarray:
    """The confusion matrix as an array: rows the actual class, columns the prediction.

    For two classes that is ``[[TN, FP], [FN, TP]]``. Accepts the dict from
    :func:`course_utils.metrics.confusion_counts`, a square array in that same layout (as
    ``sklearn.metrics.confusion_matrix`` returns), or ``y_true`` with ``y_pred`` (any
    number of classes; ``num_classes`` keeps classes that never occur).
    """
    if y_pred is not None:
        names = tuple(str(index) for index in range(num_classes)) if num_classes else None
        return confusion_table(counts_or_y_true, y_pred, names).to_numpy().astype(np.int64)
    if isinstance(counts_or_y_true, Mapping):
        missing = [key for key in ("tp", "fp", "fn", "tn") if key not in counts_or_y_true]
        if missing:
            raise CourseError(f"counts needs the keys tp, fp, fn, tn; missing {missing}. "
                              "Fix: pass confusion_counts(y_true, y_pred), or y_true and y_pred.")
        c = counts_or_y_true
        matrix = np.array([[c["tn"], c["fp"]], [c["fn"], c["tp"]]])
    else:
        matrix = np.asarray(counts_or_y_true)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 2:
            raise CourseError(
                f"A confusion matrix is square, one row and one column per class ([[TN, FP], [FN, TP]] for two); "
                f"got shape {matrix.shape}. To plot from labels, pass y_true and y_pred: "
                "plot_confusion_matrix(y_true, y_pred)."
            )
    if not np.issubdtype(matrix.dtype, np.number) or (matrix < 0).any() or not np.all(np.mod(matrix, 1) == 0):
        raise CourseError(f"Confusion counts must be whole numbers, 0 or more; got {matrix.tolist()}.")
    return matrix.astype(np.int64)


def plot_confusion_matrix(counts_or_y_true: Any, y_pred: Sequence[int] | None = None, *, ax=None,
                          label_names: Sequence[str] | None = None, title: str | None = None,
                          show_scores: bool = True, cmap: str = "Blues", normalize: bool = False):
    """A seaborn heatmap of the confusion matrix (scikit-learn's layout: class 0 first).

    Rows are the actual class, columns the prediction. With two classes each cell is
    named TN/FP/FN/TP and, with ``show_scores``, the x-axis label adds accuracy and the
    positive class's precision, recall and F1. With more classes each cell shows its
    count; ``normalize`` colours (and labels) each row by its share of that actual class,
    so small classes are as visible as big ones. Notebook 06 builds the heatmap by hand first.
    """
    import seaborn as sns

    names = list(label_names) if label_names else None
    matrix = _confusion_array(counts_or_y_true, y_pred, len(names) if names else None)
    size = matrix.shape[0]
    if names is None:
        names = list(_DEFAULT_NAMES) if size == 2 else [str(index) for index in range(size)]
    if len(names) != size:
        raise CourseError(f"label_names has {len(names)} names but the matrix has {size} classes.")
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    if size == 2:
        cells = np.array([["TN", "FP"], ["FN", "TP"]])
        annotations = np.array([[f"{cells[i, j]}\n{matrix[i, j]}" for j in range(2)] for i in range(2)])
    elif normalize:
        annotations = np.array([[f"{shares[i, j]:.0%}\n{matrix[i, j]}" for j in range(size)] for i in range(size)])
    else:
        annotations = matrix.astype(str)
    side = max(3.2, 0.9 * size + 1.4)
    figure, axes, made_here = _new_axes(ax, (side + 0.6, side))
    sns.heatmap(shares if normalize else matrix, annot=annotations, fmt="", cmap=cmap, cbar=False, square=True,
                linewidths=0.5, xticklabels=names, yticklabels=names, ax=axes,
                annot_kws={"fontsize": 11 if size <= 4 else 9})
    axes.set_ylabel("actual")
    xlabel = "predicted"
    if show_scores and size == 2:
        scores = classification_scores(*counts_to_labels(tp=int(matrix[1, 1]), fp=int(matrix[0, 1]),
                                                         fn=int(matrix[1, 0]), tn=int(matrix[0, 0])))
        xlabel += (f"\naccuracy {scores['accuracy']:.3f}  precision {scores['precision']:.3f}\n"
                   f"recall {scores['recall']:.3f}  F1 {scores['f1']:.3f}")
    elif show_scores:
        xlabel += f"\naccuracy {np.trace(matrix) / max(matrix.sum(), 1):.3f}"
    axes.set_xlabel(xlabel)
    axes.tick_params(axis="y", rotation=0)
    if size > 3:
        axes.tick_params(axis="x", rotation=45)
    if title:
        axes.set_title(title)
    return _finish(figure, axes, made_here)


def plot_precision_recall(y_true, probabilities, *, ax=None, thresholds: Sequence[float] = (0.5,),
                          label: str | None = None, title: str | None = "Precision-recall curve",
                          positive: int = 1, positive_label: str = "positive"):
    """Precision against recall over every threshold, with ``thresholds`` marked (notebook 06).

    The dashed line is the positive class's share: the precision of a model that flags at random.
    """
    points = precision_recall_points(y_true, probabilities, positive)
    marks = threshold_table(y_true, probabilities, list(thresholds) or [0.5], positive)
    share = float((marks["tp"] + marks["fn"]).iloc[0] / marks[["tp", "fp", "fn", "tn"]].iloc[0].sum())
    figure, axes, made_here = _new_axes(ax, (4.8, 3.8))
    average_precision = points.attrs["average_precision"]
    curve_label = f"{label + ', ' if label else ''}AP {average_precision:.3f}"
    axes.plot(points["recall"], points["precision"], drawstyle="steps-post", label=curve_label)
    axes.axhline(share, color="grey", linestyle="--", linewidth=1, label=f"{positive_label} share {share:.1%}")
    for row in marks.iloc[:len(thresholds)].itertuples():
        axes.plot(row.recall, row.precision, "o", markersize=7,
                  label=f"threshold {row.threshold:.2f}: P {row.precision:.2f} R {row.recall:.2f}")
    _dress(axes, f"recall (share of {positive_label} caught)", f"precision (flagged that is {positive_label})",
           xlim=(0, 1.02), legend="lower left", title=title)
    return _finish(figure, axes, made_here)


def plot_threshold_metrics(y_true, probabilities, *, thresholds: Sequence[float] | None = None, ax=None,
                           mark: float | None = None, title: str | None = "Metrics against the threshold",
                           positive: int = 1, positive_label: str = "positive"):
    """Precision, recall and F1 of the positive class as the threshold moves from 0.01 to 0.99 (notebook 06).

    ``mark`` draws a vertical line at a chosen threshold. This is the static picture of
    what :func:`threshold_explorer` shows interactively.
    """
    grid = np.round(np.arange(1, 100) / 100, 2) if thresholds is None else thresholds
    table = threshold_table(y_true, probabilities, grid, positive)
    figure, axes, made_here = _new_axes(ax, (5.2, 3.6))
    flagged = table["tp"] + table["fp"]
    table["precision"] = table["precision"].where(flagged > 0)  # nothing flagged: precision is undefined, not 0
    for metric, style in (("precision", "-"), ("recall", "-"), ("f1", "--")):
        axes.plot(table["threshold"], table[metric], style, label=metric)
    if mark is not None:
        mark = check_threshold(mark, "mark")
        axes.axvline(mark, color="black", linewidth=1, linestyle=":", label=f"threshold {mark:.2f}")
    axes.set_xlabel(f"threshold ({positive_label} if its probability >= threshold)")
    axes.set_ylabel("score")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.legend(loc="lower center", fontsize=8, ncol=2)
    if title:
        axes.set_title(title)
    return _finish(figure, axes, made_here)


def _epoch_rows(result) -> list[Mapping[str, Any]]:
    """Per-epoch rows from a TrainResult, a DataFrame or a list of dicts."""
    rows = getattr(result, "per_epoch", result)
    if hasattr(rows, "to_dict"):
        rows = rows.to_dict("records")
    try:
        rows = list(rows)
    except TypeError:
        raise CourseError(f"plot_loss_curves needs a TrainResult (from training.train) or per-epoch rows; "
                          f"got {type(result).__name__}.") from None
    if not rows or not all(isinstance(row, Mapping) and "epoch" in row and "train_loss" in row for row in rows):
        raise CourseError("plot_loss_curves needs per-epoch rows with 'epoch' and 'train_loss' "
                          "(a TrainResult from training.train); got none.")
    return rows


def plot_loss_curves(result, *, ax=None, title: str | None = None, label: str | None = None):
    """Training and validation loss per epoch from a ``TrainResult`` (notebook 07).

    Training loss is the mean over each epoch's batches; validation loss is measured after
    each epoch (it is missing when ``train`` had no ``val_df``). The best epoch by
    validation loss is circled. A training loss that keeps falling while the validation
    loss rises is overfitting.
    """
    rows = _epoch_rows(result)
    epochs = [row["epoch"] for row in rows]
    train_loss = [row["train_loss"] for row in rows]
    val_loss = [row.get("val_loss") for row in rows]
    figure, axes, made_here = _new_axes(ax, (4.8, 3.4))
    prefix = f"{label}: " if label else ""
    axes.plot(epochs, train_loss, "o-", label=f"{prefix}training loss")
    if any(value is not None and not np.isnan(value) for value in val_loss):
        values = np.array([np.nan if value is None else value for value in val_loss], dtype=float)
        axes.plot(epochs, values, "s-", label=f"{prefix}validation loss")
        best = int(np.nanargmin(values))
        axes.plot(epochs[best], values[best], "o", markersize=14, markerfacecolor="none",
                  markeredgecolor="black", label=f"lowest validation loss (epoch {epochs[best]})")
    axes.set_xlabel("epoch")
    axes.set_ylabel("cross-entropy loss")
    axes.set_xticks(epochs)
    axes.set_ylim(bottom=0)
    axes.legend(fontsize=8)
    if title:
        axes.set_title(title)
    return _finish(figure, axes, made_here)


def threshold_explorer(y_true, probabilities, *, value: float = 0.5, step: float = 0.01,
                       description: str = "threshold", label_names: Sequence[str] = _DEFAULT_NAMES,
                       positive: int = 1):
    """A slider that redraws the confusion matrix and the scores at any threshold (notebook 06).

    Core ipywidgets only (works with ipywidgets 7.7 and 8): a ``FloatSlider``, an ``HTML``
    line for the scores and an ``Output`` for the heatmap, in a ``VBox`` whose children are
    in that order (``.widget.children``). The scores are written into the HTML widget's
    value, so they also show where the callback's printed output would be lost. Where
    widgets cannot run (GitHub, nbviewer) the output shows the scores at the starting
    threshold instead (:func:`course_utils.widgets.with_fallback`);
    :func:`course_utils.metrics.threshold_table` and :func:`plot_threshold_metrics` show
    every threshold at once.
    """
    from IPython.display import display

    widgets = import_ipywidgets()

    threshold_table(y_true, probabilities, [check_threshold(value, "value")], positive)  # checks the input first
    names = list(label_names)
    positive_label = names[positive] if positive < len(names) else "positive"
    negative_name = names[1 - positive] if len(names) == 2 and positive in (0, 1) else "rest"
    slider = widgets.FloatSlider(value=value, min=0.0, max=1.0, step=step, description=description,
                                 continuous_update=False, readout_format=".2f",
                                 style={"description_width": "initial"},
                                 layout=widgets.Layout(width="420px"))
    scores_line = widgets.HTML()
    plot_area = widgets.Output()

    def redraw(threshold: float) -> None:
        scores = threshold_table(y_true, probabilities, [threshold], positive).iloc[0]
        counts = {key: int(scores[key]) for key in ("tp", "fp", "fn", "tn")}
        scores_line.value = (
            f"<b>threshold {threshold:.2f}</b>: flagged {counts['tp'] + counts['fp']} of {sum(counts.values())} as "
            f"{positive_label}; accuracy {scores['accuracy']:.3f}, precision {scores['precision']:.3f}, "
            f"recall {scores['recall']:.3f}, F1 {scores['f1']:.3f}; "
            f"missed {positive_label} (FN) {counts['fn']}, {negative_name} flagged (FP) {counts['fp']}"
        )
        figure = plot_confusion_matrix(counts, show_scores=False, title=f"threshold {threshold:.2f}",
                                       label_names=(negative_name, positive_label))
        plot_area.clear_output(wait=True)
        with plot_area:
            display(figure)

    slider.observe(lambda change: redraw(change["new"]), names="value")
    redraw(value)
    return with_fallback(widgets.VBox([slider, scores_line, plot_area]),
                         text=f"Threshold slider (it moves in a running notebook). {_plain(scores_line.value)}",
                         html=f"<p><em>Threshold slider: it moves in a running notebook.</em> {scores_line.value}</p>")


def _plain(html_text: str) -> str:
    import re

    return re.sub(r"<[^>]+>", "", html_text)


__all__ = [
    "plot_confusion_matrix",
    "plot_loss_curves",
    "plot_precision_recall",
    "plot_threshold_metrics",
    "threshold_explorer",
    "with_fallback",
]


def plot_reliability(y_true, probability_sets: Mapping[str, Any], *, bins: int = 10, ax=None, positive: int = 1,
                     positive_label: str = "positive", title: str | None = "Reliability diagram"):
    """Predicted probability against the observed share of positives, per bin (notebook 06).

    ``probability_sets`` maps a name to the positive class's probabilities. On the diagonal is
    calibrated. Right of 0.5 (the model says positive) a point below it is over-confident, above
    it timid; left of 0.5 (it says negative) the reverse. Each point shows its bin's count (one or
    two texts say little); each label gives the curve's expected calibration error.
    """
    from sklearn.calibration import calibration_curve

    figure, axes, made_here = _new_axes(ax, (4.6, 4.0))
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfectly calibrated")
    for name, probabilities in probability_sets.items():
        error = expected_calibration_error(y_true, probabilities, bins, positive)  # checks them first
        scores = np.asarray(probabilities, dtype=np.float64)
        scores = scores[:, positive] if scores.ndim == 2 else scores
        observed, predicted = calibration_curve(np.asarray(y_true) == positive, scores, n_bins=bins, strategy="uniform")
        (line,) = axes.plot(predicted, observed, "o-", label=f"{name} (ECE {error:.3f})")
        counts = np.bincount(np.searchsorted(np.linspace(0, 1, bins + 1)[1:-1], scores), minlength=bins)
        for x, y, count in zip(predicted, observed, counts[counts > 0]):  # calibration_curve drops empty bins
            axes.annotate(str(count), (x, y), xytext=(4, -9), textcoords="offset points", fontsize=7,
                          color=line.get_color())
    _dress(axes, f"predicted probability of {positive_label}", f"share that really is {positive_label}",
           xlim=(0, 1), legend="upper left", title=title)
    return _finish(figure, axes, made_here)


def plot_learning_rate_search(search, *, ax=None, title: str | None = "Learning-rate range test"):
    """Loss against learning rate (log scale) from :func:`course_utils.training.find_learning_rate` (notebook 05).

    The raw loss is drawn faintly, its moving average boldly; the suggested rate (a tenth
    of the rate at the lowest smoothed loss) is marked.
    """
    curve = getattr(search, "curve", None)
    if curve is None or curve.empty:
        raise CourseError("plot_learning_rate_search needs the result of training.find_learning_rate.")
    figure, axes, made_here = _new_axes(ax, (5.2, 3.6))
    axes.plot(curve["lr"], curve["loss"], color="tab:blue", alpha=0.3, linewidth=1, label="loss per step")
    axes.plot(curve["lr"], curve["smoothed"], color="tab:blue", linewidth=2, label="smoothed")
    axes.axvline(search.lowest_loss_lr, color="grey", linestyle=":", linewidth=1,
                 label=f"lowest smoothed loss at {search.lowest_loss_lr:.1e}")
    axes.axvline(search.suggested, color="tab:red", linestyle="--", linewidth=1.5,
                 label=f"suggested {search.suggested:.1e}")
    axes.set_xscale("log")
    top = float(curve["smoothed"].iloc[: max(5, len(curve) // 2)].max())
    _dress(axes, "learning rate", "training loss", xlim=(float(curve["lr"].min()) / 2, float(curve["lr"].max()) * 2),
           ylim=(0, max(top * 1.5, float(curve["smoothed"].min()) * 2)), legend="best", title=title)
    return _finish(figure, axes, made_here)
