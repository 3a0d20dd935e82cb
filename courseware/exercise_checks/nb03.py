"""Exercises of notebook 03 (the missing-labels error and its fix)."""

from __future__ import annotations

from courseware.exercises import Exercise, NotYet, require


def _inputs(namespace):
    import torch

    what = "run the cell that tokenizes the four messages first"
    input_ids = require(namespace, "input_ids", torch.Tensor, what)
    attention_mask = require(namespace, "attention_mask", torch.Tensor, what)
    labels = require(namespace, "labels", torch.Tensor, what)
    return input_ids, attention_mask, labels


def _check_pass_labels(namespace) -> str:
    import torch
    import torch.nn.functional as F

    input_ids, attention_mask, labels = _inputs(namespace)
    model = require(namespace, "model", torch.nn.Module, "run the cell that loads the model first")
    small_model = require(namespace, "small_model", torch.nn.Module, "run the cell that defines `small_model` first")

    small_outputs = require(namespace, "small_outputs", dict,
                            "store what `small_model(input_ids, attention_mask, labels)` returns")
    small_loss = small_outputs.get("loss")
    if not isinstance(small_loss, torch.Tensor):
        raise NotYet("`small_outputs['loss']` is not a tensor: call `small_model(input_ids, attention_mask, labels)`.")
    try:
        with torch.no_grad():
            expected_small = small_model(input_ids, attention_mask, labels)["loss"]
    except Exception:  # noqa: BLE001 - `small_model` may have been rebound
        raise NotYet("`small_model` no longer works as defined above: run its cell again.") from None
    if not torch.allclose(small_loss.detach(), expected_small, atol=1e-5):
        raise NotYet("`small_outputs['loss']` is not the loss of these four messages with `labels`: "
                     "call `small_model(input_ids, attention_mask, labels)`.")

    outputs = require(namespace, "outputs", None, "store what `model(..., labels=labels)` returns in `outputs`")
    loss = getattr(outputs, "loss", None)
    logits = getattr(outputs, "logits", None)
    if isinstance(outputs, dict) and not hasattr(outputs, "logits"):
        raise NotYet("`outputs` is the small model's dict; store BERT's output in `outputs`: "
                     "`outputs = model(input_ids, attention_mask=attention_mask, labels=labels)`.")
    if loss is None:
        raise NotYet("`outputs.loss` is None: BERT got no labels. Pass them by keyword, `labels=labels` "
                     "(a third positional argument would land in `token_type_ids`).")
    num_labels = getattr(getattr(model, "config", None), "num_labels", None)
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or logits.shape[0] != len(labels) \
            or (num_labels is not None and logits.shape[1] != num_labels):
        raise NotYet("`outputs` is not BERT's output for the four messages: call `model(input_ids, "
                     "attention_mask=attention_mask, labels=labels)`.")
    if not torch.allclose(loss.detach(), F.cross_entropy(logits.detach(), labels), atol=1e-5):
        raise NotYet("`outputs.loss` is not the cross-entropy of these logits with `labels`: pass `labels=labels`.")
    if loss.grad_fn is None:
        raise NotYet("`outputs.loss` has no gradient history: do not compute it under `torch.no_grad()`.")
    weight = getattr(getattr(model, "classifier", None), "weight", None)
    if weight is None or weight.grad is None:
        raise NotYet("no gradient reached `model.classifier.weight`: call `outputs.loss.backward()`.")
    return "both losses are tensors, and `backward()` sent gradients to the classifier (and to the encoder under it)."


pass_labels = Exercise(
    name="pass the labels",
    checker=_check_pass_labels,
    hint_text="The small model takes `labels` as its third positional argument; BERT takes it only by keyword: "
              "`model(input_ids, attention_mask=attention_mask, labels=labels)`. Then `outputs.loss.backward()`.",
    solution_code='''
# Exercise: call `small_model` with `labels` too and store its output in `small_outputs`.
# Exercise: call BERT (`model`) with `labels=labels` by keyword, store its output in `outputs`,
#   and call `backward()` on `outputs.loss`.
small_outputs = small_model(input_ids, attention_mask, labels)
print("small model loss is a tensor:", isinstance(small_outputs["loss"], torch.Tensor))

outputs = model(input_ids, attention_mask=attention_mask, labels=labels)
outputs.loss.backward()
print("BERT loss is a tensor:", isinstance(outputs.loss, torch.Tensor))
print("gradients reached the classifier:", model.classifier.weight.grad is not None)
''',
    alternative_code='''
small_outputs = small_model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
outputs = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
loss = outputs.loss
loss.backward()
''',
)


def _check_rename_label(namespace) -> str:
    import torch

    input_ids, attention_mask, labels = _inputs(namespace)
    model = require(namespace, "model", torch.nn.Module, "run the cell that loads the model first")
    batch_with_label = require(namespace, "batch_with_label", dict, "run the cell that builds `batch_with_label` first")
    if "label" not in batch_with_label:
        raise NotYet("`batch_with_label` lost its 'label' key: `batch = batch_with_label` gives the same dict a "
                     "second name, so `pop` changed both. Run the cell that builds `batch_with_label` again, then "
                     "copy it: `batch = dict(batch_with_label)`.")
    batch = require(namespace, "batch", dict, "store the renamed copy in `batch`")
    if "labels" not in batch:
        raise NotYet(f"`batch` has the keys {sorted(batch)}: it needs 'labels'.")
    if "label" in batch:
        raise NotYet("`batch` has both 'label' and 'labels': remove 'label' (`batch.pop('label')`), which "
                     "transformers 4.x rejects.")
    missing = [key for key in ("input_ids", "attention_mask") if key not in batch]
    if missing:
        raise NotYet(f"`batch` lost {missing}: copy every key of `batch_with_label` and rename only 'label'.")
    if not isinstance(batch["labels"], torch.Tensor) or not torch.equal(batch["labels"], batch_with_label["label"]):
        raise NotYet("`batch['labels']` should be the tensor that was under 'label'.")
    try:
        with torch.no_grad():
            loss = model(**batch).loss
    except Exception as error:  # noqa: BLE001 - whatever the learner's batch makes the model raise
        raise NotYet(f"`model(**batch)` raised {type(error).__name__}: {error}") from None
    if loss is None:
        raise NotYet("`model(**batch)` returns no loss: check that the key is spelled 'labels'.")
    return (f"`batch` has the keys {sorted(batch)}, `model(**batch)` returns a loss, and `batch_with_label` "
            "keeps its 'label' key for the cells below.")


rename_label = Exercise(
    name="rename label to labels",
    checker=_check_rename_label,
    hint_text="`dict(batch_with_label)` makes a new dict with the same entries; `batch.pop('label')` removes the "
              "entry and returns its value, which you can store under `batch['labels']`.",
    solution_code='''
# Exercise: make `batch`, a copy of `batch_with_label` in which the key `label` is renamed
#   `labels`.
# Exercise: leave `batch_with_label` itself as it is: a later cell uses it.
batch = dict(batch_with_label)
batch["labels"] = batch.pop("label")
print("keys:", sorted(batch))
print("loss is a tensor:", isinstance(model(**batch).loss, torch.Tensor))
''',
    alternative_code='''
batch = {("labels" if key == "label" else key): value for key, value in batch_with_label.items()}
''',
)
