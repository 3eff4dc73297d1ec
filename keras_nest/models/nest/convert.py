"""NesT checkpoints (timm state dicts, the official Flax tree) to Keras variable paths.

Only renames and reshapes: files are read by ``keras_nest.weights.readers``.
Keys a converter does not recognise pass through under their own names, so
the loader reports them as unexpected.

Keras names (``level_{l}_...`` for level ``l``, block ``i`` of that level)::

    patch_embed/proj/{kernel,bias}             level_{l}_pos_embed/embedding
    level_{l}_pool/conv/{kernel,bias}          level_{l}_pool/norm/{gamma,beta}
    level_{l}_block_{i}/norm1|norm2/{gamma,beta}
    level_{l}_block_{i}/attn/qkv|proj/{kernel,bias}
    level_{l}_block_{i}/mlp/fc1|fc2/{kernel,bias}
    norm/{gamma,beta}                          predictions/{kernel,bias}
"""

import re

import numpy as np

from keras_nest.weights.torch_layouts import TORCH_NORM, torch_conv, torch_dense

_FLAX_ROOT = "PatchEmbedding_0/Conv_0/kernel"


def detect_layout(state):
    """``"timm"`` or ``"flax"`` from the key names; raises a ValueError otherwise."""
    if "patch_embed.proj.weight" in state:
        return "timm"
    if any(key.endswith(_FLAX_ROOT) for key in state):
        return "flax"
    sample = sorted(state)[:5]
    raise ValueError(
        "Not a NesT checkpoint: expected timm keys (patch_embed.proj.weight, "
        f"levels.*) or the official Flax tree (PatchEmbedding_0, ...); found {sample}..."
    )


def convert(state, depths, num_heads):
    """Converts a timm or Flax NesT checkpoint to ``{keras path: array}``.

    Args:
        state: ``{name: array}`` as read from the file.
        depths: transformer layers per level of the target model (the Flax
            tree numbers its layers globally).
        num_heads: heads per level of the target model (the timm proj kernel
            is stored in a per-level channel order that depends on it).
    """
    if detect_layout(state) == "timm":
        return from_timm(state, num_heads)
    return from_flax(state, depths)


# ----------------------------------------------------------------------------- timm
_TIMM_LAYER = re.compile(r"levels\.(\d+)\.transformer_encoder\.(\d+)\.(.+)")
_TIMM_LEVEL = re.compile(r"levels\.(\d+)\.(pos_embed|pool\.conv|pool\.norm)(.*)")


def _proj_rows(heads, channels):
    """Row order taking timm's ``d * heads + h`` proj input to ``h * head_dim + d``."""
    head_dim = channels // heads
    return np.arange(channels).reshape(head_dim, heads).T.reshape(-1)


def from_timm(state, num_heads):
    """timm ``nest_*`` / ``nest_*_jx`` state dict (torch layouts) to Keras paths."""
    out = {}
    for name, array in state.items():
        array = np.asarray(array)
        leaf = name.rsplit(".", 1)[-1]
        layer = _TIMM_LAYER.fullmatch(name)
        level = _TIMM_LEVEL.fullmatch(name)
        if layer:
            lvl, idx, rest = int(layer[1]), layer[2], layer[3]
            prefix = f"level_{lvl}_block_{idx}/"
            module = rest.rsplit(".", 1)[0]
            if module in ("norm1", "norm2"):
                out[f"{prefix}{module}/{TORCH_NORM[leaf]}"] = array
            elif module in ("attn.qkv", "mlp.fc1", "mlp.fc2"):
                key, value = torch_dense(rest, array)
                out[f"{prefix}{module.replace('.', '/')}/{key}"] = value
            elif module == "attn.proj":
                key, value = torch_dense(rest, array)
                rows = _proj_rows(num_heads[lvl], array.shape[0])
                out[f"{prefix}attn/proj/{key}"] = value[rows] if key == "kernel" else value
            else:
                out[name] = array
        elif level:
            lvl, part = int(level[1]), level[2]
            if part == "pos_embed":
                out[f"level_{lvl}_pos_embed/embedding"] = array
            elif part == "pool.conv":
                key, value = torch_conv(name, array)
                out[f"level_{lvl}_pool/conv/{key}"] = value
            else:
                out[f"level_{lvl}_pool/norm/{TORCH_NORM[leaf]}"] = array
        elif name.startswith("patch_embed.proj."):
            key, value = torch_conv(name, array)
            out[f"patch_embed/proj/{key}"] = value
        elif name in ("norm.weight", "norm.bias"):
            out[f"norm/{TORCH_NORM[leaf]}"] = array
        elif name in ("head.weight", "head.bias"):
            key, value = torch_dense(name, array)
            out[f"predictions/{key}"] = value
        else:
            out[name] = array
    return out


# ----------------------------------------------------------------------------- Flax
_FLAX_LAYER = re.compile(r"EncoderNDBlock_(\d+)/(.+)")
_FLAX_NORM = {"scale": "gamma", "bias": "beta"}


def _params_tree(state):
    """The model parameters of a flattened Flax checkpoint, keyed from the root module.

    Works on a bare tree (``params/PatchEmbedding_0/...`` as in the fixtures)
    and on a whole training checkpoint (``optimizer/target/PatchEmbedding_0/...``),
    whose optimizer state is left out.
    """
    roots = sorted((key[: -len(_FLAX_ROOT)] for key in state if key.endswith(_FLAX_ROOT)), key=len)
    prefix = roots[0]
    return {
        key[len(prefix) :]: np.asarray(value)
        for key, value in state.items()
        if key.startswith(prefix)
    }


def from_flax(state, depths):
    """Official Flax NesT parameter tree (flattened, "/"-joined) to Keras paths.

    ``depths`` splits the globally numbered ``EncoderNDBlock_{g}`` into levels.
    """
    state = _params_tree(state)
    starts = np.cumsum([0] + list(depths))
    out = {}
    for name, array in state.items():
        layer = _FLAX_LAYER.fullmatch(name)
        if layer:
            g = int(layer[1])
            lvl = int(np.searchsorted(starts, g, side="right") - 1)
            prefix = f"level_{lvl}_block_{g - starts[lvl]}/"
            out.update(_flax_layer(prefix, layer[2], array, state, name))
            continue
        parts = name.split("/")
        if name.startswith("PatchEmbedding_0/Conv_0/"):
            out[f"patch_embed/proj/{parts[-1]}"] = array
        elif parts[0].startswith("PositionEmbedding_"):
            out[f"level_{parts[0].split('_')[1]}_pos_embed/embedding"] = array
        elif parts[0].startswith("ConvPool_"):
            lvl = int(parts[0].split("_")[1]) + 1
            if parts[1] == "Conv_0":
                out[f"level_{lvl}_pool/conv/{parts[-1]}"] = array
            else:
                out[f"level_{lvl}_pool/norm/{_FLAX_NORM[parts[-1]]}"] = array
        elif parts[0] == "LayerNorm_0":
            out[f"norm/{_FLAX_NORM[parts[-1]]}"] = array
        elif parts[0] == "Dense_0":
            out[f"predictions/{parts[-1]}"] = array
        else:
            out[name] = array
    return out


def _flax_layer(prefix, rest, array, state, full_name):
    """One entry of an ``EncoderNDBlock``; q/k/v pieces are fused into ``qkv``."""
    parts = rest.split("/")
    leaf = parts[-1]
    if parts[0] in ("LayerNorm_0", "LayerNorm_1"):
        norm = "norm1" if parts[0] == "LayerNorm_0" else "norm2"
        return {f"{prefix}{norm}/{_FLAX_NORM[leaf]}": array}
    if parts[0] == "MlpBlock_0":
        fc = "fc1" if parts[1] == "Dense_0" else "fc2"
        return {f"{prefix}mlp/{fc}/{leaf}": array}
    if parts[0] in ("MultiHeadAttention_0", "MultiQueryAttention_0"):
        attention = full_name[: -len(rest)] + parts[0]
        if parts[1] == "proj_kernel":
            return {f"{prefix}attn/proj/kernel": array.reshape(-1, array.shape[-1])}
        if parts[1] == "bias":
            return {f"{prefix}attn/proj/bias": array}
        if parts[1] == "DenseGeneral_0":  # q; k and v are fused in with it
            return {f"{prefix}attn/qkv/{leaf}": _fused_qkv(state, attention, leaf)}
        return {}  # the k/v kernels, already fused above
    return {full_name: array}


def _fused_qkv(state, attention, leaf):
    """Concatenates Flax q, k, v pieces into the ``(q | k | v)`` layout of ``qkv``."""
    q = state[f"{attention}/DenseGeneral_0/{leaf}"]
    if attention.endswith("MultiQueryAttention_0"):
        kv = state[f"{attention}/Dense_0/{leaf}"]  # (..., 2 * head_dim): k | v
        return np.concatenate([_merge_heads(q), kv], axis=-1)
    kv = state[f"{attention}/DenseGeneral_1/{leaf}"]  # (..., heads, 2 * head_dim)
    head_dim = q.shape[-1]
    k, v = kv[..., :head_dim], kv[..., head_dim:]
    return np.concatenate([_merge_heads(q), _merge_heads(k), _merge_heads(v)], axis=-1)


def _merge_heads(x):
    """``(..., heads, head_dim) -> (..., heads * head_dim)``."""
    return x.reshape(*x.shape[:-2], -1)
