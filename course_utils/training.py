"""The fine-tuning loop of notebook 04 behind one call: :func:`train`, on ``accelerate``.

:func:`train` reads like the loop notebook 04 writes cell by cell: prepare (checks, batches,
optimizer, schedule, one ``accelerate.Accelerator``), then for each epoch one pass over the
training batches, a validation, and keeping the best epoch's weights. The same path serves one
process and several (``accelerate launch``, ``torchrun``), the CPU and CUDA, bf16 and fp16. A
checkpoint folder keeps the last finished epoch (``accelerate``'s ``save_state``); a run started
again resumes from it. :func:`find_learning_rate` drives the same run and step with a rising rate.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace

import accelerate
import numpy as np
import pandas as pd
import torch
import tqdm.auto
import transformers
from accelerate.state import AcceleratorState
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from torch.nn import functional as F
from torch.utils.data import DataLoader
from transformers import get_scheduler

from course_utils.batches import make_loader
from course_utils.device import amp_dtype
from course_utils.errors import CourseError
from course_utils.guards import check_batch, check_frame, check_model
from course_utils.settings import MAX_LENGTH, SEED, Recipe, TrainSettings

__all__ = ["set_seed", "TrainResult", "train", "scores_from_logits", "LearningRateSearch", "find_learning_rate"]


def set_seed(seed: int = SEED) -> None:
    """Seed ``random``, NumPy and torch (notebook 04): before creating a model, it draws the same new head every run."""
    transformers.set_seed(seed)


@dataclass
class TrainResult:
    """What :func:`train` measured (notebook 04): ``history`` per step, ``per_epoch`` per epoch, the ``best_epoch``."""

    history: pd.DataFrame  # a row per optimizer step: step, epoch, train_loss, lr (the encoder's rate that step)
    per_epoch: pd.DataFrame  # a row per epoch: train_loss, train_accuracy (dropout on), the val_ scores, seconds, ...
    best_epoch: int  # the epoch whose weights the model holds, by select_metric
    seconds: float  # wall time
    samples_per_second: float  # training texts per second of training steps
    padding_efficiency: float  # real tokens / padded tokens
    select_metric: str = "f1"
    best_value: float = float("nan")
    truncated: int = 0  # training texts cut to max_length
    resumed_from: int = 0  # the epoch of the checkpoint resumed from (0: a fresh start)
    stopped_early: bool = False


@dataclass
class _RunState:
    """Where a run is: what a checkpoint saves (``state.json``) and a resumed run starts from."""

    epoch: int = 0
    history: list = field(default_factory=list)
    per_epoch: list = field(default_factory=list)
    best_value: float = math.nan
    best_loss: float = math.inf
    best_epoch: int = 0
    lowest_val_loss: float = math.inf
    epochs_without_gain: int = 0
    stopped_early: bool = False


# --- preparing a run ---------------------------------------------------------------------------


def _make_accelerator(settings: TrainSettings, device=None):
    """An ``accelerate.Accelerator`` on the device it picks (or the CPU), in :func:`~course_utils.device.amp_dtype`."""
    wanted = str(device if device is not None else os.environ.get("COURSE_DEVICE", "")).strip().lower()
    if wanted.split(":")[0] not in ("", "cpu", "cuda", "mps"):
        raise CourseError(f"Unknown device {wanted!r} (from the argument or $COURSE_DEVICE): use 'cuda', 'mps' or 'cpu'.")
    processes, cpu = int(os.environ.get("WORLD_SIZE") or 1), wanted.startswith("cpu")  # WORLD_SIZE: torchrun's
    if processes <= 1:  # a fresh state: one notebook can train in full precision, then in bf16
        AcceleratorState._reset_state(reset_partial_state=True)
    precision = amp_dtype(accelerate.PartialState(cpu=cpu).device, settings.mixed_precision)
    accelerator = accelerate.Accelerator(cpu=cpu, mixed_precision={torch.bfloat16: "bf16", torch.float16: "fp16"}.get(
        precision, "no"), dataloader_config=accelerate.DataLoaderConfiguration(split_batches=True))
    if accelerator.num_processes != processes:
        raise CourseError(f"{processes} processes were started, but accelerate connected {accelerator.num_processes} "
                          f"on {accelerator.device.type}: every process would train alone. Fix: train on CUDA GPUs, "
                          "or on the CPU with device='cpu' (or COURSE_DEVICE=cpu) under torchrun --nproc_per_node N.")
    return accelerator


def _prepare(model, tokenizer, train_df, val_df, settings: TrainSettings, device, accelerator, show: bool,
             rise: float | None = None) -> SimpleNamespace:
    """Check everything, then hand the model, batches, optimizer and schedule (``rise``: the range test's) to accelerate."""
    num_labels, positions = check_model(model, settings.max_length), getattr(model.config, "max_position_embeddings", None)
    metric = settings.select_metric or ("f1" if num_labels == 2 else "macro_f1")
    if metric == "f1" and num_labels != 2:
        raise CourseError(f"select_metric='f1' is the positive class's F1, a two-class score; this model has "
                          f"{num_labels} classes. Fix: select_metric='macro_f1' (the default for more classes).")
    if settings.class_weights is not None and len(settings.class_weights) != num_labels:
        raise CourseError(f"class_weights must be {num_labels} non-negative numbers, one per class "
                          f"(in class-number order), got {list(settings.class_weights)}.")
    accelerator = accelerator or _make_accelerator(settings, device)
    processes = accelerator.num_processes
    if accelerator.split_batches and settings.batch_size % processes:
        raise CourseError(f"batch_size={settings.batch_size} cannot be split evenly over {processes} "
                          f"processes. Fix: a batch_size that is a multiple of {processes}.")
    loaders = []
    for name, data, size in (("train_df", train_df, settings.batch_size),
                             ("val_df", val_df, -(-max(64, settings.batch_size) // processes) * processes)):
        if isinstance(data, (DataLoader, list, tuple)):
            for batch in data:  # the caller's own batches: bad labels fail here, before any weight changes
                check_batch(batch, num_labels, positions)
        elif data is not None or name == "train_df":  # a frame, checked against the model once, here
            check_frame(data, name, model, require_all_classes=name == "train_df")
            data = make_loader(tokenizer, data, batch_size=size, max_length=settings.max_length,
                               shuffle=name == "train_df", group_by_length=settings.group_by_length, seed=settings.seed)
        loaders.append(data)
    set_seed(settings.seed)
    model.to(accelerator.device)
    optimizer = _make_optimizer(model, settings.lr, settings.weight_decay, settings.optimizer, settings.head_lr_multiplier)
    steps = settings.epochs * len(loaders[0])  # "linear": warmup, then linear decay to 0; "constant": no schedule
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: rise ** step) if rise else get_scheduler(
        settings.schedule, optimizer, int(settings.warmup_ratio * steps), steps)
    prepared, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    batches = [accelerator.prepare(data) if isinstance(data, DataLoader) else data for data in loaders]
    return SimpleNamespace(  # train_loader: the caller's batches (their sampler is reseeded each epoch)
        settings=settings, accelerator=accelerator, model=prepared, raw_model=model, optimizer=optimizer,
        scheduler=scheduler, train_loader=loaders[0], train_batches=batches[0], val_loader=loaders[1],
        val_batches=batches[1], metric=metric, num_labels=num_labels, show_progress=show and accelerator.is_main_process,
        weights=None if settings.class_weights is None else torch.tensor(settings.class_weights, device=accelerator.device))


def _make_optimizer(model, lr: float, weight_decay: float = 0.01, name: str = "adamw",
                    head_lr_multiplier: float = 1.0) -> torch.optim.Optimizer:
    """AdamW, no weight decay on biases and LayerNorm weights, the head at ``head_lr_multiplier`` times the rate."""
    trainable = [(key, parameter) for key, parameter in model.named_parameters() if parameter.requires_grad]
    if name == "adam":
        return torch.optim.Adam([parameter for _, parameter in trainable], lr=lr)
    groups = []
    for is_head, rate in ((False, lr), (True, lr * head_lr_multiplier)):
        part = [parameter for key, parameter in trainable if Recipe.is_head(key) == is_head]
        groups += [{"params": [p for p in part if p.ndim >= 2], "weight_decay": weight_decay, "lr": rate},
                   {"params": [p for p in part if p.ndim < 2], "weight_decay": 0.0, "lr": rate}]
    groups = [group for group in groups if group["params"]]
    try:  # fused: one kernel per step (the default foreach AdamW is slower on a CPU)
        return torch.optim.AdamW(groups, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):  # older torch (CPU fused needs 2.4) or an unusual device
        return torch.optim.AdamW(groups, lr=lr, foreach=False)


# --- one step, one epoch, one validation --------------------------------------------------------

class _LossNotFinite(CourseError):
    """The loss became NaN or infinite (a range test's signal to stop)."""


def _train_step(run, batch, step: int, epoch: int) -> tuple[float, int]:
    """One optimizer step (accelerate scales fp16 losses and syncs gradients): (the batch's loss, correct predictions)."""
    try:
        outputs = run.model(**batch)
        loss = outputs.loss if run.weights is None else F.cross_entropy(outputs.logits.float(), batch["labels"],
                                                                         weight=run.weights)
        loss_value = float(run.accelerator.reduce(loss.detach().float(), "mean"))  # the same on every process
        if not math.isfinite(loss_value):
            lr = run.optimizer.param_groups[0]["lr"]
            raise _LossNotFinite(f"The training loss became {loss_value} at step {step} (epoch {epoch}); training stopped "
                                 f"there, before that step changed any weight. Fix: lower the learning rate (lr={lr:g}; try "
                                 f"{lr / 10:g}), keep gradient clipping on (max_grad_norm=1.0), and on a GPU try "
                                 "mixed_precision='bf16' or 'no' instead of fp16.")
        run.accelerator.backward(loss)
        if run.settings.max_grad_norm:
            run.accelerator.clip_grad_norm_(run.model.parameters(), run.settings.max_grad_norm)
        run.optimizer.step()
        run.scheduler.step()
        run.optimizer.zero_grad(set_to_none=True)
    except torch.cuda.OutOfMemoryError:  # torch.OutOfMemoryError too
        run.optimizer.zero_grad(set_to_none=True)
        torch.cuda.empty_cache()
        raise CourseError(
            f"The GPU ran out of memory at step {step} (epoch {epoch}) with batch_size={run.settings.batch_size} and "
            f"texts of {int(batch['input_ids'].shape[1])} tokens. Fix: halve batch_size, lower max_length, or use "
            "mixed precision (mixed_precision='auto'); on Colab, Runtime > Restart session frees memory held "
            "by earlier cells.") from None
    return loss_value, int((outputs.logits.detach().argmax(dim=-1) == batch["labels"]).sum())


def _batches_of_epoch(run, epoch: int):
    """The training batches on the run's device, in the order drawn for ``epoch`` (1, 2, ...)."""
    for loader in (run.train_batches, getattr(run.train_loader, "batch_sampler", None)):  # reshuffled each epoch
        getattr(loader, "set_epoch", lambda _: None)(epoch - 1)
    for batch in run.train_batches:
        yield {key: value.to(run.accelerator.device) for key, value in batch.items()}


def _train_one_epoch(run, state: _RunState, epoch: int, bar) -> dict:
    """One pass over the training batches; returns the epoch's row."""
    run.model.train()
    started, losses, counts = time.perf_counter(), [], torch.zeros(4, dtype=torch.long)
    for batch in _batches_of_epoch(run, epoch):
        step_lr = run.optimizer.param_groups[0]["lr"]  # the encoder's rate this step uses
        loss_value, correct = _train_step(run, batch, len(state.history) + 1, epoch)
        losses.append(loss_value)
        mask = batch["attention_mask"]
        counts += torch.tensor([len(batch["labels"]), correct, int(mask.sum()), mask.numel()])
        state.history.append({"step": len(state.history) + 1, "epoch": epoch, "train_loss": loss_value, "lr": step_lr})
        bar.update(1)
        bar.set_postfix(epoch=epoch, loss=f"{loss_value:.3f}", refresh=False)
    seconds = time.perf_counter() - started
    if run.accelerator.num_processes > 1:  # each process saw its part of every batch: add the parts up
        counts = run.accelerator.reduce(counts.to(run.accelerator.device), "sum").cpu()
    samples, correct, real, padded = (int(count) for count in counts)
    return {"epoch": epoch, "train_loss": float(np.mean(losses)) if losses else math.nan,
            "train_accuracy": correct / samples if samples else math.nan, "seconds": seconds,
            "samples_per_s": samples / seconds if seconds else 0.0, "samples": samples, "real": real, "padded": padded}


def scores_from_logits(logits: np.ndarray, labels: np.ndarray, predictions: np.ndarray | None = None,
                       positive: int = 1) -> dict[str, float]:
    """Loss, accuracy, macro and weighted F1, and for two classes precision, recall and F1 of class ``positive``
    (scikit-learn), of ``predictions`` (default: the most probable class)."""
    predictions, classes = logits.argmax(axis=1) if predictions is None else predictions, list(range(logits.shape[1]))
    scores = {"loss": float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels).long())),
              "accuracy": float(accuracy_score(labels, predictions)) if len(labels) else 0.0,
              **{f"{average}_f1": float(f1_score(labels, predictions, labels=classes, average=average, zero_division=0))
                 for average in ("macro", "weighted")}}
    if len(classes) == 2:
        binary = precision_recall_fscore_support(labels == positive, predictions == positive, average="binary",
                                                 zero_division=0)
        scores.update(zip(("precision", "recall", "f1"), map(float, binary[:3])))
    return scores


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


def _validate(run) -> dict[str, float]:
    """The validation scores of the weights now, in full precision, gathered from every process."""
    parts, forward = [], run.raw_model.__dict__.get("_original_forward", run.raw_model)  # without accelerate's autocast
    run.raw_model.eval()
    with torch.no_grad():
        for batch in run.val_batches:
            batch = {key: value.to(run.accelerator.device) for key, value in batch.items()}
            labels = batch.pop("labels")
            parts.append(run.accelerator.gather_for_metrics((forward(**batch).logits.float(), labels)))
    logits, labels = (torch.cat([part[i] for part in parts]).cpu().numpy() for i in (0, 1))
    return {f"val_{key}": value for key, value in scores_from_logits(logits, labels, positive=run.settings.positive).items()}


def _keep_best(run, state: _RunState, row: dict, best_state: dict | None) -> dict | None:
    """Note whether this epoch is the best so far (ties: the lower loss) and count epochs without a lower loss."""
    value = row[f"val_{run.metric}"]
    better = value < state.best_value if run.metric == "loss" else (
        value > state.best_value or (value == state.best_value and row["val_loss"] < state.best_loss))
    if state.best_epoch == 0 or better:
        state.best_value, state.best_loss, state.best_epoch = value, row["val_loss"], row["epoch"]
        best_state = _copy_weights(run.raw_model) if run.settings.keep_best else None
    state.epochs_without_gain = 0 if row["val_loss"] < state.lowest_val_loss else state.epochs_without_gain + 1
    state.lowest_val_loss = min(state.lowest_val_loss, row["val_loss"])
    state.stopped_early = state.epochs_without_gain >= (run.settings.early_stopping_patience or math.inf)
    return best_state


def _copy_weights(model) -> dict:
    return {key: value.detach().to("cpu", copy=True) for key, value in model.state_dict().items()}


def _progress_bar(total: int, enabled: bool, initial: int = 0):
    """tqdm.auto's bar (a widget in Jupyter), or a plain text bar on stderr when ``COURSE_PROGRESS=text``."""
    text = os.environ.get("COURSE_PROGRESS", "").strip().lower() == "text"
    options = {"file": sys.stderr, "mininterval": 5.0, "ascii": False} if text else {}
    return (tqdm.tqdm if text else tqdm.auto.tqdm)(total=total, initial=initial, desc="training", unit="step",
                                                    disable=not enabled, **options)


# --- checkpoints -------------------------------------------------------------------------------


def _fingerprint(run) -> dict:
    """What a checkpoint must have been made with to resume from it: the settings that change the steps, and the data."""
    settings = {key: value for key, value in asdict(run.settings).items() if key not in ("early_stopping_patience", "keep_best")}
    settings.update(mixed_precision=str(run.accelerator.mixed_precision), select_metric=run.metric, state_format=2,
                    num_labels=run.num_labels, train_size=len(getattr(run.train_loader, "dataset", run.train_loader)))
    return json.loads(json.dumps(settings, default=str))  # as state.json reads back (tuples become lists)


def _save_checkpoint(run, folder: Path, state: _RunState, best_state: dict | None) -> None:
    """``folder/last``: accelerate's ``save_state``, the best weights, then ``state.json`` (``last.previous`` until then)."""
    last, previous = folder / "last", folder / "last.previous"
    if (last / "state.json").is_file():
        shutil.rmtree(previous, ignore_errors=True)
        last.rename(previous)
    shutil.rmtree(last, ignore_errors=True)
    run.accelerator.save_state(str(last), safe_serialization=False)
    if best_state is not None and state.best_epoch != state.epoch:
        torch.save(best_state, last / "best.pt")
    (last / "state.tmp").write_text(json.dumps({"fingerprint": _fingerprint(run), **asdict(state)}), encoding="utf-8")
    (last / "state.tmp").replace(last / "state.json")
    shutil.rmtree(previous, ignore_errors=True)


def _resume(run, folder: Path | None) -> tuple[_RunState, dict | None]:
    """The state and best weights of the last complete checkpoint in ``folder``, loaded into the run; or a fresh start."""
    saved = next((path for path in (folder / "last", folder / "last.previous") if (path / "state.json").is_file()),
                 None) if folder is not None else None
    if saved is None:
        return _RunState(), None
    state = json.loads((saved / "state.json").read_text(encoding="utf-8"))
    fingerprint, made_with = _fingerprint(run), state.pop("fingerprint", {})
    if made_with != fingerprint:
        changed = sorted(key for key in fingerprint if made_with.get(key) != fingerprint[key])
        raise CourseError(f"The checkpoint in {saved} was made with other settings ({', '.join(changed)} differ), "
                          "so this run cannot resume from it. Fix: use another checkpoint_dir, or delete that "
                          "folder to start afresh.")
    run.accelerator.load_state(str(saved))
    state, best = _RunState(**state), saved / "best.pt"  # no best.pt: the weights just loaded are the best
    best_state = torch.load(best, weights_only=True) if best.is_file() else (
        _copy_weights(run.raw_model) if state.best_epoch == state.epoch and run.settings.keep_best else None)
    if run.show_progress:
        print(f"resuming from the checkpoint of epoch {state.epoch} in {saved}")
    return state, best_state


# --- train -------------------------------------------------------------------------------------


def train(model, tokenizer, train_df, val_df=None, settings: TrainSettings | None = None, *, device=None,
          checkpoint_dir: str | Path | None = None, progress: bool = True, accelerator=None,
          **setting_values) -> TrainResult:
    """Fine-tune ``model`` on ``train_df`` (or a DataLoader of batches with ``labels``), validating on ``val_df``
    each epoch (notebook 04). Settings: a :class:`~course_utils.settings.TrainSettings` or keywords (``epochs=3``);
    those left out take the recipe of the model's family. With ``val_df`` the best epoch's weights are restored
    (``keep_best``); with ``checkpoint_dir`` each epoch is saved and a second call resumes, ending with the weights
    of an uninterrupted run. Several processes: the same script under ``accelerate launch`` or ``torchrun``."""
    started = time.perf_counter()
    settings = TrainSettings.from_keywords(settings, **setting_values).for_model(model)
    run = _prepare(model, tokenizer, train_df, val_df, settings, device, accelerator, progress)
    settings.remember(model)  # a saved model predicts as it was trained
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    state, best_state = _resume(run, folder)
    resumed_from = state.epoch
    bar = _progress_bar(settings.epochs * len(run.train_loader), run.show_progress, len(state.history))
    try:
        while state.epoch < settings.epochs and not state.stopped_early:
            state.epoch += 1
            row = _train_one_epoch(run, state, state.epoch, bar)
            line = f"epoch {state.epoch}: train loss {row['train_loss']:.4f}"
            if run.val_loader is not None:
                row.update(_validate(run))
                best_state = _keep_best(run, state, row, best_state)
                line += f", val loss {row['val_loss']:.4f}" + (
                    f", val {run.metric} {row[f'val_{run.metric}']:.3f}" if run.metric != "loss" else "")
            state.per_epoch.append(row)
            if run.show_progress:
                bar.write(line + (f"\nearly stopping after epoch {state.epoch}: no lower validation loss for "
                                  f"{state.epochs_without_gain} epoch(s)" if state.stopped_early else ""))
            if folder is not None and run.accelerator.is_main_process:
                _save_checkpoint(run, folder, state, best_state)
            run.accelerator.wait_for_everyone()
    finally:  # also when a step fails or Ctrl-C stops it: no accelerate wrapper is left on the model's forward
        bar.close()
        run.accelerator.unwrap_model(run.model, keep_fp32_wrapper=False)
    last = state.per_epoch[-1]  # restore the best epoch's weights, hand back the plain model, sum the run up
    if run.val_loader is None or not settings.keep_best:
        state.best_epoch, state.best_value = last["epoch"], float(last.get(f"val_{run.metric}", math.nan))
    elif best_state is not None and state.best_epoch != last["epoch"]:
        run.raw_model.load_state_dict(best_state)
        if run.show_progress:
            print(f"restored the weights of epoch {state.best_epoch} (best validation {run.metric} {state.best_value:.3f})")
    run.accelerator.wait_for_everyone()
    model.eval()
    rows, columns = pd.DataFrame(state.per_epoch), [key for key in last if key.startswith("val_")]
    return TrainResult(
        history=pd.DataFrame(state.history, columns=["step", "epoch", "train_loss", "lr"]),
        per_epoch=rows[["epoch", "train_loss", "train_accuracy", *columns, "seconds", "samples_per_s"]],
        best_epoch=int(state.best_epoch), seconds=time.perf_counter() - started,
        samples_per_second=float(rows["samples"].sum() / rows["seconds"].sum()) if rows["seconds"].sum() else 0.0,
        padding_efficiency=float(rows["real"].sum() / rows["padded"].sum()) if rows["padded"].sum() else 1.0,
        select_metric=run.metric, best_value=float(state.best_value),
        truncated=int(getattr(getattr(run.train_loader, "dataset", None), "truncated", 0)),
        resumed_from=resumed_from, stopped_early=state.stopped_early)


# --- which learning rate? A range test ---------------------------------------------------------


@dataclass
class LearningRateSearch:
    """What :func:`find_learning_rate` measured (notebook 05): ``curve``, a row per step (``lr``, ``head_lr``, ``loss``,
    ``smoothed``: its bias-corrected moving average); ``suggested``, a tenth of the rate at the lowest smoothed loss
    (a peak ``lr`` for :func:`train`); ``stopped_at``, the rate at which the loss blew up (4x its lowest), or None."""

    curve: pd.DataFrame
    suggested: float
    lowest_loss_lr: float
    stopped_at: float | None
    head_lr_multiplier: float = 1.0


def find_learning_rate(model, tokenizer, train_df: pd.DataFrame, *, start_lr: float = 1e-7, end_lr: float = 1e-2,
                       steps: int = 60, batch_size: int = 16, max_length: int = MAX_LENGTH,
                       weight_decay: float = 0.01, smoothing: float = 0.9, seed: int = SEED, device=None,
                       head_lr_multiplier: float | None = None, mixed_precision: str = "auto") -> LearningRateSearch:
    """A learning-rate range test, as fast.ai's ``lr_find`` (notebook 05): :func:`train`'s own run and steps, the
    encoder's rate rising exponentially from ``start_lr`` to ``end_lr`` (the head's at ``head_lr_multiplier`` times
    it), until the loss blows up; then the weights are put back. Plot: :func:`~course_utils.plots.plot_learning_rate_search`."""
    if not 0 < start_lr < end_lr:
        raise CourseError(f"start_lr and end_lr must satisfy 0 < start_lr < end_lr; got {start_lr:g}, {end_lr:g}.")
    if steps < 10:
        raise CourseError(f"steps={steps} is too few to draw a curve; use 50 or more.")
    settings = TrainSettings(epochs=1, batch_size=batch_size, lr=start_lr, weight_decay=weight_decay, warmup_ratio=0.0,
                             head_lr_multiplier=head_lr_multiplier, max_length=max_length, seed=seed,
                             mixed_precision=mixed_precision, schedule="constant").for_model(model)
    saved = _copy_weights(model)
    run = _prepare(model, tokenizer, train_df, None, settings, device, None, False, (end_lr / start_lr) ** (1 / (steps - 1)))
    rows, average, lowest, stopped_at, passes = [], 0.0, math.inf, None, 0
    try:
        run.model.train()
        while len(rows) < steps and stopped_at is None:
            passes += 1
            for batch in _batches_of_epoch(run, passes):
                rate, head_rate = run.optimizer.param_groups[0]["lr"], run.optimizer.param_groups[-1]["lr"]
                try:
                    loss_value = _train_step(run, batch, len(rows) + 1, passes)[0]
                except _LossNotFinite:
                    stopped_at = rate
                    break
                average = smoothing * average + (1 - smoothing) * loss_value
                rows.append({"step": len(rows) + 1, "lr": rate, "head_lr": head_rate, "loss": loss_value,
                             "smoothed": average / (1 - smoothing ** (len(rows) + 1))})
                lowest = min(lowest, rows[-1]["smoothed"])
                stopped_at = rate if len(rows) > 5 and rows[-1]["smoothed"] > 4 * lowest else None
                if stopped_at is not None or len(rows) >= steps:
                    break
    finally:
        run.accelerator.unwrap_model(run.model, keep_fp32_wrapper=False)
        model.load_state_dict(saved)
        model.eval()
    curve = pd.DataFrame(rows, columns=["step", "lr", "head_lr", "loss", "smoothed"])
    best = float(curve.loc[curve["smoothed"].idxmin(), "lr"]) if len(curve) else start_lr
    return LearningRateSearch(curve, best / 10, best, stopped_at, settings.head_lr_multiplier)
