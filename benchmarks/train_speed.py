"""Train the same model on the same SMS messages several ways, side by side, and compare.

    python benchmarks/train_speed.py                      # 1,000 messages, 1 epoch, batch 16, each loop's own rate
    python benchmarks/train_speed.py --repeats 3 --test   # 3 training seeds per loop: median speed, mean F1
    python benchmarks/train_speed.py --full --test        # the whole train split (3,173), and the test split
    python benchmarks/train_speed.py --loops course_utils,course_utils_fp32   # bf16 vs full precision
    python benchmarks/train_speed.py --model bert-base-uncased            # on a GPU: mixed precision

The loops, each on the same training messages, batch size, epochs and seed, each at its own
learning rate (``--lr`` gives every loop one rate, and ``course_utils`` one rate for every weight);
the first four run by default:

- ``course_utils``: :func:`course_utils.training.train` with the model family's recipe
  (:func:`course_utils.settings.Recipe.for_model`: for the packaged model a peak rate of 1e-4 and
  10x that for the pooler and the head; length-grouped dynamic padding, fused AdamW with weight
  decay 0.01, linear warmup over 10% of the steps then decay, gradient clipping; its default
  mixed precision: bf16 autocast on a CPU with bf16 instructions or a CUDA GPU of compute
  capability 8.0+, fp16 on older GPUs);
- ``trainer``: ``transformers.Trainer`` with its defaults (dynamic padding per random batch,
  its default optimizer and schedule), given the same batch size, epochs and seed, lr 5e-5, no checkpoints written, and the same mixed precision as ``course_utils``;
- ``trainer_best``: ``transformers.Trainer`` with the settings a practitioner would pick:
  length-grouped batches (``train_sampling_strategy="group_by_length"`` in transformers 5,
  ``group_by_length=True`` in 4), ``optim="adamw_torch_fused"``, weight decay 0.01 and
  warmup over 10% of the steps as ``course_utils``, lr 5e-5, no checkpoints, no logging, the same
  mixed precision as ``course_utils``;
- ``seeds``: a common tutorial's loop as written (``tokenizer(texts, padding=True)`` over the
  messages of the data set, ``TensorDataset``, ``torch.optim.Adam`` at 5e-5, no schedule, full
  precision), moved to the device. The tutorial tokenizes its whole data set at once, so every
  message is padded to the longest message of the data set (238 tokens); ``--seeds-padding
  train`` pads only to the longest of the training messages instead (a kinder variant);
- ``course_utils_random``: ``course_utils`` with ``group_by_length=False`` (random batches);
- ``course_utils_fp32``: ``course_utils`` with ``mixed_precision="no"`` (full precision), to
  compare with ``course_utils``' default precision in the same run.

``--no-amp`` puts every loop in full precision. Each loop runs in its own fresh process, one
after the other, so memory figures do not mix; with ``--repeats N`` the loops alternate N
times, round k training with seed ``seed + k - 1`` (the training messages stay the same:
``--data-seed``). For each it prints training samples per second (tokenizing and batching
included, validation excluded), the achieved training FLOP rate, padding efficiency (real
tokens / padded tokens), peak memory (CUDA: peak allocated; CPU: peak resident memory above
what the process held before training), the precision its Linear layers really computed in
(seen by a forward hook) and spam F1 on the validation split (``--val-size`` subsamples it),
all scored by the same :func:`course_utils.prediction.evaluate`; after several rounds, the median
speed and the mean and spread of F1.

FLOP rate: useful training FLOPs over the same seconds as samples/s, counted on the real
(non-pad) tokens of the batches each loop trained on (see ``bench_common``)::

    FLOPs = 6 * N * sum(n_i)  +  12 * n_layers * hidden * sum(n_i ** 2)

with N the non-embedding parameters and n_i each training message's real length (per epoch,
times the epochs): ``6 N`` per token for the weights (forward and backward), ``12 n_layers
hidden n`` per token for attention's ``QK^T`` and weighted values. Before the loops the parent
process times ``torch.matmul`` (torch's default threads) at 2048x2048 (8192 on CUDA) and at
the model's feed-forward shapes with ``batch x 32`` token rows, about ``--peak-seconds`` each,
in fp32 and in the device's mixed-precision dtype; the best is the measured matmul peak, and
each loop's ``flops_<loop>=...`` line gives its share of the peak of the precision it ran in.

The last lines are ``ratio_vs_seeds=``, ``ratio_vs_trainer_best=`` and ``ratio_vs_trainer=X.XX``:
course_utils samples/s over each other loop's (medians). Figures are ratios within one run;
other work on the machine slows every loop, so compare ratios, not absolute speeds, across runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_common, also in the spawned processes

from bench_common import (PrecisionProbe, TokenCounts, default_amp, matmul_peaks, model_shape,  # noqa: E402
                          offline_by_default, peak_rss_mb, precision_label, rss_now_mb, run_in_fresh_process,
                          shape_text, training_flops)

LOOPS = ("course_utils", "trainer", "trainer_best", "seeds", "course_utils_random", "course_utils_fp32")
DEFAULT_LOOPS = ("course_utils", "trainer", "trainer_best", "seeds")
FULL_PRECISION_LOOPS = ("seeds", "course_utils_fp32")  # the tutorial's loop as written; the fp32 comparison
DEFAULT_TRAIN_SIZE = 1000
OTHER_LOOPS_LR = 5e-5  # Trainer's and the tutorial's rate unless --lr gives every loop one
WEIGHT_DECAY, WARMUP_RATIO = 0.01, 0.1  # course_utils.training.train's defaults, given to trainer_best
PEAK_TOKENS_PER_TEXT = 32  # matmul peak at the model's shapes: batch x 32 token rows (SMS: 25 tokens on average)


@dataclasses.dataclass
class Ran:
    """What a loop hands back: how to count its training tokens (called after the clock stops)."""

    counts: Callable[[], TokenCounts]  # one epoch's batches
    padding_efficiency: float | None = None  # over all epochs, where the loop measured it itself


def load_data(args):
    from course_utils.corpora import load_splits
    from course_utils.data import subsample

    splits = load_splits()
    size = None if args.full else args.train_size
    val = subsample(splits.val, args.val_size, seed=args.data_seed)
    return subsample(splits.train, size, seed=args.data_seed), val, splits.test


def load_model(args):
    from course_utils.corpora import LABEL_NAMES
    from course_utils.models import choose_model, load_classifier
    from course_utils.training import set_seed

    set_seed(args.seed)  # the same new classification head for every loop
    return load_classifier(choose_model(args.model), label_names=LABEL_NAMES, verbose=False)


def run_course_utils(model, tokenizer, train_df, args, device, amp, group_by_length=True):
    from course_utils.batches import make_loader
    from course_utils.training import train

    one_rate = args.lr is not None  # --lr: every loop, every weight at that rate; else the recipe's rates
    result = train(model, tokenizer, train_df, None, epochs=args.epochs, batch_size=args.batch_size,
                   lr=args.lr, head_lr_multiplier=1.0 if one_rate else None, warmup_ratio=WARMUP_RATIO,
                   max_length=args.max_length, seed=args.seed, device=device,
                   mixed_precision=amp or "no", progress=False, group_by_length=group_by_length)

    def counts():  # the same tokenization and batches as train's first epoch
        return TokenCounts.of_batches(make_loader(tokenizer, train_df, batch_size=args.batch_size,
                                                  max_length=args.max_length, shuffle=True,
                                                  group_by_length=group_by_length, seed=args.seed))

    return Ran(counts, result.padding_efficiency)


def run_course_utils_random(model, tokenizer, train_df, args, device, amp):
    """course_utils with plain random batches: what length grouping costs or gains in F1."""
    return run_course_utils(model, tokenizer, train_df, args, device, amp, group_by_length=False)


def run_course_utils_fp32(model, tokenizer, train_df, args, device, amp):
    """course_utils in full precision (``amp`` is None for this loop: mixed_precision="no")."""
    return run_course_utils(model, tokenizer, train_df, args, device, amp)


def trainer_arguments(output_dir: str, args, device, amp, total_steps: int, best: bool):
    """TrainingArguments for the ``trainer`` (defaults) or ``trainer_best`` loop, for transformers 4.40+ and 5.x."""
    from transformers import TrainingArguments

    settings = dict(
        output_dir=output_dir,
        per_device_train_batch_size=args.batch_size,
        num_train_epochs=args.epochs,
        learning_rate=args.lr or OTHER_LOOPS_LR,
        seed=args.seed,
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
        bf16=amp == "bf16",  # on a CPU, with use_cpu=True: autocast to bf16 (the probe checks it ran)
        fp16=amp == "fp16",
        use_cpu=device.type == "cpu",
    )
    if best:
        fields = {field.name for field in dataclasses.fields(TrainingArguments)}
        if "train_sampling_strategy" in fields:  # transformers 5
            settings["train_sampling_strategy"] = "group_by_length"
        else:  # transformers 4
            settings["group_by_length"] = True
        settings.update(
            optim="adamw_torch_fused",
            weight_decay=WEIGHT_DECAY,  # Trainer exempts biases and LayerNorm weights, as course_utils does
            # warmup as course_utils counts it, int(0.1 * steps): warmup_ratio is gone in transformers 5
            # (warmup_steps takes a fraction there), warmup_steps as a whole number works in both
            warmup_steps=int(WARMUP_RATIO * total_steps),
            logging_strategy="no",
        )
    return TrainingArguments(**settings)


def run_trainer(model, tokenizer, train_df, args, device, amp, best=False):
    from transformers import DataCollatorWithPadding, Trainer
    from transformers.trainer_callback import PrinterCallback

    encodings = tokenizer(train_df["text"].tolist(), truncation=True, max_length=args.max_length)
    features = [dict(zip(encodings.keys(), values), labels=int(label))
                for *values, label in zip(*encodings.values(), train_df["label_id"])]
    total_steps = math.ceil(len(features) / args.batch_size) * args.epochs
    output_dir = tempfile.TemporaryDirectory()
    trainer = Trainer(model=model, args=trainer_arguments(output_dir.name, args, device, amp, total_steps, best),
                      train_dataset=features, data_collator=DataCollatorWithPadding(tokenizer))
    trainer.remove_callback(PrinterCallback)  # its end-of-training summary line only
    trainer.train()
    # accelerate wrapped forward in autocast for mixed precision: unwrap it, so that validation runs in
    # full precision as for the other loops
    trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)
    model.to(device)

    def counts():  # the batches Trainer builds (same sampler and collator), measured after timing
        try:
            return TokenCounts.of_batches(trainer.get_train_dataloader())
        finally:
            output_dir.cleanup()

    return Ran(counts)


def run_trainer_best(model, tokenizer, train_df, args, device, amp):
    return run_trainer(model, tokenizer, train_df, args, device, amp, best=True)


def run_seeds(model, tokenizer, train_df, args, device, amp):
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    if args.seeds_padding == "dataset":  # the tutorial tokenizes its whole data set in one call
        from course_utils.corpora import load_sms_spam
        from course_utils.data import deduplicate

        texts = deduplicate(load_sms_spam())["text"].tolist()  # texts are unique after deduplication
        position = {text: row for row, text in enumerate(texts)}
        rows = [position[text] for text in train_df["text"]]  # the training messages' rows in it
    else:
        texts, rows = train_df["text"].tolist(), None
    labels = train_df["label_id"].tolist()
    inputs = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
    if rows is not None:
        inputs = {key: values[torch.as_tensor(rows)] for key, values in inputs.items()}
    labels = torch.tensor(labels)
    dataset = TensorDataset(inputs["input_ids"], inputs["attention_mask"], labels)
    dataloader = DataLoader(dataset, batch_size=args.batch_size)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr or OTHER_LOOPS_LR)
    model.train()
    for epoch in range(args.epochs):
        for batch in dataloader:
            input_ids, attention_mask, labels = (tensor.to(device) for tensor in batch)
            outputs = model(input_ids, attention_mask=attention_mask, labels=labels)
            loss = outputs.loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()

    def counts():  # every batch is a slice of these rows
        measured = TokenCounts()
        measured.add_mask(inputs["attention_mask"])
        return measured

    return Ran(counts)


RUNNERS = {"course_utils": run_course_utils, "trainer": run_trainer, "trainer_best": run_trainer_best,
           "seeds": run_seeds, "course_utils_random": run_course_utils_random,
           "course_utils_fp32": run_course_utils_fp32}


def loop_amp(name: str, device, no_amp: bool = False) -> str | None:
    """The mixed precision loop ``name`` trains in: course_utils' default on ``device`` ("bf16", "fp16")
    for every loop but the full-precision ones, and None (full precision) for all with ``no_amp``."""
    return None if name in FULL_PRECISION_LOOPS else default_amp(device, no_amp)


def run_one(name: str, args, queue) -> None:
    """Child process: load, train with one loop, evaluate; put a dict of figures on ``queue``."""
    try:
        import torch

        from course_utils.device import device_info, get_device
        from course_utils.prediction import evaluate

        device = get_device(args.device)
        amp = loop_amp(name, device, args.no_amp)
        train_df, val_df, test_df = load_data(args)
        model, tokenizer = load_model(args)
        shape = model_shape(model)
        model.to(device)
        if device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            memory_before = torch.cuda.memory_allocated() / 2**20
        rss_before = rss_now_mb()
        probe = PrecisionProbe(model)
        started = time.perf_counter()
        ran = RUNNERS[name](model, tokenizer, train_df, args, device, amp)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
        probe.close()
        if device.type == "cuda":
            peak_mb = torch.cuda.max_memory_allocated() / 2**20 - memory_before
        else:
            peak_mb = peak_rss_mb() - rss_before
        counts = ran.counts()
        flops = training_flops(shape, counts, args.epochs)
        val = evaluate(model, tokenizer, val_df, device=device, max_length=args.max_length)
        row = {"loop": name, "samples_per_s": len(train_df) * args.epochs / seconds, "seconds": seconds,
               "padding_efficiency": ran.padding_efficiency if ran.padding_efficiency is not None
               else counts.efficiency,
               "gflop_per_s": flops / seconds / 1e9, "train_gflop": flops / 1e9,
               "real_tokens": counts.real * args.epochs, "peak_memory_mb": peak_mb, "val_f1": val["f1"],
               "val_accuracy": val["accuracy"], "device": device_info(device).describe(),
               "asked_precision": precision_label(amp), "precision": probe.label(),
               "non_embedding_params": shape.non_embedding_params}
        if args.test:
            test = evaluate(model, tokenizer, test_df, device=device, max_length=args.max_length)
            row.update(test_f1=test["f1"], test_accuracy=test["accuracy"],
                       test_precision=test["precision"], test_recall=test["recall"])
        queue.put(row)
    except BaseException as exc:  # report instead of hanging the parent
        queue.put({"loop": name, "error": f"{type(exc).__name__}: {exc}"})
        raise


def measure_peaks(args) -> dict | None:
    """The matmul peak of this device in fp32 and in its mixed-precision dtype (module docstring)."""
    import torch
    from transformers import AutoConfig

    from course_utils.device import get_device
    from course_utils.models import choose_model

    device = get_device(args.device)
    if device.type not in ("cpu", "cuda"):
        print(f"matmul peak: not measured on {device.type}")
        return None
    choice = choose_model(args.model)
    config = AutoConfig.from_pretrained(choice.path, local_files_only=choice.local_files_only)
    hidden = int(getattr(config, "hidden_size", 0) or getattr(config, "dim", 0))
    intermediate = int(getattr(config, "intermediate_size", 0) or 4 * hidden)
    square = 8192 if device.type == "cuda" else 2048
    rows = args.batch_size * PEAK_TOKENS_PER_TEXT
    shapes = [(square, square, square), (rows, hidden, intermediate), (rows, intermediate, hidden)]
    dtypes = {"fp32": torch.float32}
    mixed = default_amp(device)  # measured even with --no-amp: the peak full precision is compared with
    if mixed is not None:
        dtypes[mixed] = {"bf16": torch.bfloat16, "fp16": torch.float16}[mixed]
    peaks = matmul_peaks(device, dtypes, shapes, args.peak_seconds)
    threads = f"{torch.get_num_threads()} threads" if device.type == "cpu" else torch.cuda.get_device_name(device)
    for label, found in peaks.items():
        detail = "; ".join(f"{shape_text(shape)}: {rate:.1f}" for shape, rate in found["rates"])
        print(f"matmul_peak_{label}={found['peak']:.1f} GFLOP/s on {device.type} ({threads}; {detail})", flush=True)
    return peaks


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-size", type=int, default=DEFAULT_TRAIN_SIZE,
                        help=f"training messages, stratified from the train split (default {DEFAULT_TRAIN_SIZE})")
    parser.add_argument("--full", action="store_true", help="use the whole train split (3,173 messages)")
    parser.add_argument("--val-size", type=int, default=None,
                        help="validation messages, stratified from the validation split (default: all 454)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=None,
                        help="one learning rate for every loop and every weight (default: course_utils its "
                             f"model's recipe, the other loops {OTHER_LOOPS_LR:g})")
    parser.add_argument("--max-length", type=int, default=128,
                        help="truncation for course_utils and Trainer (the tutorial's loop truncates at 512)")
    parser.add_argument("--model", default=None,
                        help="'packaged', a hub id such as bert-base-uncased, or a folder (default: choose_model())")
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: get_device())")
    parser.add_argument("--no-amp", action="store_true",
                        help="full precision for every loop (default: course_utils' mixed precision for this "
                             "device: bf16 on a CPU with bf16 instructions or a recent GPU, fp16 on older GPUs)")
    parser.add_argument("--loops", default=",".join(DEFAULT_LOOPS),
                        help=f"comma-separated, from {','.join(LOOPS)} (default: {','.join(DEFAULT_LOOPS)}; "
                             "course_utils_random is course_utils with group_by_length=False, "
                             "course_utils_fp32 with mixed_precision='no')")
    parser.add_argument("--test", action="store_true", help="also score the 907-message test split")
    parser.add_argument("--seed", type=int, default=42, help="training seed of the first round (default 42)")
    parser.add_argument("--data-seed", type=int, default=42,
                        help="seed that draws the training (and --val-size) messages (default 42)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="rounds: the loops alternate, round k with training seed seed+k-1; "
                             "reports median speed and mean F1 (default 1)")
    parser.add_argument("--seeds-padding", choices=("dataset", "train"), default="dataset",
                        help="the tutorial's loop (seeds) pads to the longest message of the data set, as the "
                             "tutorial tokenizes it (default), or of the training messages only")
    parser.add_argument("--peak-seconds", type=float, default=1.5,
                        help="seconds per matmul shape and dtype for the measured peak (default 1.5; 0 skips it)")
    args = parser.parse_args(argv)
    args.loops = [name.strip() for name in args.loops.split(",") if name.strip()]
    unknown = sorted(set(args.loops) - set(LOOPS))
    if unknown:
        parser.error(f"unknown loop(s) {unknown}: choose from {', '.join(LOOPS)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.repeats < 1:
        print("--repeats must be at least 1")
        return 2
    offline_by_default(args.model)
    train_df, val_df, _ = load_data(args)
    print(f"{len(train_df)} training messages, {len(val_df)} validation messages, {args.epochs} epoch(s), "
          f"batch {args.batch_size}, "
          f"{f'lr {args.lr:g} for every loop' if args.lr else f'course_utils at its recipe, the others at lr {OTHER_LOOPS_LR:g}'}"
          f", training seed {args.seed}"
          f"{f' to {args.seed + args.repeats - 1}' if args.repeats > 1 else ''}; the tutorial's loop (seeds) padded "
          f"to the longest message of the {'data set' if args.seeds_padding == 'dataset' else 'training messages'}; "
          f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPU cores", flush=True)
    peaks = measure_peaks(args) if args.peak_seconds > 0 else None

    runs: dict[str, list[dict]] = {name: [] for name in args.loops}
    for round_number in range(1, args.repeats + 1):
        round_args = argparse.Namespace(**{**vars(args), "seed": args.seed + round_number - 1})
        for name in args.loops:  # loops alternate, so background load hits each of them alike
            row = run_in_fresh_process(run_one, name, round_args)
            if "error" in row:
                print(f"{name}: failed: {row['error']}", flush=True)
                return 1
            runs[name].append(row)
            prefix = f"[{round_number}/{args.repeats}] " if args.repeats > 1 else ""
            print(prefix + format_row(row, args.test), flush=True)
            if row["precision"] != row["asked_precision"]:
                print(f"warning: {name} was given {row['asked_precision']} but its Linear layers computed in "
                      f"{row['precision']}", flush=True)

    if args.repeats > 1:
        print(f"over {args.repeats} rounds: median speed, FLOP rate and memory, mean F1 ± standard deviation")
    medians = {}
    for name, rows in runs.items():
        row = dict(rows[0])
        for key in ("samples_per_s", "seconds", "peak_memory_mb", "padding_efficiency", "gflop_per_s"):
            row[key] = statistics.median(r[key] for r in rows)
        medians[name] = row
        if args.repeats > 1:
            print(format_summary(row, rows, args.test))
    amp_note = ("off (--no-amp)" if args.no_amp else
                f"{default_amp_of(args) or 'none'} (course_utils' default on this device)")
    print(f"device: {row['device']}; mixed precision: {amp_note}; "
          f"{', '.join(name for name in args.loops if name in FULL_PRECISION_LOOPS) or 'no loop'} in full precision")
    print(f"FLOPs = 6 x {row['non_embedding_params'] / 1e6:.2f}M non-embedding parameters x real tokens "
          "+ 12 x layers x hidden x real length per real token, over the training seconds")
    for name, row in medians.items():
        print(format_flops(name, row, peaks))
    speed = {name: row["samples_per_s"] for name, row in medians.items()}
    if "course_utils" in speed and "course_utils_fp32" in speed:
        print(f"ratio_vs_fp32={speed['course_utils'] / speed['course_utils_fp32']:.2f}")
    for other in ("seeds", "trainer_best", "trainer"):
        if "course_utils" in speed and other in speed:
            print(f"ratio_vs_{other}={speed['course_utils'] / speed[other]:.2f}")
        else:
            print(f"ratio_vs_{other}=n/a (run both course_utils and {other})")
    return 0


def default_amp_of(args) -> str | None:
    from course_utils.device import get_device

    return default_amp(get_device(args.device))


def format_flops(name: str, row: dict, peaks: dict | None) -> str:
    line = f"flops_{name}={row['gflop_per_s']:.1f} GFLOP/s"
    precision = row["precision"]
    if peaks is None:
        return line + " (matmul peak not measured)"
    if precision not in peaks:
        return line + f" (no {precision} matmul peak measured)"
    peak = peaks[precision]["peak"]
    return line + f" ({100 * row['gflop_per_s'] / peak:.0f}% of the measured {precision} matmul peak of {peak:.1f} GFLOP/s)"


def mean_sd(values: list[float]) -> str:
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def format_speed(row: dict) -> str:
    return (f"{row['loop']:>19}: {row['samples_per_s']:6.1f} samples/s  ({row['seconds']:.0f} s)  "
            f"{row['gflop_per_s']:6.1f} GFLOP/s  padding efficiency {row['padding_efficiency']:.2f}  "
            f"peak memory {row['peak_memory_mb']:.0f} MB  computed in {row['precision']}")


def format_summary(row: dict, rows: list[dict], with_test: bool) -> str:
    """The median speed in ``row`` and the mean ± standard deviation of F1 over ``rows``."""
    line = format_speed(row) + f"  val spam F1 {mean_sd([r['val_f1'] for r in rows])}"
    if with_test:
        line += f"  test spam F1 {mean_sd([r['test_f1'] for r in rows])}"
    return line


def format_row(row: dict, with_test: bool) -> str:
    line = format_speed(row) + f"  val spam F1 {row['val_f1']:.3f}"
    if with_test:
        line += (f"  test spam F1 {row['test_f1']:.3f} (precision {row['test_precision']:.3f}, "
                 f"recall {row['test_recall']:.3f}, accuracy {row['test_accuracy']:.3f})")
    return line


if __name__ == "__main__":
    sys.exit(main())
