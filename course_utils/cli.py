"""The command line, ``python -m course_utils`` (notebook 09): train and predict.

    python -m course_utils train FILE.csv --text-column C --label-column C [--model M] [--epochs N]
        [--batch-size N] [--max-length N] [--lr X] [--output DIR] [--overwrite] [--seed N]
    python -m course_utils predict DIR "a text" ["another text" ...]
    python -m course_utils predict DIR --file FILE.csv [--text-column C] [--output OUT.csv] [--overwrite]

``train`` walks the path the notebooks walk (09 · The whole path): it reads the CSV, removes
repeated texts, makes a stratified train/validation/test split with no text in two splits,
fits the TF-IDF baseline, fine-tunes (the packaged all-MiniLM-L6-v2 by default, offline; its
flags are built from :class:`course_utils.settings.TrainSettings`), prints the test metrics
beside the baseline's, and saves the model, its tokenizer, the class names, for two classes the
threshold chosen on validation, ``splits.json`` and ``metrics.json``. ``predict`` labels texts
with such a folder. The course's own commands (``doctor``, ``quiz``, ``exercises``) are
``python -m courseware`` (:mod:`courseware.cli`).

One exit-code policy: bad input (a missing, empty, binary or non-CSV file, a missing column,
one class only, blank texts, an output that exists without ``--overwrite``, an incomplete model
folder) is one line ``error: ...`` naming the problem and the fix, exit
status 2, and nothing is written: ``train`` stages its output next to the target and renames
it at the end. Ctrl-C leaves nothing behind (exit status 130).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from course_utils.baseline import Baseline
from course_utils.errors import CourseError
from course_utils.files import atomic_write_text, display_path
from course_utils.settings import MAX_LENGTH, SEED, TrainSettings

__all__ = ["main"]

_INTERRUPTED_EXIT = 130
_MODEL_FILES = ("config.json",)  # a folder holding one of these is a model folder --overwrite may replace
_SPLIT_NAMES = {"train": "train", "val": "validation", "test": "test"}


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def _err(*parts: object) -> None:
    print(*parts, file=sys.stderr)


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _shorten(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _default_output(csv_path: str | Path) -> Path:
    """``./model-<csv stem>``: where ``train`` saves when no ``--output`` is given."""
    return Path.cwd() / f"model-{Path(csv_path).stem}"



def _check_output_folder(folder: str | Path, overwrite: bool) -> Path:
    """``folder`` as a Path if ``train`` may write there, else :class:`CourseError`.

    A folder that exists is replaced only with ``overwrite``, and only when it is empty
    or holds a model (a ``config.json``), so a mistyped ``--output`` cannot wipe a folder
    of other files.
    """
    target = Path(folder).expanduser().absolute()
    if not target.parent.is_dir():
        raise CourseError(f"Cannot write the model to {target}: the folder {target.parent} does not exist. "
                          "Fix: create it, or choose another --output.")
    if target.exists() or target.is_symlink():
        if not overwrite:
            raise CourseError(f"The output folder {target} already exists. Fix: choose another --output, "
                              "or pass --overwrite to replace it.")
        if not target.is_dir() or target.is_symlink():
            raise CourseError(f"{target} exists and is not a folder. Fix: choose another --output.")
        if any(target.iterdir()) and not any((target / name).is_file() for name in _MODEL_FILES):
            raise CourseError(f"{target} exists and holds files but no saved model (no config.json), so "
                              "--overwrite will not replace it. Fix: choose another --output.")
    return target


def _token_lengths(tokenizer, texts: Sequence[str]) -> list[int]:
    """Tokens per text, special tokens included, without truncation."""
    encoded = tokenizer(list(texts), truncation=False, add_special_tokens=True, verbose=False)
    return [len(ids) for ids in encoded["input_ids"]]


def _staging_folders(target: Path) -> set[Path]:
    return set(target.parent.glob(f".{target.name}-*"))  # course_utils.files' staging names


# ---------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------


@dataclass
class _TrainRequest:
    """What ``python -m course_utils train`` was asked to do: the data, the output, and the training settings."""

    csv: str
    text_column: str
    label_column: str
    settings: TrainSettings = field(default_factory=TrainSettings)
    model: str | None = None
    output: str | None = None
    overwrite: bool = False
    positive_label: str | None = None


def _split_counts(splits, label_names: Sequence[str]) -> dict:
    """Texts per split and per class, as stored in ``splits.json``."""
    counts = {}
    for key, frame in splits.items():
        per_class = frame["label_id"].value_counts()
        counts[_SPLIT_NAMES[key]] = {"texts": int(len(frame)),
                                    "classes": {name: int(per_class.get(index, 0))
                                                for index, name in enumerate(label_names)}}
    return counts


def _score_predictions(y_true, y_pred, label_names: Sequence[str]) -> dict:
    """Accuracy, per-class precision/recall/F1/support, macro and weighted averages (``metrics.json``):
    scikit-learn's ``classification_report``."""
    import numpy as np
    from sklearn.metrics import classification_report

    report = classification_report(y_true, y_pred, labels=list(range(len(label_names))),
                                   target_names=[str(name) for name in label_names], output_dict=True, zero_division=0)

    def row(name: str) -> dict:
        return {"precision": float(report[name]["precision"]), "recall": float(report[name]["recall"]),
                "f1": float(report[name]["f1-score"]), "support": int(report[name]["support"])}

    scores = {"texts": int(len(y_true)), "accuracy": float(np.mean(np.asarray(y_true) == np.asarray(y_pred))),
              "per_class": {str(name): row(str(name)) for name in label_names}}
    for average in ("macro", "weighted"):
        scores.update({f"{average}_{key}": value for key, value in row(f"{average} avg").items() if key != "support"})
    return scores


def _metrics_table(metrics: dict) -> str:
    """The test metrics as a text table: one row per class, then accuracy and the averages."""
    per_class = metrics["per_class"]
    width = max([len("weighted avg")] + [len(name) for name in per_class])
    lines = [f"{'class':<{width}}  precision  recall      f1  support"]
    for name, row in per_class.items():
        lines.append(f"{name:<{width}}  {row['precision']:9.3f}  {row['recall']:6.3f}  {row['f1']:6.3f}"
                     f"  {row['support']:7,}")
    total = metrics["texts"]
    lines.append(f"{'accuracy':<{width}}  {'':9}  {'':6}  {metrics['accuracy']:6.3f}  {total:7,}")
    lines.append(f"{'macro avg':<{width}}  {metrics['macro_precision']:9.3f}  {metrics['macro_recall']:6.3f}"
                 f"  {metrics['macro_f1']:6.3f}  {total:7,}")
    lines.append(f"{'weighted avg':<{width}}  {metrics['weighted_precision']:9.3f}  {metrics['weighted_recall']:6.3f}"
                 f"  {metrics['weighted_f1']:6.3f}  {total:7,}")
    return "\n".join(lines)


def _positive_class(label_names: Sequence[str], positive_label: str | None) -> int:
    """The class number ``--positive-label`` names (two classes only; default: class 1), or :class:`CourseError`."""
    if positive_label is None:
        return 1
    if positive_label not in label_names:
        raise CourseError(f"--positive-label {positive_label!r} is not one of the labels "
                          f"{list(label_names)}. Fix: name one of them.")
    if len(label_names) != 2:
        raise CourseError(f"--positive-label is for two classes; this file has {len(label_names)}. "
                          "Fix: leave it out (every class is scored on its own, and macro F1 sums them up).")
    return list(label_names).index(positive_label)


def _compare_with_baseline(y_true, model_pred, baseline_pred, metric: str, positive: int = 1) -> dict:
    """The fine-tuned model's score, the baseline's, and the paired bootstrap interval of the difference."""
    from course_utils.metrics import average_scores, bootstrap_difference, classification_scores

    def score(true, predicted) -> float:
        return classification_scores(true, predicted, positive)["f1"] if metric == "f1" else \
            average_scores(true, predicted)[metric]

    difference = bootstrap_difference(y_true, model_pred, baseline_pred, metric, positive=positive)
    return {"fine_tuned": float(score(y_true, model_pred)), "baseline": float(score(y_true, baseline_pred)),
            "difference": difference.estimate, "difference_low": difference.low, "difference_high": difference.high}


def _comparison_line(comparison: dict, metric: str, label_names: Sequence[str], positive: int = 1) -> str:
    """One line: baseline and fine-tuned score, the difference with its interval, and the verdict."""
    what = f"{label_names[positive]} F1" if metric == "f1" else "macro F1"
    line = (f"Baseline ({Baseline.name}): {what} {comparison['baseline']:.3f}; fine-tuned: {what} "
            f"{comparison['fine_tuned']:.3f}; difference {comparison['difference']:+.3f} "
            f"(95% paired bootstrap interval {comparison['difference_low']:+.3f} to {comparison['difference_high']:+.3f}).")
    advice = "try more epochs, another learning rate (--lr) or more labelled texts; or use the baseline."
    if comparison["difference_low"] > 0:
        return line + " The fine-tuned model beats the baseline."
    if comparison["difference"] > 0:
        return line + " Ahead, but the test set cannot tell them apart: the interval includes 0."
    if comparison["difference_high"] >= 0:
        return line + (" The fine-tuned model did NOT beat the baseline on this test set (the interval includes 0: "
                       "no clear difference either way): " + advice)
    return line + " The baseline is better on this data: " + advice


def _learning_warning(result, num_classes: int) -> str | None:
    """A warning when validation loss stayed near the uniform guess's (ln K): the model has not learned."""
    import math

    rows = result.per_epoch
    if "val_loss" not in rows.columns or rows.empty:
        return None
    best_loss = float(rows["val_loss"].min())
    uniform = math.log(num_classes)
    if best_loss < 0.95 * uniform:
        return None
    return (f"Warning: the model has not learned: its best validation loss {best_loss:.3f} is within 5% of a "
            f"uniform guess's (ln {num_classes} = {uniform:.3f}). Try more epochs (--epochs), a higher learning "
            "rate (--lr), or more labelled texts per class.")


def _train_command(request: _TrainRequest) -> int:
    """Fine-tune a model on a CSV file of texts and labels and save it with its scores.

    Prints the data summary, a progress bar and the test metrics; writes the model folder
    (model, tokenizer, class names, for two classes the threshold chosen on validation),
    ``splits.json`` and ``metrics.json``. Ctrl-C leaves nothing behind and returns 130.
    """
    target = _check_output_folder(request.output or _default_output(request.csv), request.overwrite)
    staging_before = _staging_folders(target)
    try:
        return _train(request, target)
    except KeyboardInterrupt:
        for folder in _staging_folders(target) - staging_before:
            shutil.rmtree(folder, ignore_errors=True)
        _err(f"\ninterrupted: training stopped, nothing was written ({target} was not "
             f"{'replaced' if target.exists() else 'created'}).")
        return _INTERRUPTED_EXIT


def _train(request: _TrainRequest, target: Path) -> int:
    settings = request.settings
    from course_utils.data import load_csv

    data = load_csv(request.csv, request.text_column, request.label_column)
    names = data.label_names
    positive = _positive_class(names, request.positive_label)  # decided once, in the settings
    settings = dataclasses.replace(settings, positive=positive)
    counts = data.frame["label_id"].value_counts()
    print(f"Read {data.source}: {_count(data.rows_read, 'row')} (encoding {data.encoding}); "
          f"{_count(data.duplicates_removed, 'repeated text')} removed, {len(data.frame):,} left.")
    print(f"{len(names)} classes: " + ", ".join(
        f"{name} {int(counts.get(i, 0)):,} ({100 * int(counts.get(i, 0)) / len(data.frame):.1f}%)"
        for i, name in enumerate(names)))
    splits = data.split(seed=settings.seed)
    sizes = _split_counts(splits, names)
    print("Split (stratified, seed {}): {}; no text is in two splits.".format(
        settings.seed, ", ".join(f"{key} {value['texts']:,}" for key, value in sizes.items())))

    import numpy as np  # the heavy imports (torch) only once the data is known to be good

    from course_utils import prediction, training
    from course_utils import metrics as metrics_module
    from course_utils.baseline import fit_baseline
    from course_utils.metrics import choose_threshold, classification_scores, predict_at_threshold
    from course_utils.models import choose_model, load_classifier, save_classifier

    metric_name = "f1" if len(names) == 2 else "macro_f1"
    baseline = fit_baseline(splits.train, splits.val, metric=metric_name, positive=positive)
    print(f"Baseline: {baseline}")
    if len(names) == 2:
        print(f"Positive class: {names[positive]} (its F1 is the score; "
              + ("chosen with --positive-label)" if request.positive_label else
                 f"the second in sorted order; choose with --positive-label {names[0]})"))

    choice = choose_model(request.model)
    print(f"Model: {choice.name} ({choice.source})")
    training.set_seed(settings.seed)  # before the new classifier head is drawn: same seed, same run
    model, tokenizer = load_classifier(choice, label_names=names, verbose=False)
    lengths = np.array(_token_lengths(tokenizer, data.frame["text"].tolist()))
    too_long = int((lengths > settings.max_length).sum())
    print(f"Long texts: {too_long:,} of {len(lengths):,} exceed --max-length {settings.max_length} tokens "
          f"and are truncated (longest: {int(lengths.max()):,} tokens).")
    trained = settings.for_model(model)  # the blanks filled from the model family's recipe
    epochs, lr = trained.epochs, trained.lr
    print(f"Training: {epochs} epoch(s), batch size {settings.batch_size}, peak learning rate {lr:g}, "
          f"warmup {trained.warmup_ratio:.0%} then linear decay"
          + (" (the model's recipe)." if settings.epochs is None and settings.lr is None else "."))

    result = training.train(model, tokenizer, splits.train, splits.val, trained)

    test_probs = prediction.predict_proba(model, tokenizer, splits.test["text"].tolist(), max_length=settings.max_length)
    y_test = splits.test["label_id"].to_numpy()
    test_pred = test_probs.argmax(axis=1)
    metrics = _score_predictions(y_test, test_pred, names)
    baseline_pred = baseline.predict(splits.test["text"])
    comparison = _compare_with_baseline(y_test, test_pred, baseline_pred, metric_name, positive)
    metrics["baseline"] = {"name": Baseline.name, "C": baseline.C, "metric": metric_name,
                           "test": _score_predictions(y_test, baseline_pred, names), **comparison}
    metrics.update({"model": choice.name, "epochs": epochs, "best_epoch": result.best_epoch,
                    "batch_size": settings.batch_size, "max_length": settings.max_length, "lr": lr,
                    "seed": settings.seed, "train_seconds": round(result.seconds, 1),
                    "truncated_texts": too_long})
    print(f"\nTest metrics ({len(y_test):,} texts, the most probable class; weights of epoch "
          f"{result.best_epoch} of {epochs}, the best on validation):")
    print(_metrics_table(metrics))
    print(_comparison_line(comparison, metric_name, names, positive))
    not_learned = _learning_warning(result, len(names))
    if not_learned:
        print(not_learned)

    threshold = None
    if len(names) == 2:
        val_probs = prediction.predict_proba(model, tokenizer, splits.val["text"].tolist(),
                                           max_length=settings.max_length)
        choice_made = choose_threshold(splits.val["label_id"].to_numpy(), val_probs, metric="f1", positive=positive,
                                       min_positives=metrics_module.MIN_THRESHOLD_POSITIVES)
        at_threshold = predict_at_threshold(test_probs, choice_made.value, positive)
        scores = classification_scores(y_test, at_threshold, positive)
        metrics["threshold"] = {"value": choice_made.value, "tuned": choice_made.tuned, "chosen_on": "validation",
                                "metric": "f1", "val_positives": choice_made.positives,
                                "positive_label": names[positive],
                                "test": {key: float(scores[key]) for key in ("accuracy", "precision", "recall", "f1")}}
        if choice_made.tuned:
            threshold = choice_made.value
            print(f"\nThreshold for {names[positive]}: {choice_made}. At it, on test: "
                  f"precision {scores['precision']:.3f}, recall {scores['recall']:.3f}, F1 {scores['f1']:.3f}, "
                  f"accuracy {scores['accuracy']:.3f}.")
        else:
            print(f"\nThreshold for {names[positive]}: {choice_made} (the model is saved without a tuned threshold).")

    splits_record = {"source": str(data.source), "rows_read": data.rows_read,
                     "duplicates_removed": data.duplicates_removed, "texts": int(len(data.frame)),
                     "encoding": data.encoding, "text_column": request.text_column,
                     "label_column": request.label_column, "label_names": list(names),
                     "seed": settings.seed, "val_fraction": 0.1, "test_fraction": 0.2, "splits": sizes,
                     "rows": {_SPLIT_NAMES[key]: sorted(int(row) for row in frame["row"]) for key, frame in splits.items()}}
    save_classifier(model, tokenizer, target, threshold=threshold, overwrite=request.overwrite,
                    extra_files={"metrics.json": json.dumps(metrics, indent=2) + "\n",
                                 "splits.json": json.dumps(splits_record, indent=2) + "\n"})
    print(f"\nSaved the model, its tokenizer, class names{', threshold' if threshold is not None else ''}, "
          f"splits.json and metrics.json to {display_path(target)}")
    print(f"Try it: python -m course_utils predict {display_path(target)} \"some text\"")
    return 0


# ---------------------------------------------------------------------------
# predict
# ---------------------------------------------------------------------------


def _read_texts_csv(path: str | Path, text_column: str):
    """``(frame, texts)``: the CSV file as read and its column ``text_column`` checked (no blanks), or :class:`CourseError`."""
    from course_utils.data import check_texts, read_csv_table

    frame, _ = read_csv_table(path, min_columns=1)
    if text_column not in frame.columns:
        raise CourseError(f"{path} has no column {text_column!r}; its columns are "
                          f"{[str(column) for column in frame.columns]}. Fix: name the text column with --text-column.")
    if frame.empty:
        raise CourseError(f"{path} has a header but no rows. Fix: add one text per row below the header.")
    return frame, check_texts(frame[text_column].tolist(), f"{path}, column {text_column!r},", first_row=2, where="line")


def _with_predictions(frame, predictions, probabilities, label_names: Sequence[str]):
    """The input rows with every column kept, then the predicted label, its probability and each class's."""
    result = frame.copy()
    taken = set(map(str, result.columns))
    for name, values in [("label", predictions["label"].to_numpy()), ("probability", predictions["probability"].to_numpy()),
                         *[(f"p_{class_name}", probabilities[:, index]) for index, class_name in enumerate(label_names)]]:
        column = name if name not in taken else f"predicted_{name}"
        result[column] = values
        taken.add(column)
    return result


def _write_csv_atomically(frame, path: str | Path, overwrite: bool) -> Path:
    """Write ``frame`` to ``path`` via a temporary file in the same folder, renamed at the end."""
    target = Path(path).expanduser().absolute()
    if not target.parent.is_dir():
        raise CourseError(f"Cannot write {target}: the folder {target.parent} does not exist. "
                          "Fix: create it, or choose another --output.")
    if target.exists() and not overwrite:
        raise CourseError(f"{target} already exists. Fix: choose another --output, or pass --overwrite to replace it.")
    if target.is_dir():
        raise CourseError(f"{target} is a folder. Fix: give --output a file name such as predictions.csv.")
    return atomic_write_text(target, frame.to_csv(index=False, lineterminator="\n"))


def _predictions_table(frame, width: int = 70) -> str:
    """Predictions as a text table: label, probability, text (shortened)."""
    label_width = max([len("label")] + [len(str(label)) for label in frame["label"]])
    lines = [f"{'label':<{label_width}}  probability  text"]
    for row in frame.itertuples(index=False):
        lines.append(f"{row.label:<{label_width}}  {row.probability:11.3f}  {_shorten(row.text, width)}")
    return "\n".join(lines)


def _predict_command(model_dir: str, texts: Sequence[str], file: str | None, text_column: str,
                    output: str | None, overwrite: bool = False, max_length: int | None = None) -> int:
    """Label texts (arguments or a CSV column) with a model saved by ``train``; print or write a CSV."""
    from course_utils.data import check_texts
    from course_utils.models import check_model_folder, load_finetuned, saved_positive, saved_threshold

    if file and texts:
        raise CourseError("Give either TEXT arguments or --file, not both. Fix: drop one of them.")
    if not file and not texts:
        raise CourseError("Nothing to predict. Fix: pass texts in quotes after the model folder, "
                          "or --file FILE.csv --text-column C.")
    check_model_folder(model_dir)
    if output:
        write_target = Path(output).expanduser().absolute()
        if write_target.exists() and not overwrite:
            raise CourseError(f"{write_target} already exists. Fix: choose another --output, "
                              "or pass --overwrite to replace it.")
    source = None
    if file:
        source, texts = _read_texts_csv(file, text_column)
    else:
        texts = check_texts(list(texts), "TEXT arguments", first_row=1, where="argument")
    from course_utils.prediction import labels_from_probabilities, predict_proba  # torch: once the input is good

    model, tokenizer = load_finetuned(model_dir)
    threshold = saved_threshold(model)
    probabilities = predict_proba(model, tokenizer, texts, max_length=max_length)
    predictions = labels_from_probabilities(model, texts, probabilities, threshold=threshold)
    if output:
        table = predictions
        if source is not None:  # keep the file's own columns (an id, say), so the results join back
            names = [model.config.id2label[index] for index in range(probabilities.shape[1])]
            table = _with_predictions(source, predictions, probabilities, names)
        written = _write_csv_atomically(table, output, overwrite)
        print(f"wrote {_count(len(predictions), 'prediction')} to {written}")
    else:
        print(_predictions_table(predictions))
    if threshold is not None:
        print(f"({model.config.id2label[saved_positive(model)]} when its probability is at least {threshold:.2f}, "
              "the threshold saved with the model)")
    return 0


# ---------------------------------------------------------------------------
# the parser
# ---------------------------------------------------------------------------


class _OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit status 2)."""

    def error(self, message: str):
        self.exit(2, f"error: {message}. Fix: see {self.prog} --help\n")


_TRAIN_FLAGS = {  # the settings the command line offers as flags: (type, help)
    "epochs": (int, "passes over the training texts (default: the model's recipe, 3 for the packaged model)"),
    "batch_size": (int, "texts per optimizer step (16)"),
    "lr": (float, "peak learning rate (default: the model's recipe, 1e-4 for the packaged model)"),
    "max_length": (int, f"tokens kept per text; longer texts are truncated ({MAX_LENGTH})"),
    "seed": (int, f"seed of the split and the training ({SEED})"),
}


def _add_train_parser(commands) -> None:
    train = commands.add_parser("train", help="fine-tune a classifier on a CSV file of texts and labels")
    train.add_argument("csv", metavar="FILE.csv", help="a CSV file with a header line, one text and its label per row")
    train.add_argument("--text-column", required=True, metavar="C", help="the column holding the texts")
    train.add_argument("--label-column", required=True, metavar="C", help="the column holding the labels")
    train.add_argument("--model", metavar="M", help="'packaged', a hub id or a local folder "
                                                    "(default: chosen by course_utils.models.choose_model)")
    for name, (kind, help_text) in _TRAIN_FLAGS.items():  # --epochs, --batch-size, --lr, --max-length, --seed
        train.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, default=getattr(TrainSettings(), name),
                           metavar="X" if kind is float else "N", help=help_text)
    train.add_argument("--output", metavar="DIR", help="the folder to save to (default: ./model-<csv name>)")
    train.add_argument("--overwrite", action="store_true", help="replace DIR if it holds a saved model")
    train.add_argument("--positive-label", metavar="NAME",
                       help="two classes: the class whose precision, recall and F1 are reported and whose "
                            "threshold is tuned (default: the second label in sorted order)")


def _add_predict_parser(commands) -> None:
    predict = commands.add_parser("predict", help="label texts with a model saved by train")
    predict.add_argument("model_dir", metavar="DIR", help="a folder written by train")
    predict.add_argument("texts", nargs="*", metavar="TEXT", help="texts to label (quote each one)")
    predict.add_argument("--file", metavar="FILE.csv", help="label the texts of a CSV file instead")
    predict.add_argument("--text-column", default="text", metavar="C", help="the text column of --file (text)")
    predict.add_argument("--output", metavar="OUT.csv", help="write text,label,probability to OUT.csv")
    predict.add_argument("--overwrite", action="store_true", help="replace OUT.csv if it exists")
    predict.add_argument("--max-length", type=int, default=None, metavar="N",
                         help="tokens kept per text (default: the model's own, as it was trained)")


def _build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="python -m course_utils",
                                     description="Tools for the course 'Fine-tuning BERT for text classification'.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    _add_train_parser(commands)
    _add_predict_parser(commands)
    return parser


def _settings_from_flags(args) -> TrainSettings:
    """The training settings the flags give; a value no run can use names its flag."""
    values = {name: getattr(args, name) for name in _TRAIN_FLAGS}
    try:
        return TrainSettings(**values)
    except CourseError as error:
        name = str(error).split(" ", 1)[0]
        raise CourseError(f"--{name.replace('_', '-')}: {error}") from None


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def _cli_command(args) -> int:
    """``train`` and ``predict`` (course_utils.cli). Bad input: one line, exit status 2."""
    try:
        if args.command == "train":
            return _train_command(_TrainRequest(
                csv=args.csv, text_column=args.text_column, label_column=args.label_column,
                settings=_settings_from_flags(args), model=args.model, output=args.output,
                overwrite=args.overwrite, positive_label=args.positive_label))
        return _predict_command(args.model_dir, args.texts, args.file, args.text_column, args.output,
                                   args.overwrite, args.max_length)
    except CourseError as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 2
    except OSError as error:  # a disk that is full or a folder that cannot be written
        print(f"error: {_one_line(error)}. Fix: check the path, its permissions and the free space.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was written.", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m course_utils`` and the ``course-utils`` script."""
    return _cli_command(_build_parser().parse_args(argv))
