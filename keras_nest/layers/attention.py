"""Self-attention over the token axis of inputs with any number of leading axes."""

import functools
import math

import keras
from keras import ops

from keras_nest.layers import compute_paths
from keras_nest.layers.initializers import SublayerInitializers


def attention_output_spec(inputs, num_heads, return_attention_scores, dtype, logits=False):
    """Symbolic outputs of a layer that attends over the tokens of ``inputs``.

    ``(..., N, C)`` in, the same shape out, plus the scores
    ``(..., num_heads, N, N)`` when ``return_attention_scores`` is set, then
    the logits of the same shape when ``logits`` is set.
    """
    outputs = keras.KerasTensor(inputs.shape, dtype=dtype)
    *leading, tokens, _ = inputs.shape
    scores_shape = (*leading, num_heads, tokens, tokens)
    extra = [  # distinct tensors: a functional graph tells its outputs apart by identity
        keras.KerasTensor(scores_shape, dtype=dtype) for _ in range(return_attention_scores + logits)
    ]
    return (outputs, *extra) if extra else outputs


@keras.saving.register_keras_serializable(package="keras_nest")
class MultiHeadSelfAttention(SublayerInitializers, keras.layers.Layer):
    """Multi-head (or multi-query) self-attention with one fused qkv projection.

    Attention runs over the second-to-last axis only; every leading axis is a
    batch axis, so NesT's blocks ``(B, T, N, C)`` attend inside each block with
    no loop over blocks. The fused projection lays out its outputs as
    ``(q | k | v)``, each ``(heads, head_dim)``; with ``multi_query=True`` key
    and value are one head each, shared by every query head (the official NesT
    CIFAR models). The attention itself goes through
    ``keras.ops.dot_product_attention``.

    Args:
        num_heads: number of query heads; must divide the channel count.
        multi_query: one shared key/value head instead of ``num_heads``.
        qkv_bias: whether the qkv projection has a bias.
        attention_dropout: dropout on the attention weights while training.
        proj_dropout: dropout on the output projection while training.
        kernel_initializer, bias_initializer: for both projections.

    Call arguments: ``attention_bias``, optional ``(B, heads, N, N)`` added to
    the logits before the softmax (DVT's reused relations; multi-head only);
    ``return_attention_scores`` returns the softmaxed scores too,
    ``return_attention_logits`` the logits (bias included) after them.

    Input shape: ``(..., N, C)``.
    Output shape: ``(..., N, C)``; then the scores and/or logits
    ``(..., heads, N, N)`` where asked for.
    """

    def __init__(
        self,
        num_heads,
        multi_query=False,
        qkv_bias=True,
        attention_dropout=0.0,
        proj_dropout=0.0,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.multi_query = multi_query
        self.qkv_bias = qkv_bias
        self.attention_dropout = attention_dropout
        self.proj_dropout = proj_dropout
        self.set_initializers(kernel_initializer, bias_initializer)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels % self.num_heads:
            raise ValueError(
                f"{self.name}: {channels} channels do not split into {self.num_heads} heads."
            )
        self.head_dim = channels // self.num_heads
        self.kv_heads = 1 if self.multi_query else self.num_heads
        dense = self.sublayer_kwargs()
        qkv_width = (self.num_heads + 2 * self.kv_heads) * self.head_dim
        self.qkv = keras.layers.Dense(qkv_width, use_bias=self.qkv_bias, name="qkv", **dense)
        self.qkv.build(input_shape)
        self.proj = keras.layers.Dense(channels, name="proj", **dense)
        self.proj.build(input_shape)
        self.attn_drop = keras.layers.Dropout(self.attention_dropout, dtype=self.dtype_policy)
        self.proj_drop = keras.layers.Dropout(self.proj_dropout, dtype=self.dtype_policy)

    def _split_qkv(self, qkv, tokens):
        """The fused projection (B', N, (H + 2 H_kv) hd) -> q (B', N, H, hd), k and v
        (B', N, H_kv, hd)."""
        q_end = self.num_heads * self.head_dim
        k_end = q_end + self.kv_heads * self.head_dim
        q, k, v = ops.split(qkv, [q_end, k_end], axis=-1)
        q = ops.reshape(q, (-1, tokens, self.num_heads, self.head_dim))
        kv_shape = (-1, tokens, self.kv_heads, self.head_dim)
        return q, ops.reshape(k, kv_shape), ops.reshape(v, kv_shape)

    def _fused_attention(self, qkv, tokens, channels, bias):
        """The fused projection (B', N, ...) -> (B', N, C) through ``ops.dot_product_attention``."""
        q, k, v = self._split_qkv(qkv, tokens)
        if self.multi_query:
            # One shared key/value head: every (token, head) query attends to
            # the same keys, so the heads fold into the query axis for free.
            q = ops.reshape(q, (-1, tokens * self.num_heads, 1, self.head_dim))
        out = ops.dot_product_attention(q, k, v, bias=bias)
        return ops.reshape(out, (-1, tokens, channels))

    def _grouped_qkv(self, qkv, tokens):
        """The fused projection (B', N, ...) -> scaled q (B', G, M, hd), k and v (B', G, N, hd).

        Multi-head: G = H groups of M = N queries, heads first through one
        transpose of the fused projection. Multi-query: one group of
        M = N * H queries, token-major, against the one key/value head, with
        no transpose at all.
        """
        scale = self.head_dim**-0.5
        if self.multi_query:
            q, k, v = self._split_qkv(qkv, tokens)
            q = ops.reshape(q, (-1, 1, tokens * self.num_heads, self.head_dim))
            k, v = ops.swapaxes(k, 1, 2), ops.swapaxes(v, 1, 2)
        else:
            qkv = ops.reshape(qkv, (-1, tokens, 3 * self.num_heads, self.head_dim))
            q, k, v = ops.split(ops.swapaxes(qkv, 1, 2), 3, axis=1)
        return q * ops.cast(scale, q.dtype), k, v

    def _ungroup(self, out, tokens, channels):
        """Grouped outputs (B', G, M, hd) -> (B', N, C)."""
        if not self.multi_query:
            out = ops.swapaxes(out, 1, 2)
        return ops.reshape(out, (-1, tokens, channels))

    def _scores_per_head(self, weights, tokens):
        """Grouped weights (B', G, M, N) -> (B', H, N, N)."""
        if not self.multi_query:
            return weights
        weights = ops.reshape(weights, (-1, tokens, self.num_heads, tokens))
        return ops.swapaxes(weights, 1, 2)

    def call(
        self,
        inputs,
        attention_bias=None,
        training=None,
        return_attention_scores=False,
        return_attention_logits=False,
    ):
        shape = ops.shape(inputs)
        tokens, channels = shape[-2], shape[-1]
        x = ops.reshape(inputs, (-1, tokens, channels))
        bias = None
        if attention_bias is not None:
            if self.multi_query:
                raise ValueError(f"{self.name}: an attention bias needs multi-head attention.")
            bias = ops.reshape(attention_bias, (-1, self.num_heads, tokens, tokens))
        dropout_active = training and self.attention_dropout > 0
        if return_attention_scores or return_attention_logits or dropout_active:
            path = "softmax"
        else:
            path = compute_paths.attention_path(training)
        qkv = compute_paths.dense(self.qkv, x, training)
        if path == "fused":
            out = self._fused_attention(qkv, tokens, channels, bias)
        elif path == "deferred":
            q, k, v = self._grouped_qkv(qkv, tokens)
            out = compute_paths.deferred_softmax_attention(q, k, v, bias)
            out = self._ungroup(out, tokens, channels)
        else:
            dropout = functools.partial(
                compute_paths.dropout, self.attn_drop, training=training
            )
            q, k, v = self._grouped_qkv(qkv, tokens)
            out, weights, logits = compute_paths.softmax_attention(q, k, v, dropout, bias)
            out = self._ungroup(out, tokens, channels)
        out = compute_paths.dense(self.proj, out, training)
        out = compute_paths.dropout(self.proj_drop, out, training)
        out = ops.reshape(out, (-1, *shape[1:]))
        extra = []
        heads_shape = (-1, *shape[1:-2], self.num_heads, tokens, tokens)
        if return_attention_scores:
            extra.append(ops.reshape(self._scores_per_head(weights, tokens), heads_shape))
        if return_attention_logits:
            extra.append(ops.reshape(self._scores_per_head(logits, tokens), heads_shape))
        return (out, *extra) if extra else out

    def count_macs(self, input_shape, counter):
        """Multiply-adds for ``keras_nest.utils.count_flops``: projections and both matmuls.

        ``q kᵀ`` and ``weights · v`` cost ``2 N² C`` per sequence of ``N``
        tokens of width ``C`` (multi-query attention too: the queries are
        what cost).
        """
        counter.layer(self.qkv, input_shape)
        sequences, tokens, channels = math.prod(input_shape[1:-2]), *input_shape[-2:]
        counter.add("attention", 2 * sequences * tokens * tokens * channels)
        counter.layer(self.proj, input_shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(
        self,
        inputs,
        attention_bias=None,
        training=None,
        return_attention_scores=False,
        return_attention_logits=False,
    ):
        return attention_output_spec(
            inputs,
            self.num_heads,
            return_attention_scores,
            self.compute_dtype,
            logits=return_attention_logits,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            num_heads=self.num_heads,
            multi_query=self.multi_query,
            qkv_bias=self.qkv_bias,
            attention_dropout=self.attention_dropout,
            proj_dropout=self.proj_dropout,
            **self.initializers_config(),
        )
        return config
