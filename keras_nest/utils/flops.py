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
"""

import dataclasses
import math

import keras

from keras_nest.layers import (
    BlockAggregation,
    ConvTokenizer,
    Mlp,
    MultiHeadSelfAttention,
    PatchEmbedding,
    SequencePooling,
    TransformerBlock,
)
from keras_nest.layers.blocks import deblockified_shape
from keras_nest.layers.patching import stage_size

KINDS = ("linear", "conv", "attention", "norm")  # the kinds that make up FlopCount.macs


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
    if not hasattr(model, "_nodes_by_depth"):
        raise ValueError(f"count_flops needs a functional model; {model.name} is not one.")
    for depth in sorted(model._nodes_by_depth, reverse=True):
        for node in model._nodes_by_depth[depth]:
            layer = node.operation
            if node.is_input:
                continue
            shapes = [tuple(t.shape) for t in node.input_tensors]
            for shape in shapes:
                if any(size is None for size in shape[1:]):
                    raise ValueError(
                        f"count_flops needs a fixed input size; {layer.name} gets {shape}."
                    )
            if hasattr(layer, "_nodes_by_depth"):
                _count_graph(layer, count)
            else:
                _count_layer(layer, shapes[0], count, layer.name)


def _tokens(shape):
    """Positions a last-axis layer is applied at: the product of the middle axes."""
    return math.prod(shape[1:-1])


def _dense(layer, shape, count, name):
    count.add("linear", name, _tokens(shape) * shape[-1] * layer.units)


def _conv(layer, shape, count, name):
    """A 2D convolution on ``shape``; returns its output shape."""
    out = layer.compute_output_shape((1, *shape[1:]))
    kh, kw = layer.kernel_size
    per_output = kh * kw * (shape[-1] // layer.groups) * layer.filters
    count.add("conv", name, math.prod(out[1:3]) * per_output)
    return out


def _layer_norm(layer, shape, count, name):
    affine = layer.scale or layer.center
    count.add("norm", name, math.prod(shape[1:]) * (5 if affine else 4))


def _attention(layer, shape, count, name):
    _dense(layer.qkv, shape, count, name)
    sequences, tokens, channels = math.prod(shape[1:-2]), shape[-2], shape[-1]
    count.add("attention", name, 2 * sequences * tokens * tokens * channels)
    _dense(layer.proj, shape, count, name)


def _mlp(layer, shape, count, name):
    _dense(layer.fc1, shape, count, name)
    _dense(layer.fc2, (*shape[:-1], layer.hidden_dim), count, name)


def _transformer_block(layer, shape, count, name):
    _layer_norm(layer.norm1, shape, count, name)
    _attention(layer.attn, shape, count, name)
    _layer_norm(layer.norm2, shape, count, name)
    _mlp(layer.mlp, shape, count, name)


def _max_pool(shape, size, strides, padding, count, name):
    """A max-pool on ``shape`` padded ``padding`` a side (free but for ptflops); its output."""
    count.add("relu_and_pool", name, math.prod(shape[1:]))
    edges = (stage_size(edge, size, strides, padding) for edge in shape[1:3])
    return (shape[0], *edges, shape[3])


def _conv_tokenizer(layer, shape, count, name):
    for conv in layer.convs:
        if not layer._same:
            pad = 2 * layer.padding
            shape = (shape[0], shape[1] + pad, shape[2] + pad, shape[3])
        shape = _conv(conv, shape, count, name)
        if conv.activation is keras.activations.relu:
            count.add("relu_and_pool", name, math.prod(shape[1:]))
        if layer.max_pool:
            pool = (layer.pool_size, layer.pool_strides, layer.pool_padding)
            shape = _max_pool(shape, *pool, count, name)


def _block_aggregation(layer, shape, count, name):
    out = _conv(layer.conv, deblockified_shape(shape, layer.block_size), count, name)
    _layer_norm(layer.norm, out, count, name)
    count.add("relu_and_pool", name, math.prod(out[1:]))  # the max-pool's input


def _sequence_pooling(layer, shape, count, name):
    _dense(layer.attention_pool, shape, count, name)
    count.add("linear", name, _tokens(shape) * shape[-1])  # the weighted sum


RULES = {
    keras.layers.Dense: _dense,
    keras.layers.Conv2D: _conv,
    keras.layers.LayerNormalization: _layer_norm,
    MultiHeadSelfAttention: _attention,
    Mlp: _mlp,
    TransformerBlock: _transformer_block,
    PatchEmbedding: lambda layer, shape, count, name: _conv(layer.proj, shape, count, name),
    ConvTokenizer: _conv_tokenizer,
    BlockAggregation: _block_aggregation,
    SequencePooling: _sequence_pooling,
}


def _count_layer(layer, shape, count, name):
    for kind in type(layer).__mro__:
        if kind in RULES:
            RULES[kind](layer, shape, count, name)
            return
    kernels = [
        w.path for w in getattr(layer, "weights", []) if len(w.shape) >= 2 and "kernel" in w.path
    ]
    if kernels:
        raise ValueError(
            f"count_flops has no rule for {type(layer).__name__} ({layer.name}), "
            f"which has kernels {kernels}."
        )
