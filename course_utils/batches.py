"""Tokenized texts in batches (notebook 04): tokenize once, pad per batch, group by length.

The data pipeline of :func:`course_utils.training.train` and :mod:`course_utils.prediction`:
:func:`make_loader` tokenizes the texts once (truncated to ``max_length``), groups texts of
similar length into batches (:class:`LengthGroupedBatchSampler`, the sampler notebook 04
writes) and pads each batch only to its own longest text with the tokenizer
(``DataCollatorWithPadding``), so little compute goes to padding.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from course_utils.errors import CourseError
from course_utils.guards import check_frame
from course_utils.settings import MAX_LENGTH, SEED

__all__ = ["CHUNK_BATCHES", "LengthGroupedBatchSampler", "make_loader", "padding_efficiency"]

CHUNK_BATCHES = 100  # length grouping sorts chunks of this many batches (1,600 texts at batch 16)


class _EncodedTexts(Dataset):
    """Texts tokenized once, truncated to ``max_length`` tokens (``truncated`` counts those cut), with their labels."""

    def __init__(self, tokenizer, texts: list[str], labels: Sequence[int] | None = None, max_length: int = MAX_LENGTH):
        self.truncated = sum(len(ids) > max_length for ids in tokenizer(texts)["input_ids"])
        encoded = tokenizer(texts, truncation=True, max_length=max_length)
        self.features = {key: encoded[key] for key in ("input_ids", "attention_mask", "token_type_ids") if key in encoded}
        self.labels, self.lengths = labels, [len(ids) for ids in encoded["input_ids"]]

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, index: int) -> dict:
        item = {key: values[index] for key, values in self.features.items()}
        return item if self.labels is None else {**item, "labels": int(self.labels[index])}


class LengthGroupedBatchSampler(Sampler):
    """Batches of indices, with ``group_by_length`` of texts of similar length (notebook 04): shuffled, each chunk of
    ``CHUNK_BATCHES`` batches is sorted by length, then the batches shuffled (``seed + epoch``); else all sorted."""

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool = False,
                 group_by_length: bool = True, seed: int = SEED):
        if batch_size < 1:
            raise CourseError(f"batch_size must be a positive whole number, got {batch_size}.")
        self.lengths, self.batch_size, self.shuffle = np.asarray(lengths), int(batch_size), shuffle
        self.group_by_length, self.seed, self.epoch = group_by_length, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self) -> list[list[int]]:
        count, size, rng = len(self.lengths), self.batch_size, np.random.default_rng(self.seed + self.epoch)
        order = rng.permutation(count) if self.shuffle else np.arange(count)
        if self.group_by_length:  # sort by length: each chunk of CHUNK_BATCHES batches if shuffled, else all texts
            chunk = size * CHUNK_BATCHES if self.shuffle else max(count, 1)
            order = np.concatenate([piece[np.argsort(-self.lengths[piece], kind="stable")]
                                    for piece in np.split(order, range(chunk, count, chunk))])
        batches = [order[start:start + size].tolist() for start in range(0, count, size)]
        return [batches[i] for i in rng.permutation(len(batches))] if self.shuffle and self.group_by_length else batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches())

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)


def make_loader(tokenizer, frame: pd.DataFrame, *, batch_size: int = 16, max_length: int = MAX_LENGTH,
                shuffle: bool = False, group_by_length: bool = True, seed: int = SEED) -> DataLoader:
    """Batches of ``frame``'s ``text`` (and ``label_id``) for ``model(**batch)``, padded to their longest (notebook 04)."""
    check_frame(frame, "frame")
    if tokenizer.pad_token_id is None:
        raise CourseError("The tokenizer has no padding token, so batches cannot be padded. "
                          "Fix: tokenizer.pad_token = tokenizer.eos_token (or another token).")
    labels = frame["label_id"].tolist() if "label_id" in frame.columns else None
    dataset = _EncodedTexts(tokenizer, frame["text"].tolist(), labels, max_length=max_length)
    sampler = LengthGroupedBatchSampler(dataset.lengths, batch_size, shuffle=shuffle,
                                        group_by_length=group_by_length, seed=seed)
    from transformers import DataCollatorWithPadding

    return DataLoader(dataset, batch_sampler=sampler, collate_fn=DataCollatorWithPadding(tokenizer))


def padding_efficiency(loader: Iterable[Mapping[str, torch.Tensor]]) -> float:
    """Real tokens / padded tokens over all batches of ``loader`` (1.0 means no padding)."""
    real = padded = 0
    for batch in loader:
        mask = batch["attention_mask"]
        real += int(mask.sum())
        padded += mask.numel()
    return real / padded if padded else 1.0

