"""Does fine-tuning earn its place? The course's recipe against the TF-IDF baseline, over several seeds.

For one data set and training size it fits the baseline (TF-IDF word + character n-grams, a
linear SVM with C chosen on validation: ``course_utils.baseline``), then fine-tunes the
packaged model with ``course_utils.training.train`` once per training seed, with the recipe of
the model's family unless ``--lr`` / ``--epochs`` / ``--warmup`` say otherwise. Everything is
chosen on validation; the test split only scores. It prints, per seed, the test score at
argmax and (two classes) at the threshold chosen on validation, the paired bootstrap interval of
(fine-tuned minus baseline) on the test texts, then the mean and standard deviation over seeds
and one ``goal_...`` line per goal of the course:

    python benchmarks/recipe.py                                 # SMS spam, 1,000 training messages
    python benchmarks/recipe.py --size all                      # SMS spam, the whole training split
    python benchmarks/recipe.py --data titles                   # question titles, notebook 08's fast sizes
    python benchmarks/recipe.py --data titles --size all
    python benchmarks/recipe.py --lr 5e-5 --epochs 1 --head-mult 1   # the older recipe, side by side
    python benchmarks/recipe.py --pooling mean                  # the classifier reads mean pooling
    python benchmarks/recipe.py --size all --select loss        # keep the epoch of lowest validation loss

The score is the spam class's F1 for SMS and macro F1 for the 20 tags. Time it alone: two
torch processes on a 2-core machine slow each other several-fold (the scores do not change).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from bench_common import offline_by_default  # noqa: E402

def use_mean_pooling(model) -> None:
    """Make the classifier read the mean of the real tokens' vectors instead of the [CLS] vector.

    all-MiniLM-L6-v2 was trained with mean pooling; ``BertForSequenceClassification`` reads the
    pooler over ``[CLS]``. This swaps what the pooler's dense layer sees, for measuring only: a
    model changed this way does not save and reload as a plain ``BertForSequenceClassification``.
    """
    import torch

    pooler = model.bert.pooler
    mask_holder = {}

    def pool(hidden_states):
        mask = mask_holder["mask"].unsqueeze(-1).to(hidden_states.dtype)
        mean = (hidden_states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
        return pooler.activation(pooler.dense(mean))

    def remember_mask(module, args, kwargs):
        input_ids = kwargs.get("input_ids", args[0] if args else None)
        mask = kwargs.get("attention_mask")
        mask_holder["mask"] = mask if mask is not None else torch.ones_like(input_ids)

    pooler.forward = pool
    model.bert.register_forward_pre_hook(remember_mask, with_kwargs=True)


#: notebook 08's fast-mode sizes (titles per split)
TITLES_FAST = {"train": 2000, "val": 500, "test": 1000}


def load(data_name: str, size: str, seed: int):
    """(train_df, val_df, test_df, metric, max_length, batch_size) as the notebooks build them."""
    from course_utils import corpora, data

    if data_name == "spam":
        splits = corpora.load_splits()
        train_size = None if size == "all" else int(size)
        return data.subsample(splits.train, train_size, seed=seed), splits.val, splits.test, "f1", 128, 16
    splits = corpora.load_question_titles()
    if size == "all":
        return splits.train, splits.val, splits.test, "macro_f1", 48, 32
    sizes = TITLES_FAST if size == "fast" else {**TITLES_FAST, "train": int(size)}
    return (data.subsample(splits.train, sizes["train"], seed=seed), data.subsample(splits.val, sizes["val"], seed=seed),
            data.subsample(splits.test, sizes["test"], seed=seed), "macro_f1", 48, 32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=("spam", "titles"), default="spam")
    parser.add_argument("--size", default=None, help="training texts: a number, 'fast' or 'all' "
                                                     "(default: 1000 for spam, 'fast' for titles)")
    parser.add_argument("--seeds", default="42,43,44", help="training seeds, comma-separated (42,43,44)")
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the model's recipe)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default: the model's recipe)")
    parser.add_argument("--warmup", type=float, default=None, help="warmup share (default: the model's recipe)")
    parser.add_argument("--head-mult", type=float, default=None,
                        help="learning-rate multiplier of the pooler and classifier (default: the model's recipe)")
    parser.add_argument("--pooling", choices=("cls", "mean"), default="cls",
                        help="what the classifier reads: the pooler over [CLS] (as saved models do) or the mean "
                             "of the tokens (how all-MiniLM-L6-v2 was trained; measurement only)")
    parser.add_argument("--select", choices=("score", "loss"), default="score",
                        help="which epoch's weights train() keeps: the best validation score (the default, as "
                             "the notebooks) or the lowest validation loss")
    parser.add_argument("--eval-size", type=int, default=None,
                        help="validation and test texts each, stratified (default: the whole splits; "
                             "a smaller size only checks that the script runs)")
    parser.add_argument("--model", default="packaged")
    args = parser.parse_args(argv)
    offline_by_default(args.model)

    import numpy as np

    from course_utils import data, prediction, training
    from course_utils.baseline import Baseline, fit_baseline
    from course_utils.data import SEED
    from course_utils.metrics import bootstrap_difference, choose_threshold, _metric_function
    from course_utils.models import Recipe, choose_model, load_classifier

    size = args.size or ("1000" if args.data == "spam" else "fast")
    train_df, val_df, test_df, metric, max_length, batch_size = load(args.data, size, SEED)
    if args.eval_size is not None:
        val_df, test_df = (data.subsample(frame, args.eval_size, seed=SEED) for frame in (val_df, test_df))
    score = _metric_function(metric)
    y_val, y_test = val_df["label_id"].to_numpy(), test_df["label_id"].to_numpy()
    what = "spam F1" if metric == "f1" else "macro F1"
    print(f"data: {args.data}, train {len(train_df):,}, validation {len(val_df):,}, test {len(test_df):,} texts; "
          f"score: test {what}")

    baseline = fit_baseline(train_df, val_df, metric=metric)
    baseline_pred = baseline.predict(test_df["text"])
    baseline_score = score(y_test, baseline_pred)
    print(f"baseline: {baseline}; test {what} {baseline_score:.4f}")

    choice = choose_model(args.model)
    names = tuple(train_df.drop_duplicates("label_id").sort_values("label_id")["label"].astype(str))
    rows = []
    for seed in [int(part) for part in args.seeds.split(",")]:
        training.set_seed(seed)
        model, tokenizer = load_classifier(choice, label_names=names, verbose=False)
        if args.pooling == "mean":
            use_mean_pooling(model)
        recipe = Recipe.for_model(model)
        settings = {"lr": args.lr or recipe.lr, "epochs": args.epochs or recipe.epochs,
                    "warmup_ratio": recipe.warmup_ratio if args.warmup is None else args.warmup,
                    "head_lr_multiplier": args.head_mult or recipe.head_lr_multiplier}
        started = time.perf_counter()
        result = training.train(model, tokenizer, train_df, val_df, batch_size=batch_size, max_length=max_length,
                                seed=seed, progress=False, select_metric="loss" if args.select == "loss" else None,
                                **settings)
        seconds = time.perf_counter() - started
        test_probs = prediction.predict_proba(model, tokenizer, test_df["text"], max_length=max_length)
        test_pred = test_probs.argmax(axis=1)
        difference = bootstrap_difference(y_test, test_pred, baseline_pred, metric)
        row = {"seed": seed, "score": score(y_test, test_pred), "best_epoch": result.best_epoch,
               "seconds": seconds, "difference": difference}
        line = (f"seed {seed}: lr {settings['lr']:g} (head x{settings['head_lr_multiplier']:g}), {settings['epochs']} epochs, "
                f"{args.pooling} pooling, epoch kept by validation {args.select}, "
                f"warmup {settings['warmup_ratio']:g}, "
                f"best epoch {result.best_epoch}, {seconds:.0f} s; test {what} {row['score']:.4f}; "
                f"minus baseline {difference.estimate:+.4f} (95% paired bootstrap {difference.low:+.4f} to "
                f"{difference.high:+.4f})")
        if metric == "f1":
            val_probs = prediction.predict_proba(model, tokenizer, val_df["text"], max_length=max_length)
            threshold = choose_threshold(y_val, val_probs)
            row["score_at_threshold"] = score(y_test, (test_probs[:, 1] >= threshold.value).astype(int))
            line += f"; at the validation threshold {threshold.value:.2f}: {row['score_at_threshold']:.4f}"
        print(line, flush=True)
        rows.append(row)

    scores = [row["score"] for row in rows]
    mean = statistics.mean(scores)
    spread = statistics.stdev(scores) if len(scores) > 1 else 0.0
    margin = mean - baseline_score
    print(f"\nfine-tuned ({len(scores)} seeds): test {what} mean {mean:.4f}, sd {spread:.4f}, "
          f"min {min(scores):.4f}, max {max(scores):.4f}")
    print(f"baseline ({Baseline.name}): test {what} {baseline_score:.4f}")
    beaten = sum(row["difference"].low > 0 for row in rows)
    print(f"mean margin over the baseline {margin:+.4f}; the paired interval excludes 0 for {beaten} of "
          f"{len(rows)} seeds")
    if "score_at_threshold" in rows[0]:
        at_threshold = [row["score_at_threshold"] for row in rows]
        print(f"at the threshold chosen on validation: mean {statistics.mean(at_threshold):.4f}")
    if args.data == "spam" and size == "1000":
        print(f"goal_fast_margin={margin:.4f} (goal >= 0.010) goal_fast_sd={spread:.4f} (goal <= 0.015)")
    elif args.data == "spam" and size == "all":
        print(f"goal_full_f1={mean:.4f} (goal >= 0.960 and above the baseline's {baseline_score:.4f})")
    else:
        print(f"goal_{args.data}_{size}_margin={margin:.4f} (goal > 0)")
    print(f"mean seconds of training per seed: {np.mean([row['seconds'] for row in rows]):.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
