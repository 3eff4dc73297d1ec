"""The localisation benchmark, reduced: a NesT trained on digits placed on a noisy
canvas, then GradCAT's path must end on the digit far more often than chance."""

import numpy as np
import pytest

from benchmarks.localisation import digit_split, localisation_nest, noisy_canvas, train
from keras_nest import explain
from tests.conftest import BACKEND


@pytest.mark.skipif(BACKEND != "tensorflow", reason="trains once, in the tensorflow run")
def test_gradcat_finds_the_digit_far_above_chance():
    train_digits, (scans, labels) = digit_split()
    images, labels, boxes = noisy_canvas(scans[:200], labels[:200], seed=7)
    model = localisation_nest(seed=0)
    train(model, train_digits, epochs=3, seed=0)
    accuracy = np.mean(np.argmax(model.predict(images, verbose=0), axis=-1) == labels)
    hits = {
        score: explain.pointing_game(explain.gradcat(model, images, score=score).heatmaps, boxes).mean()
        for score in ("absolute", "signed")
    }
    random = np.mean((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])) / 32**2
    print(f"accuracy {accuracy:.1%}, GradCAT hits {hits}, random {random:.1%}")
    assert accuracy >= 0.8, accuracy  # 90.5% measured; 98% after a 4th epoch
    assert random == 0.25  # a 16x16 digit on a 32x32 canvas
    # The full benchmark (6 epochs, 3 seeds): 95.4% against 25% at random; 97% measured here.
    assert hits["absolute"] >= 0.75, hits
    assert hits["absolute"] > hits["signed"] + 0.2, hits
