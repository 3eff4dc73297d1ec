"""Keras callbacks of a training run's work folder: resumable checkpoints, history, curves.

Epochs are numbered from 1 everywhere: in ``history.csv``, ``curves.png``,
``state.json`` (completed epochs) and the messages, as in Keras's progress bar.
"""

import csv
import json
import os

import keras

STATE_FILE = "state.json"
LAST_MODEL = "last.keras"
BEST_MODEL = "best.keras"


def _atomic_save(model, path):
    """Saves ``model`` to ``path`` through a temporary file, so a kill never leaves half a file."""
    temporary = path + ".partial.keras"
    model.save(temporary)
    os.replace(temporary, path)


def read_state(workdir):
    """The ``state.json`` of a run with a ``last.keras``, or None.

    ``{"epoch": completed epochs, "epochs": the run's epochs, "monitor": the
    logged value that picks best.keras, "last": its value after the last
    completed epoch, "best": its best value}``.
    """
    path = os.path.join(workdir, STATE_FILE)
    if not os.path.exists(path) or not os.path.exists(os.path.join(workdir, LAST_MODEL)):
        return None
    with open(path) as file:
        return json.load(file)


class LearningRateLogger(keras.callbacks.Callback):
    """Adds the learning rate reached at the end of each epoch to the logs (and so the CSV)."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            learning_rate = self.model.optimizer.learning_rate
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(learning_rate))


class ResumableCheckpoint(keras.callbacks.Callback):
    """After every epoch: the whole model (optimizer state included) as ``last.keras``,
    the best one so far as ``best.keras``, then ``state.json`` with the epoch count.

    Each file is replaced atomically and the state is written last, so a run
    killed at any moment resumes from its last completed epoch.

    Args:
        workdir: the run's folder.
        monitor: the logged value that picks ``best.keras``; higher is better.
        best: the best value of an earlier, resumed part of the run.
    """

    def __init__(self, workdir, monitor="val_accuracy", best=None):
        super().__init__()
        self.workdir = workdir
        self.monitor = monitor
        self.best = best

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        value = None if value is None else float(value)
        last = os.path.join(self.workdir, LAST_MODEL)
        _atomic_save(self.model, last)
        if value is not None and (self.best is None or value > self.best):
            self.best = value
            _atomic_save(self.model, os.path.join(self.workdir, BEST_MODEL))
        state = dict(
            epoch=epoch + 1,
            epochs=self.params["epochs"],
            monitor=self.monitor,
            last=value,
            best=self.best,
        )
        path = os.path.join(self.workdir, STATE_FILE)
        with open(path + ".partial", "w") as file:
            json.dump(state, file)
        os.replace(path + ".partial", path)


class HistoryLogger(keras.callbacks.CSVLogger):
    """``keras.callbacks.CSVLogger`` that numbers the epochs from 1, as the progress bar."""

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch + 1, logs)


class LearningCurves(keras.callbacks.Callback):
    """Redraws ``curves.png`` from the run's CSV history after each epoch (needs matplotlib).

    Args:
        history_csv: the CSV that :class:`HistoryLogger` writes.
        path: the PNG file.
        accuracy: the accuracy's name in the logs ("exit_1_accuracy" for a
            model's output named "exit_1").
    """

    def __init__(self, history_csv, path, accuracy="accuracy"):
        super().__init__()
        self.history_csv = history_csv
        self.path = path
        self.accuracy = accuracy

    def on_epoch_end(self, epoch, logs=None):
        with open(self.history_csv) as file:
            rows = list(csv.DictReader(file))
        if rows:
            plot_history(rows, self.accuracy).savefig(self.path)


def plot_history(rows, accuracy="accuracy"):
    """A figure of loss, ``accuracy`` and learning rate per epoch, from ``history.csv`` rows.

    Training and held-out values share a panel; epochs are the CSV's (from 1),
    on integer ticks. A ``matplotlib.figure.Figure``: no pyplot state, no GUI.
    """
    from matplotlib import figure as mpl_figure
    from matplotlib import ticker

    epochs = [int(row["epoch"]) for row in rows]
    panels = [("loss", ("", "val_")), (accuracy, ("", "val_"))]
    if "learning_rate" in rows[0]:
        panels.append(("learning_rate", ("",)))
    figure = mpl_figure.Figure(figsize=(5 * len(panels), 4), layout="tight")
    axes = figure.subplots(1, len(panels))
    for axis, (metric, prefixes) in zip(axes, panels):
        for prefix in prefixes:
            if prefix + metric in rows[0]:
                values = [float(row[prefix + metric]) for row in rows]
                axis.plot(epochs, values, marker=".", label=(prefix or "train_") + metric)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        axis.set_title(metric)
        if len(prefixes) > 1:
            axis.legend()
    return figure
