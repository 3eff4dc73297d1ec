"""DVT: bad input gets a ValueError that says what is wrong."""

import pytest

import keras_nest
from tests.conftest import BACKEND, shapes_only
from tests.models.dvt.fixtures import arrays, build, save_checkpoint

pytestmark = pytest.mark.skipif(
    BACKEND != "tensorflow", reason="argument and checkpoint checks are backend-free"
)


@pytest.fixture(scope="module")
def t2t_checkpoint(tmp_path_factory):
    return save_checkpoint("t2t", tmp_path_factory.mktemp("dvt") / "dvt_t2t.pth.tar")


def test_checkpoint_of_another_cascade_names_what_does_not_fit(t2t_checkpoint):
    with pytest.raises(ValueError) as error, shapes_only():
        build("deit", weights=t2t_checkpoint)
    message = str(error.value)
    assert "does not fit" in message
    assert "exit1/patch_embed/proj/kernel" in message  # missing: DeiT's patch embedding
    assert "exit1/attention1/kqv/kernel" in message  # unexpected: T2T's Performer


def test_checkpoint_of_a_deeper_cascade_names_the_extra_blocks(tmp_path):
    path = save_checkpoint("deit", tmp_path / "dvt_deit.pth.tar")
    with pytest.raises(ValueError, match=r"unexpected in the checkpoint[\s\S]*exit1/block_1/"):
        with shapes_only():
            build("deit", weights=path, depth=1)


def test_not_a_dvt_checkpoint(tmp_path):
    from safetensors.numpy import save_file

    state, _, _ = arrays("deit")
    path = str(tmp_path / "deit.safetensors")
    exit2 = {k.split(".", 1)[1]: v for k, v in state.items() if k.startswith("less_token.")}
    save_file(exit2, path)
    with pytest.raises(ValueError, match="Not a DVT checkpoint.*less_less_token"), shapes_only():
        build("deit", weights=path)


def test_authors_checkpoint_into_two_exits(t2t_checkpoint):
    with pytest.raises(ValueError, match="hold 3 exits; this cascade has 2"), shapes_only():
        build("t2t", weights=t2t_checkpoint, token_grids=(7, 14))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(backbone="swin"), "backbone must be one of"),
        (dict(token_grids=(7,)), "two or more positive ints"),
        (dict(token_grids=(7, 0)), "two or more positive ints"),
        (dict(backbone="t2t", token_grids=(7, 12)), r"grids \[7, 10, 14\].*got 12"),
        (dict(backbone="t2t", input_shape=(256, 256, 3)), "made for 224x224"),
        (dict(token_grids=(7, 40), input_shape=(32, 32, 3)), "do not make 40 patches"),
        (dict(include_top=False), 'needs pooling="token" or "avg"'),
        (dict(pooling="max"), "pooling must be one of"),
        (dict(classes=0), "classes must be a positive integer"),
    ],
)
def test_bad_arguments(kwargs, message):
    arguments = {**dict(backbone="deit", embed_dim=32, depth=1, num_heads=2, classes=10), **kwargs}
    with pytest.raises(ValueError, match=message), shapes_only():
        keras_nest.DVT(**arguments)


def test_wrong_channels_with_weights(t2t_checkpoint):
    with pytest.raises(ValueError, match="3 input channels"):
        build("t2t", weights=t2t_checkpoint, input_shape=(224, 224, 1))


def test_features_without_classifiers():
    with shapes_only():
        model = keras_nest.DVT(
            token_grids=(2, 4),
            embed_dim=32,
            depth=1,
            num_heads=2,
            include_top=False,
            pooling="avg",
            input_shape=(32, 32, 3),
        )
    assert [tuple(output.shape) for output in model.outputs] == [(None, 32), (None, 32)]


def test_the_authors_operating_points_load_from_their_checkpoint(tmp_path):
    import torch

    from keras_nest.models.dvt import checkpoint_operating_points

    thresholds = torch.rand(59, 3)
    thresholds[0, 1] = 1e8  # nobody leaves at exit 2 there
    thresholds[:, 2] = -1e8
    costs, accuracies = [0.5 + p / 59 for p in range(59)], [70.0 + p / 10 for p in range(59)]
    path = save_checkpoint(
        "t2t",
        tmp_path / "dvt.pth.tar",
        flops=[0.47, 1.46, 3.5],
        dynamic_threshold=thresholds.numpy(),
        budgeted_batch_classification=[costs, accuracies],
    )
    points = checkpoint_operating_points(path)
    assert len(points) == 59 and points[0].q == 0.05 and points[-1].q == pytest.approx(2.95)
    assert points[0].thresholds == (pytest.approx(float(thresholds[0, 0])), 1.0)
    assert points[10].accuracy == pytest.approx(0.71)
    assert points[10].gmacs == pytest.approx(costs[10])
    with shapes_only():  # the same file loads as weights
        keras_nest.DynamicPredictor(build("t2t", weights=path), points[20].thresholds)
    with pytest.raises(ValueError, match="holds no dynamic_threshold"):
        checkpoint_operating_points(save_checkpoint("t2t", tmp_path / "bare.pth.tar"))
