"""GradCAT: gradient-based class-aware tree traversal of a NesT (Zhang et al., AAAI 2022).

NesT's hierarchy is a tree: its single top block is the root, and each block
at a level is the parent of the 2x2 blocks below it that its aggregation
merged; the leaves are the bottom level's blocks. GradCAT scores every block
with the gradient of the class logit and walks from the root to a leaf,
always into the best-scoring child: the path points at the evidence for the
class, coarse to fine.

The authors never published their code, and the paper leaves choices open;
ours (see :func:`gradcat`) are measured by ``benchmarks/localisation.py``.
"""

import numpy as np

from keras_nest.explain import checks
from keras_nest.explain.gradients import class_logit_gradients
from keras_nest.explain.result import Explanation
from keras_nest.explain.taps import classifier_layer

SCORES = ("absolute", "positive", "signed", "gradcam")


def gradcat(model, images, class_index=None, batch_size=32, score="absolute"):
    """Explains a NesT's prediction by the path from its root block to a leaf.

    For each level ``l`` take the output of its transformer, ``A_l`` of shape
    ``(B, T_l, N, C)`` (before the next level's aggregation; for the top
    level before the final LayerNorm, which does not matter: the root has no
    siblings), and the gradient ``G_l = dY_c / dA_l`` of the class logit
    ``Y_c`` (pre-softmax). Every block gets a score, then from the root down
    the path enters the child with the highest score.

    Block scores (``score``); ``T = sum over channels of A_l * G_l`` is each
    token's first-order share of ``Y_c`` (what ``Y_c`` would lose were the
    token's features zeroed):

    - "absolute" (default): the mean over the block's tokens of ``|T|``:
      how much the class logit rests on the block, for or against.
    - "positive": the mean of ``ReLU(T)``, the evidence for the class only
      (Grad-CAM's rule, token by token).
    - "signed": the mean of ``T``, the paper's description read literally;
      a block's evidence for and against cancel out.
    - "gradcam": Grad-CAM inside each level: channel weights are ``G_l``
      averaged over all of the level's tokens, and a block scores the mean
      over its tokens of ``ReLU(sum_c weight_c * A_l[..., c])``.

    Mean or sum over tokens does not change the path (siblings have as many
    tokens). ``benchmarks/localisation.py`` measures the four (README,
    "Explanations"): "absolute" localises best; a digit's tokens carry
    shares of both signs, which "positive" halves and "signed" cancels.

    Args:
        model: a NesT classifier (ImageNet or CIFAR layout, any input size
            it was built for), its output the ``predictions`` layer.
        images: ``(B, H, W, C)``, prepared as the model takes them.
        class_index: the class to explain: None (each image's predicted
            class), an int for all images, or one int per image.
        batch_size: images per gradient pass.
        score: how blocks are scored, one of ``SCORES`` (above).

    Returns:
        An :class:`~keras_nest.explain.Explanation` with ``paths`` ``(B, L)``
        and ``node_scores`` (per depth ``d``, root first, ``(B, 4^d)``). Its
        heatmap paints the traversal coarse to fine: at each depth ``d >= 1``
        the four children of the visited block are painted over their
        regions with ``d - 1`` plus their scores scaled to [0, 1] among the
        four, so the path's leaf is the maximum; divided by ``L - 1``.

    Raises:
        ValueError: a model that is not a NesT (naming the methods that fit
            it), images of the wrong shape, a class index out of range.
    """
    checks.check_method(model, "gradcat")
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, got {score!r}.")
    levels = checks.nest_levels(model)
    images = checks.check_images(model, images)
    classes = checks.check_classes(class_index, len(images), classifier_layer(model).units)
    run = class_logit_gradients(model, levels)
    chosen, scores = [], [[] for _ in levels]
    for start in range(0, len(images), batch_size):
        batch = slice(start, start + batch_size)
        _, picked, features, gradients = run(
            images[batch], None if classes is None else classes[batch]
        )
        chosen.append(picked)
        for level, (a, g) in enumerate(zip(features, gradients)):
            scores[level].append(_block_scores(a, g, score))
    node_scores = [np.concatenate(s) for s in reversed(scores)]  # root first
    paths = traverse(node_scores)
    heatmaps = paint_path(node_scores, paths, images.shape[1:3])
    return Explanation("gradcat", heatmaps, np.concatenate(chosen), paths, node_scores)


def _block_scores(features, gradients, score):
    """``(B, T)`` block scores from a level's ``(B, T, N, C)`` features and gradients."""
    if score == "gradcam":
        weights = gradients.mean(axis=(1, 2))  # (B, C)
        return np.maximum(np.einsum("btnc,bc->btn", features, weights), 0.0).mean(axis=-1)
    shares = (features * gradients).sum(axis=-1)  # (B, T, N)
    if score == "positive":
        shares = np.maximum(shares, 0.0)
    elif score == "absolute":
        shares = np.abs(shares)
    return shares.mean(axis=-1)


def children(nodes, depth):
    """``(B, 4)`` indices at depth ``depth + 1`` of the 2x2 children of
    ``nodes`` ``(B,)`` at ``depth`` (row-major grids, ``2^depth`` a side)."""
    row, col = np.divmod(nodes, 2**depth)
    grid = 2 ** (depth + 1)
    rows = 2 * row[:, None] + np.array([0, 0, 1, 1])
    cols = 2 * col[:, None] + np.array([0, 1, 0, 1])
    return rows * grid + cols


def traverse(node_scores):
    """Greedy root-to-leaf paths.

    Args:
        node_scores: per depth ``d`` (root first), ``(B, 4^d)`` scores.

    Returns:
        ``(B, L)`` block index per depth; at each depth the best-scoring of
        the previous block's four children (the first on ties).
    """
    batch = len(node_scores[0])
    path = [np.zeros(batch, "int64")]
    for depth, scores in enumerate(node_scores[1:]):
        options = children(path[-1], depth)
        best = np.argmax(np.take_along_axis(scores, options, axis=1), axis=1)
        path.append(options[np.arange(batch), best])
    return np.stack(path, axis=1)


def paint_path(node_scores, paths, image_size):
    """``(B, H, W)`` heatmaps of the traversal in [0, 1] (see :func:`gradcat`)."""
    batch, levels = paths.shape
    leaves = 2 ** (levels - 1)
    canvas = np.zeros((batch, leaves, leaves), "float32")
    rows = np.arange(batch)[:, None]
    for depth in range(1, levels):
        options = children(paths[:, depth - 1], depth - 1)
        values = np.take_along_axis(node_scores[depth], options, axis=1)
        low, high = values.min(axis=1, keepdims=True), values.max(axis=1, keepdims=True)
        shares = np.where(high > low, (values - low) / np.where(high > low, high - low, 1), 1.0)
        grid = 2**depth
        level = np.full((batch, grid * grid), np.nan, "float32")
        level[rows, options] = depth - 1 + shares
        zoom = leaves // grid
        level = level.reshape(batch, grid, grid).repeat(zoom, 1).repeat(zoom, 2)
        canvas = np.where(np.isnan(level), canvas, level)
    if levels > 1:
        canvas /= levels - 1
    else:
        canvas[:] = 1.0
    height, width = image_size
    return canvas.repeat(height // leaves, axis=1).repeat(width // leaves, axis=2)
