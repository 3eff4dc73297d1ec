"""
Title: NesT-T from scratch on CIFAR-10
Author: keras_nest team
Date created: 2026/12/04
Last modified: 2026/12/04
Description: Train NesT-T on CIFAR-10 from scratch with the paper's recipe and plain model.fit.
Accelerator: GPU
Full run: python examples/nest_cifar10.py
Reduced run: KERAS_NEST_EXAMPLE_SIZE=reduced python examples/nest_cifar10.py
"""

"""
## Introduction

Vision transformers are known to need a lot of data: trained from scratch on a small data
set such as CIFAR-10 they fall well behind convolutional networks.
[NesT](https://arxiv.org/abs/2105.12723) (Zhang et al., AAAI 2022) closes much of that gap
with a simple hierarchy: the image is cut into non-overlapping blocks, a plain transformer
runs inside each block, and between levels a convolution and a max-pool merge every four
neighbouring blocks into one, until a single block is left. The first version of the
paper's abstract reports that "training a NesT with 6M parameters from scratch on CIFAR10
achieves 96% accuracy using a single GPU".

This example trains that model, NesT-T in its CIFAR layout (`keras_nest.NestTinyCifar`:
1x1 patches, four levels of 64, 16, 4 and 1 blocks of 4x4 tokens, multi-query attention),
with the recipe of the official code (`configs/cifar_nest.py` of
google-research/nested-transformer):

- **augmentation**: a pad-and-crop and horizontal flips, then
  [RandAugment](https://arxiv.org/abs/1909.13719), random
  [erasing](https://arxiv.org/abs/1708.04896), and per batch either
  [MixUp](https://arxiv.org/abs/1710.09412) or [CutMix](https://arxiv.org/abs/1905.04899);
- **label smoothing** of the cross-entropy;
- **AdamW** ([Loshchilov and Hutter](https://arxiv.org/abs/1711.05101)) with decoupled weight
  decay, except on the position embeddings;
- a **linear warmup then cosine decay** of the learning rate, whose peak scales with the
  batch size.

keras_nest keeps those numbers, and where they come from, in
`keras_nest.training.RECIPES["nest_cifar10"]`; this example reads them from there rather
than typing them again. `keras_nest.training.train` (and `keras-nest train` on the command
line) runs the same recipe with checkpoints that resume; here every piece is wired by hand
into a plain `model.fit`, so that each one can be seen.

## Setup

The full run needs tensorflow-datasets (it downloads CIFAR-10) and a GPU:
300 epochs of NesT-T. With `KERAS_NEST_EXAMPLE_SIZE=reduced` the example runs the same
code at a size for a laptop: scikit-learn's handwritten digits (shipped with it, 8x8 scans
repeated to 16x16), a narrow three-level NesT and two epochs. It runs on JAX, TensorFlow or
PyTorch (set `KERAS_BACKEND`).
"""

import os

import keras
import matplotlib.pyplot as plt
import numpy as np

import keras_nest
from keras_nest.data import NORMALIZATIONS, load_dataset
from keras_nest.training import RECIPES, WarmupCosineDecay, build_optimizer, resolve_recipe

REDUCED = os.environ.get("KERAS_NEST_EXAMPLE_SIZE") == "reduced"
WORKDIR = os.path.join("runs", "examples", "nest_cifar10")
keras.utils.set_random_seed(0)

"""
## The recipe

The recipe is a frozen dataclass: print it to see every value and its source. The reduced
run changes the data set, its size, the length of the run and the learning rate (two epochs
need larger steps than three hundred; `resolve_recipe` keeps the warmup's share of the
run), and it leaves RandAugment out: `keras.layers.RandAugment` computes every one of its
candidate operations for each image and keeps the chosen ones, which on two CPU cores costs
more than the rest of the reduced run together.
"""

recipe = RECIPES["nest_cifar10"]
if REDUCED:
    digits = dict(
        dataset="digits",
        image_size=16,
        interpolation="nearest",  # repeat the pixels of the 8x8 scans
        epochs=2,
        batch_size=32,
        learning_rate=1.6e-2,  # per 256 images: 2e-3 at batch 32
        augmentation={"randaugment_ops": 0},
    )
    recipe = resolve_recipe(recipe=recipe.name, overrides=digits)
print(recipe.source)
for field in ("epochs", "batch_size", "warmup_epochs", "weight_decay", "label_smoothing"):
    print(f"{field}: {getattr(recipe, field)}")
print(f"peak learning rate at batch {recipe.batch_size}: {recipe.peak_learning_rate():.3g}")
print(recipe.augmentation)

"""
## Data

`load_dataset` returns a batched `tf.data` pipeline that `model.fit` takes on every backend;
`recipe.data_options()` gives it the recipe's image size, batch size, normalisation, crops,
flip, interpolation and augmentation. While training it pads each image by `crop_padding` pixels, crops it back at random and
flips it; then the `Augmentation` works on whole batches, each image drawing its own
`keras.layers.RandAugment` operations and random erasing (Keras's `RandomErasing`, computed only
in the erased boxes), and finally `keras.layers.MixUp` or `keras.layers.CutMix`
mixes each batch. Mixed labels are no longer one class, so labels come one-hot.
"""


def load(split, training):
    """The recipe's pipeline for ``split``: ``(images, one-hot labels)`` batches."""
    return load_dataset(
        recipe.dataset,
        split,
        training=training,
        one_hot=True,
        seed=0,
        **recipe.data_options(),
    )


train_data = load(recipe.train_split, training=True)
test_data = load(recipe.eval_split, training=False)
print(f"{train_data.num_examples} training and {test_data.num_examples} test images")

"""
Here is what the model sees: a batch after the augmentation. The title is each image's
largest label share (1.00 for an image that was not mixed).
"""

mean, std = NORMALIZATIONS[recipe.normalization]


def to_pixels(images):
    """Normalised images back to [0, 1] for display."""
    return np.clip(np.asarray(images) * std + mean, 0.0, 1.0)


images, labels = next(iter(train_data))
plt.figure(figsize=(8, 2))
for index in range(8):
    plt.subplot(1, 8, index + 1)
    plt.imshow(to_pixels(images[index]))
    plt.title(f"{np.max(labels[index]):.2f}", fontsize=8)
    plt.axis("off")
plt.show()

"""
## The model

NesT-T has 6.0M parameters at 32x32. The reduced run builds a NesT of the same layout, but
three levels (16, 4 and 1 blocks) for the 16x16 digits, width 32 and one layer per level.
"""

input_shape = (recipe.image_size, recipe.image_size, 3)
if REDUCED:
    model = keras_nest.Nest(
        depths=(1, 1, 1),
        embed_dims=32,
        num_heads=2,
        patch_size=1,
        block_size=4,
        attention="multi_query",
        classes=train_data.num_classes,
        input_shape=input_shape,
        name="nest_digits",
    )
else:
    model = keras_nest.NestTinyCifar(classes=train_data.num_classes, input_shape=input_shape)
print(f"{model.name}: {model.count_params():,} parameters")

"""
## Optimizer, schedule and loss

`WarmupCosineDecay` is stepped once per batch: a linear warmup over `warmup_epochs`, then a
cosine down to `min_lr` at the last step. Its peak is the recipe's learning rate scaled from
256 images to the batch (`recipe.peak_learning_rate()`). `build_optimizer` makes the AdamW
and keeps the variables the recipe names (`exclude_from_decay`, here the position
embeddings) out of its weight decay.
"""

steps_per_epoch = train_data.steps_per_epoch
schedule = WarmupCosineDecay(
    recipe.peak_learning_rate(),
    decay_steps=recipe.epochs * steps_per_epoch,
    warmup_steps=round(recipe.warmup_epochs * steps_per_epoch),
    start=recipe.warmup_lr,
    end=recipe.min_lr,
)
optimizer = build_optimizer(
    model,
    schedule,
    weight_decay=recipe.weight_decay,
    exclude_from_decay=recipe.exclude_from_decay,
)
model.compile(
    optimizer=optimizer,
    loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
    metrics=["accuracy"],
)

"""
## Training

The test split is evaluated after every epoch. The official code evaluates every five
epochs; on a GPU one pass over the 10,000 test images costs little next to a training epoch.
"""

# The pipeline shuffles each epoch itself.
history = model.fit(train_data, epochs=recipe.epochs, validation_data=test_data, shuffle=False)
_, accuracy = model.evaluate(test_data, verbose=0)
print(f"test accuracy after {recipe.epochs} epochs: {accuracy:.2%}")
os.makedirs(WORKDIR, exist_ok=True)
model.save(os.path.join(WORKDIR, f"{model.name}.keras"))

"""
The full run's figure to compare with is the paper's: about 96% (the abstract). The reduced
run only checks that everything runs: in our reduced runs (2-core AMD EPYC, no GPU, JAX and
TensorFlow) the narrow NesT was still near chance level (7-19%) after its two epochs of
mixed and erased digits. `examples/train_digits.py` trains a NesT of this layout, twice as
wide, without augmentation for eight epochs, to about 98%.

## Training curves
"""

plt.figure(figsize=(10, 3.5))
for index, metric in enumerate(("loss", "accuracy")):
    plt.subplot(1, 2, index + 1)
    plt.plot(history.history[metric], label="training (augmented)")
    plt.plot(history.history[f"val_{metric}"], label="test")
    plt.xlabel("epoch")
    plt.ylabel(metric)
    plt.legend()
plt.tight_layout()
plt.savefig(os.path.join(WORKDIR, "curves.png"))
plt.show()

"""
The training accuracy is measured on mixed and erased images against mixed labels, so it
can stay below the test accuracy for much of a run.

## Predictions

Sixteen test images with the model's guess, in red where it is wrong.
"""

if REDUCED:
    class_names = [str(digit) for digit in range(10)]
else:
    class_names = "airplane automobile bird cat deer dog frog horse ship truck".split()
images, labels = next(iter(test_data))
predictions = model.predict(images[:16], verbose=0)
plt.figure(figsize=(8, 8.5))
for index in range(16):
    guess, truth = np.argmax(predictions[index]), np.argmax(labels[index])
    plt.subplot(4, 4, index + 1)
    plt.imshow(to_pixels(images[index]))
    color = "black" if guess == truth else "red"
    plt.title(f"{class_names[guess]} ({predictions[index, guess]:.0%})", color=color)
    plt.axis("off")
plt.tight_layout()
plt.savefig(os.path.join(WORKDIR, "predictions.png"))
plt.show()
