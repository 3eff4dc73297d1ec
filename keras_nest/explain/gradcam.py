"""Grad-CAM (Selvaraju et al., 2017) on NesT's final feature map."""

import numpy as np

from keras_nest.explain import checks
from keras_nest.explain.gradients import class_logit_gradients
from keras_nest.explain.result import Explanation, to_heatmaps
from keras_nest.explain.taps import classifier_layer

FEATURE_MAP = "deblockify"  # NesT's normalised top level as a (B, h, w, C) map


def gradcam(model, images, class_index=None, batch_size=32):
    """Grad-CAM on a NesT's final feature map ``F`` ``(B, h, w, C)``.

    Channel weights are the class logit's gradient averaged over the map,
    ``w_c = mean_hw dY_c / dF_c``; the map is ``ReLU(sum_c w_c F_c)``,
    resized bilinearly to the input and divided by its maximum.

    Args, errors: as :func:`~keras_nest.explain.gradcat`.

    Returns:
        An :class:`~keras_nest.explain.Explanation` (heatmaps and classes).
    """
    checks.check_method(model, "gradcam")
    images = checks.check_images(model, images)
    classes = checks.check_classes(class_index, len(images), classifier_layer(model).units)
    run = class_logit_gradients(model, [FEATURE_MAP])
    chosen, maps = [], []
    for start in range(0, len(images), batch_size):
        batch = slice(start, start + batch_size)
        _, picked, (features,), (gradients,) = run(
            images[batch], None if classes is None else classes[batch]
        )
        weights = gradients.mean(axis=(1, 2))  # (B, C)
        maps.append(np.maximum(np.einsum("bhwc,bc->bhw", features, weights), 0.0))
        chosen.append(picked)
    heatmaps = to_heatmaps(np.concatenate(maps), images.shape[1:3])
    return Explanation("gradcam", heatmaps, np.concatenate(chosen))
