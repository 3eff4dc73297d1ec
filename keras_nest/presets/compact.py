"""The Compact Transformers' variants, with the authors' names: ``COMPACT[name]``.

Each holds the paper's ``label`` of the model (for the docstring), the ``builder``
("CCT", "CVT" or "ViTLite"), its ``arch`` arguments, the default input edge
``image_size``, the default class count and the ``positional_embedding``.
``cct_7_3x1_32`` has 7 layers, a 3x3 kernel, 1 convolution and 32x32 inputs;
``_sine`` selects the sinusoidal position embedding.
"""

# Preset by layer count: (heads, MLP ratio, width), as the authors' cct_2 ... cct_14.
SIZES = {
    2: dict(num_layers=2, num_heads=2, mlp_ratio=1, embed_dim=128),
    4: dict(num_layers=4, num_heads=2, mlp_ratio=1, embed_dim=128),
    6: dict(num_layers=6, num_heads=4, mlp_ratio=2, embed_dim=256),
    7: dict(num_layers=7, num_heads=4, mlp_ratio=2, embed_dim=256),
    14: dict(num_layers=14, num_heads=6, mlp_ratio=3, embed_dim=384),
}
# (layers, kernel, convolutions, image size, default classes) of each CCT.
_CCT = [(2, 3, 2, 32, 10), (4, 3, 2, 32, 10), (6, 3, 1, 32, 10), (6, 3, 2, 32, 10)]
_CCT += [(7, 3, 1, 32, 10), (7, 3, 2, 32, 10), (7, 7, 2, 224, 102)]
_CCT += [(14, 7, 2, 224, 1000), (14, 7, 2, 384, 1000)]
# (name prefix, builder, label) of the families with 4x4 patches.
_PATCH_FAMILIES = (("vit_lite", "ViTLite", "ViT-Lite"), ("cvt", "CVT", "CVT"))


def _cct(layers, kernel, convolutions, image_size, classes, embedding):
    """The entry of one CCT."""
    arch = dict(SIZES[layers], kernel_size=kernel, conv_layers=convolutions)
    return dict(
        label=f"CCT-{layers}/{kernel}x{convolutions}",
        builder="CCT",
        arch=arch,
        image_size=image_size,
        classes=classes,
        positional_embedding=embedding,
    )


def _table():
    """Every variant: the CCTs, ViT-Lites and CVTs with either embedding, then the aliases."""
    table = {}
    for suffix, embedding in (("", "learnable"), ("_sine", "sine")):
        for layers, kernel, convolutions, image_size, classes in _CCT:
            name = f"cct_{layers}_{kernel}x{convolutions}_{image_size}{suffix}"
            table[name] = _cct(layers, kernel, convolutions, image_size, classes, embedding)
        for layers in (2, 4, 6, 7):
            for family, builder, label in _PATCH_FAMILIES:
                table[f"{family}_{layers}_4_32{suffix}"] = dict(
                    label=f"{label}-{layers}/4",
                    builder=builder,
                    arch=dict(SIZES[layers], patch_size=4),
                    image_size=32,
                    classes=10,
                    positional_embedding=embedding,
                )
    # The authors' names for the same models with another default head.
    table["cct_7_3x1_32_c100"] = _cct(7, 3, 1, 32, 100, "learnable")
    table["cct_7_3x1_32_sine_c100"] = _cct(7, 3, 1, 32, 100, "sine")
    table["cct_14_7x2_384_fl"] = _cct(14, 7, 2, 384, 102, "learnable")
    return table


COMPACT = _table()
