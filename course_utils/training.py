"""The fine-tuning loop of notebook 04 behind one call: :func:`train`, :func:`evaluate`, :func:`predict_proba`.

Introduced in notebook 04 (the training loop), after the loop has been written out
cell by cell; used by every later notebook. What it does, in the order notebook 04
builds it:

- tokenizes the messages once, then pads each batch only to its longest message
  (dynamic padding), with batches made of messages of similar length
  (:func:`make_loader`);
- AdamW with weight decay (none on biases and LayerNorm weights) and a linear
  warmup-then-decay learning rate, gradient clipping, ``model.train()`` for
  training and ``model.eval()`` with no gradients for validation;
- validation each epoch, the best epoch's weights (by validation spam F1) kept and
  restored at the end, optional early stopping on the validation loss;
- mixed precision on a CUDA GPU: bf16 where the GPU has it in hardware, fp16 with a
  gradient scaler on older GPUs such as Colab's T4; full precision on CPU and MPS;
- a ``tqdm.auto`` progress bar (``progress=False`` silences it) and a seed.

Bad input (no labels, labels outside ``0..num_labels-1``) raises
:class:`~course_utils.errors.CourseError` before any weight changes. Nothing runs
at import time.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset, Sampler

from course_utils.errors import CourseError
from course_utils.metrics import classification_scores

MEGA_BATCH = 100  # length grouping sorts chunks of this many batches (1,600 messages at batch 16)
SPAM = 1


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


class EncodedMessages(Dataset):
    """Messages tokenized once (no padding yet) with their labels, if any (notebook 04)."""

    def __init__(self, tokenizer, texts: Sequence[str], labels: Sequence[int] | None = None, max_length: int = 128):
        texts = [str(text) for text in texts]
        encoded = tokenizer(texts, truncation=True, max_length=max_length)
        self.features = {key: list(values) for key, values in encoded.items()
                         if key in ("input_ids", "attention_mask", "token_type_ids")}
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
    """Batches of indices; with ``group_by_length``, each batch holds messages of similar length.

    Shuffled: the messages are shuffled, cut into chunks of ``MEGA_BATCH`` batches,
    each chunk is sorted by length and cut into batches, then the order of the
    batches is shuffled (so long and short batches alternate). Not shuffled:
    grouping sorts all messages by length (fastest for prediction; callers put
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
    """Pad a list of tokenized messages to the longest one in the list (dynamic padding)."""
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
                          "Fix: name the message column 'text'.")
    if need_labels and "label_id" not in frame.columns:
        hint = (" It has 'label': the model needs class numbers, in 'label_id' (0 ham, 1 spam)."
                if "label" in frame.columns else "")
        raise CourseError(f"{name} has no 'label_id' column, so there are no labels to train on: without "
                          f"labels the model returns no loss.{hint} Fix: add 'label_id' with class numbers, "
                          "as course_utils.data.load_splits() does.")
    if len(frame) == 0:
        raise CourseError(f"{name} is empty: it needs at least one message.")


def make_loader(tokenizer, frame: pd.DataFrame, *, batch_size: int = 16, max_length: int = 128,
                shuffle: bool = False, group_by_length: bool = True, seed: int = 42) -> DataLoader:
    """A DataLoader over ``frame`` (columns ``text`` and, if present, ``label_id``) (notebook 04).

    The messages are tokenized once here, truncated to ``max_length`` tokens; each
    batch is padded only to its own longest message. With ``group_by_length`` the
    batches hold messages of similar length, so little compute goes to padding.
    Batches are dicts with ``input_ids``, ``attention_mask``, ``token_type_ids`` (BERT)
    and ``labels`` (when the frame has ``label_id``): the keys the model's
    ``forward`` takes, so ``model(**batch)`` works.
    """
    _check_frame(frame, "frame", need_labels=False)
    if tokenizer.pad_token_id is None:
        raise CourseError("The tokenizer has no padding token, so batches cannot be padded. "
                          "Fix: tokenizer.pad_token = tokenizer.eos_token (or another token).")
    labels = frame["label_id"].tolist() if "label_id" in frame.columns else None
    dataset = EncodedMessages(tokenizer, frame["text"].tolist(), labels, max_length=max_length)
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


def check_batch(batch: Mapping, num_labels: int) -> None:
    """Raise :class:`CourseError` unless ``batch`` carries valid ``labels`` (notebook 03).

    ``model(**batch)`` computes a loss only from a key named exactly ``labels``:
    without it ``outputs.loss`` is ``None`` and ``loss.backward()`` fails with an
    ``AttributeError``. Label values must be class numbers ``0..num_labels-1``.
    """
    if "labels" not in batch:
        keys = sorted(batch.keys())
        near = [key for key in keys if key in ("label", "label_id", "label_ids", "target", "targets", "y")]
        hint = (f" The batch has {near[0]!r}: the model takes the answers only under the keyword 'labels' "
                f"(other names are rejected or ignored, depending on the transformers version). "
                f"Fix: rename {near[0]!r} to 'labels'." if near else
                " Fix: add the class numbers under the key 'labels' (a LongTensor, one per message).")
        raise CourseError(f"The batch has no 'labels' (keys: {keys}), so the model would return loss=None "
                          f"and loss.backward() would fail.{hint}")
    check_label_values(batch["labels"], num_labels, "batch['labels']")


def check_label_values(labels, num_labels: int, name: str = "labels") -> None:
    """Raise :class:`CourseError` naming any label outside ``0..num_labels-1``."""
    values = labels if isinstance(labels, torch.Tensor) else torch.as_tensor(np.array(labels))
    if values.numel() == 0:
        return
    if values.is_floating_point() and not bool(torch.all(values == values.round())):
        raise CourseError(f"{name} holds fractions ({sorted(set(values.flatten().tolist()))[:5]}): a classifier "
                          f"with num_labels={num_labels} needs class numbers 0..{num_labels - 1}.")
    if int(values.min()) >= 0 and int(values.max()) < num_labels:
        return
    bad = sorted({int(v) for v in values.flatten().tolist() if not 0 <= int(v) < num_labels})
    raise CourseError(f"{name} has values {bad[:10]} outside 0..{num_labels - 1}: the model has "
                      f"num_labels={num_labels}, so labels must be class numbers 0 to {num_labels - 1}. "
                      "Fix: map the labels to 0..num_labels-1 (ham 0, spam 1) or load the model with "
                      "more labels.")


def _num_labels(model) -> int:
    num_labels = int(getattr(model.config, "num_labels", 2))
    if num_labels < 2:
        raise CourseError(f"The model has num_labels={num_labels}: with one output transformers trains a "
                          "regression (MSE loss), not a classifier (notebook 02). Fix: load it with "
                          "num_labels=2 (two logits, softmax and cross-entropy).")
    return num_labels


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------


@dataclass
class TrainResult:
    """What :func:`train` measured (notebook 04).

    ``history``: one row per optimizer step (step, epoch, train_loss, lr).
    ``epochs``: one row per epoch (epoch, train_loss, val_loss, val_accuracy,
    val_precision, val_recall, val_f1, seconds, samples_per_s).
    ``best_epoch``: the epoch whose weights the model holds at the end.
    ``seconds``: wall time of the whole call; ``samples_per_second``: training
    messages per second of training steps (validation excluded);
    ``padding_efficiency``: real tokens / padded tokens over the training batches.
    """

    history: pd.DataFrame
    epochs: pd.DataFrame
    best_epoch: int
    seconds: float
    samples_per_second: float
    padding_efficiency: float


def _amp_dtype(device: torch.device, mixed_precision) -> torch.dtype | None:
    """bf16/fp16 for autocast on CUDA, None elsewhere or when switched off."""
    if device.type != "cuda" or mixed_precision in (None, False, "no", "none", "off"):
        return None
    if mixed_precision in ("auto", True):
        from course_utils.device import device_info

        return device_info(device).amp_dtype
    if mixed_precision in ("bf16", "bfloat16", torch.bfloat16):
        return torch.bfloat16
    if mixed_precision in ("fp16", "float16", torch.float16):
        return torch.float16
    raise CourseError(f"mixed_precision={mixed_precision!r} is not known: use 'auto', 'bf16', 'fp16' or 'no'.")


def _autocast(device: torch.device, amp_dtype: torch.dtype | None):
    if amp_dtype is None:
        return torch.autocast(device_type=device.type, enabled=False)
    return torch.autocast(device_type=device.type, dtype=amp_dtype)


def _grad_scaler(enabled: bool):
    if hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler("cuda", enabled=enabled)
    return torch.cuda.amp.GradScaler(enabled=enabled)  # torch < 2.3


def _to_device(batch: Mapping[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {key: value.to(device, non_blocking=True) for key, value in batch.items()}


def _optimizer(model, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW; biases and LayerNorm weights (the 1-D parameters) get no weight decay."""
    decay, no_decay = [], []
    for parameter in model.parameters():
        if parameter.requires_grad:
            (no_decay if parameter.ndim < 2 else decay).append(parameter)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    try:
        # fused: the whole update in one kernel per step; on a CPU the default
        # (foreach) AdamW takes longer than the forward pass of this small model
        return torch.optim.AdamW(groups, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):  # older torch (CPU fused needs 2.4) or an unusual device
        return torch.optim.AdamW(groups, lr=lr, foreach=False)


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
                          f"(ham, spam), got {list(class_weights)}.")
    return weights.to(device)


def _loss(outputs, labels: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """The model's own cross-entropy, or a class-weighted one computed from the logits."""
    if weights is None:
        return outputs.loss
    return F.cross_entropy(outputs.logits.float(), labels, weight=weights)


def _check_all_batches(loader, num_labels: int) -> None:
    """Check every batch's labels before training starts, so bad input changes no weights."""
    dataset = getattr(loader, "dataset", None)
    if isinstance(dataset, EncodedMessages):
        if dataset.labels is None:
            check_batch({key: None for key in dataset.features}, num_labels)
        check_label_values(dataset.labels, num_labels, "the training labels ('label_id')")
        return
    for batch in loader:
        check_batch(batch, num_labels)


def train(model, tokenizer, train_df, val_df=None, *, epochs: int = 2, batch_size: int = 16, lr: float = 5e-5,
          weight_decay: float = 0.01, warmup_ratio: float = 0.1, max_length: int = 128,
          max_grad_norm: float | None = 1.0, seed: int = 42, device=None, mixed_precision="auto",
          class_weights: Sequence[float] | None = None, early_stopping_patience: int | None = None,
          keep_best: bool = True, progress: bool = True, group_by_length: bool = True) -> TrainResult:
    """Fine-tune ``model`` on ``train_df``, validating on ``val_df`` each epoch (notebook 04).

    The loop of notebook 04: AdamW (no weight decay on biases and LayerNorm weights)
    with linear warmup over ``warmup_ratio`` of the steps then linear decay,
    length-grouped dynamic padding, gradient clipping at ``max_grad_norm``, mixed
    precision on CUDA (bf16 where supported, else fp16 with a gradient scaler;
    ``mixed_precision="no"`` turns it off). ``class_weights`` (one per class) switches
    to a weighted cross-entropy, for imbalanced data (notebook 06). With ``val_df``
    the best epoch by validation spam F1 is restored at the end (``keep_best``) and
    ``early_stopping_patience`` stops after that many epochs without a lower
    validation loss. ``group_by_length=False`` gives plain random batches (still padded
    per batch). ``train_df`` may also be a DataLoader yielding batches with ``labels``.
    The model is trained in place; the result holds the history.
    """
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    from course_utils.device import get_device

    started = time.perf_counter()
    if epochs < 1:
        raise CourseError(f"epochs must be at least 1, got {epochs}.")
    if early_stopping_patience is not None and early_stopping_patience < 1:
        raise CourseError(f"early_stopping_patience must be at least 1 (or None), got {early_stopping_patience}.")
    num_labels = _num_labels(model)
    device = torch.device(device) if device is not None else get_device()
    amp_dtype = _amp_dtype(device, mixed_precision)
    weights = _class_weights(class_weights, num_labels, device)
    train_loader = _as_loader(train_df, tokenizer, "train_df", batch_size=batch_size, max_length=max_length,
                              shuffle=True, seed=seed, need_labels=True, group_by_length=group_by_length)
    val_loader = None if val_df is None else _as_loader(
        val_df, tokenizer, "val_df", batch_size=max(64, batch_size), max_length=max_length,
        shuffle=False, seed=seed, need_labels=True)
    _check_all_batches(train_loader, num_labels)  # bad labels fail here, before any weight changes
    if val_loader is not None:
        _check_all_batches(val_loader, num_labels)

    set_seed(seed)
    model.to(device)
    optimizer = _optimizer(model, lr, weight_decay)
    total_steps = epochs * len(train_loader)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(warmup_ratio * total_steps), total_steps)
    scaler = _grad_scaler(amp_dtype == torch.float16)

    history: list[dict] = []
    epoch_rows: list[dict] = []
    best_f1, best_loss, best_epoch, best_state = -1.0, math.inf, epochs, None
    lowest_val_loss, epochs_without_gain = math.inf, 0
    real_tokens = padded_tokens = 0
    train_seconds = 0.0
    train_samples = 0
    bar = tqdm(total=total_steps, desc="training", unit="step", disable=not progress)
    for epoch in range(1, epochs + 1):
        sampler = getattr(train_loader, "batch_sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch - 1)
        model.train()
        epoch_start = time.perf_counter()
        losses, samples = [], 0
        for batch in train_loader:
            check_batch(batch, num_labels)
            real_tokens += int(batch["attention_mask"].sum())
            padded_tokens += batch["attention_mask"].numel()
            batch = _to_device(batch, device)
            with _autocast(device, amp_dtype):
                outputs = model(**batch)
            loss = _loss(outputs, batch["labels"], weights)
            scaler.scale(loss).backward()
            if max_grad_norm:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)

            loss_value = float(loss.detach())
            losses.append(loss_value)
            samples += len(batch["labels"])
            history.append({"step": len(history) + 1, "epoch": epoch, "train_loss": loss_value,
                            "lr": optimizer.param_groups[0]["lr"]})
            bar.update(1)
            bar.set_postfix(epoch=epoch, loss=f"{loss_value:.3f}")
        epoch_seconds = time.perf_counter() - epoch_start
        train_seconds += epoch_seconds
        train_samples += samples
        row = {"epoch": epoch, "train_loss": float(np.mean(losses)) if losses else float("nan")}
        if val_loader is not None:
            scores = _evaluate_loader(model, val_loader, device, amp_dtype)
            row.update({f"val_{key}": scores[key] for key in ("loss", "accuracy", "precision", "recall", "f1")})
        row.update({"seconds": epoch_seconds, "samples_per_s": samples / epoch_seconds if epoch_seconds else 0.0})
        epoch_rows.append(row)
        if progress:
            line = f"epoch {epoch}: train loss {row['train_loss']:.4f}"
            if val_loader is not None:
                line += f", val loss {row['val_loss']:.4f}, val spam F1 {row['val_f1']:.3f}"
            bar.write(line)

        if val_loader is not None:
            # best = highest spam F1; on a tie (e.g. 0.0 early on) the lower validation loss
            if row["val_f1"] > best_f1 or (row["val_f1"] == best_f1 and row["val_loss"] < best_loss):
                best_f1, best_loss, best_epoch = row["val_f1"], row["val_loss"], epoch
                if keep_best:
                    best_state = {key: value.detach().to("cpu", copy=True) for key, value in model.state_dict().items()}
            if row["val_loss"] < lowest_val_loss:
                lowest_val_loss, epochs_without_gain = row["val_loss"], 0
            else:
                epochs_without_gain += 1
            if early_stopping_patience is not None and epochs_without_gain >= early_stopping_patience:
                if progress:
                    bar.write(f"early stopping: no lower validation loss for {epochs_without_gain} epoch(s)")
                break
    bar.close()

    last_epoch = epoch_rows[-1]["epoch"]
    if val_loader is None or not keep_best:
        best_epoch = last_epoch
    elif best_state is not None and best_epoch != last_epoch:
        model.load_state_dict(best_state)
        if progress:
            print(f"restored the weights of epoch {best_epoch} (best validation spam F1 {best_f1:.3f})")
    model.eval()
    return TrainResult(
        history=pd.DataFrame(history, columns=["step", "epoch", "train_loss", "lr"]),
        epochs=pd.DataFrame(epoch_rows),
        best_epoch=int(best_epoch),
        seconds=time.perf_counter() - started,
        samples_per_second=train_samples / train_seconds if train_seconds else 0.0,
        padding_efficiency=real_tokens / padded_tokens if padded_tokens else 1.0,
    )


# ---------------------------------------------------------------------------
# Evaluation and prediction
# ---------------------------------------------------------------------------


def _logits_in_order(model, loader, device: torch.device, amp_dtype=None) -> tuple[np.ndarray, np.ndarray | None]:
    """Logits (float32) and labels for every message, back in the frame's original order.

    A loader from :func:`make_loader` batches messages by length; its batch sampler says
    which rows each batch holds. Any other iterable of batches is taken in its own order.
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


def _scores(logits: np.ndarray, labels: np.ndarray, threshold: float | None) -> dict[str, float]:
    loss = float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels)))
    if threshold is None:
        predictions = logits.argmax(axis=1)
    else:
        predictions = (_softmax(logits)[:, SPAM] >= threshold).astype(np.int64)
    return {"loss": loss, **classification_scores(labels, predictions, positive=SPAM)}


def _evaluate_loader(model, loader, device, amp_dtype=None, threshold=None) -> dict[str, float]:
    logits, labels = _logits_in_order(model, loader, device, amp_dtype)
    return _scores(logits, labels, threshold)


def evaluate(model, tokenizer, frame: pd.DataFrame, *, batch_size: int = 64, max_length: int = 128,
             device=None, threshold: float | None = None) -> dict[str, float]:
    """Loss, accuracy and spam precision/recall/F1 of ``model`` on ``frame`` (notebook 04).

    Runs in ``model.eval()`` mode with no gradients. Predictions are the larger
    logit (argmax), or spam when P(spam) >= ``threshold`` if one is given
    (notebook 05 moves it). Scores come from :func:`course_utils.metrics.classification_scores`.
    """
    from course_utils.device import get_device

    _check_frame(frame, "frame", need_labels=True)
    num_labels = _num_labels(model)
    check_label_values(frame["label_id"].to_numpy(), num_labels, "frame['label_id']")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise CourseError(f"threshold is a probability of spam, between 0 and 1; got {threshold}.")
    device = torch.device(device) if device is not None else get_device()
    model.to(device)
    loader = make_loader(tokenizer, frame, batch_size=batch_size, max_length=max_length)
    return _evaluate_loader(model, loader, device, None, threshold)


def predict_proba(model, tokenizer, texts: Sequence[str] | str, *, batch_size: int = 64, max_length: int = 128,
                  device=None) -> np.ndarray:
    """Class probabilities (softmax of the logits), shape ``(n, num_labels)``, in the order given (notebook 04).

    Column 1 is P(spam) for the course's ham/spam model. Runs in eval mode with no
    gradients, batching messages of similar length together.
    """
    from course_utils.device import get_device

    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    if not texts:
        return np.zeros((0, int(model.config.num_labels)), dtype=np.float32)
    device = torch.device(device) if device is not None else get_device()
    model.to(device)
    loader = make_loader(tokenizer, pd.DataFrame({"text": texts}), batch_size=batch_size, max_length=max_length)
    logits, _ = _logits_in_order(model, loader, device)
    return _softmax(logits)
