"""CCT-2/3x2 learns real data from scratch: scikit-learn's digits, held-out accuracy."""

import os

import keras
import pytest
import tensorflow as tf

import keras_nest
from examples.train_digits import compile_model
from keras_nest.data import load_digits
from tests.conftest import BACKEND

EPOCHS, BATCH_SIZE = 30, 32


def augmented_batches(images, targets, seed=0):
    """Shuffled batches, each image shifted by up to 10% and turned by up to 18 degrees.

    Keras core's augmentation layers in a tf.data pipeline (any backend): the
    shifts and turns a hand-written digit survives, the kind of augmentation
    the authors rely on to train from scratch on small data.
    """
    augment = keras.layers.Pipeline(
        [
            keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=seed),
            keras.layers.RandomRotation(0.05, fill_mode="constant", seed=seed + 1),
        ]
    )
    return (
        tf.data.Dataset.from_tensor_slices((images, targets))
        .shuffle(len(images), seed=seed)
        .batch(BATCH_SIZE, drop_remainder=True)
        .map(lambda x, y: (augment(x, training=True), y))
        .prefetch(2)
    )


# JAX on this CPU trains it at half TensorFlow's speed (about 250 s against 120 s), more
# than the 30-minute CI budget holds; KERAS_NEST_ALL_LEARNING=1 runs it on any backend
# (it reached 97.2% on jax).
@pytest.mark.skipif(
    BACKEND != "tensorflow" and os.environ.get("KERAS_NEST_ALL_LEARNING") != "1",
    reason="runs in the tensorflow run (JAX on CPU is 2x slower); KERAS_NEST_ALL_LEARNING=1",
)
def test_cct_2_learns_digits_from_scratch():
    (x_train, y_train), (x_test, y_test) = load_digits(image_size=32)
    model = keras_nest.create_model("cct_2_3x2_32")  # the authors' dropouts and depth
    # The demo's AdamW, warmup and cosine, with the authors' label smoothing 0.1.
    compile_model(
        model,
        steps=EPOCHS * (len(x_train) // BATCH_SIZE),
        learning_rate=3e-3,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
    )
    batches = augmented_batches(x_train, keras.utils.to_categorical(y_train, 10))
    model.fit(batches, epochs=EPOCHS, verbose=0)
    _, accuracy = model.evaluate(x_test, keras.utils.to_categorical(y_test, 10), verbose=0)
    print(f"cct_2_3x2_32 on digits: {accuracy:.2%} held-out")
    # 97.2% (jax) and 98.1% (tensorflow) with this seed; 96.9-98.6% over seven
    # seeds on both backends. 95% is the bar issue 3 sets.
    assert accuracy >= 0.95, accuracy
