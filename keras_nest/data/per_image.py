"""Per-image choices on whole batches: each image goes through the function it drew; the
seeds of such choices."""


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


def seed_offset(seed, step):
    """Another op-level seed from ``seed``: TensorFlow's random ops of one seed draw the
    same numbers, so each random choice made with ``tf.random`` gets its own."""
    return None if seed is None else seed + step
