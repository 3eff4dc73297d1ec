"""ViT checkpoints (original Flax .npz, timm state dicts) to and from Keras variable paths.

Only renames and reshapes: files are read by ``keras_nest.weights.readers``.
Keys a converter does not recognise pass through under their own names, so
the loader reports them as unexpected.

Keras names (block ``i``)::

    patch_embed/proj/{kernel,bias}     class_token/token     pos_embed/embedding
    block_{i}/norm1|norm2/{gamma,beta}
    block_{i}/attn/qkv/{kernel,bias}   (D, 3D): (q | k | v), each (heads, head_dim)
    block_{i}/attn/proj/{kernel,bias}  (D, D): rows (heads, head_dim)
    block_{i}/mlp/fc1|fc2/{kernel,bias}
    norm/{gamma,beta}    pre_logits/{kernel,bias}    predictions/{kernel,bias}

The original layout (vit_jax ``models_vit.py``) keeps Keras's kernel layouts:
q/k/v kernels ``(D, heads, head_dim)`` and the output kernel
``(heads, head_dim, D)`` only need their head axes merged.
"""

import re

import numpy as np

from keras_nest.weights.torch_layouts import TORCH_NORM, torch_conv, torch_dense, torch_param

_FLAX_NORM = {"scale": "gamma", "bias": "beta"}
_KERAS_NORM = {"gamma": "scale", "beta": "bias"}
# Original block module -> Keras sublayer, for the per-block (vit_jax) and the
# stacked (big_vision) layouts.
_BLOCK_MODULES = {
    "LayerNorm_0": "norm1",
    "LayerNorm_2": "norm2",
    "MlpBlock_3/Dense_0": "mlp/fc1",
    "MlpBlock_3/Dense_1": "mlp/fc2",
}
_STACKED_MODULES = {
    "LayerNorm_0": "norm1",
    "LayerNorm_1": "norm2",
    "MlpBlock_0/Dense_0": "mlp/fc1",
    "MlpBlock_0/Dense_1": "mlp/fc2",
}
_ROOT = "embedding/kernel"
_TOP_LEVEL = {
    "embedding": "patch_embed/proj",
    "Transformer/encoder_norm": "norm",
    "pre_logits": "pre_logits",
    "head": "predictions",
}


def convert(state):
    """Converts an original ``.npz`` or a timm ViT checkpoint to ``{keras path: array}``."""
    if "patch_embed.proj.weight" in state:
        return from_timm(state)
    if any(_is_root(key) for key in state):
        return from_original(state)
    sample = sorted(state)[:5]
    raise ValueError(
        "Not a ViT checkpoint: expected the original Flax keys (embedding/kernel, "
        f"Transformer/encoderblock_0/...) or timm keys (patch_embed.proj.weight, "
        f"blocks.*); found {sample}..."
    )


# ----------------------------------------------------------------------------- original
def _is_root(key):
    """True for the patch-embedding kernel, under any wrapper prefix."""
    return key == _ROOT or key.endswith("/" + _ROOT)


def _strip_prefix(state):
    """Drops a wrapper prefix (``opt/target/``, ``params/``) in front of the model tree."""
    prefix = min((key[: -len(_ROOT)] for key in state if _is_root(key)), key=len)
    return {
        key[len(prefix) :]: np.asarray(value)
        for key, value in state.items()
        if key.startswith(prefix)
    }


def _leaf(module, leaf):
    """The Keras name of a Dense, Conv or LayerNorm parameter of ``module``."""
    if module.split("/")[-1].startswith(("LayerNorm", "encoder_norm")):
        return _FLAX_NORM.get(leaf, leaf)
    return leaf


def _attention(prefix, get):
    """Fused qkv and proj of one block from ``get(name) -> array``."""
    q, k, v = (get(f"{n}/kernel") for n in ("query", "key", "value"))
    qkv_kernel = np.concatenate([w.reshape(w.shape[0], -1) for w in (q, k, v)], axis=-1)
    qkv_bias = np.concatenate([get(f"{n}/bias").reshape(-1) for n in ("query", "key", "value")])
    out = get("out/kernel")
    return {
        f"{prefix}attn/qkv/kernel": qkv_kernel,
        f"{prefix}attn/qkv/bias": qkv_bias,
        f"{prefix}attn/proj/kernel": out.reshape(-1, out.shape[-1]),
        f"{prefix}attn/proj/bias": get("out/bias"),
    }


_BLOCK = re.compile(r"Transformer/encoderblock_(\d+)/(.+)/(\w+)")
_STACKED = re.compile(r"Transformer/encoderblock/(.+)/(\w+)")


def from_original(state):
    """Original vit_jax ``.npz`` (flattened, "/"-joined) to Keras paths.

    Also reads big_vision files, whose blocks are stacked along a leading
    layer axis under ``Transformer/encoderblock/`` with the position
    embedding at the top level.
    """
    state = _strip_prefix(state)
    out = _fused_attention(state)
    for name, array in state.items():
        block = _BLOCK.fullmatch(name)
        stacked = _STACKED.fullmatch(name)
        module, _, leaf = name.rpartition("/")
        if block and block[2].startswith("MultiHeadDotProductAttention_"):
            continue  # fused above
        if stacked and stacked[1].startswith("MultiHeadDotProductAttention_"):
            continue
        if block and block[2] in _BLOCK_MODULES:
            index, module, leaf = block.groups()
            out[f"block_{index}/{_BLOCK_MODULES[module]}/{_leaf(module, leaf)}"] = array
        elif stacked and stacked[1] in _STACKED_MODULES:
            module, leaf = stacked.groups()
            for index, layer in enumerate(array):
                out[f"block_{index}/{_STACKED_MODULES[module]}/{_leaf(module, leaf)}"] = layer
        elif name == "cls":
            out["class_token/token"] = array
        elif name in ("Transformer/posembed_input/pos_embedding", "pos_embedding"):
            out["pos_embed/embedding"] = array
        elif module in _TOP_LEVEL:
            out[f"{_TOP_LEVEL[module]}/{_leaf(module, leaf)}"] = array
        else:
            out[name] = array
    return out


def _fused_attention(state):
    """Every block's fused qkv/proj, from either original layout."""
    out = {}
    attention = re.compile(
        r"(Transformer/encoderblock(?:_(\d+))?/MultiHeadDotProductAttention_\d)/"
    )
    modules = sorted({m.group(1, 2) for m in map(attention.match, state) if m})
    for module, index in modules:
        if index is not None:
            out.update(_attention(f"block_{index}/", lambda n: state[f"{module}/{n}"]))
            continue
        depth = len(state[f"{module}/out/bias"])
        for i in range(depth):
            out.update(_attention(f"block_{i}/", lambda n, i=i: state[f"{module}/{n}"][i]))
    return out


def to_original(weights, num_heads):
    """Keras ``{variable path: array}`` of a ViT to the original vit_jax ``.npz`` keys.

    The inverse of :func:`from_original` for the per-block layout, which
    ``vit_jax`` and timm's ``.npz`` loader read.

    Raises:
        ValueError: for a weight a ViT does not have (another family's model).
    """
    top_level = {keras: original for original, keras in _TOP_LEVEL.items()}
    block_modules = {keras: original for original, keras in _BLOCK_MODULES.items()}
    out = {}
    for path, array in weights.items():
        array = np.asarray(array)
        parts = path.split("/")
        module = "/".join(parts[:-1])
        if path == "class_token/token":
            out["cls"] = array
        elif path == "pos_embed/embedding":
            out["Transformer/posembed_input/pos_embedding"] = array
        elif re.fullmatch(r"block_\d+/attn/(qkv|proj)/(kernel|bias)", path):
            out.update(_attention_to_original(parts, array, num_heads))
        elif re.fullmatch(r"block_\d+", parts[0]) and "/".join(parts[1:-1]) in block_modules:
            original = block_modules["/".join(parts[1:-1])]
            leaf = _KERAS_NORM.get(parts[-1], parts[-1])
            out[f"Transformer/encoderblock_{parts[0][6:]}/{original}/{leaf}"] = array
        elif module in top_level:
            out[f"{top_level[module]}/{_KERAS_NORM.get(parts[-1], parts[-1])}"] = array
        else:
            raise ValueError(f"{path!r} is not a ViT weight: only ViT models save as .npz.")
    return out


def _attention_to_original(parts, array, num_heads):
    """A fused qkv or proj tensor as the original query/key/value or out pieces."""
    attention = f"Transformer/encoderblock_{parts[0][6:]}/MultiHeadDotProductAttention_1/"
    leaf = parts[-1]
    if parts[2] == "proj":
        if leaf == "kernel":
            array = array.reshape(num_heads, -1, array.shape[-1])
        return {f"{attention}out/{leaf}": array}
    pieces = np.split(array, 3, axis=-1)
    shape = (num_heads, array.shape[-1] // 3 // num_heads)
    return {
        f"{attention}{name}/{leaf}": piece.reshape(*piece.shape[:-1], *shape)
        for name, piece in zip(("query", "key", "value"), pieces)
    }


# ----------------------------------------------------------------------------- timm
_TIMM_BLOCK = re.compile(
    r"blocks\.(\d+)\.(norm1|norm2|attn\.qkv|attn\.proj|mlp\.fc1|mlp\.fc2)\.(\w+)"
)
_TIMM_TOP = {"norm": "norm", "head": "predictions", "pre_logits.fc": "pre_logits"}


def from_timm(state):
    """timm ``vit_*`` state dict (torch layouts) to Keras paths.

    timm's fused qkv rows are ``(q | k | v, heads, head_dim)`` and its proj
    columns ``(heads, head_dim)``: the Keras layouts transposed.
    """
    out = {}
    for name, array in state.items():
        array = np.asarray(array)
        block = _TIMM_BLOCK.fullmatch(name)
        module, leaf = name.rsplit(".", 1) if "." in name else (name, "")
        if block:
            index, module, leaf = block.groups()
            key, value = torch_param(name, array, norm=module.startswith("norm"))
            out[f"block_{index}/{module.replace('.', '/')}/{key}"] = value
        elif name.startswith("patch_embed.proj."):
            key, value = torch_conv(name, array)
            out[f"patch_embed/proj/{key}"] = value
        elif name == "cls_token":
            out["class_token/token"] = array
        elif name == "pos_embed":
            out["pos_embed/embedding"] = array
        elif module == "norm":
            out[f"norm/{TORCH_NORM[leaf]}"] = array
        elif module in _TIMM_TOP:
            key, value = torch_dense(name, array)
            out[f"{_TIMM_TOP[module]}/{key}"] = value
        else:
            out[name] = array
    return out
