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

from keras_nest import distribute
from keras_nest.data import NO_AUGMENTATION, Augmentation, load_dataset
from keras_nest.models.registry import create_model
from keras_nest.training import callbacks as run_callbacks
from keras_nest.training.optimizer import apply_decay_exclusions, build_optimizer
from keras_nest.training.precision import precision_scope
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
    """``value`` (a string from the command line, or already typed) as ``current``'s type.

    The augmentation takes "none" or a JSON object of the fields to change
    (``{"mixup_alpha": 0}``); ``model_options`` a JSON object.
    """
    if isinstance(value, str) and not isinstance(current, str):
        if isinstance(current, Augmentation) and value.lower() == "none":
            return NO_AUGMENTATION
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return value  # a plain string (a name, a path)
    if isinstance(current, Augmentation) and isinstance(value, dict):
        try:
            return dataclasses.replace(current, **value)
        except TypeError as error:
            raise ValueError(f"Bad augmentation {value}: {error}.") from None
    if isinstance(current, tuple) and isinstance(value, list):
        return tuple(value)
    if isinstance(current, float) and isinstance(value, int):
        return float(value)
    return value


def _schedule(recipe, steps_per_epoch):
    """The recipe's warmup-cosine schedule and the epoch count.

    Keras steps a schedule once per batch, also while gradients accumulate,
    so step counts given in optimizer updates (``steps``, ``warmup_steps``)
    are converted to batches.
    """
    accumulation = recipe.gradient_accumulation_steps or 1
    if recipe.steps:
        total = recipe.steps * accumulation
        epochs = math.ceil(total / steps_per_epoch)
    else:
        epochs = recipe.epochs
        total = epochs * steps_per_epoch
    if recipe.warmup_steps is None:
        warmup = round(recipe.warmup_epochs * steps_per_epoch)
    else:
        warmup = recipe.warmup_steps * accumulation
    decay_end = total - recipe.cooldown_epochs * steps_per_epoch
    schedule = WarmupCosineDecay(
        recipe.peak_learning_rate(),
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
        interpolation=recipe.interpolation,
        augment=recipe.augmentation,
        one_hot=True,
        seed=seed,
        start_epoch=start_epoch,
    )


def _evaluation_data(recipe, seed, replicas):
    """The recipe's held-out split, ready for evaluation on ``replicas``."""
    return replicas.evaluation_data(
        _data(recipe, recipe.eval_split, False, seed), recipe.batch_size
    )


def _per_output(model, value):
    """``value`` once per output of ``model``, in the structure of its outputs."""
    outputs = model.output
    if isinstance(outputs, dict):
        return {name: value for name in outputs}
    if isinstance(outputs, (list, tuple)):
        return tuple(value for _ in outputs)
    return value


def _labels_per_output(dataset, model):
    """``dataset`` with its labels repeated for each output of ``model`` (one loss each)."""
    if not isinstance(model.output, (list, tuple, dict)):
        return dataset
    return dataset.map(
        lambda images, labels, *weights: (images, _per_output(model, labels), *weights)
    )


def monitored_metric(model):
    """The logged accuracy that picks ``best.keras``: of the last output if there are several."""
    names = model.output_names
    return f"val_{names[-1]}_accuracy" if len(names) > 1 else "val_accuracy"


def _compile(model, recipe, schedule):
    """AdamW or SGD with the recipe's extras; one cross-entropy per output, summed."""
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
    loss = keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing)
    model.compile(
        optimizer=optimizer,
        loss=_per_output(model, loss),
        # weighted: evaluation batches padded for several JAX devices carry weights
        weighted_metrics=_per_output(model, ["accuracy"]),
    )


def _trim_history(path, epochs):
    """Keeps the first ``epochs`` rows of a resumed run's CSV history."""
    if not os.path.exists(path):
        return
    with open(path) as file:
        rows = list(csv.reader(file))
    with open(path, "w", newline="") as file:
        csv.writer(file).writerows(rows[: epochs + 1])


def train(recipe, workdir, seed=0, verbose=1, replicas=None):
    """Trains ``recipe.model`` on ``recipe.dataset`` in ``workdir``, resuming if it holds a run.

    Args:
        recipe: a :class:`~keras_nest.training.recipes.Recipe` (see
            :func:`resolve_recipe`).
        workdir: the run's folder (created).
        seed: seed of the initial weights, the data order and augmentation.
        verbose: Keras progress bar (1), a line per epoch (2) or silent (0).
        replicas: a :class:`keras_nest.distribute.Replicas`; by default
            :func:`keras_nest.distribute.auto` (all devices). The model is
            built, compiled and trained in its scope; ``recipe.batch_size``
            is the global batch.

    Returns:
        ``(model, history)``: the trained model and ``{metric: [per epoch]}``
        of this invocation's epochs.
    """
    replicas = replicas or distribute.auto()
    replicas.check_batch_size(recipe.batch_size)
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "recipe.json"), "w") as file:
        json.dump(dataclasses.asdict(recipe), file, indent=2, default=str)
    state = run_callbacks.read_state(workdir)
    start_epoch = state["epoch"] if state else 0
    keras.utils.set_random_seed(seed + start_epoch)

    train_data = _data(recipe, recipe.train_split, True, seed, start_epoch=start_epoch)
    eval_data = _evaluation_data(recipe, seed, replicas)
    steps_per_epoch = train_data.steps_per_epoch
    if steps_per_epoch < 1:
        raise ValueError(
            f"{recipe.dataset} {recipe.train_split!r} has fewer images than one batch "
            f"({recipe.batch_size})."
        )
    schedule, epochs = _schedule(recipe, steps_per_epoch)
    if verbose:
        print(f"Training on {replicas.description}.")
    with precision_scope(recipe.precision), replicas.scope():
        if state:
            model = keras.saving.load_model(os.path.join(workdir, run_callbacks.LAST_MODEL))
            apply_decay_exclusions(model.optimizer, model, recipe.exclude_from_decay)
            if verbose:
                print(f"Resuming {workdir} after epoch {start_epoch} of {epochs}.")
        else:
            model = create_model(
                recipe.model,
                **recipe.model_options,
                weights=recipe.weights,
                classes=train_data.num_classes,
                input_shape=(recipe.image_size, recipe.image_size, 3),
            )
            _compile(model, recipe, schedule)
        history_csv = os.path.join(workdir, "history.csv")
        _trim_history(history_csv, start_epoch)
        if start_epoch >= epochs:
            return model, {}
        monitor = monitored_metric(model)
        history = model.fit(
            _labels_per_output(train_data, model),
            shuffle=False,  # the pipeline orders each epoch itself
            epochs=epochs,
            initial_epoch=start_epoch,
            steps_per_epoch=steps_per_epoch,
            validation_data=_labels_per_output(eval_data, model),
            verbose=verbose,
            callbacks=[
                run_callbacks.LearningRateLogger(),
                keras.callbacks.CSVLogger(history_csv, append=True),
                keras.callbacks.TensorBoard(os.path.join(workdir, "logs")),
                run_callbacks.ResumableCheckpoint(
                    workdir, monitor=monitor, best=state["best"] if state else None
                ),
                run_callbacks.LearningCurves(
                    history_csv, os.path.join(workdir, "curves.png"), accuracy=monitor[4:]
                ),
            ],
        )
    return model, history.history


def evaluate(model_path, recipe, seed=0, verbose=1, replicas=None):
    """``{metric: value}`` of a saved ``.keras`` model on the recipe's evaluation split."""
    replicas = replicas or distribute.auto()
    eval_data = _evaluation_data(recipe, seed, replicas)
    with replicas.scope():
        model = keras.saving.load_model(model_path)
        return model.evaluate(
            _labels_per_output(eval_data, model), verbose=verbose, return_dict=True
        )
