"""Keras's RandAugment on whole batches, each image drawing its own operations."""


class PerImageRandAugment:
    """``keras.layers.RandAugment``'s operations and strengths, chosen image by image in a batch.

    Keras's layer draws its ``num_ops`` operations once per call, so on a
    batch every image would get the same ones; applied image by image it
    computes all eleven operations for every image and keeps one. Here each
    image draws its own operation at each of the ``num_ops`` steps; the batch
    is split by the operation drawn (``tf.dynamic_partition``), each part goes
    through that operation's Keras layer (the very sub-layers of the
    ``RandAugment`` given, which draw their strengths image by image), and the
    parts are stitched back in order. An image so undergoes the same
    operations with the same distribution of strengths as under Keras's layer
    applied to it alone, for a twelfth of the work, in a few large ops.

    Equalization is the one operation whose Keras layer pools over its whole
    input (one histogram per channel for the batch): it runs image by image.

    Args:
        randaugment: a ``keras.layers.RandAugment``; its sub-layers are used.
        seed: seed of the operation draws.

    Call: ``images (B, H, W, C)`` float32 in the layer's value range, inside
    a ``tf.data`` function; returns the same shape.
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

    def __call__(self, images):
        import tensorflow as tf

        count = tf.shape(images)[0]
        positions = tf.range(count)
        # One draw for all steps: two ops of one seed would draw the same numbers.
        draws = tf.random.uniform(
            (self.num_ops, count), 0, len(self.operations), dtype=tf.int32, seed=self.seed
        )
        for choices in tf.unstack(draws, num=self.num_ops):
            parts = tf.dynamic_partition(images, choices, len(self.operations))
            where = tf.dynamic_partition(positions, choices, len(self.operations))
            parts = [_apply(layer, part) for layer, part in zip(self.operations, parts)]
            images = tf.ensure_shape(tf.dynamic_stitch(where, parts), images.shape)
        return images


def _apply(layer, images):
    """``layer`` on the batch ``images`` (B, H, W, C); image by image where it pools over it."""
    import keras
    import tensorflow as tf

    if isinstance(layer, keras.layers.Equalization):
        return tf.map_fn(
            lambda image: tf.cast(layer(image, training=True), tf.float32),
            images,
            fn_output_signature=tf.float32,
        )
    return tf.cast(layer(images, training=True), tf.float32)
