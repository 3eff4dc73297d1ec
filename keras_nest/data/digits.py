"""scikit-learn's handwritten digits as small colour images, with a fixed split.

1,797 real 8x8 scans of the digits 0-9, shipped inside scikit-learn (no
download), upsampled to ``image_size`` by pixel repetition and repeated over
three channels so that image models take them as they take CIFAR.
"""

import numpy as np

DIGITS_CLASSES = 10


def load_digits(image_size=32, test_fraction=0.2, seed=0):
    """The digits as ``((x_train, y_train), (x_test, y_test))``.

    Args:
        image_size: output edge; a multiple of 8.
        test_fraction: share of the images held out, drawn class-stratified.
        seed: seed of the split; the default gives the project's fixed split.

    Returns:
        ``x`` of shape ``(n, image_size, image_size, 3)``, float32 in [0, 1];
        ``y`` of shape ``(n,)``, int32 labels 0-9.
    """
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError as error:
        raise ImportError(
            "The digits data set ships with scikit-learn: pip install 'keras-nest[data]'."
        ) from error
    if image_size % 8:
        raise ValueError(f"image_size must be a multiple of 8, got {image_size}.")
    digits = sklearn_digits()
    scale = image_size // 8
    images = digits.images.astype("float32") / 16.0
    images = images.repeat(scale, axis=1).repeat(scale, axis=2)
    images = np.repeat(images[..., None], 3, axis=-1)
    labels = digits.target.astype("int32")

    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), bool)
    for digit in range(DIGITS_CLASSES):
        members = rng.permutation(np.flatnonzero(labels == digit))
        test[members[: round(len(members) * test_fraction)]] = True
    return (images[~test], labels[~test]), (images[test], labels[test])
