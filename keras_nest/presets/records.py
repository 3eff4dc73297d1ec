"""The records of the preset tables: a :class:`Preset` per named model, and the
:class:`WeightsFile` s published for it. Plain data: no Keras, no numpy."""

import dataclasses
from collections.abc import Mapping


@dataclasses.dataclass(frozen=True)
class WeightsFile:
    """A published checkpoint: where it lives and what it holds.

    Attributes:
        url: download address.
        filename: name in the Keras cache (``~/.keras/models/keras_nest``).
        sha256: expected hash of the file, or None where none is published.
        classes: size of its classifier.
    """

    url: str
    filename: str
    sha256: str | None
    classes: int


@dataclasses.dataclass(frozen=True)
class Preset:
    """One named model: everything about it that is data.

    Attributes:
        name: the registered name (``nest_tiny``, ``vit_base_patch16_384``).
        family: the family's name, its package under ``keras_nest.models``.
        builder: ``__name__`` of the family builder that builds it ("Nest",
            "ViT", "CCT", "CVT", "ViTLite").
        title: the public constructor's name (``NestTiny``), or None for a
            model reached by ``create_model(name)`` only.
        arch: the builder's architecture arguments (any is overridable by keyword).
        image_size: the default input edge, ``(image_size, image_size, 3)``.
        classes: the default class count, where ``weights`` names none.
        weights: ``{weights name: WeightsFile}`` of its published checkpoints.
        preprocessing: the normalisation its inputs take, a name of
            ``keras_nest.preprocessing.NORMALIZATIONS`` ("imagenet", "cifar10", ...).
        summary: one line for the constructor's docstring.
        params: its parameter count at ``classes`` as published (by the
            authors or timm), or None where none is.
    """

    name: str
    family: str
    builder: str
    title: str | None
    arch: Mapping
    image_size: int
    classes: int
    weights: Mapping[str, WeightsFile]
    preprocessing: str
    summary: str
    params: int | None = None


def table(*presets):
    """``{name: preset}`` of ``presets``, in order; a name given twice is a ValueError."""
    entries = {}
    for preset in presets:
        if preset.name in entries:
            raise ValueError(f"Preset {preset.name!r} is declared twice.")
        entries[preset.name] = preset
    return entries
