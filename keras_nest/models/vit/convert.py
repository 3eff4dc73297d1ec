"""ViT checkpoints (original Flax trees, timm state dicts) to and from Keras variable paths.

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


def _block_modules(attention, norm2, mlp):
    """Original module of one block -> Keras sublayer, for one numbering of the modules."""
    return {
        "LayerNorm_0": "norm1",
        attention: "attn",
        norm2: "norm2",
        f"{mlp}/Dense_0": "mlp/fc1",
        f"{mlp}/Dense_1": "mlp/fc2",
    }


# The published .npz files number a block's modules with one counter (Flax's
# pre-linen API); linen, which vit_jax's code runs on today (after its own
# convert_pre_linen) and big_vision's stacked blocks use, counts per type.
_PRE_LINEN = _block_modules("MultiHeadDotProductAttention_1", "LayerNorm_2", "MlpBlock_3")
_LINEN = _block_modules("MultiHeadDotProductAttention_0", "LayerNorm_1", "MlpBlock_0")
_ATTENTION_PIECES = {
    f"{name}/{leaf}" for name in ("query", "key", "value", "out") for leaf in ("kernel", "bias")
}
_ROOT = "embedding/kernel"
_STACKED = "Transformer/encoderblock/"
_TOP_LEVEL = {
    "embedding": "patch_embed/proj",
    "Transformer/encoder_norm": "norm",
    "pre_logits": "pre_logits",
    "head": "predictions",
}


def detect_layout(state):
    """``"original"`` (Flax keys) or ``"timm"`` from the key names; a ValueError otherwise."""
    if "patch_embed.proj.weight" in state:
        return "timm"
    if any(_is_root(key) for key in state):
        return "original"
    sample = sorted(state)[:5]
    raise ValueError(
        "Not a ViT checkpoint: expected the original Flax keys (embedding/kernel, "
        f"Transformer/encoderblock_0/...) or timm keys (patch_embed.proj.weight, "
        f"blocks.*); found {sample}..."
    )


def convert(state):
    """Converts an original Flax or a timm ViT checkpoint to ``{keras path: array}``."""
    if detect_layout(state) == "timm":
        return from_timm(state)
    return from_original(state)


# ----------------------------------------------------------------------------- original
def _is_root(key):
    """True for the patch-embedding kernel, under any wrapper prefix."""
    return key == _ROOT or key.endswith("/" + _ROOT)


def _strip_prefix(state):
    """The model tree, without a wrapper prefix (``params/``, ``opt/target/``, ``0/``).

    The shortest prefix in front of the patch-embedding kernel wins, which
    leaves out the optimizer's copies of the tree in a training checkpoint
    (vit_jax's ``train.py`` saves ``(params, opt_state, step)``, flattened
    to ``0/...``, ``1/1/0/trace/...`` and ``2``).
    """
    prefix = min((key[: -len(_ROOT)] for key in state if _is_root(key)), key=len)
    return {
        key[len(prefix) :]: np.asarray(value)
        for key, value in state.items()
        if key.startswith(prefix)
    }


def _unstack(state):
    """big_vision's blocks, stacked along a leading layer axis, as one key per block."""
    out = {}
    for name, array in state.items():
        if name.startswith(_STACKED):
            rest = name[len(_STACKED) :]
            out.update({f"Transformer/encoderblock_{i}/{rest}": a for i, a in enumerate(array)})
        else:
            out[name] = array
    return out


def _leaf(module, leaf):
    """The Keras name of a Dense, Conv or LayerNorm parameter of ``module``."""
    if module.split("/")[-1].startswith(("LayerNorm", "encoder_norm")):
        return _FLAX_NORM.get(leaf, leaf)
    return leaf


def _attention(index, pieces):
    """Fused qkv and proj of block ``index`` from its ``{"query/kernel": array, ...}``."""
    q, k, v = (pieces[f"{n}/kernel"] for n in ("query", "key", "value"))
    qkv_kernel = np.concatenate([w.reshape(w.shape[0], -1) for w in (q, k, v)], axis=-1)
    qkv_bias = np.concatenate([pieces[f"{n}/bias"].reshape(-1) for n in ("query", "key", "value")])
    out = pieces["out/kernel"]
    return {
        f"block_{index}/attn/qkv/kernel": qkv_kernel,
        f"block_{index}/attn/qkv/bias": qkv_bias,
        f"block_{index}/attn/proj/kernel": out.reshape(-1, out.shape[-1]),
        f"block_{index}/attn/proj/bias": pieces["out/bias"],
    }


_ATTENTION = re.compile(r"Transformer/encoderblock_(\d+)/([^/]+)/(\w+/\w+)")


def _fused_attention(state, module):
    """Every block's fused qkv/proj from the query/key/value/out pieces of ``module``.

    Returns ``(converted, rest)``; the pieces of a block that lacks some stay
    in ``rest`` under their own names, so the loader reports them.
    """
    pieces, rest = {}, {}
    for name, array in state.items():
        match = _ATTENTION.fullmatch(name)
        if match and match[2] == module:
            pieces.setdefault(match[1], {})[match[3]] = (name, array)
        else:
            rest[name] = array
    out = {}
    for index, found in pieces.items():
        if set(found) == _ATTENTION_PIECES:
            out.update(_attention(index, {piece: array for piece, (_, array) in found.items()}))
        else:
            rest.update(found.values())
    return out, rest


_BLOCK = re.compile(r"Transformer/encoderblock_(\d+)/(.+)/(\w+)")


def from_original(state):
    """An original Flax ViT tree (flattened, "/"-joined) to Keras paths.

    Reads the published ``.npz`` files (pre-linen module numbering), trees
    saved from vit_jax's current code (linen numbering), whole training
    checkpoints of its ``train.py`` and big_vision files, whose blocks are
    stacked along a leading layer axis under ``Transformer/encoderblock/``
    with the position embedding at the top level.
    """
    state = _unstack(_strip_prefix(state))
    pre_linen = any("/MultiHeadDotProductAttention_1/" in key for key in state)
    modules = _PRE_LINEN if pre_linen else _LINEN
    attention = next(module for module, keras in modules.items() if keras == "attn")
    out, state = _fused_attention(state, attention)
    for name, array in state.items():
        block = _BLOCK.fullmatch(name)
        module, _, leaf = name.rpartition("/")
        if block and block[2] in modules:
            index, module, leaf = block.groups()
            out[f"block_{index}/{modules[module]}/{_leaf(module, leaf)}"] = array
        elif name == "cls":
            out["class_token/token"] = array
        elif name in ("Transformer/posembed_input/pos_embedding", "pos_embedding"):
            out["pos_embed/embedding"] = array
        elif module in _TOP_LEVEL:
            out[f"{_TOP_LEVEL[module]}/{_leaf(module, leaf)}"] = array
        else:
            out[name] = array
    return out


def to_original(weights, num_heads):
    """Keras ``{variable path: array}`` of a ViT to the original vit_jax ``.npz`` keys.

    The inverse of :func:`from_original` for the published per-block layout
    (pre-linen numbering), which ``vit_jax`` and timm's ``.npz`` loader read.

    Raises:
        ValueError: for a weight a ViT does not have (another family's model).
    """
    top_level = {keras: original for original, keras in _TOP_LEVEL.items()}
    block_modules = {keras: original for original, keras in _PRE_LINEN.items()}
    out = {}
    for path, array in weights.items():
        array = np.asarray(array)
        parts = path.split("/")
        module = "/".join(parts[:-1])
        block_module = "/".join(parts[1:-1])
        if path == "class_token/token":
            out["cls"] = array
        elif path == "pos_embed/embedding":
            out["Transformer/posembed_input/pos_embedding"] = array
        elif re.fullmatch(r"block_\d+/attn/(qkv|proj)/(kernel|bias)", path):
            out.update(_attention_to_original(parts, array, num_heads, block_modules["attn"]))
        elif re.fullmatch(r"block_\d+", parts[0]) and block_module in block_modules:
            leaf = _KERAS_NORM.get(parts[-1], parts[-1])
            out[f"Transformer/encoderblock_{parts[0][6:]}/{block_modules[block_module]}/{leaf}"] = (
                array
            )
        elif module in top_level:
            out[f"{top_level[module]}/{_KERAS_NORM.get(parts[-1], parts[-1])}"] = array
        else:
            raise ValueError(f"{path!r} is not a ViT weight: only ViT models save as .npz.")
    return out


def _attention_to_original(parts, array, num_heads, module):
    """A fused qkv or proj tensor as the original query/key/value or out pieces."""
    attention = f"Transformer/encoderblock_{parts[0][6:]}/{module}/"
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
