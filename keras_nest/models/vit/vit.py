"""ViT: the Vision Transformer (Dosovitskiy et al., ICLR 2021).

The forward pass, as google-research/vision_transformer's ``models_vit.py``::

    image (B, H, W, 3)
      -> PatchEmbedding (conv, kernel = stride = patch)     (B, H/p, W/p, D)
      -> flatten the grid                                   (B, N, D)
      -> [ClassToken] (pooling_mode "token")                (B, 1 + N, D)
      -> + PositionEmbedding -> dropout
      -> TransformerBlock x L (pre-norm)
      -> LayerNorm
      -> class token | mean of the tokens ("gap")           (B, D)
      -> [Dense(representation_size) -> tanh] ("pre_logits")
      -> Dense(classes)

Named as timm names them: ``vit_base_patch16_224`` is ViT-B with 16x16
patches at 224x224. Any input whose sides are multiples of the patch size
works; loaded position embeddings follow it (see :func:`ViT`).
"""

import keras
import numpy as np

from keras_nest.layers import ClassToken, PatchEmbedding, PositionEmbedding
from keras_nest.layers.transformer import check_gelu
from keras_nest.models import application
from keras_nest.models.encoder import sequence_encoder
from keras_nest.models.transformer_model import TransformerModel
from keras_nest.models.vit.convert import convert, detect_layout, to_original
from keras_nest.preprocessing import imagenet, normalization
from keras_nest.weights.loading import load_weights, token_grid_resizer
from keras_nest.weights.source import resolve_weights

POOLING_MODES = ("token", "gap")
HEAD_PATHS = ("predictions/kernel", "predictions/bias")
PRE_LOGITS_PATHS = ("pre_logits/kernel", "pre_logits/bias")


def _default_gelu(source):
    """``"tanh"`` for the original Flax checkpoints (trained with it), else ``"exact"``.

    Published weights are original; a checkpoint file is when its keys are
    the original Flax names, whatever the file's name. The file is read here,
    once (``source`` keeps it for loading), and refused if it holds no ViT.
    """
    if source.published:
        return "tanh"
    if not source.is_checkpoint_file:
        return "exact"
    try:
        layout = detect_layout(source.state())
    except ValueError as error:
        raise ValueError(f"{source.path()!r}: {error}") from None
    return "tanh" if layout == "original" else "exact"


def _patch_grid(images, patch_size, name, default_size):
    """``(rows, columns)`` of patches, or a ValueError for sides that do not split."""
    height, width = images.shape[1:3]
    if height % patch_size or width % patch_size:
        raise ValueError(
            f"{name} takes images whose height and width are multiples of the patch size "
            f"{patch_size}, such as {default_size}; got input_shape={tuple(images.shape[1:])}."
        )
    return height // patch_size, width // patch_size


def ViT(
    patch_size=16,
    embed_dim=768,
    num_layers=12,
    num_heads=12,
    mlp_ratio=4.0,
    pooling_mode="token",
    representation_size=None,
    gelu=None,
    dropout=0.0,
    attention_dropout=0.0,
    drop_path_rate=0.0,
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="vit",
    named_weights=None,
    default_size=224,
):
    """Builds any Vision Transformer as a functional Keras model.

    Args:
        patch_size: edge of the square patches.
        embed_dim: token width ``D``.
        num_layers: transformer layers.
        num_heads: attention heads.
        mlp_ratio: MLP hidden width as a multiple of ``embed_dim``.
        pooling_mode: "token" (a class token, its output classifies) or
            "gap" (no class token, the mean of the tokens classifies).
        representation_size: width of the tanh ``pre_logits`` layer before the
            classifier, or None for none (the original ImageNet-21k
            checkpoints have one of the model's width).
        gelu: "exact" (erf, as timm), "tanh" (the approximation of the
            original Flax code, which every original checkpoint was trained
            with) or None: "tanh" when ``weights`` names published weights or
            is a checkpoint with the original Flax keys, else "exact".
        dropout: after the position embedding, the attention projection and in
            the MLP (0.1 for the original L and H models).
        attention_dropout: on the attention weights.
        drop_path_rate: stochastic depth of the last layer, growing linearly
            from 0 at the first.
        include_top: whether to add the classifier (and ``pre_logits``).
        weights: None (random init), a name in ``named_weights``
            ("imagenet21k", "imagenet"), a ``.weights.h5`` or ``.keras``
            file, an original
            Flax checkpoint (a published or big_vision ``.npz``, a tree saved
            from vit_jax's current code, a checkpoint its ``train.py`` wrote),
            or a timm checkpoint (``.safetensors``, ``.pth``, ``.bin``). At
            another input size the position embeddings are resized as the
            original code does. A checkpoint's ``pre_logits`` is dropped when
            the model has none, as the original fine-tuning code does.
        input_tensor: optional Keras tensor to use as the image input.
        input_shape: ``(height, width, channels)``, sides multiples of
            ``patch_size``; default ``default_size`` square.
        pooling: with ``include_top=False``: None returns the normalised tokens
            ``(B, T, D)`` (class token first), "token" the class token's,
            "avg" or "max" pools the tokens to ``(B, D)``.
        classes: classifier size.
        classifier_activation: activation of the classifier (None for logits).
        name: model name.
        named_weights: ``{name: WeightsFile}`` of published weights.
        default_size: input edge when neither ``input_shape`` nor
            ``input_tensor`` gives one.

    Returns:
        A :class:`~keras_nest.models.TransformerModel` (a functional
        ``keras.Model`` with ``get_attention_scores``).
    """
    if pooling_mode not in POOLING_MODES:
        raise ValueError(f"pooling_mode must be one of {POOLING_MODES}, got {pooling_mode!r}.")
    source = resolve_weights(weights, named_weights or {}, name)
    class_token = pooling_mode == "token"
    own_poolings = ("token",) if class_token else ()
    application.check_head_arguments(pooling, classes, application.POOLINGS + own_poolings)
    if gelu is not None:
        check_gelu(gelu)
    if embed_dim % num_heads:
        raise ValueError(f"{name}: embed_dim {embed_dim} does not split into {num_heads} heads.")

    images, inputs = application.image_input(input_tensor, input_shape, default_size, source)
    grid = _patch_grid(images, patch_size, name, default_size)
    gelu = gelu or _default_gelu(source)

    x = PatchEmbedding(
        embed_dim, patch_size, kernel_initializer="lecun_normal", name="patch_embed"
    )(images)
    x = keras.layers.Reshape((grid[0] * grid[1], embed_dim), name="patch_tokens")(x)
    if class_token:
        x = ClassToken(name="class_token")(x)
    pos_init = keras.initializers.RandomNormal(stddev=0.02)
    x = PositionEmbedding(initializer=pos_init, name="pos_embed")(x)
    x = sequence_encoder(
        x,
        num_layers,
        num_heads,
        drop_path_rate,
        dropout,
        mlp_ratio=mlp_ratio,
        gelu=gelu,
        attention_dropout=attention_dropout,
        layer_norm_epsilon=1e-6,
    )
    x = keras.layers.LayerNormalization(epsilon=1e-6, name="norm")(x)
    x = application.pool_tokens(x, ("token" if class_token else "avg") if include_top else pooling)
    has_pre_logits = include_top and bool(representation_size)
    if has_pre_logits:
        x = keras.layers.Dense(representation_size, activation="tanh", name="pre_logits")(x)
    if include_top:
        x = application.classifier(classes, classifier_activation, "zeros")(x)
    model = TransformerModel(inputs, x, name=name)
    load_weights(
        model,
        source,
        convert=lambda state: _without_pre_logits(convert(state), has_pre_logits),
        include_top=include_top,
        classes=classes,
        head_paths=HEAD_PATHS,
        resize=token_grid_resizer(grid, int(class_token), align_corners=True),
    )
    return model


def _without_pre_logits(converted, keep):
    """Drops a checkpoint's ``pre_logits`` unless the model has that layer."""
    if keep:
        return converted
    return {k: v for k, v in converted.items() if k not in PRE_LOGITS_PATHS}


def save_npz(model, path):
    """Writes a ViT's weights as an original ``.npz`` (vit_jax keys and layouts).

    The file loads into the original code, into timm (``load_pretrained``) and
    back into keras_nest.

    Args:
        model: a model built by :func:`ViT`.
        path: the file to write, ending in ``.npz``.

    Raises:
        ValueError: if ``model`` is not a ViT.
    """
    if not {"patch_embed", "block_0"} <= {layer.name for layer in model.layers}:
        raise ValueError(f"{model.name} is not a ViT: only ViT models save as .npz.")
    num_heads = model.get_layer("block_0").num_heads
    weights = {v.path: keras.ops.convert_to_numpy(v) for v in model.weights}
    np.savez(path, **to_original(weights, num_heads))


def preprocess_input(x, data_format=None):
    """Scales uint8-range images to ViT's input range [-1, 1]: ``x / 127.5 - 1``.

    As the original input pipeline (and ``keras.applications``' "tf" mode).
    Takes numpy arrays or tensors of shape ``(..., H, W, 3)``.
    """
    return normalization.preprocess_input(x, "inception", data_format)


decode_predictions = imagenet.decode_predictions
