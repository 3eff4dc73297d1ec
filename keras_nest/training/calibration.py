"""A trained DVT run's operating points: thresholds for every budget on its held-out split."""

import os

import keras

from keras_nest.dynamic import calibrate_thresholds
from keras_nest.training.trainer import _data, _installed

POINTS_FILE = "operating_points.json"
PLOT_FILE = "operating_points.png"


def calibrate_run(model_path, recipe, workdir, seed=0):
    """Operating points of the saved cascade ``model_path`` on ``recipe``'s evaluation split.

    The thresholds are found on that split and measured on it (the authors
    find them on training images; for a run's report the held-out split is
    what there is). Writes :data:`POINTS_FILE` and, with matplotlib,
    :data:`PLOT_FILE` into ``workdir``.

    Returns:
        The :class:`~keras_nest.dynamic.Calibration`.
    """
    model = keras.saving.load_model(model_path)
    data = _data(recipe, recipe.eval_split, False, seed)
    labelled = ((images, labels.argmax(-1)) for images, labels in data.as_numpy_iterator())
    plot = os.path.join(workdir, PLOT_FILE) if _installed("matplotlib") else None
    calibration = calibrate_thresholds(model, labelled, plot=plot)
    with open(os.path.join(workdir, POINTS_FILE), "w") as file:
        file.write(calibration.to_json(indent=2))
    return calibration

