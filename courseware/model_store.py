"""A store of trained models, so the course trains each model once (notebooks 04, 06, 07 and 09).

Several notebooks fine-tune the same spam model: the same checkpoint, the same messages, the
same settings and seed. :func:`train_or_reuse` calls :func:`course_utils.training.train` the
first time and keeps the weights and the :class:`~course_utils.training.TrainResult`; a later
call with the same key loads them and says so in one line. The key holds everything that makes a
run: the model's starting weights (so the checkpoint and the seed of the new head), the training
and validation texts and labels, every training setting, the device and its precision, a hash
of ``course_utils``'s code and the versions of Python, torch, transformers and accelerate. A
notebook opened alone, on a laptop or on Colab, finds no stored model and trains its own.

Where: ``$COURSE_MODEL_STORE``, else ``~/.cache/course-utils/models``; ``COURSE_MODEL_STORE=off``
turns the store off. It keeps the newest :data:`KEEP` models and deletes older ones.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import platform
import shutil
import tempfile
from pathlib import Path

__all__ = ["KEEP", "STORE_ENV_VAR", "run_key", "store_folder", "train_or_reuse"]

STORE_ENV_VAR = "COURSE_MODEL_STORE"
KEEP = 6  # models kept; about 90 MB each for the packaged model


def store_folder() -> Path | None:
    """Where trained models are kept, or None when ``COURSE_MODEL_STORE=off``."""
    value = os.environ.get(STORE_ENV_VAR, "").strip()
    if value.lower() in ("off", "0", "no", "false"):
        return None
    return Path(value).expanduser() if value else Path.home() / ".cache" / "course-utils" / "models"


def _digest_frame(frame) -> str | None:
    """A hash of a frame's texts and labels (None for no frame)."""
    if frame is None:
        return None
    import pandas as pd

    columns = [column for column in ("text", "label_id") if column in frame.columns]
    return hashlib.sha256(pd.util.hash_pandas_object(frame[columns], index=False).to_numpy().tobytes()).hexdigest()


def _digest_weights(model) -> str:
    """A hash of the model's weights as they are now: the checkpoint, and the new head its seed drew."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().to("cpu").contiguous().view(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def _digest_code() -> str:
    """A hash of the library's source: a change to the training code makes a new key."""
    import course_utils

    digest = hashlib.sha256()
    for path in sorted(Path(course_utils.__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def run_key(model, tokenizer, train_df, val_df=None, *, device=None, **setting_values) -> dict:
    """Everything that makes a run of ``train(model, tokenizer, train_df, val_df, ...)``, as a dict."""
    import accelerate
    import torch
    import transformers

    from course_utils.device import amp_dtype, get_device
    from course_utils.settings import TrainSettings

    settings = TrainSettings.from_keywords(None, **setting_values).for_model(model)
    where = torch.device(device) if device is not None else get_device()
    amp = amp_dtype(where, settings.mixed_precision)  # the precision train resolves, by the same rule
    return {
        "weights": _digest_weights(model),
        "tokenizer": [getattr(tokenizer, "name_or_path", ""), len(tokenizer)],
        "train": _digest_frame(train_df),
        "val": _digest_frame(val_df),
        "settings": json.loads(json.dumps(dataclasses.asdict(settings), default=str)),
        "device": where.type,
        "precision": str(amp),
        "code": _digest_code(),
        "versions": [platform.python_version(), torch.__version__, transformers.__version__, accelerate.__version__],
    }


@contextlib.contextmanager
def _locked(path: Path):
    """Hold an exclusive lock on ``path`` (two notebooks running at once train a model once)."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock; at worst both train
        yield
        return
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _config_changes(model, before: dict) -> dict:
    """What training wrote into ``model.config`` (the positive class, the trained length), as JSON values."""
    after = json.loads(json.dumps(model.config.to_dict(), default=str))
    return {name: value for name, value in after.items() if before.get(name) != value}


def _save(folder: Path, model, result, key: dict, config_changes: dict) -> None:
    from safetensors.torch import save_model

    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder.parent))
    try:
        save_model(model, str(staging / "model.safetensors"))
        import pandas as pd

        values = {item.name: getattr(result, item.name) for item in dataclasses.fields(result)}
        saved = {"key": key, "config": config_changes,
                 "result": {name: value for name, value in values.items() if not isinstance(value, pd.DataFrame)},
                 "tables": {name: value.to_dict(orient="split") for name, value in values.items()
                            if isinstance(value, pd.DataFrame)}}
        (staging / "run.json").write_text(json.dumps(saved, indent=1, default=str), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _load(folder: Path, model, device):
    import pandas as pd
    from safetensors.torch import load_model

    from course_utils.device import get_device
    from course_utils.training import TrainResult

    saved = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    model.to(device if device is not None else get_device())
    load_model(model, str(folder / "model.safetensors"), device=str(next(model.parameters()).device))
    model.eval()
    for name, value in saved["config"].items():  # what train wrote into the config: the stored model's
        setattr(model.config, name, value)
    frames = {name: pd.DataFrame(**table) for name, table in saved["tables"].items()}
    os.utime(folder)  # the newest use: kept longest
    return TrainResult(**frames, **saved["result"])


def _prune(root: Path, keep: int = KEEP) -> None:
    """Delete all but the ``keep`` most recently used models."""
    folders = sorted((path for path in root.iterdir() if path.is_dir() and not path.name.startswith(".")),
                     key=lambda path: path.stat().st_mtime, reverse=True)
    for old in folders[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def train_or_reuse(model, tokenizer, train_df, val_df=None, *, device=None, **train_keywords):
    """``course_utils.training.train(model, tokenizer, train_df, val_df, ...)``, or its stored result.

    With a model in the store under the same key (:func:`run_key`), its weights are loaded into
    ``model`` and its :class:`~course_utils.training.TrainResult` is returned, after one line
    that says so; otherwise ``train`` runs and both are stored. Takes ``train``'s arguments.
    """
    from course_utils.training import train

    root = store_folder()
    if root is None or train_keywords.get("checkpoint_dir") is not None:
        return train(model, tokenizer, train_df, val_df, device=device, **train_keywords)
    settings = {name: value for name, value in train_keywords.items() if name not in ("progress", "accelerator")}
    key = run_key(model, tokenizer, train_df, val_df, device=device, **settings)
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    root.mkdir(parents=True, exist_ok=True)
    folder = root / name
    with _locked(root / f".{name}.lock"):
        if (folder / "run.json").is_file():
            result = _load(folder, model, device)
            print(f"Reused the model trained earlier with the same data, settings, seed and code, from the model "
                  f"store ({STORE_ENV_VAR}=off trains it here).")
            return result
        before = json.loads(json.dumps(model.config.to_dict(), default=str))
        result = train(model, tokenizer, train_df, val_df, device=device, **train_keywords)
        _save(folder, model, result, key, _config_changes(model, before))
        _prune(root)
    return result
