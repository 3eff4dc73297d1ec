"""Random erasing with Keras's outcomes, computed only where the boxes are."""


class Erasing:
    """``keras.layers.RandomErasing`` on each image of a batch with a given chance.

    Each image is erased with chance ``probability``; an erased one as by
    Keras's layer (``factor=1.0``): the box's width and height are
    ``sqrt(u) W`` and ``sqrt(v) H`` with ``u, v ~ U(scale)``, its corner
    uniform among the places where it fits (fractional: the pixels whose index
    lies in ``[start, start + length)`` are erased), and each erased pixel and
    channel gets ``N(0, 1) * value_range[1]`` clipped to ``value_range``.

    Keras's layer draws that noise for every pixel of every image of the
    batch and selects with full-size masks. Here the noise is drawn for a
    window just large enough for the largest box, for the erased images
    alone; each box's window is read from the batch, filled and written back
    (a gather and a scatter of the windows' pixels).

    Args:
        probability: the chance of each image.
        scale: range of the box's area as a share of the image's.
        value_range: the pixels' range; the noise's scale is its upper end.
        seed: seed of the draws (None: random).

    Call: ``images (B, H, W, C)`` float32, inside a ``tf.data`` function;
    returns the same shape. ``training`` is accepted, as by a Keras layer,
    and ignored: the images drawn are always erased.
    """

    def __init__(self, probability, scale=(0.02, 0.33), value_range=(0, 255), seed=None):
        self.probability, self.scale, self.value_range = probability, tuple(scale), value_range
        self.seed = seed

    def __call__(self, images, training=True):
        import tensorflow as tf

        from keras_nest.data.per_image import seed_offset

        shape = tf.shape(images)
        sizes = tf.stack([shape[2], shape[1]])  # (width, height): the boxes' x then y
        extent = tf.cast(sizes, tf.float32)
        chosen = tf.random.uniform(shape[:1], seed=seed_offset(self.seed, 0)) < self.probability
        erased = tf.cast(tf.where(chosen)[:, 0], tf.int32)  # (k,) indices in the batch
        count = tf.size(erased)
        # Per erased image: width share, height share (before the square root), x, y places.
        draws = tf.random.uniform((count, 4), seed=seed_offset(self.seed, 1))
        low, high = self.scale
        lengths = tf.sqrt(low + (high - low) * draws[:, :2]) * extent
        starts = draws[:, 2:] * (extent - lengths)  # (k, 2)
        ends = starts + lengths
        # A window of `windows` pixels holds any box (at most ceil(length) + 1 pixels a side),
        # placed at the box's first pixel, or against the far edge.
        windows = tf.minimum(sizes, tf.cast(tf.math.ceil(high**0.5 * extent), tf.int32) + 1)
        origins = tf.minimum(tf.cast(tf.math.ceil(starts), tf.int32), sizes - windows)

        def pixels(axis):  # (k, window): the window's pixel indices along x (0) or y (1)
            return origins[:, axis, None] + tf.range(windows[axis])[None, :]

        def inside(index, axis):  # (k, window): those within [start, end)
            index = tf.cast(index, tf.float32)
            return (index >= starts[:, axis, None]) & (index < ends[:, axis, None])

        xs, ys = pixels(0), pixels(1)
        box = inside(ys, 1)[:, :, None, None] & inside(xs, 0)[:, None, :, None]
        grid = (count, windows[1], windows[0])
        places = tf.stack(
            [
                tf.broadcast_to(erased[:, None, None], grid),
                tf.broadcast_to(ys[:, :, None], grid),
                tf.broadcast_to(xs[:, None, :], grid),
            ],
            axis=-1,
        )  # (k, window height, window width, 3): batch, row, column
        noise = tf.random.normal(tf.concat([grid, shape[3:]], 0), seed=seed_offset(self.seed, 2))
        noise = tf.clip_by_value(noise * float(self.value_range[1]), *map(float, self.value_range))
        filled = tf.where(box, noise, tf.gather_nd(images, places))
        return tf.tensor_scatter_nd_update(images, places, filled)
