"""The transformer encoder every family builds: ``TransformerBlock`` s in a row."""

import keras
import numpy as np

from keras_nest.layers import TransformerBlock


def drop_path_rates(drop_path_rate, count):
    """``count`` stochastic-depth rates growing linearly from 0 to ``drop_path_rate``."""
    return np.linspace(0.0, drop_path_rate, count).tolist()


def transformer_encoder(x, num_heads, rates, name="block", **block_kwargs):
    """Applies one ``TransformerBlock`` per entry of ``rates`` to ``x``.

    Args:
        x: tokens, ``(B, ..., N, D)``: ``(B, N, D)`` for a sequence, ``(B, T, N, D)``
            for NesT's ``T`` image blocks.
        num_heads: attention heads of every block.
        rates: each block's stochastic-depth rate (see :func:`drop_path_rates`).
        name: the blocks are named ``{name}_0``, ``{name}_1``, ...
        **block_kwargs: any other ``TransformerBlock`` argument, the same for all.

    Returns:
        The tokens after the last block, the shape of ``x``.
    """
    for index, rate in enumerate(rates):
        x = TransformerBlock(num_heads, drop_path=rate, name=f"{name}_{index}", **block_kwargs)(x)
    return x


def sequence_encoder(x, num_layers, num_heads, drop_path_rate, dropout=0.0, **block_kwargs):
    """The encoder of a token sequence ``(B, N, D)`` (ViT, the Compact Transformers).

    ``dropout`` on the embedded tokens (a ``Dropout`` named ``pos_drop``, where
    not 0), then ``num_layers`` blocks named ``block_0``, ``block_1``, ... with
    that ``dropout`` and stochastic depth growing linearly to ``drop_path_rate``.
    ``block_kwargs`` go to every ``TransformerBlock``. Returns ``(B, N, D)``.
    """
    if dropout:
        x = keras.layers.Dropout(dropout, name="pos_drop")(x)
    rates = drop_path_rates(drop_path_rate, num_layers)
    return transformer_encoder(x, num_heads, rates, dropout=dropout, **block_kwargs)
