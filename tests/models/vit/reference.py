"""ViT test helpers: perturbed keras_nest models, and timm state dicts written
in the original code's checkpoint layouts by a conversion of the test's own."""

import numpy as np

import keras_nest


def perturbed_vit(name, seed=0, **kwargs):
    """A keras_nest ViT whose every tensor is N(0, 0.1) (norm scales 1 + that),
    the zero-initialised head included."""
    model = keras_nest.create_model(name, classifier_activation=None, **kwargs)
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        noise = rng.normal(size=variable.shape) * 0.1
        if variable.path.endswith("gamma"):
            noise = 1 + noise
        variable.assign(noise.astype("float32"))
    return model


def images(size, count=2):
    return np.random.default_rng(3).normal(size=(count, size, size, 3)).astype("float32")


# A block's modules in each layout: the published .npz numbers them with one
# counter (flax before linen), vit_jax today and big_vision with one per type.
_BLOCK_NAMES = {
    "vit_jax": ("MultiHeadDotProductAttention_1", "LayerNorm_2", "MlpBlock_3"),
    "linen": ("MultiHeadDotProductAttention_0", "LayerNorm_1", "MlpBlock_0"),
    "big_vision": ("MultiHeadDotProductAttention_0", "LayerNorm_1", "MlpBlock_0"),
}


def flax_arrays(model, layout):
    """A timm ``VisionTransformer``'s weights as the original code stores them.

    Args:
        model: the timm model.
        layout: "vit_jax" (the published ``.npz`` files), "linen" (vit_jax's
            ``models_vit.py`` today) or "big_vision" (blocks stacked on a
            leading axis, the position table at the top, all under "params/").

    Returns:
        ``{"/"-joined name: array}``. Flax's dense kernels are ``(in, out)``,
        attention's ``(D, heads, head_dim)`` and ``(heads, head_dim, D)``.
    """
    state = {key: value.detach().numpy() for key, value in model.state_dict().items()}
    width, heads = model.embed_dim, model.blocks[0].attn.num_heads
    attention, norm_2, mlp = _BLOCK_NAMES[layout]
    out = {
        "embedding/kernel": state["patch_embed.proj.weight"].transpose(2, 3, 1, 0),
        "embedding/bias": state["patch_embed.proj.bias"],
        "Transformer/encoder_norm/scale": state["norm.weight"],
        "Transformer/encoder_norm/bias": state["norm.bias"],
        "head/kernel": state["head.weight"].T,
        "head/bias": state["head.bias"],
    }
    if "cls_token" in state:
        out["cls"] = state["cls_token"]
    big_vision = layout == "big_vision"
    position = "pos_embedding" if big_vision else "Transformer/posembed_input/pos_embedding"
    out[position] = state["pos_embed"]
    blocks = []
    for index in range(len(model.blocks)):
        prefix = f"blocks.{index}."
        weight = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        qkv, qkv_bias = weight["attn.qkv.weight"], weight["attn.qkv.bias"]
        block = {
            "LayerNorm_0/scale": weight["norm1.weight"],
            "LayerNorm_0/bias": weight["norm1.bias"],
            f"{attention}/out/kernel": weight["attn.proj.weight"].T.reshape(heads, -1, width),
            f"{attention}/out/bias": weight["attn.proj.bias"],
            f"{norm_2}/scale": weight["norm2.weight"],
            f"{norm_2}/bias": weight["norm2.bias"],
        }
        for part, name in enumerate(("query", "key", "value")):
            rows = slice(part * width, (part + 1) * width)
            block[f"{attention}/{name}/kernel"] = qkv[rows].T.reshape(width, heads, -1)
            block[f"{attention}/{name}/bias"] = qkv_bias[rows].reshape(heads, -1)
        for dense, fc in enumerate(("fc1", "fc2")):
            block[f"{mlp}/Dense_{dense}/kernel"] = weight[f"mlp.{fc}.weight"].T
            block[f"{mlp}/Dense_{dense}/bias"] = weight[f"mlp.{fc}.bias"]
        blocks.append(block)
    if big_vision:
        for key in blocks[0]:
            out[f"Transformer/encoderblock/{key}"] = np.stack([block[key] for block in blocks])
        return {f"params/{key}": value for key, value in out.items()}
    for index, block in enumerate(blocks):
        out.update({f"Transformer/encoderblock_{index}/{k}": v for k, v in block.items()})
    return out
