"""Exercises of notebook 02 (from logits to predictions)."""

from __future__ import annotations

from courseware.exercises import Exercise, NotYet, require, require_close


def _logits(namespace):
    import torch

    logits = require(namespace, "logits", torch.Tensor, "run the cells above first")
    if logits.ndim != 2 or logits.shape[1] != 2:
        raise NotYet(f"`logits` has shape {tuple(logits.shape)}; run the cell that sets the practice logits "
                     "`[[2.0, 1.0], [0.5, 1.5]]` again.")
    return logits.detach().float()


def _check_softmax(namespace) -> str:
    import torch

    logits = _logits(namespace)
    by_hand = require(namespace, "by_hand", torch.Tensor, "store your softmax in `by_hand`")
    if by_hand.shape != logits.shape:
        raise NotYet(f"`by_hand` has shape {tuple(by_hand.shape)}; it should have the logits' shape "
                     f"{tuple(logits.shape)}: one probability per message and class. (Without keepdim=True "
                     "the row sums lose their column dimension and broadcast the wrong way.)")
    by_hand = by_hand.detach().float()
    if torch.allclose(by_hand, torch.softmax(logits, dim=0), atol=1e-5) and \
            not torch.allclose(by_hand, torch.softmax(logits, dim=1), atol=1e-5):
        raise NotYet("`by_hand` sums to 1 down each column: you normalised over the messages (dim=0). "
                     "Sum over the classes of each row, `sum(dim=1, keepdim=True)`.")
    if torch.allclose(by_hand, logits / logits.sum(dim=1, keepdim=True), atol=1e-5):
        raise NotYet("`by_hand` divides the logits themselves by their row sum: exponentiate them with `exp()` "
                     "first (a logit can be negative; e to its power never is).")
    if torch.allclose(by_hand, logits.exp() / logits.exp().sum(dim=1), atol=1e-5):
        raise NotYet("the row sums lost their column dimension, so they were broadcast across the columns: "
                     "use `sum(dim=1, keepdim=True)`.")
    row_sums = by_hand.sum(dim=1)
    if not torch.allclose(row_sums, torch.ones_like(row_sums), atol=1e-5):
        raise NotYet("the rows of `by_hand` do not sum to 1: divide by the sum over the classes "
                     "(`sum(dim=1, keepdim=True)`), not over the messages.")
    require_close(by_hand, torch.softmax(logits, dim=1), "by_hand",
                  "exponentiate the logits with `exp()` before normalising.", tolerance=1e-5)
    return "Each row sums to 1 and matches `torch.softmax(logits, dim=1)`."


softmax = Exercise(
    name="softmax by hand",
    checker=_check_softmax,
    hint_text="`logits.exp()` makes every logit positive; divide each row by its own sum, "
              "`logits.exp().sum(dim=1, keepdim=True)` (keepdim keeps the shape for broadcasting).",
    solution_code='''
# Exercise: compute the softmax of `logits` by hand, with `exp()` and `sum(dim=1, keepdim=True)`,
#   and store it in `by_hand`.
by_hand = logits.exp() / logits.exp().sum(dim=1, keepdim=True)
print(by_hand.round(decimals=4))
print("argmax unchanged:", by_hand.argmax(dim=1))
''',
    alternative_code='''
exps = torch.exp(logits)
by_hand = exps / exps.sum(dim=-1, keepdim=True)
''',
)


def _check_sigmoid_of_difference(namespace) -> str:
    import torch

    logits = _logits(namespace)
    expected_difference = logits[:, 1] - logits[:, 0]
    difference = require(namespace, "difference", torch.Tensor, "store l1 - l0 of each row in `difference`")
    if difference.shape != expected_difference.shape:
        raise NotYet(f"`difference` has shape {tuple(difference.shape)}; it should hold one number per message, "
                     f"shape {tuple(expected_difference.shape)}: `logits[:, 1] - logits[:, 0]`.")
    difference = difference.detach().float()
    if torch.allclose(difference, -expected_difference) and not torch.allclose(difference, expected_difference):
        raise NotYet("`difference` is l0 - l1, the wrong way round: its sigmoid is P(class 0). "
                     "Subtract the class-0 column from the class-1 column.")
    require_close(difference, expected_difference, "difference",
                  "it should be the class-1 logit minus the class-0 logit of each row, `logits[:, 1] - logits[:, 0]`.")
    sigmoid_of_difference = require(namespace, "sigmoid_of_difference", None,
                                    "store `torch.sigmoid(difference)` in `sigmoid_of_difference`")
    if not isinstance(sigmoid_of_difference, torch.Tensor) or \
            sigmoid_of_difference.shape != expected_difference.shape:
        raise NotYet("`sigmoid_of_difference` should be `torch.sigmoid(difference)`, one number per message.")
    sigmoid_of_difference = sigmoid_of_difference.detach().float()
    if torch.allclose(sigmoid_of_difference, torch.sigmoid(logits[:, 1])) and \
            not torch.allclose(sigmoid_of_difference, torch.sigmoid(expected_difference)):
        raise NotYet("`sigmoid_of_difference` is the sigmoid of the class-1 logit alone; take the sigmoid of "
                     "`difference`, which also counts the class-0 logit.")
    require_close(sigmoid_of_difference, torch.sigmoid(expected_difference),
                  "sigmoid_of_difference", "it should be `torch.sigmoid(difference)`.", tolerance=1e-6)
    agree = torch.allclose(torch.sigmoid(expected_difference), torch.softmax(logits, dim=1)[:, 1], atol=1e-6)
    return ("sigmoid(l1 - l0) equals the softmax P(class 1) of every row." if agree else
            "sigmoid(l1 - l0) is computed right.")


sigmoid_of_difference = Exercise(
    name="sigmoid of the difference",
    checker=_check_sigmoid_of_difference,
    hint_text="Column 1 minus column 0: `logits[:, 1] - logits[:, 0]` gives one number per message; "
              "`torch.sigmoid` of it should match `probabilities[:, 1]`.",
    solution_code='''
# Exercise: store the logit difference l1 - l0 of each row of `logits` in `difference`.
# Exercise: store the sigmoid of `difference` in `sigmoid_of_difference`, and print it next to
#   the softmax P(class 1), `probabilities[:, 1]`.
difference = logits[:, 1] - logits[:, 0]
sigmoid_of_difference = torch.sigmoid(difference)
print("softmax P(class 1):    ", probabilities[:, 1].round(decimals=4))
print("sigmoid(l1 - l0):      ", sigmoid_of_difference.round(decimals=4))
''',
    alternative_code='''
l0, l1 = logits.unbind(dim=1)
difference = l1 - l0
sigmoid_of_difference = 1 / (1 + torch.exp(-difference))
''',
)
