"""Data-parallel training over every device, with the strategy of the Keras backend in use.

Distribution is backend-specific (so is the choice of compute paths in
``keras_nest.layers.compute_paths``)::

    import keras_nest

    replicas = keras_nest.distribute.auto()
    with replicas.scope():  # build, compile and fit inside it
        model = keras_nest.NestTinyCifar(classes=10)
        model.compile(optimizer, loss, weighted_metrics=["accuracy"])
        model.fit(train_data, validation_data=replicas.evaluation_data(test_data, 64))

``keras_nest.training.train`` and the ``keras-nest train`` command do this
for every recipe.

- **JAX**: ``keras.distribution.DataParallel`` over all devices of the
  default platform (GPUs, TPU cores, or CPU devices made with
  :func:`virtual_cpu_devices`). Several hosts
  join through ``keras.distribution.initialize`` first (see
  :func:`initialize`); each then reads its share of every global batch.
- **TensorFlow**: ``TPUStrategy`` when a TPU is reachable, else
  ``MirroredStrategy`` when there are several GPUs (or several CPU devices
  made with :func:`virtual_cpu_devices`), else the default strategy.
- **PyTorch**: Keras has no data-parallel ``fit`` on this backend: one device.

Batches stay global: a pipeline yields the global batch and each of the
``num_replicas`` devices computes on ``batch / num_replicas`` images. The
losses are means over the global batch, so a run on N devices follows the
same trajectory as one device with the same batch; learning rates scaled
with the global batch (``Recipe.peak_learning_rate``) need no change.

Models too big for one device split their transformer layers instead (JAX
only)::

    replicas = keras_nest.distribute.model_parallel(4)  # 8 devices: 2 data x 4 model
    with replicas.scope():
        model = keras_nest.ViTHuge14(classes=10)

:func:`model_parallel` makes a ``keras.distribution.ModelParallel`` over a
``(data, model)`` device mesh: each group of ``model`` devices holds a part of
every attention and MLP kernel (:data:`TRANSFORMER_LAYOUT`, the same for every
family) and of its optimizer state, everything else whole, and the groups
split each batch as data parallelism does.
"""

import contextlib
import dataclasses
import os
import warnings

import keras

# Environment variables that make keras.distribution.initialize join several JAX processes.
MULTI_HOST_VARIABLES = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES")

# The device mesh axes of model parallelism: batches split over the first, kernels over the second.
BATCH_AXIS, MODEL_AXIS = "batch", "model"

# How model parallelism splits the variables of every family's transformer layers (paths such
# as ``level_1_block_0/attn/qkv/kernel``), ``{path regex: axes}``: the first dense layer of
# the attention and of the MLP by its outputs, the second by its inputs. Others are replicated.
TRANSFORMER_LAYOUT = {
    r"(.*/)?attn/qkv/kernel": (None, MODEL_AXIS),
    r"(.*/)?attn/qkv/bias": (MODEL_AXIS,),
    r"(.*/)?attn/proj/kernel": (MODEL_AXIS, None),
    r"(.*/)?mlp/fc1/kernel": (None, MODEL_AXIS),
    r"(.*/)?mlp/fc1/bias": (MODEL_AXIS,),
    r"(.*/)?mlp/fc2/kernel": (MODEL_AXIS, None),
}


@dataclasses.dataclass(frozen=True)
class Replicas:
    """The data-parallel setting of a run.

    Attributes:
        backend: the Keras backend it is for.
        num_replicas: devices that each take a slice of every batch.
        description: what was picked, for logs ("MirroredStrategy on 4 GPUs").
        strategy: the ``keras.distribution.Distribution`` (JAX), the
            ``tf.distribute.Strategy`` (TensorFlow), or None (one device).
    """

    backend: str
    num_replicas: int
    description: str
    strategy: object = None

    def scope(self):
        """A context manager in which to build, compile, load and fit models."""
        if self.strategy is None:
            return contextlib.nullcontext()
        return self.strategy.scope()

    def check_batch_size(self, batch_size):
        """Raises ValueError unless ``batch_size`` splits evenly over the replicas."""
        if batch_size % self.num_replicas:
            raise ValueError(
                f"The global batch size {batch_size} does not split over "
                f"{self.description}: use a multiple of {self.num_replicas}."
            )

    def evaluation_data(self, dataset, batch_size, num_examples=None):
        """``dataset`` of ``(images, labels)`` ready for evaluation on the replicas.

        On JAX with several devices every batch must split evenly, so the
        last, short batch is padded to ``batch_size`` and a third element,
        sample weights, is added: 0 for the padding and ``padded / real``
        image counts for real images. With accuracy compiled as a
        *weighted* metric (``weighted_metrics=["accuracy"]``) and the loss's
        default reduction, accuracy and loss are then exactly those of the
        real images. Elsewhere ``dataset`` is returned as is.

        Args:
            dataset: batches of ``(images, labels)``, the last one maybe short.
            batch_size: its batch size.
            num_examples: image count; by default ``dataset.num_examples``
                (set by :func:`keras_nest.data.load_dataset`).
        """
        if self.backend != "jax" or self.num_replicas == 1:
            return dataset
        self.check_batch_size(batch_size)
        import tensorflow as tf

        num_examples = num_examples or dataset.num_examples
        padded_total = -(-num_examples // batch_size) * batch_size
        scale = padded_total / num_examples

        def pad(images, labels):
            weights = tf.fill([tf.shape(images)[0]], scale)
            return tuple(_pad_rows(tensor, batch_size) for tensor in (images, labels, weights))

        padded = dataset.map(pad)
        for attribute in ("num_classes", "steps_per_epoch", "num_examples"):
            if hasattr(dataset, attribute):
                setattr(padded, attribute, getattr(dataset, attribute))
        return padded


def _pad_rows(tensor, rows):
    """``tensor`` padded with zeros to ``rows`` rows, a static size: a run on several JAX
    processes reads the batch size from it to give each process its share."""
    import tensorflow as tf

    padding = [[0, rows - tf.shape(tensor)[0]]] + [[0, 0]] * (len(tensor.shape) - 1)
    return tf.ensure_shape(tf.pad(tensor, padding), [rows, *tensor.shape[1:]])


def auto(devices=None, tpu=None):
    """The data-parallel setting for the backend and the devices of this machine (or cluster).

    Args:
        devices: device names to use instead of all of them (TensorFlow:
            ``["/gpu:0", "/gpu:1"]``; JAX: ``keras.distribution.list_devices()``
            entries such as ``"cpu:0"``).
        tpu: TensorFlow: the TPU name or address to connect to; by default a
            TPU is used when ``TPU_NAME`` is set or the host is a TPU VM.

    Returns:
        A :class:`Replicas`.
    """
    backend = keras.backend.backend()
    if backend == "jax":
        return _jax_replicas(devices)
    if backend == "tensorflow":
        return _tensorflow_replicas(devices, tpu)
    if backend == "torch":
        _warn_if_several_torch_devices()
    return Replicas(backend, 1, f"one device ({backend})")


def model_parallel(model_devices, devices=None):
    """Model and data parallelism: transformer kernels split over ``model_devices`` devices.

    The devices form a ``(data, model)`` mesh with ``data = len(devices) // model_devices``:
    every transformer layer's kernels are split over the ``model`` axis (see
    :data:`TRANSFORMER_LAYOUT`), everything else is replicated, and each global batch is
    split over the ``data`` axis. Works for every family (NesT, ViT, Compact Transformers,
    DVT), whose transformer layers share their variable names. JAX only
    (``keras.distribution``); several hosts call :func:`initialize` first.

    Args:
        model_devices: devices each kernel is split over; must divide the device count
            and the split widths (heads x head width, MLP hidden width).
        devices: ``keras.distribution.list_devices()`` entries to use instead of all.

    Returns:
        A :class:`Replicas` whose ``num_replicas`` is the data axis size and whose
        ``strategy`` is a ``keras.distribution.ModelParallel``.
    """
    if keras.backend.backend() != "jax":
        raise ValueError(
            "Model parallelism needs the JAX backend (keras.distribution is JAX-only): set "
            "KERAS_BACKEND=jax, or use keras_nest.distribute.auto() for data parallelism."
        )
    import jax

    devices = devices or keras.distribution.list_devices()
    if model_devices < 1 or len(devices) % model_devices:
        raise ValueError(
            f"{len(devices)} devices do not split into groups of model_devices={model_devices}: "
            "pass a divisor of the device count."
        )
    data = len(devices) // model_devices
    mesh = keras.distribution.DeviceMesh((data, model_devices), (BATCH_AXIS, MODEL_AXIS), devices)
    return Replicas(
        "jax",
        data,
        f"ModelParallel on {len(devices)} {jax.default_backend().upper()} devices "
        f"({data} data x {model_devices} model)",
        _CheckedModelParallel(layout_map=layout_map(mesh), batch_dim_name=BATCH_AXIS),
    )


def layout_map(device_mesh):
    """A ``keras.distribution.LayoutMap`` of :data:`TRANSFORMER_LAYOUT` over ``device_mesh``.

    ``device_mesh`` needs a :data:`MODEL_AXIS` axis. Add entries to it to split more
    variables, then pass it to ``keras.distribution.ModelParallel``.
    """
    layouts = keras.distribution.LayoutMap(device_mesh)
    for path, axes in TRANSFORMER_LAYOUT.items():
        layouts[path] = axes
    return layouts


class _CheckedModelParallel(keras.distribution.ModelParallel):
    """``ModelParallel`` that names the variable whose split dimension does not divide."""

    def get_variable_layout(self, variable):
        layout = super().get_variable_layout(variable)
        parts = self.device_mesh.shape[1]
        for size, axis in zip(variable.shape, layout.axes):
            if axis == MODEL_AXIS and size % parts:
                raise ValueError(
                    f"{variable.path} {tuple(variable.shape)} does not split over "
                    f"model_devices={parts}: pick a divisor of {size}."
                )
        return layout


def initialize(job_addresses=None, num_processes=None, process_id=None):
    """Joins the JAX processes of a multi-host run (``keras.distribution.initialize``).

    Call it first on every host, with the same ``job_addresses`` (the
    coordinator's ``host:port`` first) and ``num_processes`` and each host's
    own ``process_id``; or set ``KERAS_DISTRIBUTION_JOB_ADDRESSES``,
    ``KERAS_DISTRIBUTION_NUM_PROCESSES`` and ``KERAS_DISTRIBUTION_PROCESS_ID``
    and :func:`auto` calls it. On Cloud TPU pods the arguments are found
    automatically. Every process writes the run's files, so give each host
    its own work folder (``keras_nest.training.train``'s ``workdir``).
    """
    if keras.backend.backend() != "jax":
        raise ValueError(
            "keras_nest.distribute.initialize joins JAX processes; with TensorFlow use a "
            "tf.distribute cluster resolver (TF_CONFIG), with PyTorch torchrun."
        )
    keras.distribution.initialize(job_addresses, num_processes, process_id)


def virtual_cpu_devices(count):
    """Splits the CPU into ``count`` devices, so that data or model parallelism runs (though
    gains no speed: they share the same cores) on a machine without accelerators.

    Call it before the backend computes anything (in a notebook, right after
    a kernel restart), then :func:`auto` or :func:`model_parallel` finds them.

    - **JAX**: appends XLA's ``--xla_force_host_platform_device_count`` to
      ``XLA_FLAGS``. It shapes only JAX's CPU platform, which JAX does not
      train on when it has GPUs or TPU cores.
    - **TensorFlow**: logical devices of the one physical CPU, made only when
      no GPU is visible.
    - **PyTorch**: Keras trains on one device; this does nothing.

    Raises:
        RuntimeError: the backend has started its devices already.
    """
    backend = keras.backend.backend()
    too_late = (
        f"virtual_cpu_devices({count}) came after {backend} started its devices: "
        "call it before building or running anything (in a notebook, restart the kernel)."
    )
    if backend == "jax":
        from jax._src import xla_bridge  # JAX has no public way to ask this

        if xla_bridge.backends_are_initialized():
            raise RuntimeError(too_late)
        flag = f"--xla_force_host_platform_device_count={count}"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()
    elif backend == "tensorflow":
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            return
        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * count
            )
        except RuntimeError as error:
            raise RuntimeError(too_late) from error


def _jax_replicas(devices):
    import jax

    # Not jax.process_count(): it starts the backend, after which no process can join.
    multi_host = any(os.environ.get(name) for name in MULTI_HOST_VARIABLES)
    if multi_host and not jax.distributed.is_initialized():
        initialize()
    devices = devices or keras.distribution.list_devices()
    if len(devices) == 1:
        return Replicas("jax", 1, f"one device ({devices[0]})")
    hosts = jax.process_count()
    where = f" on {hosts} hosts" if hosts > 1 else ""
    return Replicas(
        "jax",
        len(devices),
        f"DataParallel on {len(devices)} {jax.default_backend().upper()} devices{where}",
        keras.distribution.DataParallel(devices=devices),
    )


def _tensorflow_replicas(devices, tpu):
    import tensorflow as tf

    if devices:
        strategy = tf.distribute.MirroredStrategy(devices)
        return Replicas(
            "tensorflow",
            strategy.num_replicas_in_sync,
            f"MirroredStrategy on {len(devices)} devices",
            strategy,
        )
    tpu = tpu or os.environ.get("TPU_NAME") or ("local" if _is_tpu_vm() else None)
    if tpu:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        strategy = tf.distribute.TPUStrategy(resolver)
        cores = strategy.num_replicas_in_sync
        return Replicas("tensorflow", cores, f"TPUStrategy on {cores} TPU cores", strategy)
    gpus = [device.name for device in tf.config.list_logical_devices("GPU")]
    cpus = [device.name for device in tf.config.list_logical_devices("CPU")]
    for kind, found in (("GPUs", gpus), ("CPU devices", [] if gpus else cpus)):
        if len(found) > 1:
            strategy = tf.distribute.MirroredStrategy(found)
            return Replicas(
                "tensorflow", len(found), f"MirroredStrategy on {len(found)} {kind}", strategy
            )
    return Replicas("tensorflow", 1, "one device (default strategy)", tf.distribute.get_strategy())


def _is_tpu_vm():
    """True on a Cloud TPU VM whose chips show as /dev/accel* (others: pass ``tpu="local"``)."""
    return os.path.exists("/dev/accel0")


def _warn_if_several_torch_devices():
    import torch

    if torch.cuda.device_count() > 1:
        warnings.warn(
            f"{torch.cuda.device_count()} GPUs found, but Keras's fit on the torch backend "
            "uses one: set KERAS_BACKEND=jax or tensorflow to train on all of them.",
            stacklevel=3,
        )
