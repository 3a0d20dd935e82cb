"""Train a tiny BERT on 64 SMS messages with ``course_utils.training.train``: one process, or under a launcher.

Run by tests/test_distributed.py, once plainly and once under ``torchrun`` or
``accelerate launch`` with two CPU processes, with the same settings::

    python tests/distributed_train.py OUT_DIR
    torchrun --standalone --nproc_per_node 2 tests/distributed_train.py OUT_DIR

The model is a 2-layer BERT with hidden size 32 and random weights, built on the
packaged model's tokenizer, dropout off, so that the runs can be compared number for
number. Writes into OUT_DIR:

- ``weights.safetensors`` and ``result.json`` (history, epochs, best epoch): the main process only;
- ``rank{R}.json`` for every process: the epoch rows ``train`` returned to it and the
  number of texts in each training batch its model saw (its part of every batch);
- ``saves-rank{R}.txt``: one line per checkpoint that process wrote (none if it wrote none).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

TRAIN_TEXTS = 64
VAL_TEXTS = 50  # not a multiple of the validation batch: the last one is topped up, then trimmed
SETTINGS = dict(epochs=3, batch_size=16, lr=3e-3, seed=0, mixed_precision="no")  # fp32: the two runs agree to rounding


def main(out: Path) -> None:
    import pandas as pd
    from safetensors.torch import save_file
    from transformers import BertConfig, BertForSequenceClassification

    from course_utils import training
    from course_utils.corpora import load_splits
    from course_utils.data import subsample
    from course_utils.labels import label_config
    from course_utils.models import load_tokenizer

    rank = int(os.environ.get("RANK", "0"))
    save_checkpoint = training._save_checkpoint

    def counted_save(run, folder, *args, **kwargs):
        with open(out / f"saves-rank{rank}.txt", "a", encoding="utf-8") as file:
            file.write(f"{folder}\n")
        return save_checkpoint(run, folder, *args, **kwargs)

    training._save_checkpoint = counted_save

    splits = load_splits()
    train_df = pd.concat([splits.train[splits.train["label_id"] == label].sample(TRAIN_TEXTS // 2, random_state=1)
                          for label in (0, 1)]).reset_index(drop=True)  # balanced: the tiny model learns spam too
    val_df = subsample(splits.val, VAL_TEXTS, seed=1)
    tokenizer = load_tokenizer()
    training.set_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0, classifier_dropout=0.0,
                        **label_config(("ham", "spam")))
    model = BertForSequenceClassification(config)
    batch_sizes: list[int] = []
    model.register_forward_pre_hook(
        lambda module, args, kwargs: batch_sizes.append(int(kwargs["input_ids"].shape[0])) if module.training else None,
        with_kwargs=True)

    result = training.train(model, tokenizer, train_df, val_df, checkpoint_dir=out / "checkpoints", **SETTINGS)

    epochs = result.per_epoch.drop(columns=["seconds", "samples_per_s"]).to_dict(orient="records")
    (out / f"rank{rank}.json").write_text(json.dumps({"epochs": epochs, "batch_sizes": batch_sizes}), encoding="utf-8")
    if rank == 0:
        save_file({key: value.detach().contiguous() for key, value in model.state_dict().items()},
                  str(out / "weights.safetensors"))
        (out / "result.json").write_text(json.dumps({
            "history": result.history.to_dict(orient="records"), "epochs": epochs,
            "best_epoch": result.best_epoch, "padding_efficiency": result.padding_efficiency,
        }), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
