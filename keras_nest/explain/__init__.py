"""Explanations: which part of an image a model's prediction rests on.

    result = keras_nest.explain.gradcat(nest, images)      # NesT: tree traversal
    result = keras_nest.explain.gradcam(nest, images)      # NesT: Grad-CAM
    result = keras_nest.explain.rollout(vit, images)       # token models: attention rollout
    keras_nest.explain.plot(images, result, "explained.png")

Every method returns an :class:`Explanation` (heatmaps at input resolution,
the class explained and, for GradCAT, the path through the tree);
:func:`pointing_game` scores heatmaps against object boxes.
"""

from keras_nest.explain.checks import fitting_methods
from keras_nest.explain.gradcam import gradcam
from keras_nest.explain.gradcat import gradcat
from keras_nest.explain.plot import plot
from keras_nest.explain.rollout import rollout
from keras_nest.explain.result import Explanation, pointing_game, pointing_location
