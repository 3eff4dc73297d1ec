"""Training: the papers' recipes, optimizer and schedule, resumable runs."""

from keras_nest.training.optimizer import AdamW, build_optimizer
from keras_nest.training.recipes import RECIPES, Recipe, recipe_for
from keras_nest.training.schedule import WarmupCosineDecay
from keras_nest.training.trainer import evaluate, resolve_recipe, train

__all__ = [
    "AdamW",
    "RECIPES",
    "Recipe",
    "WarmupCosineDecay",
    "build_optimizer",
    "evaluate",
    "recipe_for",
    "resolve_recipe",
    "train",
]
