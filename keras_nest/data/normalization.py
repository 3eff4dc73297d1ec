"""Per-data-set pixel statistics: what each family's checkpoints expect as input."""

from keras_nest.models.imagenet import IMAGENET_MEAN, IMAGENET_STD

# name: (mean, std) of pixels scaled to [0, 1].
NORMALIZATIONS = {
    "imagenet": (IMAGENET_MEAN, IMAGENET_STD),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4867, 0.4408), (0.2675, 0.2565, 0.2761)),
    "flowers102": ((0.4353, 0.3773, 0.2872), (0.2966, 0.2455, 0.2698)),
    "inception": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),  # [-1, 1], as ViT's original code
    "unit": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),  # [0, 1]
}


def normalization_constants(normalization):
    """``(mean, std)`` for a name in :data:`NORMALIZATIONS` or a ``(mean, std)`` pair.

    Raises:
        ValueError: for an unknown name.
    """
    if isinstance(normalization, str):
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {sorted(NORMALIZATIONS)} or a (mean, std) "
                f"pair, got {normalization!r}."
            )
        return NORMALIZATIONS[normalization]
    mean, std = normalization
    return tuple(mean), tuple(std)
