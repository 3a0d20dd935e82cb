"""The command line on airline tweets: does ``python -m course_utils train`` beat the baseline it prints, every seed?

    python benchmarks/sentiment_cli.py                      # 2,000-tweet samples, seeds 42, 43, 44
    python benchmarks/sentiment_cli.py --sample 1000 --seeds 7

For each seed it draws a stratified sample of ``--sample`` tweets from
``course_utils.corpora.load_airline_tweets()`` (with that seed), writes it as ``text,label`` CSV
to a temporary folder, and runs the command line as a reader would, with its defaults and that
seed (``python -m course_utils train sample.csv --text-column text --label-column label --seed S``:
its own 70/10/20 split, the packaged model's recipe, max length 128), in a fresh process. From
what the command prints it parses the line
``Baseline (TF-IDF + linear SVM): macro F1 X; fine-tuned: macro F1 Y; difference D (95% paired
bootstrap interval L to H).`` and prints one table row per seed, then
``goal_cli_ahead=K/N`` (goal: every seed ahead of the baseline) and how many intervals lie above 0.
The saved models are deleted with the temporary folder. Time it alone.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from bench_common import offline_by_default  # noqa: E402

_NUMBER = r"([-+]?\d+\.\d+)"
COMPARISON = re.compile(rf"^Baseline \(.*?\): (.+?) {_NUMBER}; fine-tuned: .+? {_NUMBER}; difference {_NUMBER} "
                        rf"\(95% paired bootstrap interval {_NUMBER} to {_NUMBER}\)", re.MULTILINE)
SPLIT = re.compile(r"^Split \(stratified, seed \d+\): train ([\d,]+), validation ([\d,]+), test ([\d,]+)", re.MULTILINE)


def parse_comparison(output: str) -> dict:
    """The scores the command line printed: ``{"metric", "baseline", "fine_tuned", "difference", "low", "high"}``
    (and ``train``, ``val``, ``test`` sizes when its split line is there); ValueError if the line is missing."""
    found = COMPARISON.search(output)
    if not found:
        raise ValueError("the command printed no 'Baseline (...): ...; fine-tuned: ...' line")
    metric, baseline, fine_tuned, difference, low, high = found.groups()
    parsed = {"metric": metric, "baseline": float(baseline), "fine_tuned": float(fine_tuned),
              "difference": float(difference), "low": float(low), "high": float(high)}
    split = SPLIT.search(output)
    if split:
        parsed.update(zip(("train", "val", "test"), (int(part.replace(",", "")) for part in split.groups())))
    return parsed


def cli_verdict(parsed: dict) -> str:
    if parsed["low"] > 0:
        return "fine-tune ahead (interval above 0)"
    if parsed["difference"] > 0:
        return "ahead, interval includes 0"
    return "not ahead"


def format_rows(rows: list[dict]) -> str:
    lines = ["| seed | train / val / test tweets | baseline macro F1 | fine-tuned macro F1 | difference | "
             "95% paired interval | verdict | seconds |",
             "|---:|---|---:|---:|---:|---|---|---:|"]
    for row in rows:
        lines.append(f"| {row['seed']} | {row.get('train', 0):,} / {row.get('val', 0):,} / {row.get('test', 0):,} | "
                     f"{row['baseline']:.3f} | {row['fine_tuned']:.3f} | {row['difference']:+.3f} | "
                     f"{row['low']:+.3f} to {row['high']:+.3f} | {cli_verdict(row)} | {row['seconds']:.0f} |")
    return "\n".join(lines)


def write_sample(path: Path, size: int, seed: int) -> int:
    """A stratified ``size`` tweets of the airline set, as ``text,label`` CSV; how many were written."""
    from sklearn.model_selection import train_test_split

    from course_utils import corpora

    tweets = corpora.load_airline_tweets()
    sample = tweets if size >= len(tweets) else train_test_split(
        tweets, train_size=size, stratify=tweets["label"], random_state=seed)[0]
    sample[["text", "label"]].to_csv(path, index=False)
    return len(sample)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=2000, help="tweets per sample (2,000)")
    parser.add_argument("--seeds", default="42,43,44", help="seeds, comma-separated: the sample's and the CLI's")
    parser.add_argument("--model", default=None, help="passed to the command line's --model (default: its own)")
    parser.add_argument("--epochs", type=int, default=None, help="passed as --epochs (default: the CLI's)")
    parser.add_argument("--show", action="store_true", help="print everything the command line prints")
    args = parser.parse_args(argv)
    offline_by_default(args.model)

    rows = []
    with tempfile.TemporaryDirectory(prefix="sentiment-cli-") as folder:
        for seed in [int(part) for part in args.seeds.split(",")]:
            csv_path = Path(folder) / f"airline-{seed}.csv"
            written = write_sample(csv_path, args.sample, seed)
            command = [sys.executable, "-m", "course_utils", "train", str(csv_path), "--text-column", "text",
                       "--label-column", "label", "--seed", str(seed), "--output", str(Path(folder) / f"model-{seed}")]
            command += ["--model", args.model] if args.model else []
            command += ["--epochs", str(args.epochs)] if args.epochs else []
            started = time.perf_counter()
            completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,  # noqa: S603 - our CLI
                                       env={**os.environ, "TQDM_DISABLE": "1"})
            seconds = time.perf_counter() - started
            if args.show or completed.returncode:
                print(completed.stdout + completed.stderr[-3000:])
            if completed.returncode:
                print(f"seed {seed}: the command line exited {completed.returncode}")
                return 1
            row = {"seed": seed, "seconds": seconds, **parse_comparison(completed.stdout)}
            rows.append(row)
            print(f"[seed {seed}] {written:,} tweets: baseline {row['metric']} {row['baseline']:.3f}, fine-tuned "
                  f"{row['fine_tuned']:.3f}, difference {row['difference']:+.3f} ({row['low']:+.3f} to "
                  f"{row['high']:+.3f}), {seconds:.0f} s for the whole command", flush=True)
    print(f"\n`python -m course_utils train` with its defaults on {args.sample:,}-tweet stratified samples "
          f"(test {rows[0]['metric']}):")
    print(format_rows(rows))
    ahead = sum(row["difference"] > 0 for row in rows)
    above = sum(row["low"] > 0 for row in rows)
    print(f"goal_cli_ahead={ahead}/{len(rows)} (goal {len(rows)}/{len(rows)})")
    print(f"cli_intervals_above_0={above}/{len(rows)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
