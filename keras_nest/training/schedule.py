"""The papers' learning-rate schedule: linear warmup, cosine decay, an optional cool-down."""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_nest")
class WarmupCosineDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup to ``peak``, cosine decay to ``end``, then ``end`` until the last step.

    ``lr(s)`` for optimizer step ``s``:

    - ``s < warmup_steps``: ``start + (peak - start) * s / warmup_steps``;
    - then ``end + (peak - end) * (1 + cos(pi * t)) / 2`` with
      ``t = (s - warmup_steps) / (decay_steps - warmup_steps)``, clipped to 1,
      so steps past ``decay_steps`` stay at ``end`` (timm's cool-down epochs).

    NesT: ``start = end = 0``; the Compact Transformers: ``start`` 1e-5 or
    1e-6 and ``end`` 1e-5 with 10 cool-down epochs after the cosine.

    Args:
        peak: learning rate at the end of the warmup.
        decay_steps: step at which the cosine reaches ``end``.
        warmup_steps: steps of linear warmup.
        start: learning rate at step 0.
        end: final learning rate.
    """

    def __init__(self, peak, decay_steps, warmup_steps=0, start=0.0, end=0.0):
        if not 0 <= warmup_steps <= decay_steps:
            raise ValueError(
                f"warmup_steps must be in [0, decay_steps={decay_steps}], got {warmup_steps}."
            )
        self.peak = peak
        self.decay_steps = decay_steps
        self.warmup_steps = warmup_steps
        self.start = start
        self.end = end

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warmup = max(self.warmup_steps, 1)
        warming = self.start + (self.peak - self.start) * step / warmup
        progress = (step - self.warmup_steps) / max(self.decay_steps - self.warmup_steps, 1)
        progress = ops.clip(progress, 0.0, 1.0)
        cosine = self.end + (self.peak - self.end) * 0.5 * (1.0 + ops.cos(math.pi * progress))
        return ops.where(step < self.warmup_steps, warming, cosine)

    def get_config(self):
        return dict(
            peak=self.peak,
            decay_steps=self.decay_steps,
            warmup_steps=self.warmup_steps,
            start=self.start,
            end=self.end,
        )
