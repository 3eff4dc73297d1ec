"""Published Compact Transformers checkpoints, by model name and weights name.

The authors' state dicts (SHI-Labs/Compact-Transformers, ``src/cct.py`` and
the README's result tables), trained with their timm-based ``train.py`` and
converted on load. The authors publish no hashes, so none is pinned
(``sha256=None``: ``keras.utils.get_file`` then only checks that the file
arrived). ``cifar10``/``cifar100`` of the sine model are the 5000-epoch runs,
as the authors' ``pretrained=True`` loads; the 1500-epoch runs are
``cifar10_1500epochs``/``cifar100_1500epochs``.
"""

from keras_nest.weights.loading import WeightsFile

_SITE = "https://shi-labs.com/projects/cct/checkpoints/"


def _shi_labs(path, classes):
    return WeightsFile(
        url=_SITE + path, filename=path.rsplit("/", 1)[1], sha256=None, classes=classes
    )


_CCT_7_3X1 = {
    "cifar10": _shi_labs("pretrained/cct_7_3x1_32_cifar10_300epochs.pth", 10),
    "cifar100": _shi_labs("pretrained/cct_7_3x1_32_cifar100_300epochs.pth", 100),
}
_CCT_7_3X1_SINE = {
    "cifar10": _shi_labs("pretrained/cct_7_3x1_32_sine_cifar10_5000epochs.pth", 10),
    "cifar100": _shi_labs("pretrained/cct_7_3x1_32_sine_cifar100_5000epochs.pth", 100),
    "cifar10_1500epochs": _shi_labs("pretrained/cct_7_3x1_32_sine_cifar10_1500epochs.pth", 10),
    "cifar100_1500epochs": _shi_labs("pretrained/cct_7_3x1_32_sine_cifar100_1500epochs.pth", 100),
}
_CCT_14_7X2_384 = {
    "imagenet": _shi_labs("finetuned/cct_14_7x2_384_imagenet.pth", 1000),
    "flowers102": _shi_labs("finetuned/cct_14_7x2_384_flowers102.pth", 102),
}

COMPACT_WEIGHTS = {
    "cct_7_3x1_32": _CCT_7_3X1,
    "cct_7_3x1_32_c100": _CCT_7_3X1,
    "cct_7_3x1_32_sine": _CCT_7_3X1_SINE,
    "cct_7_3x1_32_sine_c100": _CCT_7_3X1_SINE,
    "cct_7_7x2_224_sine": {"flowers102": _shi_labs("pretrained/cct_7_7x2_224_flowers102.pth", 102)},
    "cct_14_7x2_224": {"imagenet": _shi_labs("pretrained/cct_14_7x2_224_imagenet.pth", 1000)},
    "cct_14_7x2_384": _CCT_14_7X2_384,
    "cct_14_7x2_384_fl": _CCT_14_7X2_384,
}
