"""Bfloat16 throughput and model FLOPs utilisation (MFU) of four models on one accelerator.

    benchmarks/accelerator.sh [--out-dir benchmarks/results] [--budget-seconds 480] \\
        [--peak-tflops P] [--models nest_base ...] [--batch B] [--dry-run]

The script runs ``python -m benchmarks.accelerator`` with KERAS_BACKEND=jax
unless it is set. For NesT-B, ViT-B/16, CCT-14/7x2 and DVT-DeiT-S, built
with random weights under the ``mixed_bfloat16`` policy, it times a
training step (``train_on_batch``: forward, backward and an AdamW update on
cross-entropy) and inference (``predict_on_batch``) on a batch kept on the
device. A DVT runs its whole cascade, every exit (training: one loss per
exit). Training comes first: its traced step builds every layer, where a
first ``predict_on_batch`` would run the model eagerly over any layer left
unbuilt. The first call (compilation) is timed apart, then ``--repeats``
timings of up to ``--steps`` calls give the median images per second and
its spread (min-max).

MFU is the model FLOPs achieved per second over the chip's dense bf16 peak:
``images/s * FLOPs per image / peak``, a forward pass costing two FLOPs per
multiply-add of :func:`keras_nest.utils.count_flops` and a training step
three forward passes. The peak is looked up in :data:`PEAK_TFLOPS` by the
device's name; ``--peak-tflops`` gives it for any other chip. All of it
stays within ``--budget-seconds``: each model and mode still to run gets an
equal share of the time left, and fewer timed calls where compiling took
most of its share. Rows go to ``<out-dir>/accelerator_<device>.csv`` as they
come (a later failure keeps them), then a bar chart to the ``.png`` beside it.

``--dry-run`` runs every code path on the CPU in under a minute: tiny
versions of the four models (one or two layers of width 16, 32x32 images, 10
classes), batch 2, one warm-up and one timed call, float32, XLA's cheapest
compilation, against a stated fake peak of :data:`DRY_PEAK_TFLOPS`. Its
numbers mean nothing; it keeps the script from rotting while no accelerator
is at hand.
"""

import argparse
import csv
import gc
import os
import re
import statistics
import time

from benchmarks.report import REPO
from benchmarks.throughput import timed, training_step

# Dense bf16 peak TFLOP/s (no sparsity) by a pattern of the device name; the first match wins.
PEAK_TFLOPS = (
    (r"H[12]00 NVL", 835),
    (r"H100.*PCIe", 756),
    (r"H100", 989),  # SXM ("NVIDIA H100 80GB HBM3")
    (r"H200", 989),
    (r"A100", 312),
    (r"\bL4\b", 121),
    (r"TPU v4", 275),
    (r"TPU v5 ?(lite|e)", 197),
    (r"TPU v5", 459),  # v5p
    (r"TPU v6", 918),  # v6e ("TPU v6 lite")
)
# {model: {mode: batch}} on an accelerator; a DVT batch runs through all three exits.
MODELS = {
    "nest_base": {"infer": 256, "train": 128},
    "vit_base_patch16_224": {"infer": 256, "train": 128},
    "cct_14_7x2_224": {"infer": 256, "train": 128},
    "dvt_deit_small": {"infer": 256, "train": 128},
}
MODES = ("train", "infer")
PRECISION = "bfloat16"
# --dry-run: constructor options that keep each model's kind of layers and make it tiny,
# with one width and MLP ratio throughout (JAX compiles an initialiser once per shape).
DRY_PEAK_TFLOPS = 1.0
DRY_SIZE, DRY_BATCH, DRY_CLASSES, DRY_PRECISION = 32, 2, 10, "float32"
DRY_OPTIONS = {
    "nest_base": dict(depths=(1, 1), embed_dims=16, num_heads=2, mlp_ratio=2.0),
    "vit_base_patch16_224": dict(num_layers=1, embed_dim=16, num_heads=2, mlp_ratio=2.0),
    "cct_14_7x2_224": dict(num_layers=1, embed_dim=16, num_heads=2, mlp_ratio=2.0),
    "dvt_deit_small": dict(
        token_grids=(2, 3), depth=1, embed_dim=16, num_heads=2, mlp_ratio=2.0, reuse_dim=8,
        reuse_hidden_dim=8,
    ),
}  # fmt: skip
DRY_ENVIRONMENT = {
    "JAX_PLATFORMS": "cpu",
    "XLA_FLAGS": "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true",
}
FIELDS = (
    "model", "mode", "device", "precision", "batch", "image_size", "steps", "repeats",
    "images_per_second", "spread_low", "spread_high", "warmup_seconds",
    "gflops_per_image", "achieved_tflops", "peak_tflops", "mfu",
)  # fmt: skip


def device_name():
    """The name of the device Keras computes on (on JAX, ``jax.devices()[0].device_kind``)."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.devices()[0].device_kind
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return tf.config.experimental.get_device_details(gpus[0])["device_name"] if gpus else "cpu"


def peak_tflops(device):
    """The dense bf16 peak TFLOP/s of ``device`` (a name), from :data:`PEAK_TFLOPS`.

    Raises:
        SystemExit: for a device the table does not know.
    """
    for pattern, peak in PEAK_TFLOPS:
        if re.search(pattern, device):
            return peak
    raise SystemExit(
        f"No bf16 peak is known for device {device!r}: give the chip's dense bf16 TFLOP/s "
        "with --peak-tflops (or check the script on a CPU with --dry-run)."
    )


def build(name, dry_run):
    """Model ``name`` with random weights, in bf16 (float32 and tiny with ``dry_run``)."""
    from keras_nest.models.registry import create_model
    from keras_nest.training.precision import precision_scope

    options = {}
    if dry_run:
        options = dict(DRY_OPTIONS[name], input_shape=(DRY_SIZE, DRY_SIZE, 3), classes=DRY_CLASSES)
    with precision_scope(DRY_PRECISION if dry_run else PRECISION):
        return create_model(name, weights=None, **options)


def forward_flops(model):
    """FLOPs of one image's forward pass (every exit of a DVT): two per multiply-add."""
    from keras_nest.utils import count_flops

    return 2 * count_flops(model).macs


def step_function(model, mode, batch):
    """A blocking call of one inference or training step of ``model`` on a random batch."""
    import keras
    import numpy as np

    size, classes = model.input_shape[1], keras.tree.flatten(model.output)[-1].shape[-1]
    rng = np.random.default_rng(0)
    images = keras.ops.convert_to_tensor(rng.uniform(-1, 1, (batch, size, size, 3)), "float32")
    if mode == "infer":
        return lambda: model.predict_on_batch(images)  # numpy arrays: it blocks
    return training_step(
        model, images, keras.ops.convert_to_tensor(rng.integers(0, classes, batch))
    )


def measure(step, seconds, max_steps, repeats):
    """``(warm-up seconds, steps, [seconds of `steps` calls] * repeats)`` in about ``seconds``.

    The warm-up and one timed call come first; what is left of ``seconds``
    sets how many calls each of the ``repeats`` timings gets (at most
    ``max_steps``), or that one call stands alone where no more fit.
    """
    start = time.perf_counter()
    warmup, (one,) = timed(step, 1, 1)
    left = seconds - (time.perf_counter() - start) - one  # timed() calls once more to warm up
    steps = min(max_steps, int(left / (one * repeats)))
    if steps < 1 or steps * repeats == 1:
        return warmup, 1, [one]
    return warmup, steps, timed(step, steps, repeats)[1]


def _rounded(value):
    return float(f"{value:.4g}")


def result_row(name, mode, batch, image_size, timing, flops, peak, device, precision):
    """One CSV row from :func:`measure`'s ``timing``, forward ``flops`` per image and ``peak``."""
    warmup, steps, timings = timing
    speeds = sorted(batch * steps / seconds for seconds in timings)
    median = statistics.median(speeds)
    step_flops = flops * (3 if mode == "train" else 1)
    achieved = median * step_flops / 1e12
    return dict(
        model=name,
        mode=mode,
        device=device,
        precision=precision,
        batch=batch,
        image_size=image_size,
        steps=steps,
        repeats=len(timings),
        images_per_second=_rounded(median),
        spread_low=_rounded(speeds[0]),
        spread_high=_rounded(speeds[-1]),
        warmup_seconds=_rounded(warmup),
        gflops_per_image=_rounded(step_flops / 1e9),
        achieved_tflops=_rounded(achieved),
        peak_tflops=peak,
        mfu=_rounded(achieved / peak),
    )


def run(args, device, peak, deadline, csv_path):
    """Times every model and mode of ``args`` by ``deadline``; the rows, also written to CSV."""
    import keras

    rows, slots = [], len(args.models) * len(MODES)
    precision = DRY_PRECISION if args.dry_run else PRECISION
    for name in args.models:
        slot_start = time.perf_counter()
        model = build(name, args.dry_run)
        flops = forward_flops(model)
        for mode in MODES:
            share = (deadline - slot_start) / slots
            batch = DRY_BATCH if args.dry_run else args.batch or MODELS[name][mode]
            step = step_function(model, mode, batch)
            timing = measure(step, share - (time.perf_counter() - slot_start), *args.calls)
            row = result_row(
                name, mode, batch, model.input_shape[1], timing, flops, peak, device, precision
            )
            rows.append(row)
            write_csv(rows, csv_path)
            print(
                f"{name:>20} {mode:>5}, batch {batch:>3}: {row['images_per_second']:9.1f} "
                f"img/s, {row['achieved_tflops']:7.4g} TFLOP/s, MFU {100 * row['mfu']:5.1f}% "
                f"(first call {timing[0]:.1f} s, then {len(timing[2])} x {timing[1]} calls)",
                flush=True,
            )
            slots -= 1
            slot_start = time.perf_counter()
        del model, step
        keras.backend.clear_session()
        gc.collect()
    return rows


def write_csv(rows, path):
    """Writes ``rows`` to ``path``, replacing it."""
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def draw(rows, path):
    """Images per second (median, min-max whiskers) and MFU per model, inference and training."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    models = list(dict.fromkeys(row["model"] for row in rows))
    figure, axes = pyplot.subplots(1, 2, figsize=(4 + 2.4 * len(models), 4.5))
    for offset, mode in ((-0.2, "infer"), (0.2, "train")):
        found = {row["model"]: row for row in rows if row["mode"] == mode}
        picked = [found[name] for name in models]
        where = [index + offset for index in range(len(models))]
        speeds = [row["images_per_second"] for row in picked]
        errors = [
            [speed - row["spread_low"] for speed, row in zip(speeds, picked)],
            [row["spread_high"] - speed for speed, row in zip(speeds, picked)],
        ]
        axes[0].bar(where, speeds, 0.4, yerr=errors, capsize=3, label=mode)
        axes[1].bar(where, [100 * row["mfu"] for row in picked], 0.4, label=mode)
    labels = ("images per second", f"MFU, % of {rows[0]['peak_tflops']} TFLOP/s")
    for axis, label in zip(axes, labels):
        axis.set_xticks(range(len(models)), models, rotation=12)
        axis.set_ylabel(label)
        axis.legend()
    figure.suptitle(f"{rows[0]['device']}, {rows[0]['precision']}")
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)


def _positive(kind):
    """An argparse type: ``kind`` (int or float) above zero."""

    def convert(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
        return value

    convert.__name__ = kind.__name__
    return convert


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--out-dir", default=os.path.join(REPO, "benchmarks", "results"))
    parser.add_argument("--budget-seconds", type=_positive(float), default=480)
    parser.add_argument("--peak-tflops", type=_positive(float), help="the chip's dense bf16 peak")
    parser.add_argument("--batch", type=_positive(int), help="one batch for every model and mode")
    parser.add_argument(
        "--steps", type=_positive(int), default=20, help="most calls per timed repeat"
    )
    parser.add_argument("--repeats", type=_positive(int), default=3)
    parser.add_argument("--dry-run", action="store_true", help="tiny models on the CPU")
    args = parser.parse_args(argv)
    args.calls = (1, 1) if args.dry_run else (args.steps, args.repeats)
    return args


def main(argv=None):
    deadline = time.perf_counter()
    args = parse(argv)
    deadline += args.budget_seconds
    if args.dry_run:  # before JAX is imported
        for key, value in DRY_ENVIRONMENT.items():
            os.environ.setdefault(key, value)
    device = device_name()
    if args.dry_run:
        device += " (dry run)"
    peak = args.peak_tflops or (DRY_PEAK_TFLOPS if args.dry_run else peak_tflops(device))
    fake = ", a fake peak for the dry run" if args.dry_run and not args.peak_tflops else ""
    print(f"{device}: {peak} TFLOP/s bf16 dense{fake}", flush=True)
    os.makedirs(args.out_dir, exist_ok=True)
    slug = re.sub(r"\W+", "_", device).strip("_").lower()
    stem = os.path.join(args.out_dir, f"accelerator_{slug}")
    rows = run(args, device, peak, deadline, stem + ".csv")
    draw(rows, stem + ".png")
    spent = args.budget_seconds - (deadline - time.perf_counter())
    print(f"{spent:.0f} s of a {args.budget_seconds:.0f} s budget; wrote {stem}.csv and {stem}.png")


if __name__ == "__main__":
    main()
