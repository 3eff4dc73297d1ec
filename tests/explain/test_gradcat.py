"""GradCAT: the tree walk on a NesT whose evidence lies in one known block, the path
helpers, and the errors a user meets."""

import numpy as np
import pytest

from keras_nest import explain
from keras_nest.explain.gradcat import SCORES, children, paint_path, traverse
from tests.explain.models import LEAF, SIZE, blank_preserving_nest, evidence_images, images, tiny_nest

# Leaves (row, column) of the 4x4 grid, one per quadrant and off the diagonal.
LEAVES = [(0, 0), (1, 3), (3, 0), (2, 2), (3, 1)]


@pytest.fixture(scope="module")
def nest():
    """One tiny NesT for the tests that only read it: its gradient pass compiles once."""
    return tiny_nest()


def expected_path(row, col):
    """Root, the parent in the 2x2 grid, the leaf in the 4x4 grid (row-major)."""
    return [0, (row // 2) * 2 + col // 2, row * 4 + col]


@pytest.mark.core
def test_path_goes_to_the_one_block_holding_evidence():
    """Every block off the evidence's path holds zeros, so it scores exactly 0; the
    path's blocks score above 0 and the walk enters them, in one batch. ("absolute":
    the other scores may rightly be 0 on the path too, where all of its evidence
    speaks against the class.)"""
    model = blank_preserving_nest()
    result = explain.gradcat(model, evidence_images(LEAVES), score="absolute")
    assert result.paths.tolist() == [expected_path(*leaf) for leaf in LEAVES]
    for depth, scores in enumerate(result.node_scores):
        on_path = np.zeros_like(scores, bool)
        on_path[np.arange(len(LEAVES)), result.paths[:, depth]] = True
        assert np.all(scores[~on_path] == 0.0), depth
    assert np.all(result.path_scores[:, 1:] > 0)
    boxes = result.path_boxes()[:, -1]
    assert boxes.tolist() == [[r * LEAF, c * LEAF, (r + 1) * LEAF, (c + 1) * LEAF] for r, c in LEAVES]
    assert explain.pointing_game(result.heatmaps, boxes).all()


def test_class_index_changes_the_explained_class_and_the_gradients(nest):
    model = nest
    batch = images(2)
    default = explain.gradcat(model, batch)
    predicted = np.argmax(model.predict(batch, verbose=0), axis=-1)
    assert default.classes.tolist() == predicted.tolist()
    other = (predicted + 1) % 3
    chosen = explain.gradcat(model, batch, class_index=other)
    assert chosen.classes.tolist() == other.tolist()
    assert not np.allclose(chosen.node_scores[-1], default.node_scores[-1])
    assert explain.gradcat(model, batch, class_index=2).classes.tolist() == [2, 2]


def test_batches_give_the_result_of_one_pass(nest):
    model, batch = nest, images(5)
    whole = explain.gradcat(model, batch)
    pieces = explain.gradcat(model, batch, batch_size=2)
    np.testing.assert_array_equal(whole.paths, pieces.paths)
    for a, b in zip(whole.node_scores, pieces.node_scores):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("score", SCORES)
def test_every_score_gives_a_tree_of_scores_and_a_heatmap(nest, score):
    result = explain.gradcat(nest, images(2), score=score)
    assert [s.shape for s in result.node_scores] == [(2, 1), (2, 4), (2, 16)]
    assert result.paths.shape == (2, 3) and result.heatmaps.shape == (2, SIZE, SIZE)
    assert result.heatmaps.min() >= 0 and result.heatmaps.max() == 1


def test_children_are_the_2x2_blocks_below():
    assert children(np.array([0]), 0).tolist() == [[0, 1, 2, 3]]
    assert children(np.array([3, 1]), 1).tolist() == [[10, 11, 14, 15], [2, 3, 6, 7]]


def test_traverse_follows_the_best_child_not_the_best_block():
    depth1 = np.array([[0.1, 0.9, 0.0, 0.0]])
    depth2 = np.zeros((1, 16))
    depth2[0, 0] = 5.0  # the best leaf, under a parent the walk leaves
    depth2[0, 6] = 1.0  # the best child of block 1
    assert traverse([np.ones((1, 1)), depth1, depth2]).tolist() == [[0, 1, 6]]


def test_painted_path_peaks_on_its_leaf_and_rises_level_by_level():
    depth1 = np.array([[0.0, 2.0, 1.0, 0.5]])
    depth2 = np.arange(16, dtype="float32")[None]
    scores = [np.ones((1, 1)), depth1, depth2]
    paths = traverse(scores)
    heat = paint_path(scores, paths, (8, 8))[0]
    assert paths.tolist() == [[0, 1, 7]]
    assert heat[2:4, 6:8].min() == heat.max() == 1.0  # leaf 7: rows 2-3, columns 6-7
    assert heat[0, 4] == 0.5  # block 1's lowest child: level 1 done, level 2's minimum
    assert heat[0, 0] == 0.0  # block 1's lowest-scoring sibling
    assert heat[4, 0] == 0.25 and heat[4, 4] == 0.125  # the others, scaled between


def test_not_a_nest_names_the_methods_that_fit():
    from tests.export.models import small_model

    with pytest.raises(ValueError, match=r"gradcat walks NesT's tree.*'vit'.*use rollout"):
        explain.gradcat(small_model("vit"), np.zeros((1, 32, 32, 3)))
    with pytest.raises(ValueError, match=r"rollout.*'tiny_nest'.*use gradcat or gradcam"):
        explain.rollout(tiny_nest(), images(1))  # named "tiny_nest"


def test_bad_class_index_and_images_are_clear_errors(nest):
    model = nest
    with pytest.raises(ValueError, match=r"class_index must lie in \[0, 2\].*3 classes.*got 3"):
        explain.gradcat(model, images(2), class_index=3)
    with pytest.raises(ValueError, match=r"None, an int or 2 ints"):
        explain.gradcam(model, images(2), class_index=[0, 1, 2])
    with pytest.raises(ValueError, match=r"add a batch axis"):
        explain.gradcat(model, images(1)[0])
    with pytest.raises(ValueError, match=r"takes images of shape \(n, 16, 16, 3\); got \(1, 32, 32, 3\)"):
        explain.gradcat(model, np.zeros((1, 32, 32, 3)))
    with pytest.raises(ValueError, match="score must be one of"):
        explain.gradcat(model, images(1), score="relu")


def test_a_model_without_its_classifier_is_a_clear_error():
    import keras_nest

    features = keras_nest.Nest(
        depths=(1, 1), embed_dims=8, num_heads=2, patch_size=1, block_size=4,
        input_shape=(8, 8, 3), include_top=False,
    )  # fmt: skip
    with pytest.raises(ValueError, match="no classifier to explain.*include_top=True"):
        explain.gradcat(features, np.zeros((1, 8, 8, 3)))


def test_a_model_explained_again_after_its_weights_change_uses_the_new_weights():
    """The gradient pass is built once per model; it must not keep the old weights."""
    model, other, batch = tiny_nest(seed=0), tiny_nest(seed=1), images(2)
    explain.gradcat(model, batch)
    model.set_weights(other.get_weights())
    again, fresh = explain.gradcat(model, batch), explain.gradcat(other, batch)
    for a, b in zip(again.node_scores, fresh.node_scores):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_pointing_game_takes_the_centre_of_the_maximum():
    heat = np.zeros((3, 8, 8), "float32")
    heat[0, 2:4, 2:4] = 1.0  # a block at the maximum: its centre (3, 3)
    heat[1, 0, 7] = 1.0
    heat[2] = 0.5  # flat: the image centre
    assert explain.pointing_location(heat).tolist() == [[3.0, 3.0], [0.5, 7.5], [4.0, 4.0]]
    boxes = np.array([[2, 2, 4, 4], [0, 0, 4, 4], [4, 4, 8, 8]])
    assert explain.pointing_game(heat, boxes).tolist() == [True, False, True]
