"""Registered, serializable Keras layers shared by every model family."""

from keras_nest.layers.attention import MultiHeadSelfAttention
from keras_nest.layers.blocks import BlockAggregation, Blockify, Deblockify
from keras_nest.layers.patching import PatchEmbedding
from keras_nest.layers.position import PositionEmbedding
from keras_nest.layers.transformer import Mlp, StochasticDepth, TransformerBlock

__all__ = [
    "BlockAggregation",
    "Blockify",
    "Deblockify",
    "Mlp",
    "MultiHeadSelfAttention",
    "PatchEmbedding",
    "PositionEmbedding",
    "StochasticDepth",
    "TransformerBlock",
]
