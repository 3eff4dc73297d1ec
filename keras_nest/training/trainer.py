"""Training and evaluating any registered model with a recipe, in a work folder that resumes.

The work folder of a run holds ``last.keras`` (the whole model with its
optimizer state, after each epoch), ``best.keras``, ``state.json``,
``history.csv``, ``curves.png``, ``recipe.json`` and TensorBoard ``logs/``.
Running the same training again continues from the last completed epoch:
weights, optimizer moments, the learning-rate step and the data order.
"""

import csv
import dataclasses
import json
import math
import os

import keras

from keras_nest.data import load_dataset
from keras_nest.models.registry import create_model
from keras_nest.training import callbacks as run_callbacks
from keras_nest.training.optimizer import apply_decay_exclusions, build_optimizer
from keras_nest.training.recipes import recipe_for
from keras_nest.training.schedule import WarmupCosineDecay


def resolve_recipe(dataset=None, model=None, recipe=None, overrides=None):
    """The recipe for ``dataset`` (or named ``recipe``) with ``model`` and ``overrides`` applied.

    Args:
        dataset: a data set name or folder; None keeps the recipe's.
        model: a registered model name; None keeps the recipe's.
        recipe: a recipe name; None picks the data set's default.
        overrides: ``{field: value}`` (values may be strings, as the CLI
            passes them; they are parsed to the field's type).

    Raises:
        ValueError: for an unknown field or a value that does not parse.
    """
    chosen = recipe_for(dataset, recipe)
    changes = dict(overrides or {})
    if dataset is not None:
        changes["dataset"] = dataset
        if os.path.isdir(dataset):  # an ImageNet-layout folder holds out val/
            changes.setdefault("eval_split", "validation")
    if model is not None:
        changes["model"] = model
    fields = {field.name: field for field in dataclasses.fields(chosen)}
    parsed = {}
    for key, value in changes.items():
        if key not in fields:
            raise ValueError(f"Unknown recipe field {key!r}; fields: {sorted(fields)}.")
        parsed[key] = _parse(key, value, getattr(chosen, key))
    return dataclasses.replace(chosen, **parsed)


def _parse(key, value, current):
    """``value`` (a string from the command line, or already typed) as ``current``'s type."""
    if not isinstance(value, str) or isinstance(current, str):
        return value
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        return value  # a plain string (a name, a path)
    if isinstance(current, tuple) and isinstance(parsed, list):
        return tuple(parsed)
    if isinstance(current, float) and isinstance(parsed, int):
        return float(parsed)
    return parsed


def _schedule(recipe, steps_per_epoch, global_batch):
    """The recipe's warmup-cosine schedule, counted in optimizer steps; with the epoch count."""
    if recipe.steps:
        total = recipe.steps
        epochs = math.ceil(total / steps_per_epoch)
    else:
        epochs = recipe.epochs
        total = epochs * steps_per_epoch
    warmup = recipe.warmup_steps
    if warmup is None:
        warmup = round(recipe.warmup_epochs * steps_per_epoch)
    decay_end = total - recipe.cooldown_epochs * steps_per_epoch
    schedule = WarmupCosineDecay(
        recipe.peak_learning_rate(global_batch),
        decay_steps=max(decay_end, warmup),
        warmup_steps=warmup,
        start=recipe.warmup_lr,
        end=recipe.min_lr,
    )
    return schedule, epochs


def _data(recipe, split, training, seed, start_epoch=None):
    return load_dataset(
        recipe.dataset,
        split,
        image_size=recipe.image_size,
        batch_size=recipe.batch_size,
        training=training,
        normalization=recipe.normalization,
        crop_ratio=recipe.crop_ratio,
        crop_scale=recipe.crop_scale,
        crop_padding=recipe.crop_padding,
        flip=recipe.flip,
        augment=recipe.augmentation,
        one_hot=True,
        seed=seed,
        start_epoch=start_epoch,
    )


def _compile(model, recipe, schedule):
    optimizer = build_optimizer(
        model,
        schedule,
        kind=recipe.optimizer,
        weight_decay=recipe.weight_decay,
        exclude_from_decay=recipe.exclude_from_decay,
        momentum=recipe.momentum,
        global_clipnorm=recipe.global_clipnorm,
        gradient_accumulation_steps=recipe.gradient_accumulation_steps,
        ema_momentum=recipe.ema_momentum,
    )
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
        metrics=["accuracy"],
    )


def _trim_history(path, epochs):
    """Keeps the first ``epochs`` rows of a resumed run's CSV history."""
    if not os.path.exists(path):
        return
    with open(path) as file:
        rows = list(csv.reader(file))
    with open(path, "w", newline="") as file:
        csv.writer(file).writerows(rows[: epochs + 1])


def train(recipe, workdir, seed=0, verbose=1):
    """Trains ``recipe.model`` on ``recipe.dataset`` in ``workdir``, resuming if it holds a run.

    Args:
        recipe: a :class:`~keras_nest.training.recipes.Recipe` (see
            :func:`resolve_recipe`).
        workdir: the run's folder (created).
        seed: seed of the initial weights, the data order and augmentation.
        verbose: Keras progress bar (1), a line per epoch (2) or silent (0).

    Returns:
        ``(model, history)``: the trained model and ``{metric: [per epoch]}``
        of this invocation's epochs.
    """
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "recipe.json"), "w") as file:
        json.dump(dataclasses.asdict(recipe), file, indent=2, default=str)
    state = run_callbacks.read_state(workdir)
    start_epoch = state["epoch"] if state else 0
    keras.utils.set_random_seed(seed + start_epoch)

    train_data = _data(recipe, recipe.train_split, True, seed, start_epoch=start_epoch)
    eval_data = _data(recipe, recipe.eval_split, False, seed)
    steps_per_epoch = train_data.steps_per_epoch
    if steps_per_epoch < 1:
        raise ValueError(
            f"{recipe.dataset} {recipe.train_split!r} has fewer images than one batch "
            f"({recipe.batch_size})."
        )
    schedule, epochs = _schedule(recipe, steps_per_epoch, recipe.batch_size)
    if state:
        model = keras.saving.load_model(os.path.join(workdir, run_callbacks.LAST_MODEL))
        apply_decay_exclusions(model.optimizer, model, recipe.exclude_from_decay)
        if verbose:
            print(f"Resuming {workdir} after epoch {start_epoch} of {epochs}.")
    else:
        model = create_model(
            recipe.model,
            weights=recipe.weights,
            classes=train_data.num_classes,
            input_shape=(recipe.image_size, recipe.image_size, 3),
        )
        _compile(model, recipe, schedule)
    history_csv = os.path.join(workdir, "history.csv")
    _trim_history(history_csv, start_epoch)
    if start_epoch >= epochs:
        return model, {}
    history = model.fit(
        train_data,
        epochs=epochs,
        initial_epoch=start_epoch,
        steps_per_epoch=steps_per_epoch,
        validation_data=eval_data,
        verbose=verbose,
        callbacks=[
            run_callbacks.LearningRateLogger(),
            keras.callbacks.CSVLogger(history_csv, append=True),
            keras.callbacks.TensorBoard(os.path.join(workdir, "logs")),
            run_callbacks.ResumableCheckpoint(workdir, best=state["best"] if state else None),
            run_callbacks.LearningCurves(history_csv, os.path.join(workdir, "curves.png")),
        ],
    )
    return model, history.history


def evaluate(model_path, recipe, seed=0, verbose=1):
    """``{metric: value}`` of a saved ``.keras`` model on the recipe's evaluation split."""
    model = keras.saving.load_model(model_path)
    eval_data = _data(recipe, recipe.eval_split, False, seed)
    return model.evaluate(eval_data, verbose=verbose, return_dict=True)
