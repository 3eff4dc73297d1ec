"""Gradients of class logits with respect to a tapped model's taps, on each backend.

The one module of :mod:`keras_nest.explain` that speaks to the backend: Keras
has no backend-neutral gradient. Everything else is ``keras.ops`` and numpy.
"""

import weakref

import keras
import numpy as np
from keras import ops

from keras_nest.explain.taps import tapped_model

_RUNS = weakref.WeakKeyDictionary()  # model -> {layer names: run}


def _target(logits, classes):
    """``sum_b logits[b, classes[b]]``, and the classes: ``classes`` or, where
    None, each row's highest logit. Rows are independent, so the gradient of the
    sum gives every image its own class's gradient in one pass."""
    if classes is None:
        classes = ops.argmax(logits, axis=-1)
    picked = ops.take_along_axis(logits, ops.expand_dims(ops.cast(classes, "int32"), -1), axis=-1)
    return ops.sum(ops.cast(picked, "float32")), classes


def class_logit_gradients(model, layer_names):
    """:func:`logit_gradients` of ``tapped_model(model, layer_names)``, built (and,
    on jax, compiled) once per model and layers; it reads the weights as they are
    at each call."""
    runs = _RUNS.setdefault(model, {})
    key = tuple(layer_names)
    if key not in runs:
        runs[key] = logit_gradients(tapped_model(model, layer_names))
    return runs[key]


def logit_gradients(tapped):
    """A function of a batch giving the logits, the tapped features and the
    class logit's gradients at them; compiled once (on jax) for all batches.

    Args:
        tapped: a model from :func:`~keras_nest.explain.taps.tapped_model`.

    Returns:
        ``run(images, classes=None)``: images ``(B, H, W, C)`` numpy, classes
        ``(B,)`` per image or None for each image's predicted class; returns
        ``(logits, classes, features, gradients)`` as numpy arrays: logits
        ``(B, classes)``, classes ``(B,)``, and per tap its layer's output and
        ``d logits[b, classes[b]] / d output`` (each shaped as the output).
    """
    backend = {"jax": _jax, "tensorflow": _tensorflow, "torch": _torch}[keras.backend.backend()]
    compute = backend(tapped)
    numpy = keras.ops.convert_to_numpy

    def run(images, classes=None):
        zeros = [np.zeros((len(images), *tap.shape[1:]), tap.dtype) for tap in tapped.inputs[1:]]
        if classes is not None:
            classes = np.asarray(classes, "int32")
        logits, chosen, features, gradients = compute(images, zeros, classes)
        return (
            numpy(logits).astype("float32"),
            numpy(chosen).astype("int32"),
            [numpy(f).astype("float32") for f in features],
            [numpy(g).astype("float32") for g in gradients],
        )

    return run


def _jax(tapped):
    import jax

    def target(taps, trainable, frozen, images, classes):
        (logits, *features), _ = tapped.stateless_call(
            trainable, frozen, [images, *taps], training=False
        )
        value, chosen = _target(logits, classes)
        return value, (logits, chosen, features)

    gradient = jax.jit(jax.grad(target, has_aux=True))

    def compute(images, zeros, classes):
        trainable = [v.value for v in tapped.trainable_variables]  # the weights as they are now
        frozen = [v.value for v in tapped.non_trainable_variables]
        gradients, (logits, chosen, features) = gradient(zeros, trainable, frozen, images, classes)
        return logits, chosen, features, gradients

    return compute


def _tensorflow(tapped):
    import tensorflow as tf

    def compute(images, zeros, classes):
        taps = [tf.constant(zero) for zero in zeros]
        with tf.GradientTape() as tape:
            tape.watch(taps)
            logits, *features = tapped([tf.constant(images), *taps], training=False)
            value, chosen = _target(logits, classes)
        return logits, chosen, features, tape.gradient(value, taps)

    return compute


def _torch(tapped):
    import torch

    def compute(images, zeros, classes):
        taps = [ops.convert_to_tensor(zero).requires_grad_(True) for zero in zeros]
        with torch.enable_grad():
            logits, *features = tapped([ops.convert_to_tensor(images), *taps], training=False)
            value, chosen = _target(logits, classes)
            gradients = torch.autograd.grad(value, taps)
        return logits.detach(), chosen, [f.detach() for f in features], gradients

    return compute
