"""course_utils.training: real tiny runs of the packaged model on real SMS messages."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch

from course_utils import training
from course_utils.data import load_splits, subsample
from course_utils.errors import CourseError
from course_utils.models import load_classifier
from course_utils.training import (
    TrainResult,
    evaluate,
    make_loader,
    padding_efficiency,
    predict_proba,
    set_seed,
    train,
)

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def splits():
    return load_splits()


@pytest.fixture(scope="module")
def train_df(splits):
    return subsample(splits.train, 48, seed=1)


@pytest.fixture(scope="module")
def tiny_df(splits):
    return subsample(splits.train, 16, seed=2)


@pytest.fixture(scope="module")
def val_df(splits):
    return subsample(splits.val, 32, seed=1)


@pytest.fixture(scope="module")
def base():
    set_seed(42)
    return load_classifier(label_names=("ham", "spam"), verbose=False)


@pytest.fixture
def model(base):
    return copy.deepcopy(base[0])


@pytest.fixture(scope="module")
def tokenizer(base):
    return base[1]


def state_copy(model) -> dict[str, torch.Tensor]:
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def same_weights(a: dict, b: dict) -> bool:
    return all(torch.equal(a[key], b[key]) for key in a)


def quiet_train(model, tokenizer, train_df, val_df=None, **kwargs) -> TrainResult:
    kwargs.setdefault("device", CPU)
    kwargs.setdefault("progress", False)
    return train(model, tokenizer, train_df, val_df, **kwargs)


# --- the loader -------------------------------------------------------------------


def test_loader_pads_each_batch_to_its_longest_message(tokenizer, splits):
    frame = splits.train.head(64)
    loader = make_loader(tokenizer, frame, batch_size=8, shuffle=True, group_by_length=False)
    lengths = [len(ids) for ids in tokenizer(frame["text"].tolist(), truncation=True, max_length=128)["input_ids"]]
    widths, seen = set(), []
    for indices, batch in zip(list(loader.batch_sampler), loader):
        assert set(batch) == {"input_ids", "attention_mask", "token_type_ids", "labels"}
        assert batch["input_ids"].shape[1] == max(lengths[i] for i in indices)
        assert batch["attention_mask"].sum(dim=1).tolist() == [lengths[i] for i in indices]
        assert batch["labels"].tolist() == frame["label_id"].iloc[indices].tolist()
        widths.add(batch["input_ids"].shape[1])
        seen.extend(indices)
    assert sorted(seen) == list(range(64))  # every message once
    assert len(widths) > 1  # not padded to one global length


def test_length_grouping_wastes_less_padding(tokenizer, splits):
    frame = splits.train.head(400)
    grouped = make_loader(tokenizer, frame, batch_size=16, shuffle=True, group_by_length=True)
    mixed = make_loader(tokenizer, frame, batch_size=16, shuffle=True, group_by_length=False)
    assert padding_efficiency(grouped) > padding_efficiency(mixed) + 0.2
    first_epoch = list(grouped.batch_sampler)
    grouped.batch_sampler.set_epoch(1)
    assert list(grouped.batch_sampler) != first_epoch  # reshuffled each epoch


def test_predict_proba_keeps_the_order_given(model, tokenizer, splits):
    texts = splits.test["text"].head(20).tolist()
    probs = predict_proba(model, tokenizer, texts, batch_size=8, device=CPU)
    assert probs.shape == (20, 2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    reversed_probs = predict_proba(model, tokenizer, texts[::-1], batch_size=8, device=CPU)
    np.testing.assert_allclose(reversed_probs[::-1], probs, atol=1e-5)
    model.eval()
    for index in (0, 7, 19):  # one message alone, no padding at all
        with torch.no_grad():
            logits = model(**tokenizer(texts[index], return_tensors="pt")).logits
        np.testing.assert_allclose(torch.softmax(logits, dim=1)[0].numpy(), probs[index], atol=1e-4)


# --- checks before any weight changes -------------------------------------------


def test_missing_labels_fail_before_training(model, tokenizer, train_df):
    before = state_copy(model)
    with pytest.raises(CourseError, match="label_id"):
        quiet_train(model, tokenizer, train_df.drop(columns=["label_id"]))
    batches = [{"input_ids": b["input_ids"], "attention_mask": b["attention_mask"], "label": b["labels"]}
               for b in make_loader(tokenizer, train_df, batch_size=16)]
    with pytest.raises(CourseError, match="'label'.*rename 'label' to 'labels'"):
        quiet_train(model, tokenizer, batches)
    assert same_weights(before, state_copy(model))


def test_out_of_range_labels_fail_before_training(model, tokenizer, train_df):
    before = state_copy(model)
    bad = train_df.copy()
    bad.loc[bad.index[-1], "label_id"] = 2
    with pytest.raises(CourseError, match=r"values \[2\] outside 0\.\.1"):
        quiet_train(model, tokenizer, bad)
    assert same_weights(before, state_copy(model))
    with pytest.raises(CourseError, match=r"\[-1\]"):
        quiet_train(model, tokenizer, train_df.assign(label_id=-1))


def test_one_output_head_is_refused(tokenizer, train_df):
    regression, _ = load_classifier(num_labels=1, verbose=False)
    with pytest.raises(CourseError, match="regression"):
        quiet_train(regression, tokenizer, train_df)


# --- training -----------------------------------------------------------------------


def test_history_and_epochs(model, tokenizer, train_df, val_df):
    before = state_copy(model)
    result = quiet_train(model, tokenizer, train_df, val_df, epochs=2, batch_size=16)
    assert not same_weights(before, state_copy(model))
    assert list(result.history.columns) == ["step", "epoch", "train_loss", "lr"]
    assert result.history["step"].tolist() == list(range(1, 7))  # 48 messages / 16 = 3 steps per epoch
    assert result.history["epoch"].tolist() == [1, 1, 1, 2, 2, 2]
    lrs = result.history["lr"].to_numpy()
    assert lrs.max() <= 5e-5 and lrs[-1] < lrs.max()  # warmup then linear decay
    assert list(result.epochs.columns) == ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                                           "val_macro_f1", "val_weighted_f1", "val_precision", "val_recall",
                                           "val_f1", "seconds", "samples_per_s"]
    assert result.select_metric == "f1" and result.best_value == result.epochs["val_f1"].max()
    # the rate logged for a step is the one it used: 6 steps, no warmup step, so step 1 runs at the full
    # 5e-5 and each later step 1/6 lower (logging after scheduler.step() would show step 2's rate first)
    np.testing.assert_allclose(lrs, [5e-5 * (6 - k) / 6 for k in range(6)])
    assert result.epochs["epoch"].tolist() == [1, 2]
    assert result.best_epoch in (1, 2)
    assert 0 < result.padding_efficiency <= 1 and result.samples_per_second > 0
    assert not model.training  # left in eval mode
    # the model holds the best epoch's weights: evaluating it again gives that epoch's scores
    best = result.epochs.iloc[result.best_epoch - 1]
    again = evaluate(model, tokenizer, val_df, device=CPU)
    assert again["f1"] == pytest.approx(best["val_f1"])
    assert again["loss"] == pytest.approx(best["val_loss"], abs=1e-4)


def test_best_weights_are_restored_and_patience_stops(model, tokenizer, tiny_df, val_df, monkeypatch):
    real_evaluate = training._evaluate_loader
    snapshots, scripted = [], iter([(0.9, 0.30), (0.5, 0.40), (0.6, 0.50)])  # (f1, loss) per epoch

    def scripted_scores(model, loader, device, amp_dtype=None, threshold=None, positive=1):
        snapshots.append(state_copy(model))
        scores = real_evaluate(model, loader, device, amp_dtype, threshold, positive)
        scores["f1"], scores["loss"] = next(scripted)
        return scores

    monkeypatch.setattr(training, "_evaluate_loader", scripted_scores)
    result = quiet_train(model, tokenizer, tiny_df, val_df, epochs=3, early_stopping_patience=2)
    assert len(result.epochs) == 3 and result.best_epoch == 1
    assert same_weights(state_copy(model), snapshots[0])
    assert not same_weights(snapshots[0], snapshots[2])

    snapshots.clear()
    scripted = iter([(0.9, 0.30), (0.5, 0.40), (0.6, 0.50)])
    result = quiet_train(model, tokenizer, tiny_df, val_df, epochs=3, early_stopping_patience=1)
    assert result.epochs["epoch"].tolist() == [1, 2]  # stopped: epoch 2's loss was not lower

    snapshots.clear()
    scripted = iter([(0.9, 0.30), (0.5, 0.40)])
    quiet_train(model, tokenizer, tiny_df, val_df, epochs=2, keep_best=False)
    assert same_weights(state_copy(model), snapshots[1])


def test_class_weights_change_the_loss(base, tokenizer, tiny_df):
    losses = {}
    for name, weights in (("none", None), ("equal", [1.0, 1.0]), ("spam x8", [1.0, 8.0])):
        model = copy.deepcopy(base[0])
        result = quiet_train(model, tokenizer, tiny_df, epochs=1, batch_size=8, class_weights=weights)
        losses[name] = result.history["train_loss"]
    np.testing.assert_allclose(losses["equal"], losses["none"], rtol=1e-4)
    assert not np.allclose(losses["spam x8"], losses["none"], rtol=1e-2)
    with pytest.raises(CourseError, match="class_weights"):
        quiet_train(copy.deepcopy(base[0]), tokenizer, tiny_df, class_weights=[1.0])


def test_same_seed_same_run(base, tokenizer, tiny_df):
    set_seed(7)
    first = torch.rand(3)
    set_seed(7)
    assert torch.equal(first, torch.rand(3))
    runs = [quiet_train(copy.deepcopy(base[0]), tokenizer, tiny_df, epochs=1, batch_size=8, seed=3).history for _ in range(2)]
    pd.testing.assert_frame_equal(runs[0], runs[1])
    other = quiet_train(copy.deepcopy(base[0]), tokenizer, tiny_df, epochs=1, batch_size=8, seed=4).history
    assert not np.allclose(other["train_loss"], runs[0]["train_loss"])


# --- evaluation ---------------------------------------------------------------------


def test_evaluate_threshold_moves_predictions(model, tokenizer, val_df):
    argmax = evaluate(model, tokenizer, val_df, device=CPU)
    assert set(argmax) == {"loss", "accuracy", "macro_f1", "weighted_f1", "precision", "recall", "f1"}
    everything_spam = evaluate(model, tokenizer, val_df, device=CPU, threshold=0.0)
    assert everything_spam["recall"] == 1.0
    assert everything_spam["accuracy"] == pytest.approx((val_df["label_id"] == 1).mean())
    with pytest.raises(CourseError, match="threshold"):
        evaluate(model, tokenizer, val_df, device=CPU, threshold=1.5)


def test_the_caller_names_the_metric_that_picks_the_best_epoch(model, tokenizer, tiny_df, val_df):
    result = quiet_train(model, tokenizer, tiny_df, val_df, epochs=2, select_metric="accuracy")
    assert result.select_metric == "accuracy"
    assert result.best_value == result.epochs["val_accuracy"].max()
    with pytest.raises(CourseError, match="select_metric must be one of"):
        quiet_train(model, tokenizer, tiny_df, val_df, epochs=1, select_metric="auc")


def test_positive_class_f1_is_refused_for_more_than_two_classes(tokenizer, tiny_df, val_df):
    set_seed(0)
    three, _ = load_classifier(label_names=("a", "b", "c"), verbose=False)
    frame = tiny_df.assign(label_id=np.arange(len(tiny_df)) % 3)
    frame["label"] = frame["label_id"].map({0: "a", 1: "b", 2: "c"})
    with pytest.raises(CourseError, match="select_metric='f1' is the positive class's F1, a two-class score"):
        quiet_train(three, tokenizer, frame, None, epochs=1, select_metric="f1")
    with pytest.raises(CourseError, match="threshold is a two-class idea"):
        evaluate(three, tokenizer, frame, device=CPU, threshold=0.5)
