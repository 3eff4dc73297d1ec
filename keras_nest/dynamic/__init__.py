"""Dynamic Vision Transformer (DVT): exit thresholds for a budget, their accuracy and cost,
and inference that runs each image only as far as it needs."""

from keras_nest.dynamic.calibrate import Calibration, calibrate_thresholds
from keras_nest.dynamic.plot import plot_operating_points
from keras_nest.dynamic.predictor import DynamicPrediction, DynamicPredictor
from keras_nest.dynamic.thresholds import (
    AUTHORS_QS,
    OperatingPoint,
    anytime_accuracy,
    best_per_budget,
    check_thresholds,
    confidence,
    evaluate_thresholds,
    exit_proportions,
    exits_taken,
    find_thresholds,
    operating_points,
)

__all__ = [
    "AUTHORS_QS",
    "Calibration",
    "DynamicPrediction",
    "DynamicPredictor",
    "OperatingPoint",
    "anytime_accuracy",
    "best_per_budget",
    "calibrate_thresholds",
    "check_thresholds",
    "confidence",
    "evaluate_thresholds",
    "exit_proportions",
    "exits_taken",
    "find_thresholds",
    "operating_points",
    "plot_operating_points",
]
