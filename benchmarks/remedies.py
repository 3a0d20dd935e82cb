"""Which remedies against overfitting work on a small sentiment set? Each one change from the recipe, judged on validation.

    python benchmarks/remedies.py                       # 500 training tweets, seed 42
    python benchmarks/remedies.py --seeds 42,43 --train-size 300

The seeds' hardest practice question asks how to avoid overfitting when fine-tuning "on a small
dataset for sentiment classification". This measures the usual answers on airline tweets:
``--train-size`` tweets (500) of ``load_sentiment_splits()``'s training split (a stratified
sample, seed 42), the packaged MiniLM-L6 and ``course_utils.training.train``. The validation
split is cut in two, stratified: a "watch" part (``--watch-size``, 400) that training may look
at (early stopping, keeping the best epoch) and a "judge" part (the rest, about 960 tweets) that
no run looks at, on which each run's final model is scored by macro F1.

- ``unchanged``: the model's recipe (peak rate 1e-4, 10x for the pooler and head, 10% warmup,
  linear decay, weight decay 0.01, dropout 0.1), trained ``--epochs`` epochs (5: more than the
  recipe's 3, room to overfit), keeping the last epoch's weights;
- ``smaller rate``: the same at a peak rate of 2e-5;
- ``early stopping``: the same, stopping when the watch part's loss has not fallen for one epoch
  (``early_stopping_patience=1``) and keeping the epoch of best watch macro F1;
- ``dropout 0.3``: every dropout layer outside the attention probabilities at p = 0.3 (0.1 in
  the checkpoint), as notebook 07's ``hidden_dropout_prob=0.3``;
- ``weight decay 0.1``: ten times the recipe's.

Every run of a seed starts from the same new head (the seed is set before loading). For each
remedy it prints the judge part's macro F1 and the 95% paired bootstrap interval of (remedy minus
unchanged) on the judge tweets (``course_utils.metrics.bootstrap_difference``), and a verdict:
"helps" (interval above 0), "hurts" (below 0) or "no detectable difference". Time it alone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from bench_common import offline_by_default  # noqa: E402
from learning_curve import BATCH_SIZE, MAX_LENGTH, environment_line  # noqa: E402

#: name: (train() settings changed, dropout p or None)
REMEDIES = {
    "unchanged": ({}, None),
    "smaller rate": ({"lr": 2e-5}, None),
    "early stopping": ({"early_stopping_patience": 1, "keep_best": True}, None),
    "dropout 0.3": ({}, 0.3),
    "weight decay 0.1": ({"weight_decay": 0.1}, None),
}


def remedy_verdict(low: float, high: float) -> str:
    return "helps" if low > 0 else "hurts" if high < 0 else "no detectable difference"


def set_dropout(model, p: float) -> int:
    """Every ``nn.Dropout`` outside the attention probabilities to ``p``; how many layers were changed."""
    import torch

    changed = 0
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Dropout) and ".attention.self" not in f".{name}":
            module.p = p
            changed += 1
    return changed


def format_remedies(rows: list[dict]) -> str:
    lines = ["| seed | run | judge macro F1 | epochs run (kept) | minus unchanged | 95% paired interval | verdict |",
             "|---:|---|---:|---|---:|---|---|"]
    for row in rows:
        if row["run"] == "unchanged":
            lines.append(f"| {row['seed']} | unchanged | {row['score']:.3f} | {row['epochs']} ({row['kept']}) | | | |")
        else:
            lines.append(f"| {row['seed']} | {row['run']} | {row['score']:.3f} | {row['epochs']} ({row['kept']}) | "
                         f"{row['difference']:+.3f} | {row['low']:+.3f} to {row['high']:+.3f} | "
                         f"{remedy_verdict(row['low'], row['high'])} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-size", type=int, default=500)
    parser.add_argument("--watch-size", type=int, default=400, help="validation tweets training may look at (400)")
    parser.add_argument("--judge-size", type=int, default=None, help="judge tweets (default: the rest of validation)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", default="42", help="training seeds, comma-separated (42)")
    parser.add_argument("--runs", default=",".join(REMEDIES), help="which runs, comma-separated (all)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--model", default="packaged")
    args = parser.parse_args(argv)
    offline_by_default(args.model)

    import torch

    from course_utils import corpora, data, prediction, training
    from course_utils.metrics import average_scores, bootstrap_difference
    from course_utils.models import load_classifier

    if args.threads:
        torch.set_num_threads(args.threads)
    print(environment_line(args.threads), flush=True)
    splits = corpora.load_sentiment_splits()
    train_df = data.subsample(splits.train, args.train_size, seed=data.SEED)
    watch = data.subsample(splits.val, args.watch_size, seed=data.SEED)
    judge = data.subsample(splits.val.drop(splits.val.index[splits.val["text"].isin(watch["text"])]),
                           args.judge_size, seed=data.SEED)
    y_judge = judge["label_id"].to_numpy()
    print(f"train {len(train_df):,} tweets, watch {len(watch):,} (training looks at them), judge {len(judge):,} "
          f"(no run looks at them); {args.epochs} epochs unless stopped early", flush=True)

    names = [name.strip() for name in args.runs.split(",")]
    if names[0] != "unchanged":
        names.insert(0, "unchanged")
    rows = []
    for seed in [int(part) for part in args.seeds.split(",")]:
        predictions = {}
        for name in names:
            change, dropout = REMEDIES[name]
            training.set_seed(seed)
            model, tokenizer = load_classifier(args.model, label_names=splits.label_names, verbose=False)
            if dropout is not None:
                set_dropout(model, dropout)
            settings = {"epochs": args.epochs, "keep_best": False, **change}
            result = training.train(model, tokenizer, train_df, watch, max_length=MAX_LENGTH, batch_size=BATCH_SIZE,
                                    seed=seed, progress=False, **settings)
            pred = prediction.predict_proba(model, tokenizer, judge["text"], max_length=MAX_LENGTH).argmax(axis=1)
            predictions[name] = pred
            row = {"seed": seed, "run": name, "score": average_scores(y_judge, pred)["macro_f1"],
                   "epochs": len(result.per_epoch), "kept": result.best_epoch}
            if name != "unchanged":
                difference = bootstrap_difference(y_judge, pred, predictions["unchanged"], "macro_f1")
                row.update(difference=difference.estimate, low=difference.low, high=difference.high)
            rows.append(row)
            history = ", ".join(f"{loss:.3f}" for loss in result.per_epoch["val_loss"])
            print(f"[seed {seed}] {name}: judge macro F1 {row['score']:.4f}; {row['epochs']} epoch(s), kept epoch "
                  f"{row['kept']}; watch loss per epoch {history}; {result.seconds:.0f} s"
                  + (f"; minus unchanged {row['difference']:+.4f} ({row['low']:+.4f} to {row['high']:+.4f})"
                     if name != "unchanged" else ""), flush=True)
    print(f"\nRemedies on {len(train_df):,} training tweets, judged on {len(judge):,} validation tweets no run "
          "looked at (macro F1):")
    print(format_remedies(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
