"""A CIFAR-layout NesT learns real data: scikit-learn's digits, held-out accuracy."""

from examples.train_digits import IMAGE_SIZE, build_model, compile_model
from keras_nest.data import load_digits


def test_cifar_layout_nest_learns_digits():
    # The demo's model (the CIFAR layout narrowed: 1x1 patches, 4x4-token blocks,
    # multi-query attention, three levels of 16, 4 and 1 blocks) with fewer epochs.
    (x_train, y_train), (x_test, y_test) = load_digits(image_size=IMAGE_SIZE)
    model = build_model()
    epochs, batch_size = 6, 32
    compile_model(model, steps=epochs * (len(x_train) // batch_size))  # the demo's recipe
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy >= 0.90, accuracy
