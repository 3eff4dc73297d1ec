"""The class-logit gradients every explanation rests on, against finite differences,
on each backend (``keras_nest.explain.gradients`` is the one module with backend code)."""

import keras
import numpy as np
import pytest

from keras_nest.explain.checks import nest_levels
from keras_nest.explain.gradients import logit_gradients
from keras_nest.explain.taps import tapped_model
from tests.conftest import BACKEND
from tests.explain.models import images, tiny_nest

CLASSES = np.array([2, 0], "int32")


def directional_derivatives(model, batch, levels, epsilon, dtype):
    """``[(central difference, sum(gradient * d))]`` of the summed class logits along a
    random ``d`` (scaled to the features) at each of ``levels``."""
    tapped = tapped_model(model, nest_levels(model))
    logits, chosen, features, gradients = logit_gradients(tapped)(batch, CLASSES)
    assert chosen.tolist() == CLASSES.tolist() and logits.shape == (2, 3)
    rng = np.random.default_rng(0)

    def summed_logit(level, step):
        taps = [np.zeros(f.shape, dtype) for f in features]
        taps[level] = step.astype(dtype)
        out = keras.ops.convert_to_numpy(tapped([batch, *taps])[0]).astype("float64")
        return out[np.arange(2), CLASSES].sum()

    pairs = []
    for level in levels:
        assert gradients[level].shape == features[level].shape
        direction = np.sqrt(np.mean(features[level] ** 2)) * rng.normal(size=features[level].shape)
        step = epsilon * direction
        numeric = (summed_logit(level, step) - summed_logit(level, -step)) / (2 * epsilon)
        pairs.append((numeric, float((gradients[level] * direction).sum())))
    return pairs


@pytest.mark.skipif(BACKEND != "tensorflow", reason="float64 end to end: the tensorflow run")
def test_gradients_at_every_level_match_finite_differences_in_float64():
    """Every level, leaves included: in float64 the steps can be small enough that no
    max-pooling window of an aggregation changes its maximum on the way."""
    keras.config.set_dtype_policy("float64")
    try:
        model = tiny_nest()
        pairs = directional_derivatives(model, images(2), [0, 1, 2], 1e-4, "float64")
    finally:
        keras.config.set_dtype_policy("float32")
    for level, (numeric, analytic) in enumerate(pairs):
        assert numeric == pytest.approx(analytic, rel=2e-3), level


@pytest.mark.core
def test_top_level_gradient_matches_finite_differences():
    """The top level in float32 on every backend: from there to the logits every
    step is smooth (norm, pooling by mean, the classifier), so a step of 1% of the
    features' scale shows any error above 1%."""
    ((numeric, analytic),) = directional_derivatives(tiny_nest(), images(2), [2], 1e-2, "float32")
    assert numeric == pytest.approx(analytic, rel=1e-2)


@pytest.mark.core
def test_predicted_class_by_default_and_logits_before_the_softmax():
    model = tiny_nest()
    batch = images(3)
    logits, chosen, _, _ = logit_gradients(tapped_model(model, nest_levels(model)[-1:]))(batch)
    probabilities = model.predict(batch, verbose=0)
    softmax = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
    np.testing.assert_allclose(softmax, probabilities, atol=1e-5)
    assert chosen.tolist() == np.argmax(probabilities, axis=-1).tolist()
