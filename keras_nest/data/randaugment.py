"""Keras's RandAugment on whole batches, each image drawing its own operations."""

from keras_nest.data.per_image import apply_by_group

# keras.layers.RandAugment's operations that move pixels, leaving uncovered ones to a fill.
GEOMETRIC_OPERATIONS = ("random_shear", "random_translation", "random_rotation")


def papers_randaugment(num_ops, magnitude, fill_value=128.0, seed=None):
    """``keras.layers.RandAugment`` whose shear, shift and turn fill with a grey, as the papers'.

    Keras's layer fills the pixels a geometric operation uncovers by
    reflecting the image; the papers' pipelines fill them with a constant:
    NesT's own RandAugment with 128, the Compact Transformers' (timm's
    ``rand-m9-mstd0.5-inc1``) with the data set's mean colour (its default,
    without one, is 128). Everything else is Keras's layer.

    Args:
        num_ops: operations per image.
        magnitude: their strength, out of 10 (Keras's ``factor`` is a tenth of it).
        fill_value: the constant, a pixel value in [0, 255].
        seed: seed of the layer's draws.

    Returns:
        ``keras.layers.RandAugment(value_range=(0, 255))`` for float32 images
        ``(B, H, W, C)``; see :class:`PerImageRandAugment` for whole batches.
    """
    import keras

    layer = keras.layers.RandAugment(
        value_range=(0, 255), num_ops=num_ops, factor=magnitude / 10.0, seed=seed
    )
    for name in GEOMETRIC_OPERATIONS:  # read at each call, and by get_config
        operation = getattr(layer, name)
        operation.fill_mode, operation.fill_value = "constant", float(fill_value)
    return layer


class PerImageRandAugment:
    """``keras.layers.RandAugment``'s operations and strengths, chosen image by image in a batch.

    Keras's layer draws its ``num_ops`` operations once per call, so on a
    batch every image would get the same ones; applied image by image it
    computes all eleven operations for every image and keeps one. Here each
    image draws its own operation at each of the ``num_ops`` steps; the batch
    is split by the operation drawn
    (:func:`~keras_nest.data.per_image.apply_by_group`), each part goes
    through that operation's Keras layer (the very sub-layers of the
    ``RandAugment`` given, which draw their strengths image by image), and the
    parts are stitched back in order. An image so undergoes the same
    operations with the same distribution of strengths as under Keras's layer
    applied to it alone, for a twelfth of the work, in a few large ops.

    Equalization is the one operation whose Keras layer pools over its whole
    input (one histogram per channel for the batch): :func:`equalize` does
    what the layer does to each image alone, for all images at once.

    Args:
        randaugment: a ``keras.layers.RandAugment``; its sub-layers are used.
        seed: seed of the operation draws.

    Call: ``images (B, H, W, C)`` float32 in the layer's value range, inside
    a ``tf.data`` function; returns the same shape. ``training`` is accepted,
    as by a Keras layer; the images are always transformed.
    """

    def __init__(self, randaugment, seed=None):
        names = getattr(type(randaugment), "_AUGMENT_LAYERS", None)
        if names is None:
            raise ValueError(
                f"{type(randaugment).__name__} does not list its operations as "
                "keras.layers.RandAugment does (_AUGMENT_LAYERS): pass Keras's own layer."
            )
        self.num_ops = randaugment.num_ops
        self.operations = [getattr(randaugment, name) for name in names]
        self.seed = seed

    def __call__(self, images, training=True):
        import tensorflow as tf

        count = tf.shape(images)[0]
        # One draw for all steps: two ops of one seed would draw the same numbers.
        draws = tf.random.uniform(
            (self.num_ops, count), 0, len(self.operations), dtype=tf.int32, seed=self.seed
        )
        steps = [lambda part, layer=layer: _apply(layer, part) for layer in self.operations]
        for choices in tf.unstack(draws, num=self.num_ops):
            images = apply_by_group(images, choices, steps)
        return images


def _apply(layer, images):
    """``layer`` on the batch ``images`` (B, H, W, C); Equalization image by image,
    AutoContrast in fewer passes."""
    import keras
    import tensorflow as tf

    if isinstance(layer, keras.layers.Equalization):
        return equalize(images, layer.value_range, layer.bins)
    if isinstance(layer, keras.layers.AutoContrast) and tuple(layer.value_range) == (0, 255):
        return auto_contrast(images)
    return tf.cast(layer(images, training=True), tf.float32)


def auto_contrast(images):
    """``keras.layers.AutoContrast(value_range=(0, 255))``, equal to it, in fewer passes.

    Each image's channel is stretched so that its lowest pixel becomes 0 and
    its highest 255 (``x * scale + offset``, clipped to [0, 255], as Keras
    computes it); a channel of one value stays as it is. Keras finds those
    channels by the NaNs its division makes, a further pass over the pixels
    or three; here the per-channel bounds of the clip say it (2.0 against
    0.9 ms an image at 224 px).

    Args:
        images: float32 ``(B, H, W, C)`` in [0, 255].

    Returns:
        float32 ``(B, H, W, C)``.
    """
    import tensorflow as tf

    low = tf.reduce_min(images, axis=(1, 2), keepdims=True)
    high = tf.reduce_max(images, axis=(1, 2), keepdims=True)
    flat = high == low  # (B, 1, 1, C)
    scale = tf.where(flat, 1.0, 255.0 / (high - low))
    offset = tf.where(flat, 0.0, -low * scale)
    infinity = float("inf")
    return tf.clip_by_value(
        images * scale + offset, tf.where(flat, -infinity, 0.0), tf.where(flat, infinity, 255.0)
    )


def equalize(images, value_range=(0, 255), bins=256):
    """``keras.layers.Equalization`` on every image alone, the batch in one pass.

    Per image and channel: a histogram of ``bins`` bins, its cumulative counts
    made into a lookup table stretched over [0, 255], each pixel mapped through
    it (a channel of one value stays as it is), with Keras's arithmetic
    (float64 table, rounded half to even). The table is taken back to the
    value range before the lookup, so the pixels gather their float32 results
    (1.1 against 1.7 ms an image at 224 px); the float64 pass over the pixels
    is made only for a batch with a channel of one value.

    Args:
        images: float32 ``(B, H, W, C)`` in ``value_range``.

    Returns:
        float32 ``(B, H, W, C)``, equal to Keras's layer applied to each image.
    """
    import tensorflow as tf

    low, high = (float(value) for value in sorted(value_range))
    scale = 255.0 / (high - low)
    scaled = images * scale - low * scale
    count, channels = tf.shape(images)[0], tf.shape(images)[-1]
    # One histogram row per (image, channel): bin index offset by the row.
    rows = tf.reshape(tf.range(count * channels), (count, 1, 1, channels)) * bins
    binned = tf.clip_by_value(tf.cast(scaled * (bins - 1) / 255.0, tf.int32), 0, bins - 1)
    histograms = tf.reshape(
        tf.math.bincount(tf.reshape(binned + rows, [-1]), minlength=count * channels * bins),
        (count * channels, bins),
    )
    cdf = tf.cast(tf.cumsum(histograms, axis=1), tf.float64)
    first = tf.gather(cdf, tf.argmax(tf.cast(cdf > 0, tf.int32), axis=1), batch_dims=1)[:, None]
    span = cdf[:, -1:] - first
    table = (cdf - first) * 255.0 / tf.where(span == 0, tf.ones_like(span), span)
    table = tf.clip_by_value(tf.round(table), 0.0, 255.0)
    # Keras's float64 arithmetic back to the value range, done on the table's entries:
    # each pixel then gathers its float32 result.
    table = tf.reshape(tf.cast(table * ((high - low) / 255.0) + low, tf.float32), [-1])
    lookup = tf.cast(tf.clip_by_value(scaled / 255.0 * (bins - 1), 0.0, bins - 1.0), tf.int32)
    equalized = tf.gather(table, lookup + rows)
    varied = tf.math.count_nonzero(histograms, axis=1) > 1  # (B * C,)

    def flat_channels_kept():  # a channel of one bin stays as it is, through float64
        kept = tf.cast(tf.cast(scaled, tf.float64) * ((high - low) / 255.0) + low, tf.float32)
        return tf.where(tf.reshape(varied, (count, 1, 1, channels)), equalized, kept)

    return tf.cond(tf.reduce_all(varied), lambda: equalized, flat_channels_kept)
