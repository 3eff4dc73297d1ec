"""SavedModel export with image signatures, through Keras's ``ExportArchive`` (jax or tensorflow).

    keras_nest.export.export_saved_model(model, "served/nest_tiny")
    served = tf.saved_model.load("served/nest_tiny")      # no keras_nest needed
    served.signatures["serving_default"](images=uint8_batch)["top_names"]

Signatures (``N`` images, ``C`` classes, ``k = min(5, C)``, ``S`` the model's size):

- ``serving_default(images)``: ``(N, H, W, 3)`` uint8 of any height and
  width, resized and centre-cropped to ``S`` and normalised as evaluation
  does (:class:`~keras_nest.export.ServingConfig`);
- ``serve_preprocessed(images)``: ``(N, S, S, 3)`` float32, already prepared;
- ``forward`` (a function of the loaded object, no signature): the model's own
  call, float32 images to its outputs.

Each returns ``probabilities (N, C)`` float32, ``top_classes (N, k)``
int32, ``top_probabilities (N, k)`` and, where class names are known,
``top_names (N, k)`` strings. A DVT cascade of ``K`` exits also returns
``exit_probabilities (N, K, C)`` and ``exit (N,)`` int32, the 0-based exit
each image takes under the stored thresholds (``probabilities`` is that
exit's); ``serve_with_thresholds(images, thresholds)`` takes ``(K - 1,)``
float32 thresholds with the uint8 images. The graph computes every exit:
the saving of dynamic inference is :class:`keras_nest.DynamicPredictor`'s.
A wrong rank, channel count or size is refused with a message saying what
the signature takes; a wrong dtype, by TensorFlow, naming the one expected.
"""

import numpy as np

from keras_nest.export.serving import outputs_probabilities, serving_config

PREPROCESSED = "serve_preprocessed"


def export_saved_model(model, path, serving=None, thresholds=None, verbose=False):
    """Writes ``model`` as a SavedModel with the image signatures above; returns ``path``.

    Args:
        model: a keras_nest classifier built on the jax or tensorflow backend
            (softmax or logits head; logits are turned into probabilities).
        path: the SavedModel directory to write.
        serving: a :class:`~keras_nest.export.ServingConfig`; default
            ``serving_config(model)`` (a registry model's own preprocessing).
        thresholds: a DVT cascade's ``K - 1`` thresholds in [0, 1] for
            ``serving_default``; None: every image takes the last exit.
        verbose: print Keras's export summary.

    Raises:
        ValueError: the torch backend, a model without a classifier, thresholds
            for a model that is no cascade or of the wrong count.
    """
    import keras
    import tensorflow as tf

    from keras_nest.layers.compute_paths import exporting

    check_backend("SavedModel")
    serving = serving or serving_config(model)
    exits = len(model.outputs)
    stored = _stored_thresholds(model, exits, thresholds)
    softmax = not outputs_probabilities(model)
    size = serving.image_size
    archive = keras.export.ExportArchive()
    with exporting():
        forward = archive.track_and_add_endpoint(
            "forward",
            model,
            [keras.InputSpec(shape=(None, size, size, 3), dtype="float32")],
        )

        def classify(images, exit_thresholds):
            outputs = forward(images)
            outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
            if softmax:
                outputs = [tf.nn.softmax(tf.cast(o, tf.float32), axis=-1) for o in outputs]
            return _ranked(outputs, exit_thresholds, serving)

        def prepare(images):
            images = _check_images(images, "uint8 images (N, H, W, 3)", None)
            images = _center_crop(images, serving)
            mean = tf.constant(serving.mean, tf.float32)
            std = tf.constant(serving.std, tf.float32)
            return (images / 255.0 - mean) / std

        # Shapes are left open in the specs, so that the graph checks them at run time
        # (signatures do not) with a message; a declared shape would be trusted instead.
        uint8_images = tf.TensorSpec(None, tf.uint8, name="images")
        float_images = tf.TensorSpec(None, tf.float32, name="images")

        @tf.function(input_signature=[uint8_images])
        def serve(images):
            return classify(prepare(images), tf.constant(stored))

        @tf.function(input_signature=[float_images])
        def serve_preprocessed(images):
            images = _check_images(images, f"float32 images (N, {size}, {size}, 3)", size)
            return classify(images, tf.constant(stored))

        archive.add_endpoint("serving_default", serve)
        archive.add_endpoint(PREPROCESSED, serve_preprocessed)
        if exits > 1:
            thresholds_spec = tf.TensorSpec((exits - 1,), tf.float32, name="thresholds")

            @tf.function(input_signature=[uint8_images, thresholds_spec])
            def serve_with_thresholds(images, thresholds):
                return classify(prepare(images), thresholds)

            archive.add_endpoint("serve_with_thresholds", serve_with_thresholds)
        # Serving needs no gradients: tracing them for the saved functions took most of
        # the time of writing (with JAX, of the converted program as well).
        options = tf.saved_model.SaveOptions(experimental_custom_gradients=False)
        archive.write_out(str(path), options=options, verbose=verbose)
    return str(path)


def check_backend(what):
    import keras

    backend = keras.backend.backend()
    if backend not in ("jax", "tensorflow"):
        raise ValueError(
            f"{what} export runs on the jax or tensorflow backend, not {backend}: build the "
            "model with KERAS_BACKEND=jax or tensorflow (weights load on any backend)."
        )


def _stored_thresholds(model, exits, thresholds):
    """``(K - 1,)`` float32 thresholds a cascade's default signature applies."""
    from keras_nest.dynamic.thresholds import check_thresholds

    if thresholds is None:
        return np.full(exits - 1, np.inf, "float32")  # nobody leaves early
    if exits == 1:
        raise ValueError(f"thresholds apply to DVT cascades; {model.name!r} has one output.")
    return check_thresholds(thresholds, exits).astype("float32")


def _check_images(images, expected, size):
    """``images`` once checked to be a rank-4 RGB batch (of ``size`` where given), else the
    call fails with a message saying what the signature takes and the shape it got."""
    import tensorflow as tf

    shape = tf.shape(images)
    fits = tf.logical_and(tf.equal(tf.size(shape), 4), tf.equal(shape[-1], 3))
    if size is not None:
        fits = tf.logical_and(fits, tf.reduce_all(tf.equal(shape[-3:-1], size)))
    message = f"This signature takes {expected}; got shape"
    with tf.control_dependencies([tf.debugging.Assert(fits, [message, shape])]):
        return tf.ensure_shape(tf.identity(images), (None, size, size, 3))


def _center_crop(images, serving):
    from keras_nest.data.pipeline import center_crop

    return center_crop(images, serving.image_size, serving.crop_ratio, serving.interpolation)


def _ranked(outputs, thresholds, serving):
    """The signature's outputs from ``K`` ``(N, C)`` probability tensors (see the module)."""
    import tensorflow as tf

    if len(outputs) == 1:
        probabilities = outputs[0]
        result = {}
    else:
        stacked = tf.stack(outputs, axis=1)  # (N, K, C)
        confidence = tf.reduce_max(stacked[:, :-1], axis=-1)  # (N, K - 1)
        leaves = tf.concat(
            [confidence >= thresholds, tf.ones_like(confidence[:, :1], tf.bool)], axis=1
        )
        exit_numbers = tf.range(len(outputs), dtype=tf.int32)
        exit_taken = tf.reduce_min(tf.where(leaves, exit_numbers, len(outputs)), axis=1)  # first
        probabilities = tf.gather(stacked, exit_taken, batch_dims=1)
        result = {"exit_probabilities": stacked, "exit": exit_taken}
    top = tf.math.top_k(probabilities, k=serving.top)
    result.update(
        probabilities=probabilities,
        top_classes=top.indices,
        top_probabilities=top.values,
    )
    if serving.class_names is not None:
        result["top_names"] = tf.gather(tf.constant(serving.class_names), top.indices)
    return result
