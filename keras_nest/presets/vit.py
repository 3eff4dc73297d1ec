"""ViT's variants, named as timm names them: ``VIT[name]``.

Each holds the constructor's ``title``, the ``size`` name of :data:`SIZES`,
the ``patch_size`` and the default input edge ``image_size``.
"""

# The original configurations (vit_jax configs/models.py); dropout as there.
SIZES = {
    "tiny": dict(embed_dim=192, num_layers=12, num_heads=3),
    "small": dict(embed_dim=384, num_layers=12, num_heads=6),
    "base": dict(embed_dim=768, num_layers=12, num_heads=12),
    "large": dict(embed_dim=1024, num_layers=24, num_heads=16, dropout=0.1),
    "huge": dict(embed_dim=1280, num_layers=32, num_heads=16, dropout=0.1),
}


def _variant(size, patch_size, image_size, title=None):
    """``(name, entry)`` of one variant; ``title`` defaults to the name."""
    name = f"vit_{size}_patch{patch_size}_{image_size}"
    return name, dict(title=title or name, size=size, patch_size=patch_size, image_size=image_size)


VIT = dict(
    [
        _variant("tiny", 16, 224, "ViTTiny16"),
        _variant("small", 16, 224, "ViTSmall16"),
        _variant("small", 32, 224, "ViTSmall32"),
        _variant("base", 16, 224, "ViTBase16"),
        _variant("base", 32, 224, "ViTBase32"),
        _variant("large", 16, 224, "ViTLarge16"),
        _variant("large", 32, 224, "ViTLarge32"),
        _variant("huge", 14, 224, "ViTHuge14"),
        # timm's 384x384 variants, reachable by name only.
        *(
            _variant(size, patch_size, 384)
            for size, patch_size in (
                ("tiny", 16),
                ("small", 16),
                ("small", 32),
                ("base", 16),
                ("base", 32),
                ("large", 16),
                ("large", 32),
            )
        ),
    ]
)
