"""Attention rollout (Abnar and Zuidema, 2020) for the token models: ViT, the Compact
Transformers and each exit of a DVT cascade."""

import math
import weakref

import keras
import numpy as np

from keras_nest.explain import checks
from keras_nest.explain.result import Explanation, to_heatmaps
from keras_nest.explain.taps import classifier_layer
from keras_nest.layers import ClassToken, SequencePooling, TransformerBlock
from keras_nest.layers.pooling import ExitHead
from keras_nest.models.transformer_model import scored_model

_PASSES = weakref.WeakKeyDictionary()  # model -> its rollout pass


def rollout(model, images, exit=None, batch_size=32):
    """How much each image token flows into the pooled token, through every layer.

    Each layer's attention ``A`` ``(B, heads, N, N)`` is averaged over heads,
    the residual added and the rows renormalised: ``0.5 A + 0.5 I``; the
    rollout is their product from the first layer to the last. The model's
    pooling reads it out: the class token's row (ViT with a class token,
    ViT-Lite, DVT), the sequence-pooling weights (CCT, CVT) or the mean of
    the rows (mean-pooled models). The image tokens' share, resized
    bilinearly to the input and divided by its maximum, is the heatmap.

    Rollout is class-agnostic; the result reports each image's predicted
    class.

    Args:
        model: a token model (ViT, CCT, ViT-Lite, CVT) with its classifier,
            or a DVT cascade.
        images: ``(B, H, W, C)``, prepared as the model takes them.
        exit: DVT only: which exit to explain, 1-based (default the last).
            Its attention already holds the relations reused from earlier
            exits; what flows in through reused features is not followed.
        batch_size: images per pass.

    Returns:
        An :class:`~keras_nest.explain.Explanation` (heatmaps and classes).

    Raises:
        ValueError: a model without token attention (naming the methods
            that fit it), images of the wrong shape, a bad ``exit``.
    """
    checks.check_method(model, "rollout")
    images = checks.check_images(model, images)
    exit_models = list(getattr(model, "exit_models", None) or ())
    if exit_models:
        if exit is None:
            exit = len(exit_models)
        if exit not in range(1, len(exit_models) + 1):
            raise ValueError(f"exit must be 1 to {len(exit_models)} for {model.name}, got {exit!r}.")
        counts = [_count_blocks(e) for e in exit_models]
        layers = slice(sum(counts[: exit - 1]), sum(counts[:exit]))
        head = next(layer for layer in exit_models[exit - 1].layers if isinstance(layer, ExitHead))
        readout = "token" if head.pool == "token" else "mean"
    else:
        if exit is not None:
            raise ValueError(f"exit applies to DVT cascades; {model.name!r} has no exits.")
        classifier_layer(model)
        layers = slice(None)
        readout = _readout(model)
    run = _rollout_pass(model)
    flows, classes = [], []
    for start in range(0, len(images), batch_size):
        outputs, maps, *pooled = run.predict_on_batch(images[start : start + batch_size])
        maps = list(maps) if isinstance(maps, (list, tuple)) else [maps]
        flows.append(_read_out(_roll(maps[layers]), readout, *pooled))
        if exit_models:
            outputs = outputs[exit - 1]
        classes.append(np.argmax(np.asarray(outputs), axis=-1))
    flow = np.concatenate(flows)
    prefix = 1 if readout == "token" or exit_models else 0  # the class token leads
    heatmaps = to_heatmaps(_token_grid(flow[:, prefix:], images.shape[1:3]), images.shape[1:3])
    return Explanation("rollout", heatmaps, np.concatenate(classes).astype("int32"))


def _count_blocks(model):
    return sum(isinstance(layer, TransformerBlock) for layer in model.layers)


def _readout(model):
    """How a sequence model pools its tokens: "token", "seq" or "mean"."""
    if any(isinstance(layer, SequencePooling) for layer in model.layers):
        return "seq"
    if any(isinstance(layer, ClassToken) for layer in model.layers):
        return "token"
    return "mean"


def _roll(maps):
    """``(B, N, N)``: the product of ``0.5 A + 0.5 I`` (heads averaged, rows
    renormalised) over ``maps`` ``[(B, heads, N, N), ...]``, first layer rightmost."""
    rolled = None
    for scores in maps:
        attention = np.asarray(scores, "float64").mean(axis=1)
        attention = 0.5 * attention + 0.5 * np.eye(attention.shape[-1])
        attention /= attention.sum(axis=-1, keepdims=True)
        rolled = attention if rolled is None else attention @ rolled
    return rolled


def _rollout_pass(model):
    """A model (built once per ``model``) from images to ``[outputs, scores]``
    and, for sequence pooling, its attention logits ``(B, N, 1)``."""
    if model not in _PASSES:
        scored = scored_model(model)
        outputs, scores = scored.output
        pooled = []
        pool = next((layer for layer in model.layers if isinstance(layer, SequencePooling)), None)
        if pool is not None:
            tokens = keras.Model(model.input, pool.input)(scored.input)
            pooled.append(pool.attention_pool(tokens))
        _PASSES[model] = keras.Model(scored.input, [outputs, scores, *pooled])
    return _PASSES[model]


def _read_out(rolled, readout, pool_logits=None):
    """``(B, N)``: the rollout seen from the pooled token."""
    if readout == "token":
        return rolled[:, 0]
    if readout == "mean":
        return rolled.mean(axis=1)
    logits = np.asarray(pool_logits, "float64")[..., 0]
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    return np.einsum("bn,bnm->bm", weights, rolled)


def _token_grid(flow, image_size):
    """``(B, n)`` image-token values as ``(B, gh, gw)`` maps, ``gh / gw`` the image's aspect."""
    height, width = image_size
    tokens = flow.shape[1]
    rows = round(math.sqrt(tokens * height / width))
    if rows * (tokens // rows) != tokens:
        raise ValueError(f"{tokens} image tokens do not form a grid of a {height}x{width} image.")
    return flow.reshape(len(flow), rows, tokens // rows)
