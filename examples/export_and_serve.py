"""
Title: Export a vision transformer for serving: SavedModel, ONNX and LiteRT
Author: keras_nest team
Date created: 2026/12/04
Last modified: 2026/12/07
Description: Train a small CCT, export it three ways and check each export against Keras.
Accelerator: None
Full run: python examples/export_and_serve.py  (30 epochs, 3 min on 2 CPU cores; needs onnxruntime, tf2onnx, ai-edge-litert)
Reduced run: KERAS_NEST_EXAMPLE_SIZE=reduced python examples/export_and_serve.py  (1 layer, 2 epochs)
"""

"""
## Introduction

A trained model leaves Keras to be served: by TensorFlow Serving, by any runtime that reads
ONNX, or on a phone. `keras_nest.export` writes the three formats:

- a **SavedModel** with an image signature: it takes a batch of uint8 images of any size,
  resizes, crops and normalises them as evaluation does, and returns probabilities and the
  top classes, so a server needs neither Keras nor keras_nest;
- an **ONNX** file of the model's forward pass, for onnxruntime and other ONNX runtimes;
- a **LiteRT** (TensorFlow Lite) file, in float32 or with its weights quantized to int8, for
  mobile and embedded devices.

This example trains a small [Compact Convolutional Transformer](https://arxiv.org/abs/2104.05704)
(CCT, Hassani et al., 2021) on scikit-learn's handwritten digits, which ship with keras_nest,
exports it in each format, runs every export as its runtime would, and compares the
predictions with Keras's, together with the file sizes.

Besides keras_nest with TensorFlow, it needs the exporters and runtimes:
`pip install "keras-nest[tensorflow,data]" onnxruntime tf2onnx ai-edge-litert matplotlib`.

## Setup

LiteRT converts TensorFlow graphs, so this example runs on the TensorFlow backend, set before
Keras is imported. (SavedModel and ONNX export work from JAX too.)
"""

import os

os.environ["KERAS_BACKEND"] = "tensorflow"

import keras
import matplotlib.pyplot as plt
import numpy as np
import onnxruntime
import tensorflow as tf

import keras_nest
from keras_nest.data import load_digits
from keras_nest.export import (
    export_litert,
    export_onnx,
    export_saved_model,
    run_litert,
    serving_config,
)
from keras_nest.training import WarmupCosineDecay

REDUCED = os.environ.get("KERAS_NEST_EXAMPLE_SIZE") == "reduced"
NUM_LAYERS = 1 if REDUCED else 2
EPOCHS = 2 if REDUCED else 30
IMAGE_SIZE = 16
BATCH_SIZE = 32
WORKDIR = "runs/examples/export_and_serve"
os.makedirs(WORKDIR, exist_ok=True)
keras.utils.set_random_seed(0)

"""
## A model to serve

The digits are 8x8 scans; `load_digits` enlarges them to 16x16 by pixel repetition, as colour
images in [0, 1]. The model is CCT-2/3x2, the authors' smallest (two transformer layers of
width 128, a tokenizer of two 3x3 convolutions), built at 16x16 for 10 classes; the reduced
run keeps one layer. AdamW with a warm-up and a cosine decay trains it.
"""

(x_train, y_train), (x_test, y_test) = load_digits(image_size=IMAGE_SIZE)
model = keras_nest.CCT(
    num_layers=NUM_LAYERS,
    num_heads=2,
    mlp_ratio=1,
    embed_dim=128,
    kernel_size=3,
    conv_layers=2,
    classes=10,
    input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3),
    name="cct_digits",
)
steps = EPOCHS * (len(x_train) // BATCH_SIZE)
schedule = WarmupCosineDecay(3e-3, steps, warmup_steps=steps // 10)
model.compile(
    keras_nest.training.AdamW(schedule, weight_decay=0.05),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=EPOCHS, verbose=2)
keras_probabilities = model.predict(x_test, verbose=0)
keras_path = os.path.join(WORKDIR, "cct_digits.keras")
model.save(keras_path)
print(f"{model.name}: {model.count_params():,} parameters")

"""
## SavedModel, served from uint8 images

The serving signature prepares images itself, so it must know how training prepared them:
`serving_config` says so. Our pixels are in [0, 1] ("unit" normalisation) and the 8x8 scans
were enlarged by pixel repetition, which is a "nearest" resize; the class names come back with
the top classes. Images the size of the model's input are kept whole (`crop_ratio` 1 below
224 pixels).

The server then sends what it receives: the raw 8x8 scans as uint8, here the held-out ones.
`tf.saved_model.load` needs only TensorFlow.
"""

digit_names = [str(digit) for digit in range(10)]
serving = serving_config(
    model, normalization="unit", interpolation="nearest", class_names=digit_names
)
saved_model_path = export_saved_model(model, os.path.join(WORKDIR, "saved_model"), serving)

(_, _), (scans, _) = load_digits(image_size=8)
uint8_scans = np.round(scans * 255).astype("uint8")  # as a scanner would send them
served = tf.saved_model.load(saved_model_path)
answer = served.signatures["serving_default"](images=tf.constant(uint8_scans))
print({name: tuple(value.shape) for name, value in answer.items()})
print("first scan's top classes:", [name.decode() for name in answer["top_names"][0].numpy()])
saved_model_probabilities = answer["probabilities"].numpy()

"""
## ONNX, run by onnxruntime

The ONNX file holds the model's forward pass: float32 images already prepared at the model's
size (here `x_test`), a free batch size, and an output named as the model's (`predictions`).
"""

onnx_path = export_onnx(model, os.path.join(WORKDIR, "cct_digits.onnx"))
session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
(onnx_probabilities,) = session.run(None, {"images": x_test})

"""
## LiteRT, float32 and int8

`export_litert` writes a `.tflite` file of LiteRT's built-in operations; with
`quantize="dynamic_int8"` its weights are stored as int8 (dynamic-range quantization: no
calibration data, activations stay float). `run_litert` runs a file with the `ai-edge-litert`
interpreter.
"""

litert_path = export_litert(model, os.path.join(WORKDIR, "cct_digits.tflite"))
int8_path = export_litert(
    model, os.path.join(WORKDIR, "cct_digits_int8.tflite"), quantize="dynamic_int8"
)
(litert_probabilities,) = run_litert(litert_path, x_test)
(int8_probabilities,) = run_litert(int8_path, x_test)

"""
## Each export against Keras

For every format: its size on disk, the largest difference of its probabilities from Keras's
on the held-out digits, how often it predicts the class Keras predicts, and its accuracy. The
`.keras` file is there for scale: it also holds the optimizer's state. Two exports are not
meant to match Keras exactly: the SavedModel started from 8-bit pixels (Keras from the scans'
exact values), and the int8 file computes with rounded weights.
"""


def size_on_disk(path):
    """Bytes of a file, or of every file in a folder."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(
        os.path.getsize(os.path.join(folder, name))
        for folder, _, names in os.walk(path)
        for name in names
    )


exports = {
    "Keras (.keras)": (keras_path, keras_probabilities),
    "SavedModel (uint8 in)": (saved_model_path, saved_model_probabilities),
    "ONNX": (onnx_path, onnx_probabilities),
    "LiteRT float32": (litert_path, litert_probabilities),
    "LiteRT int8": (int8_path, int8_probabilities),
}
keras_classes = keras_probabilities.argmax(axis=-1)
sizes, accuracies = {}, {}
print(f"{'format':22} {'size':>10} {'max |dp|':>9} {'same class':>10} {'accuracy':>8}")
for name, (path, probabilities) in exports.items():
    classes = probabilities.argmax(axis=-1)
    sizes[name] = size_on_disk(path)
    accuracies[name] = np.mean(classes == y_test)
    deviation = np.abs(probabilities - keras_probabilities).max()
    agreement = np.mean(classes == keras_classes)
    print(
        f"{name:22} {sizes[name] / 1e3:8.0f} kB {deviation:9.1e} {agreement:10.1%} "
        f"{accuracies[name]:8.1%}"
    )
print(f"int8 file: {sizes['LiteRT int8'] / sizes['LiteRT float32']:.0%} of the float32 file")

"""
The full run, on a 2-core AMD EPYC CPU (shared with other jobs, 3 min 13 s in all), printed:
Keras, the SavedModel, ONNX and LiteRT float32 all at 98.6% held-out accuracy with the same
classes; ONNX and LiteRT float32 within 1.1e-6 of Keras's probabilities; the SavedModel within
0.035, which is the 8-bit pixels' doing (the same pixels given to Keras agree within 1e-6); the
int8 file at 98.3% (the class Keras predicts for 99.7% of the digits) in 352 kB, 31% of the
float32 file's 1,151 kB.

## File sizes and accuracy
"""

figure, (size_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(11, 3.6))
names = list(exports)
size_axis.barh(names, [sizes[name] / 1e6 for name in names], color="tab:blue")
size_axis.set(xlabel="size on disk (MB)", title="File size")
size_axis.invert_yaxis()
accuracy_axis.barh(names, [100 * accuracies[name] for name in names], color="tab:green")
for row, name in enumerate(names):
    accuracy_axis.text(1, row, f"{accuracies[name]:.1%}", va="center", color="white")
accuracy_axis.set(
    xlabel="held-out accuracy (%)", title=f"Accuracy on {len(y_test)} digits", xlim=(0, 100)
)
accuracy_axis.invert_yaxis()
accuracy_axis.set_yticklabels([])
figure.tight_layout()
figure.savefig(os.path.join(WORKDIR, "exports.png"))
plt.show()
