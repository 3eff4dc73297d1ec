"""Registered, serializable Keras layers shared by every model family."""

from keras_nest.layers.attention import MultiHeadSelfAttention
from keras_nest.layers.image_blocks import BlockAggregation, Blockify, Deblockify
from keras_nest.layers.patching import ConvTokenizer, PatchEmbedding
from keras_nest.layers.pooling import ExitHead, SequencePooling
from keras_nest.layers.position import ClassToken, PositionEmbedding, SinePositionEmbedding
from keras_nest.layers.reuse import FeatureReuse, RelationReuse
from keras_nest.layers.tokens_to_token import SoftSplit, TokenPerformer
from keras_nest.layers.transformer import Mlp, StochasticDepth, TransformerBlock

__all__ = [
    "BlockAggregation",
    "Blockify",
    "ClassToken",
    "ConvTokenizer",
    "Deblockify",
    "ExitHead",
    "FeatureReuse",
    "Mlp",
    "MultiHeadSelfAttention",
    "PatchEmbedding",
    "PositionEmbedding",
    "RelationReuse",
    "SequencePooling",
    "SinePositionEmbedding",
    "SoftSplit",
    "StochasticDepth",
    "TokenPerformer",
    "TransformerBlock",
]
