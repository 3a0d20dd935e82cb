"""Train the same model on the same SMS messages three ways, side by side, and compare.

    python benchmarks/train_speed.py                      # 1,000 messages, 1 epoch, batch 16, lr 1e-4
    python benchmarks/train_speed.py --repeats 3 --test   # 3 training seeds per loop: median speed, mean F1
    python benchmarks/train_speed.py --full --test        # the whole train split (3,173), and the test split
    python benchmarks/train_speed.py --model bert-base-uncased            # on a GPU: mixed precision

The three loops, each on the same training messages, batch size, epochs, learning rate and seed:

- ``course_utils``: :func:`course_utils.training.train` (length-grouped dynamic padding,
  fused AdamW, linear warmup/decay; bf16/fp16 autocast on a CUDA GPU);
- ``trainer``: ``transformers.Trainer`` with its defaults (dynamic padding per random batch,
  its default optimizer and schedule), given the same batch size, epochs, learning rate and
  seed, no checkpoints written, and the same mixed precision as ``course_utils`` on a GPU;
- ``seeds``: the lesson's loop as written (``tokenizer(texts, padding=True)`` over the
  messages of the data set, ``TensorDataset``, ``torch.optim.Adam``, no schedule), moved to
  the device. The lesson tokenizes its whole data set at once, so every message is padded to
  the longest message of the data set (238 tokens); ``--seeds-padding train`` pads only to the
  longest of the training messages instead (a kinder variant, and slower to lose to).

Each loop runs in its own fresh process, one after the other, so memory figures do not mix;
with ``--repeats N`` the loops alternate N times, round k training with seed ``seed + k - 1``
(the training messages stay the same: ``--data-seed``). For each it prints training samples
per second (tokenizing and batching included, validation excluded), padding efficiency (real
tokens / padded tokens), peak memory (CUDA: peak allocated; CPU: peak resident memory above
what the process held before training) and spam F1 on the validation split, all scored by the
same :func:`course_utils.training.evaluate`; after several rounds, the median speed and the
mean and spread of F1. The last line is ``ratio_vs_trainer=X.XX``: course_utils samples/s over
Trainer's. Figures are ratios within one run; other work on the machine slows every loop, so
compare ratios, not absolute speeds, across runs.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

LOOPS = ("course_utils", "trainer", "seeds", "course_utils_random")
DEFAULT_LOOPS = ("course_utils", "trainer", "seeds")
DEFAULT_TRAIN_SIZE = 1000


def rss_now_mb() -> float:
    """Resident memory of this process now, from /proc (Linux) or ru_maxrss as a fallback."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, AttributeError):
        return peak_rss_mb()


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def load_data(args):
    from course_utils.data import load_splits, subsample

    splits = load_splits()
    size = None if args.full else args.train_size
    return subsample(splits.train, size, seed=args.data_seed), splits.val, splits.test


def load_model(args):
    from course_utils.data import LABEL_NAMES
    from course_utils.models import choose_model, load_classifier
    from course_utils.training import set_seed

    set_seed(args.seed)  # the same new classification head for every loop
    return load_classifier(choose_model(args.model), label_names=LABEL_NAMES, verbose=False)


def run_course_utils(model, tokenizer, train_df, args, device, amp, group_by_length=True):
    from course_utils.training import train

    result = train(model, tokenizer, train_df, None, epochs=args.epochs, batch_size=args.batch_size,
                   lr=args.lr, max_length=args.max_length, seed=args.seed, device=device,
                   mixed_precision=amp or "no", progress=False, group_by_length=group_by_length)
    return result.padding_efficiency


def run_course_utils_random(model, tokenizer, train_df, args, device, amp):
    """course_utils with plain random batches: what length grouping costs or gains in F1."""
    return run_course_utils(model, tokenizer, train_df, args, device, amp, group_by_length=False)


def run_trainer(model, tokenizer, train_df, args, device, amp):
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    encodings = tokenizer(train_df["text"].tolist(), truncation=True, max_length=args.max_length)
    features = [dict(zip(encodings.keys(), values), labels=int(label))
                for *values, label in zip(*encodings.values(), train_df["label_id"])]
    with tempfile.TemporaryDirectory() as output_dir:
        training_args = TrainingArguments(  # names that exist in transformers 4.40+ and 5.x
            output_dir=output_dir,
            per_device_train_batch_size=args.batch_size,
            num_train_epochs=args.epochs,
            learning_rate=args.lr,
            seed=args.seed,
            report_to="none",
            save_strategy="no",
            disable_tqdm=True,
            bf16=amp == "bf16",
            fp16=amp == "fp16",
            use_cpu=device.type == "cpu",
        )
        trainer = Trainer(model=model, args=training_args, train_dataset=features,
                          data_collator=DataCollatorWithPadding(tokenizer))
        trainer.remove_callback(PrinterCallback)  # its end-of-training summary line only
        trainer.train()
        loader = trainer.get_train_dataloader()
    real = padded = 0
    for batch in loader:  # the batches Trainer built (same sampler and collator), measured after timing
        mask = batch["attention_mask"]
        real += int(mask.sum())
        padded += mask.numel()
    model.to(device)
    return real / padded


def run_seeds(model, tokenizer, train_df, args, device, amp):
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    if args.seeds_padding == "dataset":  # the lesson tokenizes its whole data set in one call
        from course_utils.data import deduplicate, load_sms_spam

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
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    model.train()
    for epoch in range(args.epochs):
        for batch in dataloader:
            input_ids, attention_mask, labels = (tensor.to(device) for tensor in batch)
            outputs = model(input_ids, attention_mask=attention_mask, labels=labels)
            loss = outputs.loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    return float(inputs["attention_mask"].float().mean())


RUNNERS = {"course_utils": run_course_utils, "trainer": run_trainer, "seeds": run_seeds,
           "course_utils_random": run_course_utils_random}


def run_one(name: str, args, queue) -> None:
    """Child process: load, train with one loop, evaluate; put a dict of figures on ``queue``."""
    try:
        import torch

        from course_utils.device import device_info, get_device
        from course_utils.training import evaluate

        device = get_device(args.device)
        amp = None
        if device.type == "cuda" and not args.no_amp:
            amp = "bf16" if device_info(device).bf16 else "fp16"
        train_df, val_df, test_df = load_data(args)
        model, tokenizer = load_model(args)
        model.to(device)
        if device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            memory_before = torch.cuda.memory_allocated() / 2**20
        rss_before = rss_now_mb()
        started = time.perf_counter()
        efficiency = RUNNERS[name](model, tokenizer, train_df, args, device, amp)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
        if device.type == "cuda":
            peak_mb = torch.cuda.max_memory_allocated() / 2**20 - memory_before
        else:
            peak_mb = peak_rss_mb() - rss_before
        val = evaluate(model, tokenizer, val_df, device=device, max_length=args.max_length)
        row = {"loop": name, "samples_per_s": len(train_df) * args.epochs / seconds, "seconds": seconds,
               "padding_efficiency": efficiency, "peak_memory_mb": peak_mb, "val_f1": val["f1"],
               "val_accuracy": val["accuracy"], "device": device_info(device).describe(), "amp": amp or "none"}
        if args.test:
            test = evaluate(model, tokenizer, test_df, device=device, max_length=args.max_length)
            row.update(test_f1=test["f1"], test_accuracy=test["accuracy"],
                       test_precision=test["precision"], test_recall=test["recall"])
        queue.put(row)
    except BaseException as exc:  # report instead of hanging the parent
        queue.put({"loop": name, "error": f"{type(exc).__name__}: {exc}"})
        raise


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-size", type=int, default=DEFAULT_TRAIN_SIZE,
                        help=f"training messages, stratified from the train split (default {DEFAULT_TRAIN_SIZE})")
    parser.add_argument("--full", action="store_true", help="use the whole train split (3,173 messages)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4, help="learning rate for every loop (default 1e-4, as notebook 04)")
    parser.add_argument("--max-length", type=int, default=128,
                        help="truncation for course_utils and Trainer (the seeds' loop truncates at 512)")
    parser.add_argument("--model", default=None,
                        help="'packaged', a hub id such as bert-base-uncased, or a folder (default: choose_model())")
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: get_device())")
    parser.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    parser.add_argument("--loops", default=",".join(DEFAULT_LOOPS),
                        help=f"comma-separated, from {','.join(LOOPS)} (default: the first three; "
                             "course_utils_random is course_utils with group_by_length=False)")
    parser.add_argument("--test", action="store_true", help="also score the 907-message test split")
    parser.add_argument("--seed", type=int, default=42, help="training seed of the first round (default 42)")
    parser.add_argument("--data-seed", type=int, default=42,
                        help="seed that draws the training messages from the train split (default 42)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="rounds: the loops alternate, round k with training seed seed+k-1; "
                             "reports median speed and mean F1 (default 1)")
    parser.add_argument("--seeds-padding", choices=("dataset", "train"), default="dataset",
                        help="the seeds' loop pads to the longest message of the data set, as the lesson "
                             "tokenizes it (default), or of the training messages only")
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
    if args.model in (None, "packaged"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the packaged model needs no network
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    train_df, _, _ = load_data(args)
    print(f"{len(train_df)} training messages, {args.epochs} epoch(s), batch {args.batch_size}, "
          f"lr {args.lr:g}, training seed {args.seed}"
          f"{f' to {args.seed + args.repeats - 1}' if args.repeats > 1 else ''}, seeds' loop padded to the "
          f"longest message of the {'data set' if args.seeds_padding == 'dataset' else 'training messages'}; python {platform.python_version()}, {platform.machine()}, "
          f"{os.cpu_count()} CPU cores", flush=True)

    context = multiprocessing.get_context("spawn")
    runs: dict[str, list[dict]] = {name: [] for name in args.loops}
    for round_number in range(1, args.repeats + 1):
        round_args = argparse.Namespace(**{**vars(args), "seed": args.seed + round_number - 1})
        for name in args.loops:  # loops alternate, so background load hits each of them alike
            queue = context.Queue()
            process = context.Process(target=run_one, args=(name, round_args, queue))
            process.start()
            row = queue.get()
            process.join()
            if "error" in row:
                print(f"{name}: failed: {row['error']}", flush=True)
                return 1
            runs[name].append(row)
            prefix = f"[{round_number}/{args.repeats}] " if args.repeats > 1 else ""
            print(prefix + format_row(row, args.test), flush=True)

    if args.repeats > 1:
        print(f"over {args.repeats} rounds: median speed and memory, mean F1 ± standard deviation")
    speed = {}
    for name, rows in runs.items():
        row = dict(rows[0])
        for key in ("samples_per_s", "seconds", "peak_memory_mb", "padding_efficiency"):
            row[key] = statistics.median(r[key] for r in rows)
        speed[name] = row["samples_per_s"]
        if args.repeats > 1:
            print(format_summary(row, rows, args.test))
    print(f"device: {row['device']}; mixed precision: {row['amp']}")
    if "course_utils" in speed and "seeds" in speed:
        print(f"ratio_vs_seeds={speed['course_utils'] / speed['seeds']:.2f}")
    if "course_utils" in speed and "trainer" in speed:
        print(f"ratio_vs_trainer={speed['course_utils'] / speed['trainer']:.2f}")
    else:
        print("ratio_vs_trainer=n/a (run both course_utils and trainer)")
    return 0


def mean_sd(values: list[float]) -> str:
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def format_speed(row: dict) -> str:
    return (f"{row['loop']:>19}: {row['samples_per_s']:6.1f} samples/s  ({row['seconds']:.0f} s)  "
            f"padding efficiency {row['padding_efficiency']:.2f}  peak memory {row['peak_memory_mb']:.0f} MB")


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
