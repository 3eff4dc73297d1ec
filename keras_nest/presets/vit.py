"""ViT's named models, as timm names them: ``VIT[name]``.

Weights: original Flax ``.npz`` files of google-research/vision_transformer,
served from the public ``vit_models`` bucket and converted on load:

- ``imagenet21k/ViT-{B_16,B_32,L_16,L_32,H_14}.npz``: pre-trained on
  ImageNet-21k, 21,843 classes, a tanh ``pre_logits`` layer of the model's
  width and a zeroed head (meant for fine-tuning only).
- ``imagenet21k+imagenet2012/ViT-*.npz``: the same fine-tuned on ImageNet-1k
  at 384 (``-224``: at 224).
- ``augreg/*.npz`` ("How to train your ViT", Steiner et al. 2021) for the
  sizes the original release lacks (Ti/16, S/16, S/32, and B/32 at 224):
  ImageNet-21k pre-training and its ImageNet-1k fine-tunes, as timm uses them.

The bucket publishes no hashes beside the files, so none is pinned
(``sha256=None``: ``keras.utils.get_file`` then only checks that the file
arrived). Parameter counts are timm's for the same names (1000 classes).
"""

from keras_nest.presets.records import Preset, WeightsFile, table

# The original configurations (vit_jax configs/models.py); dropout as there.
SIZES = {
    "tiny": dict(embed_dim=192, num_layers=12, num_heads=3),
    "small": dict(embed_dim=384, num_layers=12, num_heads=6),
    "base": dict(embed_dim=768, num_layers=12, num_heads=12),
    "large": dict(embed_dim=1024, num_layers=24, num_heads=16, dropout=0.1),
    "huge": dict(embed_dim=1280, num_layers=32, num_heads=16, dropout=0.1),
}
IMAGENET21K_CLASSES = 21843
_BUCKET = "https://storage.googleapis.com/vit_models/"


def _bucket(path, classes):
    filename = "vit_" + path.replace("/", "_").replace("+", "_")
    return WeightsFile(_BUCKET + path, filename, sha256=None, classes=classes)


def _original(name, fine_tuned=True):
    """The original release: ImageNet-21k and (``fine_tuned``) its ImageNet-1k fine-tune ``name``."""
    pretraining = f"imagenet21k/{name.split('-')[0]}.npz"
    weights = {"imagenet21k": _bucket(pretraining, IMAGENET21K_CLASSES)}
    if fine_tuned:
        weights["imagenet"] = _bucket(f"imagenet21k+imagenet2012/{name}.npz", 1000)
    return weights


def _augreg(pretraining, resolution):
    """An AugReg ImageNet-21k file and its ImageNet-1k fine-tune at ``resolution``."""
    finetune = f"{pretraining}--imagenet2012-steps_20k-lr_0.03-res_{resolution}"
    return {
        "imagenet21k": _bucket(f"augreg/{pretraining}.npz", IMAGENET21K_CLASSES),
        "imagenet": _bucket(f"augreg/{finetune}.npz", 1000),
    }


_TI_16 = "Ti_16-i21k-300ep-lr_0.001-aug_none-wd_0.03-do_0.0-sd_0.0"
_S_16 = "S_16-i21k-300ep-lr_0.001-aug_light1-wd_0.03-do_0.0-sd_0.0"
_S_32 = "S_32-i21k-300ep-lr_0.001-aug_light1-wd_0.03-do_0.0-sd_0.0"
_B_32 = "B_32-i21k-300ep-lr_0.001-aug_medium1-wd_0.03-do_0.0-sd_0.0"
# B/32 at 224: the original ImageNet-21k file, AugReg's ImageNet-1k fine-tune.
_B_32_224 = dict(_original("ViT-B_32", False), imagenet=_augreg(_B_32, 224)["imagenet"])


def _vit(size, patch_size, image_size, params, weights, title=None):
    """ViT-``size``/``patch_size`` at ``image_size``, named as timm does."""
    name = f"vit_{size}_patch{patch_size}_{image_size}"
    arch = dict(SIZES[size], patch_size=patch_size, default_size=image_size)
    summary = f"ViT-{size[0].upper()}/{patch_size} at {image_size}x{image_size}."
    return Preset(
        name, "vit", "ViT", title, arch, image_size, 1000, weights, "inception", summary, params
    )


VIT = table(
    _vit("tiny", 16, 224, 5_717_416, _augreg(_TI_16, 224), "ViTTiny16"),
    _vit("small", 16, 224, 22_050_664, _augreg(_S_16, 224), "ViTSmall16"),
    _vit("small", 32, 224, 22_878_952, _augreg(_S_32, 224), "ViTSmall32"),
    _vit("base", 16, 224, 86_567_656, _original("ViT-B_16-224"), "ViTBase16"),
    _vit("base", 32, 224, 88_224_232, _B_32_224, "ViTBase32"),
    _vit("large", 16, 224, 304_326_632, _original("ViT-L_16-224"), "ViTLarge16"),
    _vit("large", 32, 224, 306_535_400, _original("ViT-L_32", False), "ViTLarge32"),
    _vit("huge", 14, 224, 632_045_800, _original("ViT-H_14", False), "ViTHuge14"),
    # timm's 384x384 variants, reached by name only.
    _vit("tiny", 16, 384, 5_790_376, _augreg(_TI_16, 384)),
    _vit("small", 16, 384, 22_196_584, _augreg(_S_16, 384)),
    _vit("small", 32, 384, 22_915_432, _augreg(_S_32, 384)),
    _vit("base", 16, 384, 86_859_496, _original("ViT-B_16")),
    _vit("base", 32, 384, 88_297_192, _original("ViT-B_32")),
    _vit("large", 16, 384, 304_715_752, _original("ViT-L_16")),
    _vit("large", 32, 384, 306_632_680, _original("ViT-L_32")),
)
