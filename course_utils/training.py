"""The fine-tuning loop of notebook 04 behind one call: :func:`train`, :func:`evaluate`, :func:`predict_proba`.

Introduced in notebook 04 (the training loop), after the loop has been written out
cell by cell; used by every later notebook. What it does, in the order notebook 04
builds it:

- tokenizes the texts once, then pads each batch only to its longest text
  (dynamic padding), with batches made of texts of similar length
  (:func:`make_loader`);
- AdamW with weight decay (none on biases and LayerNorm weights) and a linear
  warmup-then-decay learning rate, gradient clipping, ``model.train()`` for
  training and ``model.eval()`` with no gradients for validation;
- validation each epoch, the best epoch's weights (by a validation metric the caller
  names; the positive class's F1 for two classes, macro F1 for more) kept and restored
  at the end, optional early stopping on the validation loss;
- any number of classes: the model's ``num_labels`` and its ``id2label`` names;
- an optional checkpoint folder: the last good epoch is kept (safetensors, written
  atomically) and an interrupted run resumes from it with the same result;
- mixed precision on a CUDA GPU: bf16 where the GPU has it in hardware, fp16 with a
  gradient scaler on older GPUs such as Colab's T4; full precision on CPU and MPS;
- a ``tqdm.auto`` progress bar (``progress=False`` silences it) and a seed.

Classic mistakes (no ``labels``, labels outside ``0..num_labels-1`` or as floats,
``num_labels`` that does not match the data, blank texts, inputs longer than the
model's positions, bf16 on hardware without it) raise
:class:`~course_utils.errors.CourseError` before any weight changes; a NaN loss
stops training at that step with a hint. Nothing runs at import time.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
import time
from pathlib import Path
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset, Sampler

from course_utils.data import check_texts
from course_utils.errors import CourseError
from course_utils.metrics import average_scores, classification_scores

MEGA_BATCH = 100  # length grouping sorts chunks of this many batches (1,600 texts at batch 16)
PROGRESS_ENV_VAR = "COURSE_PROGRESS"  # "text": a plain text bar on stderr (stored notebooks show its end)
SELECT_METRICS = ("f1", "macro_f1", "accuracy", "loss")


def set_seed(seed: int = 42) -> None:
    """Seed Python's ``random``, NumPy and torch (CPU and every GPU) (notebook 04).

    Call it before creating a model to make its new classification head the same on
    every run; :func:`train` calls it again before the first batch.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


# ---------------------------------------------------------------------------
# Data: tokenize once, pad per batch, group by length
# ---------------------------------------------------------------------------


class EncodedTexts(Dataset):
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


def pad_batch(items: list[dict], pad_token_id: int, padding_side: str = "right") -> dict[str, torch.Tensor]:
    """Pad a list of tokenized texts to the longest one in the list (dynamic padding)."""
    longest = max(len(item["input_ids"]) for item in items)
    batch: dict[str, torch.Tensor] = {}
    for key, fill in (("input_ids", pad_token_id), ("attention_mask", 0), ("token_type_ids", 0)):
        if key not in items[0]:
            continue
        tensor = torch.full((len(items), longest), fill, dtype=torch.long)
        for row, item in enumerate(items):
            values = torch.as_tensor(item[key], dtype=torch.long)
            if padding_side == "left":
                tensor[row, longest - len(values):] = values
            else:
                tensor[row, :len(values)] = values
        batch[key] = tensor
    if "labels" in items[0]:
        batch["labels"] = torch.tensor([item["labels"] for item in items], dtype=torch.long)
    return batch


def _check_frame(frame, name: str, need_labels: bool) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise CourseError(f"{name} must be a pandas DataFrame with columns 'text' and 'label_id', "
                          f"got {type(frame).__name__}.")
    if "text" not in frame.columns:
        raise CourseError(f"{name} has no 'text' column (columns: {list(frame.columns)}). "
                          "Fix: name the text column 'text'.")
    if need_labels and "label_id" not in frame.columns:
        hint = (" It has 'label': the model needs class numbers, in 'label_id' (0, 1, ...)."
                if "label" in frame.columns else "")
        raise CourseError(f"{name} has no 'label_id' column, so there are no labels to train on: without "
                          f"labels the model returns no loss.{hint} Fix: add 'label_id' with class numbers, "
                          "as course_utils.data.from_dataframe() and load_splits() do.")
    if len(frame) == 0:
        raise CourseError(f"{name} is empty: it needs at least one text.")
    check_texts(frame["text"].tolist(), f"{name}['text']")


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
    dataset = EncodedTexts(tokenizer, frame["text"].tolist(), labels, max_length=max_length)
    sampler = LengthGroupedBatchSampler(dataset.lengths, batch_size, shuffle=shuffle,
                                        group_by_length=group_by_length, seed=seed)
    pad_id, side = tokenizer.pad_token_id, getattr(tokenizer, "padding_side", "right")
    return DataLoader(dataset, batch_sampler=sampler, collate_fn=lambda items: pad_batch(items, pad_id, side))


def padding_efficiency(loader: Iterable[Mapping[str, torch.Tensor]]) -> float:
    """Real tokens / padded tokens over all batches of ``loader`` (1.0 means no padding)."""
    real = padded = 0
    for batch in loader:
        mask = batch["attention_mask"]
        real += int(mask.sum())
        padded += mask.numel()
    return real / padded if padded else 1.0


# ---------------------------------------------------------------------------
# Checks made before any weight changes
# ---------------------------------------------------------------------------


def check_batch(batch: Mapping, num_labels: int, max_positions: int | None = None) -> None:
    """Raise :class:`CourseError` unless ``batch`` carries valid ``labels`` (notebook 03).

    ``model(**batch)`` computes a loss only from a key named exactly ``labels``:
    without it ``outputs.loss`` is ``None`` and ``loss.backward()`` fails with an
    ``AttributeError``. Label values must be whole class numbers ``0..num_labels-1``
    (integers: float labels switch transformers to a multi-label loss). With
    ``max_positions``, ``input_ids`` longer than the model's positions are refused too.
    """
    if "labels" not in batch:
        keys = sorted(batch.keys())
        near = [key for key in keys if key in ("label", "label_id", "label_ids", "target", "targets", "y")]
        hint = (f" The batch has {near[0]!r}: the model takes the answers only under the keyword 'labels' "
                f"(other names are rejected or ignored, depending on the transformers version). "
                f"Fix: rename {near[0]!r} to 'labels'." if near else
                " Fix: add the class numbers under the key 'labels' (a LongTensor, one per text).")
        raise CourseError(f"The batch has no 'labels' (keys: {keys}), so the model would return loss=None "
                          f"and loss.backward() would fail.{hint}")
    check_label_values(batch["labels"], num_labels, "batch['labels']")
    input_ids = batch.get("input_ids")
    if max_positions is not None and isinstance(input_ids, torch.Tensor) and input_ids.ndim == 2 \
            and input_ids.shape[1] > max_positions:
        raise CourseError(f"batch['input_ids'] has {input_ids.shape[1]} tokens per text but the model has only "
                          f"{max_positions} positions. Fix: tokenize with truncation=True and "
                          f"max_length={max_positions} or less.")


def check_label_values(labels, num_labels: int | None, name: str = "labels") -> None:
    """Raise :class:`CourseError` naming any label that is not a class number ``0..num_labels-1``.

    Float labels are refused (for single-label classification transformers needs integer
    class numbers; floats switch it to a multi-label loss). Labels that run ``1..K``
    instead of ``0..K-1`` and the ``-1`` of unlabelled rows get their own hint.
    """
    if isinstance(labels, torch.Tensor):
        values, floating = labels.detach().cpu(), labels.is_floating_point()
    else:
        array = np.asarray(labels)
        if array.size and not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            raise CourseError(f"{name} holds {array.dtype} values like {array.ravel()[:3].tolist()}, not class "
                              "numbers. Fix: map each class name to a number 0..K-1 (LabelMap.encode, or the "
                              "label_id column that course_utils.data makes).")
        floating = np.issubdtype(array.dtype, np.floating)
        values = torch.as_tensor(np.nan_to_num(array.astype(np.float64), nan=-1.0) if floating else np.array(array))
    if values.numel() == 0:
        return
    if floating:
        examples = sorted(set(values.flatten().tolist()))[:5]
        raise CourseError(f"{name} holds floats ({examples}): single-label classification needs integer class "
                          "numbers (torch.long). With float labels transformers switches to a multi-label "
                          "loss (BCE) and fails or trains the wrong thing. Fix: labels.long() "
                          "(or .astype(int); a NaN label means a row without a label: remove it).")
    low, high = int(values.min()), int(values.max())
    if low >= 0 and (num_labels is None or high < num_labels):
        return
    bad = sorted({int(v) for v in values.flatten().tolist() if v < 0 or (num_labels is not None and v >= num_labels)})
    if num_labels is not None and low == 1 and high == num_labels:
        hint = (f"They run 1..{num_labels}, but class numbers start at 0. Fix: subtract 1 from every label "
                f"(1..{num_labels} -> 0..{num_labels - 1}).")
    elif low < 0:
        hint = ("-1 usually marks rows without a label. Fix: remove those rows before training "
                "(or give them their class number).")
    else:
        hint = (f"Fix: map the labels to 0..{num_labels - 1}, or load the model with num_labels equal to the "
                "number of classes (label_names=...).")
    allowed = f"0..{num_labels - 1}" if num_labels is not None else "0 or more"
    raise CourseError(f"{name} has values {bad[:10]} outside {allowed}"
                      + (f": the model has num_labels={num_labels}. " if num_labels is not None else ". ") + hint)


def _num_labels(model) -> int:
    num_labels = int(getattr(model.config, "num_labels", 2))
    if num_labels < 2:
        raise CourseError(f"The model has num_labels={num_labels}: with one output transformers trains a "
                          "regression (MSE loss), not a classifier (notebook 02). Fix: load it with "
                          "num_labels equal to the number of classes (2 for two classes: two logits, "
                          "softmax and cross-entropy).")
    return num_labels


def _max_positions(model) -> int | None:
    positions = getattr(model.config, "max_position_embeddings", None)
    return int(positions) if positions else None


def _check_max_length(model, max_length: int) -> None:
    positions = _max_positions(model)
    if max_length < 2:
        raise CourseError(f"max_length={max_length} leaves no room for a text between [CLS] and [SEP]. "
                          "Fix: max_length=128 (or the longest text you need, in tokens).")
    if positions is not None and max_length > positions:
        raise CourseError(f"max_length={max_length} is longer than the model's {positions} positions: those "
                          f"inputs cannot be embedded. Fix: max_length={positions} or less.")


def _default_names(names: Sequence[str]) -> bool:
    return all(str(name) in (f"LABEL_{i}", str(i)) for i, name in enumerate(names))


def check_labels_match_model(model, frame: pd.DataFrame, name: str, *, require_all_classes: bool = False) -> None:
    """:class:`CourseError` when ``frame``'s labels do not fit ``model`` (notebooks 03 and 07).

    Checks the class numbers (``label_id``) against ``num_labels``, the class names (a
    ``label`` column) against the model's ``id2label``, and with ``require_all_classes``
    that the training data has texts of every class the model has.
    """
    num_labels = _num_labels(model)
    label_ids = frame["label_id"].to_numpy()
    check_label_values(label_ids, num_labels, f"{name}['label_id']")
    model_names = [model.config.id2label[i] for i in sorted(model.config.id2label)] \
        if getattr(model.config, "id2label", None) else []
    if "label" in frame.columns and model_names and not _default_names(model_names):
        expected = np.array(model_names, dtype=object)[label_ids.astype(int)]
        actual = frame["label"].astype(str).to_numpy()
        wrong = np.flatnonzero(expected != actual)
        if wrong.size:
            first = int(wrong[0])
            raise CourseError(f"{name}: row {first} is labelled {actual[first]!r} with label_id {int(label_ids[first])}, "
                              f"but the model calls class {int(label_ids[first])} {expected[first]!r} "
                              f"(its classes: {model_names}). Fix: load the model with the data's class names "
                              "(label_names=data.label_names) so that numbers and names agree.")
    if require_all_classes:
        present = set(np.unique(label_ids).tolist())
        if len(present) < num_labels:
            missing = [model_names[i] if i < len(model_names) else str(i) for i in range(num_labels) if i not in present]
            raise CourseError(f"The model has num_labels={num_labels} but {name} has no text of class(es) {missing}: "
                              f"it uses only {len(present)} classes. Fix: load the model with num_labels equal to "
                              "the number of classes in the data, or add texts of the missing classes.")


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------


@dataclass
class TrainResult:
    """What :func:`train` measured (notebook 04).

    ``history``: one row per optimizer step (step, epoch, train_loss, lr: the learning
    rate that step used). ``epochs``: one row per epoch (epoch, train_loss,
    train_accuracy measured during the epoch with dropout on, val_loss, val_accuracy,
    val_macro_f1, and for two classes val_precision, val_recall, val_f1 of the
    positive class; seconds, samples_per_s). ``best_epoch``: the epoch whose weights
    the model holds at the end, chosen by ``select_metric``. ``seconds``: wall time of
    the whole call; ``samples_per_second``: training texts per second of training steps
    (validation excluded); ``padding_efficiency``: real tokens / padded tokens over the
    training batches; ``truncated``: training texts cut to ``max_length``;
    ``resumed_from``: the epoch a checkpoint was resumed from (0: a fresh start);
    ``stopped_early``: early stopping ended the run.
    """

    history: pd.DataFrame
    epochs: pd.DataFrame
    best_epoch: int
    seconds: float
    samples_per_second: float
    padding_efficiency: float
    select_metric: str = "f1"
    best_value: float = float("nan")
    truncated: int = 0
    resumed_from: int = 0
    stopped_early: bool = False


def _amp_dtype(device: torch.device, mixed_precision) -> torch.dtype | None:
    """The autocast dtype for training on ``device``, or None for full precision.

    ``"auto"``: what :attr:`course_utils.device.DeviceInfo.amp_dtype` says (bf16 on a GPU
    or CPU with bf16 in hardware, fp16 on older GPUs, else full precision). Asking for
    bf16 where the hardware lacks it (a CPU without AVX-512 BF16 or AMX, Apple MPS, a
    CUDA GPU below compute capability 8.0 such as Colab's T4) raises :class:`CourseError`.
    """
    from course_utils.device import device_info

    if mixed_precision in (None, False, "no", "none", "off"):
        return None
    if mixed_precision in ("auto", True):
        return device_info(device).amp_dtype if device.type in ("cuda", "cpu") else None
    if mixed_precision in ("bf16", "bfloat16", torch.bfloat16):
        info = device_info(device) if device.type in ("cuda", "cpu") else None
        if info is None or not info.bf16:
            where = info.describe() if info is not None else f"{device.type}"
            raise CourseError(f"mixed_precision='bf16' needs bf16 in hardware: a CUDA GPU of compute capability "
                              f"8.0 or newer, or a CPU with AVX-512 BF16 or AMX; this device is {where}. "
                              "Fix: mixed_precision='auto' (fp16 with a gradient scaler on older GPUs, full "
                              "precision elsewhere) or 'no'.")
        return torch.bfloat16
    if mixed_precision in ("fp16", "float16", torch.float16):
        if device.type == "cpu" and not hasattr(torch.amp, "GradScaler"):
            raise CourseError("mixed_precision='fp16' on a CPU needs torch 2.3 or newer (a CPU gradient scaler). "
                              "Fix: mixed_precision='auto' or 'no' (full precision).")
        if device.type not in ("cuda", "cpu"):
            raise CourseError(f"mixed_precision='fp16' needs a CUDA GPU (or, to try the path, the CPU); this device "
                              f"is {device.type}. Fix: mixed_precision='auto' or 'no' (full precision).")
        return torch.float16  # on a CPU: slow, but the same autocast and gradient-scaler path as a T4's
    raise CourseError(f"mixed_precision={mixed_precision!r} is not known: use 'auto', 'bf16', 'fp16' or 'no'.")


def _autocast(device: torch.device, amp_dtype: torch.dtype | None):
    if amp_dtype is None:
        return torch.autocast(device_type=device.type, enabled=False)
    return torch.autocast(device_type=device.type, dtype=amp_dtype)


def _grad_scaler(enabled: bool, device_type: str = "cuda", init_scale: float = 2.0**16):
    """The fp16 gradient scaler (a no-op unless ``enabled``): scales the loss so small fp16 gradients
    do not underflow, unscales before clipping, and skips a step whose gradients overflowed (notebook 04)."""
    if hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler(device_type, enabled=enabled, init_scale=init_scale)
    return torch.cuda.amp.GradScaler(enabled=enabled)  # torch < 2.3


def _to_device(batch: Mapping[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {key: value.to(device, non_blocking=True) for key, value in batch.items()}


def _is_head(name: str) -> bool:
    """The parameters a classifier adds on top of the encoder: the pooler and the classification layer."""
    from course_utils.models import HEAD_PREFIXES, POOLER_MARK

    return name.startswith(HEAD_PREFIXES) or POOLER_MARK in f".{name}"


def make_optimizer(model, lr: float, weight_decay: float = 0.01, name: str = "adamw",
                   head_lr_multiplier: float = 1.0) -> torch.optim.Optimizer:
    """The optimizer of notebook 04.

    ``"adamw"``: AdamW, no weight decay on biases and LayerNorm weights (the 1-D
    parameters), fused into one kernel per step where torch can. ``head_lr_multiplier``
    gives the pooler and the classification layer (new or barely trained) that many times
    the encoder's rate; the schedule scales both alike. ``"adam"``: plain
    ``torch.optim.Adam(model.parameters(), lr)`` as a common tutorial writes it (no decay).
    """
    if not head_lr_multiplier > 0:
        raise CourseError(f"head_lr_multiplier must be above 0 (1: the same rate as the encoder), "
                          f"got {head_lr_multiplier}.")
    trainable = [(key, parameter) for key, parameter in model.named_parameters() if parameter.requires_grad]
    if name == "adam":
        return torch.optim.Adam([parameter for _, parameter in trainable], lr=lr)
    if name != "adamw":
        raise CourseError(f"optimizer={name!r} is not known: use 'adamw' (the fine-tuning recipe) or 'adam'.")
    groups = []
    for is_head, rate in ((False, lr), (True, lr * head_lr_multiplier)):
        part = [parameter for key, parameter in trainable if _is_head(key) == is_head]
        groups += [{"params": [p for p in part if p.ndim >= 2], "weight_decay": weight_decay, "lr": rate},
                   {"params": [p for p in part if p.ndim < 2], "weight_decay": 0.0, "lr": rate}]
    groups = [group for group in groups if group["params"]]
    try:
        # fused: the whole update in one kernel per step (the default foreach AdamW is
        # several times slower on a CPU)
        return torch.optim.AdamW(groups, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):  # older torch (CPU fused needs 2.4) or an unusual device
        return torch.optim.AdamW(groups, lr=lr, foreach=False)


def make_scheduler(optimizer, total_steps: int, warmup_ratio: float = 0.1, schedule: str = "linear"):
    """``"linear"``: warmup over ``warmup_ratio`` of the steps, then linear decay to 0; ``"constant"``: no schedule."""
    from transformers import get_constant_schedule, get_linear_schedule_with_warmup

    if schedule == "constant":
        return get_constant_schedule(optimizer)
    if schedule != "linear":
        raise CourseError(f"schedule={schedule!r} is not known: use 'linear' (warmup, then decay) or 'constant'.")
    return get_linear_schedule_with_warmup(optimizer, int(warmup_ratio * total_steps), total_steps)


def _as_loader(data, tokenizer, name: str, *, batch_size: int, max_length: int, shuffle: bool,
               seed: int, need_labels: bool, group_by_length: bool = True) -> DataLoader | Iterable:
    if isinstance(data, pd.DataFrame):
        _check_frame(data, name, need_labels=need_labels)
        return make_loader(tokenizer, data, batch_size=batch_size, max_length=max_length,
                           shuffle=shuffle, group_by_length=group_by_length, seed=seed)
    if isinstance(data, (DataLoader, list, tuple)):
        return data
    raise CourseError(f"{name} must be a DataFrame with 'text' and 'label_id' (or a DataLoader of batches), "
                      f"got {type(data).__name__}.")


def _class_weights(class_weights, num_labels: int, device: torch.device) -> torch.Tensor | None:
    if class_weights is None:
        return None
    weights = torch.as_tensor(list(class_weights), dtype=torch.float32)
    if weights.ndim != 1 or len(weights) != num_labels or bool((weights < 0).any()):
        raise CourseError(f"class_weights must be {num_labels} non-negative numbers, one per class "
                          f"(in class-number order), got {list(class_weights)}.")
    return weights.to(device)


def _loss(outputs, labels: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """The model's own cross-entropy, or a class-weighted one computed from the logits."""
    if weights is None:
        return outputs.loss
    return F.cross_entropy(outputs.logits.float(), labels, weight=weights)


def _check_all_batches(loader, num_labels: int, max_positions: int | None) -> None:
    """Check every batch's labels before training starts, so bad input changes no weights."""
    dataset = getattr(loader, "dataset", None)
    if isinstance(dataset, EncodedTexts):
        if dataset.labels is None:
            check_batch({key: None for key in dataset.features}, num_labels)
        check_label_values(dataset.labels, num_labels, "the training labels ('label_id')")
        return
    for batch in loader:
        check_batch(batch, num_labels, max_positions)


def _select_metric(select_metric: str | None, num_labels: int) -> str:
    metric = select_metric or ("f1" if num_labels == 2 else "macro_f1")
    if metric not in SELECT_METRICS:
        raise CourseError(f"select_metric must be one of {list(SELECT_METRICS)}; got {metric!r}.")
    if metric == "f1" and num_labels != 2:
        raise CourseError(f"select_metric='f1' is the positive class's F1, a two-class score; this model has "
                          f"{num_labels} classes. Fix: select_metric='macro_f1' (the default for more classes).")
    return metric


def _better(row: Mapping[str, float], metric: str, best_value: float, best_loss: float) -> bool:
    """Is this epoch better than the best so far? Higher metric (lower loss); ties go to the lower loss."""
    if metric == "loss":
        return row["val_loss"] < best_value
    value = row[f"val_{metric}"]
    return value > best_value or (value == best_value and row["val_loss"] < best_loss)


def _progress_bar(total: int, enabled: bool):
    """tqdm.auto's bar (a widget in Jupyter), or a plain text bar when ``COURSE_PROGRESS=text``."""
    if os.environ.get(PROGRESS_ENV_VAR, "").strip().lower() == "text":
        from tqdm import tqdm as text_tqdm

        return text_tqdm(total=total, desc="training", unit="step", disable=not enabled, file=sys.stderr,
                         mininterval=5.0, ascii=False)
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="training", unit="step", disable=not enabled)


_OUT_OF_MEMORY = tuple({getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError), torch.cuda.OutOfMemoryError})


def _loss_not_finite(loss_value: float, step: int, epoch: int, lr: float) -> CourseError:
    return CourseError(
        f"The training loss became {loss_value} at step {step} (epoch {epoch}); training stopped there, "
        "before that step changed any weight. Fix: lower the learning rate (lr="
        f"{lr:g}; try {lr / 10:g}), keep gradient clipping on (max_grad_norm=1.0), and on a GPU try "
        "mixed_precision='bf16' or 'no' instead of fp16.")


def _train_step(model, batch, device, amp_dtype, weights, optimizer, scheduler, scaler, max_grad_norm,
                step: int, epoch: int, lr: float, batch_size: int) -> tuple[float, int]:
    """One optimizer step; returns (loss, correct predictions). Refuses a NaN/inf loss before ``backward``."""
    try:
        with _autocast(device, amp_dtype):
            outputs = model(**batch)
        loss = _loss(outputs, batch["labels"], weights)
        loss_value = float(loss.detach())
        if not math.isfinite(loss_value):
            raise _loss_not_finite(loss_value, step, epoch, lr)
        scaler.scale(loss).backward()
        if max_grad_norm:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        scale_before = scaler.get_scale() if scaler.is_enabled() else None
        scaler.step(optimizer)  # fp16: skipped when the gradients overflowed (inf or NaN)
        scaler.update()  # ... and then the scale is halved
        if scale_before is None or scaler.get_scale() >= scale_before:
            scheduler.step()  # a skipped step does not move the schedule on
        optimizer.zero_grad(set_to_none=True)
    except _OUT_OF_MEMORY:
        optimizer.zero_grad(set_to_none=True)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        length = int(batch["input_ids"].shape[1]) if "input_ids" in batch else 0
        raise CourseError(
            f"The GPU ran out of memory at step {step} (epoch {epoch}) with batch_size={batch_size} and texts of "
            f"{length} tokens. Fix: halve batch_size, lower max_length, or use mixed precision "
            "(mixed_precision='auto'); on Colab, Runtime > Restart session frees memory held by earlier cells."
        ) from None
    correct = int((outputs.logits.detach().argmax(dim=-1) == batch["labels"]).sum())
    return loss_value, correct


# --- checkpoints -------------------------------------------------------------------------------


def _fingerprint(**settings) -> dict:
    return {key: (value if isinstance(value, (int, float, str, bool, type(None))) else str(value))
            for key, value in settings.items()}


def _save_checkpoint(folder: Path, model, optimizer, scheduler, scaler, state: dict,
                     best_state: dict | None) -> None:
    """Write the checkpoint into a new folder, then swap it in: a crash leaves the previous one whole."""
    from safetensors.torch import save_file

    from course_utils.files import atomic_folder

    with atomic_folder(folder / "last") as staging:  # a crash keeps the previous one whole, as last.previous
        weights = {key: value.detach().to("cpu").contiguous() for key, value in model.state_dict().items()}
        save_file(weights, str(staging / "model.safetensors"))
        if best_state is not None:
            save_file({key: value.contiguous() for key, value in best_state.items()}, str(staging / "best.safetensors"))
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict(), "torch_rng": torch.get_rng_state(),
                    "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
                   staging / "optimizer.pt")
        (staging / "state.json").write_text(json.dumps(state, indent=1), encoding="utf-8")


def _load_checkpoint(folder: Path, fingerprint: dict) -> tuple[Path, dict] | None:
    """The last complete checkpoint in ``folder`` and its state, if one exists for these settings."""
    for candidate in (folder / "last", folder / "last.previous"):
        state_file = candidate / "state.json"
        if state_file.is_file() and (candidate / "model.safetensors").is_file():
            state = json.loads(state_file.read_text(encoding="utf-8"))
            if state.get("fingerprint") != fingerprint:
                changed = sorted(key for key in fingerprint if state.get("fingerprint", {}).get(key) != fingerprint[key])
                raise CourseError(f"The checkpoint in {candidate} was made with other settings ({', '.join(changed)} "
                                  "differ), so this run cannot resume from it. Fix: use another checkpoint_dir, "
                                  "or delete that folder to start afresh.")
            return candidate, state
    return None


# --- several processes or GPUs (accelerate launch, torchrun) -----------------------------------


def _launched_processes() -> int:
    """How many processes ``accelerate launch`` or ``torchrun`` started (``WORLD_SIZE``; 1 otherwise)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def _distributed_accelerator(accelerator, mixed_precision, batch_size: int, device=None):
    """The ``accelerate.Accelerator`` of a run over several processes, or ``None`` for one process.

    Used when a launcher started several processes (``WORLD_SIZE`` above 1) or the caller
    passes an ``accelerator``. The course's ``mixed_precision`` setting becomes accelerate's;
    ``split_batches=True`` splits every batch of ``batch_size`` texts over the processes, so
    N processes take the same optimizer steps on the same batches as one process does. Where
    the course would train on the CPU (no GPU, or ``device="cpu"``), the processes talk
    over gloo on the CPU.
    """
    if accelerator is None and _launched_processes() <= 1:
        return None
    try:
        import accelerate
    except ImportError:
        raise CourseError(f"This run was started on {_launched_processes()} processes, which needs the accelerate "
                          "package. Fix: pip install accelerate (it is in requirements.txt).") from None
    if accelerator is None:
        from course_utils.device import get_device

        cpu = (torch.device(device) if device is not None else get_device()).type == "cpu"
        amp_dtype = _amp_dtype(accelerate.PartialState(cpu=cpu).device, mixed_precision)
        precision = {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(amp_dtype, "no")
        accelerator = accelerate.Accelerator(cpu=cpu, mixed_precision=precision,
                                             dataloader_config=accelerate.DataLoaderConfiguration(split_batches=True))
        if accelerator.num_processes != _launched_processes():
            raise CourseError(f"{_launched_processes()} processes were started, but accelerate connected "
                              f"{accelerator.num_processes} on {accelerator.device.type}: every process would "
                              "train alone. Fix: train on CUDA GPUs, or on the CPU with device='cpu' (or "
                              "COURSE_DEVICE=cpu) under torchrun --nproc_per_node N.")
    if accelerator.split_batches and batch_size % accelerator.num_processes:
        raise CourseError(f"batch_size={batch_size} cannot be split evenly over {accelerator.num_processes} "
                          f"processes. Fix: a batch_size that is a multiple of {accelerator.num_processes}.")
    return accelerator


def _val_batch_size(batch_size: int, accelerator) -> int:
    """Validation batches: 64 texts or ``batch_size``, a multiple of the process count when batches are split."""
    size = max(64, batch_size)
    if accelerator is not None and accelerator.split_batches:
        size = -(-size // accelerator.num_processes) * accelerator.num_processes
    return size


def _train_step_distributed(accelerator, model, batch, weights, optimizer, scheduler, max_grad_norm,
                            step: int, epoch: int, lr: float) -> tuple[float, int]:
    """One optimizer step on this process's part of the batch; returns (loss of the whole batch, correct here).

    ``accelerator.backward`` averages the gradients over the processes. The loss is averaged
    too, so every process records the same value and a NaN stops all of them at once.
    """
    outputs = model(**batch)
    loss = _loss(outputs, batch["labels"], weights)
    loss_value = float(accelerator.reduce(loss.detach().float(), "mean"))
    if not math.isfinite(loss_value):
        raise _loss_not_finite(loss_value, step, epoch, lr)
    accelerator.backward(loss)
    if max_grad_norm:
        accelerator.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return loss_value, int((outputs.logits.detach().argmax(dim=-1) == batch["labels"]).sum())


def _sum_over_processes(accelerator, *counts: int) -> list[int]:
    """Each count added up over all processes (one collective call)."""
    totals = accelerator.reduce(torch.tensor(counts, dtype=torch.long, device=accelerator.device), "sum")
    return [int(total) for total in totals.tolist()]


def _gathered_logits(accelerator, model, shards) -> tuple[np.ndarray, np.ndarray]:
    """Logits and labels of the whole validation set: each process scores its part of every batch.

    ``gather_for_metrics`` drops the texts accelerate repeats to fill the last batch, so
    every process gets each validation text exactly once (in batch order, not the frame's:
    the scores do not depend on the order).
    """
    logit_parts, label_parts = [], []
    model.eval()
    with torch.no_grad():
        for batch in shards:
            batch = dict(batch)
            labels = batch.pop("labels")
            logits, labels = accelerator.gather_for_metrics((model(**batch).logits.float(), labels))
            logit_parts.append(logits.cpu().numpy())
            label_parts.append(labels.cpu().numpy())
    return np.concatenate(logit_parts), np.concatenate(label_parts)


def train(model, tokenizer, train_df, val_df=None, *, epochs: int | None = None, batch_size: int = 16,
          lr: float | None = None, weight_decay: float = 0.01, warmup_ratio: float | None = None,
          head_lr_multiplier: float | None = None, max_length: int = 128,
          max_grad_norm: float | None = 1.0, seed: int = 42, device=None, mixed_precision="auto",
          class_weights: Sequence[float] | None = None, early_stopping_patience: int | None = None,
          keep_best: bool = True, select_metric: str | None = None, positive: int = 1,
          optimizer: str = "adamw", schedule: str = "linear", checkpoint_dir: str | Path | None = None,
          progress: bool = True, group_by_length: bool = True, accelerator=None) -> TrainResult:
    """Fine-tune ``model`` on ``train_df``, validating on ``val_df`` each epoch (notebook 04).

    ``lr``, ``epochs``, ``warmup_ratio`` and ``head_lr_multiplier`` default to the recipe of
    the model's family (:func:`course_utils.models.recipe_for_model`: on the packaged 6-layer
    MiniLM a peak rate of 1e-4 for 3 epochs with 10 times that rate for the pooler and the new
    classification layer; 3e-5 for 3 epochs on BERT-base).

    The loop of notebook 04: AdamW (no weight decay on biases and LayerNorm weights)
    with linear warmup over ``warmup_ratio`` of the steps then linear decay
    (``optimizer="adam", schedule="constant"`` gives a common tutorial's recipe instead),
    length-grouped dynamic padding, gradient clipping at ``max_grad_norm``, mixed
    precision on CUDA (bf16 where supported, else fp16 with a gradient scaler;
    ``mixed_precision="no"`` turns it off). ``class_weights`` (one per class) switches
    to a weighted cross-entropy, for imbalanced data (notebook 06).

    With ``val_df`` the best epoch by ``select_metric`` (``"f1"`` of class ``positive``
    for two classes, ``"macro_f1"`` for more; also ``"accuracy"`` or ``"loss"``) is
    restored at the end (``keep_best``), and ``early_stopping_patience`` stops after that
    many epochs without a lower validation loss. With ``checkpoint_dir`` each finished
    epoch is saved there (safetensors, written atomically); calling ``train`` again with
    the same settings resumes after the last saved epoch and ends with the same weights
    as an uninterrupted run. ``train_df`` may also be a DataLoader yielding batches with
    ``labels``. The model is trained in place; the result holds the history.

    Several processes or GPUs: run the same script under ``accelerate launch`` or
    ``torchrun``. Each process then trains on its part of every batch of ``batch_size``
    texts (``batch_size`` must divide by the number of processes), the validation logits
    are gathered from all of them, and only the main process prints and writes
    checkpoints. Each process uses its own GPU (``device="cpu"``, or no GPU: the CPU).
    An ``accelerate.Accelerator`` of your own can be passed as ``accelerator``.
    """
    from course_utils.device import get_device
    from course_utils.models import recipe_for_model

    started = time.perf_counter()
    recipe = recipe_for_model(model)  # the settings not given come from the model family's recipe
    epochs = recipe.epochs if epochs is None else epochs
    lr = recipe.lr if lr is None else lr
    warmup_ratio = recipe.warmup_ratio if warmup_ratio is None else warmup_ratio
    head_lr_multiplier = recipe.head_lr_multiplier if head_lr_multiplier is None else head_lr_multiplier
    if epochs < 1:
        raise CourseError(f"epochs must be at least 1, got {epochs}.")
    if early_stopping_patience is not None and early_stopping_patience < 1:
        raise CourseError(f"early_stopping_patience must be at least 1 (or None), got {early_stopping_patience}.")
    num_labels = _num_labels(model)
    metric = _select_metric(select_metric, num_labels)
    _check_max_length(model, max_length)
    max_positions = _max_positions(model)
    accelerator = _distributed_accelerator(accelerator, mixed_precision, batch_size, device)  # None: one process
    if accelerator is None:
        device = torch.device(device) if device is not None else get_device()
        amp_dtype = _amp_dtype(device, mixed_precision)
    else:  # each process has its own device; accelerate applies the mixed precision
        device, amp_dtype = accelerator.device, None
        progress = progress and accelerator.is_main_process
    weights = _class_weights(class_weights, num_labels, device)
    if isinstance(train_df, pd.DataFrame):
        _check_frame(train_df, "train_df", need_labels=True)
        check_labels_match_model(model, train_df, "train_df", require_all_classes=True)
    if isinstance(val_df, pd.DataFrame):
        _check_frame(val_df, "val_df", need_labels=True)
        check_labels_match_model(model, val_df, "val_df")
    train_loader = _as_loader(train_df, tokenizer, "train_df", batch_size=batch_size, max_length=max_length,
                              shuffle=True, seed=seed, need_labels=True, group_by_length=group_by_length)
    val_loader = None if val_df is None else _as_loader(
        val_df, tokenizer, "val_df", batch_size=_val_batch_size(batch_size, accelerator), max_length=max_length,
        shuffle=False, seed=seed, need_labels=True)
    _check_all_batches(train_loader, num_labels, max_positions)  # bad labels fail here, before any weight changes
    if val_loader is not None:
        _check_all_batches(val_loader, num_labels, max_positions)

    set_seed(seed)
    model.to(device)
    optimizer_obj = make_optimizer(model, lr, weight_decay, optimizer, head_lr_multiplier)
    total_steps = epochs * len(train_loader)
    scheduler = make_scheduler(optimizer_obj, total_steps, warmup_ratio, schedule)
    scaler = _grad_scaler(amp_dtype == torch.float16, device.type)

    history: list[dict] = []
    epoch_rows: list[dict] = []
    best_value = math.inf if metric == "loss" else -math.inf
    best_loss, best_epoch, best_state = math.inf, epochs, None
    lowest_val_loss, epochs_without_gain = math.inf, 0
    real_tokens = padded_tokens = 0
    train_seconds = 0.0
    train_samples = 0
    first_epoch = 1
    stopped_early = False
    checkpoint_folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    fingerprint = _fingerprint(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                               warmup_ratio=warmup_ratio, head_lr_multiplier=head_lr_multiplier,
                               max_length=max_length, seed=seed, optimizer=optimizer,
                               schedule=schedule, select_metric=metric, train_size=len(train_loader.dataset)
                               if hasattr(train_loader, "dataset") else len(train_loader), num_labels=num_labels)
    if checkpoint_folder is not None:
        found = _load_checkpoint(checkpoint_folder, fingerprint)
        if found is not None:
            from safetensors.torch import load_file

            folder, state = found
            model.load_state_dict(load_file(str(folder / "model.safetensors"), device=str(device)))
            extra = torch.load(folder / "optimizer.pt", map_location="cpu", weights_only=True)
            optimizer_obj.load_state_dict(extra["optimizer"])
            scheduler.load_state_dict(extra["scheduler"])
            scaler.load_state_dict(extra["scaler"])
            torch.set_rng_state(extra["torch_rng"])
            if extra["cuda_rng"] and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(extra["cuda_rng"])
            if (folder / "best.safetensors").is_file():
                best_state = load_file(str(folder / "best.safetensors"))
            history, epoch_rows = state["history"], state["epochs"]
            best_value, best_loss, best_epoch = state["best_value"], state["best_loss"], state["best_epoch"]
            lowest_val_loss, epochs_without_gain = state["lowest_val_loss"], state["epochs_without_gain"]
            real_tokens, padded_tokens = state["real_tokens"], state["padded_tokens"]
            train_seconds, train_samples = state["train_seconds"], state["train_samples"]
            stopped_early = state.get("stopped_early", False)
            first_epoch = state["epoch"] + 1
            if progress:
                print(f"resuming from the checkpoint of epoch {state['epoch']} in {folder}")
    resumed_from = first_epoch - 1
    trained, train_batches, val_batches = model, train_loader, val_loader
    if accelerator is not None:  # model wrapped for syncing gradients; each process gets its part of every batch
        trained, optimizer_obj, train_batches, scheduler = accelerator.prepare(
            model, optimizer_obj, train_loader, scheduler)
        if isinstance(val_loader, DataLoader):
            val_batches = accelerator.prepare(val_loader)

    bar = _progress_bar(total_steps, progress)
    bar.update(len(history))
    for epoch in range(first_epoch, epochs + 1):
        if stopped_early:
            break
        sampler = getattr(train_loader, "batch_sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch - 1)
        trained.train()
        epoch_start = time.perf_counter()
        losses, samples, correct = [], 0, 0
        tokens_before = (real_tokens, padded_tokens)
        for batch in train_batches:
            check_batch(batch, num_labels, max_positions)
            real_tokens += int(batch["attention_mask"].sum())
            padded_tokens += batch["attention_mask"].numel()
            batch = _to_device(batch, device)
            step_lr = optimizer_obj.param_groups[0]["lr"]  # the rate this step uses
            if accelerator is None:
                loss_value, step_correct = _train_step(model, batch, device, amp_dtype, weights, optimizer_obj,
                                                       scheduler, scaler, max_grad_norm, len(history) + 1, epoch,
                                                       lr, batch_size)
            else:
                loss_value, step_correct = _train_step_distributed(accelerator, trained, batch, weights, optimizer_obj,
                                                                   scheduler, max_grad_norm, len(history) + 1,
                                                                   epoch, lr)
            losses.append(loss_value)
            samples += len(batch["labels"])
            correct += step_correct
            history.append({"step": len(history) + 1, "epoch": epoch, "train_loss": loss_value, "lr": step_lr})
            bar.update(1)
            bar.set_postfix(epoch=epoch, loss=f"{loss_value:.3f}", refresh=False)
        epoch_seconds = time.perf_counter() - epoch_start
        if accelerator is not None:  # each process saw its part of every batch: add the parts up, once an epoch
            samples, correct, epoch_real, epoch_padded = _sum_over_processes(
                accelerator, samples, correct, real_tokens - tokens_before[0], padded_tokens - tokens_before[1])
            real_tokens, padded_tokens = tokens_before[0] + epoch_real, tokens_before[1] + epoch_padded
        train_seconds += epoch_seconds
        train_samples += samples
        row = {"epoch": epoch, "train_loss": float(np.mean(losses)) if losses else float("nan"),
               "train_accuracy": correct / samples if samples else float("nan")}
        if val_loader is not None:
            if val_batches is not val_loader:  # several processes: each scores its part, the logits are gathered
                scores = _scores(*_gathered_logits(accelerator, model, val_batches), None, positive)
            else:
                scores = _evaluate_loader(model, val_loader, device, None, positive=positive)  # full precision: as evaluate()
            row.update({f"val_{key}": value for key, value in scores.items()})
        row.update({"seconds": epoch_seconds, "samples_per_s": samples / epoch_seconds if epoch_seconds else 0.0})
        epoch_rows.append(row)
        if progress:
            line = f"epoch {epoch}: train loss {row['train_loss']:.4f}"
            if val_loader is not None:
                line += f", val loss {row['val_loss']:.4f}"
                if metric != "loss":
                    line += f", val {metric} {row[f'val_{metric}']:.3f}"
            bar.write(line)

        if val_loader is not None:
            if _better(row, metric, best_value, best_loss):
                best_value = row["val_loss"] if metric == "loss" else row[f"val_{metric}"]
                best_loss, best_epoch = row["val_loss"], epoch
                if keep_best:
                    best_state = {key: value.detach().to("cpu", copy=True) for key, value in model.state_dict().items()}
            if row["val_loss"] < lowest_val_loss:
                lowest_val_loss, epochs_without_gain = row["val_loss"], 0
            else:
                epochs_without_gain += 1
            if early_stopping_patience is not None and epochs_without_gain >= early_stopping_patience:
                stopped_early = True
                if progress:
                    bar.write(f"early stopping after epoch {epoch}: no lower validation loss for "
                              f"{epochs_without_gain} epoch(s)")
        if checkpoint_folder is not None:
            state = {"fingerprint": fingerprint, "epoch": epoch, "history": history, "epochs": epoch_rows,
                     "best_value": best_value, "best_loss": best_loss, "best_epoch": best_epoch,
                     "lowest_val_loss": lowest_val_loss, "epochs_without_gain": epochs_without_gain,
                     "real_tokens": real_tokens, "padded_tokens": padded_tokens, "train_seconds": train_seconds,
                     "train_samples": train_samples, "stopped_early": stopped_early}
            if accelerator is None or accelerator.is_main_process:
                _save_checkpoint(checkpoint_folder, model, optimizer_obj, scheduler, scaler, state,
                                 best_state if best_epoch != epoch else None)
            if accelerator is not None:
                accelerator.wait_for_everyone()
    bar.close()

    last_epoch = epoch_rows[-1]["epoch"]
    if val_loader is None or not keep_best:
        best_epoch = last_epoch
        best_value = float(epoch_rows[-1].get(f"val_{metric}", float("nan")))
    elif best_state is not None and best_epoch != last_epoch:
        model.load_state_dict(best_state)
        if progress:
            print(f"restored the weights of epoch {best_epoch} (best validation {metric} {best_value:.3f})")
    model.eval()
    if accelerator is not None:  # hand back the plain model (no accelerate wrapper left on its forward)
        accelerator.unwrap_model(trained, keep_fp32_wrapper=False)
        accelerator.wait_for_everyone()
    return TrainResult(
        history=pd.DataFrame(history, columns=["step", "epoch", "train_loss", "lr"]),
        epochs=pd.DataFrame(epoch_rows),
        best_epoch=int(best_epoch),
        seconds=time.perf_counter() - started,
        samples_per_second=train_samples / train_seconds if train_seconds else 0.0,
        padding_efficiency=real_tokens / padded_tokens if padded_tokens else 1.0,
        select_metric=metric,
        best_value=float(best_value),
        truncated=int(getattr(getattr(train_loader, "dataset", None), "truncated", 0)),
        resumed_from=resumed_from,
        stopped_early=stopped_early,
    )


# ---------------------------------------------------------------------------
# Which learning rate? A range test
# ---------------------------------------------------------------------------


@dataclass
class LearningRateSearch:
    """What :func:`find_learning_rate` measured (notebook 04).

    ``curve``: one row per step (``lr``, ``loss``, ``smoothed``: an exponential moving
    average of the loss, bias-corrected). ``suggested``: a tenth of the rate at the lowest
    smoothed loss (the loss is still falling steeply there, safely below where it turns
    up). ``stopped_at``: the rate at which the loss blew up (4x its lowest), or None.
    """

    curve: pd.DataFrame
    suggested: float
    lowest_loss_lr: float
    stopped_at: float | None


def find_learning_rate(model, tokenizer, train_df: pd.DataFrame, *, start_lr: float = 1e-7, end_lr: float = 1e-2,
                       steps: int = 60, batch_size: int = 16, max_length: int = 128, weight_decay: float = 0.01,
                       smoothing: float = 0.9, seed: int = 42, device=None) -> LearningRateSearch:
    """A learning-rate range test, as fast.ai's ``lr_find`` (notebook 04).

    Trains for ``steps`` batches with the rate rising exponentially from ``start_lr`` to
    ``end_lr``, records the loss at each rate, stops once the loss blows up, and then puts
    the model's weights back as they were: the model is not changed. Plot the curve with
    :func:`course_utils.plots.plot_learning_rate_search`; a good peak rate for
    :func:`train` lies where the loss falls fastest, about a tenth of the rate at its lowest.
    """
    from course_utils.device import get_device

    if not 0 < start_lr < end_lr:
        raise CourseError(f"start_lr and end_lr must satisfy 0 < start_lr < end_lr; got {start_lr:g}, {end_lr:g}.")
    if steps < 10:
        raise CourseError(f"steps={steps} is too few to draw a curve; use 50 or more.")
    _check_frame(train_df, "train_df", need_labels=True)
    check_labels_match_model(model, train_df, "train_df")
    device = torch.device(device) if device is not None else get_device()
    saved = {key: value.detach().to("cpu", copy=True) for key, value in model.state_dict().items()}
    set_seed(seed)
    model.to(device)
    loader = make_loader(tokenizer, train_df, batch_size=batch_size, max_length=max_length, shuffle=True, seed=seed)
    optimizer = make_optimizer(model, start_lr, weight_decay)
    factor = (end_lr / start_lr) ** (1 / (steps - 1))
    rows, average, lowest, stopped_at = [], 0.0, math.inf, None
    model.train()
    try:
        step = 0
        while step < steps:
            for batch in loader:
                rate = start_lr * factor ** step
                for group in optimizer.param_groups:
                    group["lr"] = rate
                loss = model(**_to_device(batch, device)).loss
                loss_value = float(loss.detach())
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                average = smoothing * average + (1 - smoothing) * loss_value
                smoothed = average / (1 - smoothing ** step)
                rows.append({"step": step, "lr": rate, "loss": loss_value, "smoothed": smoothed})
                lowest = min(lowest, smoothed)
                if not math.isfinite(loss_value) or (step > 5 and smoothed > 4 * lowest):
                    stopped_at = rate
                    break
                if step >= steps:
                    break
            if stopped_at is not None:
                break
    finally:
        model.load_state_dict(saved)
        model.eval()
    curve = pd.DataFrame(rows)
    best_row = curve.loc[curve["smoothed"].idxmin()]
    return LearningRateSearch(curve, float(best_row["lr"]) / 10, float(best_row["lr"]), stopped_at)


# ---------------------------------------------------------------------------
# Evaluation and prediction
# ---------------------------------------------------------------------------


def _logits_in_order(model, loader, device: torch.device, amp_dtype=None) -> tuple[np.ndarray, np.ndarray | None]:
    """Logits (float32) and labels for every text, back in the frame's original order.

    Always in ``model.eval()`` mode (dropout off) with no gradients: a model left in
    training mode would give different scores on every call. A loader from
    :func:`make_loader` batches texts by length; its batch sampler says which rows each
    batch holds. Any other iterable of batches is taken in its own order.
    """
    sampler = getattr(loader, "batch_sampler", None)
    batches = sampler.batches() if isinstance(sampler, LengthGroupedBatchSampler) else None
    logit_parts, label_parts, rows = [], [], []
    model.eval()
    with torch.no_grad():
        for position, batch in enumerate(loader):
            batch = dict(batch)
            labels = batch.pop("labels", None)
            batch = _to_device(batch, device)
            with _autocast(device, amp_dtype):
                logits = model(**batch).logits
            logit_parts.append(logits.float().cpu().numpy())
            if labels is not None:
                label_parts.append(labels.cpu().numpy())
            rows.extend(batches[position] if batches is not None else
                        range(len(rows), len(rows) + len(logit_parts[-1])))
    if not logit_parts:
        return np.zeros((0, int(model.config.num_labels)), dtype=np.float32), None
    order = np.argsort(np.asarray(rows), kind="stable")
    logits_out = np.concatenate(logit_parts)[order]
    labels_out = np.concatenate(label_parts)[order] if len(label_parts) == len(logit_parts) else None
    return logits_out, labels_out


def _softmax(logits: np.ndarray) -> np.ndarray:
    return torch.softmax(torch.from_numpy(logits), dim=-1).numpy()


def _scores(logits: np.ndarray, labels: np.ndarray, threshold: float | None, positive: int = 1) -> dict[str, float]:
    loss = float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels)))
    num_labels = logits.shape[1]
    if threshold is None:
        predictions = logits.argmax(axis=1)
    else:
        predictions = np.where(_softmax(logits)[:, positive] >= threshold, positive, 1 - positive).astype(np.int64)
    averages = average_scores(labels, predictions, tuple(str(i) for i in range(num_labels)))
    scores = {"loss": loss, "accuracy": averages["accuracy"], "macro_f1": averages["macro_f1"],
              "weighted_f1": averages["weighted_f1"]}
    if num_labels == 2:
        binary = classification_scores(labels, predictions, positive=positive)
        scores.update({"precision": binary["precision"], "recall": binary["recall"], "f1": binary["f1"]})
    return scores


def _evaluate_loader(model, loader, device, amp_dtype=None, threshold=None, positive: int = 1) -> dict[str, float]:
    logits, labels = _logits_in_order(model, loader, device, amp_dtype)
    return _scores(logits, labels, threshold, positive)


def evaluate(model, tokenizer, frame: pd.DataFrame, *, batch_size: int = 64, max_length: int = 128,
             device=None, threshold: float | None = None, positive: int = 1) -> dict[str, float]:
    """Loss, accuracy, macro and weighted F1 of ``model`` on ``frame``; for two classes also
    precision, recall and F1 of class ``positive`` (notebook 04).

    Runs in ``model.eval()`` mode with no gradients. Predictions are the largest logit
    (argmax); with two classes, ``threshold`` calls a text positive when its positive-class
    probability is ``>= threshold`` (notebook 05 moves it). Scores come from
    :mod:`course_utils.metrics` (scikit-learn).
    """
    from course_utils.device import get_device

    _check_frame(frame, "frame", need_labels=True)
    num_labels = _num_labels(model)
    _check_max_length(model, max_length)
    check_labels_match_model(model, frame, "frame")
    if threshold is not None:
        if num_labels != 2:
            raise CourseError(f"threshold is a two-class idea; this model has {num_labels} classes. "
                              "Fix: leave threshold out (argmax picks the most probable class).")
        if not 0.0 <= threshold <= 1.0:
            raise CourseError(f"threshold is a probability of the positive class, between 0 and 1; got {threshold}.")
    if positive not in range(num_labels):
        raise CourseError(f"positive={positive} is not a class number of this model (0..{num_labels - 1}).")
    device = torch.device(device) if device is not None else get_device()
    model.to(device)
    loader = make_loader(tokenizer, frame, batch_size=batch_size, max_length=max_length)
    return _evaluate_loader(model, loader, device, None, threshold, positive)


def predict_proba(model, tokenizer, texts: Sequence[str] | str, *, batch_size: int = 64, max_length: int = 128,
                  device=None) -> np.ndarray:
    """Class probabilities (softmax of the logits), shape ``(n, num_labels)``, in the order given (notebook 04).

    Column ``i`` is the probability of class ``i`` (``model.config.id2label[i]``). Runs in
    eval mode with no gradients, batching texts of similar length together.
    """
    from course_utils.device import get_device

    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    if not texts:
        return np.zeros((0, int(model.config.num_labels)), dtype=np.float32)
    _check_max_length(model, max_length)
    device = torch.device(device) if device is not None else get_device()
    model.to(device)
    loader = make_loader(tokenizer, pd.DataFrame({"text": texts}), batch_size=batch_size, max_length=max_length)
    logits, _ = _logits_in_order(model, loader, device)
    return _softmax(logits)


def predict_labels(model, tokenizer, texts: Sequence[str] | str, *, threshold: float | None = None,
                   positive: int = 1, **kwargs) -> pd.DataFrame:
    """One row per text: the predicted class name and its probability (notebooks 07 and 08).

    With two classes and a ``threshold`` (for example the one saved with the model),
    a text is class ``positive`` when that class's probability reaches the threshold.
    Extra keyword arguments go to :func:`predict_proba`.
    """
    probabilities = predict_proba(model, tokenizer, texts, **kwargs)
    texts = [texts] if isinstance(texts, str) else list(texts)
    return labels_from_probabilities(model, texts, probabilities, threshold=threshold, positive=positive)


def labels_from_probabilities(model, texts: Sequence[str], probabilities: np.ndarray, *, threshold: float | None = None,
                              positive: int = 1) -> pd.DataFrame:
    """:func:`predict_labels` from probabilities already computed (``predict_proba`` output)."""
    names = [model.config.id2label[i] for i in range(probabilities.shape[1])]
    if threshold is not None:
        if probabilities.shape[1] != 2:
            raise CourseError(f"threshold is a two-class idea; this model has {probabilities.shape[1]} classes.")
        predicted = np.where(probabilities[:, positive] >= threshold, positive, 1 - positive)
    else:
        predicted = probabilities.argmax(axis=1)
    return pd.DataFrame({"text": list(texts), "label": [names[i] for i in predicted],
                         "probability": probabilities[np.arange(len(predicted)), predicted]})
