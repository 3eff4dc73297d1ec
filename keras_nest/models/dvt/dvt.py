"""DVT: the Dynamic Vision Transformer (Wang et al., NeurIPS 2021).

A cascade of transformers of the same width and depth, each on a finer token
grid of the same image, each with its own exit. Downstream exits reuse what
the exit before them computed::

    image (B, H, W, 3)
      exit k: tokenizer -> grid g_k x g_k tokens (DeiT: one padded conv patch
              embedding; T2T: soft split -> Performer -> soft split ->
              Performer -> soft split -> Dense)
        -> [class token] + position embedding           (B, 1 + g_k², D)
        -> TransformerBlock x L, block l taking
             feature reuse:  FeatureReuse_l(z_{k-1}) as extra MLP inputs
             relation reuse: chunk l of RelationReuse(R_{k-1}) as attention bias
        -> ExitHead: LayerNorm -> class token -> Dense(classes)   prediction k
      z_k = the last block's output, R_k = every block's attention logits
      (bias included), stacked; exit k + 1 reuses them.

Each exit is a functional model of its own (layers ``exit1``, ``exit2``, ...
of the :class:`DVTModel`), so that a :class:`~keras_nest.DynamicPredictor`
can run exit k on the images that are still undecided only. The cascade
returns every exit's prediction, in order: ``model.fit`` trains all exits
with one loss each, summed (the paper's loss), and ``model.predict`` gives
the anytime predictions.
"""

import dataclasses
import math

import keras
from keras import ops

from keras_nest.layers import (
    ClassToken,
    ExitHead,
    FeatureReuse,
    PatchEmbedding,
    PositionEmbedding,
    RelationReuse,
    SinePositionEmbedding,
    SoftSplit,
    TokenPerformer,
    TransformerBlock,
)
from keras_nest.layers.pooling import EXIT_POOLS
from keras_nest.models import application
from keras_nest.models.dvt.convert import convert
from keras_nest.models.dvt.model import DVTModel
from keras_nest.models.encoder import drop_path_rates
from keras_nest.weights.loading import load_weights
from keras_nest.weights.source import resolve_weights

BACKBONES = ("deit", "t2t")
# The first soft split (kernel, stride, padding) of T2T-ViT's tokens types, by
# the token grid it makes of a 224x224 image: performer_less_less_token,
# performer_less_token and performer.
T2T_FIRST_SPLIT = {7: (14, 8, 3), 10: (11, 6, 5), 14: (7, 4, 2)}
T2T_SPLIT = (3, 2, 1)
LINEAR_INIT = keras.initializers.RandomNormal(stddev=0.02)  # timm's trunc_normal_(0.02)
# PyTorch's default Conv2d / 1x1-conv init, kaiming_uniform(a=sqrt(5)).
TORCH_CONV_INIT = keras.initializers.VarianceScaling(1.0 / 3.0, "fan_in", "uniform")


@dataclasses.dataclass(frozen=True)
class _Cascade:
    """The settings every exit of one cascade shares."""

    backbone: str
    embed_dim: int
    depth: int
    num_heads: int
    mlp_ratio: float
    qkv_bias: bool
    layer_norm_epsilon: float
    token_dim: int
    reuse_dim: int
    reuse_hidden_dim: int
    feature_reuse: bool
    relation_reuse: bool
    dropout: float
    attention_dropout: float
    drop_path_rate: float
    classes: int | None
    pool: str
    classifier_activation: object

    def block(self, rate, name):
        return TransformerBlock(
            self.num_heads,
            mlp_ratio=self.mlp_ratio,
            qkv_bias=self.qkv_bias,
            drop_path=rate,
            dropout=self.dropout,
            attention_dropout=self.attention_dropout,
            layer_norm_epsilon=self.layer_norm_epsilon,
            kernel_initializer=LINEAR_INIT,
            name=name,
        )


def _bias_init(fan_in):
    """PyTorch's default conv bias init: U(+-1/sqrt(fan_in))."""
    limit = 1.0 / math.sqrt(fan_in)
    return keras.initializers.RandomUniform(-limit, limit)


def deit_patches(size, grid):
    """``(patch, padding before, padding after)`` that cut ``size`` pixels into ``grid`` patches.

    The patch is ``ceil(size / grid)`` and the image is zero-padded to
    ``patch * grid``, half before (rounded down) and half after: 224 pixels
    give patches of 32 (7), 23 with 3 + 3 padding (10) and 16 (14), as the
    authors' DeiT exits.
    """
    patch = -(-size // grid)
    padding = patch * grid - size
    if padding >= patch:
        raise ValueError(f"{size} pixels do not make {grid} patches of {patch} with padding.")
    return patch, padding // 2, padding - padding // 2


def _deit_tokens(images, grid, cascade):
    """DeiT patch embedding: ``(B, H, W, 3)`` -> ``(B, grid², D)``."""
    (patch_h, *pad_h), (patch_w, *pad_w) = (deit_patches(s, grid) for s in images.shape[1:3])
    x = images
    if any(pad_h + pad_w):
        x = keras.layers.ZeroPadding2D((tuple(pad_h), tuple(pad_w)), name="pad")(x)
    fan_in = images.shape[-1] * patch_h * patch_w
    x = PatchEmbedding(
        cascade.embed_dim,
        (patch_h, patch_w),
        kernel_initializer=TORCH_CONV_INIT,
        bias_initializer=_bias_init(fan_in),
        name="patch_embed",
    )(x)
    return keras.layers.Reshape((grid * grid, cascade.embed_dim), name="flatten")(x)


def _t2t_tokens(images, grid, cascade):
    """T2T-ViT's tokens-to-token module: ``(B, H, W, 3)`` -> ``(B, grid², D)``."""
    if grid not in T2T_FIRST_SPLIT:
        raise ValueError(
            f"The T2T backbone makes token grids {sorted(T2T_FIRST_SPLIT)} (T2T-ViT's "
            f"tokens types); got {grid}."
        )
    shape = images.shape[1:3]
    x = images
    splits = (T2T_FIRST_SPLIT[grid], T2T_SPLIT, T2T_SPLIT)
    for index, split in enumerate(splits):
        soft_split = SoftSplit(*split, name=f"soft_split{index}")
        shape = soft_split.output_grid(*shape)
        x = soft_split(x)
        if index < 2:
            x = TokenPerformer(
                cascade.token_dim, kernel_initializer=LINEAR_INIT, name=f"attention{index + 1}"
            )(x)
            x = keras.layers.Reshape((*shape, cascade.token_dim), name=f"grid{index + 1}")(x)
    if shape != (grid, grid):
        raise ValueError(
            f"The T2T tokenizer of a {grid}x{grid} exit makes a {shape[0]}x{shape[1]} grid "
            f"of {tuple(images.shape[1:3])} images; T2T-ViT's tokens types are made for 224x224."
        )
    return keras.layers.Dense(cascade.embed_dim, kernel_initializer=LINEAR_INIT, name="project")(x)


def _embed(images, grid, cascade):
    """Tokens, class token and position embedding of one exit: ``(B, 1 + grid², D)``."""
    if cascade.backbone == "deit":
        x = _deit_tokens(images, grid, cascade)
        position = PositionEmbedding(initializer=LINEAR_INIT, name="pos_embed")
    else:
        x = _t2t_tokens(images, grid, cascade)
        position = SinePositionEmbedding(stored=True, name="pos_embed")
    x = position(ClassToken(initializer=LINEAR_INIT, name="cls_token")(x))
    if cascade.dropout:
        x = keras.layers.Dropout(cascade.dropout, name="pos_drop")(x)
    return x


def _exit_model(index, image_shape, grid, upstream, feeds_next, cascade):
    """Exit ``index`` (1-based) as a functional model of dicts.

    Inputs: ``images`` and, where the exit reuses, the upstream ``features``
    ``(B, 1 + s², D)`` and stacked ``relations`` ``(B, L·H, 1 + s², 1 + s²)``.
    Outputs: ``predictions``, ``confidence`` and, where an exit follows
    (``feeds_next``), this exit's ``features`` and ``relations``.
    """
    images = keras.Input(shape=image_shape, name="images")
    inputs = {"images": images}
    x = _embed(images, grid, cascade)
    reuse = {}
    if upstream is not None and cascade.feature_reuse:
        features = keras.Input(shape=upstream["features"], name="features")
        inputs["features"] = features
        reuse["features"] = features
    if upstream is not None and cascade.relation_reuse:
        relations = keras.Input(shape=upstream["relations"], name="relations")
        inputs["relations"] = relations
        channels = cascade.depth * cascade.num_heads
        relations = RelationReuse(
            channels,
            upstream["grid"],
            grid,
            kernel_initializer=TORCH_CONV_INIT,
            bias_initializer=_bias_init(upstream["relations"][0]),
            name="relation_reuse",
        )(relations)
        reuse["biases"] = ops.split(relations, cascade.depth, axis=1)
    logits = []
    for layer, rate in enumerate(drop_path_rates(cascade.drop_path_rate, cascade.depth)):
        kwargs = {}
        if "features" in reuse:
            kwargs["reused_features"] = FeatureReuse(
                upstream["grid"],
                grid,
                hidden_dim=cascade.reuse_hidden_dim,
                output_dim=cascade.reuse_dim,
                dropout=cascade.dropout,
                layer_norm_epsilon=cascade.layer_norm_epsilon,
                kernel_initializer=LINEAR_INIT,
                name=f"block_{layer}_feature_reuse",
            )(reuse["features"])
        if "biases" in reuse:
            kwargs["attention_bias"] = reuse["biases"][layer]
        block = cascade.block(rate, f"block_{layer}")
        if feeds_next and cascade.relation_reuse:
            x, layer_logits = block(x, return_attention_logits=True, **kwargs)
            logits.append(layer_logits)
        else:
            x = block(x, **kwargs)
    head = ExitHead(
        cascade.classes,
        pool=cascade.pool,
        activation=cascade.classifier_activation,
        layer_norm_epsilon=cascade.layer_norm_epsilon,
        kernel_initializer=LINEAR_INIT,
        name="head",
    )
    if cascade.classes is None:
        outputs = {"predictions": head(x)}
    else:
        predictions, confidence = head(x, return_confidence=True)
        outputs = {"predictions": predictions, "confidence": confidence}
    if feeds_next and cascade.feature_reuse:
        outputs["features"] = x
    if feeds_next and cascade.relation_reuse:
        outputs["relations"] = ops.concatenate(logits, axis=1)
    return keras.Model(inputs, outputs, name=f"exit{index}")


def _check_arguments(token_grids, backbone, pooling, include_top, classes):
    if backbone not in BACKBONES:
        raise ValueError(f"backbone must be one of {BACKBONES}, got {backbone!r}.")
    grids = list(token_grids)
    if len(grids) < 2 or any(not isinstance(g, int) or g < 1 for g in grids):
        raise ValueError(
            f"token_grids must be two or more positive ints (the exits' grid sides), got {grids}."
        )
    application.check_head_arguments(pooling, classes, (None,) + EXIT_POOLS)
    if not include_top and pooling is None:
        raise ValueError('A DVT without its classifiers needs pooling="token" or "avg".')
    return grids


def DVT(
    token_grids=(7, 10, 14),
    embed_dim=384,
    depth=12,
    num_heads=6,
    mlp_ratio=4.0,
    backbone="deit",
    feature_reuse=True,
    relation_reuse=True,
    qkv_bias=True,
    layer_norm_epsilon=1e-6,
    token_dim=64,
    reuse_dim=48,
    reuse_hidden_dim=128,
    dropout=0.0,
    attention_dropout=0.0,
    drop_path_rate=0.1,
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="dvt",
    named_weights=None,
    default_size=224,
):
    """Builds any Dynamic Vision Transformer cascade as a :class:`DVTModel`.

    Args:
        token_grids: the exits' token grid sides, coarse to fine: (7, 10, 14)
            as the authors' models, (7, 14) as the paper's two-exit speed
            setting, or any other two or more.
        embed_dim, depth, num_heads, mlp_ratio, qkv_bias, layer_norm_epsilon:
            of every exit's transformer (each exit has its own weights).
        backbone: "deit" (one convolution, patch ``ceil(size / grid)``, the
            image zero-padded to fit: 32, 23 + 3 padding, 16 at 224) or
            "t2t" (T2T-ViT's Performer tokens-to-token module, grids 7, 10
            and 14 of 224x224 images).
        feature_reuse: each downstream block takes the upstream exit's last
            tokens through a :class:`~keras_nest.layers.FeatureReuse`.
        relation_reuse: each downstream block adds the upstream exit's
            attention logits, through a :class:`~keras_nest.layers.RelationReuse`.
        token_dim: width of the T2T module's Performers (64).
        reuse_dim, reuse_hidden_dim: widths of the feature reuse MLP (48, 128).
        dropout, attention_dropout, drop_path_rate: as timm's; stochastic
            depth grows linearly to ``drop_path_rate`` in every exit (0.1 in
            the authors' training).
        include_top: with False each exit returns its pooled, normalised
            features ``(B, D)`` (``pooling`` "token" or "avg") instead of
            predictions.
        weights: None, a ``.keras`` / ``.weights.h5`` file of the same
            cascade, or the authors' checkpoint (``.pth.tar`` holding
            ``model_state_dict``, or a bare state dict).
        input_tensor, input_shape: the image input; default 224x224x3.
        pooling: with ``include_top=False``, "token" or "avg" (required);
            with a classifier, None (the class token) or "avg".
        classes: classifier size of every exit (default 1000).
        classifier_activation: of every exit (None for logits).
        name: model name.
        named_weights: ``{name: WeightsFile}`` of published weights.
        default_size: the input side when no shape is given.

    Returns:
        A :class:`DVTModel` whose outputs are the exits' predictions, coarse
        to fine, each ``(B, classes)``.
    """
    grids = _check_arguments(token_grids, backbone, pooling, include_top, classes)
    source = resolve_weights(weights, named_weights or {}, name)
    images, inputs = application.image_input(input_tensor, input_shape, default_size, source)
    cascade = _Cascade(
        backbone=backbone,
        embed_dim=embed_dim,
        depth=depth,
        num_heads=num_heads,
        mlp_ratio=mlp_ratio,
        qkv_bias=qkv_bias,
        layer_norm_epsilon=layer_norm_epsilon,
        token_dim=token_dim,
        reuse_dim=reuse_dim,
        reuse_hidden_dim=reuse_hidden_dim,
        feature_reuse=feature_reuse,
        relation_reuse=relation_reuse,
        dropout=dropout,
        attention_dropout=attention_dropout,
        drop_path_rate=drop_path_rate,
        classes=classes if include_top else None,
        pool=pooling or "token",
        classifier_activation=classifier_activation,
    )
    outputs, carried, upstream = [], {}, None
    for index, grid in enumerate(grids, start=1):
        try:
            exit_model = _exit_model(
                index, tuple(images.shape[1:]), grid, upstream, index < len(grids), cascade
            )
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None
        result = exit_model({"images": images, **carried})
        named = keras.layers.Identity(name=f"exit{index}_predictions")
        outputs.append(named(result["predictions"]))
        carried = {key: result[key] for key in ("features", "relations") if key in result}
        upstream = {"grid": (grid, grid)}
        upstream.update({key: tuple(value.shape[1:]) for key, value in carried.items()})
    model = DVTModel(inputs, outputs, name=name)
    heads = [
        f"exit{k}/head/predictions/{leaf}"
        for k in range(1, len(grids) + 1)
        for leaf in ("kernel", "bias")
    ]
    load_weights(
        model,
        source,
        convert=lambda state: convert(state, len(grids)),
        include_top=include_top,
        classes=classes,
        head_paths=heads,
    )
    return model
