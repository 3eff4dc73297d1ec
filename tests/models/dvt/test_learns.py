"""A small DVT learns real data (scikit-learn's digits): every exit, and the budget curve."""

import keras
import numpy as np

import keras_nest
from keras_nest.data import load_digits
from tests.conftest import BACKEND


def small_dvt():
    """Three exits on 2x2, 3x3 and 4x4 tokens of 16x16 digits (patches 8, 6 and 4)."""
    return keras_nest.DVT(
        token_grids=(2, 3, 4),
        embed_dim=48,
        depth=2,
        num_heads=2,
        mlp_ratio=2.0,
        drop_path_rate=0.0,
        classes=10,
        input_shape=(16, 16, 3),
        classifier_activation=None,
    )


def test_every_exit_learns_digits_and_calibration_trades_accuracy_for_cost():
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = load_digits(image_size=16)
    model = small_dvt()
    epochs, batch_size = 12, 32
    schedule = keras.optimizers.schedules.CosineDecay(
        3e-3, epochs * (len(x_train) // batch_size), warmup_target=None
    )
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(keras.optimizers.AdamW(schedule, weight_decay=0.05), loss=[loss] * 3)
    model.fit(x_train, [y_train] * 3, batch_size=batch_size, epochs=epochs, verbose=0)

    calibration = keras_nest.calibrate_thresholds(model, (x_test, y_test))
    accuracy = calibration.anytime_accuracy
    print(f"digits on {BACKEND}: exits {[f'{a:.1%}' for a in accuracy]}")
    assert min(accuracy) > 0.8, accuracy  # chance is 10%
    points = sorted(calibration.points, key=lambda point: point.macs)
    costs = np.array([point.macs for point in points])
    accuracies = np.array([point.accuracy for point in points])
    cheap, dear = accuracies[: len(points) // 4].mean(), accuracies[-len(points) // 4 :].mean()
    print(f"operating points: {cheap:.1%} at the cheapest quarter, {dear:.1%} at the dearest")
    assert costs[0] < costs[-1] and dear > cheap, (cheap, dear)
    assert np.corrcoef(costs, accuracies)[0, 1] > 0.5
