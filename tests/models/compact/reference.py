"""Reference Compact Transformers for parity tests: vit-pytorch's CCT classes.

vit-pytorch's CCT keeps the authors' module tree (``tokenizer.conv_layers``,
``classifier.*``), their block (MLP residual on the normalised stream) and
their initialisation, so its state dicts are in the authors' layout. ViT-Lite
and CVT are assembled from the same Tokenizer and TransformerClassifier, as
the authors' ``src/vit.py`` and ``src/cvt.py`` do.
"""

# The authors' sizes (SHI-Labs/Compact-Transformers: cct_2 ... cct_14 in
# src/cct.py, the same for vit_lite and cvt in src/vit.py and src/cvt.py),
# written here, not taken from keras_nest, so that a wrong entry there fails.
AUTHORS_SIZES = {
    2: dict(num_layers=2, num_heads=2, mlp_ratio=1, embedding_dim=128),
    4: dict(num_layers=4, num_heads=2, mlp_ratio=1, embedding_dim=128),
    6: dict(num_layers=6, num_heads=4, mlp_ratio=2, embedding_dim=256),
    7: dict(num_layers=7, num_heads=4, mlp_ratio=2, embedding_dim=256),
    14: dict(num_layers=14, num_heads=6, mlp_ratio=3, embedding_dim=384),
}


def reference_model(
    family, layers, positional_embedding, size=32, kernel_size=3, conv_layers=1, classes=10
):
    """vit-pytorch model in eval mode: ``family`` is "cct", "cvt" or "vit_lite".

    Its initial weights are drawn from torch's generator seeded with 0, so a
    test sees the same model whatever ran before it.
    """
    import torch
    from vit_pytorch import cct

    torch.manual_seed(0)
    arch = AUTHORS_SIZES[layers]
    classifier_args = dict(
        **arch,
        num_classes=classes,
        positional_embedding=positional_embedding,
        dropout_rate=0.0,
        attention_dropout=0.1,
        stochastic_depth_rate=0.1,
    )
    if family == "cct":
        return cct.CCT(
            img_size=size,
            kernel_size=kernel_size,
            stride=max(1, kernel_size // 2 - 1),
            padding=max(1, kernel_size // 2),
            n_conv_layers=conv_layers,
            **classifier_args,
        ).eval()

    class PatchModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.tokenizer = cct.Tokenizer(
                kernel_size=4,
                stride=4,
                padding=0,
                max_pool=False,
                activation=None,
                n_conv_layers=1,
                n_output_channels=arch["embedding_dim"],
                conv_bias=True,
            )
            self.classifier = cct.TransformerClassifier(
                seq_pool=family == "cvt", sequence_length=(size // 4) ** 2, **classifier_args
            )

        def forward(self, x):
            return self.classifier(self.tokenizer(x))

    return PatchModel().eval()


def perturb(model, seed=0):
    """Makes every detail show: norm scales 1 +- 0.2, biases and class token
    N(0, 0.1), every kernel scaled by 3 and the classifier's by 20 (the
    authors' init gives logits of order 0.1)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator)
            if name.endswith("class_emb") or (param.ndim == 1 and "norm" not in name):
                param.copy_(0.1 * noise)
            elif param.ndim == 1:
                param.copy_((1 + 0.2 * noise) if name.endswith("weight") else 0.1 * noise)
            elif "positional_emb" not in name:
                param.mul_(20.0 if name == "classifier.fc.weight" else 3.0)
    return model
