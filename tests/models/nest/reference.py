"""The configurations of the official NesT code fixtures in tests/fixtures/nest/."""

import numpy as np

from tests.conftest import fixture_path

# The fixtures' models: the official nest_tiny_s16_32 (CIFAR) and
# nest_tiny_s196_224 (ImageNet) configs narrowed as their .json files say.
FLAX_FIXTURES = {
    "nest_tiny_s16_32_reduced": dict(
        depths=(1, 1, 1, 1),
        embed_dims=48,
        num_heads=3,
        patch_size=1,
        block_size=4,
        attention="multi_query",
        classes=10,
    ),
    "nest_tiny_s196_224_reduced": dict(
        depths=(1, 1, 2),
        embed_dims=(32, 64, 128),
        num_heads=(2, 4, 8),
        patch_size=4,
        block_size=14,
        classes=10,
    ),
}


def flax_fixture(name):
    """``(path, arrays)`` of one official-code fixture."""
    path = fixture_path("nest", f"{name}.npz")
    with np.load(path) as archive:
        return path, {key: archive[key] for key in archive.files}
