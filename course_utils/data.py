"""Labelled texts of any source: read, checked, deduplicated, split, checked for leakage.

Introduced in notebook 00 (setup) with the SMS Spam Collection (:mod:`course_utils.corpora`);
notebook 08 (multi-class) and the command line (``python -m course_utils train FILE.csv``)
load any CSV or DataFrame of texts and labels with :func:`load_csv` / :func:`from_dataframe`.
Nothing here knows a particular data set.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils.errors import CourseError
from course_utils.guards import check_texts
from course_utils.labels import LabelMap
from course_utils.settings import SEED

__all__ = ["SEED", "fast_mode", "check_texts", "from_dataframe", "load_csv", "read_csv_table",
           "deduplicate", "Splits", "split_dataset", "LeakageReport", "leakage_report", "subsample"]

_FAST_ENV_VAR = "COURSE_FAST"
_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")  # tried in this order when none is stated
_SEPARATORS = ",;\t|"
_MAX_CLASSES_GUESS = 50  # more distinct labels than this, and than half the rows: an ID column, not classes


def fast_mode() -> bool:
    """True when ``COURSE_FAST`` is set to 1/true/yes (CI and slow laptops).

    Fast mode shrinks how many messages the notebooks train on; it still trains a
    real pretrained model on real messages and evaluates on the full test split.
    """
    return os.environ.get(_FAST_ENV_VAR, "").strip().lower() in {"1", "true", "yes", "on"}



# ---------------------------------------------------------------------------
# Any labelled texts: from a DataFrame or a CSV file
# ---------------------------------------------------------------------------


def _rows(positions: Sequence, first_row: int) -> str:
    shown = ", ".join(str(int(position) + first_row) for position in positions[:10])
    return shown + (f" and {len(positions) - 10} more" if len(positions) > 10 else "")


@dataclass
class _TextData:
    """Labelled texts ready to split: ``frame`` has ``text``, ``label`` and ``label_id`` (notebook 08).

    ``labels`` is the :class:`LabelMap`; ``rows_read`` counts the rows before duplicates
    were removed; ``encoding`` is the file encoding that was used (for a CSV).
    """

    frame: pd.DataFrame
    labels: LabelMap
    source: str
    rows_read: int
    duplicates_removed: int = 0
    encoding: str | None = None

    @property
    def label_names(self) -> tuple[str, ...]:
        return self.labels.names

    def summary(self) -> pd.DataFrame:
        """Texts per class, their share, and the median length in characters."""
        counts = self.frame["label_id"].value_counts().reindex(range(len(self.labels)), fill_value=0)
        lengths = self.frame["text"].str.len().groupby(self.frame["label_id"]).median()
        table = pd.DataFrame({
            "class": self.labels.names,
            "texts": counts.to_numpy(),
            "share %": (100 * counts / max(len(self.frame), 1)).round(1).to_numpy(),
            "median chars": lengths.reindex(range(len(self.labels))).to_numpy(),
        })
        return table.set_index("class")

    def describe(self) -> str:
        """One paragraph: where the texts came from and what was done to them."""
        line = f"{self.source}: {self.rows_read:,} rows, {len(self.labels)} classes"
        if self.encoding:
            line += f", read as {self.encoding}"
        line += f"; {self.duplicates_removed:,} repeated texts removed, {len(self.frame):,} left."
        return line

    def split(self, val_fraction: float = 0.1, test_fraction: float = 0.2, seed: int = SEED) -> Splits:
        """Stratified train/validation/test split (:func:`split_dataset`), checked for leakage."""
        splits = split_dataset(self.frame, val_fraction, test_fraction, seed, label_names=self.labels.names)
        report = leakage_report(splits)
        if not report.ok:
            raise CourseError(f"{report} Fix: deduplicate the texts before splitting (dedupe=True).")
        return splits


def from_dataframe(frame: pd.DataFrame, text_column: str = "text", label_column: str = "label", *,
                   label_order: Sequence | None = None, dedupe: bool = True, source: str = "DataFrame",
                   first_row: int = 0, where: str = "row", encoding: str | None = None) -> _TextData:
    """Check and prepare labelled texts from any DataFrame (notebook 08; the CLI's ``train``).

    ``text_column`` and ``label_column`` name the columns. Labels may be names or
    numbers; the :class:`LabelMap` sorts them unless ``label_order`` is given. Texts that
    are missing, not strings or blank, and missing labels, raise :class:`CourseError`
    with their row numbers. With ``dedupe`` repeated texts are dropped (first kept), so
    no text can land in two splits.
    """
    if not isinstance(frame, pd.DataFrame):
        raise CourseError(f"Expected a pandas DataFrame of texts and labels, got {type(frame).__name__}.")
    missing = [column for column in (text_column, label_column) if column not in frame.columns]
    if missing:
        raise CourseError(f"{source} has no column {', '.join(repr(column) for column in missing)}; its columns are "
                          f"{[str(column) for column in frame.columns]}. Fix: name the text and label columns "
                          "(--text-column, --label-column on the command line).")
    if frame.empty:
        raise CourseError(f"{source} has no rows. Fix: point to a file with a header line and one text per row.")
    texts = check_texts(frame[text_column].tolist(), f"{source}, column {text_column!r},", first_row, where)
    raw_labels = frame[label_column]
    no_label = [i for i, value in enumerate(raw_labels.tolist())
                if value is None or (isinstance(value, float) and np.isnan(value)) or not LabelMap.text(value)]
    if no_label:
        raise CourseError(f"{source}, column {label_column!r}, has {len(no_label)} missing label"
                          f"{'s' if len(no_label) != 1 else ''} ({where} {_rows(no_label, first_row)}). "
                          "Fix: fill in the labels or remove those rows.")
    labels = [LabelMap.text(value) for value in raw_labels.tolist()]
    distinct = len(set(labels))
    if distinct > max(_MAX_CLASSES_GUESS, len(labels) // 2):
        raise CourseError(f"{source}, column {label_column!r}, has {distinct:,} distinct values in {len(labels):,} rows: "
                          "it looks like an identifier or free text, not a label. Fix: name the column that holds "
                          "the classes (--label-column on the command line).")
    try:
        label_map = LabelMap.from_values(labels, order=label_order)
    except CourseError as error:
        if label_order is not None:
            unknown = [i for i, label in enumerate(labels) if label not in {LabelMap.text(n) for n in label_order}]
            raise CourseError(f"{source}: {error} (first at {where} {_rows(unknown, first_row)})") from None
        found = sorted(set(labels))
        raise CourseError(f"{source}, column {label_column!r}, holds only one class ({found}): a classifier "
                          "needs texts of at least two classes. Fix: check the label column, or add "
                          "texts of another class.") from None
    prepared = pd.DataFrame({"text": texts, "label": labels})
    prepared["label_id"] = label_map.encode(labels)
    prepared["row"] = np.arange(len(prepared))  # 0-based data row of the source, kept through dedupe and splits
    rows_read = len(prepared)
    if dedupe:
        prepared = deduplicate(prepared)
    return _TextData(prepared, label_map, source, rows_read, rows_read - len(prepared), encoding)


def _read_text(path: Path, encoding: str | None) -> tuple[str, str]:
    raw = path.read_bytes()
    if not raw.strip():
        raise CourseError(f"{path} is empty. Fix: point to a CSV file with a header line and one text per row.")
    if b"\x00" in raw[:8192]:
        raise CourseError(f"{path} looks like a binary file, not a CSV text file. Fix: export your data as CSV "
                          "(comma-separated, UTF-8) and point to that file.")
    if encoding:
        try:
            return raw.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise CourseError(f"{path} cannot be read as {encoding} ({exc}). Fix: state the file's real "
                              "encoding, or leave it out to have it detected.") from None
    for candidate in _ENCODINGS:
        try:
            text = raw.decode(candidate)
        except UnicodeDecodeError:
            continue
        if candidate == "utf-8-sig" and not raw.startswith(b"\xef\xbb\xbf"):
            candidate = "utf-8"  # utf-8-sig also reads files without the byte-order mark: say what the file is
        return text, candidate
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _sniff_separator(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=_SEPARATORS).delimiter
    except csv.Error:
        return ","


def read_csv_table(path: str | Path, *, encoding: str | None = None, sep: str | None = None,
                   min_columns: int = 2) -> tuple[pd.DataFrame, str]:
    """A CSV file with a header line as a DataFrame of strings, and the encoding used (notebook 08; the CLI).

    The encoding is the one stated, else detected (UTF-8, then Windows-1252, then
    Latin-1); the separator is the one stated, else detected among ``, ; TAB |``. A missing,
    empty, binary or malformed file, or one with fewer than ``min_columns`` columns, raises
    :class:`CourseError` naming the file and the fix.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise CourseError(f"{path} {what}. Fix: check the path to your CSV file.")
    text, used_encoding = _read_text(path, encoding)
    separator = sep or _sniff_separator(text)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=separator, dtype=str, keep_default_na=False,
                            na_values=[""], skipinitialspace=True)
    except (pd.errors.ParserError, csv.Error) as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise CourseError(f"{path} is not a well-formed CSV file ({detail}). Fix: check the quoting on "
                          "that line, or state the separator.") from None
    except pd.errors.EmptyDataError:
        raise CourseError(f"{path} has no columns. Fix: point to a CSV file with a header line.") from None
    if len(frame.columns) < min_columns:
        raise CourseError(f"{path} does not look like a CSV table: it has one column ({list(frame.columns)[:1]}) "
                          f"with separator {separator!r}. Fix: a header line and at least a text and a label column, "
                          "comma-separated.")
    return frame, used_encoding


def load_csv(path: str | Path, text_column: str, label_column: str, *, label_order: Sequence | None = None,
             encoding: str | None = None, sep: str | None = None, dedupe: bool = True) -> _TextData:
    """Read a CSV file of texts and labels with a header line (notebook 08; the CLI's ``train``).

    Read with :func:`read_csv_table` (encoding and separator detected unless stated), then
    checked by :func:`from_dataframe`. Problems (a missing, empty, binary or non-CSV file,
    a missing column, one class only, blank texts) raise :class:`CourseError` naming the
    file, the rows and the fix.
    """
    frame, used_encoding = read_csv_table(path, encoding=encoding, sep=sep)
    return from_dataframe(frame, text_column, label_column, label_order=label_order, dedupe=dedupe,
                          source=str(Path(path).expanduser()), first_row=2, where="line", encoding=used_encoding)


# ---------------------------------------------------------------------------
# Deduplication, splits, leakage
# ---------------------------------------------------------------------------


def deduplicate(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop repeated texts (exact same text), keeping the first, and renumber rows.

    The SMS collection repeats 328 texts. Left in, a message can land in both the
    training and the test split, and the test score then rewards memorising
    (notebook 07 measures how much).
    """
    return frame.drop_duplicates(subset="text", keep="first").reset_index(drop=True)


@dataclass
class Splits:
    """Train, validation and test DataFrames, and the class names (notebook 00)."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    label_names: tuple[str, ...] = field(default=())

    def items(self) -> list[tuple[str, pd.DataFrame]]:
        return [("train", self.train), ("val", self.val), ("test", self.test)]

    def _names(self) -> tuple[str, ...]:
        if self.label_names:
            return tuple(self.label_names)
        count = int(max(frame["label_id"].max() for _, frame in self.items())) + 1
        return tuple(str(index) for index in range(count))

    def summary(self) -> pd.DataFrame:
        """Texts per split, per class, and each class's share in percent."""
        names = self._names()
        rows = []
        for split_name, frame in self.items():
            counts = frame["label_id"].value_counts()
            row = {"split": split_name, "texts": len(frame)}
            row.update({name: int(counts.get(index, 0)) for index, name in enumerate(names)})
            row.update({f"{name} %": round(100 * int(counts.get(index, 0)) / max(len(frame), 1), 1)
                        for index, name in enumerate(names)})
            rows.append(row)
        return pd.DataFrame(rows).set_index("split")


def split_dataset(frame: pd.DataFrame, val_fraction: float = 0.1, test_fraction: float = 0.2,
                  seed: int = SEED, label_names: Sequence[str] = ()) -> Splits:
    """Stratified train/validation/test split of ``frame`` (column ``label_id``) with a fixed seed.

    Each split keeps every class's share. The same seed gives the same split on every
    machine. A class too small to appear in every split raises :class:`CourseError`.
    """
    from sklearn.model_selection import train_test_split

    if not 0 < val_fraction < 1 or not 0 < test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise CourseError(
            f"val_fraction={val_fraction} and test_fraction={test_fraction} must each be between 0 and 1 "
            "and leave data for training (their sum below 1)."
        )
    try:
        rest, test = train_test_split(frame, test_size=test_fraction, stratify=frame["label_id"],
                                      random_state=seed)
        train, val = train_test_split(rest, test_size=val_fraction / (1 - test_fraction),
                                      stratify=rest["label_id"], random_state=seed)
    except ValueError as exc:
        counts = frame["label_id"].value_counts().sort_index()
        names = list(label_names) or [str(index) for index in counts.index]
        shown = ", ".join(f"{names[int(index)] if int(index) < len(names) else index}: {count}"
                          for index, count in counts.items())
        raise CourseError(f"Cannot split {len(frame)} texts into train, validation and test with every class in "
                          f"each ({shown}): {exc}. Fix: add texts to the smallest classes (a few dozen each "
                          "at least), or merge them.") from None
    return Splits(*(part.reset_index(drop=True) for part in (train, val, test)), label_names=tuple(label_names))


@dataclass
class LeakageReport:
    """Texts that appear in more than one split (notebook 00; used for real in notebook 07)."""

    shared: dict[str, list[str]]

    @property
    def ok(self) -> bool:
        return not any(self.shared.values())

    def __str__(self) -> str:
        if self.ok:
            return "No leakage: no text appears in more than one split."
        parts = [f"{pair}: {len(texts)} shared texts" for pair, texts in self.shared.items() if texts]
        return "LEAKAGE: " + "; ".join(parts)


def leakage_report(splits: Splits) -> LeakageReport:
    """Every text that appears in two splits, as a report (``report.ok``; it raises nothing, unlike the
    ``check_*`` guards: :meth:`_TextData.split` raises on leakage)."""
    named = splits.items()
    shared: dict[str, list[str]] = {}
    for i, (name_a, frame_a) in enumerate(named):
        for name_b, frame_b in named[i + 1:]:
            common = sorted(set(frame_a["text"]) & set(frame_b["text"]))
            shared[f"{name_a}/{name_b}"] = common
    return LeakageReport(shared)


def subsample(frame: pd.DataFrame, n: int | None, seed: int = SEED) -> pd.DataFrame:
    """A stratified random ``n`` rows of ``frame`` (all of it when ``n`` is None or too big)."""
    if n is None or n >= len(frame):
        return frame
    from sklearn.model_selection import train_test_split

    part, _ = train_test_split(frame, train_size=n, stratify=frame["label_id"], random_state=seed)
    return part.reset_index(drop=True)
