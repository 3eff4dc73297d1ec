"""The authors' DVT state dicts (DeiT and T2T-ViT forms) to Keras paths.

Only renames and reshapes: files are read by ``keras_nest.weights.readers``
(a ``.pth.tar`` holding ``model_state_dict`` is unwrapped there). Keys the
converter does not recognise pass through under their own names, so the
loader reports them as unexpected.

The authors' sub-models ``less_less_token.``, ``less_token.`` and
``normal_token.`` are the exits ``exit1/``, ``exit2/``, ``exit3/``; inside
each::

    cls_token / pos_embed                           cls_token/token, pos_embed/embedding
    patch_embed.proj                                patch_embed/proj          (DeiT)
    tokens_to_token.attention{i}.kqv / proj         attention{i}/kqv, proj    (T2T)
    tokens_to_token.attention{i}.norm1 / norm2      attention{i}/norm1, norm2
    tokens_to_token.attention{i}.mlp.0 / mlp.2      attention{i}/fc1, fc2
    tokens_to_token.attention{i}.w                  attention{i}/w
    tokens_to_token.project                         project
    blocks.{l}.norm1 / attn.qkv / attn.proj         block_{l}/norm1, attn/qkv, attn/proj
    blocks.{l}.norm2 / mlp.fc1 / mlp.fc2            block_{l}/norm2, mlp/fc1, mlp/fc2
    blocks.{l}.feature_resuse_mlp.0                 block_{l}_feature_reuse/norm
    blocks.{l}.feature_resuse_mlp.1.fc1 / fc2       block_{l}_feature_reuse/mlp/fc1, fc2
    relation_reuse_conv.0 / .2  (1x1 convs)         relation_reuse/fc1, fc2   (Dense kernels)
    norm / head                                     head/norm, head/predictions

The soft splits reproduce ``nn.Unfold``'s feature order, so the T2T weights
need no permutation.
"""

import re

import numpy as np

from keras_nest.weights.torch_layouts import TORCH_NORM, torch_conv, torch_dense

AUTHORS_EXITS = ("less_less_token", "less_token", "normal_token")
_RENAMES = [
    (r"cls_token", "cls_token/token"),
    (r"pos_embed", "pos_embed/embedding"),
    (r"tokens_to_token\.attention(\d)\.w", r"attention\1/w"),
    (r"patch_embed\.proj\.(weight|bias)", r"patch_embed/proj/\1"),
    (r"tokens_to_token\.attention(\d)\.(kqv|proj)\.(weight|bias)", r"attention\1/\2/\3"),
    (r"tokens_to_token\.attention(\d)\.(norm[12])\.(weight|bias)", r"attention\1/\2/\3"),
    (r"tokens_to_token\.attention(\d)\.mlp\.0\.(weight|bias)", r"attention\1/fc1/\2"),
    (r"tokens_to_token\.attention(\d)\.mlp\.2\.(weight|bias)", r"attention\1/fc2/\2"),
    (r"tokens_to_token\.project\.(weight|bias)", r"project/\1"),
    (r"blocks\.(\d+)\.(norm[12])\.(weight|bias)", r"block_\1/\2/\3"),
    (r"blocks\.(\d+)\.attn\.(qkv|proj)\.(weight|bias)", r"block_\1/attn/\2/\3"),
    (r"blocks\.(\d+)\.mlp\.(fc[12])\.(weight|bias)", r"block_\1/mlp/\2/\3"),
    (r"blocks\.(\d+)\.feature_resuse_mlp\.0\.(weight|bias)", r"block_\1_feature_reuse/norm/\2"),
    (
        r"blocks\.(\d+)\.feature_resuse_mlp\.1\.(fc[12])\.(weight|bias)",
        r"block_\1_feature_reuse/mlp/\2/\3",
    ),
    (r"relation_reuse_conv\.0\.(weight|bias)", r"relation_reuse/fc1/\1"),
    (r"relation_reuse_conv\.2\.(weight|bias)", r"relation_reuse/fc2/\1"),
    (r"norm\.(weight|bias)", r"head/norm/\1"),
    (r"head\.(weight|bias)", r"head/predictions/\1"),
]
_RENAMES = [(re.compile(pattern), target) for pattern, target in _RENAMES]


def _keras_array(path, array):
    """``(path, array)`` with the torch leaf (weight / bias) made Keras's."""
    module, _, leaf = path.rpartition("/")
    if leaf not in ("weight", "bias"):
        return path, array
    kind = module.rsplit("/", 1)[-1]
    if kind.startswith("norm"):
        return f"{module}/{TORCH_NORM[leaf]}", array
    if kind == "proj" and module.endswith("patch_embed/proj"):
        key, value = torch_conv(f"x.{leaf}", array)
    elif array.ndim == 4:  # a 1x1 convolution over the relation channels: a Dense
        key, value = torch_dense(f"x.{leaf}", array[:, :, 0, 0])
    else:
        key, value = torch_dense(f"x.{leaf}", array)
    return f"{module}/{key}", value


def _rename(name):
    for pattern, target in _RENAMES:
        if pattern.fullmatch(name):
            return pattern.sub(target, name)
    return None


def convert(state, exits=3):
    """Converts the authors' cascade state dict to ``{keras path: array}``.

    Args:
        state: ``{name: array}`` as read from the file; a ``module.`` prefix
            (a model saved from ``DataParallel``) is dropped.
        exits: the cascade's exit count (the authors' checkpoints hold 3).

    Raises:
        ValueError: for a checkpoint that is no DVT cascade.
    """
    state = {key.removeprefix("module."): np.asarray(value) for key, value in state.items()}
    prefixes = {f"{prefix}.": f"exit{k}/" for k, prefix in enumerate(AUTHORS_EXITS, start=1)}
    if not any(key.split(".", 1)[0] in AUTHORS_EXITS for key in state):
        sample = sorted(state)[:5]
        raise ValueError(
            "Not a DVT checkpoint: expected the authors' sub-models "
            f"{', '.join(AUTHORS_EXITS)} (keys such as less_less_token.cls_token); "
            f"found {sample}..."
        )
    if exits != len(AUTHORS_EXITS):
        raise ValueError(
            f"The authors' DVT checkpoints hold {len(AUTHORS_EXITS)} exits; "
            f"this cascade has {exits}."
        )
    out = {}
    for name, array in state.items():
        prefix, _, rest = name.partition(".")
        renamed = _rename(rest) if f"{prefix}." in prefixes else None
        if renamed is None:
            out[name] = array
            continue
        path, value = _keras_array(prefixes[f"{prefix}."] + renamed, array)
        out[path] = value
    return out
