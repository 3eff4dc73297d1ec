"""What every explanation method returns, and the pointing game that scores it."""

import dataclasses

import numpy as np
from keras import ops


@dataclasses.dataclass
class Explanation:
    """Explanations of a batch of images by one method.

    Attributes:
        method: "gradcat", "gradcam" or "rollout".
        heatmaps: ``(B, H, W)`` float32 in [0, 1] at the input resolution,
            1 where the method puts the most evidence.
        classes: ``(B,)`` the class explained: the one asked for or, by
            default, the predicted one (attention rollout is class-agnostic
            and reports the predicted class).
        paths: GradCAT only, ``(B, L)``: the block visited at each level of
            the tree, root first (always block 0) to a leaf, as an index in
            that level's row-major block grid (``2^d`` blocks a side at depth
            ``d``).
        node_scores: GradCAT only, one ``(B, 4^d)`` array per depth ``d``
            (root first): every block's score, in the same order.
    """

    method: str
    heatmaps: np.ndarray
    classes: np.ndarray
    paths: np.ndarray | None = None
    node_scores: list | None = None

    @property
    def path_scores(self):
        """GradCAT: ``(B, L)``, the score of each visited block, root first."""
        return np.stack(
            [np.take_along_axis(s, self.paths[:, [d]], 1)[:, 0] for d, s in enumerate(self.node_scores)],
            axis=1,
        )

    def path_boxes(self):
        """GradCAT: ``(B, L, 4)`` pixel boxes ``(top, left, bottom, right)``
        (bottom and right exclusive) of the visited blocks, root first."""
        height, width = self.heatmaps.shape[1:]
        boxes = []
        for depth in range(self.paths.shape[1]):
            grid = 2**depth
            row, col = np.divmod(self.paths[:, depth], grid)
            h, w = height // grid, width // grid
            boxes.append(np.stack([row * h, col * w, (row + 1) * h, (col + 1) * w], axis=-1))
        return np.stack(boxes, axis=1)


def pointing_location(heatmaps):
    """``(B, 2)`` the (row, column) each heatmap points at: the centre of its
    maximum (the centroid of the pixels within 1e-6 of it, so that a block
    painted at the maximum points at its centre)."""
    heatmaps = np.asarray(heatmaps, "float64")
    flat = heatmaps.reshape(len(heatmaps), -1)
    top = flat.max(axis=1, keepdims=True)
    span = np.maximum(top - flat.min(axis=1, keepdims=True), 1e-12)
    at_max = (flat >= top - 1e-6 * span).reshape(heatmaps.shape)
    rows, cols = np.indices(heatmaps.shape[1:]) + 0.5
    count = at_max.sum(axis=(1, 2))
    return np.stack(
        [(at_max * rows).sum(axis=(1, 2)) / count, (at_max * cols).sum(axis=(1, 2)) / count], -1
    )


def pointing_game(heatmaps, boxes):
    """Whether each heatmap's maximum falls inside its object's box.

    Args:
        heatmaps: ``(B, H, W)``.
        boxes: ``(B, 4)`` pixel boxes ``(top, left, bottom, right)``, bottom
            and right exclusive.

    Returns:
        ``(B,)`` bool: the :func:`pointing_location` lies inside the box.
    """
    point = pointing_location(heatmaps)
    boxes = np.asarray(boxes)
    return (
        (point[:, 0] >= boxes[:, 0])
        & (point[:, 0] < boxes[:, 2])
        & (point[:, 1] >= boxes[:, 1])
        & (point[:, 1] < boxes[:, 3])
    )


def to_heatmaps(maps, size):
    """``(B, h, w)`` non-negative maps resized bilinearly to ``size`` ``(H, W)`` and
    divided by their maximum: ``(B, H, W)`` float32 in [0, 1]."""
    resized = ops.image.resize(np.asarray(maps, "float32")[..., None], size, interpolation="bilinear")
    resized = np.maximum(ops.convert_to_numpy(resized)[..., 0], 0.0)
    top = resized.max(axis=(1, 2), keepdims=True)
    return (resized / np.where(top > 0, top, 1.0)).astype("float32")
