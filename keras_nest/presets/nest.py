"""NesT's named models (google-research/nested-transformer's configs): ``NEST[name]``.

"imagenet" weights: the official ImageNet-1k checkpoints as converted by timm
(``nest_*_jx.goog_in1k``), safetensors on the Hugging Face hub, converted on
load. The hub publishes no hash beside the download address, so none is pinned
(``sha256=None``: ``keras.utils.get_file`` then only checks that the file
arrived). No CIFAR checkpoints were published.
"""

from keras_nest.presets.records import Preset, WeightsFile, table

IMAGENET_LAYOUT = dict(patch_size=4, block_size=14, attention="multi_head")
CIFAR_LAYOUT = dict(patch_size=1, block_size=4, attention="multi_query")
_HUB = "https://huggingface.co/timm/{}/resolve/main/model.safetensors"


def _timm_hub(tag):
    """timm's ImageNet-1k checkpoint ``tag`` on the Hugging Face hub."""
    url = _HUB.format(tag)
    return {"imagenet": WeightsFile(url, f"{tag}.safetensors", sha256=None, classes=1000)}


def _imagenet(name, title, summary, params, weights, **arch):
    """A 3-level NesT at 224x224 with 1000 classes."""
    return Preset(
        name, "nest", "Nest", title, dict(IMAGENET_LAYOUT, **arch), 224, 1000,
        weights, "imagenet", summary, params,
    )  # fmt: skip


def _cifar(name, title, summary, params, **arch):
    """A 4-level NesT at 32x32 with 10 classes and multi-query attention."""
    arch = dict(CIFAR_LAYOUT, depths=(3, 3, 3, 3), drop_path_rate=0.1, **arch)
    return Preset(name, "nest", "Nest", title, arch, 32, 10, {}, "cifar10", summary, params)


NEST = table(
    _imagenet(
        "nest_tiny", "NestTiny", "NesT-T at 224x224, 17.1M parameters, 3 levels.", 17_057_608,
        _timm_hub("nest_tiny_jx.goog_in1k"),
        depths=(2, 2, 8), embed_dims=(96, 192, 384), num_heads=(3, 6, 12), drop_path_rate=0.2,
    ),
    _imagenet(
        "nest_small", "NestSmall", "NesT-S at 224x224, 38.4M parameters, 3 levels.", 38_351_176,
        _timm_hub("nest_small_jx.goog_in1k"),
        depths=(2, 2, 20), embed_dims=(96, 192, 384), num_heads=(3, 6, 12), drop_path_rate=0.3,
    ),
    _imagenet(
        "nest_base", "NestBase", "NesT-B at 224x224, 67.7M parameters, 3 levels.", 67_723_368,
        _timm_hub("nest_base_jx.goog_in1k"),
        depths=(2, 2, 20), embed_dims=(128, 256, 512), num_heads=(4, 8, 16), drop_path_rate=0.5,
    ),
    _cifar(
        "nest_tiny_cifar", "NestTinyCifar",
        "CIFAR NesT-T at 32x32, 6.0M parameters, 4 levels, multi-query attention.", 6_006_730,
        embed_dims=192, num_heads=3,
    ),
    _cifar(
        "nest_small_cifar", "NestSmallCifar",
        "CIFAR NesT-S at 32x32, 22.8M parameters, 4 levels, multi-query attention.", 22_849_930,
        embed_dims=384, num_heads=6,
    ),
    _cifar(
        "nest_base_cifar", "NestBaseCifar",
        "CIFAR NesT-B at 32x32, 89.1M parameters, 4 levels, multi-query attention.", 89_050_378,
        embed_dims=768, num_heads=12,
    ),
)  # fmt: skip
