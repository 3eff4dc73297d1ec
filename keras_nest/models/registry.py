"""The model registry: one :class:`ModelRecord` per name, made from the family presets.

A family gives a :class:`Family` (its preset table, builders and converter);
``keras_nest/models/__init__.py`` registers every family in one call of
:func:`register`, which makes each preset's keras.applications-style
constructor. ``create_model``, ``list_models``, the public constructors
(``keras_nest.NestTiny``) and anything else that walks the models (export,
the command line, the docs) ask the records.
"""

import dataclasses
import difflib
import textwrap
from collections.abc import Callable, Mapping

from keras_nest.preprocessing import preprocess_input
from keras_nest.presets import Preset
from keras_nest.weights.source import resolve_weights

_RECORDS = {}


@dataclasses.dataclass(frozen=True)
class Family:
    """What a model family registers.

    Attributes:
        presets: its table, ``{name: Preset}`` (``keras_nest.presets.<family>``).
        builders: its builder functions; a preset names its own by ``__name__``.
        convert: its checkpoint converter, ``convert(state, ...) -> {variable path: array}``.
    """

    presets: Mapping[str, Preset]
    builders: tuple[Callable, ...]
    convert: Callable


@dataclasses.dataclass(frozen=True)
class ModelRecord:
    """Everything about one named model.

    Attributes:
        preset: its :class:`~keras_nest.presets.Preset` (architecture, default
            size and classes, published weights, preprocessing, parameters).
        builder: the family builder the constructor calls (``Nest``, ``CCT``).
        constructor: the keras.applications-style constructor, which
            ``create_model(name)`` calls.
        convert: the family's checkpoint converter.
        preprocess_input: ``preprocess_input(x, data_format=None)``: uint8-range
            images ``(..., H, W, 3)`` normalised as ``preset.preprocessing`` says.
    """

    preset: Preset
    builder: Callable
    constructor: Callable
    convert: Callable
    preprocess_input: Callable

    @property
    def input_shape(self):
        """The default input shape, ``(size, size, 3)``."""
        return (self.preset.image_size, self.preset.image_size, 3)

    @property
    def weights(self):
        """``{weights name: WeightsFile}`` of the published weights."""
        return self.preset.weights


def _docstring(preset, builder):
    """The constructor's docstring: the preset's summary, arguments and published weights."""

    def paragraph(text, indent):
        return textwrap.fill(text, 80, initial_indent=indent, subsequent_indent=indent)

    arch = ", ".join(f"{key}={value!r}" for key, value in preset.arch.items())
    weights = ", ".join(["None", *(repr(name) for name in sorted(preset.weights))])
    published = "" if preset.weights else "; none are published"
    return "\n\n".join(
        [
            f"Builds {preset.summary}",
            paragraph(
                f"The keras.applications-style constructor of ``{preset.name}``: "
                f":func:`{builder}` with {arch}. Each of those, and any other "
                f":func:`{builder}` argument, can be given by keyword.",
                "    ",
            ),
            "    Args:\n"
            + paragraph(
                "include_top, weights, input_tensor, input_shape, pooling, classes, "
                f"classifier_activation, name: as in ``keras.applications``. ``weights``: "
                f"{weights} or the path of a checkpoint (see :func:`{builder}`{published}); "
                "``classes`` None takes the class count of the named weights, else "
                f"{preset.classes}.",
                "        ",
            )
            + f"\n        **kwargs: any other :func:`{builder}` argument.",
            "    Returns:\n        A :class:`~keras_nest.models.TransformerModel`.\n    ",
        ]
    )


def _constructor(preset, builder):
    """The keras.applications-style constructor of ``preset``, which calls ``builder``."""

    def build(
        include_top=True,
        weights=None,
        input_tensor=None,
        input_shape=None,
        pooling=None,
        classes=None,
        classifier_activation="softmax",
        name=preset.name,
        **kwargs,
    ):
        source = resolve_weights(weights, preset.weights, name)
        if classes is None:
            classes = preset.classes if source.classes is None else source.classes
        return builder(
            include_top=include_top,
            weights=source,
            input_tensor=input_tensor,
            input_shape=input_shape,
            pooling=pooling,
            classes=classes,
            classifier_activation=classifier_activation,
            name=name,
            **{**preset.arch, **kwargs},
        )

    build.__name__ = build.__qualname__ = preset.title or preset.name
    build.__doc__ = _docstring(preset, builder.__name__)
    return build


def _preprocessor(normalization):
    """``preprocess_input(x, data_format=None)`` with the normalisation named ``normalization``."""

    def preprocess(x, data_format=None):
        return preprocess_input(x, normalization, data_format)

    return preprocess


def register(*families):
    """Registers every preset of each family in ``families``.

    Raises:
        ValueError: for a name registered twice.
    """
    for family in families:
        builders = {builder.__name__: builder for builder in family.builders}
        for name, preset in family.presets.items():
            if name in _RECORDS:
                raise ValueError(f"Model name {name!r} is registered twice.")
            builder = builders[preset.builder]
            _RECORDS[name] = ModelRecord(
                preset=preset,
                builder=builder,
                constructor=_constructor(preset, builder),
                convert=family.convert,
                preprocess_input=_preprocessor(preset.preprocessing),
            )


def public_functions():
    """``{name: function}`` of the public model functions, sorted by name: every
    family builder (``Nest``, ``CCT``) and every titled constructor (``NestTiny``)."""
    functions = {}
    for record in _RECORDS.values():
        functions[record.builder.__name__] = record.builder
        if record.preset.title:
            functions[record.preset.title] = record.constructor
    return dict(sorted(functions.items()))


def list_models(pattern=""):
    """Sorted names of every registered model containing ``pattern``."""
    return sorted(name for name in _RECORDS if pattern in name)


def model_record(name):
    """The :class:`ModelRecord` of ``name``.

    Raises:
        ValueError: if no model has that name (the message suggests close ones).
    """
    if name not in _RECORDS:
        close = difflib.get_close_matches(name, _RECORDS, n=3)
        hint = f" Did you mean {close}?" if close else ""
        raise ValueError(f"Unknown model {name!r}.{hint} Known models: {list_models()}.")
    return _RECORDS[name]


def create_model(name, **kwargs):
    """Builds the registered model ``name``; keyword arguments go to its constructor.

    Raises:
        ValueError: if no model has that name (the message suggests close ones).
    """
    return model_record(name).constructor(**kwargs)
