"""Recipes (checked values, warm-up in proportion), the warmup-cosine schedule, the
optimizers (weight-decay exclusions, one schedule reading per step) and the learning-curve
figure."""

import inspect
import math

import keras
import numpy as np
import pytest

import keras_nest
from keras_nest.training import (
    RECIPES,
    WarmupCosineDecay,
    build_optimizer,
    recipe_for,
    resolve_recipe,
)
from keras_nest.training.callbacks import plot_history
from keras_nest.training.optimizer import AdamW
from keras_nest.training.trainer import _recipe_json, _schedule


def test_schedule_warmup_cosine_and_cooldown():
    schedule = WarmupCosineDecay(1e-3, decay_steps=110, warmup_steps=10, start=1e-5, end=1e-6)
    values = [float(schedule(step)) for step in (0, 5, 10, 60, 110, 130)]
    middle = 1e-6 + (1e-3 - 1e-6) * 0.5 * (1 + math.cos(math.pi * 0.5))
    np.testing.assert_allclose(
        values, [1e-5, 1e-5 + (1e-3 - 1e-5) / 2, 1e-3, middle, 1e-6, 1e-6], rtol=1e-5
    )
    restored = WarmupCosineDecay.from_config(schedule.get_config())
    assert float(restored(60)) == pytest.approx(values[3])
    with pytest.raises(ValueError, match="warmup_steps"):
        WarmupCosineDecay(1.0, decay_steps=5, warmup_steps=10)


def _excluded(optimizer, model):
    return sorted(v.path for v in model.trainable_variables if not optimizer._use_weight_decay(v))


def test_weight_decay_exclusions_follow_each_paper():
    nest = keras_nest.Nest(depths=(1, 1), embed_dims=8, num_heads=2, patch_size=1, block_size=2)
    optimizer = build_optimizer(nest, 1e-3, exclude_from_decay=("position_embedding",))
    assert _excluded(optimizer, nest) == [
        "level_0_pos_embed/embedding",
        "level_1_pos_embed/embedding",
    ]

    cct = keras_nest.create_model("cct_2_3x2_32")
    optimizer = build_optimizer(cct, 1e-3, exclude_from_decay=("bias_and_norm",))
    excluded = _excluded(optimizer, cct)
    assert "block_0/norm1/gamma" in excluded and "predictions/bias" in excluded
    assert "pos_embed/embedding" not in excluded and "block_0/attn/qkv/kernel" not in excluded

    sgd = build_optimizer(cct, 0.01, kind="sgd", global_clipnorm=1.0)
    assert isinstance(sgd, keras.optimizers.SGD) and sgd.global_clipnorm == 1.0
    with pytest.raises(ValueError, match="Unknown weight-decay exclusions"):
        build_optimizer(cct, 1e-3, exclude_from_decay=("norms",))


class CountedSchedule(WarmupCosineDecay):
    """The warmup-cosine schedule, counting its evaluations in ``calls``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = 0

    def __call__(self, step):
        self.calls += 1
        return super().__call__(step)


@pytest.mark.core
def test_adamw_reads_the_schedule_once_per_step_and_updates_as_keras_adamw():
    random = np.random.default_rng(0)
    shapes = [(3, 4), (4,), (2, 3, 4), (5,), (6, 2)]
    start = [random.normal(size=shape).astype("float32") for shape in shapes]
    grads = [[random.normal(size=shape).astype("float32") for shape in shapes] for _ in range(4)]
    results = []
    counted = CountedSchedule(1e-2, 10, warmup_steps=3)
    for optimizer in (
        AdamW(counted, weight_decay=0.05),
        keras.optimizers.AdamW(WarmupCosineDecay(1e-2, 10, warmup_steps=3), weight_decay=0.05),
    ):
        variables = [keras.Variable(value) for value in start]
        optimizer.exclude_from_weight_decay(var_list=variables[1:2])
        for step_grads in grads:  # the rate changes every step: a stale one would show
            optimizer.apply_gradients(zip(map(keras.ops.convert_to_tensor, step_grads), variables))
        results.append([keras.ops.convert_to_numpy(v) for v in variables])
    assert counted.calls == 2 * len(grads)  # the decay's reading and the update's
    for ours, theirs, first in zip(*results, start):
        assert np.abs(theirs - first).max() > 1e-3
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-7)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(
        AdamW(WarmupCosineDecay(1e-2, 10), weight_decay=0.05)
    ))  # fmt: skip
    assert type(restored) is AdamW and restored.weight_decay == 0.05


def test_recipes_carry_the_papers_numbers():
    nest = RECIPES["nest_cifar10"]
    assert nest.peak_learning_rate(256) == pytest.approx(2.5e-4)
    assert nest.peak_learning_rate(1024) == pytest.approx(1e-3)
    cct = RECIPES["cct_cifar10"]
    assert (cct.learning_rate, cct.weight_decay, cct.augmentation.erasing) == (5.5e-4, 0.06, 0.0)
    assert cct.peak_learning_rate(512) == cct.learning_rate  # the timm script does not scale
    vit = RECIPES["vit_finetune_cifar10"]
    assert (vit.optimizer, vit.global_clipnorm, vit.steps, vit.warmup_steps) == (
        "sgd",
        1.0,
        10_000,
        500,
    )
    for recipe in RECIPES.values():
        assert recipe.source and recipe.model in keras_nest.list_models()


def test_recipe_choice_and_overrides():
    assert recipe_for("digits").name == "digits"
    assert resolve_recipe().name == "digits"  # keras-nest train with no --dataset or --recipe
    assert resolve_recipe(recipe="nest_cifar100").dataset == "cifar100"  # the recipe's own
    assert recipe_for("cifar100").name == "cct_cifar100"
    recipe = resolve_recipe(
        "cifar10", "nest_tiny_cifar", "nest_cifar10", {"epochs": "3", "crop_scale": "[0.5, 1]"}
    )
    assert (recipe.model, recipe.epochs, recipe.crop_scale) == ("nest_tiny_cifar", 3, (0.5, 1.0))
    with pytest.raises(ValueError, match="Unknown recipe 'cifar'"):
        recipe_for("cifar10", "cifar")


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("epochs", "three", "Recipe field 'epochs' must be an integer; got 'three'."),
        ("epochs", "true", "Recipe field 'epochs' must be an integer; got True."),
        ("batch_size", "0", "Recipe field 'batch_size' must be positive; got 0."),
        ("learning_rate", "fast", "Recipe field 'learning_rate' must be a number; got 'fast'."),
        ("ema_momentum", "high", "'ema_momentum' must be a number or none; got 'high'."),
        ("crop_scale", "0.5", "'crop_scale' must be a list of 2 numbers; got 0.5."),
        ("optimizer", "adam", "Recipe field 'optimizer' takes ['adamw', 'sgd']; got 'adam'."),
        ("precision", "half", "'precision' takes ['float32', 'bfloat16', 'float16']; got 'half'"),
        ("exclude_from_decay", '["norms"]', "'exclude_from_decay' takes ['position_embedding', "),
        ("augmentation", "strong", "'augmentation' must be \"none\" or a JSON object of "),
        ("model_options", "deep", "'model_options' must be a JSON object; got 'deep'."),
    ],
)
def test_recipe_values_are_checked_when_set(field, value, message):
    with pytest.raises(ValueError) as error:
        resolve_recipe(overrides={field: value})
    assert message in str(error.value)


def test_optional_fields_take_none_and_strings_stay_strings():
    overrides = {"ema_momentum": "0.99", "weights": "none", "model": "cvt_2_4_32"}
    recipe = resolve_recipe(overrides=overrides)
    assert (recipe.ema_momentum, recipe.weights, recipe.model) == (0.99, None, "cvt_2_4_32")
    assert resolve_recipe(overrides={"ema_momentum": "none"}).ema_momentum is None


def test_a_shorter_run_keeps_its_warmup_and_cooldown_in_proportion(capsys):
    digits = resolve_recipe(overrides={"epochs": "3"})
    assert (digits.epochs, digits.warmup_epochs) == (3, 0.3)  # not 3 epochs of warm-up
    assert capsys.readouterr().out == (
        "epochs 30 -> 3, so warmup_epochs 3 -> 0.3 (in proportion; set to choose).\n"
    )
    chosen = resolve_recipe(overrides={"epochs": 3, "warmup_epochs": 1})
    assert chosen.warmup_epochs == 1 and capsys.readouterr().out == ""
    cct = resolve_recipe(recipe="cct_cifar10", overrides={"epochs": 31})
    assert (cct.warmup_epochs, cct.cooldown_epochs) == (1.0, 1.0)
    vit = resolve_recipe(recipe="vit_finetune_cifar10", overrides={"steps": 1000})
    assert vit.warmup_steps == 50
    schedule, epochs = _schedule(digits, steps_per_epoch=10)
    assert (schedule.warmup_steps, schedule.decay_steps, epochs) == (3, 30, 3)


def test_learning_curves_number_epochs_from_one_on_integer_ticks_with_the_rate():
    rows = [
        {"epoch": str(epoch), "loss": "1", "val_loss": "2", "accuracy": "0.5",
         "val_accuracy": "0.4", "learning_rate": str(rate)}
        for epoch, rate in ((1, 1e-3), (2, 5e-4), (3, 0.0))
    ]  # fmt: skip
    figure = plot_history(rows)
    figure.draw_without_rendering()
    assert [axis.get_title() for axis in figure.axes] == ["loss", "accuracy", "learning_rate"]
    for axis in figure.axes:
        assert all(float(tick).is_integer() for tick in axis.get_xticks()), axis.get_xticks()
        assert [list(line.get_xdata()) for line in axis.lines][0] == [1, 2, 3]
    assert list(figure.axes[2].lines[0].get_ydata()) == [1e-3, 5e-4, 0.0]


def test_recipe_json_writes_extra_layers_by_class_and_config():
    # recipe.json must read the same before and after the pipeline builds the layers
    # (a resumed run compares them), whatever name Keras gave each.
    def recipe(factor):
        layers = (keras.layers.RandomContrast((factor, factor)),)
        augmentation = keras_nest.data.Augmentation(extra_layers=layers)
        return resolve_recipe("digits", overrides={"augmentation": augmentation}), layers

    first, (layer,) = recipe(0.3)
    written = _recipe_json(first)
    layer.build((16, 16, 3))
    assert _recipe_json(first) == written == _recipe_json(recipe(0.3)[0])
    (entry,) = written["augmentation"]["extra_layers"]
    assert entry["class_name"] == "RandomContrast" and "name" not in entry["config"]
    assert _recipe_json(recipe(0.5)[0]) != written


def test_data_options_are_load_dataset_arguments_with_the_recipes_values():
    recipe = RECIPES["nest_cifar10"]
    options = recipe.data_options()
    inspect.signature(keras_nest.data.load_dataset).bind(recipe.dataset, "train", **options)
    assert options["crop_padding"] == 4 and options["augment"] is recipe.augmentation
    assert {key: options[key] for key in ("image_size", "batch_size")} == {
        "image_size": recipe.image_size,
        "batch_size": recipe.batch_size,
    }
