"""Every setting of a fine-tuning run in one dataclass that checks itself, and the recipe of a model's family (notebook 04).

:func:`course_utils.training.train` takes a :class:`TrainSettings` or its fields as keywords;
the command line (``python -m course_utils train``) offers five of them as flags. The course's
seed and default ``max_length`` are one constant each here. What a trained model must keep (its
positive class, the tokens kept per text) is written into its config here
(:meth:`TrainSettings.remember`) and read back by prediction after a reload. Importing this module
loads neither torch nor transformers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from course_utils.errors import CourseError

__all__ = ["SEED", "MAX_LENGTH", "TrainSettings", "Recipe", "saved_positive", "saved_max_length"]

SEED = 42  #: the one seed of the course: splits, subsamples, new classification heads, training
MAX_LENGTH = 128  #: tokens kept per text unless a run says otherwise (a saved model keeps its own)
_SELECT_METRICS = ("f1", "macro_f1", "accuracy", "loss")


@dataclass(frozen=True)
class TrainSettings:
    """Every setting of a fine-tuning run, checked when made (notebook 04); ``None``: the recipe of the model's family.
    ``mixed_precision="auto"``: bf16 where the hardware has it, fp16 with a gradient scaler on older GPUs, else none."""

    epochs: int | None = None
    batch_size: int = 16
    lr: float | None = None
    weight_decay: float = 0.01
    warmup_ratio: float | None = None
    head_lr_multiplier: float | None = None
    max_length: int = MAX_LENGTH
    max_grad_norm: float | None = 1.0
    seed: int = SEED
    mixed_precision: str = "auto"
    class_weights: tuple[float, ...] | None = None
    early_stopping_patience: int | None = None
    keep_best: bool = True
    select_metric: str | None = None  # picks the best epoch; default: "f1" for two classes, else "macro_f1"
    positive: int = 1  # the class whose precision, recall and F1 are scored (two classes); the model's config keeps it
    optimizer: str = "adamw"  # "adam" with schedule="constant": a common tutorial's recipe, for comparison
    schedule: str = "linear"
    group_by_length: bool = True

    def __post_init__(self) -> None:
        weights = None if self.class_weights is None else tuple(float(weight) for weight in self.class_weights)
        object.__setattr__(self, "class_weights", weights)  # a tuple of floats: hashable, and the same in a checkpoint
        for name, ok, rule in [  # None: the recipe's value (or no clipping, no early stopping)
            ("epochs", self.epochs is None or self.epochs >= 1, "at least 1"),
            ("batch_size", self.batch_size >= 1, "a whole number of at least 1"),
            ("lr", self.lr is None or 0 < self.lr < 1, "a learning rate above 0 and below 1, such as 5e-5"),
            ("weight_decay", self.weight_decay >= 0, "0 or more (0.01 is usual)"),
            ("warmup_ratio", self.warmup_ratio is None or 0 <= self.warmup_ratio < 1, "a share of the steps, 0 to 1"),
            ("head_lr_multiplier", self.head_lr_multiplier is None or self.head_lr_multiplier > 0, "above 0 (1: the encoder's)"),
            ("max_length", self.max_length >= 2, "at least 2 tokens, room for a text between [CLS] and [SEP] (128 is usual)"),
            ("mixed_precision", self.mixed_precision in ("auto", "bf16", "fp16", "no"), "'auto', 'bf16', 'fp16' or 'no'"),
            ("max_grad_norm", self.max_grad_norm is None or self.max_grad_norm >= 0, "0 or more (None: no clipping)"),
            ("class_weights", weights is None or min(weights, default=-1) >= 0, "non-negative numbers, one per class"),
            ("early_stopping_patience", self.early_stopping_patience is None or self.early_stopping_patience >= 1, "1 or more"),
            ("select_metric", self.select_metric in (None, *_SELECT_METRICS), f"one of {list(_SELECT_METRICS)}"),
            ("positive", self.positive >= 0, "a class number, 0 or more"),
            ("optimizer", self.optimizer in ("adamw", "adam"), "'adamw' (the fine-tuning recipe) or 'adam'"),
            ("schedule", self.schedule in ("linear", "constant"), "'linear' (warmup, then decay) or 'constant'"),
        ]:
            if not ok:
                raise CourseError(f"{name} must be {rule}; got {getattr(self, name)!r}.")

    @classmethod
    def from_keywords(cls, settings: TrainSettings | None = None, **keywords) -> TrainSettings:
        """``settings`` (or the defaults) with the keyword arguments of :func:`train` applied."""
        names = sorted(item.name for item in dataclasses.fields(cls))
        if set(keywords) - set(names):
            raise CourseError(f"train() has no setting {', '.join(map(repr, sorted(set(keywords) - set(names))))}. "
                              f"Fix: use one of {names}.")
        return dataclasses.replace(settings or cls(), **keywords)

    def for_model(self, model) -> TrainSettings:
        """These settings with the blanks filled from the recipe of ``model``'s family."""
        recipe, names = Recipe.for_model(model), ("epochs", "lr", "warmup_ratio", "head_lr_multiplier")
        return dataclasses.replace(self, **{name: getattr(recipe, name) for name in names if getattr(self, name) is None})

    def remember(self, model) -> None:
        """Write ``positive`` (two classes) and ``max_length`` into ``model.config``: a saved model predicts as trained."""
        labels = model.config.id2label
        if self.positive not in labels:
            raise CourseError(f"positive={self.positive} is not a class number of this model (0..{len(labels) - 1}).")
        if len(labels) == 2:
            setattr(model.config, _POSITIVE_KEY, labels[self.positive])
        setattr(model.config, _MAX_LENGTH_KEY, int(self.max_length))


# --- the recipe of a model's family -----------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """The fine-tuning settings that suit one family of checkpoints; ``why`` says where they come from (notebook 00)."""

    lr: float
    epochs: int
    warmup_ratio: float
    head_lr_multiplier: float
    why: str

    @classmethod
    def for_model(cls, model_or_config) -> Recipe:
        """The recipe for a model or its config: the small model's up to 6 layers, else (or unknown) BERT-base's."""
        layers = getattr(getattr(model_or_config, "config", model_or_config), "num_hidden_layers", None)
        return _PACKAGED_RECIPE if layers is not None and layers <= 6 else _BERT_BASE_RECIPE

    @staticmethod
    def is_head(name: str) -> bool:
        """True for what a classifier adds to the encoder (pooler, classification layer): ``head_lr_multiplier``'s."""
        return name.startswith(("classifier.", "pre_classifier.", "score.")) or ".pooler." in f".{name}"


_PACKAGED_RECIPE = Recipe(
    lr=1e-4, epochs=3, warmup_ratio=0.1, head_lr_multiplier=10.0,
    why="all-MiniLM-L6-v2 (6 layers): measured on the SMS split over 3 seeds by benchmarks/recipe.py: a peak rate "
        "of 1e-4 (10 times that for the pooler and the new classification layer), 10% warmup and linear decay over "
        "3 epochs beat the TF-IDF baseline on 1,000 messages; 5e-5 for 1 epoch did not")
_BERT_BASE_RECIPE = Recipe(
    lr=3e-5, epochs=3, warmup_ratio=0.1, head_lr_multiplier=1.0,
    why="BERT-base (12 layers): the BERT paper's range for fine-tuning (2e-5 to 5e-5, 2 to 4 epochs)")


# --- what a trained model keeps in its config (TrainSettings.remember) -----------------------------

_POSITIVE_KEY = "positive_label"  # the positive class's name (id2label holds its number)
_MAX_LENGTH_KEY = "trained_max_length"


def saved_positive(model) -> int:
    """The positive class's number a model keeps (:meth:`TrainSettings.remember`, as ``positive_label``), else 1."""
    name, label2id = getattr(model.config, _POSITIVE_KEY, None), getattr(model.config, "label2id", None) or {}
    return int(label2id[name]) if name in label2id else 1


def saved_max_length(model) -> int:
    """The tokens per text a model was trained to keep (``trained_max_length``), else 128."""
    return int(getattr(model.config, _MAX_LENGTH_KEY, None) or MAX_LENGTH)
