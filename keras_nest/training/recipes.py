"""The papers' training recipes as named, documented values (configs as code).

Each :class:`Recipe` says where its numbers come from. ``RECIPES[name]``
holds them; :func:`recipe_for` picks the one for a data set, and
``dataclasses.replace`` (or the CLI's ``--set key=value``) changes any field.
"""

import dataclasses
import json
import reprlib
import types
import typing

from keras_nest.data.augment import NO_AUGMENTATION, Augmentation
from keras_nest.preprocessing.normalization import NORMALIZATIONS
from keras_nest.training.optimizer import DECAY_EXCLUSIONS, OPTIMIZERS
from keras_nest.training.precision import PRECISIONS


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Everything a training run needs besides the model's weights.

    Attributes:
        name, source: the recipe's name and where its numbers come from.
        model, dataset: the published model name and data set.
        model_options: more keyword arguments of the model's constructor
            (``{"drop_path_rate": 0.2}``).
        image_size: training and evaluation input edge.
        epochs: training epochs (``steps`` overrides them).
        batch_size: global batch size.
        learning_rate: peak learning rate at ``reference_batch`` (or as is
            when ``reference_batch`` is None); it scales linearly with the
            global batch otherwise.
        reference_batch: the batch ``learning_rate`` is quoted for.
        optimizer: "adamw" or "sgd".
        weight_decay, exclude_from_decay: AdamW's decay and the exclusion rules
            (see ``keras_nest.training.optimizer.DECAY_EXCLUSIONS``).
        momentum, global_clipnorm: SGD's momentum; gradient clipping.
        warmup_epochs, warmup_lr, min_lr, cooldown_epochs: the schedule (linear
            warmup from ``warmup_lr``, cosine to ``min_lr``, then ``min_lr``
            for the cool-down epochs, which are part of ``epochs``).
        steps, warmup_steps: step-counted schedules (ViT fine-tuning); they
            override the epoch counts when set.
        label_smoothing: of the cross-entropy.
        augmentation: see ``keras_nest.data.Augmentation``.
        normalization, crop_ratio, crop_scale, crop_padding, flip, interpolation: see
            ``keras_nest.data.load_dataset``.
        ema_momentum: keep an exponential moving average of the weights,
            which replaces them when training ends; None for none.
        gradient_accumulation_steps: apply the summed update every this many
            batches: the effective batch is ``batch_size`` times this, and
            the learning rate follows it.
        precision: "float32", or "bfloat16" / "float16" for mixed precision
            (float32 weights and classifier; float16 adds loss scaling).
        weights: weights to start from (fine-tuning), or None.
        train_split, eval_split: the data set's splits.

    Raises:
        ValueError: for a value of the wrong type (``epochs="three"``) or
            out of its choices (``optimizer="adam"``), naming the field.
    """

    name: str
    source: str
    model: str
    dataset: str
    image_size: int
    epochs: int
    batch_size: int
    learning_rate: float
    reference_batch: int | None = None
    model_options: dict = dataclasses.field(default_factory=dict)
    optimizer: str = "adamw"
    weight_decay: float = 0.05
    exclude_from_decay: tuple[str, ...] = ("position_embedding",)
    momentum: float = 0.9
    global_clipnorm: float | None = None
    warmup_epochs: float = 0
    warmup_lr: float = 0.0
    min_lr: float = 0.0
    cooldown_epochs: float = 0
    steps: int | None = None
    warmup_steps: int | None = None
    label_smoothing: float = 0.1
    augmentation: Augmentation = Augmentation()
    normalization: str = "imagenet"
    crop_ratio: float = 0.875
    crop_scale: tuple[float, float] = (0.08, 1.0)
    crop_padding: int = 0
    flip: bool = True
    interpolation: str | None = None
    ema_momentum: float | None = None
    gradient_accumulation_steps: int | None = None
    precision: str = "float32"
    weights: str | None = None
    train_split: str = "train"
    eval_split: str = "test"

    def __post_init__(self):
        """Checks every field's type and rules (see Raises)."""
        for field in dataclasses.fields(self):
            _check_field(field.name, getattr(self, field.name), field.type)

    @property
    def effective_batch_size(self):
        """Images per optimizer update: the global batch times the accumulated batches."""
        return self.batch_size * (self.gradient_accumulation_steps or 1)

    def data_options(self):
        """The recipe's arguments of :func:`keras_nest.data.load_dataset`, as a dict: image
        size, batch size, normalisation, crops, flip, interpolation and augmentation (used
        while training only)."""
        return dict(
            image_size=self.image_size,
            batch_size=self.batch_size,
            normalization=self.normalization,
            crop_ratio=self.crop_ratio,
            crop_scale=self.crop_scale,
            crop_padding=self.crop_padding,
            flip=self.flip,
            interpolation=self.interpolation,
            augment=self.augmentation,
        )

    def peak_learning_rate(self, global_batch=None):
        """``learning_rate`` scaled to ``global_batch`` (default: the effective batch)."""
        global_batch = global_batch or self.effective_batch_size
        if self.reference_batch is None:
            return self.learning_rate
        return self.learning_rate * global_batch / self.reference_batch


# Fields with a fixed set of values, and counts that must be positive.
_CHOICES = {
    "optimizer": OPTIMIZERS,
    "precision": tuple(PRECISIONS),
    "normalization": tuple(NORMALIZATIONS),
    "exclude_from_decay": tuple(DECAY_EXCLUSIONS),
}
_POSITIVE = ("image_size", "epochs", "batch_size", "steps", "gradient_accumulation_steps")
_KINDS = {
    int: "an integer",
    float: "a number",
    str: "a string",
    bool: "true or false",
    dict: "a JSON object",
    type(None): "none",
    Augmentation: '"none" or a JSON object of Augmentation fields',
}


def parse_value(field, value, current):
    """``value`` for the recipe ``field`` (a ``dataclasses.Field``) whose value is ``current``.

    Strings (from the command line) are read as JSON unless the field takes
    strings: ``"3"`` is 3, ``"[0.5, 1]"`` the tuple ``(0.5, 1)``. "none"
    is None for an optional field and no augmentation for ``augmentation``,
    which takes a JSON object of the fields to change (``{"mixup_alpha": 0}``)
    too. Type errors are left to :class:`Recipe`, which names the field.
    """
    kinds = _kinds(field.type)
    if isinstance(value, str):
        if value.lower() == "none" and Augmentation in kinds:
            return NO_AUGMENTATION
        if value.lower() == "none" and type(None) in kinds:
            return None
        if str not in kinds:
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                return value
    if isinstance(current, Augmentation) and isinstance(value, dict):
        try:
            return dataclasses.replace(current, **value)
        except TypeError as error:
            raise ValueError(f"Bad augmentation {value}: {error}.") from None
    if isinstance(value, list):
        return tuple(value)
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _kinds(annotation):
    """The types a field's ``annotation`` allows: ``(int, NoneType)`` for ``int | None``."""
    union = isinstance(annotation, types.UnionType)
    return typing.get_args(annotation) if union else (annotation,)


def _check_field(name, value, annotation):
    """Raises a ValueError naming the field unless ``value`` fits its ``annotation`` and rules."""
    kinds = _kinds(annotation)
    values = value if isinstance(value, tuple) else (value,)
    problem = None
    if not any(_fits(value, kind) for kind in kinds):
        problem = "must be " + " or ".join(_describe(kind) for kind in kinds)
    elif name in _CHOICES and not set(values) <= set(_CHOICES[name]):
        problem = f"takes {list(_CHOICES[name])}"
    elif name in _POSITIVE and value is not None and value < 1:
        problem = "must be positive"
    if problem:
        raise ValueError(f"Recipe field {name!r} {problem}; got {reprlib.repr(value)}.")


def _fits(value, kind):
    """Whether ``value`` is of ``kind``: an int is a number too, a bool is neither."""
    if typing.get_origin(kind) is tuple:
        items = typing.get_args(kind)
        if not isinstance(value, tuple):
            return False
        if items[-1] is Ellipsis:
            return all(_fits(item, items[0]) for item in value)
        return len(value) == len(items) and all(map(_fits, value, items))
    if isinstance(value, bool) and kind in (int, float):
        return False
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def _describe(kind):
    """``kind`` in words: "an integer", "a list of 2 numbers"."""
    if typing.get_origin(kind) is tuple:
        items = typing.get_args(kind)
        count = "" if items[-1] is Ellipsis else f"{len(items)} "
        return f"a list of {count}{_KINDS[items[0]].split(' ', 1)[1]}s"
    return _KINDS[kind]


_NEST = dict(
    source="NesT official configs (google-research/nested-transformer, configs/*.py): "
    "AdamW wd 0.05 without decay on position embeddings, lr 2.5e-4 per 256 images, "
    "linear warmup then cosine to 0, RandAugment 2/9, MixUp 0.8/CutMix 1.0, "
    "random erasing 0.25, label smoothing 0.1",
    learning_rate=2.5e-4,
    reference_batch=256,
    exclude_from_decay=("position_embedding",),
)
_NEST_CIFAR = dict(
    _NEST,
    model="nest_tiny_cifar",
    image_size=32,
    epochs=300,
    batch_size=192,
    warmup_epochs=5,
    crop_padding=4,
    crop_ratio=1.0,
)
_CCT = dict(
    source="Compact Transformers configs (SHI-Labs/Compact-Transformers, configs/*.yml, "
    "timm train.py): AdamW without decay on biases and norms, warmup then cosine "
    "plus 10 cool-down epochs, rand-m9-mstd0.5, MixUp 0.8/CutMix 1.0, label smoothing 0.1",
    exclude_from_decay=("bias_and_norm",),
    warmup_epochs=10,
    min_lr=1e-5,
    cooldown_epochs=10,
    crop_ratio=1.0,
    crop_scale=(0.8, 1.0),
)
_CCT_CIFAR = dict(
    _CCT, model="cct_7_3x1_32", image_size=32, epochs=310, batch_size=128, weight_decay=0.06
)
_VIT_FINETUNE = dict(
    source="vision_transformer fine-tuning (vit_jax/configs/common.py, vit.py): SGD "
    "momentum 0.9, global-norm clip 1.0, batch 512, warmup 500 steps then cosine, "
    "384 px, inputs in [-1, 1], from the ImageNet-21k checkpoint",
    model="vit_base_patch16_384",
    weights="imagenet21k",
    image_size=384,
    epochs=1,
    batch_size=512,
    optimizer="sgd",
    weight_decay=0.0,
    exclude_from_decay=(),
    global_clipnorm=1.0,
    warmup_steps=500,
    label_smoothing=0.0,
    augmentation=NO_AUGMENTATION,
    normalization="inception",
    crop_ratio=1.0,
    crop_scale=(0.05, 1.0),
)

_DVT_IMAGENET = dict(
    source="DVT (blackfeather-wang/Dynamic-Vision-Transformer, main.py and README): one "
    "cross-entropy per exit, summed; AdamW without decay on biases and norms, warmup 20 "
    "epochs from 1e-6, cosine to 1e-5 plus 10 cool-down epochs, drop path 0.1, "
    "rand-m9-mstd0.5, MixUp 0.8/CutMix 1.0, random erasing 0.25, label smoothing 0.1, "
    "weight EMA 0.99996 for evaluation, timm's evaluation crop 0.9 (bicubic); the README's "
    "global batch and learning rate (8 GPUs)",
    dataset="imagenet2012",
    image_size=224,
    epochs=300,
    warmup_epochs=20,
    warmup_lr=1e-6,
    min_lr=1e-5,
    cooldown_epochs=10,
    exclude_from_decay=("bias_and_norm",),
    ema_momentum=0.99996,
    crop_ratio=0.9,
    crop_scale=(0.08, 1.0),
    interpolation="bicubic",
    eval_split="validation",
)

RECIPES = {
    recipe.name: recipe
    for recipe in (
        Recipe(
            name="digits",
            source="keras_nest: made for scikit-learn's digits on a 2-core CPU (the demo's "
            "AdamW with warmup and cosine, shift and rotation augmentation, the 8x8 scans "
            "pixel-repeated to 16x16; 96.7-98.6% held-out in 1-1.5 minutes)",
            model="cct_2_3x2_32",
            dataset="digits",
            image_size=16,
            interpolation="nearest",
            epochs=30,
            batch_size=32,
            learning_rate=3e-3,
            exclude_from_decay=(),
            warmup_epochs=3,
            augmentation=dataclasses.replace(NO_AUGMENTATION, translate=0.1, rotate=0.05),
            normalization="unit",
            crop_ratio=1.0,
            crop_scale=(1.0, 1.0),
            flip=False,
        ),
        Recipe(name="nest_cifar10", dataset="cifar10", normalization="cifar10", **_NEST_CIFAR),
        Recipe(name="nest_cifar100", dataset="cifar100", normalization="cifar100", **_NEST_CIFAR),
        Recipe(
            name="nest_imagenet",
            model="nest_tiny",
            dataset="imagenet2012",
            image_size=224,
            epochs=300,
            batch_size=1024,
            warmup_epochs=20,
            crop_scale=(0.05, 1.0),
            eval_split="validation",
            **_NEST,
        ),
        Recipe(
            name="cct_cifar10",
            dataset="cifar10",
            learning_rate=5.5e-4,
            warmup_lr=1e-5,
            augmentation=Augmentation(erasing=0.0, mix_off_epoch=175),  # reprob 0
            normalization="cifar10",
            **_CCT_CIFAR,
        ),
        Recipe(
            name="cct_cifar100",
            dataset="cifar100",
            learning_rate=6e-4,
            warmup_lr=1e-6,
            normalization="cifar100",
            **_CCT_CIFAR,
        ),
        Recipe(
            name="cct_flowers102",
            model="cct_7_7x2_224_sine",
            dataset="oxford_flowers102",
            image_size=224,
            epochs=310,
            batch_size=96,
            learning_rate=5e-4,
            weight_decay=0.06,
            warmup_lr=1e-6,
            normalization="flowers102",
            **_CCT,
        ),
        Recipe(
            name="cct_imagenet",
            model="cct_14_7x2_224",
            dataset="imagenet2012",
            image_size=224,
            epochs=310,
            batch_size=128,
            learning_rate=5e-4,
            warmup_lr=1e-6,
            eval_split="validation",
            **dict(_CCT, crop_ratio=0.9, crop_scale=(0.08, 1.0)),
        ),
        Recipe(
            name="vit_finetune_cifar10",
            dataset="cifar10",
            learning_rate=0.01,
            steps=10_000,
            train_split="train[:98%]",
            **_VIT_FINETUNE,
        ),
        Recipe(
            name="vit_finetune_imagenet",
            dataset="imagenet2012",
            learning_rate=0.03,
            steps=20_000,
            train_split="train[:99%]",
            eval_split="validation",
            **_VIT_FINETUNE,
        ),
        Recipe(
            name="dvt_t2t_vit_12_imagenet",
            model="dvt_t2t_vit_12",
            batch_size=1024,
            learning_rate=2e-3,
            reference_batch=1024,
            weight_decay=0.03,
            **_DVT_IMAGENET,
        ),
        Recipe(
            name="dvt_t2t_vit_14_imagenet",
            model="dvt_t2t_vit_14",
            batch_size=512,
            learning_rate=5e-4,
            reference_batch=512,
            weight_decay=0.05,
            **_DVT_IMAGENET,
        ),
    )
}


def recipe_for(dataset, name=None):
    """The recipe ``name``, or where it is None the default one for ``dataset``.

    With neither, the digits recipe (the embedded data set).

    Raises:
        ValueError: for an unknown recipe name.
    """
    if name is not None:
        if name not in RECIPES:
            raise ValueError(f"Unknown recipe {name!r}; known: {sorted(RECIPES)}.")
        return RECIPES[name]
    defaults = {
        None: "digits",
        "digits": "digits",
        "cifar10": "cct_cifar10",
        "cifar100": "cct_cifar100",
        "oxford_flowers102": "cct_flowers102",
        "imagenet2012": "nest_imagenet",
    }
    return RECIPES[defaults.get(dataset, "nest_imagenet")]
