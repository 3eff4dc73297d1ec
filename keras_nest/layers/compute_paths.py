"""Compute paths: the same function computed differently per backend and device, for speed.

Attention (fused, deferred softmax or written-out softmax), the exact
GELU, a dense layer with its GELU, dropout, max-pooling, and while training
on JAX's CPU the kernel gradients of dense and conv layers,
LayerNormalization's gradients and a shared tensor's (position
embeddings'). Every path gives the same result up to
float rounding (the layer tests check each against NumPy or the Keras layer
on every backend); ``benchmarks/kernels.py`` measures the attention paths.
Within :func:`exporting`, each takes the form every export format can read
instead of the fastest.
"""

import contextlib
import functools
import math
import threading

import keras
from keras import ops

ATTENTION_PATHS = ("fused", "deferred", "softmax")

_state = threading.local()


@contextlib.contextmanager
def exporting():
    """Within it, layers trace the ops every export format reads, not the fastest ones.

    On JAX: ``ops.erf`` lowers to a composite op that TensorFlow's SavedModel
    loader cannot read ("unregistered operation 'vhlo.composite_v2'"), so
    the exact GELU is ``ops.gelu`` (an ``erfc``); and onnxruntime runs no
    max-pool window jax2onnx writes ("Unsupported pooling size"), so
    :func:`max_pool` takes the maximum of strided slices. TensorFlow's graphs
    export as they are but for :func:`dense_gelu`, whose ``tf.nn.gelu`` has
    an ``Erfc``, which tf2onnx does not write (so ``ops.gelu`` would be the
    wrong choice there too). The export functions of ``keras_nest.export``
    trace the model inside this.
    """
    before = _exporting()
    _state.exporting = True
    try:
        yield
    finally:
        _state.exporting = before


def _exporting():
    """Whether a model is traced for export (within :func:`exporting`)."""
    return getattr(_state, "exporting", False)


def _exporting_from_jax():
    """Whether a model is traced for export (:func:`exporting`) on the JAX backend."""
    return _exporting() and keras.backend.backend() == "jax"


def max_pool(x, pool_size, strides, padding, training=False):
    """``ops.max_pool`` of ``(B, H, W, C)`` maps (square windows; "valid" or TF-style "same").

    Within :func:`exporting` on JAX, the maximum of the ``pool_size**2``
    strided slices of the map (padded with -inf for "same"): the same values.
    JAX pools with one ``reduce_window`` over all four axes (window ``(1, k,
    k, 1)``), which jax2onnx writes as an ONNX ``MaxPool`` with a 4-D kernel
    on the map seen as ``(1, 1, B, H, W, C)``; onnxruntime pools in 1 to 3
    dimensions only ("Unsupported pooling size"), a plain
    ``keras.layers.MaxPooling2D`` included.

    While training on JAX's CPU, :func:`_sliced_max_pool`: the same values
    and gradient, where XLA's gradient of ``reduce_window``
    (``select_and_scatter``) is slow.
    """
    if not (_exporting_from_jax() or (training and _jax_cpu())):
        return ops.max_pool(x, pool_size, strides, padding=padding)
    _, height, width, _ = x.shape
    edges = []
    for size in (height, width):
        if padding == "same":
            out = -(-size // strides)
            total = max((out - 1) * strides + pool_size - size, 0)
            edges.append((out, (total // 2, total - total // 2)))
        else:
            edges.append(((size - pool_size) // strides + 1, (0, 0)))
    (rows, row_pad), (cols, col_pad) = edges
    x = ops.pad(x, [(0, 0), row_pad, col_pad, (0, 0)], constant_values=float("-inf"))
    if _exporting_from_jax():
        return functools.reduce(ops.maximum, _windows(x, pool_size, strides, rows, cols))
    return _sliced_max_pool(x, pool_size, strides, rows, cols)


def dense(layer, x, training=False):
    """``keras.layers.Dense`` ``layer`` on ``(..., C)``; returns ``(..., units)``.

    While training on JAX's CPU, the kernel's gradient is written as the
    flattened input, transposed, times the upstream gradient
    (:func:`_matmul_with_input_transposed_gradient`), the same values. From
    JAX's own rule XLA transposes the upstream gradient instead, a copy four
    times larger for an MLP's first layer: NesT-T CIFAR's ``(64, 1024, 192)``
    by 192x768 took 338 ms for that gradient, 107 ms this way (768x192: 163
    against 120 ms; 2-core Intel Xeon with AVX-512). Quantized or LoRA
    layers, other backends and devices call the layer.
    """
    if not (_training_on_jax_cpu(training) and _plain_product(layer)):
        return layer(x)
    return _bias_and_activation(
        layer, _matmul_with_input_transposed_gradient(x, ops.cast(layer.kernel, x.dtype))
    )


def dense_gelu(layer, x, training=False, approximate=False):
    """:func:`gelu` of ``keras.layers.Dense`` ``layer`` on ``(..., C)``; returns ``(..., units)``.

    At inference on TensorFlow, a plain layer is written in the form that
    TensorFlow's graph optimiser fuses into one oneDNN kernel: a 2-D
    ``MatMul``, its ``BiasAdd`` and ``tf.nn.gelu`` (Keras's ``Dense`` adds the
    bias after reshaping the product back, and :func:`gelu`'s ``erf`` form is
    not the one matched). ViT-S/16's first MLP layer with its GELU at batch
    8, ``(1576, 384)`` to 1536: 7.4 against 10.0 ms; ViT-S/16's inference
    18.6-19.3 against 20.7-22.1 img/s (alternating, 2-core Intel Xeon with
    AVX-512). While training (where nothing was gained), on other backends
    and layers, and within :func:`exporting` (``tf.nn.gelu`` has an
    ``Erfc``, which tf2onnx does not write): :func:`dense`, then :func:`gelu`.
    """
    plain = _plain_product(layer) and layer.activation in (None, keras.activations.linear)
    if keras.backend.backend() != "tensorflow" or training or not plain or _exporting():
        return gelu(dense(layer, x, training), approximate=approximate)
    import tensorflow as tf

    kernel = ops.cast(layer.kernel, x.dtype)
    y = tf.matmul(ops.reshape(x, (-1, x.shape[-1])), kernel)
    if layer.use_bias:
        y = tf.nn.bias_add(y, ops.cast(layer.bias, x.dtype))
    y = tf.nn.gelu(y, approximate=approximate)
    return ops.reshape(y, (*ops.shape(x)[:-1], layer.units))


def _plain_product(layer):
    """Whether a ``Dense`` ``layer``'s output is its input times its kernel (no quantization,
    no LoRA), so that a path may compute that product itself."""
    return layer.quantization_mode is None and not layer.lora_enabled


def _training_on_jax_cpu(training):
    """Whether layers rewrite their kernel gradients: training on JAX's CPU, not exporting."""
    return bool(training) and _jax_cpu() and not _exporting_from_jax()


def _bias_and_activation(layer, y):
    """What a Keras ``Dense`` or ``Conv2D`` ``layer`` does after its product ``y``."""
    if layer.use_bias:
        y = y + ops.cast(layer.bias, y.dtype)
    return y if layer.activation is None else layer.activation(y)


def _matmul_with_input_transposed_gradient(x, kernel):
    """``(..., C) @ (C, O)``; the kernel's gradient is ``x_flat^T @ upstream_flat``."""
    channels, units = kernel.shape

    @ops.custom_gradient
    def matmul(x, kernel):
        def gradient(*args, upstream=None):
            upstream = args[0] if upstream is None else upstream
            flat_x = ops.transpose(ops.reshape(x, (-1, channels)))  # (C, N)
            kernel_gradient = ops.matmul(flat_x, ops.reshape(upstream, (-1, units)))
            return ops.matmul(upstream, ops.transpose(kernel)), kernel_gradient

        return ops.matmul(x, kernel), gradient

    return matmul(x, kernel)


def layer_norm(layer, x, training=False):
    """``keras.layers.LayerNormalization`` ``layer`` on ``(..., C)``; returns ``(..., C)``.

    While training on JAX's CPU, an affine layer over the last axis computes
    its gradients from the normalised input it keeps (``xhat``) and its
    reciprocal deviations: ``dx = rstd * (dxhat - mean(dxhat) - xhat *
    mean(dxhat * xhat))`` with ``dxhat = upstream * gamma``. From Keras's
    form (``x * (rstd * gamma) + ...``) XLA writes ``gamma`` out at the
    input's full shape and reads seven full tensors in the backward pass:
    forward and backward of ``(64, 256, 256)``, 29.7 against 17.7 ms; the
    training steps of CCT-7/3x1 and NesT-T CIFAR at batch 64 the same within
    the noise, and 11% smaller at their peak (4.5 against 4.0 GB, 7.3 against
    6.5 GB; 2-core Intel Xeon with AVX-512). Other layers, backends and
    devices call the layer.
    """
    affine = layer.center and layer.scale and not layer.rms_scaling
    if not (_training_on_jax_cpu(training) and affine and layer.axis in ([-1], [len(x.shape) - 1])):
        return layer(x)
    gamma, beta = (ops.cast(weight, "float32") for weight in (layer.gamma, layer.beta))
    return ops.cast(
        _normalize(ops.cast(x, "float32"), gamma, beta, layer.epsilon), layer.compute_dtype
    )


def _normalize(x, gamma, beta, epsilon):
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta`` over the last axis of ``(..., C)``,
    with the gradient written in terms of the normalised input (:func:`layer_norm`)."""
    channels = x.shape[-1]

    @ops.custom_gradient
    def normalize(x, gamma, beta):
        mean = ops.mean(x, axis=-1, keepdims=True)
        variance = ops.mean(ops.square(x), axis=-1, keepdims=True) - ops.square(mean)
        rstd = ops.rsqrt(variance + epsilon)
        xhat = (x - mean) * rstd

        def gradient(*args, upstream=None):
            upstream = args[0] if upstream is None else upstream
            dxhat = upstream * gamma
            mean_dxhat = ops.mean(dxhat, axis=-1, keepdims=True)
            mean_dxhat_xhat = ops.mean(dxhat * xhat, axis=-1, keepdims=True)
            dx = rstd * (dxhat - mean_dxhat - xhat * mean_dxhat_xhat)
            flat_upstream = ops.reshape(upstream, (-1, channels))
            gamma_gradient = ops.sum(flat_upstream * ops.reshape(xhat, (-1, channels)), axis=0)
            return dx, gamma_gradient, ops.sum(flat_upstream, axis=0)

        return xhat * gamma + beta, gradient

    return normalize(x, gamma, beta)


def add_shared(x, weight, training=False):
    """``x`` ``(B, *S)`` plus ``weight`` ``(1, *S)``, one tensor shared by every example.

    While training on JAX's CPU, the weight's gradient, the upstream
    gradient summed over the batch, is computed as a product with a row of
    ones, ``(1, B) @ (B, prod(S))``: XLA gives a sum over the leading axis to
    YNNPACK's reduction, which took 63 against 1.1 ms for NesT-T CIFAR's
    first-level embedding ``(64, 64, 16, 192)``, 17 against 0.4 ms for
    CCT-7/3x1's ``(64, 256, 256)`` (2-core Intel Xeon with AVX-512); their
    training steps gained no more than the noise.
    """
    weight = ops.cast(weight, x.dtype)
    if not _training_on_jax_cpu(training):
        return x + weight

    @ops.custom_gradient
    def add(x, weight):
        def gradient(*args, upstream=None):
            upstream = args[0] if upstream is None else upstream
            flat = ops.reshape(upstream, (ops.shape(upstream)[0], -1))
            ones = ops.ones((1, ops.shape(flat)[0]), flat.dtype)
            return upstream, ops.reshape(ops.matmul(ones, flat), ops.shape(weight))

        return x + weight, gradient

    return add(x, weight)


def conv2d(layer, x, training=False):
    """``keras.layers.Conv2D`` ``layer`` on ``(B, H, W, C)`` maps; returns ``(B, H', W', filters)``.

    While training on JAX's CPU, XLA hands a convolution's kernel gradient to
    YNNPACK's convolution, a fraction of the speed of its matrix products;
    two kinds keep their value and gradients but compute it otherwise:

    - Non-overlapping ("valid", strides equal to the kernel: patch
      embeddings; height and width known): the patches, flattened, times
      the kernel as one dense layer
      (:func:`_matmul_with_input_transposed_gradient`). The forward and
      backward pass of ``(64, 224, 224, 3)`` to 192 channels: 16x16 patches
      (ViT) 762 against 96 ms, 4x4 (NesT) 420 against 192 ms; 1x1 on
      ``(64, 32, 32, 3)`` (NesT CIFAR) 101 against 68 ms (2-core Intel Xeon
      with AVX-512); the ViT-S/16 step at batch 16: 5.5 against 5.7 img/s.
    - Stride 1 ("valid", or "same" with an odd kernel): one matrix product per
      kernel offset (:func:`_conv_with_sliced_kernel_gradient`). NesT-T
      CIFAR's first aggregation, ``(64, 32, 32, 192)`` by a 3x3x192x192
      kernel: 1.04-1.21 s against 0.37-0.39 s; the NesT-T CIFAR step: 7.5-7.6
      against 8.0-8.1 img/s. Narrow inputs gain nothing: CCT-7/3x1's
      tokenizer (3 input channels) made its step slower (13.0-13.1 against
      12.3-12.4 img/s), so it calls its layers as they are.

    Other backends and devices call the layer.
    """
    kernel_size = tuple(layer.kernel_size)
    plain = (
        _training_on_jax_cpu(training)
        and tuple(layer.dilation_rate) == (1, 1)
        and layer.groups == 1
        and layer.data_format == "channels_last"
    )
    patches = layer.padding == "valid" and tuple(layer.strides) == kernel_size
    if plain and patches and None not in x.shape[1:3]:
        kernel = ops.reshape(ops.cast(layer.kernel, x.dtype), (-1, layer.filters))
        return _bias_and_activation(
            layer, _matmul_with_input_transposed_gradient(_patches(x, kernel_size), kernel)
        )
    sliced = (
        plain
        and tuple(layer.strides) == (1, 1)
        and (layer.padding == "valid" or all(size % 2 for size in kernel_size))
    )
    if not sliced:
        return layer(x)
    if layer.padding == "same":
        rows, cols = (size // 2 for size in kernel_size)
        x = ops.pad(x, [(0, 0), (rows, rows), (cols, cols), (0, 0)])
    return _bias_and_activation(
        layer, _conv_with_sliced_kernel_gradient(x, ops.cast(layer.kernel, x.dtype))
    )


def _patches(x, patch_size):
    """``(B, H, W, C)`` -> ``(B, H//p, W//p, p*p*C)``, each patch's pixels in a kernel's order
    (row, column, channel); rows and columns past the last whole patch are dropped, as a
    "valid" convolution drops them."""
    _, height, width, channels = x.shape
    rows, cols = patch_size
    x = x[:, : height // rows * rows, : width // cols * cols]
    x = ops.reshape(x, (-1, height // rows, rows, width // cols, cols, channels))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (-1, height // rows, width // cols, rows * cols * channels))


def _conv_with_sliced_kernel_gradient(x, kernel):
    """Stride-1 "valid" convolution of ``(B, H, W, C)`` by ``(kh, kw, C, O)``.

    The same value and input gradient as ``ops.conv``; the kernel's
    gradient is, per offset ``(i, j)``, the product of the upstream
    gradient ``(B*H'*W', O)``, transposed once, with the input's slice at
    that offset ``(B*H'*W', C)``: ``kh * kw`` matrix products.
    """
    rows, cols, channels, filters = kernel.shape

    @ops.custom_gradient
    def conv(x, kernel):
        def gradient(*args, upstream=None):
            upstream = args[0] if upstream is None else upstream
            _, out_rows, out_cols, _ = upstream.shape
            # The input's gradient: a "full" convolution by the flipped, transposed kernel.
            flipped = ops.transpose(ops.flip(kernel, axis=(0, 1)), (0, 1, 3, 2))
            padded = ops.pad(upstream, [(0, 0), (rows - 1, rows - 1), (cols - 1, cols - 1), (0, 0)])
            upstream_t = ops.transpose(ops.reshape(upstream, (-1, filters)))  # (O, B*H'*W')
            offsets = [
                ops.matmul(
                    upstream_t,
                    ops.reshape(x[:, i : i + out_rows, j : j + out_cols], (-1, channels)),
                )
                for i in range(rows)
                for j in range(cols)
            ]  # each (O, C)
            kernel_gradient = ops.transpose(
                ops.reshape(ops.stack(offsets), (rows, cols, filters, channels)), (0, 1, 3, 2)
            )
            return ops.conv(padded, flipped), kernel_gradient

        return ops.conv(x, kernel), gradient

    return conv(x, kernel)


def _windows(x, pool_size, strides, rows, cols):
    """The ``pool_size**2`` strided slices ``(B, rows, cols, C)`` of ``x``, row-major offsets."""
    return [
        x[:, i : i + (rows - 1) * strides + 1 : strides, j : j + (cols - 1) * strides + 1 : strides]
        for i in range(pool_size)
        for j in range(pool_size)
    ]


def _sliced_max_pool(x, pool_size, strides, rows, cols):
    """Valid max-pool of ``(B, H, W, C)`` to ``(B, rows, cols, C)`` from strided slices.

    The forward pass keeps, per output, which offset of its window held the
    maximum (the first one on ties, as ``select_and_scatter``); the gradient
    sends each output's gradient there alone. XLA's own gradient of the
    slices' maximum splits ties and recomputes the whole chain of maxima in
    one fusion: CCT-7/3x1's pool, ``(64, 34, 34, 256)`` with its conv and
    ReLU, forward and backward took 431 ms that way, 451 ms as
    ``reduce_window``, and 261 ms this way.
    """

    @ops.custom_gradient
    def pool(x):
        windows = _windows(x, pool_size, strides, rows, cols)
        best, offset = windows[0], ops.zeros(windows[0].shape, "int32")
        for index, window in enumerate(windows[1:], 1):
            better = ops.greater(window, best)
            best = ops.where(better, window, best)
            offset = ops.where(better, index, offset)

        def gradient(*args, upstream=None):
            upstream = args[0] if upstream is None else upstream
            parts = [
                ops.where(ops.equal(offset, index), upstream, ops.zeros_like(upstream))
                for index in range(pool_size**2)
            ]
            return _place_windows(parts, x.shape, pool_size, strides)

        return best, gradient

    return pool(x)


def _place_windows(parts, shape, pool_size, strides):
    """Sums the window slices' ``(B, rows, cols, C)`` gradients back into a ``shape`` map.

    Input row ``strides * r + a`` of window offset ``a`` is row ``r + a //
    strides`` of phase ``a % strides``: each of the ``strides**2`` phases
    is a sum of shifted (zero-padded) parts, and interleaving the phases
    (stack, reshape) gives the map, with no scatter.
    """
    batch, rows, cols, channels = parts[0].shape
    reach = (pool_size - 1) // strides  # how far a window reaches past its phase row
    phases = {}
    for index, part in enumerate(parts):
        row_offset, col_offset = divmod(index, pool_size)
        shift = [(0, 0)]
        for offset in (row_offset, col_offset):
            shift.append((offset // strides, reach - offset // strides))
        phase = (row_offset % strides, col_offset % strides)
        part = ops.pad(part, shift + [(0, 0)])
        phases[phase] = part + phases[phase] if phase in phases else part
    phase_shape = (batch, rows + reach, cols + reach, channels)
    zeros = ops.zeros(phase_shape, parts[0].dtype)
    interleaved = ops.stack(
        [
            ops.stack([phases.get((i, j), zeros) for j in range(strides)], axis=3)
            for i in range(strides)
        ],
        axis=2,
    )  # (B, rows + reach, strides, cols + reach, strides, C)
    full = ops.reshape(
        interleaved, (batch, (rows + reach) * strides, (cols + reach) * strides, channels)
    )
    _, height, width, _ = shape
    full = full[:, :height, :width]
    return ops.pad(full, [(0, 0), (0, height - full.shape[1]), (0, width - full.shape[2]), (0, 0)])


def _jax_cpu():
    """Whether this is the JAX backend on a CPU."""
    return keras.backend.backend() == "jax" and _first_device_is_cpu()


@functools.cache
def _first_device_is_cpu():
    return keras.distribution.list_devices()[0].startswith("cpu")


def attention_path(training):
    """The fastest of :data:`ATTENTION_PATHS` on this backend and device.

    ``"fused"`` is ``keras.ops.dot_product_attention``: PyTorch's fused
    kernels on every device, cuDNN or splash attention on JAX GPUs and TPUs.
    On JAX's CPU and on TensorFlow (every device) it is a generic graph in a
    layout that costs transposes, slower than the compositions here, as
    ``benchmarks/kernels.py`` measures on NesT-T's first level (batch 8,
    2-core CPU, ms per call of fused / deferred / softmax):

    - JAX on CPU: inference 115 / 47 / 83, training 387 / 318 / 275;
    - TensorFlow: inference 54 / 49 / 43, training 208 / 195 / 149;
    - PyTorch: inference 61 / 205 / 98, training 182 / 435 / 239.
    """
    if _jax_cpu():
        return "softmax" if training else "deferred"
    if keras.backend.backend() == "tensorflow":
        return "softmax"
    return "fused"


def attention_logits(q, k, bias=None):
    """``q kᵀ (+ bias)``: ``(B, G, M, d)`` scaled queries and ``(B, G, N, d)`` keys
    give ``(B, G, M, N)`` logits; ``bias`` broadcasts to that shape."""
    logits = ops.matmul(q, ops.swapaxes(k, -1, -2))
    return logits if bias is None else logits + ops.cast(bias, logits.dtype)


def softmax_attention(q, k, v, dropout=None, bias=None):
    """Softmax attention written out; returns the output, the weights and the logits.

    Args:
        q: ``(B, G, M, d)`` queries, already scaled.
        k, v: ``(B, G, N, d)`` keys and values of the same ``G`` groups.
        dropout: optional callable applied to the weights before the value product.
        bias: optional additive bias of the logits, broadcastable to ``(B, G, M, N)``.

    Returns:
        ``(B, G, M, d)`` outputs, the ``(B, G, M, N)`` weights before dropout
        (softmax in float32, cast to the values' dtype) and the logits they
        came from (bias included).
    """
    logits = attention_logits(q, k, bias)
    weights = ops.cast(ops.softmax(ops.cast(logits, "float32"), axis=-1), v.dtype)
    dropped = weights if dropout is None else dropout(weights)
    return ops.matmul(dropped, v), weights, logits


def deferred_softmax_attention(q, k, v, bias=None):
    """Softmax attention normalised after the value product (shapes as :func:`softmax_attention`).

    ``exp(l - max l) @ v / sum exp(l - max l)`` divides ``(M, d)`` outputs
    instead of ``(M, N)`` weights: the same result up to float rounding, with
    one pass less over the largest tensor. Returns the outputs only.
    """
    logits = ops.cast(attention_logits(q, k, bias), "float32")
    weights = ops.exp(logits - ops.max(logits, axis=-1, keepdims=True))
    total = ops.sum(weights, axis=-1, keepdims=True)
    return ops.matmul(ops.cast(weights, v.dtype), v) / ops.cast(total, v.dtype)


def gelu(x, approximate=False):
    """GELU: ``x * Phi(x)``, or its tanh approximation with ``approximate=True``.

    The exact form is written ``x/2 * (1 + erf(x / sqrt 2))`` as PyTorch
    computes it: XLA (JAX, TensorFlow) compiles that to a faster kernel than
    ``ops.gelu``'s ``erfc`` form (an MLP at NesT-T's first level: 51 against
    63 ms on JAX, 33 against 39 on TensorFlow), while PyTorch runs eagerly and
    its one native kernel is faster (53 against 121 ms). Within
    :func:`exporting` on JAX, ``ops.gelu``.
    """
    if approximate or keras.backend.backend() == "torch" or _exporting_from_jax():
        return ops.gelu(x, approximate=approximate)
    half = ops.cast(0.5, x.dtype)
    return half * x * (1 + ops.erf(x * ops.cast(0.5**0.5, x.dtype)))


def dropout(layer, x, training):
    """``keras.layers.Dropout`` ``layer`` on ``x``, its keep mask drawn faster on JAX.

    The same operation (each element kept with probability ``1 - rate`` and
    scaled by ``1 / (1 - rate)``, independently), from another random stream.
    On JAX, Keras draws the mask with threefry, 20 rounds of 32-bit
    arithmetic per number in XLA ops, and even XLA's own bit generator
    (``rbg``) takes 280 ms for a ``(64, 4, 256, 256)`` mask on a 2-core CPU
    (CCT-7/3x1's attention dropout draws seven such masks a training step).
    Here the mask is a counter-based hash (:func:`_hashed_bits`) of each
    element's index, keyed by the layer's next seed: a few integer
    operations per element that XLA fuses into the select (32 ms for that
    mask, the division by ``1 - rate`` included; 31 ms without any mask).
    Other backends, JAX within :func:`exporting`, and tensors of ``2**32``
    elements or more (the counter would repeat) call the layer.
    """
    if not training or layer.rate == 0:
        return x
    if keras.backend.backend() != "jax" or _exporting_from_jax() or math.prod(x.shape) >= 2**32:
        return layer(x, training=training)
    seed = ops.cast(layer.seed_generator.next(), "uint32")  # (2,): the layer's next seed
    index = ops.reshape(ops.arange(math.prod(x.shape), dtype="uint32"), ops.shape(x))
    keep = 1.0 - layer.rate
    threshold = min(round(keep * 2**32), 2**32 - 1)  # P(bits < threshold) = keep
    kept = ops.less(_hashed_bits(index, seed), ops.cast(threshold, "uint32"))
    return ops.where(kept, x / ops.cast(keep, x.dtype), ops.zeros_like(x))


def _mix(bits):
    """A 32-bit integer finaliser (lowbias32: xor-shift, multiply, three times).

    A bijection of ``uint32`` in which each input bit flips each output bit
    with probability close to 1/2 (C. Wellons, "Hash function prospector").
    """
    bits = ops.bitwise_xor(bits, ops.right_shift(bits, 16))
    bits = ops.multiply(bits, ops.cast(0x7FEB352D, "uint32"))
    bits = ops.bitwise_xor(bits, ops.right_shift(bits, 15))
    bits = ops.multiply(bits, ops.cast(0x846CA68B, "uint32"))
    return ops.bitwise_xor(bits, ops.right_shift(bits, 16))


def _hashed_bits(index, seed):
    """32 random-looking bits per ``uint32`` counter in ``index``, keyed by a ``(2,)`` seed.

    ``mix(mix(index ^ k0) + k1)`` with keys made from the two seed words:
    distinct indices give distinct first rounds (``mix`` is a bijection), so
    the elements of one call never share a draw, and a new seed gives new
    bits everywhere.
    """
    key0 = _mix(seed[0])
    key1 = _mix(ops.bitwise_xor(seed[1], key0))
    return _mix(ops.add(_mix(ops.bitwise_xor(index, key0)), key1))
