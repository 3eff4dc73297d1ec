"""``keras-nest`` / ``python -m keras_nest``: train, evaluate, predict, list models.

    keras-nest train --dataset digits --workdir runs/digits
    keras-nest train --model nest_tiny_cifar --dataset cifar10 --workdir runs/x \\
        [--recipe nest_cifar10] [--set epochs=10 --set batch_size=64] [--precision bfloat16]
    keras-nest evaluate --workdir runs/x [--checkpoint last]
    keras-nest predict --workdir runs/x image.jpg ...
    keras-nest explain --workdir runs/x image.jpg ... [--method gradcat|gradcam|rollout] \
        [--class K] [--out explained.png]
    keras-nest export (--workdir runs/x | --model nest_tiny [--weights W]) \
        [--format saved_model|onnx|litert] [--quantize dynamic_int8] OUT
    keras-nest models [pattern]

The backend is Keras's: set ``KERAS_BACKEND`` (jax, tensorflow, torch). Training
uses every GPU or TPU core of the machine (``keras_nest.distribute.auto``), with
``batch_size`` the global batch. Running the same ``train`` command again resumes
the run from its last completed epoch.

The command imports Keras and TensorFlow only for the subcommands that need
them (``models`` and ``--help`` answer at once), and keeps TensorFlow's
start-up notices off the terminal unless ``TF_CPP_MIN_LOG_LEVEL`` is set.
"""

import argparse
import contextlib
import json
import os
import sys


def _overrides(pairs):
    """``["key=value", ...]`` to ``{key: value}``."""
    overrides = {}
    for pair in pairs or []:
        key, separator, value = pair.partition("=")
        if not separator:
            raise ValueError(f"--set takes key=value, got {pair!r}.")
        overrides[key.strip()] = value.strip()
    return overrides


def _saved_recipe(workdir):
    """The recipe of the run in ``workdir``, without its augmentation."""
    from keras_nest.training import resolve_recipe

    path = os.path.join(workdir, "recipe.json")
    if not os.path.exists(path):
        raise ValueError(f"{workdir!r} holds no training run (no recipe.json).")
    with open(path) as file:
        saved = json.load(file)
    saved.pop("augmentation", None)  # evaluation and prediction do not augment
    name = saved.pop("name")
    return resolve_recipe(recipe=name, overrides=saved)


def _model_path(workdir, checkpoint):
    """The path of ``best.keras`` or ``last.keras`` in ``workdir``."""
    path = os.path.join(workdir, f"{checkpoint}.keras")
    if not os.path.exists(path):
        raise ValueError(f"No {checkpoint}.keras in {workdir!r}: has the run finished an epoch?")
    return path


def _result(workdir):
    """The held-out accuracy of the run in ``workdir``: after its last epoch, and its best."""
    from keras_nest.training.callbacks import BEST_MODEL, read_state

    state = read_state(workdir)
    if state is None or state.get("last") is None:
        return "no held-out accuracy logged"
    best = os.path.join(workdir, BEST_MODEL)
    return (
        f"held-out accuracy after epoch {state['epoch']} of {state['epochs']}: "
        f"{state['last']:.2%} (best: {state['best']:.2%}, {best})"
    )


def train(args):
    """Trains (or resumes) a run, then prints its held-out accuracy."""
    from keras_nest.training import resolve_recipe, train

    overrides = _overrides(args.set)
    if args.precision:
        overrides["precision"] = args.precision
    recipe = resolve_recipe(args.dataset, args.model, args.recipe, overrides)
    print(f"{recipe.model} on {recipe.dataset} with recipe {recipe.name!r} in {args.workdir}")
    train(recipe, args.workdir, seed=args.seed, verbose=args.verbose)
    print(_result(args.workdir))


def evaluate(args):
    """Prints the metrics of a run's checkpoint on its held-out split."""
    from keras_nest.training import evaluate

    recipe = _saved_recipe(args.workdir)
    path = _model_path(args.workdir, args.checkpoint)
    metrics = evaluate(path, recipe, verbose=args.verbose)
    print(f"{path} on {recipe.dataset}, split {recipe.eval_split!r}:")
    width = max(map(len, metrics))
    for name, value in metrics.items():
        shown = f"{value:.2%}" if name.endswith("accuracy") else f"{value:.4f}"
        print(f"  {name:<{width}}  {shown}")
    from keras_nest import presets

    if presets.PRESETS[recipe.model].family == "dvt":
        _print_operating_points(path, recipe, args.workdir)


def _print_operating_points(path, recipe, workdir):
    """A DVT run's exits and its best operating point per budget."""
    from keras_nest.training.calibration import POINTS_FILE, calibrate_run

    calibration = calibrate_run(path, recipe, workdir)
    print("exits (every image through every exit):")
    for index, (macs, accuracy) in enumerate(
        zip(calibration.exit_macs, calibration.anytime_accuracy), start=1
    ):
        print(f"  exit {index}  {macs / 1e9:.4g} GMACs  {accuracy:.2%}")
    saved = f"{workdir}/{POINTS_FILE}" + (f", {calibration.plot}" if calibration.plot else "")
    print(f"best operating points (thresholds found on this split; all 59 in {saved}):")
    print("  GMACs      accuracy  images per exit  thresholds")
    for point in calibration.best:
        shares = " / ".join(f"{share:.0%}" for share in point.exit_shares)
        thresholds = ", ".join(f"{value:.3f}" for value in point.thresholds)
        print(f"  {point.gmacs:<9.4g}  {point.accuracy:7.2%}  {shares:<15}  {thresholds}")


def _recipe_images(paths, recipe):
    """Image files prepared as the run's recipe prepares them for evaluation."""
    from keras_nest.data.pipeline import load_images

    return load_images(
        paths, recipe.image_size, recipe.normalization, recipe.crop_ratio, recipe.interpolation
    )


def predict(args):
    """Prints the top classes of each image by a run's checkpoint."""
    import keras
    import numpy as np

    recipe = _saved_recipe(args.workdir)
    model = keras.saving.load_model(_model_path(args.workdir, args.checkpoint))
    images = _recipe_images(args.images, recipe)
    outputs = model.predict(images, verbose=0)
    if isinstance(outputs, (list, tuple, dict)):  # several exits: the last one decides
        outputs = list(outputs.values() if isinstance(outputs, dict) else outputs)[-1]
    probabilities = keras.ops.convert_to_numpy(outputs)
    for path, row in zip(args.images, probabilities):
        best = np.argsort(row)[::-1][: args.top]
        ranked = ", ".join(f"{int(k)} ({row[k]:.1%})" for k in best)
        print(f"{path}: {ranked}")


def explain(args):
    """Writes a PNG of what a run's model looks at in each image; prints GradCAT's paths."""
    import keras
    import numpy as np

    from keras_nest import explain as explaining
    from keras_nest.preprocessing.normalization import normalization_constants

    recipe = _saved_recipe(args.workdir)
    model = keras.saving.load_model(_model_path(args.workdir, args.checkpoint))
    method = args.method or (explaining.fitting_methods(model) or ("gradcat",))[0]
    images = _recipe_images(args.images, recipe)
    if method == "rollout":
        if args.class_index is not None:
            raise ValueError("rollout is class-agnostic: --class applies to gradcat and gradcam.")
        result = explaining.rollout(model, images)
    else:
        explainer = explaining.gradcat if method == "gradcat" else explaining.gradcam
        result = explainer(model, images, class_index=args.class_index)
    mean, std = normalization_constants(recipe.normalization)
    out = args.out or os.path.join(args.workdir, f"explained_{method}.png")
    explaining.plot(images * np.asarray(std) + np.asarray(mean), result, out)
    leaves = result.path_boxes()[:, -1] if result.paths is not None else None
    for index, path in enumerate(args.images):
        line = f"{path}: class {int(result.classes[index])}"
        if leaves is not None:
            top, left, bottom, right = leaves[index]
            line += f", leaf block {int(result.paths[index, -1])} (rows {top}-{bottom}, "
            line += f"columns {left}-{right} of the {recipe.image_size}px input)"
        print(line)
    print(f"{method} written to {out}")


def export(args):
    """Writes a run's model, or a named model, in a serving format."""
    import keras

    from keras_nest import export as exporting
    from keras_nest.models.registry import create_model

    if (args.workdir is None) == (args.model is None):
        raise ValueError("export takes one of --workdir (a training run) or --model (a name).")
    if args.workdir is not None:
        if args.weights is not None:
            raise ValueError("--weights goes with --model; a run exports its own checkpoint.")
        recipe = _saved_recipe(args.workdir)
        model = keras.saving.load_model(_model_path(args.workdir, args.checkpoint), compile=False)
        serving = exporting.serving_config_for_recipe(model, recipe)
    else:
        model = create_model(args.model, weights=args.weights)
        serving = exporting.serving_config(model)
    if args.quantize and args.format != "litert":
        raise ValueError("--quantize applies to --format litert.")
    if args.format == "saved_model":
        exporting.export_saved_model(model, args.out, serving, thresholds=args.thresholds)
    elif args.thresholds:
        raise ValueError("--thresholds apply to --format saved_model.")
    elif args.format == "onnx":
        exporting.export_onnx(model, args.out)
    else:
        exporting.export_litert(model, args.out, quantize=args.quantize)
    print(f"wrote {args.out} ({args.format}, {model.name})")


def models(args):
    """Prints the registered model names containing the pattern."""
    from keras_nest import presets  # plain data: no Keras to import

    print("\n".join(presets.names(args.pattern)))


def parser():
    """The command line's ``argparse`` parser."""
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

    why = commands.add_parser("explain", help="draw what a run's model looks at in images")
    why.add_argument("images", nargs="+", help="image files")
    why.add_argument("--workdir", required=True)
    why.add_argument("--checkpoint", default="best", choices=("best", "last"))
    why.add_argument(
        "--method",
        choices=("gradcat", "gradcam", "rollout"),
        help="default: gradcat for NesT, rollout for the token models",
    )
    why.add_argument(
        "--class", dest="class_index", type=int, help="class to explain (default: predicted)"
    )
    why.add_argument("--out", help="PNG to write (default: WORKDIR/explained_METHOD.png)")
    why.set_defaults(run=explain)

    out = commands.add_parser("export", help="write a run's or a named model for serving")
    out.add_argument("out", help="where to write (a folder for saved_model, else a file)")
    out.add_argument("--workdir", help="a training run, whose checkpoint and recipe to export")
    out.add_argument("--checkpoint", default="best", choices=("best", "last"))
    out.add_argument("--model", help="a registered model name (instead of --workdir)")
    out.add_argument("--weights", help="with --model: a weights name, path or URL")
    out.add_argument("--format", default="saved_model", choices=("saved_model", "onnx", "litert"))
    out.add_argument("--quantize", choices=("dynamic_int8",), help="litert: int8 weights")
    out.add_argument(
        "--thresholds", type=float, nargs="+", help="DVT: the exit thresholds the SavedModel applies"
    )
    out.set_defaults(run=export)

    listing = commands.add_parser("models", help="registered model names")
    listing.add_argument("pattern", nargs="?", default="")
    listing.set_defaults(run=models)
    return main


@contextlib.contextmanager
def _stderr_closed():
    """Sends what is written to file descriptor 2 (C++ logs included) to the null device."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _import_library():
    """Imports TensorFlow (every data pipeline uses it) without its start-up notices, then
    ``keras_nest.models``, which registers the layers and models that ``load_model`` needs.

    TensorFlow prints oneDNN, CUDA-driver and CPU-feature notices at import,
    some before its log level applies, and XLA a failed ``cuInit`` on
    machines without a GPU. They stay where ``TF_CPP_MIN_LOG_LEVEL`` is set:
    the user asked for them.
    """
    if "TF_CPP_MIN_LOG_LEVEL" not in os.environ and "tensorflow" not in sys.modules:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        with _stderr_closed(), contextlib.suppress(ImportError):  # the next import says why
            import tensorflow  # noqa: F401
    import keras_nest.models  # noqa: F401


def main(argv=None):
    """Runs the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status.

    A bad argument, a missing file or a failed download is one line on
    stderr and status 2; an interruption one line and status 130.
    """
    args = parser().parse_args(argv)
    try:
        if args.command != "models":
            _import_library()
        args.run(args)
    except (ValueError, OSError) as error:  # bad input, files, network: no traceback
        print(f"keras-nest: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        resume = " (the same command resumes the run)" if args.command == "train" else ""
        print(f"keras-nest: interrupted{resume}", file=sys.stderr)
        return 130
    return 0
