"""What an authors' DVT checkpoint holds besides its weights: their operating points.

The authors' ``.pth.tar`` files (``inference.py`` of
blackfeather-wang/Dynamic-Vision-Transformer) keep, next to
``model_state_dict``: ``flops`` (each exit's cumulative GFLOPs, counted as
multiply-adds), ``dynamic_threshold`` (59 rows, one per operating point
``q = p / 20``, of a threshold per exit; 1e8 where no image leaves, -1e8 at
the last exit) and ``budgeted_batch_classification`` (each point's expected
GFLOPs and top-1 %, on ImageNet's validation set).
"""

import numpy as np

from keras_nest.dynamic.thresholds import OperatingPoint
from keras_nest.weights.readers import read_torch_file


def checkpoint_operating_points(path):
    """The authors' operating points stored in the DVT checkpoint at ``path``.

    Returns:
        One :class:`~keras_nest.dynamic.OperatingPoint` per stored row: its
        ``q``, ``thresholds`` (``K - 1`` in ``[0, 1]``; the authors' 1e8,
        "no image leaves", becomes 1.0), and where the checkpoint has them
        ``accuracy`` (a fraction) and ``macs``; ``exit_shares`` are not
        stored (empty). Pass ``point.thresholds`` to
        :class:`~keras_nest.DynamicPredictor`.

    Raises:
        ValueError: if the file is no readable checkpoint, or holds no
            ``dynamic_threshold``.
    """
    stored = read_torch_file(path)
    if not isinstance(stored, dict) or "dynamic_threshold" not in stored:
        raise ValueError(f"{path!r} holds no dynamic_threshold (not an authors' DVT checkpoint).")
    thresholds = np.clip(np.asarray(stored["dynamic_threshold"], dtype="float64")[:, :-1], 0, 1)
    costs, accuracies = stored.get("budgeted_batch_classification") or ([], [])
    points = []
    for row, values in enumerate(thresholds):
        known = row < len(costs) and row < len(accuracies)
        points.append(
            OperatingPoint(
                q=(row + 1) / 20,
                thresholds=tuple(float(value) for value in values),
                accuracy=float(accuracies[row]) / 100 if known else float("nan"),
                macs=float(costs[row]) * 1e9 if known else float("nan"),
                exit_shares=(),
            )
        )
    return points
