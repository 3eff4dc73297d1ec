"""Registered, serializable Keras layers shared by every model family."""

from keras_nest.layers.attention import MultiHeadSelfAttention
from keras_nest.layers.image_blocks import BlockAggregation, Blockify, Deblockify
from keras_nest.layers.patching import ConvTokenizer, PatchEmbedding
from keras_nest.layers.pooling import SequencePooling
from keras_nest.layers.position import ClassToken, PositionEmbedding, SinePositionEmbedding
from keras_nest.layers.transformer import Mlp, StochasticDepth, TransformerBlock

__all__ = [
    "BlockAggregation",
    "Blockify",
    "ClassToken",
    "ConvTokenizer",
    "Deblockify",
    "Mlp",
    "MultiHeadSelfAttention",
    "PatchEmbedding",
    "PositionEmbedding",
    "SequencePooling",
    "SinePositionEmbedding",
    "StochasticDepth",
    "TransformerBlock",
]
