"""Guard rails, faults and safety of course_utils.training and models (issue: classic mistakes).

Each guard is exercised on a tiny real BERT (random weights, the packaged tokenizer's
vocabulary) so the tests run in seconds; each asserts that no weight changed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from course_utils import batches, labels, models, prediction, training
from course_utils.corpora import LABEL_NAMES, load_splits
from course_utils.data import subsample
from course_utils.errors import CourseError
from course_utils.guards import check_batch
from course_utils.prediction import evaluate, predict_proba
from course_utils.training import train

ROOT = Path(__file__).resolve().parents[1]
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def tokenizer():
    return models.load_tokenizer("packaged")


def tiny_model(tokenizer, label_names=LABEL_NAMES, dropout: float = 0.1, positions: int = 64, seed: int = 0):
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=positions, hidden_dropout_prob=dropout,
                        attention_probs_dropout_prob=dropout, **labels.label_config(label_names))
    return BertForSequenceClassification(config)


@pytest.fixture(scope="module")
def sms_df():
    return subsample(load_splits().train, 40, seed=3)


def weights(model) -> dict[str, torch.Tensor]:
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def unchanged(model, before) -> bool:
    return all(torch.equal(before[key], value) for key, value in model.state_dict().items())


def quiet(model, tokenizer, train_df, val_df=None, **kwargs):
    kwargs.setdefault("device", CPU)
    kwargs.setdefault("progress", False)
    kwargs.setdefault("max_length", 32)
    kwargs.setdefault("batch_size", 8)
    kwargs.setdefault("epochs", 1)
    return train(model, tokenizer, train_df, val_df, **kwargs)


# --- labels -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("labels", "message"), [
    ([0, 1, -1, 1], r"\[-1\] outside 0\.\.1.*-1 usually marks rows without a label"),
    ([1, 2, 2, 1], r"\[2\] outside 0\.\.1.*run 1\.\.2, but class numbers start at 0"),
    ([0, 1, 5, 1], r"\[5\] outside 0\.\.1.*num_labels equal to the number of classes"),
])
def test_labels_outside_the_classes_are_refused_before_training(tokenizer, sms_df, labels, message):
    model = tiny_model(tokenizer)
    before = weights(model)
    frame = sms_df.head(4).assign(label_id=labels).drop(columns="label")
    with pytest.raises(CourseError, match=message):
        quiet(model, tokenizer, frame)
    assert unchanged(model, before)


def test_float_labels_are_refused(tokenizer, sms_df):
    model = tiny_model(tokenizer)
    before = weights(model)
    with pytest.raises(CourseError, match=r"holds floats.*integer class numbers.*multi-label"):
        quiet(model, tokenizer, sms_df.assign(label_id=sms_df["label_id"].astype(float)))
    with pytest.raises(CourseError, match="holds floats"):
        check_batch({"input_ids": torch.ones(2, 3, dtype=torch.long), "labels": torch.tensor([0.0, 1.0])}, 2)
    assert unchanged(model, before)


def test_a_frame_without_label_ids_is_refused(tokenizer, sms_df):
    model = tiny_model(tokenizer)
    before = weights(model)
    with pytest.raises(CourseError, match="label_id"):
        quiet(model, tokenizer, sms_df.drop(columns=["label_id"]))
    assert unchanged(model, before)


def test_num_labels_must_match_the_data(tokenizer, sms_df):
    three = tiny_model(tokenizer, label_names=("ham", "spam", "other"))
    before = weights(three)
    with pytest.raises(CourseError, match=r"num_labels=3 but train_df has no text of class\(es\) \['other'\]"):
        quiet(three, tokenizer, sms_df)
    assert unchanged(three, before)
    two = tiny_model(tokenizer)
    three_classes = sms_df.assign(label_id=np.arange(len(sms_df)) % 3).drop(columns="label")
    with pytest.raises(CourseError, match=r"\[2\] outside 0\.\.1: the model has num_labels=2"):
        quiet(two, tokenizer, three_classes)


def test_label_names_must_agree_with_the_model(tokenizer, sms_df):
    swapped = tiny_model(tokenizer, label_names=("spam", "ham"))
    with pytest.raises(CourseError, match=r"labelled '(ham|spam)' with label_id \d, but the model calls class"):
        quiet(swapped, tokenizer, sms_df)


def test_one_output_is_a_regression_not_a_classifier(tokenizer, sms_df):
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, num_labels=1)
    with pytest.raises(CourseError, match="num_labels=1.*regression"):
        quiet(BertForSequenceClassification(config), tokenizer, sms_df)


def test_batch_with_label_instead_of_labels(tokenizer, sms_df):
    model = tiny_model(tokenizer)
    before = weights(model)
    encoded = tokenizer(sms_df["text"].head(8).tolist(), padding=True, truncation=True, max_length=32,
                        return_tensors="pt")
    batches = [{**encoded, "label": torch.tensor(sms_df["label_id"].head(8).to_numpy())}]
    with pytest.raises(CourseError, match=r"no 'labels'.*Fix: rename 'label' to 'labels'"):
        quiet(model, tokenizer, batches)
    assert unchanged(model, before)


# --- texts and lengths ------------------------------------------------------------------------

@pytest.mark.parametrize(("bad_text", "message"), [
    ("", r"1 blank text \(row 2\)"),
    ("   ", r"1 blank text \(row 2\)"),
    (float("nan"), r"not text \(row 2; values like \[nan\]\)"),
    (42, r"not text \(row 2; values like \[42\]\)"),
])
def test_texts_that_are_empty_nan_or_not_strings(tokenizer, sms_df, bad_text, message):
    model = tiny_model(tokenizer)
    before = weights(model)
    frame = sms_df.head(6).copy()
    frame["text"] = frame["text"].astype(object)
    frame.loc[2, "text"] = bad_text
    with pytest.raises(CourseError, match=message):
        quiet(model, tokenizer, frame)
    assert unchanged(model, before)


def test_inputs_longer_than_the_model_positions(tokenizer, sms_df):
    model = tiny_model(tokenizer, positions=64)
    with pytest.raises(CourseError, match=r"max_length=128 is longer than the model's 64 positions"):
        quiet(model, tokenizer, sms_df, max_length=128)
    long_batch = {"input_ids": torch.ones(2, 100, dtype=torch.long), "labels": torch.tensor([0, 1])}
    with pytest.raises(CourseError, match=r"100 tokens per text but the model has only 64 positions.*truncation=True"):
        check_batch(long_batch, 2, max_positions=64)
    before = weights(model)
    with pytest.raises(CourseError, match="64 positions"):
        quiet(model, tokenizer, [{**long_batch, "attention_mask": torch.ones(2, 100, dtype=torch.long)}])
    assert unchanged(model, before)


def test_long_texts_are_truncated_and_counted(tokenizer, sms_df):
    frame = sms_df.head(8).copy()
    frame.loc[0, "text"] = "word " * 200
    full_lengths = [len(ids) for ids in tokenizer(frame["text"].tolist())["input_ids"]]
    loader = batches.make_loader(tokenizer, frame, max_length=32)
    assert loader.dataset.truncated == sum(length > 32 for length in full_lengths) >= 1
    assert loader.dataset.lengths == [min(length, 32) for length in full_lengths]


# --- evaluation mode, precision ---------------------------------------------------------------

def test_evaluation_turns_dropout_off(tokenizer, sms_df):
    model = tiny_model(tokenizer, dropout=0.5)
    batch = tokenizer(sms_df["text"].head(8).tolist(), padding=True, return_tensors="pt")
    model.train()
    with torch.no_grad():
        noisy = [model(**batch).logits for _ in range(2)]
    assert not torch.allclose(*noisy)  # in train mode, dropout makes every call differ
    model.train()
    first = evaluate(model, tokenizer, sms_df, device=CPU, max_length=32)
    model.train()
    second = evaluate(model, tokenizer, sms_df, device=CPU, max_length=32)
    assert first == second and not model.training
    model.train()
    np.testing.assert_array_equal(predict_proba(model, tokenizer, sms_df["text"], device=CPU, max_length=32),
                                  predict_proba(model, tokenizer, sms_df["text"], device=CPU, max_length=32))


def test_bf16_where_the_hardware_lacks_it(tokenizer, sms_df, monkeypatch):
    from course_utils import device as device_mod

    monkeypatch.setattr(device_mod, "cpu_has_native_bf16", lambda cpuinfo=None: False)  # a CPU without bf16
    model = tiny_model(tokenizer)
    before = weights(model)
    with pytest.raises(CourseError, match=r"mixed_precision='bf16' needs bf16 in hardware.*this device is cpu"):
        quiet(model, tokenizer, sms_df, mixed_precision="bf16")
    with pytest.raises(CourseError, match="fp16' needs a CUDA GPU"):
        quiet(model, tokenizer, sms_df, mixed_precision="fp16", device="mps")  # Apple GPUs: no fp16 autocast path
    assert unchanged(model, before)


# --- checkpoints whose encoder is new --------------------------------------------------------

def test_a_checkpoint_without_its_encoder_is_refused(tokenizer, tmp_path):
    from safetensors.torch import load_file, save_file

    model = tiny_model(tokenizer)
    with models.quiet_transformers():
        model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    weights_file = tmp_path / "model.safetensors"
    kept = {key: value for key, value in load_file(str(weights_file)).items() if ".encoder." not in key}
    save_file(kept, str(weights_file), metadata={"format": "pt"})
    with pytest.raises(CourseError, match=r"left \d+ weights of the encoder newly initialised"):
        models.load_classifier(str(tmp_path), label_names=LABEL_NAMES, verbose=False)
    # the intact folder loads: only the head may be new, and here nothing is
    with models.quiet_transformers():
        model.save_pretrained(tmp_path / "whole")
    tokenizer.save_pretrained(tmp_path / "whole")
    reloaded, _ = models.load_classifier(str(tmp_path / "whole"), label_names=LABEL_NAMES, verbose=False)
    assert torch.equal(reloaded.classifier.weight, model.classifier.weight)


# --- faults -----------------------------------------------------------------------------------

def test_a_nan_loss_stops_training_with_a_hint(tokenizer, sms_df, monkeypatch):
    model = tiny_model(tokenizer)
    real_forward = model.forward
    calls = {"n": 0}

    def forward(*args, **kwargs):
        calls["n"] += 1
        outputs = real_forward(*args, **kwargs)
        if calls["n"] == 3:
            outputs.loss = outputs.loss * float("nan")
        return outputs

    monkeypatch.setattr(model, "forward", forward)
    snapshots = []
    real_step = training._train_step

    def recording_step(*args, **kwargs):
        snapshots.append(weights(model))
        return real_step(*args, **kwargs)

    monkeypatch.setattr(training, "_train_step", recording_step)
    with pytest.raises(CourseError, match=r"loss became nan at step 3 \(epoch 1\).*lower the learning rate"):
        quiet(model, tokenizer, sms_df, lr=1e-3)
    assert unchanged(model, snapshots[2])  # the bad step changed nothing


def test_out_of_memory_names_the_batch(tokenizer, sms_df, monkeypatch):
    model = tiny_model(tokenizer)

    def exhausted(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(model, "forward", exhausted)
    with pytest.raises(CourseError, match=r"ran out of memory at step 1 \(epoch 1\) with batch_size=8 and texts of "
                                          r"\d+ tokens. Fix: halve batch_size"):
        quiet(model, tokenizer, sms_df)


def test_same_seed_same_losses_and_metrics(tokenizer, sms_df):
    runs = []
    for _ in range(2):
        model = tiny_model(tokenizer, seed=5)
        result = quiet(model, tokenizer, sms_df, sms_df.head(16), epochs=2, seed=11)
        runs.append((result.history, result.per_epoch.drop(columns=["seconds", "samples_per_s"]), weights(model)))
    pd.testing.assert_frame_equal(runs[0][0], runs[1][0])
    pd.testing.assert_frame_equal(runs[0][1], runs[1][1])
    assert all(torch.equal(runs[0][2][key], runs[1][2][key]) for key in runs[0][2])


class Interrupted(KeyboardInterrupt):
    pass


def test_an_interrupted_run_resumes_to_the_same_weights(tokenizer, sms_df, tmp_path, monkeypatch):
    val_df = sms_df.head(16)
    settings = dict(epochs=3, seed=7, lr=5e-4)
    reference = tiny_model(tokenizer, seed=1)
    expected = quiet(reference, tokenizer, sms_df, val_df, checkpoint_dir=tmp_path / "whole", **settings)

    interrupted = tiny_model(tokenizer, seed=1)
    real_step, steps = training._train_step, {"n": 0}

    def step_then_stop(*args, **kwargs):
        steps["n"] += 1
        if steps["n"] == 8:  # in epoch 2 (5 steps per epoch)
            raise Interrupted
        return real_step(*args, **kwargs)

    monkeypatch.setattr(training, "_train_step", step_then_stop)
    with pytest.raises(Interrupted):
        quiet(interrupted, tokenizer, sms_df, val_df, checkpoint_dir=tmp_path / "run", **settings)
    monkeypatch.setattr(training, "_train_step", real_step)
    saved = tmp_path / "run" / "last"
    assert sorted(path.name for path in saved.iterdir()) == ["optimizer.bin", "pytorch_model.bin", "random_states_0.pkl",
                                                             "scheduler.bin", "state.json"]  # accelerate's save_state
    assert not [path for path in (tmp_path / "run").iterdir() if path.name.startswith(".")]  # no staging folder

    resumed_model = tiny_model(tokenizer, seed=99)  # a fresh object: everything comes from the checkpoint
    resumed = quiet(resumed_model, tokenizer, sms_df, val_df, checkpoint_dir=tmp_path / "run", **settings)
    assert resumed.resumed_from == 1
    assert resumed.best_epoch == expected.best_epoch
    pd.testing.assert_frame_equal(resumed.history, expected.history)
    columns = [column for column in expected.per_epoch.columns if column not in ("seconds", "samples_per_s")]
    pd.testing.assert_frame_equal(resumed.per_epoch[columns], expected.per_epoch[columns])
    reference_weights = weights(reference)
    assert all(torch.equal(reference_weights[key], value) for key, value in weights(resumed_model).items())

    with pytest.raises(CourseError, match=r"made with other settings \(lr differ\).*another checkpoint_dir"):
        quiet(tiny_model(tokenizer), tokenizer, sms_df, val_df, checkpoint_dir=tmp_path / "run", **{**settings, "lr": 1e-4})


# --- saving with names and threshold ------------------------------------------------------------

def test_saved_model_keeps_names_and_threshold_and_the_pipeline_prints_names(tokenizer, tmp_path):
    from transformers import pipeline

    model = tiny_model(tokenizer)
    folder = models.save_classifier(model, tokenizer, tmp_path / "filter", threshold=0.73)
    with pytest.raises(CourseError, match="already exists.*overwrite=True"):
        models.save_classifier(model, tokenizer, folder)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["filter"]  # no staging folder left
    reloaded, reloaded_tokenizer = models.load_finetuned(folder)
    assert reloaded.config.id2label == {0: "ham", 1: "spam"}
    assert models.saved_threshold(reloaded) == pytest.approx(0.73)
    assert reloaded.config.positive_label == "spam"
    with models.quiet_transformers():
        classify = pipeline("text-classification", model=str(folder), device=-1)
    predicted = classify(["free prize now", "see you at five"])
    assert {item["label"] for item in predicted} <= {"ham", "spam"}
    named = prediction.predict_labels(reloaded, reloaded_tokenizer, ["free prize now"], threshold=0.0, device=CPU,
                                    max_length=32)
    assert named["label"].tolist() == ["spam"]


def test_label_config_requires_names(tokenizer):
    with pytest.raises(CourseError, match="label_names="):
        labels.label_config()
    assert labels.label_config(("a", "b", "c"))["id2label"] == {0: "a", 1: "b", 2: "c"}
    with pytest.raises(CourseError, match="num_labels=2 does not match the 3 label_names"):
        labels.label_config(("a", "b", "c"), num_labels=2)


# --- expected errors in notebooks: one line, and Run All carries on -----------------------------


def test_expect_error_prints_one_line_and_carries_on(capsys):
    from course_utils.errors import expect_error

    with expect_error(CourseError):
        raise CourseError("Model folder x does not exist.\n Fix: check the path.")
    assert capsys.readouterr().out == "CourseError: Model folder x does not exist. Fix: check the path.\n"
    with expect_error():
        {}["missing"]
    assert capsys.readouterr().out == "KeyError: 'missing'\n"


def test_expect_error_fails_loudly_when_the_lesson_does_not_happen():
    from course_utils.errors import expect_error

    with pytest.raises(AssertionError, match="expected CourseError here"):
        with expect_error(CourseError):
            pass
    with pytest.raises(ValueError):  # another kind of error is not swallowed
        with expect_error(CourseError):
            raise ValueError("a different problem")


def test_no_notebook_relies_on_the_raises_exception_tag():
    """Colab, VS Code and plain nbconvert ignore cell tags: an expected error must not stop Run All."""
    import nbformat

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        tagged = [index for index, cell in enumerate(notebook.cells)
                  if "raises-exception" in cell.get("metadata", {}).get("tags", [])]
        assert not tagged, f"{path.name}: cells {tagged} rely on the raises-exception tag; use expect_error"
