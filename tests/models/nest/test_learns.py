"""A CIFAR-layout NesT learns real data: scikit-learn's digits, held-out accuracy."""

import keras_nest
from examples.train_digits import compile_model
from keras_nest.data import load_digits


def test_cifar_layout_nest_learns_digits():
    # The CIFAR layout (1x1 patches, 4x4-token blocks, multi-query attention),
    # narrowed, on digits upsampled to 16x16: three levels of 16, 4 and 1 blocks.
    (x_train, y_train), (x_test, y_test) = load_digits(image_size=16)
    model = keras_nest.Nest(
        depths=(1, 1, 1),
        embed_dims=64,
        num_heads=2,
        patch_size=1,
        block_size=4,
        attention="multi_query",
        classes=10,
    )
    epochs, batch_size = 6, 32
    compile_model(model, steps=epochs * (len(x_train) // batch_size))  # the demo's recipe
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy >= 0.90, accuracy
