"""Images per second of a DVT cascade run dynamically, against the full cascade and the ideal.

    KERAS_BACKEND=jax python -m benchmarks.dynamic_inference \\
        [--models dvt_t2t_vit_12 dvt_deit_small] [--images 256] [--batch-size 64] \\
        [--granule 4] [--exit-shares 0.8 0.15] [--repeats 3] [--json PATH]

Each model has random weights, every exit's classifier kernel scaled by 20
so that confidences spread, and 1000 classes. Its thresholds are found on
the benchmark's own images with the authors' rule (``find_thresholds``) so
that ``--exit-shares`` of them leave at exits 1, 2, ... (default 80% at the
first, 15% at the second, the rest at the last). Then, on the Keras backend
in use (``KERAS_BACKEND``):

- full: ``model.predict``, every exit on every image;
- dynamic: :class:`keras_nest.DynamicPredictor` (exit ``k + 1`` on the
  images exit ``k`` left undecided only);
- ideal: each exit's time per image on full batches of ``--batch-size``
  (``predict_on_batch`` with the carried inputs), weighted by the share of
  images that reach it: skipping at no cost of padding, gathering or
  smaller batches.

Compilation is warmed up first; each figure is the median of ``--repeats``
passes over all the images, the three taking turns (so that others' load on
the machine weighs on each alike). ``dynamic / ideal`` (time) is DynamicPredictor's
overhead, the goal being at most 1.15; ``full / dynamic`` its speed-up. The
table is printed with the machine, and written as JSON (default
``benchmarks/results/dynamic_inference_<backend>.json``).
"""

import argparse
import functools
import json
import os
import statistics
import time

import keras
import numpy as np

from benchmarks.report import REPO, cpu_info
from keras_nest import DynamicPredictor
from keras_nest.dynamic import confidence, find_thresholds
from keras_nest.dynamic.predictor import chunk_plan
from keras_nest.models.registry import create_model

KERNEL_SCALE = 20.0  # random heads give near-uniform softmax; scaled, confidences spread
GOAL = 1.15  # dynamic / ideal time
VECTOR_FLAGS = {"avx2", "avx512f", "avx512_bf16", "amx_tile", "fma"}


def machine():
    """The CPU model, its core count, its vector extensions and the Keras backend's device."""
    cpu, flags = cpu_info()
    flags = sorted(flags & VECTOR_FLAGS)
    backend = keras.backend.backend()
    device = backend
    if backend == "jax":
        import jax

        device = f"jax {jax.devices()[0].device_kind}"
    return {"cpu": cpu, "cores": os.cpu_count(), "flags": flags, "backend": backend,
            "device": device}  # fmt: skip


def median_seconds(steps, repeats):
    """``{name: median seconds}`` of each ``steps[name]()``, the steps taking turns.

    Taking turns, each repeat times every step under the same load (others'
    processes on the machine come and go).
    """
    timings = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            timings[name].append(time.perf_counter() - start)
    return {name: statistics.median(seconds) for name, seconds in timings.items()}


def spread_confidences(model):
    """Scales every exit's classifier kernel, so that random weights give varied confidences."""
    for exit_model in model.exit_models:
        kernel = exit_model.get_layer("head").predictions.kernel
        kernel.assign(keras.ops.convert_to_numpy(kernel) * KERNEL_SCALE)


def exit_steps(model, images):
    """``{"exit1": step, ...}``: each exit on the batch ``images`` with the inputs it carries."""
    carried, steps = {}, {}
    for exit_model in model.exit_models:
        inputs = {"images": images, **carried}
        outputs = exit_model.predict_on_batch(inputs)  # compiles
        steps[exit_model.name] = functools.partial(exit_model.predict_on_batch, inputs)
        carried = {key: outputs[key] for key in ("features", "relations") if key in outputs}
    return steps


def benchmark(name, args):
    """One model's row: thresholds, exit counts, and the three speeds."""
    keras.utils.set_random_seed(0)
    model = create_model(name, weights=None, classes=1000)
    spread_confidences(model)
    size = model.input_shape[1]
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (args.images, size, size, 3)).astype("float32")
    exits = len(model.exit_models)
    shares = list(args.exit_shares)[: exits - 1]
    if len(shares) != exits - 1 or sum(shares) > 1:
        raise SystemExit(f"{name} has {exits} exits: give {exits - 1} --exit-shares, sum <= 1.")
    proportions = shares + [1 - sum(shares)]

    start = time.perf_counter()
    full = lambda: model.predict(images, batch_size=args.batch_size, verbose=0)  # noqa: E731
    outputs = full()
    probabilities = np.stack([keras.ops.convert_to_numpy(o) for o in outputs])
    thresholds = find_thresholds(confidence(probabilities), proportions)
    predictor = DynamicPredictor(model, thresholds, args.batch_size, args.granule)
    result = predictor.predict(images)  # compiles the shapes these images need

    batch = images[: args.batch_size]
    steps = {"full": full, "dynamic": functools.partial(predictor.predict, images)}
    steps.update(exit_steps(model, batch))
    warmup = time.perf_counter() - start

    seconds = median_seconds(steps, args.repeats)
    full_seconds, dynamic_seconds = seconds["full"], seconds["dynamic"]
    per_image = [seconds[exit_model.name] / batch.shape[0] for exit_model in model.exit_models]
    counts = result.exit_counts
    reach = [int(counts[k:].sum()) for k in range(exits)]
    ideal_seconds = sum(r * s for r, s in zip(reach, per_image))
    granules = [args.granule if m.jit_compile else None for m in model.exit_models]  # padded?
    rows = [sum(chunk_plan(r, args.batch_size, g)) for r, g in zip(reach, granules)]
    return {
        "model": name,
        "images": args.images,
        "image_size": size,
        "batch_size": args.batch_size,
        "granule": args.granule,
        "thresholds": [round(t, 6) for t in thresholds.tolist()],
        "exit_counts": counts.tolist(),
        "exit_reach": reach,
        "dynamic_rows_per_exit": rows,
        "exit_ms_per_image": [round(1000 * s, 3) for s in per_image],
        "full_images_per_second": round(args.images / full_seconds, 2),
        "dynamic_images_per_second": round(args.images / dynamic_seconds, 2),
        "ideal_images_per_second": round(args.images / ideal_seconds, 2),
        "dynamic_over_ideal": round(dynamic_seconds / ideal_seconds, 3),
        "full_over_dynamic": round(full_seconds / dynamic_seconds, 3),
        "full_gmacs": round(predictor.exit_macs[-1] / 1e9, 3),
        "dynamic_gmacs": round(result.mean_macs / 1e9, 3),
        "warmup_seconds": round(warmup, 1),
        "repeats": args.repeats,
    }


def print_table(rows, where):
    print(f"{where['cpu']} ({' '.join(where['flags'])}), {where['cores']} cores, "
          f"{where['device']}")  # fmt: skip
    print(f"{'model':>16} {'exits':>12} {'full':>8} {'dynamic':>8} {'ideal':>8} "
          f"{'dyn/ideal':>9} {'speed-up':>8} {'GMACs':>13}   (images/s; time ratios)")  # fmt: skip
    for row in rows:
        mark = "ok" if row["dynamic_over_ideal"] <= GOAL else f"over {GOAL}"
        counts = "/".join(map(str, row["exit_counts"]))
        gmacs = f"{row['dynamic_gmacs']:.2f}/{row['full_gmacs']:.2f}"
        print(
            f"{row['model']:>16} {counts:>12} {row['full_images_per_second']:8.1f} "
            f"{row['dynamic_images_per_second']:8.1f} {row['ideal_images_per_second']:8.1f} "
            f"{row['dynamic_over_ideal']:9.3f} {row['full_over_dynamic']:8.2f} {gmacs:>13}   {mark}"
        )
        print(f"{'':>16} ms per image by exit (batch {row['batch_size']}): "
              f"{row['exit_ms_per_image']}; images reaching each exit {row['exit_reach']}, "
              f"rows it ran (padded) {row['dynamic_rows_per_exit']}; warm-up "
              f"{row['warmup_seconds']} s")  # fmt: skip


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["dvt_t2t_vit_12", "dvt_deit_small"])
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--granule", type=int, default=4)
    shares = "shares leaving at exits 1, 2, ...; the last takes the rest"
    parser.add_argument("--exit-shares", type=float, nargs="+", default=[0.8, 0.15], help=shares)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="default: results/dynamic_inference_<backend>.json")
    args = parser.parse_args(argv)
    if args.images < args.batch_size:
        parser.error(f"--images ({args.images}) must be at least --batch-size ({args.batch_size}).")
    return args


def main(argv=None):
    args = parse(argv)
    where = machine()
    rows = [benchmark(name, args) for name in args.models]
    print_table(rows, where)
    path = args.json or os.path.join(
        REPO, "benchmarks", "results", f"dynamic_inference_{where['backend']}.json"
    )
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as file:
        json.dump({"machine": where, "rows": rows}, file, indent=2)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
