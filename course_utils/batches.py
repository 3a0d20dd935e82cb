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

from course_utils.data import check_texts
from course_utils.errors import CourseError
from course_utils.guards import _check_frame, check_label_values

__all__ = ["MEGA_BATCH", "LengthGroupedBatchSampler", "make_loader", "padding_efficiency"]

MEGA_BATCH = 100  # length grouping sorts chunks of this many batches (1,600 texts at batch 16)


class _EncodedTexts(Dataset):
    """Texts tokenized once (no padding yet) with their labels, if any (notebook 04).

    Texts longer than ``max_length`` tokens are truncated; ``truncated`` counts them.
    """

    def __init__(self, tokenizer, texts: Sequence[str], labels: Sequence[int] | None = None, max_length: int = 128):
        texts = check_texts(texts, "texts")
        encoded = tokenizer(texts, truncation=False)
        too_long = [i for i, ids in enumerate(encoded["input_ids"]) if len(ids) > max_length]
        features = {key: list(values) for key, values in encoded.items()
                    if key in ("input_ids", "attention_mask", "token_type_ids")}
        if too_long:
            cut = tokenizer([texts[i] for i in too_long], truncation=True, max_length=max_length)
            for position, index in enumerate(too_long):
                for key in features:
                    features[key][index] = cut[key][position]
        self.features = features
        self.truncated = len(too_long)
        self.labels = None if labels is None else [int(label) for label in labels]
        self.lengths = [len(ids) for ids in self.features["input_ids"]]

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, index: int) -> dict:
        item = {key: values[index] for key, values in self.features.items()}
        if self.labels is not None:
            item["labels"] = self.labels[index]
        return item


class LengthGroupedBatchSampler(Sampler):
    """Batches of indices; with ``group_by_length``, each batch holds texts of similar length.

    Shuffled: the texts are shuffled, cut into chunks of ``MEGA_BATCH`` batches,
    each chunk is sorted by length and cut into batches, then the order of the
    batches is shuffled (so long and short batches alternate). Not shuffled:
    grouping sorts all texts by length (fastest for prediction; callers put
    results back in the original order). A new epoch reshuffles (``seed + epoch``).
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool = False,
                 group_by_length: bool = True, seed: int = 42):
        if batch_size < 1:
            raise CourseError(f"batch_size must be a positive whole number, got {batch_size}.")
        self.lengths = np.asarray(lengths)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.group_by_length = group_by_length
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self) -> list[list[int]]:
        count, size = len(self.lengths), self.batch_size
        rng = np.random.default_rng(self.seed + self.epoch)
        order = rng.permutation(count) if self.shuffle else np.arange(count)
        if self.group_by_length:
            if self.shuffle:
                chunk = size * MEGA_BATCH
                pieces = [order[start:start + chunk] for start in range(0, count, chunk)]
                order = np.concatenate([piece[np.argsort(-self.lengths[piece], kind="stable")]
                                        for piece in pieces]) if pieces else order
            else:
                order = np.argsort(-self.lengths, kind="stable")
        batches = [order[start:start + size].tolist() for start in range(0, count, size)]
        if self.shuffle and self.group_by_length:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches())

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)


def make_loader(tokenizer, frame: pd.DataFrame, *, batch_size: int = 16, max_length: int = 128,
                shuffle: bool = False, group_by_length: bool = True, seed: int = 42) -> DataLoader:
    """A DataLoader over ``frame`` (columns ``text`` and, if present, ``label_id``) (notebook 04).

    The texts are tokenized once here, truncated to ``max_length`` tokens; each
    batch is padded only to its own longest text. With ``group_by_length`` the
    batches hold texts of similar length, so little compute goes to padding.
    Batches are dicts with ``input_ids``, ``attention_mask``, ``token_type_ids`` (BERT)
    and ``labels`` (when the frame has ``label_id``): the keys the model's
    ``forward`` takes, so ``model(**batch)`` works.
    """
    _check_frame(frame, "frame", need_labels=False)
    if tokenizer.pad_token_id is None:
        raise CourseError("The tokenizer has no padding token, so batches cannot be padded. "
                          "Fix: tokenizer.pad_token = tokenizer.eos_token (or another token).")
    labels = None
    if "label_id" in frame.columns:
        check_label_values(frame["label_id"].to_numpy(), None, "the 'label_id' column")
        labels = frame["label_id"].tolist()
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
