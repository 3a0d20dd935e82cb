"""`python -m course_utils train / predict`: real training on small CSVs of the packaged data.

The commands run in-process through the ``run_cli`` fixture (``course_utils.__main__.main(argv)``);
one bad input runs as a subprocess, as a person runs it. Training is real but tiny: the session's
tiny BERT (``--model`` the ``tiny_model_dir`` of conftest.py: 2 layers, hidden size 32, random weights,
the packaged tokenizer) on 60 SMS messages (2 classes) and 120 question titles (4 tags), 1 epoch,
32 tokens per text. These tests prove the command line end to end (what it prints and writes, exit
statuses, seeds); the notebooks fine-tune the real model. The tests that train are in the slow tier.
Refusals that need a saved classifier but no trained one use a small random BERT saved as `train` saves.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from course_utils import cli, corpora, data, labels

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--epochs", "1", "--max-length", "32", "--batch-size", "16"]
TAGS = 4
TITLES_PER_TAG = 30


def run_subprocess(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "course_utils", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def assert_one_error_line(code: int, stderr: str, *fragments: str) -> None:
    lines = stderr.strip().splitlines()
    assert code == 2, stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def listing(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


# ---------------------------------------------------------------------------
# Data and trained models (shared by the module)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def spam_csv(workdir) -> Path:
    frame = data.subsample(data.deduplicate(corpora.load_sms_spam()), 60, seed=0)
    path = workdir / "spam60.csv"
    frame[["text", "label"]].to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def titles_csv(workdir) -> Path:
    splits = corpora.load_question_titles()
    tags = list(splits.label_names[:TAGS])
    frame = pd.concat([splits.train[splits.train["label"] == tag].sample(TITLES_PER_TAG, random_state=0)
                       for tag in tags])
    path = workdir / "titles120.csv"
    frame.rename(columns={"text": "title", "label": "tag"})[["title", "tag"]].to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def small_classifier(workdir) -> Path:
    """A ham/spam classifier folder as `train` saves it, holding a small random BERT (nothing trained)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from course_utils import models

    tokenizer = models.load_tokenizer("packaged")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, **labels.label_config(("ham", "spam")))
    return models.save_classifier(BertForSequenceClassification(config), tokenizer, workdir / "small-classifier")


@pytest.fixture(scope="module")
def tiny(tiny_model_dir) -> list[str]:
    """The options of a tiny training run: TINY and the session's tiny BERT as ``--model``."""
    return [*TINY, "--model", str(tiny_model_dir)]


@pytest.fixture(scope="module")
def spam_run(workdir, spam_csv, run_cli, tiny):
    output = workdir / "spam-model"
    code, out, err = run_cli(["train", str(spam_csv), "--text-column", "text", "--label-column", "label",
                               "--output", str(output), *tiny])
    assert code == 0, err
    return output, out, err


@pytest.fixture(scope="module")
def titles_run(workdir, titles_csv, run_cli, tiny):
    output = workdir / "titles-model"
    code, out, err = run_cli(["train", str(titles_csv), "--text-column", "title", "--label-column", "tag",
                               "--output", str(output), *tiny])
    assert code == 0, err
    return output, out, err


# ---------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_train_spam_prints_summary_progress_and_metrics(spam_run, tiny_model_dir):
    output, out, err = spam_run
    assert f"Model: {tiny_model_dir.name} (local folder)" in out  # --model: the tiny BERT, not the packaged model
    assert "Read " in out and "60 rows" in out and "repeated texts removed" in out and "encoding utf-8" in out
    assert "2 classes: ham " in out and ", spam " in out
    assert "Split (stratified, seed 42): train 42, validation 6, test 12" in out
    assert "Long texts: " in out and "exceed --max-length 32 tokens" in out
    assert "training" in err and "100%" in err  # train()'s progress bar, finished
    table = out[out.index("Test metrics"):]
    for row in ("class", "ham", "spam", "accuracy", "macro avg", "weighted avg"):
        assert f"\n{row} " in table
    assert "Threshold for spam: 0.50 (kept 0.5: validation holds 1 texts of the positive class" in out
    assert "Baseline: TF-IDF + linear SVM (C=" in out
    assert "Baseline (TF-IDF + linear SVM): spam F1 " in out and "; fine-tuned: spam F1 " in out
    assert "paired bootstrap interval" in out
    assert "Positive class: spam (its F1 is the score; the second in sorted order; choose with " \
           "--positive-label ham)" in out


@pytest.mark.slow
def test_train_spam_writes_model_splits_and_metrics(spam_run):
    output, _, _ = spam_run
    assert {"config.json", "model.safetensors", "metrics.json", "splits.json"} <= set(os.listdir(output))
    assert any((output / name).is_file() for name in ("tokenizer.json", "vocab.txt"))
    assert not list(output.parent.glob(".spam-model-*")), "a staging folder was left behind"
    config = json.loads((output / "config.json").read_text())
    assert config["id2label"] == {"0": "ham", "1": "spam"} and config["label2id"] == {"ham": 0, "spam": 1}
    assert config.get("decision_threshold") is None  # one validation spam message: no tuned threshold is saved
    metrics = json.loads((output / "metrics.json").read_text())
    assert {"accuracy", "per_class", "macro_f1", "weighted_f1", "threshold"} <= set(metrics)
    assert set(metrics["per_class"]) == {"ham", "spam"}
    assert set(metrics["per_class"]["spam"]) == {"precision", "recall", "f1", "support"}
    assert sum(row["support"] for row in metrics["per_class"].values()) == 12
    assert metrics["threshold"]["value"] == 0.5 and metrics["threshold"]["tuned"] is False
    assert metrics["threshold"]["val_positives"] == 1 and metrics["threshold"]["chosen_on"] == "validation"
    baseline = metrics["baseline"]
    assert baseline["name"] == "TF-IDF + linear SVM" and baseline["metric"] == "f1"
    assert baseline["fine_tuned"] == pytest.approx(metrics["per_class"]["spam"]["f1"])
    assert baseline["baseline"] == pytest.approx(baseline["test"]["per_class"]["spam"]["f1"])
    assert baseline["difference_low"] <= baseline["difference"] <= baseline["difference_high"]
    assert {"accuracy", "precision", "recall", "f1"} <= set(metrics["threshold"]["test"])
    splits = json.loads((output / "splits.json").read_text())
    sizes = {name: part["texts"] for name, part in splits["splits"].items()}
    assert sizes == {"train": 42, "validation": 6, "test": 12}
    assert sum(sum(part["classes"].values()) for part in splits["splits"].values()) == 60
    assert splits["label_names"] == ["ham", "spam"]
    rows = splits["rows"]
    assert [len(rows[name]) for name in ("train", "validation", "test")] == [42, 6, 12]
    everything = rows["train"] + rows["validation"] + rows["test"]
    assert len(set(everything)) == 60 and all(0 <= row < 60 for row in everything)  # data rows, header not counted
    csv_rows = pd.read_csv(output.parent / "spam60.csv")
    test_texts = set(csv_rows["text"].iloc[rows["test"]])
    assert not test_texts & set(csv_rows["text"].iloc[rows["train"]])  # the rows rebuild the splits


@pytest.mark.slow
def test_pipeline_prints_the_class_names(spam_run):
    from transformers import pipeline

    output, _, _ = spam_run
    classify = pipeline("text-classification", model=str(output), device="cpu")
    labels = {row["label"] for row in classify(["Free entry! Text WIN to claim your prize", "see you at 6?"])}
    assert labels <= {"ham", "spam"} and labels


@pytest.mark.slow
def test_train_multiclass_titles(titles_run):
    output, out, _ = titles_run
    tags = sorted(corpora.load_question_titles().label_names[:TAGS])
    assert f"{TAGS} classes: " in out and "120 rows" in out
    config = json.loads((output / "config.json").read_text())
    assert sorted(config["id2label"].values()) == tags and config.get("decision_threshold") is None
    metrics = json.loads((output / "metrics.json").read_text())
    assert sorted(metrics["per_class"]) == tags and "threshold" not in metrics
    assert {"accuracy", "macro_f1", "weighted_f1"} <= set(metrics)
    splits = json.loads((output / "splits.json").read_text())
    assert splits["text_column"] == "title" and splits["label_column"] == "tag"
    assert all(count == 3 for count in splits["splits"]["validation"]["classes"].values())
    assert "Threshold" not in out
    table = out[out.index("Test metrics"):]
    assert all(f"\n{tag} " in table for tag in tags)


# ---------------------------------------------------------------------------
# predict
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_predict_texts_prints_a_table(spam_run, run_cli):
    output, _, _ = spam_run
    texts = ["URGENT! You have won a 1 week FREE membership", "Ok lar... Joking wif u oni..."]
    code, out, _ = run_cli(["predict", str(output), *texts])
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].split() == ["label", "probability", "text"]
    for line, text in zip(lines[1:3], texts):
        label, probability, shown = line.split(maxsplit=2)
        assert label in {"ham", "spam"} and 0 <= float(probability) <= 1 and shown == text
    assert len(lines) == 3  # no tuned threshold was saved (one validation spam message), so no threshold line


@pytest.mark.slow
def test_predict_multiclass_uses_the_tag_names(titles_run, run_cli):
    output, _, _ = titles_run
    tags = set(corpora.load_question_titles().label_names[:TAGS])
    code, out, _ = run_cli(["predict", str(output), "How do I sort a list of dictionaries by a value?"])
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 2 and lines[1].split()[0] in tags


@pytest.mark.slow
def test_predict_file_to_csv(spam_run, workdir, run_cli):
    output, _, _ = spam_run
    source = workdir / "to_label.csv"
    pd.DataFrame({"id": [1, 2, 3], "message": ["WINNER!! Call 09061701461 to claim", "Where are you?",
                                               "Your account, sadly, is closed"]}).to_csv(source, index=False)
    target = workdir / "labelled.csv"
    before = listing(workdir)
    code, out, err = run_cli(["predict", str(output), "--file", str(source), "--text-column", "message",
                               "--output", str(target)])
    assert code == 0, err
    assert "wrote 3 predictions" in out
    written = pd.read_csv(target)
    assert list(written.columns) == ["id", "message", "label", "probability", "p_ham", "p_spam"]  # input kept
    assert written["id"].tolist() == [1, 2, 3] and written["message"].tolist()[2] == "Your account, sadly, is closed"
    assert set(written["label"]) <= {"ham", "spam"} and written["probability"].between(0, 1).all()
    assert (written["p_ham"] + written["p_spam"]).round(6).eq(1).all()
    chosen = [row.p_spam if row.label == "spam" else row.p_ham for row in written.itertuples()]
    assert written["probability"].round(6).tolist() == pd.Series(chosen).round(6).tolist()
    assert listing(workdir) - before == {"labelled.csv"}  # no temporary file left


# ---------------------------------------------------------------------------
# Bad input: one line, exit status 2, nothing written
# ---------------------------------------------------------------------------

BAD_CSVS = {
    "missing": (None, ["does not exist"]),
    "empty": (b"", ["is empty"]),
    "binary": (b"PK\x03\x04\x00\x00binary\x00zip", ["binary file"]),
    "not_csv": (b"just one line of prose\nand another line of prose\n", ["does not look like a CSV table"]),
    "no_column": (b"message,category\nhello there,a\nhi,b\n", ["no column 'text'", "'message', 'category'"]),
    "one_class": (b"text,label\nhello,ham\nhow are you,ham\nsee you,ham\n", ["only one class", "['ham']"]),
    "blank_text": (b"text,label\nhello,ham\n   ,spam\nwin now,spam\n", ["line 3"]),
    "id_as_label": (("text,label\n" + "".join(f"message number {i},{1000 + i}\n" for i in range(73))).encode(),
                    ["has 73 distinct values in 73 rows", "looks like an identifier", "--label-column"]),
}


@pytest.mark.parametrize("case", list(BAD_CSVS))
def test_train_refuses_bad_csv_in_one_line(case, tmp_path, run_cli):
    content, fragments = BAD_CSVS[case]
    path = tmp_path / f"{case}.csv"
    if content is not None:
        path.write_bytes(content)
    before = listing(tmp_path)
    code, out, err = run_cli(["train", str(path), "--text-column", "text", "--label-column", "label",
                               "--output", str(tmp_path / "model"), *TINY])
    assert_one_error_line(code, err, *fragments, "Fix:")
    assert listing(tmp_path) == before


def test_train_refuses_an_existing_output_folder(spam_csv, tmp_path, run_cli):
    existing = tmp_path / "model"
    existing.mkdir()
    (existing / "config.json").write_text("{}")
    code, _, err = run_cli(["train", str(spam_csv), "--text-column", "text", "--label-column", "label",
                             "--output", str(existing)])
    assert_one_error_line(code, err, "already exists", "--overwrite")
    assert listing(tmp_path) == {"model", "model/config.json"}


def test_overwrite_never_replaces_a_folder_of_other_files(spam_csv, tmp_path, run_cli):
    (tmp_path / "notes.txt").write_text("mine")
    code, _, err = run_cli(["train", str(spam_csv), "--text-column", "text", "--label-column", "label",
                             "--output", str(tmp_path), "--overwrite"])
    assert_one_error_line(code, err, "no saved model")
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("extra, fragment", [
    (["--epochs", "0"], "--epochs"),
    (["--lr", "fast"], "--lr"),
    (["--output", "/nonexistent-folder/model"], "does not exist"),
    (["--model", "/nonexistent-folder/checkpoint"], "does not exist"),
])
def test_train_refuses_bad_options_in_one_line(extra, fragment, spam_csv, tmp_path, monkeypatch, run_cli):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["train", str(spam_csv), "--text-column", "text", "--label-column", "label", *extra])
    assert_one_error_line(code, err, fragment)
    assert listing(tmp_path) == set()


def test_usage_errors_are_one_line(run_cli):
    code, _, err = run_cli(["train", "x.csv"])
    assert_one_error_line(code, err, "--text-column, --label-column", "--help")


@pytest.fixture
def incomplete_model(tmp_path) -> Path:
    folder = tmp_path / "half-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    return folder


@pytest.mark.parametrize("case", ["no_folder", "incomplete", "no_texts", "both", "blank_text", "missing_file",
                                  "empty_file", "no_column", "header_only", "binary_file", "prose_file",
                                  "output_exists"])
def test_predict_refuses_bad_input_in_one_line(case, small_classifier, incomplete_model, tmp_path, run_cli):
    model = str(small_classifier)
    good = tmp_path / "texts.csv"
    good.write_text("message\nhello\n")
    existing = tmp_path / "out.csv"
    existing.write_text("keep me\n")
    header_only = tmp_path / "header.csv"
    header_only.write_text("text,other\n")
    empty = tmp_path / "nothing.csv"
    empty.write_text("")
    binary = tmp_path / "archive.csv"
    binary.write_bytes(b"\x00\x01\x02PK\x03\x04binary")
    prose = tmp_path / "prose.csv"
    prose.write_text("just one line without columns\n")
    argv, fragments = {
        "no_folder": (["predict", str(tmp_path / "nowhere"), "hi"], ["does not exist"]),
        "incomplete": (["predict", str(incomplete_model), "hi"], ["incomplete", "model.safetensors"]),
        "no_texts": (["predict", model], ["Nothing to predict"]),
        "both": (["predict", model, "hi", "--file", str(good)], ["not both"]),
        "blank_text": (["predict", model, "hi", "  "], ["blank", "argument 2"]),
        "missing_file": (["predict", model, "--file", str(tmp_path / "nope.csv")], ["does not exist"]),
        "empty_file": (["predict", model, "--file", str(empty)], ["is empty"]),
        "no_column": (["predict", model, "--file", str(good)], ["no column 'text'", "['message']"]),
        "header_only": (["predict", model, "--file", str(header_only)], ["no rows"]),
        "binary_file": (["predict", model, "--file", str(binary), "--output", str(tmp_path / "o.csv")],
                        ["archive.csv", "Fix:"]),
        "prose_file": (["predict", model, "--file", str(prose), "--output", str(tmp_path / "o.csv")],
                       ["prose.csv", "Fix:"]),
        "output_exists": (["predict", model, "hi", "--output", str(existing)], ["already exists", "--overwrite"]),
    }[case]
    before = listing(tmp_path)
    code, out, err = run_cli(argv)
    assert_one_error_line(code, err, *fragments)
    assert listing(tmp_path) == before and existing.read_text() == "keep me\n"


def test_bad_input_as_a_subprocess_has_no_traceback(tmp_path):
    result = run_subprocess("train", "missing.csv", "--text-column", "text", "--label-column", "label",
                            cwd=tmp_path)
    assert_one_error_line(result.returncode, result.stderr, "missing.csv", "does not exist")
    assert result.stdout == "" and listing(tmp_path) == set()


# ---------------------------------------------------------------------------
# Ctrl-C
# ---------------------------------------------------------------------------


def test_ctrl_c_during_training_leaves_nothing(spam_csv, tmp_path, monkeypatch, run_cli, tiny):
    from course_utils import training

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "train", interrupted)
    code, _, err = run_cli(["train", str(spam_csv), "--text-column", "text", "--label-column", "label",
                             "--output", str(tmp_path / "model"), *tiny])
    assert code == 130 and len(err.strip().splitlines()) == 1 and "interrupted" in err
    assert "Traceback" not in err and listing(tmp_path) == set()


def test_ctrl_c_while_saving_leaves_no_staging_folder(spam_csv, tmp_path, monkeypatch, run_cli, tiny):
    """Interrupted after the staging folder exists (inside save_classifier): nothing is left."""
    from course_utils import models, training

    def skip_training(*args, **kwargs):  # the save is what this test interrupts
        return training.TrainResult(pd.DataFrame(), pd.DataFrame(), best_epoch=1, seconds=0.0,
                                    samples_per_second=0.0, padding_efficiency=1.0)

    quiet = models.quiet_transformers
    staged = []

    @contextlib.contextmanager
    def interrupted_once_staged():
        staged.extend(tmp_path.glob(".model-*"))
        if staged:  # save_classifier has made its staging folder: Ctrl-C now
            raise KeyboardInterrupt
        with quiet():
            yield

    monkeypatch.setattr(training, "train", skip_training)
    monkeypatch.setattr(models, "quiet_transformers", interrupted_once_staged)
    code, _, err = run_cli(["train", str(spam_csv), "--text-column", "text", "--label-column", "label",
                             "--output", str(tmp_path / "model"), *tiny])
    assert staged, "the interruption never reached the save"
    assert code == 130 and "interrupted" in err and "Traceback" not in err
    assert listing(tmp_path) == set()


def test_train_refuses_labels_the_saved_model_does_not_know(small_classifier, titles_csv, tmp_path, run_cli):
    """Fine-tuning a saved ham/spam classifier further on four tags: one line, exit 2, nothing written."""
    model_dir = small_classifier
    before = listing(tmp_path)
    code, out, err = run_cli(["train", str(titles_csv), "--text-column", "title", "--label-column", "tag",
                               "--model", str(model_dir), "--output", str(tmp_path / "more"), *TINY])
    assert_one_error_line(code, err, "fine-tuned for the classes ['ham', 'spam']", "labels it does not know", "Fix:")
    assert listing(tmp_path) == before


@pytest.mark.slow
def test_train_continues_a_saved_model_on_the_classes_it_knows(spam_run, spam_csv, tmp_path, run_cli):
    model_dir, _, _ = spam_run
    code, out, err = run_cli(["train", str(spam_csv), "--text-column", "text", "--label-column", "label",
                               "--model", str(model_dir), "--output", str(tmp_path / "more"), *TINY])
    assert code == 0, err
    assert "newly initialised" not in out + err  # the saved head is kept, not replaced


# ---------------------------------------------------------------------------
# the positive class, a trusted threshold, the same run twice
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_positive_label_makes_that_class_the_one_scored_and_thresholded(spam_csv, tmp_path, monkeypatch, run_cli,
                                                                       tiny):
    from course_utils import metrics as metrics_module

    monkeypatch.setattr(metrics_module, "MIN_THRESHOLD_POSITIVES", 1)  # 6 validation texts: tune anyway
    output = tmp_path / "ham-positive"
    code, out, err = run_cli(["train", str(spam_csv), "--text-column", "text", "--label-column", "label",
                               "--positive-label", "ham", "--output", str(output), *tiny])
    assert code == 0, err
    assert "Positive class: ham (its F1 is the score; chosen with --positive-label)" in out
    config = json.loads((output / "config.json").read_text())
    assert config["id2label"] == {"0": "ham", "1": "spam"}
    assert config["positive_label"] == "ham" and 0 < config["decision_threshold"] < 1
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["threshold"]["tuned"] is True and metrics["threshold"]["positive_label"] == "ham"
    assert "Baseline (TF-IDF + linear SVM): ham F1 " in out
    code, predicted, _ = run_cli(["predict", str(output), "see you at 6?"])
    assert code == 0 and "(ham when its probability is at least" in predicted
    assert "the threshold saved with the model" in predicted


@pytest.mark.parametrize("label, fragment", [("fake", "is not one of the labels"),
                                             ("java", "is for two classes")])
def test_positive_label_is_checked_before_training(label, fragment, spam_csv, titles_csv, tmp_path, monkeypatch, run_cli):
    monkeypatch.chdir(tmp_path)
    csv, text, tag = (spam_csv, "text", "label") if label == "fake" else (titles_csv, "title", "tag")
    if label == "java":
        label = pd.read_csv(titles_csv)["tag"].iloc[0]
    code, _, err = run_cli(["train", str(csv), "--text-column", text, "--label-column", tag,
                             "--positive-label", label])
    assert_one_error_line(code, err, "--positive-label", fragment)
    assert listing(tmp_path) == set()


@pytest.mark.slow
def test_same_seed_same_metrics(spam_run, spam_csv, tmp_path, run_cli, tiny):
    """The new classifier head is drawn after seeding: two runs of one command agree to the last digit."""
    output, _, _ = spam_run
    again = tmp_path / "again"
    code, _, err = run_cli(["train", str(spam_csv), "--text-column", "text", "--label-column", "label",
                             "--output", str(again), *tiny])
    assert code == 0, err
    first, second = (json.loads((folder / "metrics.json").read_text()) for folder in (output, again))
    for record in (first, second):
        record.pop("train_seconds")
    assert first == second


def test_a_model_that_has_not_learned_is_called_out():
    from types import SimpleNamespace

    stuck = SimpleNamespace(per_epoch=pd.DataFrame({"epoch": [1, 2], "val_loss": [1.097, 1.088]}))  # ln 3 = 1.099
    warning = cli._learning_warning(stuck, 3)
    assert warning.startswith("Warning: the model has not learned") and "ln 3 = 1.099" in warning
    learned = SimpleNamespace(per_epoch=pd.DataFrame({"epoch": [1, 2], "val_loss": [0.9, 0.4]}))
    assert cli._learning_warning(learned, 3) is None


def test_the_report_fills_the_weighted_row_as_scikit_learn_does():
    from sklearn.metrics import precision_recall_fscore_support

    y_true, y_pred = [0, 0, 0, 1, 1, 2, 2, 2, 2], [0, 1, 0, 1, 1, 2, 0, 2, 1]
    scores = cli._score_predictions(y_true, y_pred, ("a", "b", "c"))
    precision, recall, f1, _ = precision_recall_fscore_support(y_true, y_pred, average="weighted", zero_division=0)
    assert (scores["weighted_precision"], scores["weighted_recall"], scores["weighted_f1"]) == \
        pytest.approx((precision, recall, f1))
    weighted_row = cli._metrics_table(scores).splitlines()[-1].split()
    assert weighted_row[:2] == ["weighted", "avg"] and len(weighted_row) == 6  # precision, recall, F1, support


@pytest.mark.parametrize("difference, low, high, verdict", [
    (0.03, 0.01, 0.05, "The fine-tuned model beats the baseline."),
    (0.01, -0.02, 0.04, "Ahead, but the test set cannot tell them apart"),
    (-0.01, -0.05, 0.03, "did NOT beat the baseline on this test set"),
    (-0.04, -0.07, -0.01, "The baseline is better on this data"),
])
def test_the_baseline_verdict_follows_the_interval(difference, low, high, verdict):
    comparison = {"fine_tuned": 0.9 + difference, "baseline": 0.9, "difference": difference,
                  "difference_low": low, "difference_high": high}
    line = cli._comparison_line(comparison, "f1", ("ham", "spam"))
    assert line.startswith("Baseline (TF-IDF + linear SVM): spam F1 0.900; fine-tuned: spam F1 ")
    assert verdict in line
