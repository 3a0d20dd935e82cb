"""Score the test split's messages two ways, side by side, and check they predict the same.

    python benchmarks/predict_speed.py                    # the 907 test messages, batch 64, max length 128
    python benchmarks/predict_speed.py --train-size 300   # on a briefly fine-tuned model
    python benchmarks/predict_speed.py --limit 40         # the first 40 test messages (the tests' size)

The two ways, on the same model, messages, batch size, truncation and device, in this process:

- ``course_utils``: :func:`course_utils.prediction.predict_proba` (tokenizes all texts once,
  batches texts of similar length, pads each batch to its own longest, puts the results back
  in the order given);
- ``pipeline``: ``transformers.pipeline("text-classification", model=..., tokenizer=...,
  device=...)`` called on the list of texts with ``batch_size``, ``truncation=True``,
  ``max_length``, ``top_k=None`` and ``function_to_apply="softmax"`` (every class's probability;
  batches in the order given, each padded to its longest).

The model is the packaged one with a new classification head made after ``set_seed(42)``
(``--model`` for another; ``--train-size N`` first fine-tunes it on N training messages for one
epoch, so the probabilities are not all near 0.5). Both ways run once on 8 messages to warm up,
then once on all of them, timed: messages per second. Both run in full precision. Then the
check: ``same predictions: K of N`` (the most probable class agrees; the pipeline's class
names are mapped back to class numbers through ``model.config.label2id``) and the largest
absolute difference between their probabilities. The last line is ``ratio_vs_pipeline=X.XX``:
course_utils messages/s over the pipeline's. Other work on the machine slows both; compare
ratios, not absolute speeds, across runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import offline_by_default  # noqa: E402

WARMUP_TEXTS = 8


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="score only the first N test messages (default: all 907)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=128, help="truncation for both (default 128)")
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: get_device())")
    parser.add_argument("--model", default=None,
                        help="'packaged', a hub id such as bert-base-uncased, or a folder (default: choose_model())")
    parser.add_argument("--seed", type=int, default=42, help="seed of the new classification head (default 42)")
    parser.add_argument("--train-size", type=int, default=0,
                        help="first fine-tune on this many training messages for one epoch (default 0: no training)")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    return args


def pipeline_probabilities(classifier, texts, args, label2id: dict) -> "np.ndarray":
    """The pipeline's probabilities as an (n, num_labels) array, column i = class number i."""
    import numpy as np

    outputs = classifier(texts, batch_size=args.batch_size, truncation=True, max_length=args.max_length,
                         top_k=None, function_to_apply="softmax")
    probabilities = np.zeros((len(texts), len(label2id)), dtype=np.float64)
    for row, scores in enumerate(outputs):
        for entry in scores:
            probabilities[row, label2id[entry["label"]]] = entry["score"]
    return probabilities


def main(argv=None) -> int:
    args = parse_args(argv)
    offline_by_default(args.model)

    import numpy as np
    import torch
    from transformers import pipeline

    from course_utils.corpora import LABEL_NAMES, load_splits
    from course_utils.data import subsample
    from course_utils.device import device_info, get_device
    from course_utils.models import choose_model, load_classifier
    from course_utils.prediction import predict_proba
    from course_utils.training import set_seed, train

    splits = load_splits()
    texts = splits.test["text"].tolist()[:args.limit]
    device = get_device(args.device)
    set_seed(args.seed)
    model, tokenizer = load_classifier(choose_model(args.model), label_names=LABEL_NAMES, verbose=False)
    if args.train_size:
        train(model, tokenizer, subsample(splits.train, args.train_size, seed=args.seed), None, epochs=1,
              seed=args.seed, device=device, progress=False)
    model.to(device)
    model.eval()
    label2id = {str(name): int(index) for name, index in model.config.label2id.items()}
    print(f"{len(texts)} test messages, batch {args.batch_size}, max length {args.max_length}, "
          f"{'fine-tuned on ' + str(args.train_size) + ' messages' if args.train_size else 'new classification head'}; "
          f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPU cores, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads)", flush=True)

    classifier = pipeline("text-classification", model=model, tokenizer=tokenizer, device=device)
    warmup = texts[:WARMUP_TEXTS]
    predict_proba(model, tokenizer, warmup, batch_size=args.batch_size, max_length=args.max_length, device=device)
    pipeline_probabilities(classifier, warmup, args, label2id)

    def timed(function):
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        result = function()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return result, time.perf_counter() - started

    ours, ours_seconds = timed(lambda: predict_proba(model, tokenizer, texts, batch_size=args.batch_size,
                                                     max_length=args.max_length, device=device))
    theirs, theirs_seconds = timed(lambda: pipeline_probabilities(classifier, texts, args, label2id))
    ours_rate, theirs_rate = len(texts) / ours_seconds, len(texts) / theirs_seconds
    print(f"course_utils.predict_proba: {ours_rate:7.1f} messages/s  ({ours_seconds:.2f} s)")
    print(f"transformers.pipeline:      {theirs_rate:7.1f} messages/s  ({theirs_seconds:.2f} s)")
    print(f"device: {device_info(device).describe()}; both in full precision")
    agree = int((ours.argmax(axis=1) == theirs.argmax(axis=1)).sum())
    difference = float(np.abs(ours.astype(np.float64) - theirs).max())
    print(f"same predictions: {agree} of {len(texts)}; largest probability difference {difference:.2e}")
    print(f"ratio_vs_pipeline={ours_rate / theirs_rate:.2f}")
    return 0 if agree == len(texts) else 1


if __name__ == "__main__":
    sys.exit(main())
