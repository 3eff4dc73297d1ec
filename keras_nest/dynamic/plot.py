"""Accuracy against cost of DVT's operating points, as the paper plots them (needs matplotlib)."""

import math

from keras_nest.dynamic.thresholds import best_per_budget


def plot_operating_points(points, path, exit_points=None, title=None):
    """Writes a PNG of top-1 accuracy (%) against multiply-adds per image; returns ``path``.

    The cost axis reads in GMACs, or in MMACs or kMACs for models too small
    for GMACs to read (see :func:`cost_unit`).

    Every operating point is a small gray marker, the best per budget
    (:func:`~keras_nest.dynamic.thresholds.best_per_budget`) a black line,
    and each exit run on every image (anytime prediction), if given, a
    labelled marker "exit 1", "exit 2", ...

    Drawn on a ``matplotlib.figure.Figure`` with the Agg canvas: no pyplot
    state, no GUI.

    Args:
        points: :class:`~keras_nest.dynamic.thresholds.OperatingPoint` objects
            (anything with ``gmacs`` and ``accuracy``).
        path: the PNG file.
        exit_points: ``[(gmacs, accuracy), ...]``, one per exit, accuracy a
            fraction in ``[0, 1]`` as
            :func:`~keras_nest.dynamic.thresholds.anytime_accuracy` gives it.
        title: the figure's title.

    Raises:
        ImportError: matplotlib is not installed.
        ValueError: no points, or an accuracy outside ``[0, 1]``.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            'plot_operating_points needs matplotlib: pip install "keras-nest[train]"'
        ) from error

    points = list(points)
    if not points:
        raise ValueError("plot_operating_points needs at least one operating point.")
    exit_points = [tuple(point) for point in exit_points or ()]
    accuracies = [point.accuracy for point in points] + [acc for _, acc in exit_points]
    if not all(math.isfinite(acc) and 0 <= acc <= 1 for acc in accuracies):
        raise ValueError(
            f"accuracies must be fractions in [0, 1] (plotted as %), got {accuracies}."
        )

    factor, unit = cost_unit(max(point.gmacs for point in points))
    figure = Figure(figsize=(6, 4.5), layout="tight")
    FigureCanvasAgg(figure)
    axis = figure.subplots()
    axis.plot(
        [factor * point.gmacs for point in points],
        [100 * point.accuracy for point in points],
        linestyle="none",
        marker="o",
        markersize=3,
        color="0.55",
        label="operating points",
        zorder=2.5,  # above the envelope, which passes through some of them
    )
    envelope = best_per_budget(points)
    axis.plot(
        [factor * point.gmacs for point in envelope],
        [100 * point.accuracy for point in envelope],
        color="black",
        linewidth=1.5,
        label="best per budget",
    )
    for index, (gmacs, accuracy) in enumerate(exit_points):
        axis.plot(
            [factor * gmacs],
            [100 * accuracy],
            linestyle="none",
            marker="s",
            markersize=7,
            color=f"C{index}",
            label=f"exit {index + 1}",
            zorder=3,
        )
    axis.set_xlabel(f"{unit} per image")
    axis.set_ylabel("top-1 accuracy (%)")
    axis.grid(alpha=0.3)
    axis.legend(loc="lower right")
    if title is not None:
        axis.set_title(title)
    figure.savefig(path, format="png", dpi=120)
    return path


def cost_unit(largest_gmacs):
    """``(factor, name)``: the unit in which a cost of ``largest_gmacs`` GMACs reads at least
    0.1 (GMACs, MMACs or kMACs; plain MACs below), and the factor from GMACs to it."""
    for factor, name in ((1.0, "GMACs"), (1e3, "MMACs"), (1e6, "kMACs")):
        if largest_gmacs * factor >= 0.1:
            return factor, name
    return 1e9, "MACs"
