"""Per-image choices on whole batches: each image goes through the function it drew."""


def apply_by_group(images, groups, functions):
    """``functions[groups[i]]`` applied to image ``i``, each function once on its images.

    Args:
        images: ``(B, H, W, C)`` float32.
        groups: ``(B,)`` int32 in ``[0, len(functions))``.
        functions: each maps a batch ``(b, H, W, C)`` to one of the same shape;
            None leaves its images as they are.

    Returns:
        ``(B, H, W, C)`` float32, the images in their order.
    """
    import tensorflow as tf

    count = len(functions)
    # The images sorted by group (stably: each group keeps their order), cut into the
    # groups, and put back in order by the inverse permutation: two gathers, twice as
    # fast as tf.dynamic_partition and tf.dynamic_stitch on (64, 224, 224, 3).
    order = tf.argsort(groups, stable=True)
    sizes = tf.math.bincount(groups, minlength=count, maxlength=count)
    parts = tf.split(tf.gather(images, order), sizes, num=count)
    parts = [
        part if function is None else function(part) for function, part in zip(functions, parts)
    ]
    restored = tf.gather(tf.concat(parts, 0), tf.math.invert_permutation(order))
    return tf.ensure_shape(restored, images.shape)


class Sometimes:
    """A Keras image layer applied to each image of a batch with a given chance.

    Only the images chosen are computed, so a layer applied to a quarter of
    the images costs a quarter (Keras's ``RandomErasing`` makes its noise for
    the whole batch).

    Args:
        layer: a Keras image layer that always transforms (``RandomErasing``
            with ``factor=(1.0, 1.0)``, for one).
        probability: the chance of each image.
        seed: seed of the choices.

    Call: ``images (B, H, W, C)`` float32 inside a ``tf.data`` function; returns
    the same shape. ``training`` is accepted, as by a Keras layer, so that
    one call serves every augmentation step; the images are always transformed.
    """

    def __init__(self, layer, probability, seed=None):
        self.layer, self.probability, self.seed = layer, probability, seed

    def __call__(self, images, training=True):
        import tensorflow as tf

        chosen = tf.random.uniform(tf.shape(images)[:1], seed=self.seed) < self.probability
        transform = lambda part: tf.cast(self.layer(part, training=True), tf.float32)  # noqa: E731
        return apply_by_group(images, tf.cast(chosen, tf.int32), [None, transform])
