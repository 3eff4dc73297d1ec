"""Times the ways keras_nest can compute attention and GELU, on the Keras backend in use.

    KERAS_BACKEND=jax python -m benchmarks.kernels [--sequences 128] [--tokens 196]
        [--width 96] [--heads 3] [--repeats 5] [--steps 5]

The defaults are NesT-T's first level at batch 8 (128 blocks of 196 tokens,
width 96, 3 heads). For each way the same layer (``MultiHeadSelfAttention``
or ``Mlp``) runs compiled through ``predict_on_batch`` (inference) and
``train_on_batch`` (forward, backward and an SGD update on a squared error):

- attention ``fused``: ``keras.ops.dot_product_attention``; ``deferred``:
  matmuls, normalised after the value product (``deferred_softmax_attention``);
  ``softmax``: matmuls, normalised before it (``softmax_attention``);
- exact GELU as ``erf`` (``x/2 * (1 + erf(x / sqrt 2))``) and as ``erfc``
  (``ops.gelu(approximate=False)``).

``keras_nest.layers.compute_paths`` picks one way per backend, device and mode;
this benchmark is the measurement behind those choices.
"""

import argparse

import keras
import numpy as np
from keras import ops

from benchmarks.report import median_ms
from keras_nest.layers import Mlp, MultiHeadSelfAttention, compute_paths


def time_layer(make_layer, inputs, args):
    """(inference ms, training step ms) of a one-layer model."""
    layer_input = keras.Input(inputs.shape[1:])
    model = keras.Model(layer_input, make_layer()(layer_input))
    model.compile(keras.optimizers.SGD(1e-3), "mse")
    targets = np.zeros_like(inputs)
    infer = median_ms(lambda: ops.convert_to_numpy(model.predict_on_batch(inputs)), args.steps,
                      args.repeats)  # fmt: skip
    train = median_ms(lambda: float(model.train_on_batch(inputs, targets)), args.steps,
                      args.repeats)  # fmt: skip
    return infer, train


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sequences", type=int, default=128)
    parser.add_argument("--tokens", type=int, default=196)
    parser.add_argument("--width", type=int, default=96)
    parser.add_argument("--heads", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    shape = (args.sequences, args.tokens, args.width)
    inputs = rng.standard_normal(shape).astype("float32")
    print(f"{keras.backend.backend()}, input {shape}, {args.heads} heads: median ms per call")
    chosen = compute_paths.attention_path
    for path in compute_paths.ATTENTION_PATHS:
        compute_paths.attention_path = lambda training, path=path: path
        infer, train = time_layer(lambda: MultiHeadSelfAttention(args.heads), inputs, args)
        marks = [mode for mode in ("infer", "train") if chosen(mode == "train") == path]
        mark = f" (chosen to {' and '.join(marks)})" if marks else ""
        print(f"attention {path:>9}: infer {infer:8.1f}  train {train:8.1f}{mark}")
    compute_paths.attention_path = chosen
    chosen = compute_paths.gelu
    erf = lambda x, approximate: 0.5 * x * (1 + ops.erf(x * 0.5**0.5))  # noqa: E731
    erfc = lambda x, approximate: ops.gelu(x, approximate=False)  # noqa: E731
    for name, gelu in (("erf", erf), ("erfc", erfc)):
        compute_paths.gelu = gelu
        infer, train = time_layer(lambda: Mlp(4 * args.width), inputs, args)
        print(f"mlp, gelu {name:>9}: infer {infer:8.1f}  train {train:8.1f}")
    compute_paths.gelu = chosen


if __name__ == "__main__":
    main()
