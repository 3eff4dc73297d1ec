"""Compact Transformers (Hassani et al., 2021): ViT-Lite, CVT and CCT.

Three small transformers made to train from scratch on small data sets. The
forward pass::

    image (B, H, W, 3)
      -> ConvTokenizer                                   (B, N, D)
           CCT: conv -> ReLU -> max-pool, 1 or 2 times; ViT-Lite, CVT: patches
      -> [ClassToken] (ViT-Lite)                         (B, N + 1, D)
      -> + position embedding (learnable, sine or none)
      -> TransformerBlock(norm_residual=True) x L        the authors' block
      -> LayerNorm
      -> SequencePooling (CVT, CCT) | class token (ViT-Lite)   (B, D)
      -> Dense(classes)

Names follow the authors': ``cct_7_3x1_32`` has 7 layers, a 3x3 kernel, 1
convolution and 32x32 inputs; ``vit_lite_7_4_32`` and ``cvt_7_4_32`` use 4x4
patches; ``_sine`` selects the sinusoidal position embedding.
"""

import math

import keras

from keras_nest.layers import (
    ClassToken,
    ConvTokenizer,
    PositionEmbedding,
    SequencePooling,
    SinePositionEmbedding,
)
from keras_nest.models import application
from keras_nest.models.compact.convert import convert
from keras_nest.models.encoder import sequence_encoder
from keras_nest.models.transformer_model import TransformerModel
from keras_nest.preprocessing import imagenet, normalization
from keras_nest.presets.compact import COMPACT
from keras_nest.weights.loading import load_weights, token_grid_resizer
from keras_nest.weights.source import resolve_weights

POSITIONAL_EMBEDDINGS = ("learnable", "sine", "none")
LINEAR_INIT = keras.initializers.RandomNormal(stddev=0.02)
# The authors' kaiming_normal_ (untruncated; Keras's "he_normal" is truncated).
CONV_INIT = keras.initializers.VarianceScaling(2.0, "fan_in", "untruncated_normal")


def _bias_init(input_channels, patch_size):
    """PyTorch's default Conv2d bias init: U(+-1/sqrt(fan_in))."""
    limit = 1.0 / math.sqrt(input_channels * patch_size**2)
    return keras.initializers.RandomUniform(-limit, limit)


def _tokenize(images, embed_dim, tokenizer, name):
    """``(tokens (B, N, D), (rows, columns))``: the ``ConvTokenizer`` applied to ``images``."""
    bias_init = _bias_init(images.shape[-1], tokenizer["kernel_size"])
    tokenize = ConvTokenizer(
        embed_dim,
        **tokenizer,
        kernel_initializer=CONV_INIT,
        bias_initializer=bias_init if tokenizer["use_bias"] else "zeros",
        name="tokenizer",
    )
    try:
        grid = tokenize.output_grid(*images.shape[1:3])
    except ValueError as error:
        raise ValueError(f"{name}: {error} Got input_shape={tuple(images.shape[1:])}.") from None
    return tokenize(images), grid


def _position(x, positional_embedding):
    """Adds the learnable (normal, std 0.2) or sine position embedding; "none" adds none."""
    if positional_embedding == "learnable":
        init = keras.initializers.RandomNormal(stddev=0.2)
        return PositionEmbedding(initializer=init, name="pos_embed")(x)
    if positional_embedding == "sine":
        return SinePositionEmbedding(name="pos_embed")(x)
    return x


def _compact_transformer(
    tokenizer,
    class_token,
    num_layers,
    num_heads,
    mlp_ratio,
    embed_dim,
    *,
    positional_embedding="learnable",
    dropout=0.0,
    attention_dropout=0.1,
    drop_path_rate=0.1,
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name,
    named_weights=None,
    default_size=32,
):
    """Builds a ViT-Lite, CVT or CCT; ``tokenizer`` holds the ``ConvTokenizer`` arguments."""
    own_pooling = "token" if class_token else "seq"
    if positional_embedding not in POSITIONAL_EMBEDDINGS:
        raise ValueError(
            f"positional_embedding must be one of {POSITIONAL_EMBEDDINGS}, "
            f"got {positional_embedding!r}."
        )
    source = resolve_weights(weights, named_weights or {}, name)
    application.check_head_arguments(pooling, classes, application.POOLINGS + (own_pooling,))

    images, inputs = application.image_input(input_tensor, input_shape, default_size, source)
    x, grid = _tokenize(images, embed_dim, tokenizer, name)
    if class_token:
        x = ClassToken(name="class_token")(x)
    x = _position(x, positional_embedding)
    x = sequence_encoder(
        x,
        num_layers,
        num_heads,
        drop_path_rate,
        dropout,
        mlp_ratio=mlp_ratio,
        qkv_bias=False,
        attention_dropout=attention_dropout,
        layer_norm_epsilon=1e-5,
        norm_residual=True,
        kernel_initializer=LINEAR_INIT,
    )
    x = keras.layers.LayerNormalization(epsilon=1e-5, name="norm")(x)

    pool = own_pooling if include_top else pooling
    if pool == "seq":
        x = SequencePooling(kernel_initializer=LINEAR_INIT, name="seq_pool")(x)
    else:
        x = application.pool_tokens(x, pool)
    if include_top:
        x = application.classifier(classes, classifier_activation, LINEAR_INIT)(x)
    model = TransformerModel(inputs, x, name=name)

    head_paths = ["predictions/kernel", "predictions/bias"]
    if pool != "seq":
        head_paths += ["seq_pool/attention_pool/kernel", "seq_pool/attention_pool/bias"]
    load_weights(
        model,
        source,
        convert=lambda state: convert(state, positional_embedding, _learnable_variant(name)),
        include_top=include_top,
        classes=classes,
        head_paths=head_paths,
        resize=token_grid_resizer(grid, int(class_token), align_corners=False),
    )
    return model


def _learnable_variant(name):
    """The named learnable twin of a sine model named ``name``, or None."""
    twin = name.replace("_sine", "")
    return twin if twin != name and twin in COMPACT else None


def CCT(
    num_layers,
    num_heads,
    mlp_ratio,
    embed_dim,
    kernel_size=3,
    conv_layers=1,
    strides=None,
    padding=None,
    name="cct",
    **kwargs,
):
    """Builds any Compact Convolutional Transformer as a functional Keras model.

    Args:
        num_layers: transformer layers.
        num_heads: attention heads.
        mlp_ratio: MLP hidden width as a multiple of ``embed_dim``.
        embed_dim: token width.
        kernel_size: tokenizer convolution kernel (3 or 7 in the paper).
        conv_layers: tokenizer stages, each conv -> ReLU -> 3x3 stride-2 max-pool.
        strides, padding: of the tokenizer convolutions; None for the authors'
            ``max(1, k // 2 - 1)`` and ``max(1, k // 2)``.
        name: model name.
        **kwargs: keyword-only, shared by :func:`CVT` and :func:`ViTLite`:

            positional_embedding: "learnable" (default; normal, std 0.2),
                "sine" (fixed sinusoids, no weights) or "none".
            dropout: after the position embedding, the attention projection
                and in the MLP (default 0, as all the authors' models).
            attention_dropout: on the attention weights (default 0.1).
            drop_path_rate: stochastic depth of the last layer, growing
                linearly from 0 at the first (default 0.1).
            include_top: whether to add the classifier.
            weights: None (random init as the authors'), a name of published
                weights, a ``.weights.h5`` file, or an authors'-layout state
                dict (``.pth``, ``.bin``, ``.safetensors``; vit-pytorch's CCT
                has the same layout). Position embeddings are resized
                bilinearly to the input size, as the authors do. A sine
                model takes a checkpoint that stores the sinusoid or no
                table, and refuses a learned table with a ValueError.
            input_tensor: optional Keras tensor to use as the image input.
            input_shape: ``(height, width, channels)``; default
                ``default_size`` square (32).
            pooling: with ``include_top=False``: None returns the normalised
                tokens ``(B, N, D)``, "avg" or "max" pools them, and "seq"
                (CCT, CVT) or "token" (ViT-Lite) gives the model's own pooled
                vector ``(B, D)``.
            classes: classifier size (default 1000).
            classifier_activation: activation of the classifier (None for
                logits).
            named_weights: ``{name: WeightsFile}`` of published weights.

    Returns:
        A ``keras.Model``.
    """
    tokenizer = dict(
        kernel_size=kernel_size,
        strides=strides,
        padding=padding,
        conv_layers=conv_layers,
        use_bias=False,
        activation="relu",
        max_pool=True,
    )
    return _compact_transformer(
        tokenizer, False, num_layers, num_heads, mlp_ratio, embed_dim, name=name, **kwargs
    )


def _patch_tokenizer(patch_size):
    """One bias-carrying convolution, kernel = stride = patch, no activation or pool."""
    return dict(
        kernel_size=patch_size,
        strides=patch_size,
        padding=0,
        conv_layers=1,
        use_bias=True,
        activation=None,
        max_pool=False,
    )


def CVT(num_layers, num_heads, mlp_ratio, embed_dim, patch_size=4, name="cvt", **kwargs):
    """Builds any Compact Vision Transformer: non-overlapping patches, SeqPool.

    Args:
        patch_size: edge of the patches (the image size must be a multiple).
        Every other argument as :func:`CCT`.
    """
    return _compact_transformer(
        _patch_tokenizer(patch_size),
        False,
        num_layers,
        num_heads,
        mlp_ratio,
        embed_dim,
        name=name,
        **kwargs,
    )


def ViTLite(num_layers, num_heads, mlp_ratio, embed_dim, patch_size=4, name="vit_lite", **kwargs):
    """Builds any ViT-Lite: non-overlapping patches, a class token, its output pooled.

    Args:
        patch_size: edge of the patches (the image size must be a multiple).
        Every other argument as :func:`CCT`.
    """
    return _compact_transformer(
        _patch_tokenizer(patch_size),
        True,
        num_layers,
        num_heads,
        mlp_ratio,
        embed_dim,
        name=name,
        **kwargs,
    )


def preprocess_input(x, dataset="imagenet", data_format=None):
    """Scales uint8-range images as the authors did for ``dataset``'s checkpoints.

    ``(x / 255 - mean) / std`` with the mean and standard deviation of
    "cifar10", "cifar100", "flowers102" or "imagenet" (see
    ``keras_nest.preprocessing.NORMALIZATIONS``). Takes numpy arrays or tensors of shape
    ``(..., H, W, 3)``.
    """
    return normalization.preprocess_input(x, dataset, data_format)


decode_predictions = imagenet.decode_predictions
