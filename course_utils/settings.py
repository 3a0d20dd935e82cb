"""Every setting of a fine-tuning run in one dataclass that checks itself (notebook 04).

:func:`course_utils.training.train` takes a :class:`TrainSettings` or its fields as keywords;
the command line (``python -m course_utils train``) builds its flags from the fields marked
for it. Importing this module loads neither torch nor transformers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from course_utils.errors import CourseError

__all__ = ["TrainSettings"]

_SELECT_METRICS = ("f1", "macro_f1", "accuracy", "loss")
_PRECISION_NAMES = {"none": "no", "off": "no", "no": "no", "false": "no", "true": "auto", "auto": "auto",
                    "bf16": "bf16", "bfloat16": "bf16", "fp16": "fp16", "float16": "fp16"}


def _setting(default, help_text: str = "", flag_type=None):
    """A field of :class:`TrainSettings`; with ``flag_type`` the command line offers it as a flag."""
    return field(default=default, metadata={"help": help_text, "flag_type": flag_type})


@dataclass(frozen=True)
class TrainSettings:
    """Every setting of a fine-tuning run, checked when made (notebook 04; the command line's flags).

    ``None`` for ``epochs``, ``lr``, ``warmup_ratio`` or ``head_lr_multiplier`` takes the
    recipe of the model's family (:func:`course_utils.models.recipe_for_model`).
    ``mixed_precision``: ``"auto"`` (bf16 where the hardware has it, fp16 with a gradient
    scaler on older GPUs, else full precision), ``"bf16"``, ``"fp16"`` or ``"no"``.
    ``select_metric`` picks the best epoch (``"f1"`` of class ``positive`` for two classes,
    ``"macro_f1"`` for more; also ``"accuracy"`` or ``"loss"``); ``optimizer="adam",
    schedule="constant"`` is a common tutorial's recipe, for comparison.
    """

    epochs: int | None = _setting(
        None, "passes over the training texts (default: the model's recipe, 3 for the packaged model)", int)
    batch_size: int = _setting(16, "texts per optimizer step (16)", int)
    lr: float | None = _setting(
        None, "peak learning rate (default: the model's recipe, 1e-4 for the packaged model)", float)
    weight_decay: float = 0.01
    warmup_ratio: float | None = None
    head_lr_multiplier: float | None = None
    max_length: int = _setting(128, "tokens kept per text; longer texts are truncated (128)", int)
    max_grad_norm: float | None = 1.0
    seed: int = _setting(42, "seed of the split and the training (42)", int)
    mixed_precision: str = "auto"
    class_weights: tuple[float, ...] | None = None
    early_stopping_patience: int | None = None
    keep_best: bool = True
    select_metric: str | None = None
    positive: int = 1
    optimizer: str = "adamw"
    schedule: str = "linear"
    group_by_length: bool = True

    def __post_init__(self) -> None:
        precision = _PRECISION_NAMES.get(str(self.mixed_precision).removeprefix("torch.").lower())
        if precision is None:
            raise CourseError(f"mixed_precision={self.mixed_precision!r} is not known: use 'auto', 'bf16', 'fp16' "
                              "or 'no'.")
        object.__setattr__(self, "mixed_precision", precision)
        if self.class_weights is not None:
            object.__setattr__(self, "class_weights", tuple(float(weight) for weight in self.class_weights))
        rules = [
            ("epochs", self.epochs is None or self.epochs >= 1, "at least 1"),
            ("batch_size", self.batch_size >= 1, "a whole number of at least 1"),
            ("lr", self.lr is None or 0 < self.lr < 1, "a learning rate above 0 and below 1, such as 5e-5"),
            ("weight_decay", self.weight_decay >= 0, "0 or more (0.01 is usual)"),
            ("warmup_ratio", self.warmup_ratio is None or 0 <= self.warmup_ratio < 1, "a share of the steps, 0 to 1"),
            ("head_lr_multiplier", self.head_lr_multiplier is None or self.head_lr_multiplier > 0,
             "above 0 (1: the same rate as the encoder)"),
            ("max_length", self.max_length >= 2, "at least 2 tokens, room for a text between [CLS] and [SEP] "
                                                 "(128 is usual)"),
            ("max_grad_norm", self.max_grad_norm is None or self.max_grad_norm >= 0, "0 or more (None: no clipping)"),
            ("class_weights", self.class_weights is None or min(self.class_weights, default=-1) >= 0,
             "non-negative numbers, one per class (in class-number order)"),
            ("early_stopping_patience", self.early_stopping_patience is None or self.early_stopping_patience >= 1,
             "at least 1 (or None)"),
            ("select_metric", self.select_metric in (None, *_SELECT_METRICS), f"one of {list(_SELECT_METRICS)}"),
            ("positive", self.positive >= 0, "a class number, 0 or more"),
            ("optimizer", self.optimizer in ("adamw", "adam"), "'adamw' (the fine-tuning recipe) or 'adam'"),
            ("schedule", self.schedule in ("linear", "constant"), "'linear' (warmup, then decay) or 'constant'"),
        ]
        for name, ok, rule in rules:
            if not ok:
                raise CourseError(f"{name} must be {rule}; got {getattr(self, name)!r}.")

    @classmethod
    def from_keywords(cls, settings: TrainSettings | None = None, **keywords) -> TrainSettings:
        """``settings`` (or the defaults) with the keyword arguments of :func:`train` applied."""
        names = {item.name for item in dataclasses.fields(cls)}
        unknown = sorted(set(keywords) - names)
        if unknown:
            raise CourseError(f"train() has no setting {', '.join(map(repr, unknown))}. Fix: use one of "
                              f"{sorted(names)}.")
        return dataclasses.replace(settings or cls(), **keywords)

    def for_model(self, model) -> TrainSettings:
        """These settings with the blanks filled from the recipe of ``model``'s family."""
        from course_utils.models import recipe_for_model

        recipe = recipe_for_model(model)
        blanks = {name: getattr(recipe, name) for name in ("epochs", "lr", "warmup_ratio", "head_lr_multiplier")
                  if getattr(self, name) is None}
        return dataclasses.replace(self, **blanks)

    def flags(self) -> list[tuple[str, dataclasses.Field]]:
        """The command line's flags (``--batch-size``) and the fields they set."""
        return [("--" + item.name.replace("_", "-"), item) for item in dataclasses.fields(self)
                if item.metadata.get("flag_type") is not None]
