"""Exercises of notebook 04 (the training loop)."""

from __future__ import annotations

from courseware.exercises import Exercise, NotYet, require

MAX_LENGTH = 128  # the truncation length notebook 04 uses


# --------------------------------------------------------------------------- 3.4: tokenize once


def _check_tokenize_once(namespace) -> str:
    import pandas as pd

    tokenizer = require(namespace, "tokenizer", None, "run the cells above first")
    train_df = require(namespace, "train_df", pd.DataFrame, "run the cells above first")
    features = require(namespace, "train_features", list,
                       "store one dict per training message in `train_features`")
    lengths = require(namespace, "lengths", list, "store each message's token count in `lengths`")
    collator = require(namespace, "collator", None, "store a `DataCollatorWithPadding` in `collator`")
    if len(features) != len(train_df):
        raise NotYet(f"`train_features` has {len(features)} entries; it should have one per training message "
                     f"({len(train_df)}).")
    if not all(isinstance(feature, dict) for feature in features):
        raise NotYet("each entry of `train_features` should be a dict such as "
                     "{'input_ids': [...], 'attention_mask': [...], 'labels': 0}.")
    missing = [key for key in ("input_ids", "attention_mask", "labels") if key not in features[0]]
    if missing:
        advice = (" The key is `labels` (plural), the name the model's forward takes (notebook 03)."
                  if "labels" in missing and "label" in features[0] else "")
        raise NotYet(f"the dicts in `train_features` have no {', '.join(f'`{key}`' for key in missing)}."
                     + advice)
    texts = train_df["text"].tolist()
    expected_ids = tokenizer(texts, truncation=True, max_length=MAX_LENGTH)["input_ids"]
    feature_lengths = [len(feature["input_ids"]) for feature in features]
    if len(set(feature_lengths)) == 1 and len(set(len(ids) for ids in expected_ids)) > 1:
        raise NotYet(f"every message in `train_features` has {feature_lengths[0]} tokens: they were padded "
                     "when tokenized. Tokenize without `padding=...`; the collator pads each batch.")
    if max(feature_lengths) > MAX_LENGTH:
        raise NotYet(f"the longest message in `train_features` has {max(feature_lengths)} tokens; truncate to "
                     f"{MAX_LENGTH} (`truncation=True, max_length={MAX_LENGTH}`).")
    if [list(feature["input_ids"]) for feature in features] != [list(ids) for ids in expected_ids]:
        raise NotYet("the `input_ids` in `train_features` are not the training messages' tokens in the order "
                     "of `train_df`: tokenize `train_df['text']` with `truncation=True, max_length=128`.")
    if [int(feature["labels"]) for feature in features] != [int(label) for label in train_df["label_id"]]:
        raise NotYet("the `labels` in `train_features` do not match `train_df['label_id']`, message by message.")
    if list(lengths) != feature_lengths:
        raise NotYet("`lengths` should hold each message's number of tokens, "
                     "`[len(feature['input_ids']) for feature in train_features]`, in the same order.")
    if not callable(collator):
        raise NotYet("`collator` should be a `DataCollatorWithPadding(tokenizer)`: it is called on a list of "
                     "messages and pads them into one batch.")
    try:
        batch = collator(features[:4])
    except Exception as error:  # a learner's own collator may fail in any way: report it, do not raise
        raise NotYet(f"calling `collator(train_features[:4])` failed ({type(error).__name__}: {error}).") from None
    shape = tuple(getattr(batch.get("input_ids") if hasattr(batch, "get") else None, "shape", ()))
    longest = max(feature_lengths[:4])
    if len(shape) != 2 or shape != (4, longest):
        raise NotYet(f"`collator(train_features[:4])['input_ids']` has shape {shape}; padded to the longest of "
                     f"those four messages it should be (4, {longest}).")
    return (f"{len(features)} messages tokenized once, {min(lengths)} to {max(lengths)} tokens; a batch of four "
            f"is padded to {longest}, the longest of the four.")


tokenize_once = Exercise(
    name="tokenize once, pad per batch",
    checker=_check_tokenize_once,
    hint_text="`tokenizer(texts, truncation=True, max_length=128)` without `padding` returns lists of different "
              "lengths; zip its `input_ids`, `attention_mask` and `token_type_ids` with `train_df['label_id']` "
              "into dicts, and `DataCollatorWithPadding(tokenizer)` pads a list of such dicts.",
    solution_code='''
# Exercise: tokenize the training messages once, without padding (truncated to 128 tokens),
#   into `train_features`: one dict per message with its `input_ids`, `attention_mask`,
#   `token_type_ids` and `labels`.
# Exercise: store each message's number of tokens in `lengths` and a `DataCollatorWithPadding`
#   in `collator`.
encodings = tokenizer(train_df["text"].tolist(), truncation=True, max_length=128)
train_features = [
    {"input_ids": token_ids, "attention_mask": mask_row, "token_type_ids": type_ids, "labels": label_id}
    for token_ids, mask_row, type_ids, label_id in zip(encodings["input_ids"], encodings["attention_mask"],
                                                       encodings["token_type_ids"], train_df["label_id"])
]
lengths = [len(token_ids) for token_ids in encodings["input_ids"]]
collator = DataCollatorWithPadding(tokenizer)
example_batch = collator(train_features[:4])
print("lengths of the first 4:", lengths[:4], "padded batch:", {k: tuple(v.shape) for k, v in example_batch.items()})
''',
    alternative_code='''
train_features, lengths = [], []
for text, label in zip(train_df["text"], train_df["label_id"]):
    encoded = tokenizer(text, truncation=True, max_length=128)
    train_features.append({**encoded, "labels": int(label)})
    lengths.append(len(encoded["input_ids"]))
collator = DataCollatorWithPadding(tokenizer=tokenizer)
''',
)


# --------------------------------------------------------------------------- 3.7: optimizer and schedule


def _schedule_multiplier(step: int, warmup_steps: int, total_steps: int) -> float:
    """The factor of the peak rate that step ``step`` (counted from 0) uses in a linear warmup-then-decay."""
    if step < warmup_steps:
        return step / max(1, warmup_steps)
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


def _check_optimizer_schedule(namespace) -> str:
    import torch

    model = require(namespace, "model", torch.nn.Module, "run the cell above first (it loads a fresh model)")
    train_loader = require(namespace, "train_loader", None, "run the cells of section 3.5 first")
    loop_epochs = require(namespace, "loop_epochs", int, "run the cell above first")
    peak = require(namespace, "LEARNING_RATE", float, "run the cells of section 3.1 first")
    optimizer = require(namespace, "optimizer", torch.optim.Optimizer, "store the optimizer in `optimizer`")
    scheduler = require(namespace, "scheduler", None, "store the schedule in `scheduler`")
    total_steps = require(namespace, "total_steps", int, "store the number of optimizer steps in `total_steps`")
    warmup_steps = require(namespace, "warmup_steps", int, "store the number of warmup steps in `warmup_steps`")
    if not isinstance(optimizer, torch.optim.AdamW):
        raise NotYet(f"`optimizer` is {type(optimizer).__name__}; use `torch.optim.AdamW`: its weight decay "
                     "shrinks the weights directly (Adam's `weight_decay` is added to the gradient instead).")
    if total_steps != loop_epochs * len(train_loader):
        raise NotYet(f"`total_steps` is {total_steps}; one optimizer step per batch makes it `loop_epochs` x "
                     f"`len(train_loader)` = {loop_epochs * len(train_loader)}.")
    if warmup_steps != int(0.1 * total_steps):
        raise NotYet(f"`warmup_steps` is {warmup_steps}; 10% of the steps is `int(0.1 * total_steps)` = "
                     f"{int(0.1 * total_steps)}.")
    decay_of = {}
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            if id(parameter) in decay_of:
                raise NotYet("a parameter appears in two parameter groups: put each in exactly one.")
            decay_of[id(parameter)] = group.get("weight_decay", 0.0)
    parameters = list(model.parameters())
    if any(id(parameter) not in decay_of for parameter in parameters) or len(decay_of) != len(parameters):
        raise NotYet("the optimizer's parameter groups should hold exactly the parameters of `model` (the fresh "
                     "model loaded above): every one of them, once.")
    wrong_matrices = sum(1 for p in parameters if p.ndim >= 2 and abs(decay_of[id(p)] - 0.01) > 1e-12)
    wrong_vectors = sum(1 for p in parameters if p.ndim < 2 and decay_of[id(p)] != 0)
    if wrong_matrices:
        raise NotYet(f"{wrong_matrices} weight matrices (parameters with 2 or more dimensions) do not have "
                     "weight decay 0.01.")
    if wrong_vectors:
        raise NotYet(f"{wrong_vectors} biases and LayerNorm weights (one-dimensional parameters) have weight "
                     "decay; give their group `weight_decay=0.0`.")
    rates = {group["lr"] for group in optimizer.param_groups}
    initial = {group.get("initial_lr", group["lr"]) for group in optimizer.param_groups}
    if initial != {peak}:
        raise NotYet(f"the optimizer's peak learning rate is {sorted(initial)}; use `lr=LEARNING_RATE` ({peak:g}).")
    if getattr(scheduler, "optimizer", None) is not optimizer:
        raise NotYet("`scheduler` should be built on `optimizer`: "
                     "`get_linear_schedule_with_warmup(optimizer, warmup_steps, total_steps)`.")
    if getattr(scheduler, "last_epoch", None) != 0:
        raise NotYet("`scheduler` has already stepped; run this cell again to build a fresh one.")
    multipliers = getattr(scheduler, "lr_lambdas", None)
    if not multipliers:
        raise NotYet("build `scheduler` with `get_linear_schedule_with_warmup(optimizer, warmup_steps, total_steps)`.")
    for step in range(total_steps + 1):
        expected = _schedule_multiplier(step, warmup_steps, total_steps)
        if abs(multipliers[0](step) - expected) > 1e-6:
            raise NotYet(f"at step {step} the schedule gives {multipliers[0](step):.3f} of the peak rate; a linear "
                         f"warmup over {warmup_steps} steps then linear decay to 0 at step {total_steps} gives "
                         f"{expected:.3f}. Pass `warmup_steps` then `total_steps`, in that order.")
    if rates != {0.0} and warmup_steps > 0:
        raise NotYet("the optimizer's current rate should be 0 before the first step of the warmup.")
    return (f"AdamW with weight decay on the weight matrices only; the rate warms up over {warmup_steps} of "
            f"{total_steps} steps to {peak:g}, then falls linearly to 0.")


optimizer_schedule = Exercise(
    name="AdamW and a linear schedule with warmup",
    checker=_check_optimizer_schedule,
    hint_text="Split `model.parameters()` by `p.ndim >= 2`; pass `torch.optim.AdamW` a list of two dicts, "
              "`{'params': ..., 'weight_decay': 0.01}` and `{'params': ..., 'weight_decay': 0.0}`, with "
              "`lr=LEARNING_RATE`. Then `total_steps = loop_epochs * len(train_loader)`, "
              "`warmup_steps = int(0.1 * total_steps)` and "
              "`get_linear_schedule_with_warmup(optimizer, warmup_steps, total_steps)`.",
    solution_code='''
# Exercise: build `optimizer`: AdamW at `LEARNING_RATE`, weight decay 0.01 on the weight matrices
#   (parameters with 2 or more dimensions) and none on the rest.
# Exercise: build `scheduler`, a linear schedule over `total_steps` (`loop_epochs` x batches per
#   epoch) that warms up over the first `warmup_steps` (10% of them).
decay = [parameter for parameter in model.parameters() if parameter.ndim >= 2]    # weight matrices
no_decay = [parameter for parameter in model.parameters() if parameter.ndim < 2]  # biases, LayerNorm weights
optimizer = torch.optim.AdamW(
    [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
    lr=LEARNING_RATE,
    fused=True,
)
total_steps = loop_epochs * len(train_loader)
warmup_steps = int(0.1 * total_steps)
scheduler = get_linear_schedule_with_warmup(optimizer, warmup_steps, total_steps)
print(f"{total_steps} steps, {warmup_steps} of warmup, peak learning rate {LEARNING_RATE:g}")
''',
    alternative_code='''
matrices = [parameter for _, parameter in model.named_parameters() if parameter.dim() > 1]
others = [parameter for _, parameter in model.named_parameters() if parameter.dim() <= 1]
optimizer = torch.optim.AdamW([{"params": matrices, "weight_decay": 0.01}, {"params": others, "weight_decay": 0.0}],
                              lr=LEARNING_RATE)
total_steps = loop_epochs * len(train_loader)
warmup_steps = total_steps // 10
scheduler = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=warmup_steps, num_training_steps=total_steps)
''',
)


# --------------------------------------------------------------------------- 3.8: the loop


def _check_training_loop(namespace) -> str:
    import math

    import torch

    model = require(namespace, "model", torch.nn.Module, "run the cells above first")
    device = require(namespace, "device", torch.device, "run the cells of section 3.1 first")
    train_loader = require(namespace, "train_loader", None, "run the cells of section 3.5 first")
    scheduler = require(namespace, "scheduler", None, "run the exercise of section 3.7 first")
    total_steps = require(namespace, "total_steps", int, "run the exercise of section 3.7 first")
    warmup_steps = require(namespace, "warmup_steps", int, "run the exercise of section 3.7 first")
    peak = require(namespace, "LEARNING_RATE", float, "run the cells of section 3.1 first")
    step_losses = require(namespace, "step_losses", list, "append each step's loss to the list `step_losses`")
    step_rates = require(namespace, "step_rates", list, "append each step's learning rate to the list `step_rates`")
    loop_speed = require(namespace, "loop_speed", (int, float), "store the samples per second in `loop_speed`")
    if len(step_losses) != total_steps:
        raise NotYet(f"`step_losses` holds {len(step_losses)} losses; one per optimizer step makes "
                     f"{total_steps} (run the exercise of section 3.7 again before the loop, so that the "
                     "optimizer and the schedule start afresh).")
    if not all(isinstance(value, (int, float)) for value in step_losses):
        raise NotYet("`step_losses` should hold plain numbers: append `loss.item()`, not the loss tensor "
                     "(which keeps its whole graph in memory).")
    if not all(math.isfinite(value) for value in step_losses):
        raise NotYet("some losses are not finite (nan or inf): check the learning rate and the clipping.")
    if len(step_rates) != total_steps:
        raise NotYet(f"`step_rates` holds {len(step_rates)} rates; it should hold one per step ({total_steps}).")
    if getattr(scheduler, "last_epoch", None) != total_steps:
        raise NotYet(f"the schedule stepped {getattr(scheduler, 'last_epoch', '?')} times; call "
                     f"`scheduler.step()` once per batch, after `optimizer.step()` ({total_steps} times). "
                     "If you ran the loop twice, run the exercise of section 3.7 again first.")
    expected = [peak * _schedule_multiplier(step, warmup_steps, total_steps) for step in range(total_steps)]
    shifted = [peak * _schedule_multiplier(step + 1, warmup_steps, total_steps) for step in range(total_steps)]
    if all(abs(a - b) <= 1e-9 for a, b in zip(step_rates, shifted)) and step_rates != expected:
        raise NotYet("each rate in `step_rates` is the *next* step's: read `scheduler.get_last_lr()[0]` before "
                     "`scheduler.step()` (the first warmup step uses a rate of 0).")
    if any(abs(a - b) > 1e-9 for a, b in zip(step_rates, expected)):
        raise NotYet(f"`step_rates` starts {[round(r, 7) for r in step_rates[:3]]}; the schedule's rates for the "
                     f"first steps are {[round(r, 7) for r in expected[:3]]}. Record `scheduler.get_last_lr()[0]` "
                     "once per batch, between `optimizer.step()` and `scheduler.step()`.")
    parameter = next(model.parameters())
    if parameter.device.type != device.type:
        raise NotYet(f"the model is on {parameter.device.type}; move it with `model.to(device)` ({device.type}).")
    if not isinstance(loop_speed, (int, float)) or not loop_speed > 0:
        raise NotYet("`loop_speed` should be the training messages per second: messages / seconds, above 0.")
    window = min(10, max(1, total_steps // 3))
    first = sum(step_losses[:window]) / window
    last = sum(step_losses[-window:]) / window
    if not last < first:
        raise NotYet(f"the mean loss of the last {window} steps ({last:.3f}) is not below that of the first "
                     f"{window} ({first:.3f}): check that the loop calls `loss.backward()`, `optimizer.step()` "
                     "and `optimizer.zero_grad()` for every batch.")
    return (f"{total_steps} steps; the loss fell from {first:.3f} to {last:.3f} (means of {window} steps), and "
            "each step recorded the rate it used.")


training_loop = Exercise(
    name="one epoch of the training loop",
    checker=_check_training_loop,
    hint_text="Inside `for epoch in range(loop_epochs):` call `train_sampler.set_epoch(epoch)`, then for each "
              "batch: `batch = {key: value.to(device) ...}`, `loss = model(**batch).loss`, `loss.backward()`, "
              "`clip_grad_norm_`, `optimizer.step()`, append `scheduler.get_last_lr()[0]` to `step_rates`, "
              "`scheduler.step()`, `optimizer.zero_grad()`, append `loss.item()` to `step_losses`.",
    solution_code='''
# Exercise: train `model` for `loop_epochs` epoch(s) over `train_loader`, calling
#   `train_sampler.set_epoch(epoch)` first in each epoch: move each batch to `device`, backward,
#   clip the gradients to norm 1.0, step the optimizer and the scheduler, zero the gradients.
# Exercise: append each step's loss to `step_losses` and the rate it used to `step_rates`; store
#   the training messages per second in `loop_speed`.
model.to(device)
model.train()
step_losses, step_rates = [], []
started = time.perf_counter()
for epoch in range(loop_epochs):
    train_sampler.set_epoch(epoch)  # new batches, in a new order, each epoch
    for batch in tqdm(train_loader, desc=f"epoch {epoch + 1}"):
        batch = {field: tensor.to(device) for field, tensor in batch.items()}
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        step_rates.append(scheduler.get_last_lr()[0])  # the rate optimizer.step() just used
        scheduler.step()
        optimizer.zero_grad()
        step_losses.append(loss.item())
loop_speed = loop_epochs * len(train_df) / (time.perf_counter() - started)
print(f"this loop: {loop_speed:.1f} samples/s over {loop_epochs} epoch of {len(train_df)} messages")
''',
    alternative_code='''
model.to(device).train()
step_losses, step_rates = [], []
start = time.time()
for epoch_index in range(loop_epochs):
    train_sampler.set_epoch(epoch_index)
    for batch in train_loader:
        on_device = {name: tensor.to(device) for name, tensor in batch.items()}
        optimizer.zero_grad()
        step_loss = model(**on_device).loss
        step_loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        step_rates.append(optimizer.param_groups[0]["lr"])  # the rate this step will use
        optimizer.step()
        scheduler.step()
        step_losses.append(step_loss.item())
loop_speed = len(train_df) * loop_epochs / (time.time() - start)
''',
)
