"""The papers' training augmentation, made of Keras core layers for tf.data pipelines.

Any other Keras image layer (keras-cv's ``GridMask``, ``AugMix``, ... too) joins
them through ``Augmentation(extra_layers=...)``.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Augmentation:
    """What :func:`~keras_nest.data.load_dataset` adds to its crop and flip while training.

    The defaults are the NesT and Compact Transformers recipes (timm's
    ``rand-m9-mstd0.5``, mixup 0.8, cutmix 1.0, random erasing 0.25); label
    smoothing belongs to the loss.

    Each training image, float32 ``(H, W, 3)`` with pixels in [0, 255], is
    cropped and flipped (``load_dataset``); then each batch goes through:
    shift, turn, RandAugment, ``extra_layers`` in their order, erasing (last,
    as timm erases the finished image), and mixing. Every step runs on whole
    batches, every image with its own random draws (RandAugment's operations
    included, see :class:`~keras_nest.data.randaugment.PerImageRandAugment`),
    inside the tf.data pipeline, as TensorFlow ops, on every Keras backend.

    Attributes:
        translate: random shifts up to this fraction of each side (0: off).
        rotate: random turns up to this fraction of a full turn (0: off).
        randaugment_ops: operations per image (0: no RandAugment).
        randaugment_magnitude: their strength, out of 10.
        randaugment_fill: the grey that shear, shift and turn leave where
            they uncover the image (the papers' 128; see
            :func:`~keras_nest.data.randaugment.papers_randaugment`).
        mixup_alpha: MixUp's alpha (0: off).
        cutmix_alpha: CutMix's alpha (0: off).
        switch_prob: with both on, the chance a batch takes MixUp over CutMix.
        mix_off_epoch: no MixUp or CutMix from this epoch on (timm's
            ``--mixup-off-epoch``); None mixes throughout.
        erasing: chance an image gets a random box of noise (0: off).
        extra_layers: more Keras image layers (a list or tuple, kept as a
            tuple), each called on a batch ``(B, H, W, 3)`` with pixels in
            [0, 255] and ``training=True``, returning a batch of the same
            shape in that range (its dtype is cast back to float32); Keras's
            image layers draw their randomness image by image. Keras
            core's (``keras.layers.RandomContrast((0.3, 0.3))``) and keras-cv's
            (``keras_cv.layers.GridMask()``, ``AugMix(value_range=(0, 255))``,
            ``RandomCutout(0.5, 0.5)``) work under every backend. They keep
            their own seeds (``load_dataset``'s ``seed`` does not reach them).
            Python objects, they cannot be given by the command line's ``--set``.

    Raises:
        ValueError: when ``extra_layers`` holds something other than Keras layers.
    """

    translate: float = 0.0
    rotate: float = 0.0
    randaugment_ops: int = 2
    randaugment_magnitude: float = 9.0
    randaugment_fill: float = 128.0
    mixup_alpha: float = 0.8
    cutmix_alpha: float = 1.0
    switch_prob: float = 0.5
    mix_off_epoch: int | None = None
    erasing: float = 0.25
    extra_layers: tuple = ()

    def __post_init__(self):
        """``extra_layers`` as a tuple of Keras layers (see Raises)."""
        if not self.extra_layers:
            return
        import keras  # only here: the recipes make Augmentations where Keras is not loaded

        extra_layers = self.extra_layers
        if isinstance(extra_layers, list):
            extra_layers = tuple(extra_layers)
        if not isinstance(extra_layers, tuple):
            raise ValueError(
                "Augmentation.extra_layers takes a list or tuple of Keras layers; got "
                f"{type(extra_layers).__name__} (put one layer in a list)."
            )
        for layer in extra_layers:
            if not isinstance(layer, keras.layers.Layer):
                raise ValueError(
                    f"Augmentation.extra_layers takes Keras layers; got {layer!r} "
                    f"({type(layer).__name__})."
                )
        object.__setattr__(self, "extra_layers", extra_layers)  # frozen: set once, here

    @property
    def mixes(self):
        """True when batches mix images, so labels must be one-hot."""
        return self.mixup_alpha > 0 or self.cutmix_alpha > 0

    def layers(self, seed=None):
        """The batch steps in order: shift, turn, RandAugment, ``extra_layers``, erasing.

        Keras layers, except RandAugment: a
        :class:`~keras_nest.data.randaugment.PerImageRandAugment` around
        ``keras.layers.RandAugment`` (with the papers' constant fill), so that
        every image draws its own operations;
        and erasing: :class:`~keras_nest.data.erasing.Erasing`, Keras's
        ``RandomErasing`` on the images drawn to be erased, computed only in
        their boxes.
        """
        import keras

        from keras_nest.data.erasing import Erasing
        from keras_nest.data.per_image import seed_offset
        from keras_nest.data.randaugment import PerImageRandAugment, papers_randaugment

        layers = []
        if self.translate:
            layers.append(
                keras.layers.RandomTranslation(
                    self.translate, self.translate, fill_mode="constant", seed=seed
                )
            )
        if self.rotate:
            layers.append(keras.layers.RandomRotation(self.rotate, fill_mode="constant", seed=seed))
        if self.randaugment_ops:
            randaugment = papers_randaugment(
                self.randaugment_ops, self.randaugment_magnitude, self.randaugment_fill, seed
            )
            layers.append(PerImageRandAugment(randaugment, seed_offset(seed, 1)))
        layers.extend(self.extra_layers)
        if self.erasing:
            layers.append(Erasing(self.erasing, value_range=(0, 255), seed=seed_offset(seed, 2)))
        return layers

    def batch_augmenter(self, seed=None):
        """``augment(images) -> images``: the steps of :meth:`layers` on one batch, or None.

        ``images``: float32 ``(B, H, W, 3)``, pixels in [0, 255]; each image
        draws its own randomness. The layers are made here, outside the
        tf.data function that calls ``augment`` (they hold seed-generator state).
        """
        import tensorflow as tf

        steps = self.layers(seed)
        if not steps:
            return None

        def augment(images):
            shape = images.shape
            for step in steps:
                images = step(images, training=True)
                images = tf.ensure_shape(tf.cast(images, tf.float32), shape)
            return images

        return augment

    def batch_mixer(self, seed=None):
        """``mix(images, one_hot_labels) -> (images, labels)``: MixUp or CutMix per batch.

        The layers are made here, outside the tf.data function that calls
        ``mix`` (they hold seed-generator state).
        """
        import keras
        import tensorflow as tf

        mixup = keras.layers.MixUp(alpha=self.mixup_alpha, seed=seed) if self.mixup_alpha else None
        cutmix = keras.layers.CutMix(self.cutmix_alpha, seed=seed) if self.cutmix_alpha else None

        def mix(images, one_hot_labels):
            batch = {"images": images, "labels": one_hot_labels}
            if mixup and cutmix:
                use_mixup = tf.random.uniform((), seed=seed) < self.switch_prob
                mixed = tf.cond(use_mixup, lambda: mixup(batch), lambda: cutmix(batch))
            else:
                mixed = (mixup or cutmix)(batch)
            return mixed["images"], mixed["labels"]

        return mix


NO_AUGMENTATION = Augmentation(randaugment_ops=0, mixup_alpha=0.0, cutmix_alpha=0.0, erasing=0.0)
