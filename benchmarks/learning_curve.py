"""When is fine-tuning worth it? The fine-tune and the TF-IDF baseline over training sizes, seeds and paired intervals.

    python benchmarks/learning_curve.py                         # sentiment and spam, 200/500/1,000/2,000, 3 seeds
    python benchmarks/learning_curve.py --data sentiment --csv curve.csv --plot curve.png
    python benchmarks/learning_curve.py --goal fast             # the sentiment goal: fast mode's size, 3 seeds
    python benchmarks/learning_curve.py --quick                 # a smoke version: 2 small sizes, 2 seeds
    python benchmarks/learning_curve.py --from-csv a.csv,b.csv --plot curve.png   # tables and plot, no training

For each data set (``--data``), training size (``--sizes``) and seed (``--seeds``, each seed its
own stratified sample of the training split, drawn with that seed) it fits the baseline
(``course_utils.baseline``: TF-IDF word and character n-grams, a linear SVM whose C is chosen on
validation) and fine-tunes the packaged MiniLM-L6 with ``course_utils.training.train`` and the
checkpoint's recipe (``Recipe.for_model``: peak rate 1e-4, 10x for the pooler and head, 10%
warmup, linear decay, 3 epochs, the best epoch on validation kept), max length 64, batches of
16, on the same sample. Both are scored on the same test split: macro F1 for the airline
tweets (three classes), the spam class's F1 for SMS. Per run it prints the two scores and the
95% paired bootstrap interval of (fine-tuned minus baseline) from ``course_utils.metrics``;
at the end one table per data set:

    size | fine-tuned (seed mean) | baseline (seed mean) | mean difference | each seed's interval | verdict

The verdict (:func:`verdict`) is "fine-tune ahead" when every seed's interval lies above 0,
"baseline ahead" when every seed's lies below 0, else "level within noise". ``--csv`` writes one
row per run, ``--plot`` a PNG of both curves (seed mean, with each seed's fine-tuned score as a
dot). The validation split is a fixed stratified ``--val-size`` texts (500) for every run (it
picks the baseline's C and the fine-tune's best epoch); the test split is whole unless
``--test-size`` says otherwise.

``--goal fast`` measures the course's goal on sentiment on notebook 08's fast-mode split: ``FAST_SPLIT``
(800 training tweets of ``load_sentiment_splits()``'s training split, 200 validation, 1,000 test;
``--sizes``, ``--val-size`` and ``--test-size`` override it; seed 42's sample is the notebook's), seeds 42-44;
it prints ``goal_fast_margin=`` (goal: at least 0.05) and ``goal_fast_seeds_excluding_0=`` (goal:
3 of 3). Time it alone: two torch processes on a 2-core machine slow each other several-fold.

``--from-csv`` reads runs that ``--csv`` wrote (several files: one curve measured in parts) and
prints the tables, writes ``--csv`` and ``--plot`` from them, without training anything; the
measured curve is kept in ``benchmarks/measured/learning_curve.csv``.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from bench_common import default_amp, offline_by_default, precision_label  # noqa: E402

DEFAULT_SIZES = (200, 500, 1000, 2000)
QUICK_SIZES = (100, 200)
#: --goal fast: notebook 08's fast mode (training, validation and test tweets); every subsample is stratified,
#: validation and test drawn with seed 42, so seed 42's run has exactly the notebook's split
FAST_SPLIT = (800, 200, 1000)
MAX_LENGTH = 64
BATCH_SIZE = 16
#: what each data set is scored by, and how the score is named in the table
METRICS = {"sentiment": ("macro_f1", "macro F1"), "spam": ("f1", "spam F1")}

AHEAD, LEVEL, BEHIND = "fine-tune ahead", "level within noise", "baseline ahead"
VERDICT_SHORT = {AHEAD: "ahead", LEVEL: "level", BEHIND: "behind"}  #: the fine-tune's verdict in a plot title


# --- pure functions: the verdict and the table (tests/test_benchmarks.py) --------------------------


@dataclass(frozen=True)
class Run:
    """One training size and seed: both scores on the test split and the paired interval of their difference."""

    data: str
    size: int
    seed: int
    fine_tuned: float
    baseline: float
    difference: float
    low: float
    high: float
    seconds: float = 0.0
    best_epoch: int = 0


def verdict(intervals: list[tuple[float, float]]) -> str:
    """"fine-tune ahead" if every seed's interval (low, high) lies above 0, "baseline ahead" if every one lies
    below 0, else "level within noise" (an interval touching 0, or seeds that disagree)."""
    if not intervals:
        raise ValueError("no intervals to judge")
    if all(low > 0 for low, _ in intervals):
        return AHEAD
    if all(high < 0 for _, high in intervals):
        return BEHIND
    return LEVEL


def summarize(runs: list[Run]) -> list[dict]:
    """One row per (data set, size), in the order first seen: seed means, mean difference, intervals, verdict."""
    groups: dict[tuple[str, int], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.data, run.size), []).append(run)
    rows = []
    for (data_name, size), group in groups.items():
        fine_tuned = [run.fine_tuned for run in group]
        rows.append({"data": data_name, "size": size, "seeds": len(group),
                     "fine_tuned": statistics.mean(fine_tuned),
                     "fine_tuned_sd": statistics.stdev(fine_tuned) if len(group) > 1 else 0.0,
                     "baseline": statistics.mean(run.baseline for run in group),
                     "difference": statistics.mean(run.difference for run in group),
                     "intervals": [(run.low, run.high) for run in group],
                     "excluding_0": sum(run.low > 0 for run in group),
                     "verdict": verdict([(run.low, run.high) for run in group])})
    return rows


def format_table(rows: list[dict], what: str) -> str:
    """The summary rows of one data set as a Markdown table (``what``: the score's name, e.g. "macro F1")."""
    lines = [f"| training texts | fine-tuned {what} (seed mean ± sd) | baseline {what} (seed mean) | "
             "mean difference | each seed's 95% paired interval | verdict |",
             "|---:|---|---|---:|---|---|"]
    for row in rows:
        intervals = ", ".join(f"{low:+.3f} to {high:+.3f}" for low, high in row["intervals"])
        lines.append(f"| {row['size']:,} | {row['fine_tuned']:.3f} ± {row['fine_tuned_sd']:.3f} | "
                     f"{row['baseline']:.3f} | {row['difference']:+.3f} | {intervals} | {row['verdict']} |")
    return "\n".join(lines)


def goal_lines(rows: list[dict], margin_goal: float = 0.05) -> list[str]:
    """The fast-mode goal on one summary row: mean margin >= ``margin_goal`` and every seed's interval above 0."""
    (row,) = rows
    met = row["difference"] >= margin_goal and row["excluding_0"] == row["seeds"]
    return [f"goal_fast_margin={row['difference']:.4f} (goal >= {margin_goal:.2f})",
            f"goal_fast_seeds_excluding_0={row['excluding_0']}/{row['seeds']} (goal {row['seeds']}/{row['seeds']})",
            f"goal_fast_met={'yes' if met else 'no'}"]


def parse_seeds(text: str) -> list[int]:
    """``"3"``: seeds 42, 43, 44 (three from the course's seed); ``"1,7"``: those seeds."""
    from course_utils.settings import SEED

    if "," not in text and int(text) < 10:
        return [SEED + index for index in range(int(text))]
    return [int(part) for part in text.split(",")]


# --- data and one run --------------------------------------------------------------------------------


def load_data(name: str, val_size: int | None, test_size: int | None):
    """``(train, val, test, label_names)`` of ``name``: the whole training split (runs sample it), a fixed
    stratified ``val_size`` of validation, the test split (or a stratified ``test_size`` of it)."""
    from course_utils import corpora, data

    splits = corpora.load_sentiment_splits() if name == "sentiment" else corpora.load_splits()
    names = tuple(splits.label_names) or tuple(corpora.LABEL_NAMES)
    val = data.subsample(splits.val, val_size, seed=data.SEED)
    test = data.subsample(splits.test, test_size, seed=data.SEED)
    return splits.train, val, test, names


def score_function(metric: str):
    from course_utils.metrics import average_scores, classification_scores

    if metric == "f1":
        return lambda true, pred: classification_scores(true, pred)["f1"]
    return lambda true, pred: average_scores(true, pred)[metric]


def run_one(data_name: str, train_all, val, test, names, size: int, seed: int, *, model: str = "packaged",
            epochs: int | None = None) -> Run:
    """Sample ``size`` training texts with ``seed``, fit the baseline and fine-tune on them, score both on ``test``."""
    from course_utils import data, prediction, training
    from course_utils.baseline import fit_baseline
    from course_utils.metrics import bootstrap_difference
    from course_utils.models import load_classifier

    metric, _ = METRICS[data_name]
    score = score_function(metric)
    sample = data.subsample(train_all, size, seed=seed)
    y_test = test["label_id"].to_numpy()
    baseline_pred = fit_baseline(sample, val, metric=metric).predict(test["text"])
    training.set_seed(seed)  # before the new head is drawn
    classifier, tokenizer = load_classifier(model, label_names=names, verbose=False)
    result = training.train(classifier, tokenizer, sample, val, max_length=MAX_LENGTH, batch_size=BATCH_SIZE,
                            seed=seed, progress=False, **({"epochs": epochs} if epochs else {}))
    pred = prediction.predict_proba(classifier, tokenizer, test["text"], max_length=MAX_LENGTH).argmax(axis=1)
    difference = bootstrap_difference(y_test, pred, baseline_pred, metric)
    return Run(data_name, len(sample), seed, score(y_test, pred), score(y_test, baseline_pred),
               difference.estimate, difference.low, difference.high, result.seconds, result.best_epoch)


# --- output ------------------------------------------------------------------------------------------


def write_csv(runs: list[Run], path: str | Path) -> None:
    fields = list(Run.__dataclass_fields__)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for run in runs:
            writer.writerow({name: getattr(run, name) for name in fields})


def read_csv(paths: list[str | Path]) -> list[Run]:
    """The runs ``write_csv`` wrote, from one or more files, in order (a curve measured in parts)."""
    types = {name: field.type for name, field in Run.__dataclass_fields__.items()}
    convert = {"str": str, "int": int, "float": float}
    runs = []
    for path in paths:
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                runs.append(Run(**{name: convert[types[name]](row[name]) for name in types}))
    return runs


def plot(runs: list[Run], path: str | Path) -> None:
    """Both curves per data set: the seed means joined, each seed's scores as dots; log-scaled sizes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summarize(runs)
    names = list(dict.fromkeys(row["data"] for row in rows))
    figure, axes = plt.subplots(1, len(names), figsize=(5.5 * len(names), 4), squeeze=False)
    for axis, name in zip(axes[0], names):
        mine, seeds = [row for row in rows if row["data"] == name], [run for run in runs if run.data == name]
        sizes = [row["size"] for row in mine]
        axis.plot(sizes, [row["fine_tuned"] for row in mine], "o-", color="C0", label="fine-tuned (seed mean)")
        axis.plot(sizes, [row["baseline"] for row in mine], "s--", color="C1", label="TF-IDF + linear SVM (seed mean)")
        axis.scatter([run.size for run in seeds], [run.fine_tuned for run in seeds], s=12, alpha=0.5, color="C0")
        axis.scatter([run.size for run in seeds], [run.baseline for run in seeds], s=12, alpha=0.5, color="C1",
                     marker="s", label="each seed")
        axis.set_xscale("log")
        axis.minorticks_off()
        axis.set_xticks(sizes, [f"{size:,}" for size in sizes])
        axis.set_xlabel("training texts")
        axis.set_ylabel(f"test {METRICS[name][1]}")
        verdicts = "; ".join(f"{row['size']:,} {VERDICT_SHORT[row['verdict']]}" for row in mine)
        axis.set_title(f"{name}, fine-tune against baseline: {verdicts}", fontsize=9)
        axis.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def environment_line(threads: int | None) -> str:
    import torch
    import transformers

    precision = precision_label(default_amp(torch.device("cpu")))
    return (f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread(s), "
            f"{precision} on the CPU; torch {torch.__version__}, transformers {transformers.__version__}; "
            f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")


def report(runs: list[Run], args: argparse.Namespace) -> int:
    """Print one table per data set in ``runs``; write ``args.csv`` and ``args.plot`` if asked."""
    order = list(dict.fromkeys(run.data for run in runs))
    runs = sorted(runs, key=lambda run: (order.index(run.data), run.size, run.seed))
    summary = summarize(runs)
    for data_name in order:
        rows = [row for row in summary if row["data"] == data_name]
        seeds = sorted({run.seed for run in runs if run.data == data_name})
        print(f"\n{data_name} (test {METRICS[data_name][1]}, {len(seeds)} seed(s): {', '.join(map(str, seeds))}):")
        print(format_table(rows, METRICS[data_name][1]))
        if args.goal == "fast":
            print("\n".join(goal_lines(rows)))
    if args.csv:
        write_csv(runs, args.csv)
        print(f"wrote {args.csv}")
    if args.plot:
        plot(runs, args.plot)
        print(f"wrote {args.plot}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=("sentiment", "spam", "both"), default="both")
    parser.add_argument("--sizes", default=None, help="training sizes, comma-separated (200,500,1000,2000)")
    parser.add_argument("--seeds", default="3", help="a count (3: seeds 42, 43, 44) or seeds, comma-separated")
    parser.add_argument("--goal", choices=("fast",), default=None,
                        help="fast: the sentiment goal on notebook 08's fast split (800 / 200 / 1,000 tweets), "
                             "seeds 42-44, with goal_ lines")
    parser.add_argument("--quick", action="store_true", help="a smoke version: sizes 100,200, 2 seeds, "
                                                              "200 validation and 400 test texts")
    parser.add_argument("--val-size", type=int, default=None, help="validation texts, stratified, fixed (500; --goal fast: 200)")
    parser.add_argument("--test-size", type=int, default=None, help="test texts, stratified (default: all)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default: the model's recipe)")
    parser.add_argument("--csv", default=None, help="write one row per run to this CSV file")
    parser.add_argument("--plot", default=None, help="write the curves to this PNG file")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--model", default="packaged")
    parser.add_argument("--from-csv", default=None,
                        help="CSV files that --csv wrote, comma-separated: print the tables (and --csv, --plot) "
                             "from their runs, without training")
    args = parser.parse_args(argv)
    if args.from_csv:
        return report(read_csv(args.from_csv.split(",")), args)
    offline_by_default(args.model)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    data_names = ["sentiment", "spam"] if args.data == "both" else [args.data]
    sizes, seeds, test_size, val_size = DEFAULT_SIZES, parse_seeds(args.seeds), args.test_size, args.val_size or 500
    if args.goal == "fast":
        data_names, sizes = ["sentiment"], FAST_SPLIT[:1]
        val_size, test_size = args.val_size or FAST_SPLIT[1], args.test_size or FAST_SPLIT[2]
    if args.quick:
        sizes, seeds = QUICK_SIZES, seeds[:2]
        val_size, test_size = min(val_size, 200), test_size or 400
    if args.sizes:
        sizes = tuple(int(part) for part in args.sizes.split(","))
    print(environment_line(args.threads), flush=True)

    runs: list[Run] = []
    for data_name in data_names:
        train_all, val, test, names = load_data(data_name, val_size, test_size)
        what = METRICS[data_name][1]
        print(f"\n{data_name}: training split {len(train_all):,} texts (each run samples its own), validation "
              f"{len(val):,}, test {len(test):,}; classes {', '.join(names)}; score: test {what}", flush=True)
        for size in sizes:
            for seed in seeds:
                run = run_one(data_name, train_all, val, test, names, size, seed, model=args.model, epochs=args.epochs)
                runs.append(run)
                print(f"[{data_name} {run.size:,} seed {seed}] fine-tuned {run.fine_tuned:.4f} (best epoch "
                      f"{run.best_epoch}, {run.seconds:.0f} s), baseline {run.baseline:.4f}, difference "
                      f"{run.difference:+.4f} (95% paired bootstrap {run.low:+.4f} to {run.high:+.4f})", flush=True)

    return report(runs, args)


if __name__ == "__main__":
    raise SystemExit(main())
