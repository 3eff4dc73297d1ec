"""Images per second of a keras_nest model against its reference implementation, same run.

    python -m benchmarks.throughput --model nest_tiny --batch 8 --backend jax \\
        [--mode infer|train|both] [--against timm|vit-pytorch|none] [--repeats 5] \\
        [--steps 10] [--precision float32|bfloat16] [--csv out.csv] [--png out.png]

Each implementation runs in its own process (so peak memory is its own):
keras_nest under the chosen Keras backend, compiled as Keras compiles by default
(``predict_on_batch`` / ``train_on_batch``: XLA on jax; on tensorflow XLA only with an
accelerator, TensorFlow's own kernels on a CPU), and the reference in PyTorch
(timm for NesT and ViT, vit-pytorch for the Compact Transformers), with the
same architecture, batch and input. Training steps are forward, backward and
an AdamW update on cross-entropy. The first call (compilation, warm-up) is
timed apart; then ``repeats`` timings of ``steps`` calls each give the median
images per second and its spread (min-max). Results are printed, appended to
the CSV and drawn as a bar chart.
"""

import argparse
import json
import os
import re
import statistics
import time

from benchmarks.report import cpu_kind, record, worker_row

FIELDS = (
    "model", "implementation", "mode", "device", "precision", "batch", "image_size",
    "images_per_second", "spread_low", "spread_high", "warmup_seconds", "peak_memory_mb", "cpu",
)  # fmt: skip
TIMM_NAMES = {
    "nest_tiny": "nest_tiny_jx",
    "nest_small": "nest_small_jx",
    "nest_base": "nest_base_jx",
}
CCT_NAME = re.compile(r"(cct|cvt|vit_lite)_(\d+)(?:_(\d+)x(\d+))?(?:_(\d+))?(_sine)?$")


def default_reference(model):
    """The reference library for a keras_nest model name (None where there is none)."""
    if CCT_NAME.match(model):
        return "vit-pytorch"
    if model in TIMM_NAMES or model.startswith("vit_"):
        return "timm"
    return None


def image_size(model):
    """The input edge a registered model is made for."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    from keras_nest.models.registry import create_model

    with keras.StatelessScope():  # shapes only: no weights are made
        return create_model(model, weights=None).input_shape[1]


def timed(step, steps, repeats):
    """``(first call seconds, [seconds of `steps` calls] * repeats)``; ``step`` blocks."""
    start = time.perf_counter()
    step()
    warmup = time.perf_counter() - start
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        timings.append(time.perf_counter() - start)
    return warmup, timings


def keras_worker(args):
    """Times keras_nest's ``args.model`` under the Keras backend of this process."""
    import keras
    import numpy as np

    from keras_nest.models.registry import create_model
    from keras_nest.training.precision import precision_scope

    size = args.image_size
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (args.batch, size, size, 3)).astype("float32")
    labels = rng.integers(0, 1000, args.batch)
    with precision_scope(args.precision):
        model = create_model(args.model, weights=None, input_shape=(size, size, 3), classes=1000)
    if args.mode == "infer":

        def step():
            keras.ops.convert_to_numpy(model.predict_on_batch(images))

    else:
        step = training_step(model, images, labels)
    return timed(step, args.steps, args.repeats), _device_keras(), _peak_memory_keras()


def training_step(model, images, labels):
    """``model`` compiled with AdamW and cross-entropy on each output (a DVT's exits, summed,
    as in training); returns a blocking call of one training step on ``images``, ``labels``."""
    import keras

    from keras_nest.training.trainer import _per_output

    labels = _per_output(model, labels)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=False)
    model.compile(keras.optimizers.AdamW(1e-4), _per_output(model, loss))
    return lambda: float(keras.tree.flatten(model.train_on_batch(images, labels))[0])


def _device_keras():
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return f"jax {jax.devices()[0].device_kind}"
    return backend


def _peak_memory_keras():
    import keras

    if keras.backend.backend() == "jax":
        import jax

        stats = jax.devices()[0].memory_stats() or {}
        if "peak_bytes_in_use" in stats:
            return stats["peak_bytes_in_use"] / 2**20
    return _peak_rss_mb()


def _peak_rss_mb():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reference_model(model, library):
    """The PyTorch reference of keras_nest's ``model`` with 1000 classes."""
    if library == "timm":
        import timm

        return timm.create_model(TIMM_NAMES.get(model, model), pretrained=False, num_classes=1000)
    family, layers, kernel, convs, size, sine = CCT_NAME.match(model).groups()
    from tests.models.compact.reference import reference_model as compact_reference

    return compact_reference(
        family,
        int(layers),
        "sine" if sine else "learnable",
        size=int(size or 32),
        kernel_size=int(kernel or 3),
        conv_layers=int(convs or 1),
        classes=1000,
    )


def torch_worker(args):
    """Times the reference implementation of ``args.model`` in PyTorch."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = reference_model(args.model, args.against).to(device)
    images = torch.rand(args.batch, 3, args.image_size, args.image_size, device=device) * 2 - 1
    labels = torch.randint(0, 1000, (args.batch,), device=device)
    autocast = torch.autocast(device, dtype=torch.bfloat16, enabled=args.precision == "bfloat16")
    sync = torch.cuda.synchronize if device == "cuda" else lambda: None
    if args.mode == "infer":
        model.eval()

        def step():
            with torch.inference_mode(), autocast:
                model(images)
            sync()

    else:
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        loss_fn = torch.nn.CrossEntropyLoss()

        def step():
            optimizer.zero_grad(set_to_none=True)
            with autocast:
                loss = loss_fn(model(images), labels)
            loss.backward()
            optimizer.step()
            sync()

    timing = timed(step, args.steps, args.repeats)
    if device == "cuda":
        memory = torch.cuda.max_memory_allocated() / 2**20
        name = f"torch {torch.cuda.get_device_name()}"
    else:
        memory, name = _peak_rss_mb(), f"torch cpu ({torch.get_num_threads()} threads)"
    return timing, name, memory


def run_worker(args, implementation):
    """Runs one implementation in a fresh process; its result row."""
    arguments = [f"--{key.replace('_', '-')}={value}" for key, value in _shared(args).items()]
    env = {"KERAS_BACKEND": args.backend} if implementation == "keras" else {}
    return worker_row("benchmarks.throughput", [implementation, *arguments], implementation, **env)


def _shared(args):
    keys = ("model", "batch", "mode", "against", "repeats", "steps", "precision", "image_size")
    return {key: getattr(args, key) for key in keys}


def worker_main(args):
    work = keras_worker if args.worker == "keras" else torch_worker
    (warmup, timings), device, memory = work(args)
    speeds = sorted(args.batch * args.steps / seconds for seconds in timings)
    name = f"keras_nest ({args.backend_name})" if args.worker == "keras" else args.against
    row = dict(
        model=args.model,
        implementation=name,
        mode=args.mode,
        device=device,
        precision=args.precision,
        batch=args.batch,
        image_size=args.image_size,
        images_per_second=round(statistics.median(speeds), 2),
        spread_low=round(speeds[0], 2),
        spread_high=round(speeds[-1], 2),
        warmup_seconds=round(warmup, 2),
        peak_memory_mb=round(memory, 1),
    )
    print(json.dumps(row))


def draw(rows, path):
    """A bar chart of images per second (median, min-max whiskers) per mode and implementation."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    labels = [f"{row['mode']}\n{row['implementation']}" for row in rows]
    medians = [row["images_per_second"] for row in rows]
    errors = [
        [m - row["spread_low"] for m, row in zip(medians, rows)],
        [row["spread_high"] - m for m, row in zip(medians, rows)],
    ]
    figure, axis = pyplot.subplots(figsize=(1.8 * len(rows) + 2, 4))
    colours = ["tab:blue" if row["implementation"].startswith("keras_nest") else "tab:orange"
               for row in rows]  # fmt: skip
    axis.bar(labels, medians, yerr=errors, capsize=4, color=colours)
    axis.set_ylabel("images per second")
    axis.set_title(f"{rows[0]['model']}, batch {rows[0]['batch']}, {rows[0]['device']}")
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="a registered keras_nest model name")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--backend", default="jax", choices=("jax", "tensorflow", "torch"))
    parser.add_argument("--mode", default="both", choices=("infer", "train", "both"))
    parser.add_argument("--against", help="timm, vit-pytorch or none (default: the model's)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="calls per timed repeat")
    parser.add_argument("--precision", default="float32", choices=("float32", "bfloat16"))
    parser.add_argument("--image-size", type=int, help="default: the model's")
    parser.add_argument("--csv", default="benchmarks/results/throughput.csv")
    parser.add_argument("--png", help="default: the CSV's folder, <model>_<device>.png")
    parser.add_argument("--worker", choices=("keras", "torch"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    if args.worker:
        args.backend_name = os.environ.get("KERAS_BACKEND", "")
        return worker_main(args)
    args.against = args.against or default_reference(args.model) or "none"
    args.image_size = args.image_size or image_size(args.model)
    rows = []
    for mode in ("infer", "train") if args.mode == "both" else (args.mode,):
        args.mode = mode
        implementations = ["keras"] + ([] if args.against == "none" else ["torch"])
        found = {name: run_worker(args, name) for name in implementations}
        rows += found.values()
        for row in found.values():
            print(
                f"{row['model']:>16} {mode:>5} {row['implementation']:>22}: "
                f"{row['images_per_second']:9.1f} img/s "
                f"({row['spread_low']:.1f}-{row['spread_high']:.1f}), first call "
                f"{row['warmup_seconds']:.1f} s, peak {row['peak_memory_mb']:.0f} MB"
            )
        if "torch" in found:
            ratio = found["keras"]["images_per_second"] / found["torch"]["images_per_second"]
            print(f"{'':>16} {mode:>5} keras_nest / {args.against}: {ratio:.2f}x")
    cpu = cpu_kind()
    for row in rows:
        row["cpu"] = cpu
    record(rows, args.csv, FIELDS)
    device = re.sub(r"\W+", "_", rows[0]["device"]).strip("_").lower()
    png = args.png or os.path.join(os.path.dirname(args.csv), f"{args.model}_{device}.png")
    draw(rows, png)
    print(f"wrote {png}")


if __name__ == "__main__":
    main()
