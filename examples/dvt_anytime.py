"""
Title: Anytime and dynamic inference with the Dynamic Vision Transformer
Author: keras_nest team
Date created: 2026/12/04
Last modified: 2026/12/07
Description: Train a DVT cascade, read every exit, calibrate its thresholds and time early exits.
Accelerator: None
Full run: KERAS_BACKEND=jax python examples/dvt_anytime.py
Reduced run: KERAS_BACKEND=jax KERAS_NEST_EXAMPLE_SIZE=reduced python examples/dvt_anytime.py
"""

"""
## Introduction

The [Dynamic Vision Transformer](https://arxiv.org/abs/2105.15075) (DVT, Wang et al.,
NeurIPS 2021) is a cascade of transformers on ever finer token grids of the same image, each
with its own classifier (an *exit*). Most images are easy: a coarse grid of a few tokens
classifies them, and only the hard ones go on to the finer, costlier transformers, which reuse
what the coarser one computed (its last tokens and its attention logits).

This example trains a small cascade with `model.fit` (one loss per exit), reads the *anytime*
predictions of every exit, finds the exit thresholds for every budget with
`keras_nest.calibrate_thresholds`, and measures how much time `keras_nest.DynamicPredictor`
saves against running the whole cascade on every image.

The published models work the same way: the authors' checkpoints (downloaded by hand from the
links of their repository, as their hosts need a browser) load from a local path, for example
`keras_nest.DVTT2TViT12(weights="/path/DVT_T2t_vit_12.pth.tar")`, with the thresholds they
stored in `keras_nest.models.dvt.checkpoint_operating_points(path)`. Here we train from scratch
on scikit-learn's handwritten digits, which ship with scikit-learn, so that the example runs
anywhere.
"""

"""
## Setup
"""

import os
import time

import keras
import matplotlib.pyplot as plt
import numpy as np

import keras_nest
from keras_nest.data import load_digits

REDUCED = os.environ.get("KERAS_NEST_EXAMPLE_SIZE") == "reduced"
IMAGE_SIZE = 16 if REDUCED else 32
TOKEN_GRIDS = (1, 2, 4) if REDUCED else (2, 4, 8)
EMBED_DIM = 32 if REDUCED else 64
DEPTH = 1 if REDUCED else 4
EPOCHS = 3 if REDUCED else 40
BATCH_SIZE = 32
WORKDIR = "runs/examples/dvt_anytime"
os.makedirs(WORKDIR, exist_ok=True)
keras.utils.set_random_seed(0)
print(f"backend: {keras.backend.backend()}, {'reduced' if REDUCED else 'full'} size")

"""
## The data: shifted digits

scikit-learn's 1,797 digit scans (8x8) come as colour images of `IMAGE_SIZE` pixels with a
fixed 80/20 split (`keras_nest.data.load_digits`). Centred digits are too easy: on them all
three exits of such a cascade reach about 96% (`tests/models/dvt/test_learns.py`), and a
budget buys nothing. So every image is shifted by up to an eighth of its side each way (the
held-out ones once, the training ones afresh each epoch): a single coarse token absorbs a
shift less well than a grid of tokens, which makes the finer exits worth their cost, as they
are on ImageNet.
"""


def shifted(images, rng, max_shift=IMAGE_SIZE // 8):
    """Each image moved by up to ``max_shift`` pixels along each axis, zeros filling in."""
    side = images.shape[1]
    padded = np.pad(images, ((0, 0), (max_shift,) * 2, (max_shift,) * 2, (0, 0)))
    corners = rng.integers(0, 2 * max_shift + 1, (len(images), 2))
    return np.stack([p[r : r + side, c : c + side] for p, (r, c) in zip(padded, corners)])


(train_images, train_labels), (test_images, test_labels) = load_digits(image_size=IMAGE_SIZE)
rng = np.random.default_rng(0)
test_images = shifted(test_images, rng)
print(f"{len(train_images)} training and {len(test_images)} held-out digits, {IMAGE_SIZE}px")

"""
## The cascade

`keras_nest.DVT` builds any cascade: here three exits on `TOKEN_GRIDS` grids of tokens (the
DeiT backbone cuts patches of `ceil(size / grid)` pixels), each a transformer of `DEPTH`
blocks, mean-pooled. Exits 2 and 3 reuse the previous exit's features and attention logits,
as in the paper. The exits output logits (`classifier_activation=None`); the cascade is a
functional model from images to the list of every exit's output, coarse to fine, and
`model.exit_macs()` gives the multiply-adds per image of stopping at each exit.
"""

model = keras_nest.DVT(
    token_grids=TOKEN_GRIDS,
    embed_dim=EMBED_DIM,
    depth=DEPTH,
    num_heads=2,
    mlp_ratio=2.0,
    drop_path_rate=0.0,
    pooling="avg",
    classes=10,
    classifier_activation=None,
    input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3),
    name="dvt_digits",
)
exit_macs = np.asarray(model.exit_macs())
print(f"{model.name}: {model.count_params():,} parameters")
for index, macs in enumerate(exit_macs, start=1):
    print(f"  leaving at exit {index} costs {macs / 1e6:.2f} M multiply-adds per image")

"""
## Training every exit

The paper's loss is the sum of one cross-entropy per exit, which is what Keras does with one
loss per output: the labels are given once per exit. AdamW with a short warm-up and cosine
decay; one `fit` call per epoch, each on a fresh shift of the digits. Every step takes a full
batch: on jax (and tensorflow with XLA) each batch shape is compiled once, and a last, partial
batch would cost a second compilation of the whole training step.
"""

steps_per_epoch = len(train_images) // BATCH_SIZE  # full batches only: one compiled shape
steps = EPOCHS * steps_per_epoch
schedule = keras.optimizers.schedules.CosineDecay(
    0.0, steps - steps // 10, warmup_target=3e-3, warmup_steps=steps // 10
)
loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
model.compile(
    keras_nest.training.AdamW(schedule, weight_decay=0.05), loss=[loss] * len(TOKEN_GRIDS)
)
start = time.perf_counter()
for epoch in range(1, EPOCHS + 1):
    history = model.fit(
        shifted(train_images, rng),  # a fresh shift of every digit each epoch
        [train_labels] * len(TOKEN_GRIDS),  # the labels once per exit
        batch_size=BATCH_SIZE,
        steps_per_epoch=steps_per_epoch,
        verbose=0,
    )
    if epoch % max(EPOCHS // 4, 1) == 0:
        print(f"epoch {epoch}/{EPOCHS}: summed loss of the exits {history.history['loss'][-1]:.3f}")
print(f"trained in {time.perf_counter() - start:.0f} s")

"""
## Anytime predictions

`model.predict` runs every exit on every image and returns their outputs in order: whenever
the computation is cut short, the latest exit reached has an answer. Finer exits cost more
and, on shifted digits, should be right more often.
"""

anytime = model.predict(test_images, batch_size=64, verbose=0)
for index, logits in enumerate(anytime, start=1):
    accuracy = np.mean(np.argmax(logits, axis=-1) == test_labels)
    print(f"exit {index}: held-out accuracy {accuracy:.1%} at {exit_macs[index - 1] / 1e6:.2f} M")

"""
## Thresholds for every budget

An image leaves at the first exit whose confidence (its largest softmax probability) reaches
that exit's threshold. `keras_nest.calibrate_thresholds` follows the authors: for each of 59
target shares of images per exit it finds the thresholds on a calibration set (the training
images, as the authors use theirs) and measures accuracy and average cost on the held-out set.
`calibration.best` keeps the best accuracy per budget (the paper's black curve) and `plot`
draws every point with each exit's own.
"""

calibration = keras_nest.calibrate_thresholds(
    model,
    (test_images, test_labels),
    calibration_data=shifted(train_images, rng),
    plot=os.path.join(WORKDIR, "operating_points.png"),
)
point = calibration.point_for_budget(exit_macs[1])
shares = ", ".join(f"{share:.0%}" for share in point.exit_shares)
print(
    f"best point within exit 2's cost: {point.accuracy:.1%} at {point.macs / 1e6:.2f} M "
    f"per image, thresholds {np.round(point.thresholds, 3).tolist()}, exit shares {shares}"
)

"""
## Dynamic inference, timed

`keras_nest.DynamicPredictor` runs exit 1 on the whole batch, gathers the images it was unsure
of (with the features and relations it computed for them) into a smaller batch for exit 2,
and so on. We time it against `model.predict`, which runs the whole cascade on every image,
after one warm-up call each (the first call compiles), best of three. On jax an exit compiles
each batch shape it meets once; `granule=16` pads the undecided images to multiples of 16, so
that fewer shapes (64, 32 and 16 here) need compiling than with the default 4.
"""

predictor = keras_nest.DynamicPredictor(model, point.thresholds, granule=16)


def best_time(run, repeats=3):
    run()  # warm-up: compiles
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


full_time = best_time(lambda: model.predict(test_images, batch_size=64, verbose=0))
dynamic_time = best_time(lambda: predictor.predict(test_images))
result = predictor.predict(test_images)
dynamic_accuracy = np.mean(np.argmax(result.predictions, axis=-1) == test_labels)
print(f"images leaving at each exit: {result.exit_counts.tolist()} of {len(test_images)}")
print(
    f"whole cascade: {full_time * 1e3:.0f} ms, {exit_macs[-1] / 1e6:.2f} M per image, "
    f"accuracy {np.mean(np.argmax(anytime[-1], axis=-1) == test_labels):.1%}"
)
print(
    f"dynamic: {dynamic_time * 1e3:.0f} ms, {result.mean_macs / 1e6:.2f} M per image, "
    f"accuracy {dynamic_accuracy:.1%}; {full_time / dynamic_time:.2f}x the speed"
)

"""
On a model this small, each exit's call costs more in Keras's per-batch overhead than in
arithmetic, so the measured speed-up can be far from the ratio of multiply-adds, or below 1.
At ImageNet size the arithmetic dominates: `benchmarks/dynamic_inference.py` measured 4.07x
(jax) and 4.28x (tensorflow) for `dvt_t2t_vit_12` with 80% of the images leaving at exit 1, on
a 2-core AMD EPYC (random weights; see the README's "Dynamic inference" section).

## What the exits decided

Left: accuracy against cost of every operating point, with each exit run on every image.
Right: held-out digits, a row per exit they left at; the late ones are the hard ones.
"""

figure, (curve, grid) = plt.subplots(1, 2, figsize=(13, 4.5), width_ratios=(4, 5))
curve.imshow(plt.imread(calibration.plot))
curve.set_axis_off()
columns = 8
mosaic = np.ones((len(TOKEN_GRIDS) * IMAGE_SIZE, columns * IMAGE_SIZE))
for exit_index in range(len(TOKEN_GRIDS)):
    chosen = np.flatnonzero(result.exits == exit_index)[:columns]
    for column, image_index in enumerate(chosen):
        rows = slice(exit_index * IMAGE_SIZE, (exit_index + 1) * IMAGE_SIZE)
        mosaic[rows, column * IMAGE_SIZE : (column + 1) * IMAGE_SIZE] = test_images[
            image_index, ..., 0
        ]
grid.imshow(mosaic, cmap="gray_r")
grid.set_yticks((np.arange(len(TOKEN_GRIDS)) + 0.5) * IMAGE_SIZE)
grid.set_yticklabels([f"exit {k + 1}" for k in range(len(TOKEN_GRIDS))])
grid.set_xticks([])
grid.set_title("held-out digits by the exit they left at")
figure.savefig(os.path.join(WORKDIR, "exits.png"), dpi=100)
plt.show()
