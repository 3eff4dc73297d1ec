"""Compact Transformers state dicts (the authors' and vit-pytorch's) to Keras paths.

Only renames and reshapes: files are read by ``keras_nest.weights.readers``.
Keys a converter does not recognise pass through under their own names, so
the loader reports them as unexpected.

The authors' keys and the Keras names they become::

    tokenizer.conv_layers.{i}.0.{weight,bias}   tokenizer/conv_{i}/{kernel,bias}
    classifier.class_emb                        class_token/token        (ViT-Lite)
    classifier.positional_emb                   pos_embed/embedding      (learnable;
                                                a sine model checks it is the sinusoid)
    classifier.blocks.{i}.pre_norm              block_{i}/norm1/{gamma,beta}
    classifier.blocks.{i}.self_attn.qkv         block_{i}/attn/qkv/kernel
    classifier.blocks.{i}.self_attn.proj        block_{i}/attn/proj/{kernel,bias}
    classifier.blocks.{i}.norm1                 block_{i}/norm2/{gamma,beta}
    classifier.blocks.{i}.linear1 / linear2     block_{i}/mlp/fc1 / fc2
    classifier.norm                             norm/{gamma,beta}
    classifier.attention_pool                   seq_pool/attention_pool  (CVT, CCT)
    classifier.fc                               predictions/{kernel,bias}
"""

import re

import numpy as np

from keras_nest.layers.position import sinusoid_table
from keras_nest.weights.torch_layouts import TORCH_NORM, torch_conv, torch_dense, torch_param

_POSITION_KEY = "classifier.positional_emb"
_SINE_TOLERANCE = 1e-4
_CONV = re.compile(r"tokenizer\.conv_layers\.(\d+)\.0\.(weight|bias)")
_BLOCK = re.compile(r"classifier\.blocks\.(\d+)\.(.+)\.(weight|bias)")
_BLOCK_MODULES = {
    "pre_norm": "norm1",
    "norm1": "norm2",
    "self_attn.qkv": "attn/qkv",
    "self_attn.proj": "attn/proj",
    "linear1": "mlp/fc1",
    "linear2": "mlp/fc2",
}
_DENSES = {
    "classifier.attention_pool": "seq_pool/attention_pool",
    "classifier.fc": "predictions",
}


def check_layout(state):
    """Raises a ValueError unless ``state`` is a Compact Transformers state dict."""
    if not any(_CONV.fullmatch(key) for key in state):
        sample = sorted(state)[:5]
        raise ValueError(
            "Not a Compact Transformers checkpoint: expected the authors' keys "
            f"(tokenizer.conv_layers.0.0.weight, classifier.*); found {sample}..."
        )


def check_sine_table(table, learnable_variant=None):
    """Raises a ValueError unless ``table`` is the authors' sinusoid (or None).

    The authors' sine models keep their sinusoid as a frozen parameter, so
    their checkpoints store it; a learned table under the same key comes from
    a model built with a learnable embedding (the authors' ``*_sine``
    functions build one since January 2022), which a sine model cannot run.

    Args:
        table: the checkpoint's ``classifier.positional_emb``, or None.
        learnable_variant: the registered model with a learnable embedding to
            suggest instead, or None to suggest ``positional_embedding="learnable"``.
    """
    if table is None:
        return
    if table.ndim == 3 and len(table) == 1:
        error = np.max(np.abs(table[0] - sinusoid_table(*table.shape[1:])), initial=0.0)
        if error <= _SINE_TOLERANCE:
            return
        found = f"differs from the authors' sinusoid of that shape by up to {error:.3g}"
    else:
        found = "is not shaped (1, tokens, width) as a sinusoid is"
    fix = 'pass positional_embedding="learnable"'
    if learnable_variant:
        fix = f"load it into {learnable_variant!r}, the same model with a learnable one, or {fix}"
    raise ValueError(
        "This checkpoint is for a learnable position embedding, not a sine model's: its "
        f"{_POSITION_KEY} {tuple(table.shape)} {found} (the authors' *_sine functions "
        f"have built a learnable embedding since January 2022). To use it, {fix}."
    )


def convert(state, positional_embedding, learnable_variant=None):
    """Converts an authors'-layout state dict to ``{keras path: array}``.

    Args:
        state: ``{name: array}`` as read from the file; a ``module.`` prefix
            (a model saved from ``DataParallel``) is dropped.
        positional_embedding: the target model's ("learnable", "sine" or
            "none"). A sine model computes its table, so it drops a stored
            one once :func:`check_sine_table` has found it to be the sinusoid.
        learnable_variant: passed to :func:`check_sine_table`.

    Raises:
        ValueError: for another family's checkpoint, or a learned table for a
            sine model.
    """
    state = {key.removeprefix("module."): np.asarray(value) for key, value in state.items()}
    check_layout(state)
    if positional_embedding == "sine":
        check_sine_table(state.pop(_POSITION_KEY, None), learnable_variant)
    out = {}
    for name, array in state.items():
        conv = _CONV.fullmatch(name)
        block = _BLOCK.fullmatch(name)
        module, _, leaf = name.rpartition(".")
        if conv:
            key, value = torch_conv(name, array)
            out[f"tokenizer/conv_{conv[1]}/{key}"] = value
        elif block and block[2] in _BLOCK_MODULES:
            key, value = torch_param(name, array, norm="norm" in block[2])
            out[f"block_{block[1]}/{_BLOCK_MODULES[block[2]]}/{key}"] = value
        elif name == _POSITION_KEY and positional_embedding == "learnable":
            out["pos_embed/embedding"] = array
        elif name == "classifier.class_emb":
            out["class_token/token"] = array
        elif module == "classifier.norm":
            out[f"norm/{TORCH_NORM[leaf]}"] = array
        elif module in _DENSES:
            key, value = torch_dense(name, array)
            out[f"{_DENSES[module]}/{key}"] = value
        else:
            out[name] = array
    return out
