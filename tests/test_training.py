"""course_utils.training: real tiny runs on real SMS messages.

The model is the session's tiny BERT (``tiny_model_dir`` in conftest.py: 2 layers, hidden size 32,
random weights, the packaged tokenizer) with a new classification head, loaded as the packaged model
is: these tests prove the mechanics (steps, schedule, best epoch, seeds, fp16, the recipe), not what
the real model reaches, which the notebooks check by fine-tuning it. The tests that train are in the
slow tier; the unit tier keeps the loader, prediction, evaluation and the refusals here, and
tests/test_guards.py trains tiny models built in place.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from course_utils import training
from course_utils.corpora import load_splits
from course_utils.data import subsample
from course_utils.errors import CourseError
from course_utils.models import load_classifier, load_tokenizer
from course_utils.batches import make_loader, padding_efficiency
from course_utils.prediction import evaluate, predict_proba
from course_utils.training import set_seed, train, TrainResult

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
def base(tiny_model_dir):
    set_seed(42)
    return load_classifier(str(tiny_model_dir), label_names=("ham", "spam"), verbose=False)


@pytest.fixture
def model(base):
    return copy.deepcopy(base[0])


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("packaged")  # the packaged model's tokenizer, without loading the model


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


# --- training -----------------------------------------------------------------------


@pytest.mark.slow
def test_history_and_epochs(model, tokenizer, train_df, val_df):
    before = state_copy(model)
    result = quiet_train(model, tokenizer, train_df, val_df, epochs=2, batch_size=16, lr=5e-5)
    assert not same_weights(before, state_copy(model))
    assert list(result.history.columns) == ["step", "epoch", "train_loss", "lr"]
    assert result.history["step"].tolist() == list(range(1, 7))  # 48 messages / 16 = 3 steps per epoch
    assert result.history["epoch"].tolist() == [1, 1, 1, 2, 2, 2]
    lrs = result.history["lr"].to_numpy()
    assert lrs.max() <= 5e-5 and lrs[-1] < lrs.max()  # warmup then linear decay
    assert list(result.per_epoch.columns) == ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                                           "val_macro_f1", "val_weighted_f1", "val_precision", "val_recall",
                                           "val_f1", "seconds", "samples_per_s"]
    assert result.select_metric == "f1" and result.best_value == result.per_epoch["val_f1"].max()
    # the rate logged for a step is the one it used: 6 steps, no warmup step, so step 1 runs at the full
    # 5e-5 and each later step 1/6 lower (logging after scheduler.step() would show step 2's rate first)
    np.testing.assert_allclose(lrs, [5e-5 * (6 - k) / 6 for k in range(6)])
    assert result.per_epoch["epoch"].tolist() == [1, 2]
    assert result.best_epoch in (1, 2)
    assert 0 < result.padding_efficiency <= 1 and result.samples_per_second > 0
    assert not model.training  # left in eval mode
    # the model holds the best epoch's weights: evaluating it again gives that epoch's scores
    best = result.per_epoch.iloc[result.best_epoch - 1]
    again = evaluate(model, tokenizer, val_df, device=CPU)
    assert again["f1"] == pytest.approx(best["val_f1"])
    assert again["loss"] == pytest.approx(best["val_loss"], abs=1e-4)


@pytest.mark.slow
def test_best_weights_are_restored_and_patience_stops(model, tokenizer, tiny_df, val_df, monkeypatch):
    real_validate = training._validate
    snapshots, scripted = [], iter([(0.9, 0.30), (0.5, 0.40), (0.6, 0.50)])  # (f1, loss) per epoch

    def scripted_scores(run):
        snapshots.append(state_copy(run.raw_model))
        scores = real_validate(run)
        scores["val_f1"], scores["val_loss"] = next(scripted)
        return scores

    monkeypatch.setattr(training, "_validate", scripted_scores)
    result = quiet_train(model, tokenizer, tiny_df, val_df, epochs=3, early_stopping_patience=2)
    assert len(result.per_epoch) == 3 and result.best_epoch == 1
    assert same_weights(state_copy(model), snapshots[0])
    assert not same_weights(snapshots[0], snapshots[2])

    snapshots.clear()
    scripted = iter([(0.9, 0.30), (0.5, 0.40), (0.6, 0.50)])
    result = quiet_train(model, tokenizer, tiny_df, val_df, epochs=3, early_stopping_patience=1)
    assert result.per_epoch["epoch"].tolist() == [1, 2]  # stopped: epoch 2's loss was not lower

    snapshots.clear()
    scripted = iter([(0.9, 0.30), (0.5, 0.40)])
    quiet_train(model, tokenizer, tiny_df, val_df, epochs=2, keep_best=False)
    assert same_weights(state_copy(model), snapshots[1])


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_the_caller_names_the_metric_that_picks_the_best_epoch(model, tokenizer, tiny_df, val_df):
    result = quiet_train(model, tokenizer, tiny_df, val_df, epochs=2, select_metric="accuracy")
    assert result.select_metric == "accuracy"
    assert result.best_value == result.per_epoch["val_accuracy"].max()
    with pytest.raises(CourseError, match="select_metric must be one of"):
        quiet_train(model, tokenizer, tiny_df, val_df, epochs=1, select_metric="auc")


def test_positive_class_f1_is_refused_for_more_than_two_classes(tokenizer, tiny_df, val_df, tiny_model_dir):
    set_seed(0)
    three, _ = load_classifier(str(tiny_model_dir), label_names=("a", "b", "c"), verbose=False)
    frame = tiny_df.assign(label_id=np.arange(len(tiny_df)) % 3)
    frame["label"] = frame["label_id"].map({0: "a", 1: "b", 2: "c"})
    with pytest.raises(CourseError, match="select_metric='f1' is the positive class's F1, a two-class score"):
        quiet_train(three, tokenizer, frame, None, epochs=1, select_metric="f1")
    with pytest.raises(CourseError, match="decides between two classes"):
        evaluate(three, tokenizer, frame, device=CPU, threshold=0.5)


# --- the learning-rate range test (notebook 05) ---------------------------------------------------


@pytest.mark.slow
def test_find_learning_rate_draws_a_rising_rate_and_leaves_the_model_as_it_was(model, tokenizer, train_df):
    before = state_copy(model)
    search = training.find_learning_rate(model, tokenizer, train_df, steps=12, batch_size=8, max_length=32,
                                         start_lr=1e-6, end_lr=1.0, device=CPU)
    assert same_weights(before, state_copy(model))  # the range test trains a while, then puts the weights back
    rates = search.curve["lr"].to_numpy()
    assert rates[0] == pytest.approx(1e-6) and np.all(np.diff(rates) > 0)
    assert np.allclose(rates[1:] / rates[:-1], rates[1] / rates[0])  # exponential: a constant factor per step
    assert search.suggested == pytest.approx(search.lowest_loss_lr / 10)
    assert search.lowest_loss_lr in set(rates)
    assert {"step", "lr", "loss", "smoothed"} <= set(search.curve.columns)


def test_find_learning_rate_refuses_bad_ranges(model, tokenizer, train_df):
    with pytest.raises(CourseError, match="start_lr"):
        training.find_learning_rate(model, tokenizer, train_df, start_lr=1e-2, end_lr=1e-4)
    with pytest.raises(CourseError, match="too few"):
        training.find_learning_rate(model, tokenizer, train_df, steps=3)


# --- fp16 with a gradient scaler, on the CPU (the T4's path) ------------------------------------


def cpu_accelerator(mixed_precision="no", init_scale=2.0**16):
    """An Accelerator on the CPU; with "fp16" it runs accelerate's fp16 path (autocast and a gradient
    scaler) as on a T4, which accelerate itself offers only on a GPU."""
    import accelerate
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    accelerator = accelerate.Accelerator(cpu=True, mixed_precision=mixed_precision,
                                         dataloader_config=accelerate.DataLoaderConfiguration(split_batches=True))
    if mixed_precision == "fp16":
        accelerator.native_amp = True
        accelerator.scaler = torch.amp.GradScaler("cpu", init_scale=init_scale)
    return accelerator


def _one_step(model, batch, accelerator, optimizer, max_grad_norm=1.0):
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    prepared, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    run = SimpleNamespace(settings=training.TrainSettings(lr=0.1, max_grad_norm=max_grad_norm), accelerator=accelerator,
                          model=prepared, raw_model=model, optimizer=optimizer, scheduler=scheduler, weights=None)
    return training._train_step(run, batch, step=1, epoch=1)


@pytest.fixture
def fp16_batch(tokenizer, tiny_df):
    return next(iter(make_loader(tokenizer, tiny_df, batch_size=8, max_length=32)))


def test_fp16_step_with_overflowing_gradients_is_skipped(model, fp16_batch):
    before = state_copy(model)
    accelerator = cpu_accelerator("fp16", init_scale=2.0**127)  # the scaled gradients overflow
    _one_step(model, fp16_batch, accelerator, torch.optim.SGD(model.parameters(), lr=0.1))
    assert accelerator.optimizer_step_was_skipped
    assert same_weights(before, state_copy(model))  # the step was skipped ...
    assert accelerator.scaler.get_scale() < 2.0**127  # ... and the scale lowered for the next one


@pytest.mark.slow
def test_fp16_clipping_sees_unscaled_gradients_and_matches_full_precision(base, fp16_batch):
    norms = []

    def recording(clip):
        def recording_clip(parameters, max_norm, *args, **kwargs):
            norm = clip(parameters, max_norm, *args, **kwargs)
            norms.append(float(norm))
            return norm
        return recording_clip

    models, deltas = {}, {}
    for name, precision in (("fp32", "no"), ("fp16", "fp16")):
        models[name] = copy.deepcopy(base[0])
        start = {key: value.detach().clone() for key, value in models[name].named_parameters()}
        accelerator = cpu_accelerator(precision)
        accelerator.clip_grad_norm_ = recording(accelerator.clip_grad_norm_)
        _one_step(models[name], fp16_batch, accelerator,
                  torch.optim.SGD(models[name].parameters(), lr=0.1), max_grad_norm=1e9)  # compare the raw step
        deltas[name] = torch.cat([(value.detach() - start[key]).flatten()
                                  for key, value in models[name].named_parameters()])
    fp32_norm, fp16_norm = norms
    assert fp16_norm == pytest.approx(fp32_norm, rel=0.05)  # unscaled: not 65,536 times larger
    cosine = torch.nn.functional.cosine_similarity(deltas["fp16"], deltas["fp32"], dim=0)
    assert float(cosine) > 0.99
    assert float(deltas["fp16"].norm() / deltas["fp32"].norm()) == pytest.approx(1.0, rel=0.05)


@pytest.mark.slow
def test_train_runs_in_fp16_on_the_cpu(model, tokenizer, tiny_df):
    result = quiet_train(model, tokenizer, tiny_df, epochs=1, batch_size=8, max_length=32,
                         accelerator=cpu_accelerator("fp16"))
    assert np.isfinite(result.per_epoch["train_loss"]).all()


# --- the recipe of the model's family -------------------------------------------------------


def test_the_head_gets_its_own_rate(model):
    optimizer = training._make_optimizer(model, 1e-4, head_lr_multiplier=10)
    rate_of = {id(parameter): group["lr"] for group in optimizer.param_groups for parameter in group["params"]}
    named = dict(model.named_parameters())
    assert rate_of[id(named["classifier.weight"])] == pytest.approx(1e-3)
    assert rate_of[id(named["bert.pooler.dense.weight"])] == pytest.approx(1e-3)
    assert rate_of[id(named["bert.encoder.layer.0.attention.self.query.weight"])] == pytest.approx(1e-4)
    assert len(rate_of) == len(named)  # every parameter is in exactly one group
    with pytest.raises(CourseError, match="head_lr_multiplier must be above 0"):
        training.TrainSettings(head_lr_multiplier=0)  # the settings are the one place values are checked


@pytest.mark.slow
def test_train_uses_the_models_recipe_when_not_told(model, tokenizer, tiny_df):
    from course_utils.settings import _PACKAGED_RECIPE as PACKAGED_RECIPE, Recipe

    assert Recipe.for_model(model) is PACKAGED_RECIPE  # 2 layers (6 or fewer): the small model's recipe
    result = quiet_train(model, tokenizer, tiny_df, batch_size=8, max_length=32)
    assert result.per_epoch["epoch"].max() == PACKAGED_RECIPE.epochs
    assert result.history["lr"].max() == pytest.approx(PACKAGED_RECIPE.lr, rel=0.01)
