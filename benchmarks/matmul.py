"""Times a transformer block's dense layers alone on each backend: the ceiling they put on a model.

    python -m benchmarks.matmul [--tokens 1576] [--width 384] [--mlp-ratio 4] [--depth 12]
        [--batch 8] [--backends jax tensorflow torch] [--repeats 5] [--steps 10]

The defaults are ViT-S/16 at batch 8 (8 images of 197 tokens, width 384, 12 blocks), whose
dense layers hold 91% of its multiply-adds. Each block runs four: qkv ``(width, 3 width)``,
proj ``(width, width)``, fc1 ``(width, mlp_ratio width)`` and fc2 back. Each backend runs in
a fresh process: Keras's ``Dense`` in a one-layer model through ``predict_on_batch`` (compiled
as the models are: XLA on jax, TensorFlow's own kernels on a CPU), and PyTorch's ``linear`` under
``inference_mode`` with its default threads. It prints each shape's time and rate (GMAC/s)
and the ceiling: the images per second the model could reach if everything besides its
dense layers took no time. Rows are appended to ``benchmarks/results/matmul.csv``.
"""

import argparse
import json
import os

import numpy as np

from benchmarks.report import REPO, cpu_kind, median_ms, record, worker_row

FIELDS = ("cpu", "implementation", "shape", "ms", "gmac_per_s", "ceiling_images_per_second")


def dense_shapes(width, mlp_ratio):
    """The (inputs, outputs) of one block's qkv, proj, fc1 and fc2 layers."""
    hidden = mlp_ratio * width
    return [(width, 3 * width), (width, width), (width, hidden), (hidden, width)]


def keras_step(tokens, inputs, outputs):
    import keras

    features_in = keras.Input((inputs,))
    # Summed over the tokens so that copying the product out does not count in its time.
    summed = keras.ops.sum(keras.layers.Dense(outputs)(features_in), axis=0)
    model = keras.Model(features_in, summed)
    # On the device already, as a layer's inputs are inside a model.
    features = np.random.default_rng(0).random((tokens, inputs), dtype="float32")
    features = keras.ops.convert_to_tensor(features)
    return lambda: keras.ops.convert_to_numpy(model.predict_on_batch(features))


def torch_step(tokens, inputs, outputs):
    import torch

    features, kernel = torch.rand(tokens, inputs), torch.rand(outputs, inputs)
    bias = torch.rand(outputs)

    def step():
        with torch.inference_mode():
            torch.nn.functional.linear(features, kernel, bias)

    return step


def worker_main(args):
    """Prints one JSON list: the milliseconds of each of the block's dense shapes."""
    make_step = torch_step if args.worker == "torch" else keras_step
    times = [
        median_ms(make_step(args.tokens, inputs, outputs), args.steps, args.repeats)
        for inputs, outputs in dense_shapes(args.width, args.mlp_ratio)
    ]
    print(json.dumps(times))


def rows_for(name, times, args):
    """One row per shape and a ``block`` row whose ceiling is ``batch / (depth * block ms)``."""
    cpu, rows, shapes = cpu_kind(), [], dense_shapes(args.width, args.mlp_ratio)
    macs = [args.tokens * inputs * outputs for inputs, outputs in shapes]
    for (inputs, outputs), count, ms in zip(shapes, macs, times):
        rows.append(dict(cpu=cpu, implementation=name, shape=f"{args.tokens}x{inputs}x{outputs}",
                         ms=round(ms, 3), gmac_per_s=round(count / ms / 1e6, 1),
                         ceiling_images_per_second=""))  # fmt: skip
    block_ms = sum(times)
    rows.append(dict(cpu=cpu, implementation=name, shape="block", ms=round(block_ms, 3),
                     gmac_per_s=round(sum(macs) / block_ms / 1e6, 1),
                     ceiling_images_per_second=round(args.batch * 1000 / (args.depth * block_ms), 1)))  # fmt: skip
    return rows


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=8 * 197, help="rows: batch x tokens")
    parser.add_argument("--width", type=int, default=384)
    parser.add_argument("--mlp-ratio", type=int, default=4)
    parser.add_argument("--depth", type=int, default=12)
    parser.add_argument("--batch", type=int, default=8, help="images in --tokens, for the ceiling")
    parser.add_argument("--backends", nargs="+", default=["jax", "tensorflow", "torch"],
                        choices=("jax", "tensorflow", "torch"))  # fmt: skip
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--csv", default=os.path.join(REPO, "benchmarks", "results", "matmul.csv"))
    parser.add_argument("--worker", choices=("keras", "torch"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    if args.worker:
        return worker_main(args)
    shared = [f"--{key}={getattr(args, key.replace('-', '_'))}"
              for key in ("tokens", "width", "mlp-ratio", "repeats", "steps")]  # fmt: skip
    rows = []
    for backend in args.backends:
        worker = "torch" if backend == "torch" else "keras"
        env = {} if backend == "torch" else {"KERAS_BACKEND": backend}
        times = worker_row("benchmarks.matmul", [worker, *shared], backend, **env)
        rows += rows_for(backend, times, args)
    print(f"{'backend':<11} {'shape':<16} {'ms':>8} {'GMAC/s':>8} {'ceiling img/s':>14}")
    for row in rows:
        print(f"{row['implementation']:<11} {row['shape']:<16} {row['ms']:>8} "
              f"{row['gmac_per_s']:>8} {row['ceiling_images_per_second']:>14}")  # fmt: skip
    record(rows, args.csv, FIELDS)


if __name__ == "__main__":
    main()
