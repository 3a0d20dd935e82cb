"""Exercises of notebook 01 (tokenization)."""

from __future__ import annotations

import math

from courseware.exercises import Exercise, NotYet, require


def _ids(namespace) -> list[int]:
    encoding = require(namespace, "encoding", None, "run the cell that tokenizes `message` first")
    try:
        ids = list(encoding["input_ids"])
    except Exception:  # noqa: BLE001 - anything that is not an encoding
        raise NotYet("`encoding` has no 'input_ids': run the cell that tokenizes `message` first.") from None
    return [int(i) for i in ids]


def _check_ids_to_tokens(namespace) -> str:
    tokenizer = require(namespace, "tokenizer", None, "run the cell that loads the tokenizer first")
    ids = _ids(namespace)
    try:
        expected_tokens = tokenizer.convert_ids_to_tokens(ids)
        expected_text = tokenizer.decode(ids)
        text_without_special = tokenizer.decode(ids, skip_special_tokens=True)
        tokenized_again = tokenizer.tokenize(namespace.get("message", ""))
    except Exception:  # noqa: BLE001 - a learner may have rebound `tokenizer`
        raise NotYet("`tokenizer` is not the course's tokenizer any more: run the cell that loads it again.") from None

    tokens = require(namespace, "tokens", (list, tuple), "store the tokens of `encoding['input_ids']` in `tokens`")
    if list(tokens) != expected_tokens:
        if list(tokens) == list(ids):
            raise NotYet("`tokens` holds the ids themselves; turn them into token strings with "
                         "`tokenizer.convert_ids_to_tokens(...)`.")
        if list(tokens) == tokenized_again:
            raise NotYet("`tokens` has no [CLS] and [SEP]: you tokenized the text again. Convert the ids of "
                         "`encoding`, which include the special tokens the tokenizer added.")
        raise NotYet(f"`tokens` has {len(tokens)} entries, starting {list(tokens)[:3]}; it should be the "
                     f"{len(expected_tokens)} tokens of `encoding['input_ids']`, starting {expected_tokens[:3]}.")

    decoded = require(namespace, "decoded", str, "store the text that `tokenizer.decode` gives back in `decoded`")
    if decoded == expected_text:
        return f"{len(tokens)} tokens, [CLS] first and [SEP] last; `decode` glues the ## pieces back into words."
    if decoded == text_without_special:
        return (f"{len(tokens)} tokens; your text skips the special tokens (skip_special_tokens=True), which is "
                "what you want for display. Without it, decode shows [CLS] and [SEP] too.")
    if decoded == " ".join(expected_tokens):
        raise NotYet("`decoded` joins the tokens with spaces, so the ## pieces stay apart; "
                     "`tokenizer.decode(encoding['input_ids'])` glues them back.")
    if decoded == namespace.get("message"):
        raise NotYet("`decoded` is the original message; decode the ids instead: "
                     "`tokenizer.decode(encoding['input_ids'])` (it comes back lower-cased).")
    raise NotYet(f"`decoded` is {decoded[:40]!r}...; it should be `tokenizer.decode(encoding['input_ids'])`.")


ids_to_tokens = Exercise(
    name="ids to tokens",
    checker=_check_ids_to_tokens,
    hint_text="Both are methods of the tokenizer and take the list of ids: "
              "`tokenizer.convert_ids_to_tokens(ids)` gives one string per id, `tokenizer.decode(ids)` one text.",
    solution_code='''
# Exercise: turn `encoding["input_ids"]` back into tokens with `tokenizer.convert_ids_to_tokens`
#   and store them in `tokens`.
# Exercise: turn the same ids back into text with `tokenizer.decode` and store it in `decoded`.
tokens = tokenizer.convert_ids_to_tokens(encoding["input_ids"])
decoded = tokenizer.decode(encoding["input_ids"])
print(tokens)
print(decoded)
''',
    alternative_code='''
ids = encoding["input_ids"]
tokens = [tokenizer.convert_ids_to_tokens(token_id) for token_id in ids]
decoded = tokenizer.decode(ids, skip_special_tokens=True)
''',
)


def _reference_efficiency(lengths, batch_size: int) -> float:
    chunks = [lengths[start:start + batch_size] for start in range(0, len(lengths), batch_size)]
    return float(sum(lengths)) / sum(max(chunk) * len(chunk) for chunk in chunks)


def _check_padding_efficiency(namespace) -> str:
    import numpy as np

    function = require(namespace, "padding_efficiency", None,
                       "define the function `padding_efficiency(lengths, batch_size)`")
    if not callable(function):
        raise NotYet("`padding_efficiency` is not a function: define it with "
                     "`def padding_efficiency(lengths, batch_size):`.")
    token_counts = require(namespace, "token_counts", np.ndarray, "run the cell that measures the messages first")
    cases = [(np.array([3, 5, 2, 8, 1]), 2), (np.array([4, 4, 4, 4]), 2), (np.array(token_counts), 16)]
    for lengths, batch_size in cases:
        shown = f"padding_efficiency({lengths.tolist() if len(lengths) < 10 else 'token_counts'}, {batch_size})"
        try:
            result = function(lengths.copy(), batch_size)
        except Exception as error:  # noqa: BLE001 - the learner's function may raise anything
            raise NotYet(f"{shown} raised {type(error).__name__}: {error}") from None
        try:
            value = float(result)
        except (TypeError, ValueError):
            raise NotYet(f"{shown} returned {type(result).__name__}; it should return one number, "
                         "the share of computed positions that are real tokens.") from None
        expected = _reference_efficiency(lengths.tolist(), batch_size)
        if math.isfinite(value) and abs(value - expected) <= 1e-9:
            continue
        total = float(lengths.sum())
        whole_set = total / (lengths.max() * len(lengths))
        full_batches = total / sum(max(lengths[start:start + batch_size]) * batch_size
                                   for start in range(0, len(lengths), batch_size))
        sorted_inside = _reference_efficiency(sorted(lengths.tolist()), batch_size)
        if math.isfinite(value) and value > 1 and abs(1 / value - expected) <= 1e-9:
            raise NotYet(f"{shown} is {value:.3f}, above 1: that is computed positions per real token. "
                         "Divide the real tokens by the computed positions.")
        if abs(value - whole_set) <= 1e-9:
            raise NotYet(f"{shown} is {value:.3f}: every batch is padded to the longest length of all. "
                         "Pad each batch only to its own longest message.")
        if abs(value - full_batches) <= 1e-9:
            raise NotYet(f"{shown} is {value:.3f}: the last batch counts as full. It can be shorter: "
                         "multiply its longest length by its own number of messages.")
        if abs(value - sorted_inside) <= 1e-9 and abs(sorted_inside - expected) > 1e-9:
            raise NotYet(f"{shown} is {value:.3f}: your function sorts the lengths. Keep them in the order "
                         "given: the next cell compares data-set order with sorted order.")
        raise NotYet(f"{shown} is {value:.4f}; it should be {expected:.4f}: the real tokens (the sum of the "
                     "lengths) divided by the positions computed when each batch is padded to its own longest.")
    small = _reference_efficiency([3, 5, 2, 8, 1], 2)
    return (f"for lengths [3, 5, 2, 8, 1] in batches of 2, 19 real tokens of 27 computed ({small:.1%}), "
            "the last, shorter batch included.")


padding_efficiency = Exercise(
    name="padding efficiency",
    checker=_check_padding_efficiency,
    hint_text="Walk over the batches with `range(0, len(lengths), batch_size)`; a batch `lengths[start:start + "
              "batch_size]` computes `max(batch) * len(batch)` positions. Divide `lengths.sum()` by the total.",
    solution_code='''
# Exercise: write `padding_efficiency(lengths, batch_size)`: real tokens divided by tokens
#   computed when each batch of `lengths` (in the order given) is padded to its longest message.
def padding_efficiency(lengths, batch_size):
    """Real tokens divided by tokens computed, when each batch is padded to its longest message."""
    padded_total = sum(max(lengths[start:start + batch_size]) * len(lengths[start:start + batch_size])
                       for start in range(0, len(lengths), batch_size))
    return lengths.sum() / padded_total
''',
    alternative_code='''
def padding_efficiency(lengths, batch_size):
    batches = [lengths[i:i + batch_size] for i in range(0, len(lengths), batch_size)]
    computed = sum(len(batch) * max(batch) for batch in batches)
    return sum(lengths) / computed
''',
)
