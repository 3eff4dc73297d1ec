"""
Title: Fine-tuning the original ViT-B/16 on flowers
Author: keras_nest team
Date created: 2026/12/04
Last modified: 2026/12/04
Description: Fine-tune ViT-B/16 from its ImageNet-21k checkpoint on tf_flowers with the paper's recipe.
Accelerator: GPU
Full run: python examples/vit_finetune_flowers.py  (downloads tf_flowers and ViT-B_16.npz; one GPU)
Reduced run: KERAS_NEST_EXAMPLE_SIZE=reduced python examples/vit_finetune_flowers.py  (a tiny ViT on digits)
"""

"""
## Introduction

The [Vision Transformer](https://arxiv.org/abs/2010.11929) (ViT, Dosovitskiy et al., ICLR 2021)
cuts an image into 16x16 patches and runs a plain transformer on them. It shines when it is
pre-trained on a large data set and then fine-tuned on a small one. This example fine-tunes the
original ViT-B/16, pre-trained on ImageNet-21k (the authors' `imagenet21k/ViT-B_16.npz`,
converted on load), on tensorflow-datasets'
[`tf_flowers`](https://www.tensorflow.org/datasets/catalog/tf_flowers): 3,670 photos of five
kinds of flowers.

It follows the authors' fine-tuning recipe, as their code
([google-research/vision_transformer](https://github.com/google-research/vision_transformer),
`vit_jax/configs/common.py` and `input_pipeline.py`) runs it: SGD with momentum 0.9 and no
weight decay, the gradient's global norm clipped at 1, a linear warm-up then a cosine decay,
batches of 512 images (accumulated over 8 smaller batches), images at 384x384 scaled to
[-1, 1], and the Inception crop (5-100% of the area) with horizontal flips while training.
keras_nest holds these values in its recipe `vit_finetune_cifar10`; we read them from there.

The full run downloads the data set and the checkpoint once, and needs a GPU. The reduced
run (`KERAS_NEST_EXAMPLE_SIZE=reduced`) runs the same code in seconds on a CPU: a tiny
ViT with random weights on scikit-learn's handwritten digits, which ship with keras_nest.

## Setup
"""

import os

import keras
import matplotlib.pyplot as plt
import numpy as np

import keras_nest
from keras_nest.data import load_dataset
from keras_nest.training import RECIPES, WarmupCosineDecay, build_optimizer

REDUCED = os.environ.get("KERAS_NEST_EXAMPLE_SIZE") == "reduced"
RECIPE = RECIPES["vit_finetune_cifar10"]
WORKDIR = "runs/examples/vit_finetune_flowers"
keras.utils.set_random_seed(0)
print(f"backend: {keras.backend.backend()}, {'reduced' if REDUCED else 'full'} size")

"""
## The data

`tf_flowers` has a single split, "train", so we hold out its last 10% for validation with
tensorflow-datasets' split slicing (`"train[:90%]"`, `"train[90%:]"`), as the authors' code
leaves the end of CIFAR's training split out for validation. `keras_nest.data.load_dataset` takes any
tensorflow-datasets split and returns a batched `tf.data` pipeline that `model.fit` takes on
every backend. A sliced split is not named "train", so we say which pipeline trains
(`training=True`: shuffled, cropped, flipped) and which evaluates (the shorter side resized
to 384 and the centre square kept: the recipe's `crop_ratio` is 1).

The reduced run reads the digits (8x8 scans, 1,438 for training and 359 held out), enlarged by
pixel repetition to 16x16.
"""

DATASET = "digits" if REDUCED else "tf_flowers"
TRAIN_SPLIT, VALIDATION_SPLIT = ("train", "test") if REDUCED else ("train[:90%]", "train[90%:]")
FLOWERS = ("dandelion", "daisy", "tulips", "sunflowers", "roses")  # tf_flowers' label order
CLASS_NAMES = tuple("0123456789") if REDUCED else FLOWERS
IMAGE_SIZE = 16 if REDUCED else RECIPE.image_size
BATCH_SIZE = 16 if REDUCED else 64  # images per forward and backward pass
ACCUMULATION = 2 if REDUCED else RECIPE.batch_size // BATCH_SIZE  # batches per update

data_options = dict(
    image_size=IMAGE_SIZE,
    batch_size=BATCH_SIZE,
    normalization=RECIPE.normalization,
    crop_ratio=RECIPE.crop_ratio,
    crop_scale=RECIPE.crop_scale,
    flip=RECIPE.flip,
    interpolation="nearest" if REDUCED else RECIPE.interpolation,
    seed=0,
)
train_data = load_dataset(DATASET, TRAIN_SPLIT, training=True, **data_options)
validation_data = load_dataset(DATASET, VALIDATION_SPLIT, training=False, **data_options)
print(
    f"{DATASET}: {train_data.num_examples} training and {validation_data.num_examples} "
    f"validation images of {IMAGE_SIZE}x{IMAGE_SIZE}, {train_data.num_classes} classes"
)

"""
## The model

`keras_nest.ViTBase16(weights="imagenet21k")` builds ViT-B/16 and loads the original
ImageNet-21k checkpoint, downloaded once into the Keras cache. Loading it for fine-tuning does
what the authors' code does:

- at 384x384 the image makes 24x24 patches, where pre-training saw 14x14: the position
  embeddings are resized with the authors' linear zoom of the grid, the class token kept;
- the checkpoint's `pre_logits` layer (a tanh layer used in pre-training) is left out;
- the classifier is new, with one output per flower, and starts at zero;
- the GELU is the tanh approximation the checkpoint was trained with (`gelu=None` picks it).

The reduced run builds a ViT of its own with `keras_nest.ViT`, the builder behind every named
ViT: 4x4 patches, width 32, two layers of two heads, random weights. Without pre-training, the
fine-tuning recipe teaches it little in a few updates (15-20% of the digits right on jax and
tensorflow, measured on a 2-core AMD EPYC CPU): the reduced run checks the code, the checkpoint is what makes fine-tuning
work.
"""

head = dict(classes=len(CLASS_NAMES), input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3))
if REDUCED:
    model = keras_nest.ViT(patch_size=4, embed_dim=32, num_layers=2, num_heads=2, **head)
else:
    model = keras_nest.ViTBase16(weights="imagenet21k", name="vit_b16_flowers", **head)
print(f"{model.name}: {model.count_params():,} parameters")

"""
## Fine-tuning

The recipe is for CIFAR-10: 10,000 updates of 512 images, 500 of them warming up, to a peak
learning rate of 0.01. tf_flowers is much smaller (3,303 training images), so we take the
authors' short schedule instead: their README fine-tunes ViT-B/16 on CIFAR-10 in 500 updates,
50 of them warming up, to 98.59% (against 98.92% and 99.03% in two runs of the full 10,000). On
tf_flowers 500 updates of 512 images are about 78 passes over the training images. Everything
else is the recipe's.

Each update sums the gradients of `ACCUMULATION` batches (8 of 64 images: 512), as the
authors' code does to fit in memory (`accum_steps = 8`). Keras steps a learning-rate schedule
once per batch, also while it accumulates, so the schedule counts batches.
"""

UPDATES = 90 if REDUCED else 500
epochs = max(1, round(UPDATES * ACCUMULATION / train_data.steps_per_epoch))
batches = epochs * train_data.steps_per_epoch
warmup_batches = batches // 10  # the short schedule's 50 of 500
schedule = WarmupCosineDecay(RECIPE.peak_learning_rate(), batches, warmup_steps=warmup_batches)
optimizer = build_optimizer(
    model,
    schedule,
    kind=RECIPE.optimizer,
    weight_decay=RECIPE.weight_decay,
    exclude_from_decay=RECIPE.exclude_from_decay,
    momentum=RECIPE.momentum,
    global_clipnorm=RECIPE.global_clipnorm,
    gradient_accumulation_steps=ACCUMULATION,
)
print(f"{optimizer.name}: {batches // ACCUMULATION} updates of {BATCH_SIZE * ACCUMULATION}")
model.compile(optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(
    train_data, epochs=epochs, validation_data=validation_data, shuffle=False, verbose=2
)

_, accuracy = model.evaluate(validation_data, verbose=0)
print(f"validation accuracy: {accuracy:.2%}")
os.makedirs(WORKDIR, exist_ok=True)
model.save(os.path.join(WORKDIR, f"{model.name}.keras"))

"""
No published figure exists for ViT on tf_flowers: the figures above are the authors' on
CIFAR-10, with eight V100 GPUs.

## Curves and predictions

The learning curves, then a few validation images with the predicted class and its
probability (red where the prediction is wrong).
"""

figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 3.5))
epoch_numbers = range(1, epochs + 1)
for key, label in (("", "training"), ("val_", "validation")):
    loss_axis.plot(epoch_numbers, history.history[key + "loss"], "o-", label=label)
    accuracy_axis.plot(epoch_numbers, history.history[key + "accuracy"], "o-", label=label)
loss_axis.set(xlabel="epoch", ylabel="cross-entropy", title="Loss")
accuracy_axis.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
accuracy_axis.legend()
figure.tight_layout()
figure.savefig(os.path.join(WORKDIR, "curves.png"))

images, labels = (np.asarray(tensor)[:8] for tensor in next(iter(validation_data)))
probabilities = model.predict(images, verbose=0)
figure, axes = plt.subplots(1, 8, figsize=(14, 2.4))
for image, label, prediction, axis in zip(images, labels, probabilities, axes):
    guess = int(np.argmax(prediction))
    axis.imshow(np.clip((image + 1) / 2, 0, 1))  # [-1, 1] back to [0, 1]
    color = "k" if guess == label else "r"
    axis.set_title(f"{CLASS_NAMES[guess]} ({prediction[guess]:.0%})", color=color, fontsize=9)
    axis.axis("off")
figure.suptitle(f"Validation images: predicted class (probability), {accuracy:.1%} overall")
figure.savefig(os.path.join(WORKDIR, "predictions.png"))
plt.show()
