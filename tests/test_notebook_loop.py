"""Notebook 04's hand-written loop against course_utils.training.train, in the spirit of
accelerate's example-difference tests.

The cells that notebook 04 writes out (tokenize once, the length-grouped sampler, AdamW with a
warmup schedule, the loop) are run here from the notebook itself, on a small BERT and a few
real messages, and so is ``train()`` with the same settings. Fed the same batches, the two end
with the same weights to rounding; the sampler draws the same batches and chunks them by the
same number of batches. A change to either side that makes them disagree fails here.
"""

from __future__ import annotations

import copy
import inspect
import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04_training_loop.ipynb"


def notebook_cell(marker: str) -> str:
    """The source of the notebook's code cell holding ``marker``, without its exercise check."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    found = [cell for cell in cells if cell["cell_type"] == "code" and marker in "".join(cell["source"])]
    assert len(found) == 1, f"notebook 04 has {len(found)} code cells holding {marker!r}"
    lines = "".join(found[0]["source"]).splitlines()
    return "\n".join(line for line in lines if not line.startswith("exercise."))


def run_cells(namespace: dict, *markers: str) -> dict:
    for marker in markers:
        exec(compile(notebook_cell(marker), f"notebook 04: {marker}", "exec"), namespace)  # noqa: S102 - the course's own notebook
    return namespace


@pytest.fixture(scope="module")
def messages():
    from course_utils.corpora import load_splits
    from course_utils.data import subsample

    return subsample(load_splits().train, 48, seed=3)  # three batches of 16


@pytest.fixture(scope="module")
def tokenizer():
    from course_utils.models import load_tokenizer

    return load_tokenizer("packaged")


def small_bert(tokenizer):
    """A 2-layer BERT over the packaged model's vocabulary: fast, with dropout on."""
    from transformers import BertConfig, BertForSequenceClassification

    from course_utils.labels import label_config
    from course_utils.training import set_seed

    set_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512, **label_config(("ham", "spam")))
    return BertForSequenceClassification(config)


def test_the_notebook_sampler_draws_the_librarys_batches():
    from course_utils.batches import CHUNK_BATCHES, LengthGroupedBatchSampler

    lengths = [int(length) for length in np.random.default_rng(0).integers(5, 120, size=3_500)]  # 3 chunks at 16
    cells = run_cells({"np": np, "lengths": lengths, "train_df": None}, "def length_grouped_batches")
    assert inspect.signature(cells["length_grouped_batches"]).parameters["chunk_batches"].default == CHUNK_BATCHES
    library = LengthGroupedBatchSampler(lengths, 16, shuffle=True, seed=42)
    for epoch in range(3):
        library.set_epoch(epoch)
        assert library.batches() == cells["length_grouped_batches"](lengths, 16, seed=42 + epoch)


def test_the_notebook_loop_and_train_end_with_the_same_weights(tokenizer, messages):
    from transformers import DataCollatorWithPadding, get_linear_schedule_with_warmup

    from course_utils.training import set_seed, train

    start = small_bert(tokenizer)
    rate, epochs = 1e-3, 2
    by_hand = copy.deepcopy(start)
    namespace = {"np": np, "torch": torch, "time": time, "tqdm": lambda batches, **_: batches,
                 "DataLoader": torch.utils.data.DataLoader, "DataCollatorWithPadding": DataCollatorWithPadding,
                 "get_linear_schedule_with_warmup": get_linear_schedule_with_warmup, "tokenizer": tokenizer,
                 "train_df": messages, "model": by_hand, "device": torch.device("cpu"), "LEARNING_RATE": rate,
                 "loop_epochs": epochs}
    run_cells(namespace, "store each message's number of tokens in `lengths`", "def length_grouped_batches",
              "class LengthGroupedSampler", "build `optimizer`: AdamW")
    set_seed(42)  # train() seeds with its seed before the first batch: dropout draws the same masks
    run_cells(namespace, "for batch in tqdm(train_loader")

    with_train = copy.deepcopy(start)
    result = train(with_train, tokenizer, messages, epochs=epochs, batch_size=16, lr=rate, warmup_ratio=0.1,
                   head_lr_multiplier=1.0, weight_decay=0.01, max_grad_norm=1.0, mixed_precision="no", seed=42,
                   device="cpu", progress=False)

    np.testing.assert_allclose(result.history["train_loss"], namespace["step_losses"], rtol=1e-5)
    np.testing.assert_allclose(result.history["lr"], namespace["step_rates"], rtol=1e-6)
    for (name, expected), (_, actual) in zip(by_hand.named_parameters(), with_train.named_parameters()):
        torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-6, msg=f"{name} differs")
    assert not torch.equal(start.classifier.weight, with_train.classifier.weight)  # both really trained
