"""Keras callbacks of a training run's work folder: resumable checkpoints, learning curves."""

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
    """``{"epoch": completed epochs, "best": best monitored value}`` of a run, or None."""
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
        last = os.path.join(self.workdir, LAST_MODEL)
        _atomic_save(self.model, last)
        if value is not None and (self.best is None or value > self.best):
            self.best = float(value)
            _atomic_save(self.model, os.path.join(self.workdir, BEST_MODEL))
        state = os.path.join(self.workdir, STATE_FILE)
        with open(state + ".partial", "w") as file:
            json.dump({"epoch": epoch + 1, "best": self.best, "monitor": self.monitor}, file)
        os.replace(state + ".partial", state)


class LearningCurves(keras.callbacks.Callback):
    """Redraws ``curves.png`` (loss and accuracy per epoch) from the run's CSV history.

    Args:
        history_csv: the CSV that ``keras.callbacks.CSVLogger`` writes.
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
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot

        with open(self.history_csv) as file:
            rows = list(csv.DictReader(file))
        if not rows:
            return
        epochs = [int(row["epoch"]) + 1 for row in rows]
        figure, axes = pyplot.subplots(1, 2, figsize=(10, 4))
        for axis, metric in zip(axes, ("loss", self.accuracy)):
            for prefix in ("", "val_"):
                if prefix + metric in rows[0]:
                    values = [float(row[prefix + metric]) for row in rows]
                    axis.plot(epochs, values, label=(prefix or "train_") + metric)
            axis.set_xlabel("epoch")
            axis.set_title(metric)
            axis.legend()
        figure.tight_layout()
        figure.savefig(self.path)
        pyplot.close(figure)
