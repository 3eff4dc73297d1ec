"""Published ViT checkpoints, by model name and weights name.

All are original Flax ``.npz`` files of google-research/vision_transformer,
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
arrived).
"""

from keras_nest.weights.loading import WeightsFile

_BUCKET = "https://storage.googleapis.com/vit_models/"
IMAGENET21K_CLASSES = 21843


def _bucket(path, classes):
    filename = "vit_" + path.replace("/", "_").replace("+", "_")
    return WeightsFile(url=_BUCKET + path, filename=filename, sha256=None, classes=classes)


def _original(name):
    """The original release: ImageNet-21k and its ImageNet-1k fine-tune ``name``."""
    return {
        "imagenet21k": _bucket(f"imagenet21k/{name.split('-')[0]}.npz", IMAGENET21K_CLASSES),
        "imagenet": _bucket(f"imagenet21k+imagenet2012/{name}.npz", 1000),
    }


def _augreg(pretraining, resolution=None):
    """An AugReg ImageNet-21k file and, with ``resolution``, its ImageNet-1k fine-tune."""
    weights = {"imagenet21k": _bucket(f"augreg/{pretraining}.npz", IMAGENET21K_CLASSES)}
    if resolution:
        finetune = f"{pretraining}--imagenet2012-steps_20k-lr_0.03-res_{resolution}"
        weights["imagenet"] = _bucket(f"augreg/{finetune}.npz", 1000)
    return weights


_TI_16 = "Ti_16-i21k-300ep-lr_0.001-aug_none-wd_0.03-do_0.0-sd_0.0"
_S_16 = "S_16-i21k-300ep-lr_0.001-aug_light1-wd_0.03-do_0.0-sd_0.0"
_S_32 = "S_32-i21k-300ep-lr_0.001-aug_light1-wd_0.03-do_0.0-sd_0.0"
_B_32 = "B_32-i21k-300ep-lr_0.001-aug_medium1-wd_0.03-do_0.0-sd_0.0"

VIT_WEIGHTS = {
    "vit_tiny_patch16_224": _augreg(_TI_16, 224),
    "vit_tiny_patch16_384": _augreg(_TI_16, 384),
    "vit_small_patch16_224": _augreg(_S_16, 224),
    "vit_small_patch16_384": _augreg(_S_16, 384),
    "vit_small_patch32_224": _augreg(_S_32, 224),
    "vit_small_patch32_384": _augreg(_S_32, 384),
    "vit_base_patch16_224": _original("ViT-B_16-224"),
    "vit_base_patch16_384": _original("ViT-B_16"),
    "vit_base_patch32_224": {
        "imagenet21k": _original("ViT-B_32")["imagenet21k"],
        "imagenet": _augreg(_B_32, 224)["imagenet"],
    },
    "vit_base_patch32_384": _original("ViT-B_32"),
    "vit_large_patch16_224": _original("ViT-L_16-224"),
    "vit_large_patch16_384": _original("ViT-L_16"),
    "vit_large_patch32_224": {"imagenet21k": _original("ViT-L_32")["imagenet21k"]},
    "vit_large_patch32_384": _original("ViT-L_32"),
    "vit_huge_patch14_224": {"imagenet21k": _original("ViT-H_14")["imagenet21k"]},
}
