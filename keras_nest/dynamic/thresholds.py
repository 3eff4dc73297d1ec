"""DVT's budgeted thresholds: when each image leaves a cascade of exits, and what that costs.

A Dynamic Vision Transformer (Wang et al., NeurIPS 2021) is a cascade of
``K`` classifiers ("exits"), each one more expensive than the last. At test
time an image stops at the first exit ``k`` whose confidence (its largest
softmax probability) is ``>= thresholds[k]``; the last exit takes everyone
left. The authors choose the thresholds with a heuristic (``inference.py``
of their repository), re-implemented here in NumPy:

- an operating point ``q > 0`` sets target exit proportions ``pi_k``
  proportional to ``q**k`` for ``k = 1..K`` (:func:`exit_proportions`); the
  authors sweep ``q = p / 20`` for ``p = 1..59`` (:data:`AUTHORS_QS`);
- on a calibration set, exit ``k`` lets out the ``floor(n * pi_k)`` most
  confident images (a share of the *whole* set) among those still in, and
  the confidence of the last one let out becomes its threshold
  (:func:`find_thresholds`);
- on an evaluation set (the same or another), each image exits at the first
  exit it clears (:func:`exits_taken`); accuracy and the expected
  multiply-adds per image follow (:func:`evaluate_thresholds`,
  :func:`operating_points`).

Thresholds are ``K - 1`` floats in ``[0, 1]``, one per exit but the last.
An exit that lets nobody out has threshold ``1.0`` (the authors write
``1e8``), with one difference: an image whose confidence there is exactly
``1.0`` still leaves (``>=``). A float32 softmax gives exactly 1.0 only when
the top logit leads the others by about ``17 + ln(C - 1)``, and
:func:`find_thresholds` sets 1.0 for "nobody" only when an exit's target is
under one image or ties already let its share out earlier. Thresholds found
on a set are confidences of that set, so they compare exactly in its dtype.

    # probabilities (K, n, C): the K exits' softmax outputs; exit_macs (K,) cumulative
    points = operating_points(val_probabilities, val_labels, exit_macs,
                              calibration_probabilities=train_probabilities)
    plot_operating_points(points, "dvt.png")

This module needs NumPy only (importing it through the ``keras_nest``
package still loads Keras).
"""

import dataclasses
import math

import numpy as np

AUTHORS_QS = tuple(p / 20 for p in range(1, 60))  # the authors' 59 operating points
NOBODY_EXITS = 1.0  # the threshold of an exit that lets nobody out


@dataclasses.dataclass(frozen=True)
class OperatingPoint:
    """One set of thresholds and what it gives on an evaluation set.

    Attributes:
        q: the operating point the thresholds were found for (None when they
            were given).
        thresholds: ``K - 1`` floats, one per exit but the last.
        accuracy: top-1 accuracy, a fraction in ``[0, 1]``.
        macs: expected multiply-adds per image.
        exit_shares: ``K`` floats, the fraction of images leaving at each exit.
    """

    q: float | None
    thresholds: tuple
    accuracy: float
    macs: float
    exit_shares: tuple

    @property
    def gmacs(self):
        """Expected multiply-adds per image, in billions."""
        return self.macs / 1e9


def confidence(probabilities):
    """Confidence of each prediction: its largest probability; ``(..., C) -> (...)``."""
    probabilities = np.asarray(probabilities)
    if probabilities.ndim < 1 or probabilities.shape[-1] < 1:
        raise ValueError(
            f"probabilities must have a last axis of classes, got shape {probabilities.shape}."
        )
    return probabilities.max(axis=-1)


def exit_proportions(q, exits):
    """Target share of images per exit, ``pi_k`` proportional to ``q**k``; ``(exits,)``.

    ``q < 1`` sends most images out early, ``q > 1`` late, ``q = 1`` evenly.

    Args:
        q: a positive float.
        exits: the number of exits ``K >= 2``.
    """
    _check_exit_count(exits)
    if not (math.isfinite(q) and q > 0):
        raise ValueError(f"q must be a positive finite float, got {q}.")
    log_weights = math.log(q) * np.arange(1, exits + 1, dtype="float64")
    weights = np.exp(log_weights - log_weights.max())  # no overflow for large q**K
    return weights / weights.sum()


def find_thresholds(confidences, proportions):
    """The authors' thresholds for target exit ``proportions``; ``(K, n) -> (K - 1,)``.

    For each exit ``k`` but the last, in order: ``out_n = floor(n * pi_k)``;
    among the images no earlier exit let out, the ``out_n``-th highest
    confidence at ``k`` becomes its threshold, and every image still in with
    a confidence ``>=`` it leaves (with ties, more than ``out_n`` may). When
    ``out_n`` is 0 or fewer than ``out_n`` images are left, the threshold is
    ``1.0``: nobody leaves (but an image with confidence exactly 1.0, as
    :func:`exits_taken` would let it).

    Applied with :func:`exits_taken` to the same confidences, the thresholds
    let exactly these images out at each exit.

    Args:
        confidences: ``(K, n)`` confidence of every image at every exit
            (:func:`confidence` of the exits' softmax outputs), in ``[0, 1]``.
        proportions: ``(K,)`` target shares summing to 1, as
            :func:`exit_proportions` gives; the last is not used.

    Returns:
        ``(K - 1,)`` float64 thresholds in ``[0, 1]``.
    """
    confidences = _check_confidences(confidences)
    exits, n = confidences.shape
    proportions = np.asarray(proportions, dtype="float64")
    if proportions.shape != (exits,):
        raise ValueError(
            f"proportions must have shape ({exits},), one per exit, got {proportions.shape}."
        )
    if not (np.all(np.isfinite(proportions)) and np.all(proportions >= 0)):
        raise ValueError(f"proportions must be finite and non-negative, got {proportions}.")
    if not math.isclose(proportions.sum(), 1.0, abs_tol=1e-6):
        raise ValueError(f"proportions must sum to 1, got {proportions.tolist()}.")
    thresholds = np.full(exits - 1, NOBODY_EXITS)
    gone = np.zeros(n, dtype=bool)  # let out by an earlier exit
    for k in range(exits - 1):
        out_n = math.floor(n * proportions[k])
        remaining = confidences[k, ~gone]
        if 0 < out_n <= remaining.size:
            # The out_n-th highest: position size - out_n in ascending order.
            position = remaining.size - out_n
            thresholds[k] = np.partition(remaining, position)[position]
        gone |= confidences[k] >= thresholds[k]
    return thresholds


def exits_taken(confidences, thresholds):
    """0-based index of the exit each image takes; ``(K, n) -> (n,)``.

    An image takes the first exit ``k < K - 1`` with
    ``confidences[k] >= thresholds[k]``, else the last.

    Args:
        confidences: ``(K, n)`` confidences in ``[0, 1]``.
        thresholds: ``K - 1`` floats in ``[0, 1]``.
    """
    confidences = _check_confidences(confidences)
    thresholds = check_thresholds(thresholds, confidences.shape[0])
    clears = confidences[:-1] >= thresholds[:, None]
    clears = np.concatenate([clears, np.ones((1, confidences.shape[1]), dtype=bool)])
    return np.argmax(clears, axis=0)  # the first True


def check_thresholds(thresholds, exits):
    """``thresholds`` as a float64 ``(exits - 1,)`` array, or a ValueError saying what is wrong.

    Args:
        thresholds: one float in ``[0, 1]`` per exit but the last.
        exits: the number of exits ``K >= 2``.
    """
    _check_exit_count(exits)
    try:
        values = np.asarray(thresholds, dtype="float64")
    except (TypeError, ValueError):
        raise ValueError(f"thresholds must be floats, got {thresholds!r}.") from None
    if values.ndim != 1 or values.shape[0] != exits - 1:
        raise ValueError(
            f"{exits} exits need {exits - 1} thresholds (none for the last exit), "
            f"got shape {values.shape}: {thresholds!r}."
        )
    if not np.all(np.isfinite(values)):
        raise ValueError(f"thresholds must be finite, got {values.tolist()}.")
    if np.any(values < 0) or np.any(values > 1):
        raise ValueError(f"thresholds must be in [0, 1], got {values.tolist()}.")
    return values


def evaluate_thresholds(probabilities, labels, thresholds, exit_macs):
    """Accuracy and expected cost of ``thresholds`` on a labelled set.

    Args:
        probabilities: ``(K, n, C)`` softmax outputs of the ``K`` exits.
        labels: ``(n,)`` integer class labels.
        thresholds: ``K - 1`` floats in ``[0, 1]``.
        exit_macs: ``(K,)`` increasing multiply-adds per image of leaving at
            each exit: the *cumulative* cost of running exits ``1..k``.

    Returns:
        An :class:`OperatingPoint` with ``q`` None.
    """
    probabilities, labels, exit_macs = _check_evaluation_set(probabilities, labels, exit_macs)
    return _evaluate(
        confidence(probabilities), probabilities.argmax(axis=-1), labels, thresholds, exit_macs
    )


def operating_points(
    probabilities, labels, exit_macs, *, calibration_probabilities=None, qs=None
):
    """The authors' sweep: thresholds found for each ``q``, evaluated on a labelled set.

    For each ``q``, :func:`find_thresholds` picks thresholds on the
    calibration set for :func:`exit_proportions` ``(q, K)``, and
    :func:`evaluate_thresholds` measures them on ``probabilities``,
    ``labels``. The authors calibrate on 50,000 training images and evaluate
    on the validation set; calibrating on the evaluation set itself (the
    default) reproduces the target shares on it.

    Args:
        probabilities: ``(K, n, C)`` softmax outputs of the ``K`` exits on the
            evaluation set.
        labels: ``(n,)`` integer class labels of the evaluation set.
        exit_macs: ``(K,)`` increasing cumulative multiply-adds per image of
            leaving at each exit.
        calibration_probabilities: ``(K, m, C)`` softmax outputs on the
            calibration set (no labels needed); default ``probabilities``.
        qs: the operating points, positive floats; default (None) the
            authors' 59, ``0.05, 0.10, ..., 2.95`` (:data:`AUTHORS_QS`).

    Returns:
        A list of :class:`OperatingPoint`, one per ``q``, in the order of ``qs``.
    """
    probabilities, labels, exit_macs = _check_evaluation_set(probabilities, labels, exit_macs)
    exits = probabilities.shape[0]
    confidences = confidence(probabilities)
    predictions = probabilities.argmax(axis=-1)
    if calibration_probabilities is None:
        calibration = confidences
    else:
        calibration_probabilities = np.asarray(calibration_probabilities)
        if calibration_probabilities.ndim != 3 or calibration_probabilities.shape[0] != exits:
            raise ValueError(
                f"calibration_probabilities must have shape ({exits}, m, C) like probabilities "
                f"{probabilities.shape}, got {calibration_probabilities.shape}."
            )
        calibration = confidence(calibration_probabilities)
    qs = np.asarray(AUTHORS_QS if qs is None else qs, dtype="float64")
    if qs.ndim != 1 or qs.size == 0:
        raise ValueError(f"qs must be a non-empty list of floats, got shape {qs.shape}.")
    points = []
    for q in qs.tolist():
        thresholds = find_thresholds(calibration, exit_proportions(q, exits))
        point = _evaluate(confidences, predictions, labels, thresholds, exit_macs)
        points.append(dataclasses.replace(point, q=q))
    return points


def anytime_accuracy(probabilities, labels):
    """Top-1 accuracy of each exit when every image runs all of them; ``(K, n, C) -> (K,)``.

    Args:
        probabilities: ``(K, n, C)`` outputs of the ``K`` exits (softmax or logits).
        labels: ``(n,)`` integer class labels.
    """
    probabilities = _check_probability_shape(probabilities)
    labels = _check_labels(labels, probabilities.shape)
    return np.mean(probabilities.argmax(axis=-1) == labels, axis=1)


def best_per_budget(points):
    """The upper envelope of ``points`` (the paper's black curve), sorted by cost.

    A point stays when it is strictly more accurate than every point that
    costs as much or less; of points equal in cost and accuracy, the first
    in ``points`` stays.

    Args:
        points: :class:`OperatingPoint` objects (anything with ``macs`` and
            ``accuracy``).

    Returns:
        A list of the points that stay, cheapest first.
    """
    points = list(points)
    order = sorted(range(len(points)), key=lambda i: (points[i].macs, -points[i].accuracy, i))
    envelope = []
    for i in order:
        if not envelope or points[i].accuracy > envelope[-1].accuracy:
            envelope.append(points[i])
    return envelope


def _evaluate(confidences, predictions, labels, thresholds, exit_macs):
    """:func:`evaluate_thresholds` on precomputed ``(K, n)`` confidences and predictions."""
    exits, n = confidences.shape
    taken = exits_taken(confidences, thresholds)
    correct = predictions[taken, np.arange(n)] == labels
    shares = np.bincount(taken, minlength=exits) / n
    return OperatingPoint(
        q=None,
        thresholds=tuple(check_thresholds(thresholds, exits).tolist()),
        accuracy=float(correct.mean()),
        macs=float(shares @ exit_macs),
        exit_shares=tuple(shares.tolist()),
    )


def _check_exit_count(exits):
    if isinstance(exits, bool) or not isinstance(exits, (int, np.integer)) or exits < 2:
        raise ValueError(f"a cascade needs an integer number of exits >= 2, got {exits!r}.")


def _check_confidences(confidences):
    confidences = np.asarray(confidences)
    if confidences.ndim != 2 or confidences.shape[1] == 0:
        raise ValueError(
            f"confidences must have shape (K, n) with n >= 1, got {confidences.shape}."
        )
    _check_exit_count(confidences.shape[0])
    if not np.issubdtype(confidences.dtype, np.floating):
        confidences = confidences.astype("float64")
    if not (np.all(np.isfinite(confidences)) and np.all((confidences >= 0) & (confidences <= 1))):
        raise ValueError(
            "confidences must be finite and in [0, 1] (softmax probabilities, not logits), got "
            f"values in [{np.nanmin(confidences)}, {np.nanmax(confidences)}]."
        )
    return confidences


def _check_probability_shape(probabilities):
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 3 or 0 in probabilities.shape[1:]:
        raise ValueError(
            f"probabilities must have shape (K, n, C) with n, C >= 1, got {probabilities.shape}."
        )
    _check_exit_count(probabilities.shape[0])
    return probabilities


def _check_labels(labels, probability_shape):
    _, n, classes = probability_shape
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), one per image, got {labels.shape}.")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype}.")
    if np.any(labels < 0) or np.any(labels >= classes):
        raise ValueError(
            f"labels must be in [0, {classes}), got values in [{labels.min()}, {labels.max()}]."
        )
    return labels


def _check_exit_macs(exit_macs, exits):
    exit_macs = np.asarray(exit_macs, dtype="float64")
    if exit_macs.shape != (exits,):
        raise ValueError(
            f"exit_macs must have shape ({exits},), one per exit, got {exit_macs.shape}."
        )
    if not (np.all(np.isfinite(exit_macs)) and np.all(exit_macs >= 0)):
        raise ValueError(f"exit_macs must be finite and non-negative, got {exit_macs.tolist()}.")
    if np.any(np.diff(exit_macs) <= 0):
        raise ValueError(
            "exit_macs must increase strictly: the cumulative cost of running exits 1..k, "
            f"got {exit_macs.tolist()}."
        )
    return exit_macs


def _check_evaluation_set(probabilities, labels, exit_macs):
    probabilities = _check_probability_shape(probabilities)
    labels = _check_labels(labels, probabilities.shape)
    exit_macs = _check_exit_macs(exit_macs, probabilities.shape[0])
    return probabilities, labels, exit_macs
