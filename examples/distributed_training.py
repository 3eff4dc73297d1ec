"""
Title: Data-parallel training on several devices
Author: keras_nest team
Date created: 2026/12/04
Last modified: 2026/12/07
Description: Train a Compact Convolutional Transformer on every GPU, TPU core or virtual CPU device.
Accelerator: GPU
Full run: KERAS_BACKEND=jax python examples/distributed_training.py
Reduced run: KERAS_NEST_EXAMPLE_SIZE=reduced KERAS_BACKEND=jax python examples/distributed_training.py
"""

"""
## Introduction

In data-parallel training every device holds a copy of the model's weights and takes a slice
of each batch. The devices compute their gradients on their own slices, the gradients are
averaged over all of them, and every copy applies the same update: the run follows the same
trajectory as one device training on the whole batch, only faster.

Keras does this differently on each backend: JAX uses
[`keras.distribution.DataParallel`](https://keras.io/api/distribution/), TensorFlow a
[`tf.distribute`](https://www.tensorflow.org/guide/distributed_training) strategy
(`MirroredStrategy` over the GPUs of one machine, `TPUStrategy` on a TPU). PyTorch has no
data-parallel `fit` in Keras and trains on one device. `keras_nest.distribute.auto()` picks what
the backend in use and the machine offer, and hands back one object, the same on every backend,
whose `scope()` the model is built in.

This example trains the Compact Convolutional Transformer
[CCT-2/3x2](https://arxiv.org/abs/2104.05704) on scikit-learn's handwritten digits (shipped with
the package, no download) over all the devices of the machine. Without GPUs or TPUs it splits the
CPU into virtual devices, so that it shows the same mechanics on a laptop. Run it with
`KERAS_BACKEND=jax` or `KERAS_BACKEND=tensorflow`.
"""

"""
## Setup

`REDUCED` makes the example small enough for the test suite: one epoch instead of 30, and on a
CPU alone 2 virtual devices instead of 8. The model and the global batch are the same at both
sizes.
"""

import os

REDUCED = os.environ.get("KERAS_NEST_EXAMPLE_SIZE") == "reduced"
VIRTUAL_DEVICES = 2 if REDUCED else 8  # used only on a machine without GPUs or TPUs
EPOCHS = 1 if REDUCED else 30
GLOBAL_BATCH = 64  # split evenly over the devices
IMAGE_SIZE = 16

import keras
import matplotlib.pyplot as plt

import keras_nest
from keras_nest.data import load_dataset

"""
### Optional: virtual CPU devices

On a machine with GPUs or a TPU this cell changes nothing (`auto()` finds the accelerators by
itself) and can be skipped. On a CPU alone, `keras_nest.distribute.virtual_cpu_devices` splits the
processor into `VIRTUAL_DEVICES` devices, which is enough to see data parallelism at work (though
not to gain speed: the devices share the same cores). It has to run before the backend starts
computing, so in a notebook restart the kernel to change it.

- **JAX**: XLA's `--xla_force_host_platform_device_count` flag makes that many CPU devices. It
  shapes only JAX's CPU platform, which JAX does not train on when it has GPUs or TPU cores.
- **TensorFlow**: logical devices of the one physical CPU, made only when no GPU is visible.
"""

keras_nest.distribute.virtual_cpu_devices(VIRTUAL_DEVICES)

"""
## Pick the devices

`keras_nest.distribute.auto()` returns a `Replicas`: the backend's strategy, the number of
devices that share each batch (`num_replicas`) and a line that says what was picked. On JAX it
is `DataParallel` over every device of the default platform (GPUs, TPU cores, or the virtual
CPUs above); on TensorFlow `TPUStrategy` when a TPU is reachable (`TPU_NAME` set, a Cloud TPU VM,
or `auto(tpu="name")`), else `MirroredStrategy` over several GPUs or CPU devices, else the
default strategy. `auto(devices=[...])` restricts it to some of them.
"""

replicas = keras_nest.distribute.auto()
print(f"Backend {replicas.backend}: {replicas.description}")

"""
Batches stay *global*: the data pipeline yields `GLOBAL_BATCH` images and each device computes on
`GLOBAL_BATCH / num_replicas` of them. The loss is a mean over the global batch, so the
learning rate that suits the batch on one device suits it on eight. The batch must split evenly
over the devices; `check_batch_size` says so early, with the multiple to use.
"""

replicas.check_batch_size(GLOBAL_BATCH)
per_replica_batch = GLOBAL_BATCH // replicas.num_replicas
print(f"Global batch {GLOBAL_BATCH}: {per_replica_batch} images per device")

"""
## The data

`keras_nest.data.load_dataset` gives batched `tf.data` pipelines; on JAX, Keras feeds each
device its slice of every batch. The 8x8 digit scans are pixel-repeated to 16x16x3 (nearest
interpolation, no crop or flip) and scaled to [0, 1]. Training batches drop the last, short
one, so every training batch splits evenly.
"""


def digits(split):
    return load_dataset(
        "digits",
        split,
        image_size=IMAGE_SIZE,
        batch_size=GLOBAL_BATCH,
        normalization="unit",
        interpolation="nearest",
        crop_ratio=1.0,
        crop_scale=(1.0, 1.0),
        flip=False,
        seed=0,
    )


train_data, test_data = digits("train"), digits("test")
print(f"{train_data.num_examples} training images, {test_data.num_examples} held out")

"""
### Evaluation on several JAX devices

Evaluation reads every held-out image, so its last batch is short (here
`test_data.num_examples % GLOBAL_BATCH` images), and a short batch need not split over the
devices. TensorFlow's `MirroredStrategy` handles it by itself; on JAX,
`replicas.evaluation_data(dataset, batch_size)` pads the last batch to the full size and adds
sample weights: 0 for the padding, and for the real images the ratio of padded to real image
counts. With accuracy compiled as a *weighted* metric (`weighted_metrics=["accuracy"]`), accuracy
and loss are then exactly those of the real images. Elsewhere it returns the data as it is.
"""

eval_data = replicas.evaluation_data(test_data, GLOBAL_BATCH)
*_, last_batch = eval_data
print(f"Last evaluation batch: {[tuple(part.shape) for part in last_batch]}")
if len(last_batch) == 3:
    weights = sorted(set(last_batch[2].numpy().tolist()))
    print(f"its sample weights: {', '.join(f'{weight:.4f}' for weight in weights)}")

"""
## Build, compile and train inside the scope

Everything that creates variables, the model and the optimizer, goes inside `replicas.scope()`:
there they are mirrored on every device (TensorFlow) or laid out over the device mesh (JAX).
`fit` then runs as on one device.
"""

steps = EPOCHS * train_data.steps_per_epoch
keras.utils.set_random_seed(0)
with replicas.scope():
    model = keras_nest.create_model(
        "cct_2_3x2_32", classes=10, input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3)
    )
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, steps, warmup_target=3e-3, warmup_steps=steps // 10
    )
    model.compile(
        optimizer=keras_nest.training.AdamW(schedule, weight_decay=0.05),
        loss="sparse_categorical_crossentropy",
        weighted_metrics=["accuracy"],
    )
    # shuffle=False: load_dataset shuffles the training images itself, every epoch.
    history = model.fit(
        train_data, epochs=EPOCHS, validation_data=eval_data, shuffle=False, verbose=2
    )
    loss, accuracy = model.evaluate(eval_data, verbose=0)
print(f"Held-out accuracy {accuracy:.2%} (loss {loss:.3f}) on {replicas.description}")

"""
## The same in one call

`keras_nest.training.train` does all of the above for any recipe: it checks the batch, builds
and compiles the recipe's model in the scope, pads the evaluation data on JAX, and keeps a work
folder that resumes after an interruption (`keras-nest train` on the command line does the
same, on all devices). The `digits` recipe with this example's length and batch (left out of
the run to keep it short: it trains a second model):

```python
from keras_nest.training import evaluate, resolve_recipe, train

recipe = resolve_recipe("digits", overrides={"epochs": EPOCHS, "batch_size": GLOBAL_BATCH})
workdir = "runs/examples/distributed_training/digits"
train(recipe, workdir, replicas=replicas)  # run it again: it resumes, or says it is finished
print(evaluate(f"{workdir}/best.keras", recipe, replicas=replicas))
```

## Several hosts

A pod slice or a cluster of GPU machines runs the same script once per host. With JAX, the hosts
first join one runtime, before anything else touches the devices:

```python
keras_nest.distribute.initialize(
    job_addresses="10.0.0.1:1234",  # host:port of the coordinator, process 0
    num_processes=2,
    process_id=0,  # 1 on the second host
)
replicas = keras_nest.distribute.auto()  # DataParallel on the devices of every host
```

or, with no code change, set `KERAS_DISTRIBUTION_JOB_ADDRESSES`,
`KERAS_DISTRIBUTION_NUM_PROCESSES` and `KERAS_DISTRIBUTION_PROCESS_ID` on each host, and
`auto()` calls `initialize()` itself. On Cloud TPU pods `initialize()` needs no arguments: JAX
finds its hosts. Every host runs the same pipeline of global batches, and Keras shards it: each
host feeds only its own devices' share of every batch. With TensorFlow, TPU pods go through
`TPUStrategy` as above; `keras_nest.distribute` does not set up multi-worker GPU clusters.
"""

"""
## Training curves

The loss and accuracy per epoch (one point each at the reduced size), then the devices of the
machine that `auto()` chose from and how each batch was shared.
"""

figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(10, 4))
epochs = range(1, EPOCHS + 1)
for key in ("loss", "val_loss"):
    loss_axes.plot(epochs, history.history[key], "o-", label=key)
for key in ("accuracy", "val_accuracy"):
    accuracy_axes.plot(epochs, history.history[key], "o-", label=key)
loss_axes.set(xlabel="epoch", title="loss")
accuracy_axes.set(xlabel="epoch", title="accuracy")
for axes in (loss_axes, accuracy_axes):
    axes.legend()
figure.suptitle(f"CCT-2/3x2 on digits, {replicas.description}")
plt.show()

print(f"Devices: {', '.join(map(str, keras.distribution.list_devices()))}")
print(f"{replicas.num_replicas} replicas x {per_replica_batch} images = batch {GLOBAL_BATCH}")
