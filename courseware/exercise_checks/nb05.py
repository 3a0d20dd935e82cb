"""Exercises of notebook 05 (training choices)."""

from __future__ import annotations

from courseware.exercises import Exercise, NotYet, require

# --------------------------------------------------------------------------- 4: save, reload, predict


def _check_save_reload(namespace) -> str:
    from pathlib import Path

    import numpy as np
    import torch

    from course_utils.prediction import predict_proba

    model = require(namespace, "model", torch.nn.Module, "run the cells above first (they load the model)")
    tokenizer = require(namespace, "tokenizer", None, "run the cells above first")
    new_messages = require(namespace, "new_messages", list, "run the cell above first (it defines `new_messages`)")
    save_folder = require(namespace, "save_folder", (str, Path), "store the folder `save_classifier` returns in "
                          "`save_folder`")
    reloaded_model = require(namespace, "reloaded_model", torch.nn.Module,
                             "store the model `load_finetuned` returns in `reloaded_model`")
    reloaded_tokenizer = require(namespace, "reloaded_tokenizer", None,
                                 "store the tokenizer `load_finetuned` returns in `reloaded_tokenizer`")
    after = require(namespace, "after", np.ndarray, "store `predict_proba(reloaded_model, reloaded_tokenizer, "
                    "new_messages)` in `after`")
    folder = Path(save_folder)
    if not folder.is_dir():
        raise NotYet(f"`save_folder` is {str(folder)!r}, which is not a folder: store what `save_classifier(...)` "
                     "returns.")
    names = {path.name for path in folder.iterdir()}
    missing = [name for name in ("model.safetensors", "config.json", "tokenizer_config.json") if name not in names]
    if missing:
        raise NotYet(f"the folder has no {', '.join(missing)}: save with `save_classifier(model, tokenizer, folder, "
                     "overwrite=True)`, which writes the weights, the config and the tokenizer.")
    if reloaded_model is model:
        raise NotYet("`reloaded_model` is the very model that was saved: load it back from the folder with "
                     "`load_finetuned(save_folder)`.")
    if reloaded_tokenizer is None or not callable(reloaded_tokenizer):
        raise NotYet("`reloaded_tokenizer` should be the tokenizer `load_finetuned` returns with the model.")
    if after.shape != (len(new_messages), 2):
        raise NotYet(f"`after` has shape {after.shape}; one row of two class probabilities per new message makes "
                     f"{(len(new_messages), 2)}.")
    saved_model = predict_proba(model, tokenizer, new_messages)
    largest = float(np.abs(saved_model - after).max())
    if largest > 1e-4:
        raise NotYet(f"`after` differs from the saved model's probabilities by up to {largest:.3f}: save `model` "
                     "(the fine-tuned one) and predict `new_messages` with the reloaded model and tokenizer.")
    return (f"{len(names)} files saved; the reloaded model gives the saved model's probabilities for the "
            f"{len(new_messages)} new messages.")


save_reload = Exercise(
    name="save, reload, predict",
    checker=_check_save_reload,
    hint_text="`save_classifier(model, tokenizer, Path('outputs') / 'spam-classifier', overwrite=True)` returns "
              "the folder; `load_finetuned(folder)` returns `(model, tokenizer)`; "
              "`predict_proba(model, tokenizer, texts)` returns one row of probabilities per text.",
    solution_code='''
# Exercise: save `model` and `tokenizer` with `save_classifier` into the folder `save_folder`
#   (outputs/spam-classifier, overwriting an earlier save), then reload them with
#   `load_finetuned` into `reloaded_model` and `reloaded_tokenizer`.
# Exercise: store the reloaded model's class probabilities for `new_messages` in `after`
#   (with `predict_proba`).
save_folder = save_classifier(model, tokenizer, Path("outputs") / "spam-classifier", overwrite=True)
reloaded_model, reloaded_tokenizer = load_finetuned(save_folder)
after = predict_proba(reloaded_model, reloaded_tokenizer, new_messages)
print("saved:", sorted(path.name for path in save_folder.iterdir()))
''',
    alternative_code='''
save_folder = Path("outputs/spam-classifier")
save_classifier(model, tokenizer, save_folder, overwrite=True)
reloaded_model, reloaded_tokenizer = load_finetuned(str(save_folder))
after = predict_proba(reloaded_model, reloaded_tokenizer, list(new_messages))
''',
)
