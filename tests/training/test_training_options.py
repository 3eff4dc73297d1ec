"""The recipe switches: mixed precision, EMA of weights, gradient accumulation, several outputs."""

import dataclasses

import keras
import numpy as np
import pytest

import keras_nest
from keras_nest.training import build_optimizer, resolve_recipe, train, trainer
from keras_nest.training.precision import precision_scope
from keras_nest.training.trainer import _compile, _schedule
from tests.conftest import BACKEND, to_numpy

SMALL_MODELS = {
    "nest": lambda: keras_nest.Nest(
        depths=(1, 1), embed_dims=(16, 32), num_heads=2, patch_size=2, block_size=2,
        input_shape=(16, 16, 3), classes=10,
    ),
    "cct": lambda: keras_nest.create_model("cct_2_3x2_32", input_shape=(16, 16, 3), classes=10),
    "vit": lambda: keras_nest.ViT(
        patch_size=4, embed_dim=16, num_layers=1, num_heads=2, input_shape=(16, 16, 3), classes=10
    ),
}  # fmt: skip


@pytest.mark.skipif(BACKEND == "torch", reason="checked on jax and tensorflow")
@pytest.mark.parametrize("family", sorted(SMALL_MODELS))
def test_bfloat16_computes_low_and_keeps_a_float32_head(family):
    images = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    with precision_scope("bfloat16"):
        model = SMALL_MODELS[family]()
    assert keras.config.dtype_policy().name == "float32"  # restored after the scope
    blocks = [layer for layer in model.layers if "block" in layer.name]
    assert blocks[0].compute_dtype == "bfloat16"
    assert all(v.dtype == "float32" for v in model.weights)
    head = model.get_layer("predictions")
    assert head.compute_dtype == "float32"
    outputs = model(images)
    assert keras.backend.standardize_dtype(outputs.dtype) == "float32"
    assert np.isfinite(to_numpy(outputs)).all()
    # Training under bfloat16: tests/test_cli.py (--precision bfloat16).


def test_float16_gets_loss_scaling_and_unknown_precision_is_refused():
    recipe = resolve_recipe("digits", overrides={"precision": "float16"})
    with precision_scope(recipe.precision):
        model = SMALL_MODELS["vit"]()
        _compile(model, recipe, 1e-3)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    with pytest.raises(ValueError, match="Unknown precision 'half'"):
        with precision_scope("half"):
            pass


def _tiny_model():
    return keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(3)]
    )


def _tiny_data(count=32):
    rng = np.random.default_rng(1)
    return rng.normal(size=(count, 6)).astype("float32"), rng.integers(0, 3, count)


def test_ema_replaces_the_weights_with_their_moving_average():
    x, y = _tiny_data()
    model = _tiny_model()
    optimizer = build_optimizer(model, 0.05, weight_decay=0.0, exclude_from_decay=(),
                                ema_momentum=0.8)  # fmt: skip
    model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    seen = []
    for epoch in range(2):
        for start in range(0, len(x), 8):
            model.train_on_batch(x[start : start + 8], y[start : start + 8])
            seen.append([to_numpy(v) for v in model.weights])
    model.optimizer.finalize_variable_values(model.trainable_variables)  # as fit's end does
    expected = seen[0]  # the first step's average is the weights themselves
    for weights in seen[1:]:
        expected = [0.8 * a + 0.2 * w for a, w in zip(expected, weights)]
    final = [to_numpy(v) for v in model.weights]
    for got, want, last in zip(final, expected, seen[-1]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        assert np.abs(got - last).max() > 1e-4  # the average, not the last step's weights


def test_gradient_accumulation_equals_one_larger_batch():
    x, y = _tiny_data(64)
    trained = []
    for batch, accumulation in ((32, None), (8, 4)):
        keras.utils.set_random_seed(0)
        model = _tiny_model()
        optimizer = build_optimizer(
            model, 0.05, weight_decay=0.01, exclude_from_decay=(),
            gradient_accumulation_steps=accumulation,
        )  # fmt: skip
        model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, y, batch_size=batch, epochs=2, shuffle=False, verbose=0)
        assert int(to_numpy(optimizer.iterations)) == 4  # updates, not batches
        trained.append([to_numpy(v) for v in model.weights])
    for large, accumulated in zip(*trained):
        np.testing.assert_allclose(accumulated, large, rtol=1e-4, atol=1e-6)


def test_accumulation_scales_learning_rate_and_counts_steps_in_batches():
    recipe = resolve_recipe(recipe="vit_finetune_cifar10", overrides={"batch_size": 64})
    accumulated = dataclasses.replace(recipe, gradient_accumulation_steps=8)
    assert accumulated.effective_batch_size == 512
    assert accumulated.peak_learning_rate() == recipe.learning_rate  # quoted for 512
    schedule, epochs = _schedule(accumulated, steps_per_epoch=1000)
    # Keras steps the schedule every batch: 10,000 updates of 8 batches, 500 of warmup.
    assert (schedule.warmup_steps, schedule.decay_steps, epochs) == (4000, 80_000, 80)
    nest = resolve_recipe(recipe="nest_cifar10", overrides={"gradient_accumulation_steps": 4})
    assert nest.peak_learning_rate() == pytest.approx(2.5e-4 * 192 * 4 / 256)


@pytest.fixture
def two_exit_model(monkeypatch):
    """The name ``test_two_exits``, which the trainer builds as a small model with two
    classifier outputs."""

    def two_exits(classes=10, input_shape=None, weights=None):
        inputs = keras.Input(input_shape)
        x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(inputs)
        x = keras.layers.GlobalAveragePooling2D()(x)
        first = keras.layers.Dense(classes, activation="softmax", name="exit_0")(x)
        x = keras.layers.Dense(16, activation="relu")(x)
        last = keras.layers.Dense(classes, activation="softmax", name="exit_1")(x)
        return keras.Model(inputs, [first, last])

    def create_model(name, **kwargs):
        assert name == "test_two_exits"
        return two_exits(**kwargs)

    monkeypatch.setattr(trainer, "create_model", create_model)
    return "test_two_exits"


def test_several_outputs_train_with_one_loss_each_summed(two_exit_model, tmp_path):
    recipe = resolve_recipe(
        "digits",
        two_exit_model,
        overrides={"epochs": 2, "image_size": 8, "batch_size": 64, "augmentation": "none"},
    )
    model, history = train(recipe, tmp_path, verbose=0)
    for key in ("exit_0_loss", "exit_1_loss", "val_exit_0_accuracy", "val_exit_1_accuracy"):
        assert len(history[key]) == 2, sorted(history)
    total = np.add(history["exit_0_loss"], history["exit_1_loss"])
    np.testing.assert_allclose(history["loss"], total, rtol=1e-4)
    assert history["exit_1_loss"][-1] < history["exit_1_loss"][0]
    assert (tmp_path / "best.keras").exists()
    assert '"monitor": "val_exit_1_accuracy"' in (tmp_path / "state.json").read_text()
