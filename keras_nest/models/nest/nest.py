"""NesT: Nested Hierarchical Transformer (Zhang et al., AAAI 2022).

Local self-attention inside non-overlapping image blocks, with blocks merged
2x2 at a time between levels by ``BlockAggregation``. The forward pass::

    image (B, H, W, 3)
      -> PatchEmbedding (conv, kernel = stride = patch)      (B, H/p, W/p, C0)
      -> Blockify                                            (B, 4^(L-1), N, C0)
      -> for level l: [BlockAggregation if l > 0] -> + PositionEmbedding_l
                       -> TransformerBlock x depth_l         (B, 4^(L-1-l), N, C_l)
      -> LayerNorm -> Deblockify                             (B, h, w, C_last)
      -> mean over tokens -> Dense(classes)

The number of blocks per level is fixed by the number of levels (4^(L-1),
..., 4, 1); the block edge follows from the input size, so any size that is
a multiple of ``patch_size * 2^(L-1)`` works.
"""

import math

import keras

from keras_nest.layers import (
    BlockAggregation,
    Blockify,
    Deblockify,
    PatchEmbedding,
    PositionEmbedding,
)
from keras_nest.layers.transformer import check_gelu
from keras_nest.models import application
from keras_nest.models.encoder import drop_path_rates, transformer_encoder
from keras_nest.models.nest.convert import convert
from keras_nest.models.transformer_model import TransformerModel
from keras_nest.preprocessing import imagenet, normalization
from keras_nest.weights.loading import load_weights, resize_linear
from keras_nest.weights.source import resolve_weights

ATTENTION_KINDS = ("multi_head", "multi_query")
HEAD_PATHS = ("predictions/kernel", "predictions/bias")


def _per_level(value, levels, what):
    values = list(value) if isinstance(value, (tuple, list)) else [value] * levels
    if len(values) != levels:
        raise ValueError(f"{what} needs one value per level ({levels}), got {value}.")
    return values


def _block_size(input_shape, patch_size, levels, model_name, default_size):
    """The block edge (bh, bw) for this input, or a ValueError naming the sizes that work."""
    step = patch_size * 2 ** (levels - 1)
    height, width = input_shape[:2]
    if height % step or width % step:
        raise ValueError(
            f"{model_name} takes images whose height and width are multiples of "
            f"{step} (patch {patch_size} x 2^{levels - 1} blocks a side), such as "
            f"{default_size} (the default), {default_size - step} or "
            f"{default_size + step}; got input_shape={tuple(input_shape)}."
        )
    return height // step, width // step


def _pos_embed_resizer(block_size):
    """Resizes a checkpoint's (1, T, N, C) position embedding to this model's blocks.

    Each block's square grid of embeddings is zoomed linearly on its own and
    the block count stays the same, as the official ``resize_posembed`` does.
    """
    bh, bw = block_size

    def resize(path, array, target_shape):
        if not path.endswith("_pos_embed/embedding") or array.ndim != 4:
            return None
        _, blocks, tokens, channels = array.shape
        edge = math.isqrt(tokens)
        if (blocks, channels) != (target_shape[1], target_shape[3]) or edge**2 != tokens:
            return None
        grid = array.reshape(blocks, edge, edge, channels)
        return resize_linear(grid, (bh, bw)).reshape(1, blocks, bh * bw, channels)

    return resize


def Nest(
    depths,
    embed_dims,
    num_heads,
    patch_size=4,
    block_size=14,
    attention="multi_head",
    mlp_ratio=4.0,
    gelu="exact",
    drop_path_rate=0.0,
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="nest",
    named_weights=None,
):
    """Builds any NesT as a functional Keras model.

    Args:
        depths: transformer layers per level; its length is the number of levels.
        embed_dims: width per level (one int for a constant width).
        num_heads: attention heads per level (one int for a constant count).
        patch_size: edge of the patch-embedding convolution.
        block_size: block edge, in tokens, at the default input size; the
            default input is ``patch_size * block_size * 2^(levels-1)`` square.
        attention: "multi_head", or "multi_query" (one shared key/value head,
            the official CIFAR models).
        mlp_ratio: MLP hidden width as a multiple of the level width.
        gelu: "exact" (erf, as timm) or "tanh" (as the official Flax code).
        drop_path_rate: stochastic depth of the last layer; it grows linearly
            from 0 over all layers.
        include_top: whether to add the classifier.
        weights: None (random init), a name in ``named_weights``, a path to a
            ``.weights.h5`` or ``.keras`` file, a timm checkpoint
            (``.safetensors``, ``.pth``, ``.bin``) or an official Flax
            checkpoint (a msgpack ``ckpt`` file or an ``.npz`` of the
            flattened tree); see :func:`~keras_nest.weights.resolve_weights`.
        input_tensor: optional Keras tensor to use as the image input.
        input_shape: ``(height, width, channels)``; height and width must be
            multiples of ``patch_size * 2^(levels-1)``.
        pooling: with ``include_top=False``: None returns the final feature
            map ``(B, h, w, C)``, "avg" or "max" a ``(B, C)`` vector.
        classes: classifier size.
        classifier_activation: activation of the classifier (None for logits).
        name: model name.
        named_weights: ``{name: WeightsFile}`` of published weights.

    Returns:
        A :class:`~keras_nest.models.TransformerModel` (a functional
        ``keras.Model`` with ``get_attention_scores``).
    """
    levels = len(depths)
    embed_dims = _per_level(embed_dims, levels, "embed_dims")
    num_heads = _per_level(num_heads, levels, "num_heads")
    if attention not in ATTENTION_KINDS:
        raise ValueError(f"attention must be one of {ATTENTION_KINDS}, got {attention!r}.")
    check_gelu(gelu)
    source = resolve_weights(weights, named_weights or {}, name)
    application.check_head_arguments(pooling, classes)

    default_size = patch_size * block_size * 2 ** (levels - 1)
    images, inputs = application.image_input(input_tensor, input_shape, default_size, source)
    blocks = _block_size(images.shape[1:], patch_size, levels, name, default_size)
    init = keras.initializers.TruncatedNormal(stddev=0.02)
    rates = drop_path_rates(drop_path_rate, sum(depths))  # linear over every level's layers

    x = PatchEmbedding(embed_dims[0], patch_size, kernel_initializer=init, name="patch_embed")(
        images
    )
    x = Blockify(blocks, name="blockify")(x)
    for level, depth in enumerate(depths):
        if level:
            x = BlockAggregation(
                embed_dims[level], blocks, kernel_initializer=init, name=f"level_{level}_pool"
            )(x)
        x = PositionEmbedding(name=f"level_{level}_pos_embed")(x)
        first = sum(depths[:level])
        x = transformer_encoder(
            x,
            num_heads[level],
            rates[first : first + depth],
            name=f"level_{level}_block",
            mlp_ratio=mlp_ratio,
            multi_query=attention == "multi_query",
            gelu=gelu,
            kernel_initializer=init,
        )
    x = keras.layers.LayerNormalization(epsilon=1e-6, name="norm")(x)
    x = Deblockify(blocks, name="deblockify")(x)
    outputs = application.classification_head(
        x, include_top, pooling, classes, classifier_activation, init
    )
    model = TransformerModel(inputs, outputs, name=name)
    load_weights(
        model,
        source,
        convert=lambda state: convert(state, depths, num_heads),
        include_top=include_top,
        classes=classes,
        head_paths=HEAD_PATHS,
        resize=_pos_embed_resizer(blocks),
    )
    return model


def preprocess_input(x, data_format=None):
    """Scales uint8-range images to NesT's input: ``(x / 255 - mean) / std``.

    ImageNet mean and standard deviation, as the official and timm pipelines.
    Takes numpy arrays or tensors of shape ``(..., H, W, 3)``.
    """
    return normalization.preprocess_input(x, "imagenet", data_format)


decode_predictions = imagenet.decode_predictions
