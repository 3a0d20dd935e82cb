"""courseware.model_store: a model is trained once per key, reused after, retrained when anything in the key changes."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from courseware import model_store


@pytest.fixture(scope="module")
def tokenizer():
    from course_utils.models import load_tokenizer

    return load_tokenizer("packaged")


def tiny_model(tokenizer, seed: int = 0):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=37, max_position_embeddings=128, num_labels=2)
    return BertForSequenceClassification(config)


@pytest.fixture
def frames():
    texts = [f"win a free prize number {i} now" for i in range(12)] + [f"see you at {i} for lunch" for i in range(12)]
    frame = pd.DataFrame({"text": texts, "label_id": [1] * 12 + [0] * 12})
    return frame.iloc[::2].reset_index(drop=True), frame.iloc[1::2].reset_index(drop=True)


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv(model_store.STORE_ENV_VAR, str(tmp_path / "store"))
    return tmp_path / "store"


SETTINGS = dict(epochs=1, lr=1e-3, batch_size=4, progress=False, device="cpu")


def test_a_second_run_with_the_same_key_loads_the_stored_model(tokenizer, frames, store, capsys, monkeypatch):
    train_df, val_df = frames
    first = tiny_model(tokenizer)
    first_result = model_store.train_or_reuse(first, tokenizer, train_df, val_df, **SETTINGS)
    assert "Reused" not in capsys.readouterr().out

    import course_utils.training

    def no_training(*args, **kwargs):
        raise AssertionError("train() ran although the model was stored")

    monkeypatch.setattr(course_utils.training, "train", no_training)
    second = tiny_model(tokenizer)
    second_result = model_store.train_or_reuse(second, tokenizer, train_df, val_df, **SETTINGS)
    assert "Reused the model trained earlier" in capsys.readouterr().out
    for (name, trained), (_, reloaded) in zip(first.state_dict().items(), second.state_dict().items()):
        assert torch.equal(trained, reloaded), name
    assert not second.training
    assert second.config.to_dict() == first.config.to_dict()  # what train wrote there (positive class, length)
    pd.testing.assert_frame_equal(first_result.per_epoch, second_result.per_epoch)
    pd.testing.assert_frame_equal(first_result.history, second_result.history)
    assert second_result.best_epoch == first_result.best_epoch


@pytest.mark.parametrize("change", ["seed of the head", "data", "settings"])
def test_anything_in_the_key_changed_trains_again(tokenizer, frames, store, change):
    train_df, val_df = frames
    model_store.train_or_reuse(tiny_model(tokenizer), tokenizer, train_df, val_df, **SETTINGS)
    model, settings = tiny_model(tokenizer), dict(SETTINGS)
    if change == "seed of the head":
        model = tiny_model(tokenizer, seed=1)
    elif change == "data":
        train_df = train_df.assign(text=train_df["text"] + "!")
    else:
        settings["lr"] = 2e-3
    calls = []
    import course_utils.training

    original = course_utils.training.train

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(course_utils.training, "train", counting)
        model_store.train_or_reuse(model, tokenizer, train_df, val_df, **settings)
    assert calls == [1]
    assert len([path for path in store.iterdir() if path.is_dir()]) == 2


def test_off_trains_without_storing(tokenizer, frames, tmp_path, monkeypatch):
    monkeypatch.setenv(model_store.STORE_ENV_VAR, "off")
    monkeypatch.setattr(model_store.Path, "home", lambda: tmp_path)
    assert model_store.store_folder() is None
    train_df, val_df = frames
    model_store.train_or_reuse(tiny_model(tokenizer), tokenizer, train_df, val_df, **SETTINGS)
    assert not any(tmp_path.iterdir())


def test_only_the_newest_models_are_kept(tmp_path):
    for index in range(model_store.KEEP + 2):
        folder = tmp_path / f"model{index}"
        folder.mkdir()
        import os

        os.utime(folder, (index, index))
    model_store._prune(tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        f"model{index}" for index in range(2, model_store.KEEP + 2))
