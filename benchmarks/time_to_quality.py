"""Seconds of training until a model is good enough: course_utils, Trainer at its best, the tutorial's loop.

    python benchmarks/time_to_quality.py                         # whole training split, seeds 42-44
    python benchmarks/time_to_quality.py --seeds 42 --systems course_utils,course_utils_compiled
    python benchmarks/time_to_quality.py --train-size 400 --budget 60   # a quick look

On the whole SMS training split (3,173 messages) it fits the TF-IDF baseline
(``course_utils.baseline``) and takes the baseline's validation spam F1 as the target. Then each
system trains from the same pretrained model and the same new head (seeded), its clock running
while it trains (tokenizing and batching included); ``--evals-per-epoch`` times an epoch (4 by
default, the last at the end of the epoch) the clock stops, the model is scored on the whole
validation split by ``course_utils.prediction.evaluate`` (full precision), and training stops at
the first score at or above the target. The systems:

- ``course_utils``: ``course_utils.training.train`` with the model family's recipe
  (``course_utils.settings.Recipe.for_model``: peak rate 1e-4, 10x that for the pooler and the
  head, 10% warmup, linear decay, 3 epochs), length-grouped batches of 16, fused AdamW, its
  default mixed precision (bf16 autocast on a CPU with bf16 instructions);
- ``trainer_best``: ``transformers.Trainer`` as a practitioner would set it: ``--trainer-lr``
  (5e-5, the top of the 2e-5-5e-5 range BERT's authors recommend), 10% warmup, linear decay,
  3 epochs, batches of 16 grouped by length, ``optim="adamw_torch_fused"``, weight decay 0.01,
  the same mixed precision, no checkpoints and no logging;
- ``tutorial``: a common tutorial's loop (``tokenizer(texts, padding=True)`` over the data set,
  ``TensorDataset``, an unshuffled ``DataLoader`` of 16, constant-rate ``torch.optim.Adam`` at 5e-5,
  full precision);
- ``course_utils_compiled`` (not run by default): ``course_utils`` with the model compiled in
  place (``model.compile(dynamic=True)``, torch's inductor): compile time counts as training time.

A run that has not reached the target after 3 epochs or ``--budget`` seconds of training stops
there. The systems alternate within each seed (every process fresh, one at a time), so background
load hits them alike. Per run it prints the seconds to the target (or that it was not reached),
the validation F1 it stopped at, the best it saw, and the test spam F1 of the model it stopped
with; then per system the median seconds over the seeds, and last
``ratio_time_to_quality_vs_trainer_best=X.XX``: Trainer's median seconds over course_utils'
(above 1: course_utils gets there faster). Time it alone: two torch processes on a 2-core
machine slow each other several-fold.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from bench_common import default_amp, offline_by_default, run_in_fresh_process  # noqa: E402

SYSTEMS = ("course_utils", "trainer_best", "tutorial", "course_utils_compiled")
DEFAULT_SYSTEMS = ("course_utils", "trainer_best", "tutorial")
BATCH_SIZE, MAX_LENGTH, EPOCHS = 16, 128, 3
TUTORIAL_LR = 5e-5


class TargetReached(Exception):
    """Raised from inside a training loop to stop it: the validation score reached the target."""


class Clock:
    """Training seconds: runs while training, stopped while the model is scored on validation."""

    def __init__(self, model, val_df, target: float, budget: float, tokenizer):
        self.model, self.val_df, self.target, self.budget, self.tokenizer = model, val_df, target, budget, tokenizer
        self.seconds, self.started = 0.0, time.perf_counter()
        self.scores: list[tuple[float, int, float]] = []  # (training seconds, samples seen, validation F1)
        self.reached_at: float | None = None

    def checkpoint(self, samples: int) -> bool:
        """Stop the clock, score on validation, restart it; True when training should stop."""
        from course_utils.prediction import evaluate
        from course_utils.training import _full_precision

        self.seconds += time.perf_counter() - self.started
        was_training = self.model.training
        with _full_precision(self.model):  # every system scored as evaluate() scores, without accelerate's autocast
            f1 = evaluate(self.model, self.tokenizer, self.val_df, max_length=MAX_LENGTH)["f1"]
        self.model.train(was_training)
        self.scores.append((self.seconds, samples, f1))
        done = f1 >= self.target or self.seconds >= self.budget
        if f1 >= self.target and self.reached_at is None:
            self.reached_at = self.seconds
        self.started = time.perf_counter()
        return done


def checkpoints_in_epoch(steps_per_epoch: int, evals_per_epoch: int) -> set[int]:
    """The 1-based steps of an epoch after which the model is scored: evenly spaced, the last at its end."""
    return {math.ceil(steps_per_epoch * k / evals_per_epoch) for k in range(1, evals_per_epoch + 1)}


def run_course_utils(model, tokenizer, train_df, clock, args, amp, compiled=False):
    from course_utils import training
    from course_utils.batches import make_loader

    if compiled:
        model.compile(dynamic=True)  # in place: parameter names (and so the head's rate) unchanged
    steps_per_epoch = len(make_loader(tokenizer, train_df, batch_size=BATCH_SIZE, max_length=MAX_LENGTH))
    eval_steps = checkpoints_in_epoch(steps_per_epoch, args.evals_per_epoch)
    seen = {"samples": 0}
    real_step = training._train_step

    def scored_step(run, batch, step, epoch):  # train() runs the step; the clock scores the model at chosen steps
        result = real_step(run, batch, step, epoch)
        seen["samples"] += len(batch["labels"])
        if (step - 1) % steps_per_epoch + 1 in eval_steps and clock.checkpoint(seen["samples"]):
            raise TargetReached
        return result

    training._train_step = scored_step  # this process runs one system, then exits
    try:
        training.train(model, tokenizer, train_df, None, epochs=EPOCHS, batch_size=BATCH_SIZE, seed=args.seed,
                       mixed_precision=amp or "no", progress=False)
    except TargetReached:
        pass
    finally:
        training._train_step = real_step


def run_trainer_best(model, tokenizer, train_df, clock, args, amp):
    import dataclasses
    import tempfile

    from transformers import DataCollatorWithPadding, Trainer, TrainerCallback, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    encodings = tokenizer(train_df["text"].tolist(), truncation=True, max_length=MAX_LENGTH)
    features = [dict(zip(encodings.keys(), values), labels=int(label))
                for *values, label in zip(*encodings.values(), train_df["label_id"])]
    steps_per_epoch = math.ceil(len(features) / BATCH_SIZE)
    eval_steps = checkpoints_in_epoch(steps_per_epoch, args.evals_per_epoch)
    settings = dict(per_device_train_batch_size=BATCH_SIZE, num_train_epochs=EPOCHS, learning_rate=args.trainer_lr,
                    seed=args.seed, report_to="none", save_strategy="no", logging_strategy="no",
                    disable_tqdm=True, optim="adamw_torch_fused", weight_decay=0.01,
                    warmup_steps=int(0.1 * steps_per_epoch * EPOCHS), bf16=amp == "bf16", fp16=amp == "fp16",
                    use_cpu=not __import__("torch").cuda.is_available())
    if "train_sampling_strategy" in {field.name for field in dataclasses.fields(TrainingArguments)}:
        settings["train_sampling_strategy"] = "group_by_length"  # transformers 5
    else:
        settings["group_by_length"] = True  # transformers 4

    class Score(TrainerCallback):
        def on_step_end(self, training_args, state, control, **kwargs):
            step_in_epoch = (state.global_step - 1) % steps_per_epoch + 1
            if step_in_epoch in eval_steps and clock.checkpoint(state.global_step * BATCH_SIZE):
                control.should_training_stop = True
            return control

    with tempfile.TemporaryDirectory() as output_dir:
        trainer = Trainer(model=model, args=TrainingArguments(output_dir=output_dir, **settings),
                          train_dataset=features, data_collator=DataCollatorWithPadding(tokenizer),
                          callbacks=[Score()])
        trainer.remove_callback(PrinterCallback)
        trainer.train()


def run_tutorial(model, tokenizer, train_df, clock, args, amp):
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from course_utils.corpora import load_sms_spam
    from course_utils.data import deduplicate

    texts = deduplicate(load_sms_spam())["text"].tolist()  # the tutorial tokenizes its whole data set at once
    position = {text: row for row, text in enumerate(texts)}
    inputs = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
    rows = torch.as_tensor([position[text] for text in train_df["text"]])
    dataset = TensorDataset(inputs["input_ids"][rows], inputs["attention_mask"][rows],
                            torch.tensor(train_df["label_id"].tolist()))
    dataloader = DataLoader(dataset, batch_size=BATCH_SIZE)  # as written: no shuffle
    eval_steps = checkpoints_in_epoch(len(dataloader), args.evals_per_epoch)
    optimizer = torch.optim.Adam(model.parameters(), lr=TUTORIAL_LR)
    model.train()
    samples = 0
    for _ in range(EPOCHS):
        for step, (input_ids, attention_mask, labels) in enumerate(dataloader, start=1):
            loss = model(input_ids, attention_mask=attention_mask, labels=labels).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            samples += len(labels)
            if step in eval_steps and clock.checkpoint(samples):
                return


RUNNERS = {"course_utils": run_course_utils, "trainer_best": run_trainer_best, "tutorial": run_tutorial,
           "course_utils_compiled": lambda *a: run_course_utils(*a, compiled=True)}


def load_data(args):
    from course_utils.corpora import load_splits
    from course_utils.data import subsample

    splits = load_splits()
    train_df = splits.train if args.train_size is None else subsample(splits.train, args.train_size, seed=42)
    val_df, test_df = (splits.val, splits.test) if args.eval_size is None else (
        subsample(splits.val, args.eval_size, seed=42), subsample(splits.test, args.eval_size, seed=42))
    return train_df, val_df, test_df


def run_one(name: str, args, target: float, queue) -> None:
    """Child process: train one system with one seed until the target; put a dict of figures on ``queue``."""
    try:
        from course_utils.corpora import LABEL_NAMES
        from course_utils.device import get_device
        from course_utils.models import choose_model, load_classifier
        from course_utils.prediction import evaluate
        from course_utils.training import _full_precision, set_seed

        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        device = get_device("cpu" if args.cpu else None)
        amp = None if name == "tutorial" else default_amp(device)
        train_df, val_df, test_df = load_data(args)
        set_seed(args.seed)  # the same new head for every system
        model, tokenizer = load_classifier(choose_model(None), label_names=LABEL_NAMES, verbose=False)
        model.to(device)
        clock = Clock(model, val_df, target, args.budget, tokenizer)
        RUNNERS[name](model, tokenizer, train_df, clock, args, amp)
        last_seconds, last_samples, last_f1 = clock.scores[-1]
        with _full_precision(model):  # Trainer leaves accelerate's autocast on the model's forward
            test = evaluate(model, tokenizer, test_df, max_length=MAX_LENGTH)
        queue.put({"system": name, "seed": args.seed, "reached_at": clock.reached_at, "seconds": last_seconds,
                   "samples": last_samples, "val_f1": last_f1, "best_val_f1": max(f1 for *_, f1 in clock.scores),
                   "test_f1": test["f1"], "evaluations": len(clock.scores), "precision": amp or "fp32"})
    except BaseException as error:  # report instead of hanging the parent
        queue.put({"system": name, "error": f"{type(error).__name__}: {error}"})
        raise


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--systems", default=",".join(DEFAULT_SYSTEMS),
                        help=f"comma-separated, from {','.join(SYSTEMS)} (default {','.join(DEFAULT_SYSTEMS)})")
    parser.add_argument("--seeds", default="42,43,44", help="training seeds (default 42,43,44)")
    parser.add_argument("--train-size", type=int, default=None,
                        help="training messages, stratified (default: the whole training split)")
    parser.add_argument("--eval-size", type=int, default=None,
                        help="validation and test messages each, stratified (default: the whole splits; "
                             "a smaller size only checks that the script runs)")
    parser.add_argument("--evals-per-epoch", type=int, default=4, help="validation scores per epoch (default 4)")
    parser.add_argument("--budget", type=float, default=900,
                        help="training seconds after which a run stops even below the target (default 900)")
    parser.add_argument("--trainer-lr", type=float, default=5e-5, help="Trainer's peak rate (default 5e-5)")
    parser.add_argument("--target", type=float, default=None,
                        help="validation spam F1 to reach (default: the TF-IDF baseline's on validation)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per run (default: torch's)")
    parser.add_argument("--cpu", action="store_true", help="train on the CPU even where a GPU is present")
    args = parser.parse_args(argv)
    args.systems = [name.strip() for name in args.systems.split(",") if name.strip()]
    unknown = sorted(set(args.systems) - set(SYSTEMS))
    if unknown:
        parser.error(f"unknown system(s) {unknown}: choose from {', '.join(SYSTEMS)}")
    args.seed_list = [int(seed) for seed in args.seeds.split(",")]
    if args.evals_per_epoch < 1:
        parser.error("--evals-per-epoch must be at least 1")
    return args


def format_run(row: dict) -> str:
    reached = (f"reached the target after {row['reached_at']:.0f} s" if row["reached_at"] is not None
               else f"did not reach the target in {row['seconds']:.0f} s")
    return (f"[seed {row['seed']}] {row['system']:>21}: {reached} ({row['samples']:,} samples, "
            f"{row['evaluations']} scorings, {row['precision']}); val spam F1 {row['val_f1']:.3f} "
            f"(best {row['best_val_f1']:.3f}), test spam F1 {row['test_f1']:.3f}")


def main(argv=None) -> int:
    args = parse_args(argv)
    offline_by_default(None)
    from course_utils.baseline import fit_baseline
    from course_utils.metrics import classification_scores

    train_df, val_df, test_df = load_data(args)
    baseline = fit_baseline(train_df, val_df)
    baseline_test = classification_scores(test_df["label_id"], baseline.predict(test_df["text"]))["f1"]
    target = args.target if args.target is not None else baseline.val_score
    print(f"{len(train_df):,} training messages, {len(val_df)} validation, {len(test_df)} test; "
          f"python {platform.python_version()}, {os.cpu_count()} CPU cores"
          f"{f', {args.threads} torch thread(s) per run' if args.threads else ''}", flush=True)
    print(f"baseline (TF-IDF + linear SVM): val spam F1 {baseline.val_score:.3f}, test spam F1 {baseline_test:.3f}; "
          f"target: val spam F1 >= {target:.3f}, scored {args.evals_per_epoch}x an epoch, "
          f"at most {EPOCHS} epochs or {args.budget:.0f} s", flush=True)

    runs: dict[str, list[dict]] = {name: [] for name in args.systems}
    for seed in args.seed_list:
        for name in args.systems:  # systems alternate, so background load hits each of them alike
            row = run_in_fresh_process(run_one, name, argparse.Namespace(**{**vars(args), "seed": seed}), target)
            if "error" in row:
                print(f"{name}: failed: {row['error']}", flush=True)
                return 1
            runs[name].append(row)
            print(format_run(row), flush=True)

    medians = {}
    for name, rows in runs.items():
        reached = [row["reached_at"] for row in rows if row["reached_at"] is not None]
        test = [row["test_f1"] for row in rows]
        spread = f" ± {statistics.stdev(test):.3f}" if len(test) > 1 else ""
        if len(reached) == len(rows):
            medians[name] = statistics.median(reached)
            when = f"median {medians[name]:.0f} s to the target ({', '.join(f'{s:.0f}' for s in reached)})"
        else:
            when = f"reached the target in {len(reached)} of {len(rows)} runs"
        print(f"{name:>21}: {when}; test spam F1 when stopped {statistics.mean(test):.3f}{spread}")
    if "course_utils" in medians and "trainer_best" in medians:
        print(f"ratio_time_to_quality_vs_trainer_best={medians['trainer_best'] / medians['course_utils']:.2f}")
    else:
        print("ratio_time_to_quality_vs_trainer_best=n/a (course_utils and trainer_best must both reach the target "
              "in every run)")
    if "course_utils" in medians and "course_utils_compiled" in medians:
        print(f"ratio_compiled_vs_eager={medians['course_utils'] / medians['course_utils_compiled']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
