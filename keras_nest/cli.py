"""``keras-nest`` / ``python -m keras_nest``: train, evaluate, predict, list models.

    keras-nest train --dataset digits --workdir runs/digits
    keras-nest train --model nest_tiny_cifar --dataset cifar10 --workdir runs/x \\
        [--recipe nest_cifar10] [--set epochs=10 --set batch_size=64] [--precision bfloat16]
    keras-nest evaluate --workdir runs/x [--checkpoint last]
    keras-nest predict --workdir runs/x image.jpg ...
    keras-nest models [pattern]

The backend is Keras's: set ``KERAS_BACKEND`` (jax, tensorflow, torch). Training
uses every GPU or TPU core of the machine (``keras_nest.distribute.auto``), with
``batch_size`` the global batch. Running the same ``train`` command again resumes
the run from its last completed epoch.
"""

import argparse
import json
import os
import sys


def _overrides(pairs):
    """``["key=value", ...]`` to ``{key: value}``."""
    overrides = {}
    for pair in pairs or []:
        key, separator, value = pair.partition("=")
        if not separator:
            raise SystemExit(f"--set takes key=value, got {pair!r}.")
        overrides[key.strip()] = value.strip()
    return overrides


def _saved_recipe(workdir):
    from keras_nest.training import resolve_recipe

    path = os.path.join(workdir, "recipe.json")
    if not os.path.exists(path):
        raise SystemExit(f"{workdir!r} holds no training run (no recipe.json).")
    with open(path) as file:
        saved = json.load(file)
    saved.pop("augmentation", None)  # evaluation and prediction do not augment
    name = saved.pop("name")
    return resolve_recipe(recipe=name, overrides=saved)


def _model_path(workdir, checkpoint):
    path = os.path.join(workdir, f"{checkpoint}.keras")
    if not os.path.exists(path):
        raise SystemExit(f"No {checkpoint}.keras in {workdir!r}: has the run finished an epoch?")
    return path


def train(args):
    from keras_nest.training import resolve_recipe, train
    from keras_nest.training.trainer import monitored_metric

    overrides = _overrides(args.set)
    if args.precision:
        overrides["precision"] = args.precision
    recipe = resolve_recipe(args.dataset, args.model, args.recipe, overrides)
    print(f"{recipe.model} on {recipe.dataset} with recipe {recipe.name!r} in {args.workdir}")
    model, history = train(recipe, args.workdir, seed=args.seed, verbose=args.verbose)
    accuracy = history.get(monitored_metric(model), [None])[-1]
    if accuracy is not None:
        print(f"held-out accuracy after the last epoch: {accuracy:.2%}")


def evaluate(args):
    from keras_nest.training import evaluate

    recipe = _saved_recipe(args.workdir)
    metrics = evaluate(_model_path(args.workdir, args.checkpoint), recipe, verbose=args.verbose)
    print(json.dumps(metrics))


def predict(args):
    import keras
    import numpy as np

    from keras_nest.data.pipeline import load_images

    recipe = _saved_recipe(args.workdir)
    model = keras.saving.load_model(_model_path(args.workdir, args.checkpoint))
    images = load_images(
        args.images,
        recipe.image_size,
        recipe.normalization,
        recipe.crop_ratio,
        recipe.interpolation,
    )
    outputs = model.predict(images, verbose=0)
    if isinstance(outputs, (list, tuple, dict)):  # several exits: the last one decides
        outputs = list(outputs.values() if isinstance(outputs, dict) else outputs)[-1]
    probabilities = keras.ops.convert_to_numpy(outputs)
    for path, row in zip(args.images, probabilities):
        best = np.argsort(row)[::-1][: args.top]
        ranked = ", ".join(f"{int(k)} ({row[k]:.1%})" for k in best)
        print(f"{path}: {ranked}")


def models(args):
    from keras_nest.models.registry import list_models

    print("\n".join(list_models(args.pattern)))


def parser():
    main = argparse.ArgumentParser(
        prog="keras-nest", description=__doc__.split("\n")[0].split(": ", 1)[-1]
    )
    commands = main.add_subparsers(dest="command", required=True)

    run = commands.add_parser("train", help="train a model with a recipe; resumes a run")
    run.add_argument("--model", help="registered model name (default: the recipe's)")
    run.add_argument(
        "--dataset",
        help="digits, a tfds name, or a folder (default: the recipe's; with no recipe, digits)",
    )
    run.add_argument("--workdir", required=True, help="folder of the run (resumed if present)")
    run.add_argument("--recipe", help="recipe name (default: the data set's)")
    run.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a field")
    run.add_argument(
        "--precision",
        choices=("float32", "bfloat16", "float16"),
        help="mixed precision: bfloat16 or float16 compute, float32 weights (default: recipe's)",
    )
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--verbose", type=int, default=1, help="0 silent, 1 progress bar, 2 lines")
    run.set_defaults(run=train)

    for name, function, text in (
        ("evaluate", evaluate, "accuracy of a run's model on its held-out split"),
        ("predict", predict, "top classes of images with a run's model"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--workdir", required=True)
        command.add_argument("--checkpoint", default="best", choices=("best", "last"))
        command.add_argument("--verbose", type=int, default=0)
        command.set_defaults(run=function)
        if name == "predict":
            command.add_argument("images", nargs="+", help="image files")
            command.add_argument("--top", type=int, default=5)

    listing = commands.add_parser("models", help="registered model names")
    listing.add_argument("pattern", nargs="?", default="")
    listing.set_defaults(run=models)
    return main


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except ValueError as error:  # bad input: a clear message, no traceback
        print(f"keras-nest: error: {error}", file=sys.stderr)
        return 2
    return 0
