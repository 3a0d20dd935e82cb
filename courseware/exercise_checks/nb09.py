"""Exercises of notebook 09 (the whole path, from messages to a saved spam filter)."""

from __future__ import annotations

from courseware.exercises import Exercise, NotYet, require


def _check_load_splits(namespace) -> str:
    import pandas as pd

    from course_utils import data

    splits = require(namespace, "splits", data.Splits, "store what `corpora.load_splits()` returns")
    frames = dict(splits.items())
    for name, frame in frames.items():
        if not isinstance(frame, pd.DataFrame) or not {"text", "label_id"} <= set(frame.columns) or frame.empty:
            raise NotYet(f"`splits.{name}` is not a table of texts with a `label_id` column: "
                         "store what `corpora.load_splits()` returns in `splits`.")
    leakage = require(namespace, "leakage", None, "store what `data.leakage_report(splits)` returns")
    if isinstance(leakage, bool):
        raise NotYet("`leakage` is a True/False; store the report itself, `data.leakage_report(splits)`: "
                     "it says which texts are shared, not only whether some are.")
    if not isinstance(leakage, data.LeakageReport):
        raise NotYet(f"`leakage` is a {type(leakage).__name__}; store what `data.leakage_report(splits)` returns.")

    names = list(frames)
    shared = {f"{a}/{b}": set(frames[a]["text"]) & set(frames[b]["text"])
              for i, a in enumerate(names) for b in names[i + 1:]}
    found = sum(len(texts) for texts in shared.values())
    reported = sum(len(texts) for texts in leakage.shared.values())
    if reported != found:
        raise NotYet(f"`leakage` reports {reported} shared texts, but these splits share {found}: "
                     "run `data.leakage_report(splits)` again on the splits you loaded.")
    if found:
        raise NotYet(f"{found} texts are in two splits ({', '.join(pair for pair, texts in shared.items() if texts)}), "
                     "so test scores would partly measure memory: load the splits with deduplication "
                     "(`corpora.load_splits()`, without `dedupe=False`).")
    sizes = ", ".join(f"{name} {len(frame)}" for name, frame in frames.items())
    return f"Messages per split: {sizes}; no text is in two splits."


load_splits = Exercise(
    name="load the splits and check for leakage",
    checker=_check_load_splits,
    hint_text="`splits = corpora.load_splits()`, then `splits.summary()` for the counts and "
              "`data.leakage_report(splits)` for the report.",
    solution_code='''
# Exercise: load the course's splits into `splits` with `corpora.load_splits()`.
#   Print their summary with `splits.summary()`.
# Exercise: store the leakage report, `data.leakage_report(splits)`, in `leakage` and print it.
splits = corpora.load_splits()
print(splits.summary().to_string())

leakage = data.leakage_report(splits)
print(leakage)
''',
    alternative_code='''
splits = corpora.load_splits(dedupe=True)
leakage = data.leakage_report(splits)
print(leakage.ok)
''',
)


def _check_mistakes(namespace) -> str:
    import pandas as pd

    scored = require(namespace, "scored", pd.DataFrame, "run the cell that builds `scored` first")
    if not {"label", "predicted", "p_spam"} <= set(scored.columns):
        raise NotYet("`scored` has lost its `label`, `predicted` or `p_spam` column: run the cell that builds it again.")
    is_spam = scored["label"] == "spam"
    flagged = scored["predicted"] == "spam"
    expected = {"false_negatives": set(scored.index[is_spam & ~flagged]),
                "false_positives": set(scored.index[~is_spam & flagged])}
    at_half = {"false_negatives": set(scored.index[is_spam & (scored["p_spam"] < 0.5)]),
               "false_positives": set(scored.index[~is_spam & (scored["p_spam"] >= 0.5)])}
    other = {"false_negatives": "false_positives", "false_positives": "false_negatives"}
    what = {"false_negatives": "the spam messages the filter let through (label spam, predicted ham)",
            "false_positives": "the real messages the filter flagged (label ham, predicted spam)"}

    chosen = {}
    for name in ("false_negatives", "false_positives"):
        frame = require(namespace, name, pd.DataFrame, f"store {what[name]}, as rows of `scored`")
        if "p_spam" not in frame.columns or "text" not in frame.columns:
            raise NotYet(f"`{name}` has no `text` or `p_spam` column: select whole rows of `scored`.")
        rows = set(frame.index)
        if rows and rows == expected[other[name]] and rows != expected[name]:
            raise NotYet(f"`{name}` holds the {other[name].replace('_', ' ')}: {what[name]} belong in `{name}`.")
        if rows != expected[name] and rows == at_half[name]:
            raise NotYet(f"`{name}` is counted at threshold 0.5; use the predictions at the chosen threshold "
                         "(the `predicted` column).")
        if rows > expected[name]:
            raise NotYet(f"`{name}` has {len(rows)} rows, some of them right: keep only {what[name]}.")
        if rows != expected[name]:
            raise NotYet(f"`{name}` has {len(rows)} rows; it should hold the {len(expected[name])} rows of "
                         f"{what[name]}.")
        chosen[name] = frame
    if not chosen["false_negatives"]["p_spam"].is_monotonic_increasing:
        raise NotYet("sort `false_negatives` by `p_spam` from the lowest up: the spam the model was surest "
                     "was ham comes first.")
    if not chosen["false_positives"]["p_spam"].is_monotonic_decreasing:
        raise NotYet("sort `false_positives` by `p_spam` from the highest down (`ascending=False`): the real "
                     "message the model was surest was spam comes first.")
    return (f"{len(expected['false_negatives'])} spam messages missed and {len(expected['false_positives'])} real "
            "messages flagged, each list led by the model's most confident mistake.")


mistakes = Exercise(
    name="the filter's mistakes",
    checker=_check_mistakes,
    hint_text="A missed spam message has `label` spam and `predicted` ham: combine two conditions with `&`, "
              "then `.sort_values('p_spam')` (add `ascending=False` for the flagged real messages).",
    solution_code='''
# Exercise: from `scored`, store the spam messages predicted ham in `false_negatives`.
#   Sort them lowest `p_spam` first and keep whole rows of `scored`.
# Exercise: store the ham messages predicted spam in `false_positives`, highest `p_spam` first.
false_negatives = scored[(scored["label"] == "spam") & (scored["predicted"] == "ham")].sort_values("p_spam")
false_positives = scored[(scored["label"] == "ham") & (scored["predicted"] == "spam")].sort_values(
    "p_spam", ascending=False)
print(f"At threshold {threshold:.2f}: {len(false_negatives)} of {int(y_test.sum())} spam messages missed, "
      f"{len(false_positives)} of {int((y_test == 0).sum())} real messages flagged as spam")
''',
    alternative_code='''
wrong = scored[scored["label"] != scored["predicted"]]
false_negatives = wrong[wrong["label"] == "spam"].sort_values("p_spam", ascending=True)
false_positives = wrong[wrong["label"] == "ham"].sort_values("p_spam", ascending=False)
''',
)
