"""Multiply-adds of one forward pass, counted from the shapes of a functional model.

The count follows the convention of fvcore, whose figures timm publishes
(NesT-T 5.83 GMACs, ViT-B/16 17.58): one multiply-add per weight use in
dense layers and convolutions, the two attention matmuls (``q kᵀ`` and
``weights · v``, ``2 N² C`` per sequence of ``N`` tokens of width ``C``),
and 5 per element for an affine LayerNormalization (4 without scale and
bias). Activations, softmax, pooling, residual additions and position
embeddings are free.

The Compact Transformers' README counts with ptflops instead: dense layers
and convolutions, one per ReLU output and one per max-pool input element,
no attention matmuls and no norms (:attr:`FlopCount.ptflops_macs`).

    count = keras_nest.utils.count_flops(keras_nest.NestTiny())
    print(count)             # 5.83 GMACs per image, ...
    count.macs_without_attention

**Rules.** Every layer with a cost counts itself. A layer class either has a
method ``count_macs(self, input_shape, counter)`` (keras_nest's layers do; no
import of this module needed), or a rule ``rule(layer, input_shape, counter)``
is registered for it with :func:`register_rule` (Keras's own layers, here).
Either way the rule adds its multiply-adds with ``counter.add(kind, macs)``
and counts its sublayers with ``counter.layer(sublayer, input_shape)``
(which returns their output shape), reading public attributes only. The
most specific class along the MRO wins. A layer with kernels and no rule is
an error rather than a silent zero.

The graph is walked through Keras's public API (``model.operations`` in
topological order, each operation's ``input``), which holds the shapes of an
operation's *first* call: a layer called at several places of a model is
counted once, at its first call's shapes (keras_nest's models call every
layer once).
"""

import dataclasses
import math

import keras

KINDS = ("linear", "conv", "attention", "norm")  # the kinds that make up FlopCount.macs
PTFLOPS_KINDS = ("relu_and_pool",)  # counted, but not part of FlopCount.macs


@dataclasses.dataclass
class FlopCount:
    """Multiply-adds per image, by kind and by top-level layer.

    Attributes:
        linear: dense layers (projections, MLPs, classifier, SeqPool scores).
        conv: convolutions (patch embedding, tokenizer, block aggregation).
        attention: the two attention matmuls of every self-attention layer.
        norm: LayerNormalization, 5 per element (as fvcore counts it).
        relu_and_pool: ReLU outputs and max-pool inputs, one per element (as
            ptflops counts them); not part of :attr:`macs`.
        layers: ``{layer name: multiply-adds}`` of the kinds in :attr:`macs`,
            in graph order.
    """

    linear: int = 0
    conv: int = 0
    attention: int = 0
    norm: int = 0
    relu_and_pool: int = 0
    layers: dict = dataclasses.field(default_factory=dict)

    @property
    def macs(self):
        """All multiply-adds (the figure timm publishes as GMACs)."""
        return self.linear + self.conv + self.attention + self.norm

    @property
    def macs_without_attention(self):
        """Everything but the two attention matmuls."""
        return self.macs - self.attention

    @property
    def ptflops_macs(self):
        """The ptflops convention of the Compact Transformers' README (0.947 G for CCT-7/3x1)."""
        return self.linear + self.conv + self.relu_and_pool

    def add(self, kind, layer_name, macs):
        setattr(self, kind, getattr(self, kind) + macs)
        if kind in KINDS:
            self.layers[layer_name] = self.layers.get(layer_name, 0) + macs

    def __str__(self):
        parts = ", ".join(f"{kind} {getattr(self, kind) / 1e9:.3f}" for kind in KINDS)
        return (
            f"{self.macs / 1e9:.2f} GMACs per image "
            f"({self.macs_without_attention / 1e9:.2f} without attention matmuls; {parts})"
        )


def count_flops(model):
    """Counts the multiply-adds of one image through a functional ``model``.

    Args:
        model: a functional ``keras.Model`` with a fixed input size, such as
            any model of keras_nest; nested functional models are counted too.

    Returns:
        A :class:`FlopCount` (per image: a batch of B costs B times as much).

    Raises:
        ValueError: if the input size is not fixed, or a layer with kernels
            has no counting rule (rather than leaving it out silently).
    """
    count = FlopCount()
    _count_graph(model, count)
    return count


def _count_graph(model, count):
    if not hasattr(model, "operations"):
        raise ValueError(f"count_flops needs a functional model; {model.name} is not one.")
    for operation in model.operations:
        if isinstance(operation, keras.layers.InputLayer):
            continue
        shapes = [tuple(tensor.shape) for tensor in keras.tree.flatten(operation.input)]
        for shape in shapes:
            if any(size is None for size in shape[1:]):
                raise ValueError(
                    f"count_flops needs a fixed input size; {operation.name} gets {shape}."
                )
        if hasattr(operation, "operations"):  # a nested functional model
            _count_graph(operation, count)
        else:
            _count_layer(operation, shapes[0], MacCounter(count, operation.name))


RULES = {}  # {layer class: rule(layer, input_shape, counter)}, for classes without count_macs


def register_rule(layer_class):
    """Decorator: registers ``rule(layer, input_shape, counter)`` for ``layer_class``.

    For layer classes that cannot have a ``count_macs`` method (Keras's own,
    another library's); it also holds for their subclasses, unless a more
    specific class has a rule or a ``count_macs`` of its own::

        @register_rule(MyLayer)
        def _my_layer(layer, input_shape, counter):
            counter.layer(layer.dense, input_shape)
    """

    def register(rule):
        RULES[layer_class] = rule
        return rule

    return register


class MacCounter:
    """What a rule counts into: the multiply-adds of one top-level layer of the model.

    Everything a rule adds, also through sublayers, is put down to that layer
    in :attr:`FlopCount.layers`.
    """

    def __init__(self, count, layer_name):
        self._count = count
        self._layer_name = layer_name

    def add(self, kind, macs):
        """Adds ``macs`` of ``kind`` (one of :data:`KINDS`, or "relu_and_pool" for ptflops)."""
        if kind not in KINDS + PTFLOPS_KINDS:
            raise ValueError(f"kind must be one of {KINDS + PTFLOPS_KINDS}, got {kind!r}.")
        self._count.add(kind, self._layer_name, int(macs))

    def layer(self, layer, input_shape):
        """Counts ``layer`` on ``input_shape`` by its own rule; returns its output shape.

        Raises:
            ValueError: if ``layer`` has kernels and no rule.
        """
        _count_layer(layer, tuple(input_shape), self)
        return tuple(layer.compute_output_shape(tuple(input_shape)))


def rule_for(layer):
    """The counting rule of ``layer``'s class, or None: its ``count_macs`` or a registered one."""
    for kind in type(layer).__mro__:
        if kind in RULES:
            return RULES[kind]
        if "count_macs" in vars(kind):
            return lambda layer, input_shape, counter: layer.count_macs(input_shape, counter)
    return None


def _count_layer(layer, shape, counter):
    rule = rule_for(layer)
    if rule is not None:
        rule(layer, shape, counter)
        return
    kernels = [
        w.path for w in getattr(layer, "weights", []) if len(w.shape) >= 2 and "kernel" in w.path
    ]
    if kernels:
        raise ValueError(
            f"count_flops has no rule for {type(layer).__name__} ({layer.name}), "
            f"which has kernels {kernels}: give the class a count_macs(input_shape, counter) "
            "method or register one with keras_nest.utils.flops.register_rule."
        )


def _tokens(shape):
    """Positions a last-axis layer is applied at: the product of the middle axes."""
    return math.prod(shape[1:-1])


@register_rule(keras.layers.Dense)
def _dense(layer, shape, counter):
    counter.add("linear", _tokens(shape) * shape[-1] * layer.units)


@register_rule(keras.layers.Conv2D)
def _conv(layer, shape, counter):
    out = layer.compute_output_shape((1, *shape[1:]))
    kh, kw = layer.kernel_size
    per_output = kh * kw * (shape[-1] // layer.groups) * layer.filters
    counter.add("conv", math.prod(out[1:3]) * per_output)


@register_rule(keras.layers.LayerNormalization)
def _layer_norm(layer, shape, counter):
    affine = layer.scale or layer.center
    counter.add("norm", math.prod(shape[1:]) * (5 if affine else 4))
