"""DVT's named models, as the authors name them (``DVT_Deit_small``, ``DVT_T2t_vit_12``,
``DVT_T2t_vit_14``): ``DVT_PRESETS[name]``.

Each is a cascade of three transformers of the same width and depth on 7x7,
10x10 and 14x14 tokens of a 224x224 image, with feature and relation reuse
(blackfeather-wang/Dynamic-Vision-Transformer, ``models/t2t_vit.py`` and
``models_deit.py``). The authors' ImageNet checkpoints (``.pth.tar`` on
Tsinghua Cloud and Google Drive, behind pages that ``keras.utils.get_file``
cannot fetch) load from a local path: ``weights="/path/DVT_T2t_vit_12.pth.tar"``.
Parameter counts are the authors' models', frozen tables included (the
sinusoid position embeddings and the Performer features of the T2T form).
"""

from keras_nest.presets.records import Preset, table


def _dvt(name, title, arch, params, summary):
    return Preset(
        name=name,
        family="dvt",
        builder="DVT",
        title=title,
        arch=arch,
        image_size=224,
        classes=1000,
        weights={},
        preprocessing="imagenet",
        summary=summary,
        params=params,
    )


DVT_PRESETS = table(
    _dvt(
        "dvt_deit_small",
        "DVTDeiTSmall",
        dict(
            backbone="deit",
            embed_dim=384,
            depth=12,
            num_heads=6,
            mlp_ratio=4.0,
            qkv_bias=True,
            layer_norm_epsilon=1e-6,
        ),
        70_442_232,
        "DVT on DeiT-S: three DeiT-S (patches 32, 23 and 16) on 7x7, 10x10 and 14x14 tokens.",
    ),
    _dvt(
        "dvt_t2t_vit_12",
        "DVTT2TViT12",
        dict(
            backbone="t2t",
            embed_dim=256,
            depth=12,
            num_heads=4,
            mlp_ratio=2.0,
            qkv_bias=False,
            layer_norm_epsilon=1e-5,
        ),
        22_461_516,
        "DVT on T2T-ViT-12: three T2T-ViT-12 on 7x7, 10x10 and 14x14 tokens.",
    ),
    _dvt(
        "dvt_t2t_vit_14",
        "DVTT2TViT14",
        dict(
            backbone="t2t",
            embed_dim=384,
            depth=14,
            num_heads=6,
            mlp_ratio=3.0,
            qkv_bias=False,
            layer_norm_epsilon=1e-5,
        ),
        67_881_836,
        "DVT on T2T-ViT-14: three T2T-ViT-14 on 7x7, 10x10 and 14x14 tokens.",
    ),
)
