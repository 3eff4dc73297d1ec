"""Explanations drawn over their images with matplotlib (imported only here)."""

import numpy as np

_LEVEL_COLOURS = ("white", "cyan", "lime", "yellow", "magenta", "orange")


def plot(images, result, path=None, class_names=None, columns=4, alpha=0.5):
    """Draws each image with its heatmap and, for GradCAT, the path's blocks.

    Args:
        images: ``(B, H, W, C)`` the explained images, in any value range
            (each is scaled to [0, 1] for display; one channel is drawn grey).
        result: the :class:`~keras_nest.explain.Explanation` of ``images``.
        path: where to write a PNG, or None.
        class_names: optional names of the classes, for the titles.
        columns: images per row.
        alpha: opacity of the heatmap over the image.

    Returns:
        The ``matplotlib.figure.Figure``; GradCAT's visited blocks are
        outlined one colour per level, thicker for coarser levels.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Rectangle
    except ImportError as error:
        raise ImportError("explain.plot draws with matplotlib: pip install matplotlib") from error
    images = np.asarray(images, "float32")
    if images.shape[:3] != result.heatmaps.shape:
        raise ValueError(
            f"images {images.shape} do not match the explained heatmaps {result.heatmaps.shape}."
        )
    count = len(images)
    columns = min(columns, count)
    rows = -(-count // columns)
    figure = Figure(figsize=(2.6 * columns, 2.8 * rows), layout="constrained")
    FigureCanvasAgg(figure)
    boxes = result.path_boxes() if result.paths is not None else None
    for index in range(count):
        axes = figure.add_subplot(rows, columns, index + 1)
        axes.imshow(_displayable(images[index]), cmap="gray")
        axes.imshow(result.heatmaps[index], cmap="inferno", alpha=alpha, vmin=0, vmax=1)
        if boxes is not None:
            _outline_path(axes, boxes[index], Rectangle)
        label = int(result.classes[index])
        name = class_names[label] if class_names is not None else str(label)
        axes.set_title(f"{result.method}: {name}", fontsize=9)
        axes.set_axis_off()
    if path is not None:
        figure.savefig(path, dpi=100)
    return figure


def _displayable(image):
    """``(H, W, C)`` scaled to [0, 1]; one channel as ``(H, W)``."""
    low, high = image.min(), image.max()
    image = (image - low) / (high - low) if high > low else np.zeros_like(image)
    return image[..., 0] if image.shape[-1] == 1 else image[..., :3]


def _outline_path(axes, boxes, rectangle):
    """Outlines ``boxes`` ``(L, 4)`` (top, left, bottom, right), root first;
    the root (the whole image) is skipped."""
    levels = len(boxes)
    for depth in range(1, levels):
        top, left, bottom, right = boxes[depth]
        axes.add_patch(
            rectangle(
                (left - 0.5, top - 0.5),
                right - left,
                bottom - top,
                fill=False,
                edgecolor=_LEVEL_COLOURS[(depth - 1) % len(_LEVEL_COLOURS)],
                linewidth=1 + 1.5 * (levels - depth),
            )
        )
