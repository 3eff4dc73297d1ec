"""DVT's threshold procedure against a literal port of the authors' loop and hand computations."""

import dataclasses
import math
import sys

import numpy as np
import pytest

from keras_nest.dynamic import (
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
    plot_operating_points,
)
from keras_nest.dynamic.plot import cost_unit
from tests.conftest import BACKEND

# NumPy only: the same on every backend, so these run once, in the tensorflow run.
pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="NumPy only, backend-free")


def authors_find_threshold(confidences, proportions, rng):
    """``dynamic_find_threshold`` of the authors' inference.py, sample by sample.

    Ties in the descending sort are broken at random (torch's sort is not
    stable); their 1e8 ("nobody exits") becomes 1.0 and the last exit's
    -1e8 is dropped.
    """
    n_stage, n_sample = confidences.shape
    sorted_idx = [np.lexsort((rng.random(n_sample), -row)) for row in confidences]
    filtered = np.zeros(n_sample)
    T = np.full(n_stage, 1e8)
    for k in range(n_stage - 1):
        count = 0
        out_n = math.floor(n_sample * proportions[k])
        for i in range(n_sample):
            ori_idx = sorted_idx[k][i]
            if filtered[ori_idx] == 0:
                count += 1
                if count == out_n:
                    T[k] = confidences[k][ori_idx]
                    break
        filtered += confidences[k] >= T[k]
    T[n_stage - 1] = -1e8
    return np.where(T[:-1] == 1e8, 1.0, T[:-1])


@pytest.mark.parametrize("exits", [2, 3, 4])
@pytest.mark.parametrize("decimals", [None, 2, 1])  # None: no ties; 1: many
def test_find_thresholds_matches_the_authors_loop(exits, decimals):
    rng = np.random.default_rng(exits)
    nobody = 0
    for n in (3, 37, 1500):
        confidences = rng.random((exits, n)) * 0.999  # below 1, where 1.0 and 1e8 agree
        if decimals is not None:
            confidences = np.floor(confidences * 10**decimals) / 10**decimals
        for q in (0.05, 0.35, 1.0, 1.6, 2.95):
            proportions = exit_proportions(q, exits)
            expected = authors_find_threshold(confidences, proportions, rng)
            found = find_thresholds(confidences, proportions)
            np.testing.assert_array_equal(found, expected, err_msg=f"n={n}, q={q}")
            nobody += int(np.sum(found == 1.0))
    assert nobody > 0  # some exits let nobody out (out_n 0, or too few left after ties)


def test_exit_proportions_are_the_authors():
    for q in (0.05, 1.0, 2.95):
        # torch.exp(torch.log(_p) * torch.range(1, 3)), normalised (in float64 here).
        authors = np.exp(np.log(q) * np.arange(1, 4))
        np.testing.assert_allclose(exit_proportions(q, 3), authors / authors.sum(), rtol=1e-12)
    np.testing.assert_allclose(exit_proportions(1.0, 4), [0.25] * 4)
    assert len(AUTHORS_QS) == 59 and AUTHORS_QS[0] == 0.05 and AUTHORS_QS[-1] == 2.95
    assert np.all(np.isfinite(exit_proportions(1000.0, 200)))
    with pytest.raises(ValueError, match="q must be"):
        exit_proportions(0.0, 3)
    with pytest.raises(ValueError, match="exits >= 2"):
        exit_proportions(0.5, 1)


def test_nobody_left_after_ties():
    # Every image ties at exit 1, so all leave there and exit 2 has nobody to let out.
    confidences = np.array([[0.5] * 10, np.linspace(0.1, 0.9, 10)])
    confidences = np.concatenate([confidences, confidences[1:]])
    thresholds = find_thresholds(confidences, [0.4, 0.4, 0.2])
    np.testing.assert_array_equal(thresholds, [0.5, 1.0])
    np.testing.assert_array_equal(exits_taken(confidences, thresholds), np.zeros(10))


def test_confidence_one_exits_at_a_nobody_threshold():
    # The documented edge of threshold 1.0: a saturated softmax still leaves there.
    confidences = np.array([[1.0, 0.9, 0.2], [0.3, 0.3, 0.3]])
    np.testing.assert_array_equal(exits_taken(confidences, [1.0]), [0, 1, 1])


# Six images, three exits, three classes; the label and, per exit, the
# probabilities (confidence, prediction) and whether the image leaves there
# with thresholds (0.8, 0.6).
PROBABILITIES = np.array(
    [
        # exit 1 (threshold 0.8)
        [
            [0.90, 0.05, 0.05],  # 0.90 -> class 0, leaves
            [0.10, 0.85, 0.05],  # 0.85 -> class 1, leaves
            [0.50, 0.30, 0.20],  # 0.50 -> class 0
            [0.40, 0.35, 0.25],  # 0.40 -> class 0
            [0.80, 0.10, 0.10],  # 0.80 -> class 0, leaves (>=)
            [0.30, 0.30, 0.40],  # 0.40 -> class 2
        ],
        # exit 2 (threshold 0.6)
        [
            [0.95, 0.03, 0.02],
            [0.10, 0.20, 0.70],
            [0.20, 0.70, 0.10],  # 0.70 -> class 1, leaves
            [0.30, 0.30, 0.40],  # 0.40 -> class 2
            [0.10, 0.85, 0.05],
            [0.60, 0.20, 0.20],  # 0.60 -> class 0, leaves (>=)
        ],
        # exit 3 (takes the rest)
        [
            [0.97, 0.02, 0.01],
            [0.05, 0.80, 0.15],  # wrong, but image 2 left at exit 1
            [0.10, 0.80, 0.10],
            [0.10, 0.20, 0.70],  # -> class 2, leaves
            [0.05, 0.90, 0.05],
            [0.70, 0.20, 0.10],
        ],
    ]
)
LABELS = np.array([0, 2, 1, 2, 1, 0])
EXIT_MACS = [1e9, 2.5e9, 4e9]  # cumulative


def test_evaluate_by_hand():
    point = evaluate_thresholds(PROBABILITIES, LABELS, [0.8, 0.6], EXIT_MACS)
    # Exits taken: 0, 0, 1, 2, 0, 1; right: images 0, 2, 3, 5.
    taken = exits_taken(confidence(PROBABILITIES), [0.8, 0.6])
    np.testing.assert_array_equal(taken, [0, 0, 1, 2, 0, 1])
    assert point.q is None
    assert point.thresholds == (0.8, 0.6)
    assert point.accuracy == pytest.approx(4 / 6)
    np.testing.assert_allclose(point.exit_shares, [3 / 6, 2 / 6, 1 / 6])
    # 3/6 * 1 + 2/6 * 2.5 + 1/6 * 4 = 0.5 + 0.8333 + 0.6667 GMACs
    assert point.macs == pytest.approx(2.0e9)
    assert point.gmacs == pytest.approx(2.0)
    # Nobody leaves early: everyone pays the whole cascade and gets exit 3's answer (5 of 6).
    everyone = evaluate_thresholds(PROBABILITIES, LABELS, [1.0, 1.0], EXIT_MACS)
    assert (everyone.accuracy, everyone.macs) == (pytest.approx(5 / 6), pytest.approx(4e9))


def test_anytime_accuracy_by_hand():
    # Predictions: exit 1 (0, 1, 0, 0, 0, 2), exit 2 (0, 2, 1, 2, 1, 0), exit 3 (0, 1, 1, 2, 1, 0).
    np.testing.assert_allclose(anytime_accuracy(PROBABILITIES, LABELS), [1 / 6, 1.0, 5 / 6])


def calibration_set(n, exits=3, classes=10, seed=0):
    """Random softmax outputs (no ties), labels and exits that grow more accurate."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    logits = rng.normal(size=(exits, n, classes))
    logits[:, np.arange(n), labels] += np.arange(1, exits + 1)[:, None]
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    return probabilities, labels


def test_shares_follow_the_targets_on_the_calibration_set():
    n = 20_000
    probabilities, labels = calibration_set(n)
    points = operating_points(probabilities, labels, EXIT_MACS, qs=(0.05, 0.5, 1.0, 2.0, 2.95))
    for point in points:
        target = exit_proportions(point.q, 3)
        # Without ties, exactly floor(n * pi_k) leave at each exit but the last.
        counts = np.round(np.array(point.exit_shares) * n)
        np.testing.assert_array_equal(counts[:-1], np.floor(n * target[:-1]))
        assert np.max(np.abs(np.array(point.exit_shares) - target)) < 0.01


def test_cost_grows_with_q():
    probabilities, labels = calibration_set(5000)
    points = operating_points(probabilities, labels, EXIT_MACS)
    assert [point.q for point in points] == list(AUTHORS_QS)
    macs = np.array([point.macs for point in points])
    assert np.all(np.diff(macs) >= 0)
    first, last = points[0], points[-1]
    assert first.exit_shares[0] > 0.9 and first.macs < 1.2e9  # q = 0.05: ~95% at exit 1
    assert last.exit_shares[-1] > 0.6 and last.macs > 3.2e9  # q = 2.95: ~69% at exit 3
    # Later exits are more accurate here, so accuracy grows with cost too.
    assert last.accuracy > first.accuracy


def test_thresholds_from_another_calibration_set():
    calibration, _ = calibration_set(3000, seed=1)
    probabilities, labels = calibration_set(2000, seed=2)
    points = operating_points(
        probabilities, labels, EXIT_MACS, calibration_probabilities=calibration, qs=[0.5, 1.5]
    )
    for point in points:
        thresholds = find_thresholds(confidence(calibration), exit_proportions(point.q, 3))
        assert point.thresholds == tuple(thresholds)
        assert point == dataclasses.replace(
            evaluate_thresholds(probabilities, labels, thresholds, EXIT_MACS), q=point.q
        )
    with pytest.raises(ValueError, match="calibration_probabilities must have shape"):
        operating_points(
            probabilities, labels, EXIT_MACS, calibration_probabilities=calibration[:2]
        )


@pytest.mark.parametrize(
    "thresholds, match",
    [
        ([0.5], "3 exits need 2 thresholds"),
        ([0.5, 0.5, 0.5], "3 exits need 2 thresholds"),
        ([[0.5, 0.5]], "3 exits need 2 thresholds"),
        ([-0.1, 0.5], r"in \[0, 1\]"),
        ([0.5, 1.5], r"in \[0, 1\]"),
        ([0.5, float("nan")], "finite"),
        ([0.5, float("inf")], "finite"),
        (["high", 0.5], "must be floats"),
    ],
)
def test_check_thresholds_errors(thresholds, match):
    with pytest.raises(ValueError, match=match):
        check_thresholds(thresholds, 3)


def test_check_thresholds_accepts():
    values = check_thresholds((0, 1), 3)
    assert values.dtype == np.float64 and values.tolist() == [0.0, 1.0]


def test_input_errors():
    with pytest.raises(ValueError, match="exits >= 2"):
        evaluate_thresholds(PROBABILITIES[:1], LABELS, [], EXIT_MACS[:1])
    with pytest.raises(ValueError, match=r"labels must have shape \(6,\)"):
        evaluate_thresholds(PROBABILITIES, LABELS[:5], [0.8, 0.6], EXIT_MACS)
    with pytest.raises(ValueError, match="integer"):
        evaluate_thresholds(PROBABILITIES, LABELS.astype(float), [0.8, 0.6], EXIT_MACS)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        evaluate_thresholds(PROBABILITIES, LABELS + 1, [0.8, 0.6], EXIT_MACS)
    with pytest.raises(ValueError, match=r"exit_macs must have shape \(3,\)"):
        evaluate_thresholds(PROBABILITIES, LABELS, [0.8, 0.6], EXIT_MACS[:2])
    with pytest.raises(ValueError, match="increase strictly"):
        evaluate_thresholds(PROBABILITIES, LABELS, [0.8, 0.6], [1e9, 1e9, 2e9])
    with pytest.raises(ValueError, match="not logits"):
        evaluate_thresholds(np.log(PROBABILITIES), LABELS, [0.8, 0.6], EXIT_MACS)
    with pytest.raises(ValueError, match=r"shape \(K, n, C\)"):
        evaluate_thresholds(PROBABILITIES[0], LABELS, [0.8, 0.6], EXIT_MACS)
    with pytest.raises(ValueError, match="sum to 1"):
        find_thresholds(confidence(PROBABILITIES), [0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match=r"proportions must have shape \(3,\)"):
        find_thresholds(confidence(PROBABILITIES), [0.5, 0.5])
    with pytest.raises(ValueError, match="last axis"):
        confidence(np.zeros((3, 0)))


def point(macs, accuracy, q=None):
    return OperatingPoint(q=q, thresholds=(), accuracy=accuracy, macs=macs, exit_shares=())


def test_best_per_budget_by_hand():
    cheapest = point(0.5, 0.60)
    a, b, e = point(1, 0.70), point(2, 0.75), point(4, 0.80)
    same_cost_worse = point(2, 0.72)
    dearer_worse = point(3, 0.74)
    duplicate = point(4, 0.80, q=9.0)  # equal in cost and accuracy to e: the first stays
    dearer_same = point(5, 0.80)
    points = [dearer_same, b, e, same_cost_worse, cheapest, duplicate, dearer_worse, a]
    assert best_per_budget(points) == [cheapest, a, b, e]
    assert best_per_budget(points)[-1].q is None
    assert best_per_budget([]) == []


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    probabilities, labels = calibration_set(500)
    points = operating_points(probabilities, labels, EXIT_MACS)
    exit_points = list(zip(np.array(EXIT_MACS) / 1e9, anytime_accuracy(probabilities, labels)))
    path = tmp_path / "dvt.png"
    assert plot_operating_points(points, path, exit_points, title="DVT") == path
    data = path.read_bytes()
    assert len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="fractions"):
        plot_operating_points(points, tmp_path / "x.png", [(1.0, 75.0)])


def test_cost_axis_reads_in_a_unit_that_fits_the_model():
    assert cost_unit(1.145) == (1.0, "GMACs") and cost_unit(0.1) == (1.0, "GMACs")
    assert cost_unit(4.5e-4) == (1e3, "MMACs")  # a small DVT on digits: 0.45 MMACs
    assert cost_unit(2e-6) == (1e6, "kMACs") and cost_unit(5e-9) == (1e9, "MACs")


def test_plot_says_how_to_install_matplotlib(tmp_path, monkeypatch):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)  # import raises ImportError
    with pytest.raises(ImportError, match=r'pip install "keras-nest\[train\]"'):
        plot_operating_points([point(1e9, 0.5)], tmp_path / "dvt.png")
