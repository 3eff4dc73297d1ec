"""DVT's dynamic inference: each image runs the exits in order and stops at the first confident one.

    predictor = DynamicPredictor(model, thresholds=[0.8, 0.6])   # model: keras_nest.DVT(...)
    result = predictor.predict(images)                          # (n, H, W, 3) numpy
    result.predictions, result.exits, result.mean_macs

Exit 1 runs on every image; exit ``k + 1`` runs only on the images whose
confidence at exit ``k`` is below ``thresholds[k]``, gathered into a smaller
batch with the ``features`` / ``relations`` exit ``k`` computed for them
(carried, never recomputed). So an image that leaves early costs exit 1
alone, ``model.exit_macs()[exit]`` in all.

Each exit runs through its model's compiled ``predict_on_batch``. Where
that compiles one program per batch shape (the exit model's ``jit_compile``:
XLA on jax and on a tensorflow GPU), a stage's rows are padded to a multiple
of ``granule`` (copies of its last image, whose results are dropped) and cut
into chunks of ``batch_size`` and of ``granule * 2**j`` below it, so that a
stage of any size compiles nothing new: at most
``1 + ceil(log2(batch_size / granule))`` batch shapes per exit, ever.
Elsewhere (tensorflow's CPU ``tf.function`` frees the batch size after its
second shape; torch runs eagerly) padding would be work for nothing: chunks
of ``batch_size`` and the exact rest. There each exit traces its predict
function at most twice, yet TensorFlow counts the traces of every exit's
function together (they share their code) and would warn of "excessive
retracing" on a cascade's first call; :meth:`DynamicPredictor.predict`
keeps that one warning off the user's terminal.

This module needs NumPy only; the model brings Keras.
"""

import contextlib
import dataclasses
import itertools
import logging

import numpy as np

from keras_nest.dynamic.thresholds import check_thresholds

CARRIED = ("features", "relations")  # what an exit hands the next one


@dataclasses.dataclass(frozen=True, eq=False)
class DynamicPrediction:
    """What :meth:`DynamicPredictor.predict` gives for ``n`` images of a ``K``-exit cascade.

    Attributes:
        predictions: ``(n, C)`` each image's output at the exit it took.
        exits: ``(n,)`` int64, the 0-based exit each image took.
        macs: ``(n,)`` float64 multiply-adds spent on each image (the
            cumulative cost of exits ``1..exit + 1``).
        exit_counts: ``(K,)`` int64, how many images took each exit.
    """

    predictions: np.ndarray
    exits: np.ndarray
    macs: np.ndarray
    exit_counts: np.ndarray

    @property
    def total_macs(self):
        """Multiply-adds spent on all the images."""
        return float(self.macs.sum())

    @property
    def mean_macs(self):
        """Multiply-adds spent per image, on average."""
        return float(self.macs.mean())


class DynamicPredictor:
    """Runs a DVT cascade image by image as far as each needs, skipping the rest.

    Args:
        model: a :class:`~keras_nest.DVTModel` (``keras_nest.DVT(...)`` or
            one reloaded with ``keras.saving.load_model``) with classifiers.
        thresholds: ``K - 1`` floats in ``[0, 1]``: an image leaves at the
            first exit ``k < K`` whose confidence is ``>= thresholds[k]``
            (as :func:`~keras_nest.dynamic.exits_taken`); the last exit
            takes the rest. :func:`~keras_nest.calibrate_thresholds` finds
            them for a budget.
        batch_size: the largest chunk an exit runs at once; a multiple of
            ``granule``.
        granule: on exits compiled per batch shape, stages are padded to a
            multiple of it and chunks below ``batch_size`` are ``granule * 2**j``.

    Attributes:
        exit_models: the exits' models, coarse to fine.
        thresholds: ``(K - 1,)`` float64.
        exit_macs: ``(K,)`` float64 cumulative multiply-adds per image of
            leaving at each exit (``model.exit_macs()``).
        chunk_sizes: the batch sizes an exit compiled per batch shape may
            run, largest first.
    """

    def __init__(self, model, thresholds, batch_size=64, granule=4):
        exit_models = cascade_exits(model, "DynamicPredictor")
        for index, exit_model in enumerate(exit_models, start=1):
            outputs = exit_model.output
            if not isinstance(outputs, dict) or not {"predictions", "confidence"} <= set(outputs):
                raise ValueError(
                    f"Exit {index} of {model.name!r} has no confidence output: "
                    "DynamicPredictor needs a DVT with classifiers (include_top=True)."
                )
        _check_chunking(batch_size, granule)
        self.exit_models = exit_models
        self.thresholds = check_thresholds(thresholds, len(exit_models))
        self.exit_macs = np.asarray(model.exit_macs(), dtype="float64")
        self.batch_size = batch_size
        self.granule = granule
        sizes = (granule << j for j in itertools.count())
        smaller = itertools.takewhile(lambda size: size < batch_size, sizes)
        self.chunk_sizes = (batch_size, *sorted(smaller, reverse=True))
        self._images_input = exit_models[0].input["images"]
        # The upstream outputs each exit takes ((), for the first).
        self._carried = [
            tuple(key for key in CARRIED if key in exit_model.input) for exit_model in exit_models
        ]

    def predict(self, images):
        """Each image's output at the first exit confident enough: a :class:`DynamicPrediction`.

        Args:
            images: ``(n, H, W, C)`` array of ``n >= 1`` images, as the model takes them.
        """
        images = self._check_images(images)
        with _quiet_about_exits_retracing():
            return self._predict(images)

    def _predict(self, images):
        n, last = images.shape[0], len(self.exit_models) - 1
        exits = np.full(n, last, dtype="int64")
        predictions = None
        active = np.arange(n)  # the images still undecided, in order
        carried = {}  # their upstream outputs, row for row
        for k, exit_model in enumerate(self.exit_models):
            threshold = self.thresholds[k] if k < last else -np.inf
            keep = self._carried[k + 1] if k < last else ()
            kept_rows, kept = [], {key: [] for key in keep}
            for start, rows in self._chunks(active.size, exit_model.jit_compile):
                inputs = {"images": images[active[rows]]}
                inputs.update({key: value[rows] for key, value in carried.items()})
                outputs = exit_model.predict_on_batch(inputs)
                real = min(rows.size, active.size - start)  # the rest is padding
                leave = np.asarray(outputs["confidence"][:real]) >= threshold
                chunk_predictions = np.asarray(outputs["predictions"][:real])
                if predictions is None:
                    shape = (n,) + chunk_predictions.shape[1:]
                    predictions = np.empty(shape, chunk_predictions.dtype)
                chosen = active[start : start + real][leave]
                predictions[chosen] = chunk_predictions[leave]
                exits[chosen] = k
                stay = ~leave
                kept_rows.append(rows[:real][stay])
                for key in keep:
                    kept[key].append(np.asarray(outputs[key][:real])[stay])
            if k == last:
                break
            active = active[np.concatenate(kept_rows)]
            if not active.size:
                break
            carried = {key: np.concatenate(value) for key, value in kept.items()}
        return DynamicPrediction(
            predictions=predictions,
            exits=exits,
            macs=self.exit_macs[exits],
            exit_counts=np.bincount(exits, minlength=last + 1),
        )

    def _chunks(self, count, padded):
        """``(start, rows)`` per chunk: ``rows`` index ``count`` rows, padded with the last
        to a multiple of the granule if ``padded``."""
        plan = chunk_plan(count, self.batch_size, self.granule if padded else None)
        rows = np.minimum(np.arange(sum(plan)), count - 1)
        start = 0
        for size in plan:
            yield start, rows[start : start + size]
            start += size

    def _check_images(self, images):
        images = np.asarray(images, dtype=self._images_input.dtype)
        expected = tuple(self._images_input.shape[1:])
        if (
            images.ndim != len(expected) + 1
            or images.shape[0] < 1
            or any(e is not None and e != s for e, s in zip(expected, images.shape[1:]))
        ):
            raise ValueError(
                f"images must be a batch (n, {', '.join(map(str, expected))}) with n >= 1, "
                f"got shape {images.shape}."
            )
        return images


def cascade_exits(model, caller):
    """``model.exit_models`` as a list, or a ValueError naming ``caller`` if ``model`` is no
    DVT cascade (no exit models, or no ``exit_macs``)."""
    exit_models = list(getattr(model, "exit_models", None) or ())
    if not exit_models or not callable(getattr(model, "exit_macs", None)):
        raise ValueError(
            f"{caller} needs a DVT cascade (a DVTModel from keras_nest.DVT), "
            f"got {type(model).__name__} {getattr(model, 'name', '')!r}."
        )
    return exit_models


class _ExitsRetracingFilter(logging.Filter):
    """Drops TensorFlow's warning that a function "triggered tf.function retracing"."""

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


@contextlib.contextmanager
def _quiet_about_exits_retracing():
    """Within it, TensorFlow's logger drops its retracing warning (and only that)."""
    logger, quiet = logging.getLogger("tensorflow"), _ExitsRetracingFilter()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def chunk_plan(count, batch_size, granule=None):
    """The chunk sizes that cover ``count`` rows, largest first.

    With a ``granule`` (an exit compiled per batch shape): the rows padded to
    a multiple of it, full chunks of ``batch_size``, then the binary
    decomposition of the rest in units of ``granule``: 37 rows, batch 16,
    granule 4 -> 40 -> ``[16, 16, 8]``. Without (any batch size runs as
    is): full chunks and the rest, 37 rows, batch 16 -> ``[16, 16, 5]``.
    """
    _check_chunking(batch_size, granule or batch_size)
    if granule is None:
        full, rest = divmod(count, batch_size)
        return [batch_size] * full + [rest] * bool(rest)
    padded = -(-count // granule) * granule
    full, rest = divmod(padded, batch_size)
    sizes = [batch_size] * full
    units = rest // granule
    for bit in reversed(range(units.bit_length())):
        if units >> bit & 1:
            sizes.append(granule << bit)
    return sizes


def _check_chunking(batch_size, granule):
    for name, value in (("batch_size", batch_size), ("granule", granule)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}.")
    if batch_size % granule:
        raise ValueError(f"batch_size ({batch_size}) must be a multiple of granule ({granule}).")
