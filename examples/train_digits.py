"""Train a NesT from scratch on real handwritten digits, then save and reload it.

The data: scikit-learn's 1,797 scans of the digits 0-9 (8x8, shipped with
scikit-learn, no download), upsampled to 16x16x3 by pixel repetition and split
80/20 with a fixed seed. The model: a CIFAR-layout NesT (1x1 patches, 4x4-token
blocks, multi-query attention) with three levels (16, 4 and 1 blocks), narrowed
to width 64 and one layer per level so that it trains in about a minute on two
CPU cores.

    python examples/train_digits.py [--epochs 8] [--workdir runs/demo]

Prints the held-out accuracy (exit status 1 if it is under 95%), saves the
model as a ``.keras`` file, reloads it and shows a few predictions.
"""

import argparse
import os
import time

import keras
import numpy as np

import keras_nest
from keras_nest.data import load_digits


IMAGE_SIZE = 16


def build_model():
    """A narrowed CIFAR-layout NesT for 16x16 digits (about 0.23M parameters)."""
    return keras_nest.Nest(
        depths=(1, 1, 1),
        embed_dims=64,
        num_heads=2,
        patch_size=1,
        block_size=4,
        attention="multi_query",
        classes=10,
        input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3),
        name="nest_digits",
    )


def compile_model(model, steps, learning_rate=2e-3, loss="sparse_categorical_crossentropy"):
    """AdamW with weight decay 0.05, 10% linear warmup then cosine decay to 0."""
    warmup = steps // 10
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, steps - warmup, warmup_target=learning_rate, warmup_steps=warmup
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.05),
        loss=loss,
        metrics=["accuracy"],
    )


def ascii_digit(image):
    """An 8x8 rendering of a digit, for the terminal."""
    step = image.shape[0] // 8
    small = image[::step, ::step, 0]
    return ["".join(" .:#"[min(int(v * 4), 3)] for v in row) for row in small]


def show_predictions(model, images, labels, count=6):
    probabilities = keras.ops.convert_to_numpy(model.predict(images[:count], verbose=0))
    pictures = [ascii_digit(image) for image in images[:count]]
    for row in range(8):
        print("   ".join(picture[row] for picture in pictures))
    for label, probs in zip(labels[:count], probabilities):
        guess = int(np.argmax(probs))
        mark = "ok" if guess == label else "WRONG"
        print(f"true {label} -> predicted {guess} ({probs[guess]:.1%}) {mark}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workdir", default="runs/demo")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = load_digits(image_size=IMAGE_SIZE)
    shape = "x".join(map(str, x_train.shape[1:]))
    print(f"digits: {len(x_train)} training and {len(x_test)} held-out images, {shape}")
    print(f"backend: {keras.backend.backend()}")

    model = build_model()
    print(f"{model.name}: {model.count_params():,} parameters")
    compile_model(model, steps=args.epochs * (len(x_train) // args.batch_size))
    start = time.time()
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs)
    print(f"trained in {time.time() - start:.0f} s")

    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"held-out accuracy: {accuracy:.2%}")

    os.makedirs(args.workdir, exist_ok=True)
    path = os.path.join(args.workdir, "nest_digits.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    same = np.allclose(
        keras.ops.convert_to_numpy(model.predict(x_test[:32], verbose=0)),
        keras.ops.convert_to_numpy(reloaded.predict(x_test[:32], verbose=0)),
        atol=1e-6,
    )
    print(f"saved {path}; reloaded model gives the same predictions: {same}")
    show_predictions(reloaded, x_test, y_test)
    if accuracy < 0.95 or not same:
        raise SystemExit("The demo missed its target (95% held-out accuracy, identical reload).")


if __name__ == "__main__":
    main()
