"""The fine-tuning loop of notebook 04 behind one call: :func:`train`, on ``accelerate``.

Introduced in notebook 04 (the training loop), after the loop has been written out cell by
cell; used by every later notebook. :func:`train` reads like that loop: prepare (batches,
optimizer, schedule, one ``accelerate.Accelerator``), then for each epoch one pass over the
training batches, a validation, and keeping the best epoch's weights. The settings are one
:class:`TrainSettings`, which checks itself; the command line builds its flags from it.

The same path serves one process and several (``accelerate launch``, ``torchrun``), the CPU
and CUDA, bf16 and fp16 (with accelerate's gradient scaler). An optional checkpoint folder
keeps the last finished epoch, and an interrupted run resumes from it to the same weights.
Classic mistakes raise :class:`~course_utils.errors.CourseError` before any weight changes
(:mod:`course_utils.guards`); a NaN loss stops training at that step with a hint.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import random
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader

from course_utils.batches import make_loader
from course_utils.errors import CourseError
from course_utils.guards import (
    check_batch,
    _check_frame,
    check_label_values,
    check_labels_match_model,
    _check_max_length,
    _max_positions_of,
    _num_labels_of,
)
from course_utils.prediction import _logits_in_order, _scores_from_logits
from course_utils.settings import TrainSettings

__all__ = ["set_seed", "TrainResult", "train", "_make_optimizer", "_make_scheduler",
           "LearningRateSearch", "find_learning_rate"]

_PROGRESS_ENV_VAR = "COURSE_PROGRESS"  # "text": a plain text bar on stderr (stored notebooks show its end)


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


# --- preparing a run ---------------------------------------------------------------------------


@dataclass
class _Run:
    """What one call of :func:`train` works with, once prepared."""

    settings: TrainSettings
    accelerator: object
    model: torch.nn.Module  # as prepared by accelerate (autocast, and DDP over several processes)
    raw_model: torch.nn.Module  # the caller's model, scored in full precision
    optimizer: object
    scheduler: object
    train_loader: object  # the caller's batches (its sampler is reseeded each epoch)
    train_batches: object  # as prepared: this process's part of each batch, on its device
    val_loader: object | None
    val_batches: object | None
    weights: torch.Tensor | None
    metric: str
    num_labels: int
    max_positions: int | None
    progress: bool


@dataclass
class _Progress:
    """Where a run is: what a checkpoint saves and a resumed run starts from."""

    epoch: int = 0
    history: list = field(default_factory=list)
    epochs: list = field(default_factory=list)
    best_value: float = math.nan
    best_loss: float = math.inf
    best_epoch: int = 0
    lowest_val_loss: float = math.inf
    epochs_without_gain: int = 0
    real_tokens: int = 0
    padded_tokens: int = 0
    train_seconds: float = 0.0
    train_samples: int = 0
    stopped_early: bool = False


def _amp_dtype(device: torch.device, mixed_precision) -> torch.dtype | None:
    """The autocast dtype for training on ``device``, or None for full precision.

    ``"auto"``: what :attr:`course_utils.device.DeviceInfo.amp_dtype` says (bf16 on a GPU
    or CPU with bf16 in hardware, fp16 on older GPUs, else full precision). Asking for
    bf16 where the hardware lacks it (a CPU without AVX-512 BF16 or AMX, Apple MPS, a
    CUDA GPU below compute capability 8.0 such as Colab's T4) raises :class:`CourseError`.
    """
    from course_utils.device import device_info

    if mixed_precision == "no":  # the names TrainSettings normalises to: "auto", "bf16", "fp16", "no"
        return None
    if mixed_precision == "auto":
        return device_info(device).amp_dtype if device.type in ("cuda", "cpu") else None
    if mixed_precision == "bf16":
        info = device_info(device) if device.type in ("cuda", "cpu") else None
        if info is None or not info.bf16:
            where = info.describe() if info is not None else f"{device.type}"
            raise CourseError(f"mixed_precision='bf16' needs bf16 in hardware: a CUDA GPU of compute capability "
                              f"8.0 or newer, or a CPU with AVX-512 BF16 or AMX; this device is {where}. "
                              "Fix: mixed_precision='auto' (fp16 with a gradient scaler on older GPUs, full "
                              "precision elsewhere) or 'no'.")
        return torch.bfloat16
    if device.type != "cuda":  # "fp16"
        raise CourseError(f"mixed_precision='fp16' needs a CUDA GPU; this device is {device.type}. "
                          "Fix: mixed_precision='auto' or 'no' (full precision).")
    return torch.float16


def _launched_processes() -> int:
    """How many processes ``accelerate launch`` or ``torchrun`` started (``WORLD_SIZE``; 1 otherwise)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def _make_accelerator(settings: TrainSettings, device=None):
    """One ``accelerate.Accelerator`` for this run: its device, its mixed precision, batches split over processes.

    ``split_batches=True`` splits every batch of ``batch_size`` texts over the processes, so N
    processes take the same optimizer steps on the same batches as one process does. On one
    process each call starts a fresh accelerate state, so one notebook can train in full
    precision and then in bf16.
    """
    import accelerate
    from accelerate.state import AcceleratorState

    from course_utils.device import get_device

    wanted = torch.device(device) if device is not None else get_device()
    if _launched_processes() <= 1:
        AcceleratorState._reset_state(reset_partial_state=True)
    amp_dtype = _amp_dtype(wanted if _launched_processes() <= 1 else accelerate.PartialState(
        cpu=wanted.type == "cpu").device, settings.mixed_precision)
    precision = {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(amp_dtype, "no")
    accelerator = accelerate.Accelerator(cpu=wanted.type == "cpu", mixed_precision=precision,
                                         dataloader_config=accelerate.DataLoaderConfiguration(split_batches=True))
    if accelerator.num_processes != _launched_processes():
        raise CourseError(f"{_launched_processes()} processes were started, but accelerate connected "
                          f"{accelerator.num_processes} on {accelerator.device.type}: every process would "
                          "train alone. Fix: train on CUDA GPUs, or on the CPU with device='cpu' (or "
                          "COURSE_DEVICE=cpu) under torchrun --nproc_per_node N.")
    return accelerator


def _as_loader(data, tokenizer, name: str, settings: TrainSettings, *, shuffle: bool, batch_size: int):
    if isinstance(data, pd.DataFrame):
        _check_frame(data, name, need_labels=True)
        return make_loader(tokenizer, data, batch_size=batch_size, max_length=settings.max_length, shuffle=shuffle,
                           group_by_length=settings.group_by_length, seed=settings.seed)
    if isinstance(data, (DataLoader, list, tuple)):
        return data
    raise CourseError(f"{name} must be a DataFrame with 'text' and 'label_id' (or a DataLoader of batches), "
                      f"got {type(data).__name__}.")


def _check_all_batches(loader, num_labels: int, max_positions: int | None) -> None:
    """Check every batch's labels before training starts, so bad input changes no weights."""
    labels = getattr(getattr(loader, "dataset", None), "labels", "not a course loader")
    if labels is None:
        check_batch({"input_ids": None}, num_labels)  # a frame without labels: refused with its hint
    if labels != "not a course loader":
        check_label_values(labels, num_labels, "the training labels ('label_id')")
        return
    for batch in loader:
        check_batch(batch, num_labels, max_positions)


def _select_metric(select_metric: str | None, num_labels: int) -> str:
    metric = select_metric or ("f1" if num_labels == 2 else "macro_f1")
    if metric == "f1" and num_labels != 2:
        raise CourseError(f"select_metric='f1' is the positive class's F1, a two-class score; this model has "
                          f"{num_labels} classes. Fix: select_metric='macro_f1' (the default for more classes).")
    return metric


def _prepare(model, tokenizer, train_df, val_df, settings: TrainSettings, device, accelerator, progress) -> _Run:
    """Check everything, build the batches, the optimizer and the schedule, and hand them to accelerate."""
    num_labels, max_positions = _num_labels_of(model), _max_positions_of(model)
    metric = _select_metric(settings.select_metric, num_labels)
    if settings.positive >= num_labels:
        raise CourseError(f"positive={settings.positive} is not a class number of this model (0..{num_labels - 1}).")
    if settings.class_weights is not None and len(settings.class_weights) != num_labels:
        raise CourseError(f"class_weights must be {num_labels} non-negative numbers, one per class "
                          f"(in class-number order), got {list(settings.class_weights)}.")
    _check_max_length(model, settings.max_length)
    accelerator = accelerator or _make_accelerator(settings, device)
    if accelerator.split_batches and settings.batch_size % accelerator.num_processes:
        raise CourseError(f"batch_size={settings.batch_size} cannot be split evenly over {accelerator.num_processes} "
                          f"processes. Fix: a batch_size that is a multiple of {accelerator.num_processes}.")
    for frame, name, all_classes in ((train_df, "train_df", True), (val_df, "val_df", False)):
        if isinstance(frame, pd.DataFrame):
            _check_frame(frame, name, need_labels=True)
            check_labels_match_model(model, frame, name, require_all_classes=all_classes)
    train_loader = _as_loader(train_df, tokenizer, "train_df", settings, shuffle=True, batch_size=settings.batch_size)
    val_size = -(-max(64, settings.batch_size) // accelerator.num_processes) * accelerator.num_processes
    val_loader = None if val_df is None else _as_loader(val_df, tokenizer, "val_df", settings, shuffle=False,
                                                          batch_size=val_size)
    for loader in (train_loader, val_loader):
        if loader is not None:
            _check_all_batches(loader, num_labels, max_positions)  # bad labels fail here, before any weight changes
    set_seed(settings.seed)
    model.to(accelerator.device)
    optimizer = _make_optimizer(model, settings.lr, settings.weight_decay, settings.optimizer,
                               settings.head_lr_multiplier)
    scheduler = _make_scheduler(optimizer, settings.epochs * len(train_loader), settings.warmup_ratio,
                               settings.schedule)
    weights = None if settings.class_weights is None else torch.tensor(settings.class_weights,
                                                                        device=accelerator.device)
    return _Run(settings, accelerator, model, model, optimizer, scheduler, train_loader, train_loader, val_loader,
                val_loader, weights, metric, num_labels, max_positions,
                progress and accelerator.is_main_process)


def _hand_to_accelerate(run: _Run) -> None:
    """Wrap the model, optimizer, schedule and batches: autocast, gradient sync and scaling, device placement."""
    run.model, run.optimizer, run.scheduler = run.accelerator.prepare(run.model, run.optimizer, run.scheduler)
    if isinstance(run.train_loader, DataLoader):
        run.train_batches = run.accelerator.prepare(run.train_loader)
    if isinstance(run.val_loader, DataLoader) and run.accelerator.num_processes > 1:
        run.val_batches = run.accelerator.prepare(run.val_loader)


# --- one epoch ---------------------------------------------------------------------------------

_OUT_OF_MEMORY = tuple({getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError), torch.cuda.OutOfMemoryError})


def _loss_not_finite(loss_value: float, step: int, epoch: int, lr: float) -> CourseError:
    return CourseError(
        f"The training loss became {loss_value} at step {step} (epoch {epoch}); training stopped there, "
        "before that step changed any weight. Fix: lower the learning rate (lr="
        f"{lr:g}; try {lr / 10:g}), keep gradient clipping on (max_grad_norm=1.0), and on a GPU try "
        "mixed_precision='bf16' or 'no' instead of fp16.")


def _loss(outputs, labels: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """The model's own cross-entropy, or a class-weighted one computed from the logits."""
    if weights is None:
        return outputs.loss
    return F.cross_entropy(outputs.logits.float(), labels, weight=weights)


def _train_step(run: _Run, batch: Mapping[str, torch.Tensor], step: int, epoch: int) -> tuple[float, int]:
    """One optimizer step; returns (loss of the whole batch, correct predictions here).

    Refuses a NaN/inf loss before ``backward``. ``accelerator.backward`` scales the loss
    under fp16 and averages the gradients over processes; the clipping sees unscaled
    gradients; a step whose fp16 gradients overflowed is skipped, and the schedule then
    does not move on.
    """
    accelerator, settings = run.accelerator, run.settings
    try:
        outputs = run.model(**batch)
        loss = _loss(outputs, batch["labels"], run.weights)
        loss_value = float(accelerator.reduce(loss.detach().float(), "mean"))  # the same on every process
        if not math.isfinite(loss_value):
            raise _loss_not_finite(loss_value, step, epoch, settings.lr)
        accelerator.backward(loss)
        if settings.max_grad_norm:
            accelerator.clip_grad_norm_(run.model.parameters(), settings.max_grad_norm)
        run.optimizer.step()
        run.scheduler.step()
        run.optimizer.zero_grad(set_to_none=True)
    except _OUT_OF_MEMORY:
        run.optimizer.zero_grad(set_to_none=True)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        raise CourseError(
            f"The GPU ran out of memory at step {step} (epoch {epoch}) with batch_size={settings.batch_size} and "
            f"texts of {int(batch['input_ids'].shape[1])} tokens. Fix: halve batch_size, lower max_length, or use "
            "mixed precision (mixed_precision='auto'); on Colab, Runtime > Restart session frees memory held "
            "by earlier cells.") from None
    return loss_value, int((outputs.logits.detach().argmax(dim=-1) == batch["labels"]).sum())


def _train_one_epoch(run: _Run, progress: _Progress, epoch: int, bar) -> dict:
    """One pass over the training batches (their order drawn anew for this epoch); returns the epoch's row."""
    for loader in (run.train_batches, getattr(run.train_loader, "batch_sampler", None)):
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch - 1)
    run.model.train()
    started, losses, samples, correct, real, padded = time.perf_counter(), [], 0, 0, 0, 0
    for batch in run.train_batches:
        batch = {key: value.to(run.accelerator.device) for key, value in batch.items()}
        check_batch(batch, run.num_labels, run.max_positions)
        step_lr = run.optimizer.param_groups[0]["lr"]  # the rate this step uses
        loss_value, step_correct = _train_step(run, batch, len(progress.history) + 1, epoch)
        losses.append(loss_value)
        samples, correct = samples + len(batch["labels"]), correct + step_correct
        real, padded = real + int(batch["attention_mask"].sum()), padded + batch["attention_mask"].numel()
        progress.history.append({"step": len(progress.history) + 1, "epoch": epoch, "train_loss": loss_value,
                                 "lr": step_lr})
        bar.update(1)
        bar.set_postfix(epoch=epoch, loss=f"{loss_value:.3f}", refresh=False)
    seconds = time.perf_counter() - started
    if run.accelerator.num_processes > 1:  # each process saw its part of every batch: add the parts up
        counts = torch.tensor([samples, correct, real, padded], dtype=torch.long, device=run.accelerator.device)
        samples, correct, real, padded = (int(total) for total in run.accelerator.reduce(counts, "sum").tolist())
    progress.real_tokens, progress.padded_tokens = progress.real_tokens + real, progress.padded_tokens + padded
    progress.train_seconds, progress.train_samples = progress.train_seconds + seconds, progress.train_samples + samples
    return {"epoch": epoch, "train_loss": float(np.mean(losses)) if losses else math.nan,
            "train_accuracy": correct / samples if samples else math.nan,
            "seconds": seconds, "samples_per_s": samples / seconds if seconds else 0.0}


@contextlib.contextmanager
def _full_precision(model):
    """Score in full precision, as :func:`course_utils.prediction.evaluate` does: accelerate keeps the
    forward it wrapped in autocast as ``_original_forward``."""
    wrapped, original = model.__dict__.get("forward"), model.__dict__.get("_original_forward")
    if wrapped is None or original is None:
        yield
        return
    model.forward = original
    try:
        yield
    finally:
        model.forward = wrapped


def _validate(run: _Run) -> dict[str, float]:
    """The validation scores of the weights now; over several processes each scores its part of every batch."""
    with _full_precision(run.raw_model):
        if run.val_batches is run.val_loader:
            logits, labels = _logits_in_order(run.raw_model, run.val_loader, run.accelerator.device)
        else:  # gather_for_metrics drops the texts accelerate repeats to fill the last batch
            logit_parts, label_parts = [], []
            run.raw_model.eval()
            with torch.no_grad():
                for batch in run.val_batches:
                    batch = dict(batch)
                    labels = batch.pop("labels")
                    gathered = run.accelerator.gather_for_metrics((run.raw_model(**batch).logits.float(), labels))
                    logit_parts.append(gathered[0].cpu().numpy())
                    label_parts.append(gathered[1].cpu().numpy())
            logits, labels = np.concatenate(logit_parts), np.concatenate(label_parts)
    return {f"val_{key}": value for key, value in _scores_from_logits(logits, labels, None,
                                                                      run.settings.positive).items()}


def _keep_best(run: _Run, progress: _Progress, row: dict, best_state: dict | None) -> dict | None:
    """Note whether this epoch beats the best so far (ties go to the lower loss) and count epochs
    without a lower validation loss; returns the best epoch's weights."""
    value = row["val_loss"] if run.metric == "loss" else row[f"val_{run.metric}"]
    better = value < progress.best_value if run.metric == "loss" else (
        value > progress.best_value or (value == progress.best_value and row["val_loss"] < progress.best_loss))
    if progress.best_epoch == 0 or better:
        progress.best_value, progress.best_loss, progress.best_epoch = value, row["val_loss"], row["epoch"]
        if run.settings.keep_best:
            best_state = {key: tensor.detach().to("cpu", copy=True) for key, tensor in run.raw_model.state_dict().items()}
    if row["val_loss"] < progress.lowest_val_loss:
        progress.lowest_val_loss, progress.epochs_without_gain = row["val_loss"], 0
    else:
        progress.epochs_without_gain += 1
    patience = run.settings.early_stopping_patience
    progress.stopped_early = patience is not None and progress.epochs_without_gain >= patience
    return best_state


def _progress_bar(total: int, enabled: bool):
    """tqdm.auto's bar (a widget in Jupyter), or a plain text bar when ``COURSE_PROGRESS=text``."""
    if os.environ.get(_PROGRESS_ENV_VAR, "").strip().lower() == "text":
        from tqdm import tqdm as text_tqdm

        return text_tqdm(total=total, desc="training", unit="step", disable=not enabled, file=sys.stderr,
                         mininterval=5.0, ascii=False)
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="training", unit="step", disable=not enabled)


def _epoch_line(run: _Run, row: dict) -> str:
    line = f"epoch {row['epoch']}: train loss {row['train_loss']:.4f}"
    if run.val_loader is not None:
        line += f", val loss {row['val_loss']:.4f}"
        if run.metric != "loss":
            line += f", val {run.metric} {row[f'val_{run.metric}']:.3f}"
    return line


# --- checkpoints -------------------------------------------------------------------------------


def _fingerprint(run: _Run) -> dict:
    """The settings a checkpoint must have been made with to resume from it."""
    settings = dataclasses.asdict(run.settings)
    for name in ("early_stopping_patience", "keep_best", "positive", "group_by_length", "mixed_precision"):
        settings.pop(name)  # these do not change the batches or the steps; the old format left them out too
    settings["class_weights"] = settings["class_weights"] and list(settings["class_weights"])
    settings.update(select_metric=run.metric, num_labels=run.num_labels,
                    train_size=len(getattr(run.train_loader, "dataset", run.train_loader)))
    return {key: value if isinstance(value, (int, float, str, bool, type(None))) else str(value)
            for key, value in settings.items()}


def _save_checkpoint(run: _Run, folder: Path, progress: _Progress, best_state: dict | None) -> None:
    """Write the checkpoint into a new folder, then swap it in: a crash leaves the previous one whole."""
    from safetensors.torch import save_file

    from course_utils.files import atomic_folder

    with atomic_folder(folder / "last") as staging:  # a crash keeps the previous one whole, as last.previous
        weights = {key: value.detach().to("cpu").contiguous() for key, value in run.raw_model.state_dict().items()}
        save_file(weights, str(staging / "model.safetensors"))
        if best_state is not None and progress.best_epoch != progress.epoch:
            save_file({key: value.contiguous() for key, value in best_state.items()}, str(staging / "best.safetensors"))
        scaler = run.accelerator.scaler
        torch.save({"optimizer": run.optimizer.state_dict(), "scheduler": run.scheduler.state_dict(),
                    "scaler": scaler.state_dict() if scaler is not None else {}, "torch_rng": torch.get_rng_state(),
                    "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
                   staging / "optimizer.pt")
        state = {"fingerprint": _fingerprint(run), **dataclasses.asdict(progress)}
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


def _resume(run: _Run, folder: Path) -> tuple[_Progress, dict | None]:
    """The progress (and best weights) of the last checkpoint in ``folder``, loaded into the run; or a fresh start."""
    from safetensors.torch import load_file

    found = _load_checkpoint(folder, _fingerprint(run))
    if found is None:
        return _Progress(), None
    saved, state = found
    device = str(run.accelerator.device)
    run.raw_model.load_state_dict(load_file(str(saved / "model.safetensors"), device=device))
    extra = torch.load(saved / "optimizer.pt", map_location="cpu", weights_only=True)
    run.optimizer.load_state_dict(extra["optimizer"])
    run.scheduler.load_state_dict(extra["scheduler"])
    if run.accelerator.scaler is not None and extra["scaler"]:
        run.accelerator.scaler.load_state_dict(extra["scaler"])
    torch.set_rng_state(extra["torch_rng"])
    if extra["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(extra["cuda_rng"])
    best_state = load_file(str(saved / "best.safetensors")) if (saved / "best.safetensors").is_file() else None
    state.pop("fingerprint")
    progress = _Progress(**state)
    if best_state is None and progress.best_epoch == progress.epoch and run.settings.keep_best:
        best_state = {key: value.detach().to("cpu", copy=True) for key, value in run.raw_model.state_dict().items()}
    if run.progress:
        print(f"resuming from the checkpoint of epoch {progress.epoch} in {saved}")
    return progress, best_state


# --- train -------------------------------------------------------------------------------------


def train(model, tokenizer, train_df, val_df=None, settings: TrainSettings | None = None, *, device=None,
          checkpoint_dir: str | Path | None = None, progress: bool = True, accelerator=None,
          **setting_values) -> TrainResult:
    """Fine-tune ``model`` on ``train_df``, validating on ``val_df`` each epoch (notebook 04).

    Settings come as a :class:`TrainSettings` or as keywords (``train(model, tokenizer,
    train_df, val_df, epochs=3, lr=1e-4)``); those left out take the recipe of the model's
    family (:func:`course_utils.models.recipe_for_model`: on the packaged 6-layer MiniLM a peak
    rate of 1e-4 for 3 epochs with 10 times that rate for the pooler and the new classification
    layer; 3e-5 for 3 epochs on BERT-base).

    The loop of notebook 04: AdamW (no weight decay on biases and LayerNorm weights) with
    linear warmup then linear decay, length-grouped dynamic padding, gradient clipping, mixed
    precision where the hardware has it. With ``val_df`` the best epoch by ``select_metric``
    is restored at the end (``keep_best``) and ``early_stopping_patience`` stops after that
    many epochs without a lower validation loss. With ``checkpoint_dir`` each finished epoch
    is saved there (safetensors, written atomically); calling ``train`` again with the same
    settings resumes after the last saved epoch and ends with the same weights as an
    uninterrupted run. ``train_df`` may also be a DataLoader yielding batches with ``labels``.
    The model is trained in place; the result holds the history.

    Several processes or GPUs: run the same script under ``accelerate launch`` or ``torchrun``.
    Each process then trains on its part of every batch (``batch_size`` must divide by the
    number of processes), the validation logits are gathered from all of them, and only the
    main process prints and writes checkpoints. An ``accelerate.Accelerator`` of your own can
    be passed as ``accelerator``.
    """
    started = time.perf_counter()
    settings = TrainSettings.from_keywords(settings, **setting_values).for_model(model)
    run = _prepare(model, tokenizer, train_df, val_df, settings, device, accelerator, progress)
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    state, best_state = _resume(run, folder) if folder is not None else (_Progress(), None)
    resumed_from = state.epoch
    _hand_to_accelerate(run)
    bar = _progress_bar(settings.epochs * len(run.train_loader), run.progress)
    bar.update(len(state.history))
    try:
        while state.epoch < settings.epochs and not state.stopped_early:
            state.epoch += 1
            row = _train_one_epoch(run, state, state.epoch, bar)
            if run.val_loader is not None:
                row.update(_validate(run))
                best_state = _keep_best(run, state, row, best_state)
            state.epochs.append(row)
            if run.progress:
                bar.write(_epoch_line(run, row))
                if state.stopped_early:
                    bar.write(f"early stopping after epoch {state.epoch}: no lower validation loss for "
                              f"{state.epochs_without_gain} epoch(s)")
            if folder is not None:
                if run.accelerator.is_main_process:
                    _save_checkpoint(run, folder, state, best_state)
                run.accelerator.wait_for_everyone()
    finally:  # also when a step fails or Ctrl-C stops it: no accelerate wrapper is left on the model's forward
        bar.close()
        run.accelerator.unwrap_model(run.model, keep_fp32_wrapper=False)
    return _finish(run, state, best_state, started, resumed_from)


def _finish(run: _Run, state: _Progress, best_state: dict | None, started: float, resumed_from: int) -> TrainResult:
    """Restore the best epoch's weights, hand back the plain model in eval mode, and sum the run up."""
    last = state.epochs[-1]
    if run.val_loader is None or not run.settings.keep_best:
        state.best_epoch = last["epoch"]
        state.best_value = float(last.get(f"val_{run.metric}", math.nan))
    elif best_state is not None and state.best_epoch != last["epoch"]:
        run.raw_model.load_state_dict(best_state)
        if run.progress:
            print(f"restored the weights of epoch {state.best_epoch} (best validation {run.metric} "
                  f"{state.best_value:.3f})")
    run.accelerator.wait_for_everyone()
    run.raw_model.eval()
    columns = ["epoch", "train_loss", "train_accuracy"] + [key for key in state.epochs[-1] if key.startswith("val_")]
    return TrainResult(
        history=pd.DataFrame(state.history, columns=["step", "epoch", "train_loss", "lr"]),
        epochs=pd.DataFrame(state.epochs)[columns + ["seconds", "samples_per_s"]],
        best_epoch=int(state.best_epoch),
        seconds=time.perf_counter() - started,
        samples_per_second=state.train_samples / state.train_seconds if state.train_seconds else 0.0,
        padding_efficiency=state.real_tokens / state.padded_tokens if state.padded_tokens else 1.0,
        select_metric=run.metric,
        best_value=float(state.best_value),
        truncated=int(getattr(getattr(run.train_loader, "dataset", None), "truncated", 0)),
        resumed_from=resumed_from,
        stopped_early=state.stopped_early,
    )


# --- the optimizer and the schedule ------------------------------------------------------------


def _is_head(name: str) -> bool:
    """The parameters a classifier adds on top of the encoder: the pooler and the classification layer."""
    from course_utils.models import _HEAD_PREFIXES, _POOLER_MARK

    return name.startswith(_HEAD_PREFIXES) or _POOLER_MARK in f".{name}"


def _make_optimizer(model, lr: float, weight_decay: float = 0.01, name: str = "adamw",
                   head_lr_multiplier: float = 1.0) -> torch.optim.Optimizer:
    """The optimizer of notebook 04.

    ``"adamw"``: AdamW, no weight decay on biases and LayerNorm weights (the 1-D
    parameters), fused into one kernel per step where torch can. ``head_lr_multiplier``
    gives the pooler and the classification layer (new or barely trained) that many times
    the encoder's rate; the schedule scales both alike. ``"adam"``: plain
    ``torch.optim.Adam(model.parameters(), lr)`` as a common tutorial writes it (no decay).
    """
    trainable = [(key, parameter) for key, parameter in model.named_parameters() if parameter.requires_grad]
    if name == "adam":
        return torch.optim.Adam([parameter for _, parameter in trainable], lr=lr)
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


def _make_scheduler(optimizer, total_steps: int, warmup_ratio: float = 0.1, schedule: str = "linear"):
    """``"linear"``: warmup over ``warmup_ratio`` of the steps, then linear decay to 0; ``"constant"``: no schedule."""
    from transformers import get_constant_schedule, get_linear_schedule_with_warmup

    if schedule == "constant":
        return get_constant_schedule(optimizer)
    return get_linear_schedule_with_warmup(optimizer, int(warmup_ratio * total_steps), total_steps)


# --- which learning rate? A range test ---------------------------------------------------------


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
    optimizer = _make_optimizer(model, start_lr, weight_decay)
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
                loss = model(**{key: value.to(device) for key, value in batch.items()}).loss
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
