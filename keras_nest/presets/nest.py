"""NesT's variants (google-research/nested-transformer configs): ``NEST[name]``.

Each holds the constructor's ``title``, a one-line ``summary`` for its
docstring, the default class count and the ``arch`` arguments of ``Nest``.
"""

IMAGENET_LAYOUT = dict(patch_size=4, block_size=14, attention="multi_head")
CIFAR_LAYOUT = dict(patch_size=1, block_size=4, attention="multi_query")

NEST = {
    "nest_tiny": dict(
        title="NestTiny",
        summary="NesT-T at 224x224, 17.1M parameters, 3 levels.",
        classes=1000,
        arch=dict(
            IMAGENET_LAYOUT,
            depths=(2, 2, 8),
            embed_dims=(96, 192, 384),
            num_heads=(3, 6, 12),
            drop_path_rate=0.2,
        ),
    ),
    "nest_small": dict(
        title="NestSmall",
        summary="NesT-S at 224x224, 38.4M parameters, 3 levels.",
        classes=1000,
        arch=dict(
            IMAGENET_LAYOUT,
            depths=(2, 2, 20),
            embed_dims=(96, 192, 384),
            num_heads=(3, 6, 12),
            drop_path_rate=0.3,
        ),
    ),
    "nest_base": dict(
        title="NestBase",
        summary="NesT-B at 224x224, 67.7M parameters, 3 levels.",
        classes=1000,
        arch=dict(
            IMAGENET_LAYOUT,
            depths=(2, 2, 20),
            embed_dims=(128, 256, 512),
            num_heads=(4, 8, 16),
            drop_path_rate=0.5,
        ),
    ),
    "nest_tiny_cifar": dict(
        title="NestTinyCifar",
        summary="CIFAR NesT-T at 32x32, 6.0M parameters, 4 levels, multi-query attention.",
        classes=10,
        arch=dict(
            CIFAR_LAYOUT, depths=(3, 3, 3, 3), embed_dims=192, num_heads=3, drop_path_rate=0.1
        ),
    ),
    "nest_small_cifar": dict(
        title="NestSmallCifar",
        summary="CIFAR NesT-S at 32x32, 22.8M parameters, 4 levels, multi-query attention.",
        classes=10,
        arch=dict(
            CIFAR_LAYOUT, depths=(3, 3, 3, 3), embed_dims=384, num_heads=6, drop_path_rate=0.1
        ),
    ),
    "nest_base_cifar": dict(
        title="NestBaseCifar",
        summary="CIFAR NesT-B at 32x32, 89.1M parameters, 4 levels, multi-query attention.",
        classes=10,
        arch=dict(
            CIFAR_LAYOUT, depths=(3, 3, 3, 3), embed_dims=768, num_heads=12, drop_path_rate=0.1
        ),
    ),
}
