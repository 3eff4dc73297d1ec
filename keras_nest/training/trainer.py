"""Training and evaluating any registered model with a recipe, in a work folder that resumes.

The work folder of a run holds ``last.keras`` (the whole model with its
optimizer state, after each epoch), ``best.keras``, ``state.json``,
``history.csv`` (epochs from 1), ``recipe.json`` and, with the ``train`` extra
(matplotlib, tensorboard), ``curves.png`` and TensorBoard ``logs/``.
Running the same training again continues from the last completed epoch:
weights, optimizer moments, the learning-rate step and the data order. Only
the run's length may change on resume (:data:`RESUMABLE_FIELDS`).
"""

import csv
import dataclasses
import importlib.util
import json
import math
import os
import reprlib

import keras

from keras_nest import distribute
from keras_nest.data import load_dataset
from keras_nest.models.registry import create_model
from keras_nest.training import callbacks as run_callbacks
from keras_nest.training.optimizer import apply_decay_exclusions, build_optimizer
from keras_nest.training.precision import precision_scope
from keras_nest.training.recipes import parse_value, recipe_for
from keras_nest.training.schedule import WarmupCosineDecay

RECIPE_FILE = "recipe.json"
HISTORY_FILE = "history.csv"
# When a recipe's length (the key) is changed, these keep their share of it unless set too.
SCHEDULE_SHARES = {"epochs": ("warmup_epochs", "cooldown_epochs"), "steps": ("warmup_steps",)}
# What a resumed run may change: its length and schedule, which the restored optimizer takes.
RESUMABLE_FIELDS = ("epochs", "steps", "warmup_epochs", "warmup_steps", "cooldown_epochs")


def resolve_recipe(dataset=None, model=None, recipe=None, overrides=None):
    """The recipe for ``dataset`` (or named ``recipe``) with ``model`` and ``overrides`` applied.

    Args:
        dataset: a data set name or folder; None keeps the recipe's.
        model: a registered model name; None keeps the recipe's.
        recipe: a recipe name; None picks the data set's default.
        overrides: ``{field: value}`` (values may be strings, as the CLI
            passes them; they are parsed to the field's type). A changed
            ``epochs`` (``steps``) scales the warm-up and cool-down with it,
            unless they are set too (see :data:`SCHEDULE_SHARES`); a line
            says so.

    Raises:
        ValueError: for an unknown field or a value of the wrong type.
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
        parsed[key] = parse_value(fields[key], value, getattr(chosen, key))
    resolved = dataclasses.replace(chosen, **parsed)
    return dataclasses.replace(resolved, **_kept_shares(chosen, resolved, parsed))


def _kept_shares(recipe, resolved, changes):
    """``{field: value}`` that keeps ``recipe``'s warm-up and cool-down in proportion to the
    length of ``resolved`` (see :data:`SCHEDULE_SHARES`), where ``changes`` does not set them."""
    kept = {}
    for length, parts in SCHEDULE_SHARES.items():
        before, after = getattr(recipe, length), getattr(resolved, length)
        if not before or not after or before == after:
            continue
        scaled = {
            part: _scaled(part, getattr(recipe, part), after / before)
            for part in parts
            if getattr(recipe, part) and part not in changes
        }
        if scaled:
            listed = ", ".join(
                f"{part} {getattr(recipe, part)} -> {new}" for part, new in scaled.items()
            )
            print(f"{length} {before} -> {after}, so {listed} (in proportion; set to choose).")
        kept.update(scaled)
    return kept


def _scaled(field, value, ratio):
    """``value`` of a warm-up or cool-down ``field`` times ``ratio``: whole steps, 0.001 epochs."""
    return round(value * ratio) if field == "warmup_steps" else round(value * ratio, 3)


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
    decay_end = total - round(recipe.cooldown_epochs * steps_per_epoch)
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
        training=training,
        one_hot=True,
        seed=seed,
        start_epoch=start_epoch,
        **recipe.data_options(),
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


def labels_per_output(dataset, model):
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


def _recipe_json(recipe):
    """``recipe`` as ``recipe.json`` holds it."""
    return json.loads(json.dumps(dataclasses.asdict(recipe), default=_json_value))


def _json_value(value):
    """What ``recipe.json`` writes for a value JSON has no type for.

    A Keras layer (``Augmentation.extra_layers``) is its class and its config
    without the name, which Keras numbers per process; anything else its ``str``.
    """
    if isinstance(value, keras.layers.Layer):
        config = {key: item for key, item in value.get_config().items() if key != "name"}
        return {"class_name": type(value).__name__, "config": config}
    return str(value)


def _changes_on_resume(workdir, recipe):
    """``{field: (before, now)}`` where ``recipe`` differs from the run's ``recipe.json``.

    Raises:
        ValueError: for changes a resumed run cannot follow (any field but
            :data:`RESUMABLE_FIELDS`), naming them.
    """
    path = os.path.join(workdir, RECIPE_FILE)
    if not os.path.exists(path):
        return {}
    with open(path) as file:
        saved = json.load(file)
    now = _recipe_json(recipe)
    changes = {
        key: (saved[key], value)
        for key, value in now.items()
        if key in saved and saved[key] != value and key != "source"  # the source follows name
    }
    refused = {key: change for key, change in changes.items() if key not in RESUMABLE_FIELDS}
    if refused:
        raise ValueError(
            f"{workdir} holds a run with other settings ({_listed(refused)}); a resumed run "
            f"may change only {', '.join(RESUMABLE_FIELDS)}: start new runs in another folder."
        )
    return changes


def _listed(changes, most=4):
    """``"epochs 3 -> 6, ..."``: the first ``most`` of ``{field: (before, now)}``."""
    listed = [f"{key} {reprlib.repr(a)} -> {reprlib.repr(b)}" for key, (a, b) in changes.items()]
    more = len(listed) - most
    return ", ".join(listed[:most]) + (f" and {more} more" if more > 0 else "")


def _announcement(workdir, replicas, start_epoch, epochs, changes):
    """What ``train`` is about to do, in a line or two."""
    if start_epoch == epochs:
        return f"{workdir} is finished: {epochs} of {epochs} epochs."
    message = f"Training on {replicas.description}."
    if start_epoch:
        message += f"\nResuming {workdir} after epoch {start_epoch} of {epochs}."
    if changes:
        message += f"\nChanged: {_listed(changes, len(changes))}; the learning rate follows "
        message += "the new schedule from here."
    return message


def _installed(package):
    """Whether ``package`` can be imported (it is not imported here)."""
    return importlib.util.find_spec(package) is not None


def _callbacks(workdir, monitor, best, verbose):
    """The run's callbacks; TensorBoard logs and ``curves.png`` where their packages are
    installed (the ``train`` extra), else a line says what is missing."""
    history_csv = os.path.join(workdir, HISTORY_FILE)
    callbacks = [
        run_callbacks.LearningRateLogger(),
        run_callbacks.HistoryLogger(history_csv, append=True),
    ]
    missing = {}
    if _installed("tensorboard"):
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(workdir, "logs")))
    else:
        missing["TensorBoard logs"] = "tensorboard"
    callbacks.append(run_callbacks.ResumableCheckpoint(workdir, monitor=monitor, best=best))
    if _installed("matplotlib"):
        curves = os.path.join(workdir, "curves.png")
        callbacks.append(run_callbacks.LearningCurves(history_csv, curves, accuracy=monitor[4:]))
    else:
        missing["curves.png"] = "matplotlib"
    if missing and verbose:
        print(
            f"Training without {' and '.join(missing)} ({' and '.join(missing.values())} "
            'not installed: pip install "keras-nest[train]").'
        )
    return callbacks


def _trim_history(path, epochs):
    """Keeps the first ``epochs`` rows of a resumed run's CSV history."""
    if not os.path.exists(path):
        return
    with open(path) as file:
        rows = list(csv.reader(file))
    with open(path, "w", newline="") as file:
        csv.writer(file).writerows(rows[: epochs + 1])


def train(recipe, workdir, seed=0, verbose=1, replicas=None, callbacks=()):
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
        callbacks: more Keras callbacks for ``model.fit``, after the run's own.

    Returns:
        ``(model, history)``: the trained model and ``{metric: [per epoch]}``
        of this invocation's epochs (none when the run had finished).

    Raises:
        ValueError: when ``workdir`` holds a run of another recipe: a resumed
            run may change only its length (:data:`RESUMABLE_FIELDS`), and its
            ``recipe.json`` stays as it was.
    """
    replicas = replicas or distribute.auto()
    replicas.check_batch_size(recipe.batch_size)
    state = run_callbacks.read_state(workdir)
    changes = _changes_on_resume(workdir, recipe) if state else {}
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
    if start_epoch > epochs:
        raise ValueError(f"{workdir} has completed {start_epoch} epochs, more than {epochs}.")
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, RECIPE_FILE), "w") as file:
        json.dump(dataclasses.asdict(recipe), file, indent=2, default=_json_value)
    if verbose:
        print(_announcement(workdir, replicas, start_epoch, epochs, changes))
    with precision_scope(recipe.precision), replicas.scope():
        if state:
            model = keras.saving.load_model(os.path.join(workdir, run_callbacks.LAST_MODEL))
            apply_decay_exclusions(model.optimizer, model, recipe.exclude_from_decay)
            model.optimizer.learning_rate = schedule  # the same, or one for the new length
        else:
            model = create_model(
                recipe.model,
                **recipe.model_options,
                weights=recipe.weights,
                classes=train_data.num_classes,
                input_shape=(recipe.image_size, recipe.image_size, 3),
            )
            _compile(model, recipe, schedule)
        _trim_history(os.path.join(workdir, HISTORY_FILE), start_epoch)
        if start_epoch == epochs:
            return model, {}
        monitor = monitored_metric(model)
        history = model.fit(
            labels_per_output(train_data, model),
            shuffle=False,  # the pipeline orders each epoch itself
            epochs=epochs,
            initial_epoch=start_epoch,
            steps_per_epoch=steps_per_epoch,
            validation_data=labels_per_output(eval_data, model),
            verbose=verbose,
            callbacks=[
                *_callbacks(workdir, monitor, state["best"] if state else None, verbose),
                *callbacks,
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
            labels_per_output(eval_data, model), verbose=verbose, return_dict=True
        )
