"""The papers' training augmentation, made of Keras core layers for tf.data pipelines."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Augmentation:
    """What :func:`~keras_nest.data.load_dataset` adds to its crop and flip while training.

    The defaults are the NesT and Compact Transformers recipes (timm's
    ``rand-m9-mstd0.5``, mixup 0.8, cutmix 1.0, random erasing 0.25); label
    smoothing belongs to the loss.

    Attributes:
        translate: random shifts up to this fraction of each side (0: off).
        rotate: random turns up to this fraction of a full turn (0: off).
        randaugment_ops: operations per image (0: no RandAugment).
        randaugment_magnitude: their strength, out of 10.
        mixup_alpha: MixUp's alpha (0: off).
        cutmix_alpha: CutMix's alpha (0: off).
        switch_prob: with both on, the chance a batch takes MixUp over CutMix.
        mix_off_epoch: no MixUp or CutMix from this epoch on (timm's
            ``--mixup-off-epoch``); None mixes throughout.
        erasing: chance an image gets a random box of noise (0: off).
    """

    translate: float = 0.0
    rotate: float = 0.0
    randaugment_ops: int = 2
    randaugment_magnitude: float = 9.0
    mixup_alpha: float = 0.8
    cutmix_alpha: float = 1.0
    switch_prob: float = 0.5
    mix_off_epoch: int | None = None
    erasing: float = 0.25

    @property
    def mixes(self):
        """True when batches mix images, so labels must be one-hot."""
        return self.mixup_alpha > 0 or self.cutmix_alpha > 0

    def image_layers(self, seed=None):
        """Per-image Keras layers on pixels in [0, 255]: shift, turn, RandAugment, erasing."""
        import keras

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
            layers.append(
                keras.layers.RandAugment(
                    value_range=(0, 255),
                    num_ops=self.randaugment_ops,
                    factor=self.randaugment_magnitude / 10.0,
                    seed=seed,
                )
            )
        if self.erasing:
            # A (p, p) pair applies with probability p exactly (a float samples it).
            probability = (self.erasing, self.erasing)
            layers.append(keras.layers.RandomErasing(probability, value_range=(0, 255), seed=seed))
        return layers

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
