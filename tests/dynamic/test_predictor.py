"""DynamicPredictor against the full cascade, the work it really skips, and calibrate_thresholds."""

import json
import logging
import math

import keras
import numpy as np
import pytest

import keras_nest
from tests.conftest import BACKEND
from keras_nest.dynamic import (
    AUTHORS_QS,
    DynamicPredictor,
    calibrate_thresholds,
    exits_taken,
    operating_points,
)
from keras_nest.dynamic.predictor import chunk_plan

pytestmark = pytest.mark.core

N, BATCH, GRANULE = 37, 16, 4  # 37 rows: no multiple of any chunk


def tiny_cascade(token_grids=(2, 3, 4), classifier_activation=None):
    """A tiny random DVT whose exits' classifier kernels are scaled by 20, so confidences spread."""
    keras.utils.set_random_seed(0)
    model = keras_nest.DVT(
        token_grids=token_grids,
        embed_dim=32,
        depth=1,
        num_heads=2,
        mlp_ratio=1.0,
        classes=10,
        input_shape=(32, 32, 3),
        classifier_activation=classifier_activation,
    )
    for exit_model in model.exit_models:
        kernel = exit_model.get_layer("head").predictions.kernel
        kernel.assign(kernel * 20)
    return model


def softmax(logits):
    logits = np.asarray(logits, "float64")
    exp = np.exp(logits - logits.max(-1, keepdims=True))
    return exp / exp.sum(-1, keepdims=True)


def between(values, quantile):
    """Halfway between the two values around ``quantile``: a threshold with a margin."""
    values = np.sort(values)
    index = int(quantile * values.size)
    return (values[index - 1] + values[index]) / 2


def ceil_to(count, granule):
    return -(-count // granule) * granule


@pytest.fixture(scope="module")
def cascade():
    """The model, images, every exit's logits ``(K, n, C)`` and thresholds using all three exits."""
    model = tiny_cascade()
    images = np.random.default_rng(0).uniform(-1, 1, (N, 32, 32, 3)).astype("float32")
    logits = np.stack(model.predict(images, batch_size=N, verbose=0))
    confidences = softmax(logits).max(-1)
    thresholds = [between(confidences[0], 0.4), between(confidences[1], 0.7)]
    exits = exits_taken(confidences, thresholds)
    # Away from every confidence, so float32 noise of another batch cannot flip an image.
    margin = min(np.abs(confidences[k] - thresholds[k]).min() for k in range(2))
    assert margin > 1e-6 and set(exits.tolist()) == {0, 1, 2}, (margin, np.bincount(exits))
    return model, images, logits, thresholds, exits


@pytest.fixture
def rows_run(cascade, monkeypatch):
    """``rows_run[k]``: the batch sizes exit ``k`` (0-based) ran, call by call."""
    model = cascade[0]
    runs = [[] for _ in model.exit_models]
    for exit_model, sizes in zip(model.exit_models, runs):

        def counted(inputs, exit_model=exit_model, sizes=sizes):
            batch = {value.shape[0] for value in inputs.values()}
            assert len(batch) == 1, {key: value.shape for key, value in inputs.items()}
            sizes.append(batch.pop())
            return type(exit_model).predict_on_batch(exit_model, inputs)

        monkeypatch.setattr(exit_model, "predict_on_batch", counted)
    return runs


def test_predictions_and_exits_are_those_of_the_full_cascade(cascade):
    model, images, logits, thresholds, exits = cascade
    result = DynamicPredictor(model, thresholds, batch_size=BATCH, granule=GRANULE).predict(images)
    np.testing.assert_array_equal(result.exits, exits)
    np.testing.assert_allclose(result.predictions, logits[exits, np.arange(N)], atol=1e-5)
    macs = np.asarray(model.exit_macs(), "float64")
    np.testing.assert_array_equal(result.macs, macs[exits])
    np.testing.assert_array_equal(result.exit_counts, np.bincount(exits, minlength=3))
    assert result.total_macs == macs[exits].sum()
    assert math.isclose(result.mean_macs, macs[exits].mean())


def test_later_exits_run_on_the_undecided_images_only(cascade, rows_run):
    model, images, _, thresholds, exits = cascade
    predictor = DynamicPredictor(model, thresholds, batch_size=BATCH, granule=GRANULE)
    predictor.predict(images)
    first = [list(sizes) for sizes in rows_run]
    # Padded to the granule where an exit compiles per batch shape (jax), else exact.
    compiled = [exit_model.jit_compile for exit_model in model.exit_models]
    assert compiled == [BACKEND == "jax"] * 3
    granule = GRANULE if compiled[0] else None
    assert first[0] == chunk_plan(N, BATCH, granule)  # each image once
    assert first[0] == ([16, 16, 8] if granule else [16, 16, 5])
    reach = [int(np.sum(exits >= k)) for k in (1, 2)]
    assert sum(first[1]) == (ceil_to(reach[0], GRANULE) if granule else reach[0])
    assert sum(first[2]) == (ceil_to(reach[1], GRANULE) if granule else reach[1])
    assert sum(first[2]) < sum(first[1])
    assert predictor.chunk_sizes == (16, 8, 4)
    # Again, and on other counts: the same images run the same shapes; where shapes
    # compile, none outside the bounded set, so nothing new to compile.
    for sizes in rows_run:
        sizes.clear()
    predictor.predict(images)
    assert [list(sizes) for sizes in rows_run] == first
    for n in (1, 5, 23, 36):
        predictor.predict(images[:n])
    sizes_run = set().union(*map(set, rows_run))
    assert sizes_run <= (set(predictor.chunk_sizes) if granule else set(range(1, BATCH + 1)))


def test_everyone_leaving_at_exit_one_skips_the_rest(cascade, rows_run):
    model, images = cascade[:2]
    result = DynamicPredictor(model, [0.0, 0.0], batch_size=BATCH, granule=GRANULE).predict(images)
    assert result.exit_counts.tolist() == [N, 0, 0]
    assert rows_run[1] == rows_run[2] == []


@pytest.mark.skipif(BACKEND != "tensorflow", reason="TensorFlow's retracing warning")
def test_stage_sizes_trace_each_exit_twice_and_print_no_retracing_warning(cascade, caplog):
    """TensorFlow counts the traces of all three exits' predict functions together: six,
    over its threshold of five, though no exit traces more than twice."""
    _, images, _, thresholds, exits = cascade
    model = tiny_cascade()  # the cascade's weights, and no exit traced yet
    predictor = DynamicPredictor(model, thresholds, batch_size=BATCH, granule=GRANULE)
    for count in (N, 5, 21, N):
        result = predictor.predict(images[:count])
        np.testing.assert_array_equal(result.exits, exits[:count])
    tracings = [m.predict_function.experimental_get_tracing_count() for m in model.exit_models]
    assert tracings == [2, 2, 2]
    assert not [record for record in caplog.records if "retracing" in record.getMessage()]
    assert not logging.getLogger("tensorflow").filters  # only while predicting


@pytest.mark.skipif(
    BACKEND == "jax", reason="backend-free glue; jax compiles each reloaded exit anew (~15 s)"
)
def test_a_reloaded_cascade_predicts_the_same(cascade, tmp_path):
    model, images, _, thresholds, exits = cascade
    model.save(tmp_path / "dvt.keras")
    reloaded = keras.saving.load_model(tmp_path / "dvt.keras")
    # One chunk per exit: the fewest shapes to compile anew.
    result = DynamicPredictor(reloaded, thresholds, batch_size=40, granule=40).predict(images)
    np.testing.assert_array_equal(result.exits, exits)


def test_chunk_plan():
    assert chunk_plan(37, 16, 4) == [16, 16, 8]
    assert chunk_plan(1, 64, 8) == [8]
    assert chunk_plan(64, 64, 8) == [64]
    assert chunk_plan(65, 64, 8) == [64, 8]
    assert chunk_plan(121, 64, 8) == [64, 64]
    assert chunk_plan(118, 64, 8) == [64, 32, 16, 8]
    assert chunk_plan(0, 64, 8) == []
    assert chunk_plan(37, 16) == [16, 16, 5]
    assert chunk_plan(64, 64) == [64]
    assert chunk_plan(0, 64) == []


@pytest.mark.parametrize(
    "thresholds, match",
    [
        ([0.5], r"3 exits need 2 thresholds"),
        ([0.5, 0.5, 0.5], r"3 exits need 2 thresholds"),
        ([-0.1, 0.5], r"in \[0, 1\]"),
        ([0.5, 1.5], r"in \[0, 1\]"),
        ([float("nan"), 0.5], r"finite"),
    ],
)
def test_thresholds_errors(cascade, thresholds, match):
    with pytest.raises(ValueError, match=match):
        DynamicPredictor(cascade[0], thresholds)


def test_other_errors(cascade):
    images = keras.Input((32, 32, 3))
    plain = keras.Model(images, keras.layers.Dense(10)(keras.layers.Flatten()(images)))
    with pytest.raises(ValueError, match=r"needs a DVT cascade \(a DVTModel"):
        DynamicPredictor(plain, [0.5])
    with pytest.raises(ValueError, match=r"needs a DVT cascade"):
        calibrate_thresholds(plain, (np.zeros((2, 32, 32, 3)), np.zeros(2, "int64")))
    model = cascade[0]
    with pytest.raises(ValueError, match=r"batch_size \(18\) must be a multiple of granule \(4\)"):
        DynamicPredictor(model, [0.5, 0.5], batch_size=18)
    with pytest.raises(ValueError, match="granule must be a positive int"):
        DynamicPredictor(model, [0.5, 0.5], granule=0)
    with pytest.raises(ValueError, match=r"images must be a batch \(n, 32, 32, 3\)"):
        DynamicPredictor(model, [0.5, 0.5]).predict(np.zeros((4, 16, 16, 3)))


def assert_same_points(points, expected):
    """The same points up to float32 noise (another batch computes other roundings)."""
    assert len(points) == len(expected)
    for point, other in zip(points, expected):
        np.testing.assert_allclose(point.thresholds, other.thresholds, atol=1e-6)
        assert (point.q, point.accuracy, point.exit_shares) == (
            other.q, other.accuracy, other.exit_shares
        ), (point, other)  # fmt: skip


def test_calibrate_thresholds(cascade):
    model, images, logits = cascade[:3]
    labels = np.random.default_rng(1).integers(0, 10, N)
    calibration = calibrate_thresholds(model, (images, labels), batch_size=N)
    macs = np.asarray(model.exit_macs(), "float64")
    np.testing.assert_array_equal(calibration.exit_macs, macs)
    assert len(calibration.points) == len(AUTHORS_QS) == 59
    assert all(macs[0] <= point.macs <= macs[-1] for point in calibration.points)
    expected = operating_points(softmax(logits), labels, macs)
    assert_same_points(calibration.points, expected)
    np.testing.assert_allclose(
        calibration.anytime_accuracy, (logits.argmax(-1) == labels).mean(axis=1)
    )
    best = calibration.point_for_budget(macs[-1])
    assert best.accuracy == max(point.accuracy for point in calibration.points)
    assert calibration.point_for_budget(calibration.best[0].macs) is calibration.best[0]
    with pytest.raises(ValueError, match="No operating point costs at most"):
        calibration.point_for_budget(macs[0] - 1)
    as_dict = json.loads(calibration.to_json())
    assert len(as_dict["points"]) == 59 and as_dict["exit_macs"] == macs.tolist()
    assert as_dict["points"][0]["thresholds"] == list(calibration.points[0].thresholds)
    # Batches read once give the same; thresholds found on other images (no labels) too.
    # (36 images in batches of 18, and the first 18 again: one batch shape more to compile.)
    batches = [(images[:18], labels[:18]), (images[18:36], labels[18:36])]
    from_batches = calibrate_thresholds(model, iter(batches), calibration_data=images[:18])
    expected = operating_points(
        softmax(logits[:, :36]),
        labels[:36],
        macs,
        calibration_probabilities=softmax(logits[:, :18]),
    )
    assert_same_points(from_batches.points, expected)


def test_calibrate_thresholds_plots(cascade, tmp_path):
    pytest.importorskip("matplotlib")
    model, images = cascade[:2]
    labels = np.random.default_rng(1).integers(0, 10, N)
    path = str(tmp_path / "dvt.png")
    calibration = calibrate_thresholds(model, (images, labels), qs=[0.5, 1.0, 2.0], plot=path)
    assert calibration.plot == path and len(calibration.points) == 3
    with open(path, "rb") as file:
        assert file.read(8) == b"\x89PNG\r\n\x1a\n"


def test_softmax_exits_are_taken_as_probabilities(cascade, monkeypatch):
    """Exits with a softmax head: their outputs are used as they are (no second softmax)."""
    model, images, logits = cascade[:3]
    labels = np.arange(N) % 10
    probabilities = softmax(logits).astype("float32")
    for exit_model in model.exit_models:
        monkeypatch.setattr(exit_model.get_layer("head"), "activation", keras.activations.softmax)
    monkeypatch.setattr(model, "predict", lambda *args, **kwargs: list(probabilities))
    calibration = calibrate_thresholds(model, (images, labels))
    expected = operating_points(probabilities, labels, model.exit_macs())
    assert_same_points(calibration.points, expected)
    head = model.exit_models[1].get_layer("head")
    monkeypatch.setattr(head, "activation", keras.activations.sigmoid)
    with pytest.raises(ValueError, match="output softmax or logits, exit2 has .*'sigmoid'"):
        calibrate_thresholds(model, (images, labels))
