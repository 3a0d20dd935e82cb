"""Exercises of notebook 08 (multi-class classification: airline sentiment)."""

from __future__ import annotations

import math

from courseware.exercises import Exercise, NotYet, require


def _numbers(value, name: str, what: str):
    """``value`` (a tensor, an array, a list or a number) as a float numpy array; :class:`NotYet` otherwise."""
    import numpy as np

    if hasattr(value, "detach"):  # a torch tensor, maybe with gradients or on a GPU
        value = value.detach().cpu()
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise NotYet(f"`{name}` should hold numbers ({what}); it is a {type(value).__name__}.") from None
    return array


def _check_cross_entropy(namespace) -> str:
    import numpy as np
    import torch

    what = "run the cell that defines the toy logits first"
    logits = require(namespace, "toy_logits", torch.Tensor, what)
    labels = require(namespace, "toy_labels", torch.Tensor, what)
    rows = np.arange(len(labels))
    logits_np = logits.detach().float().cpu().numpy()
    labels_np = labels.detach().cpu().numpy()
    probabilities = torch.softmax(torch.from_numpy(logits_np), dim=1).numpy()
    expected_p = probabilities[rows, labels_np]
    expected_loss = -np.log(expected_p)

    p = _numbers(require(namespace, "true_class_probability", None,
                         "store each text's probability of its true class"), "true_class_probability",
                 "one probability per tweet")
    if p.shape == (len(labels), len(labels)):
        raise NotYet(f"`true_class_probability` is a {len(labels)} x {len(labels)} table: "
                     "`toy_probabilities[:, toy_labels]` picks the labels' columns for every row. Pick one entry per row: "
                     "`toy_probabilities[torch.arange(len(toy_labels)), toy_labels]`.")
    if p.shape != expected_p.shape:
        raise NotYet(f"`true_class_probability` has shape {p.shape}; it should hold one probability per tweet, "
                     f"shape {expected_p.shape}.")
    if np.allclose(p, logits_np[rows, labels_np], atol=1e-4):
        raise NotYet("`true_class_probability` holds the true classes' logits: take them from the softmax "
                     "probabilities (`toy_probabilities`), not from `toy_logits`.")
    if np.allclose(p, probabilities.max(axis=1), atol=1e-4):
        raise NotYet("`true_class_probability` holds each text's largest probability (its predicted class); "
                     "the loss needs the probability of the TRUE class, `toy_labels`.")
    if not np.allclose(p, expected_p, atol=1e-4):
        raise NotYet("`true_class_probability` is not each text's probability of its true class: index the "
                     "softmax probabilities with the row numbers and `toy_labels`.")

    loss = _numbers(require(namespace, "per_text_loss", None, "store -log p of each text"), "per_text_loss",
                    "one loss per tweet")
    if loss.shape != expected_loss.shape:
        raise NotYet(f"`per_text_loss` has shape {loss.shape}; it should hold one loss per tweet, "
                     f"shape {expected_loss.shape}.")
    if np.allclose(loss, -expected_loss, atol=1e-4):
        raise NotYet("`per_text_loss` is negative: the loss is MINUS the log of the probability.")
    if np.allclose(loss, expected_loss / math.log(10), atol=1e-4):
        raise NotYet("`per_text_loss` uses the base-10 logarithm; cross-entropy uses the natural one "
                     "(`torch.log`).")
    if np.allclose(loss, expected_loss / math.log(2), atol=1e-4):
        raise NotYet("`per_text_loss` is in bits (log base 2); cross-entropy uses the natural logarithm "
                     "(`torch.log`).")
    if np.allclose(loss, 1 - expected_p, atol=1e-4):
        raise NotYet("`per_text_loss` is 1 - p; cross-entropy is -log p.")
    if not np.allclose(loss, expected_loss, atol=1e-4):
        raise NotYet("`per_text_loss` is not -log p of each text's true class: take `-torch.log` of "
                     "`true_class_probability`.")

    mean = _numbers(require(namespace, "mean_loss", None, "store the mean of the per-text losses"), "mean_loss",
                    "one number")
    if mean.size != 1:
        raise NotYet(f"`mean_loss` has {mean.size} numbers; it should be one number, the mean over the texts.")
    mean = float(mean.reshape(()))
    reference = float(torch.nn.functional.cross_entropy(torch.from_numpy(logits_np), torch.from_numpy(labels_np)))
    if math.isclose(mean, expected_loss.sum(), abs_tol=1e-4) and len(labels) > 1:
        raise NotYet(f"`mean_loss` is {mean:.4f}, the SUM of the losses; `F.cross_entropy` takes the mean "
                     "over the texts (`.mean()`).")
    if not math.isclose(mean, reference, abs_tol=1e-4):
        raise NotYet(f"`mean_loss` is {mean:.4f}; the mean of the per-text losses is {reference:.4f}.")
    return (f"The mean of -log p(true class) is {mean:.4f}, the same as `F.cross_entropy(toy_logits, toy_labels)`; "
            f"the tweet whose true class got the smallest probability ({expected_p.min():.2f}) has the largest loss.")


cross_entropy = Exercise(
    name="cross-entropy by hand",
    checker=_check_cross_entropy,
    hint_text="`toy_probabilities[torch.arange(len(toy_labels)), toy_labels]` picks, in each row, the column of "
              "that text's true class. Then `-torch.log(...)` per text, and `.mean()` over the texts.",
    solution_code='''
# Exercise: compute the cross-entropy of `toy_logits` for `toy_labels` by hand.
# Exercise: store each tweet's probability of its true class in `true_class_probability`.
# Exercise: store each tweet's loss -log p in `per_text_loss`, and their mean in `mean_loss`.
# Exercise: then compare `mean_loss` with `F.cross_entropy(toy_logits, toy_labels)`.
true_class_probability = toy_probabilities[torch.arange(len(toy_labels)), toy_labels]
per_text_loss = -torch.log(true_class_probability)
mean_loss = per_text_loss.mean()

print("p(true class) per tweet:", true_class_probability.round(decimals=4))
print("-log p per tweet:       ", per_text_loss.round(decimals=4))
print(f"mean, by hand:           {mean_loss:.4f}")
print(f"F.cross_entropy:         {F.cross_entropy(toy_logits, toy_labels):.4f}")
print("the same:", torch.allclose(mean_loss, F.cross_entropy(toy_logits, toy_labels)))
''',
    alternative_code='''
log_probabilities = torch.log_softmax(toy_logits, dim=1)
per_text_loss = -log_probabilities.gather(1, toy_labels.unsqueeze(1)).squeeze(1)
true_class_probability = torch.exp(-per_text_loss)
mean_loss = float(per_text_loss.sum() / len(toy_labels))
print(mean_loss)
''',
)


def _check_macro_weighted(namespace) -> str:
    import pandas as pd

    table = require(namespace, "scores_by_class", pd.DataFrame, "run the cell that builds the per-class table first")
    if not {"f1", "support"} <= set(table.columns) or table.empty:
        raise NotYet("`scores_by_class` has no `f1` and `support` columns any more: run the cell that builds it "
                     "again.")
    f1 = table["f1"].to_numpy(dtype=float)
    support = table["support"].to_numpy(dtype=float)
    macro = float(f1.mean())
    weighted = float((f1 * support).sum() / support.sum())

    values = {}
    for name, what in [("macro_by_hand", "the plain mean of the classes' F1"),
                       ("weighted_by_hand", "the support-weighted mean of the classes' F1")]:
        array = _numbers(require(namespace, name, None, f"store {what}"), name, what)
        if array.size != 1:
            raise NotYet(f"`{name}` has {array.size} numbers; it should be one number, {what}.")
        values[name] = float(array.reshape(()))
    mine_macro, mine_weighted = values["macro_by_hand"], values["weighted_by_hand"]

    def close(a: float, b: float) -> bool:
        return math.isclose(a, b, abs_tol=1e-4)

    if close(mine_macro, weighted) and close(mine_weighted, macro) and not close(macro, weighted):
        raise NotYet("the two are swapped: macro F1 is the plain mean (every class one vote), weighted F1 weights "
                     "each class by its support.")
    if not close(mine_macro, macro):
        raise NotYet(f"`macro_by_hand` is {mine_macro:.4f}; macro F1 is the plain mean of `scores_by_class['f1']`.")
    if close(mine_weighted, float((f1 * support).sum())):
        raise NotYet("`weighted_by_hand` is the sum of F1 x support: divide it by the total support, so the "
                     "weights add up to 1.")
    if close(mine_weighted, float((f1 * support).mean())):
        raise NotYet("`weighted_by_hand` divides by the number of classes; divide by the total support instead.")
    if not close(mine_weighted, weighted):
        raise NotYet(f"`weighted_by_hand` is {mine_weighted:.4f}; weight each class's F1 by its share of the "
                     "tweets, `support / support.sum()`.")
    return (f"Macro F1 {macro:.3f} gives each of the {len(f1)} classes one vote; weighted F1 {weighted:.3f} gives "
            f"each class its share of the tweets (from {support.min() / support.sum():.1%} to "
            f"{support.max() / support.sum():.1%}), as scikit-learn's `average='weighted'` does.")


macro_weighted = Exercise(
    name="macro and weighted F1 by hand",
    checker=_check_macro_weighted,
    hint_text="Macro: `scores_by_class['f1'].mean()`. Weighted: multiply each F1 by its support, add them up, "
              "and divide by the total support (`np.average(..., weights=...)` does the same).",
    solution_code='''
# Exercise: from `scores_by_class`, compute macro F1 (the plain mean of the F1 column).
# Exercise: store it in `macro_by_hand`.
# Exercise: compute weighted F1 (each F1 weighted by its support, weights adding up to 1).
# Exercise: store it in `weighted_by_hand`.
macro_by_hand = scores_by_class["f1"].mean()
weighted_by_hand = (scores_by_class["f1"] * scores_by_class["support"]).sum() / scores_by_class["support"].sum()
print(f"by hand: macro F1 {macro_by_hand:.3f}, weighted F1 {weighted_by_hand:.3f}")
''',
    alternative_code='''
f1_values = scores_by_class["f1"].to_numpy()
macro_by_hand = float(np.average(f1_values))
weighted_by_hand = float(np.average(f1_values, weights=scores_by_class["support"].to_numpy()))
''',
)
