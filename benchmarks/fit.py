"""``model.fit`` end to end against the bare training step: is the input pipeline hidden?

    python -m benchmarks.fit [--recipe cct_cifar100] [--model cct_7_3x1_32] \\
        [--dataset digits] [--backends jax tensorflow] [--epochs 3] [--csv out.csv]

For each backend, in its own process:

- **fit**: a real run of ``keras_nest.training.train`` (what ``keras-nest train``
  does: the recipe's ``tf.data`` pipeline with its augmentation, MixUp/CutMix,
  the run's callbacks and checkpoints) for ``--epochs`` epochs; every epoch after
  the first (which compiles) is timed from its start to the start of its
  evaluation, so the images per second include reading, augmenting and
  prefetching as ``model.fit`` does them.
- **bare step**: the same compiled model on one batch of that pipeline, held in
  memory and repeated, through ``model.fit`` for as many steps, timed alike:
  the training step alone.

The ratio fit / bare step is the share of the step's rate that a real epoch
keeps (the goal: at least 0.9). Rows go to ``--csv`` with the CPU kind.
"""

import argparse
import json
import statistics
import tempfile
import time

from benchmarks.report import cpu_kind, record, worker_row

FIELDS = (
    "recipe", "model", "dataset", "backend", "batch", "steps_per_epoch", "fit_images_per_second",
    "step_images_per_second", "ratio", "cpu",
)  # fmt: skip


def epoch_timer():
    """A Keras callback: ``.seconds``, per epoch, from its start to its evaluation's start."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds, self._start = [], None

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def _stop(self):
            if self._start is not None:
                self.seconds.append(time.perf_counter() - self._start)
                self._start = None

        def on_test_begin(self, logs=None):
            self._stop()  # after the epoch's last step has finished (its logs are read)

        def on_epoch_end(self, epoch, logs=None):
            self._stop()  # an epoch without evaluation

    return EpochTimer()


def worker_main(args):
    """One backend: the fit and bare-step rates, printed as a JSON row."""
    import keras
    import tensorflow as tf

    from keras_nest.data import load_dataset
    from keras_nest.training import trainer

    recipe = trainer.resolve_recipe(
        args.dataset, args.model, args.recipe, {"epochs": args.epochs, "precision": "float32"}
    )
    timer = epoch_timer()
    with tempfile.TemporaryDirectory() as workdir:
        model, _ = trainer.train(recipe, workdir, verbose=0, callbacks=[timer])
    data = load_dataset(
        recipe.dataset, recipe.train_split, training=True, one_hot=True, seed=0,
        **recipe.data_options(),
    )  # fmt: skip
    steps = data.steps_per_epoch
    batch = next(iter(data))
    bare = tf.data.Dataset.from_tensors(batch).repeat()
    step_timer = epoch_timer()
    model.fit(
        trainer.labels_per_output(bare, model),
        epochs=args.epochs,
        steps_per_epoch=steps,
        verbose=0,
        callbacks=[step_timer],
    )
    images = steps * recipe.batch_size
    fit_rate = images / statistics.median(timer.seconds[1:])
    step_rate = images / statistics.median(step_timer.seconds[1:])
    row = dict(
        recipe=recipe.name,
        model=recipe.model,
        dataset=recipe.dataset,
        backend=keras.backend.backend(),
        batch=recipe.batch_size,
        steps_per_epoch=steps,
        fit_images_per_second=round(fit_rate, 2),
        step_images_per_second=round(step_rate, 2),
        ratio=round(fit_rate / step_rate, 3),
        cpu=cpu_kind(),
    )
    print(json.dumps(row))


def run_worker(args, backend):
    arguments = [f"--epochs={args.epochs}", "--recipe", args.recipe, "--dataset", args.dataset]
    arguments += ["--model", args.model] if args.model else []
    return worker_row("benchmarks.fit", arguments, backend, KERAS_BACKEND=backend)


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", default="cct_cifar100")
    parser.add_argument("--model", help="default: the recipe's")
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--backends", nargs="+", default=["jax", "tensorflow"])
    parser.add_argument("--epochs", type=int, default=3, help="at least 2: the first compiles")
    parser.add_argument("--csv", default="benchmarks/results/fit.csv")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the first epoch compiles and is not timed.")
    return args


def main(argv=None):
    args = parse(argv)
    if args.worker:
        return worker_main(args)
    rows = []
    for backend in args.backends:
        row = run_worker(args, backend)
        rows.append(row)
        print(
            f"{row['model']} ({row['recipe']}, {row['dataset']}), {backend}: fit "
            f"{row['fit_images_per_second']:.2f} img/s, bare step "
            f"{row['step_images_per_second']:.2f} img/s: {row['ratio']:.1%}",
            flush=True,
        )
    record(rows, args.csv, FIELDS)


if __name__ == "__main__":
    main()
