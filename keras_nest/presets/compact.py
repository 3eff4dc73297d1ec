"""The Compact Transformers' named models, with the authors' names: ``COMPACT[name]``.

``cct_7_3x1_32`` has 7 layers, a 3x3 kernel, 1 convolution and 32x32 inputs;
``vit_lite_7_4_32`` and ``cvt_7_4_32`` 4x4 patches; ``_sine`` selects the
sinusoidal position embedding (which holds no weights, so the published
parameter counts of the ``_sine`` models leave it out). Inputs are normalised
with the statistics of the data set the default classes are of.

Weights: the authors' state dicts (SHI-Labs/Compact-Transformers, ``src/cct.py``
and the README's result tables), trained with their timm-based ``train.py`` and
converted on load. The authors publish no hashes, so none is pinned
(``sha256=None``: ``keras.utils.get_file`` then only checks that the file
arrived). ``cifar10``/``cifar100`` of the sine model are the 5000-epoch runs,
as the authors' ``pretrained=True`` loads; the 1500-epoch runs are
``cifar10_1500epochs``/``cifar100_1500epochs``.
"""

from keras_nest.presets.records import Preset, WeightsFile, table

# By layer count: the authors' cct_2 ... cct_14 (and ViT-Lite, CVT) sizes.
SIZES = {
    2: dict(num_layers=2, num_heads=2, mlp_ratio=1, embed_dim=128),
    4: dict(num_layers=4, num_heads=2, mlp_ratio=1, embed_dim=128),
    6: dict(num_layers=6, num_heads=4, mlp_ratio=2, embed_dim=256),
    7: dict(num_layers=7, num_heads=4, mlp_ratio=2, embed_dim=256),
    14: dict(num_layers=14, num_heads=6, mlp_ratio=3, embed_dim=384),
}
# The normalisation of each default class count's data set.
_DATA_SETS = {10: "cifar10", 100: "cifar100", 102: "flowers102", 1000: "imagenet"}
_SITE = "https://shi-labs.com/projects/cct/checkpoints/"


def _shi_labs(path, classes):
    return WeightsFile(_SITE + path, path.rsplit("/", 1)[1], sha256=None, classes=classes)


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
_CCT_7_7X2_FLOWERS = {"flowers102": _shi_labs("pretrained/cct_7_7x2_224_flowers102.pth", 102)}
_CCT_14_7X2_224 = {"imagenet": _shi_labs("pretrained/cct_14_7x2_224_imagenet.pth", 1000)}
_CCT_14_7X2_384 = {
    "imagenet": _shi_labs("finetuned/cct_14_7x2_384_imagenet.pth", 1000),
    "flowers102": _shi_labs("finetuned/cct_14_7x2_384_flowers102.pth", 102),
}


def _preset(name, builder, label, arch, sine, image_size, classes, params, weights):
    embedding = "sine" if sine else "learnable"
    arch = dict(arch, positional_embedding=embedding, default_size=image_size)
    summary = (
        f"{label}{' with sinusoidal position embedding' if sine else ''} at "
        f"{image_size}x{image_size} ({classes} classes by default)."
    )
    return Preset(
        name, "compact", builder, None, arch, image_size, classes, weights,
        _DATA_SETS[classes], summary, params,
    )  # fmt: skip


def _cct(layers, kernel, convolutions, image_size, params=None, weights=None, *, sine=False,
         classes=10, alias=""):  # fmt: skip
    """``cct_{layers}_{kernel}x{convolutions}_{image_size}[_sine][alias]``."""
    name = f"cct_{layers}_{kernel}x{convolutions}_{image_size}{'_sine' * sine}{alias}"
    arch = dict(SIZES[layers], kernel_size=kernel, conv_layers=convolutions)
    label = f"CCT-{layers}/{kernel}x{convolutions}"
    return _preset(name, "CCT", label, arch, sine, image_size, classes, params, weights or {})


def _patches(family, layers, params=None, *, sine=False):
    """``{family}_{layers}_4_32[_sine]``: a ViT-Lite or CVT with 4x4 patches at 32x32."""
    builder, label = {"vit_lite": ("ViTLite", "ViT-Lite"), "cvt": ("CVT", "CVT")}[family]
    name = f"{family}_{layers}_4_32{'_sine' * sine}"
    arch = dict(SIZES[layers], patch_size=4)
    return _preset(name, builder, f"{label}-{layers}/4", arch, sine, 32, 10, params, {})


COMPACT = table(
    _patches("vit_lite", 2),
    _patches("vit_lite", 2, sine=True),
    _patches("vit_lite", 4),
    _patches("vit_lite", 4, sine=True),
    _patches("vit_lite", 6, 3_190_538),
    _patches("vit_lite", 6, sine=True),
    _patches("vit_lite", 7, 3_716_874),
    _patches("vit_lite", 7, sine=True),
    _patches("cvt", 2),
    _patches("cvt", 2, sine=True),
    _patches("cvt", 4),
    _patches("cvt", 4, sine=True),
    _patches("cvt", 6, 3_190_283),
    _patches("cvt", 6, sine=True),
    _patches("cvt", 7, 3_716_619),
    _patches("cvt", 7, sine=True),
    _cct(2, 3, 2, 32, 283_723),
    _cct(2, 3, 2, 32, 275_531, sine=True),
    _cct(4, 3, 2, 32, 482_123),
    _cct(4, 3, 2, 32, 473_931, sine=True),
    _cct(6, 3, 1, 32, 3_233_803),
    _cct(6, 3, 1, 32, 3_168_267, sine=True),
    _cct(6, 3, 2, 32, 3_326_923),
    _cct(6, 3, 2, 32, 3_310_539, sine=True),
    _cct(7, 3, 1, 32, 3_760_139, _CCT_7_3X1),
    _cct(7, 3, 1, 32, 3_694_603, _CCT_7_3X1_SINE, sine=True),
    _cct(7, 3, 2, 32, 3_853_259),
    _cct(7, 3, 2, 32, 3_836_875, sine=True),
    _cct(7, 7, 2, 224, 4_573_735, classes=102),
    _cct(7, 7, 2, 224, 4_523_559, _CCT_7_7X2_FLOWERS, sine=True, classes=102),
    _cct(14, 7, 2, 224, 22_367_273, _CCT_14_7X2_224, classes=1000),
    _cct(14, 7, 2, 224, sine=True, classes=1000),
    _cct(14, 7, 2, 384, 22_513_193, _CCT_14_7X2_384, classes=1000),
    _cct(14, 7, 2, 384, sine=True, classes=1000),
    # The authors' names for the same models with another default head.
    _cct(7, 3, 1, 32, weights=_CCT_7_3X1, classes=100, alias="_c100"),
    _cct(7, 3, 1, 32, weights=_CCT_7_3X1_SINE, sine=True, classes=100, alias="_c100"),
    _cct(14, 7, 2, 384, weights=_CCT_14_7X2_384, classes=102, alias="_fl"),
)
