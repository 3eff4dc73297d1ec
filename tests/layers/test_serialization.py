"""get_config / from_config for every layer: the rebuilt layer computes the same."""

import keras
import numpy as np
import pytest

from keras_nest import layers
from tests.conftest import to_numpy

pytestmark = pytest.mark.core

CASES = [
    (layers.PatchEmbedding, dict(embed_dim=8, patch_size=(2, 4)), (2, 8, 8, 3)),
    (
        layers.ConvTokenizer,
        dict(embed_dim=8, kernel_size=5, strides=2, padding=2, conv_layers=2, hidden_dim=4),
        (2, 16, 12, 3),
    ),
    (
        layers.ConvTokenizer,
        dict(
            embed_dim=8, kernel_size=4, padding=0, use_bias=True, activation="gelu", max_pool=False
        ),
        (2, 8, 8, 3),
    ),
    (layers.SequencePooling, dict(), (2, 5, 8)),
    (layers.SinePositionEmbedding, dict(), (2, 5, 8)),
    (layers.ClassToken, dict(), (2, 5, 8)),
    (layers.Blockify, dict(block_size=(2, 4)), (2, 4, 8, 3)),
    (layers.Deblockify, dict(block_size=(2, 3)), (2, 4, 6, 3)),
    (layers.PositionEmbedding, dict(), (2, 4, 6, 3)),
    (
        layers.MultiHeadSelfAttention,
        dict(num_heads=2, multi_query=True, qkv_bias=False),
        (2, 3, 5, 8),
    ),
    (layers.Mlp, dict(hidden_dim=12, gelu="tanh", dropout=0.1), (2, 5, 8)),
    (layers.StochasticDepth, dict(rate=0.2, seed=3), (2, 5, 8)),
    (
        layers.TransformerBlock,
        dict(
            num_heads=2,
            mlp_ratio=2.0,
            multi_query=True,
            gelu="tanh",
            drop_path=0.1,
            dropout=0.1,
            attention_dropout=0.1,
            layer_norm_epsilon=1e-5,
            norm_residual=True,
        ),
        (2, 4, 5, 8),
    ),
    (
        layers.BlockAggregation,
        dict(filters=6, block_size=(2, 2), layer_norm_epsilon=1e-5),
        (2, 4, 4, 3),
    ),
    (layers.SoftSplit, dict(kernel_size=3, strides=2, padding=1), (2, 6, 5, 4)),
    (layers.SoftSplit, dict(kernel_size=(3, 2), strides=(2, 1), padding=(0, 1)), (2, 7, 4, 3)),
    (
        layers.TokenPerformer,
        dict(embed_dim=8, kernel_ratio=0.75, dropout=0.2, layer_norm_epsilon=1e-6),
        (2, 5, 12),
    ),
    (
        layers.FeatureReuse,
        dict(source_grid=(2, 2), target_grid=(3, 2), hidden_dim=6, output_dim=4, dropout=0.1),
        (2, 5, 8),
    ),
    (
        layers.RelationReuse,
        dict(channels=4, source_grid=(2, 2), target_grid=(3, 3), hidden_ratio=2),
        (2, 6, 5, 5),
    ),
    (layers.ExitHead, dict(classes=7, pool="avg", activation="softmax"), (2, 5, 8)),
    (layers.SinePositionEmbedding, dict(stored=True), (2, 5, 8)),
]


@pytest.mark.parametrize("cls, kwargs, shape", CASES, ids=[c[0].__name__ for c in CASES])
def test_config_round_trip(cls, kwargs, shape):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype("float32")
    layer = cls(**kwargs, name="original")
    expected = to_numpy(layer(x))

    config = layer.get_config()
    for key, value in kwargs.items():
        stored = config[key]
        assert tuple(stored) == tuple(value) if isinstance(value, tuple) else stored == value

    rebuilt = cls.from_config(config)
    rebuilt(x)
    rebuilt.set_weights(layer.get_weights())
    np.testing.assert_allclose(to_numpy(rebuilt(x)), expected, atol=1e-6)

    # Through Keras's own registry, as a saved model would do it.
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(revived) is cls and revived.get_config() == config
