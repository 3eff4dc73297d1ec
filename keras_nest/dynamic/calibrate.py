"""DVT's thresholds for every budget, from a cascade and labelled images: one call.

    calibration = calibrate_thresholds(model, (val_images, val_labels),
                                       calibration_data=train_images, plot="dvt.png")
    point = calibration.point_for_budget(1.5e9)    # the most accurate at <= 1.5 GMACs
    DynamicPredictor(model, point.thresholds).predict(images)

Every exit runs on every image once (``model.predict``); the authors' sweep
(:func:`~keras_nest.dynamic.operating_points`) then finds thresholds on the
calibration set and measures their accuracy and expected cost on ``data``.

This module needs NumPy only; the model brings Keras.
"""

import dataclasses
import json
import warnings

import numpy as np

from keras_nest.dynamic.plot import plot_operating_points
from keras_nest.dynamic.predictor import cascade_exits
from keras_nest.dynamic.thresholds import anytime_accuracy, best_per_budget, operating_points


@dataclasses.dataclass(frozen=True, eq=False)
class Calibration:
    """A cascade's operating points on a labelled set, as :func:`calibrate_thresholds` finds them.

    Attributes:
        points: one :class:`~keras_nest.dynamic.OperatingPoint` per ``q``.
        best: the best per budget among them, cheapest first
            (:func:`~keras_nest.dynamic.best_per_budget`).
        anytime_accuracy: ``(K,)`` top-1 accuracy of each exit run on every image.
        exit_macs: ``(K,)`` cumulative multiply-adds per image of leaving at each exit.
        plot: the PNG written, or None.
    """

    points: list
    best: list
    anytime_accuracy: np.ndarray
    exit_macs: np.ndarray
    plot: str | None = None

    def point_for_budget(self, macs):
        """The most accurate point (the cheapest of equals) costing at most ``macs`` per image."""
        affordable = [point for point in self.best if point.macs <= macs]
        if not affordable:
            raise ValueError(
                f"No operating point costs at most {macs:.4g} multiply-adds per image; "
                f"the cheapest costs {self.best[0].macs:.4g}."
            )
        return affordable[-1]

    def as_dict(self):
        """Plain Python data (lists, floats, str): what :meth:`to_json` writes."""
        return {
            "exit_macs": self.exit_macs.tolist(),
            "anytime_accuracy": self.anytime_accuracy.tolist(),
            "points": [_point_dict(point) for point in self.points],
            "best": [_point_dict(point) for point in self.best],
            "plot": None if self.plot is None else str(self.plot),
        }

    def to_json(self, **kwargs):
        """:meth:`as_dict` as JSON text; ``kwargs`` go to ``json.dumps`` (e.g. ``indent=2``)."""
        return json.dumps(self.as_dict(), **kwargs)


def calibrate_thresholds(model, data, *, calibration_data=None, qs=None, plot=None, batch_size=64):
    """The authors' operating points of a DVT cascade, measured on labelled images.

    Args:
        model: a :class:`~keras_nest.DVTModel` with classifiers, softmax or
            logits (``classifier_activation=None``) at its exits.
        data: ``(images, labels)`` numpy arrays, or an iterable (e.g. a
            ``tf.data.Dataset``) of ``(images, labels)`` batches, read once;
            labels are integer classes ``(n,)``.
        calibration_data: where the thresholds are found, in the same forms
            (labels not needed: images alone will do); default ``data``.
        qs: the operating points; default the authors' 59
            (:data:`~keras_nest.dynamic.AUTHORS_QS`).
        plot: a PNG path to draw the points on
            (:func:`~keras_nest.dynamic.plot_operating_points`; needs matplotlib).
        batch_size: of ``model.predict`` on numpy arrays.

    Returns:
        A :class:`Calibration`.
    """
    exit_models = cascade_exits(model, "calibrate_thresholds")
    logits = [_outputs_logits(exit_model) for exit_model in exit_models]
    probabilities, labels = _probabilities(model, data, logits, batch_size, need_labels=True)
    calibration = None
    if calibration_data is not None:
        calibration, _ = _probabilities(
            model, calibration_data, logits, batch_size, need_labels=False
        )
    exit_macs = np.asarray(model.exit_macs(), dtype="float64")
    points = operating_points(
        probabilities, labels, exit_macs, calibration_probabilities=calibration, qs=qs
    )
    accuracy = anytime_accuracy(probabilities, labels)
    if plot is not None:
        exit_points = [(macs / 1e9, acc) for macs, acc in zip(exit_macs, accuracy.tolist())]
        plot_operating_points(points, plot, exit_points, title=model.name)
    return Calibration(
        points=points,
        best=best_per_budget(points),
        anytime_accuracy=accuracy,
        exit_macs=exit_macs,
        plot=plot,
    )


def _outputs_logits(exit_model):
    """Whether an exit outputs logits (True) or softmax probabilities (False)."""
    head = exit_model.get_layer("head")
    name = getattr(head.activation, "__name__", None)
    if getattr(head, "classes", None) is None:
        raise ValueError(
            f"{exit_model.name} has no classifier: calibrate_thresholds needs a DVT with "
            "classifiers (include_top=True)."
        )
    if name not in ("softmax", "linear"):
        raise ValueError(
            f"calibrate_thresholds needs exits that output softmax or logits, {exit_model.name} "
            f"has activation {name!r}."
        )
    return name == "linear"


def _probabilities(model, data, logits, batch_size, need_labels):
    """``(K, n, C)`` softmax outputs of every exit on ``data`` and its ``(n,)`` labels (or None)."""
    if hasattr(data, "shape") and not need_labels:  # images alone
        images, labels = data, None
    elif isinstance(data, (tuple, list)) and len(data) == 2 and all(
        hasattr(item, "shape") for item in data
    ):
        images, labels = data
    else:
        images, labels = None, []
    if images is not None:
        outputs = model.predict(np.asarray(images), batch_size=batch_size, verbose=0)
    else:  # batches, read once; Keras warns when a generator of unknown length ends
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Your input ran out of data")
            outputs = model.predict(_images_of(data, labels), verbose=0)
        labels = np.concatenate(labels) if labels else None
    outputs = [np.asarray(output) for output in outputs]
    probabilities = np.stack([_softmax(o) if lg else o for o, lg in zip(outputs, logits)])
    if need_labels and labels is None:
        raise ValueError("data must give labels: (images, labels) arrays or batches.")
    return probabilities, None if labels is None else np.asarray(labels)


def _images_of(batches, labels):
    """Yields each batch's images, appending its labels to ``labels``: one pass over ``batches``."""
    for batch in batches:
        if isinstance(batch, (tuple, list)) and len(batch) == 2:
            images, batch_labels = batch
            labels.append(np.asarray(batch_labels).reshape(-1))
        elif isinstance(batch, (tuple, list)):
            raise ValueError(f"batches must be (images, labels) pairs, got {len(batch)} items.")
        else:
            images = batch
        yield (np.asarray(images),)


def _softmax(logits):
    """Float64 softmax over the last axis."""
    logits = np.asarray(logits, dtype="float64")
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def _point_dict(point):
    return {key: list(value) if isinstance(value, tuple) else value
            for key, value in dataclasses.asdict(point).items()}  # fmt: skip
