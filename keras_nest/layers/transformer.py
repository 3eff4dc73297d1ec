"""The pre-norm transformer layer every family builds its encoder from."""

import keras
from keras import ops

from keras_nest.layers import compute_paths
from keras_nest.layers.attention import MultiHeadSelfAttention, attention_output_spec
from keras_nest.layers.initializers import SublayerInitializers

GELU_KINDS = ("exact", "tanh")


def check_gelu(gelu):
    """Returns ``gelu`` if it names a GELU kind, else raises a ValueError."""
    if gelu not in GELU_KINDS:
        raise ValueError(f"gelu must be one of {GELU_KINDS}, got {gelu!r}.")
    return gelu


@keras.saving.register_keras_serializable(package="keras_nest")
class StochasticDepth(keras.layers.Layer):
    """Drops the whole residual branch per sample while training (drop path).

    Kept samples are scaled by ``1 / (1 - rate)`` so the expectation is
    unchanged; at inference the layer is the identity.

    Input shape: ``(B, ...)``. Output shape: the same.
    """

    def __init__(self, rate=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"StochasticDepth rate must be in [0, 1), got {rate}.")
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # No weights to make: built already, as Keras's Dropout. An unbuilt layer would
        # make Keras's JAX predict() run the whole model eagerly once to build it.
        self.built = True

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        keep = 1.0 - self.rate
        mask_shape = (ops.shape(inputs)[0],) + (1,) * (len(inputs.shape) - 1)
        draw = keras.random.uniform(mask_shape, seed=self.seed_generator)
        mask = ops.cast(draw < keep, inputs.dtype)
        return inputs * mask / ops.cast(keep, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, seed=self.seed)
        return config


@keras.saving.register_keras_serializable(package="keras_nest")
class Mlp(SublayerInitializers, keras.layers.Layer):
    """Dense -> GELU -> dropout -> Dense -> dropout, on the last axis.

    Input shape: ``(..., C)``. Output shape: ``(..., output_dim)`` (default
    ``C``; hidden width ``hidden_dim``).
    """

    def __init__(
        self,
        hidden_dim,
        output_dim=None,
        gelu="exact",
        dropout=0.0,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_dim = hidden_dim
        self.output_dim = output_dim
        self.gelu = check_gelu(gelu)
        self.dropout = dropout
        self.set_initializers(kernel_initializer, bias_initializer)

    def build(self, input_shape):
        dense = self.sublayer_kwargs()
        self.fc1 = keras.layers.Dense(self.hidden_dim, name="fc1", **dense)
        self.fc1.build(input_shape)
        self.fc2 = keras.layers.Dense(self.output_dim or input_shape[-1], name="fc2", **dense)
        self.fc2.build((*input_shape[:-1], self.hidden_dim))
        self.drop = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def call(self, inputs, training=None):
        x = compute_paths.dense_gelu(self.fc1, inputs, training, approximate=self.gelu == "tanh")
        x = compute_paths.dropout(self.drop, x, training)
        x = compute_paths.dense(self.fc2, x, training)
        return compute_paths.dropout(self.drop, x, training)

    def count_macs(self, input_shape, counter):
        """Both dense layers' multiply-adds, for ``keras_nest.utils.count_flops``."""
        counter.layer(self.fc2, counter.layer(self.fc1, input_shape))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.output_dim or input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_dim=self.hidden_dim,
            output_dim=self.output_dim,
            gelu=self.gelu,
            dropout=self.dropout,
            **self.initializers_config(),
        )
        return config


@keras.saving.register_keras_serializable(package="keras_nest")
class TransformerBlock(SublayerInitializers, keras.layers.Layer):
    """Pre-norm transformer layer: ``x += attn(LN(x)); x += mlp(LN(x))``.

    Each residual branch passes through stochastic depth. Works on inputs with
    any number of leading axes; attention runs over the token axis ``N``.

    With ``norm_residual=True`` the second LayerNorm replaces the residual
    stream before the MLP: ``x += attn(LN(x)); x = LN(x); x += mlp(x)``. Every
    Compact Transformers (CCT, CVT, ViT-Lite) checkpoint was trained that way
    (the authors call it an accident of a merge, SHI-Labs issue #25).

    DVT's reuse enters through two optional call arguments:
    ``reused_features`` ``(..., N, F)`` are concatenated to the attention's
    output before the second LayerNorm, so that LayerNorm and the MLP's first
    layer are ``C + F`` wide while the MLP still returns ``C``
    (``x += mlp(LN([x, reused]))``); ``attention_bias`` ``(B, heads, N, N)``
    is added to the attention logits. ``return_attention_logits=True``
    returns those logits (bias included) after the output (and the scores).

    Args:
        num_heads: attention heads.
        mlp_ratio: MLP hidden width as a multiple of the channels.
        multi_query: one shared key/value head (see MultiHeadSelfAttention).
        qkv_bias: bias on the qkv projection.
        gelu: ``"exact"`` (erf) or ``"tanh"`` (the approximation).
        drop_path: stochastic depth rate of both branches.
        dropout: dropout after the attention projection and in the MLP.
        attention_dropout: dropout on the attention weights.
        layer_norm_epsilon: epsilon of both LayerNorms.
        norm_residual: add the MLP residual to the normalised stream (CCT).

    Input shape: ``(..., N, C)``. Output shape: ``(..., N, C)``.
    """

    def __init__(
        self,
        num_heads,
        mlp_ratio=4.0,
        multi_query=False,
        qkv_bias=True,
        gelu="exact",
        drop_path=0.0,
        dropout=0.0,
        attention_dropout=0.0,
        layer_norm_epsilon=1e-6,
        norm_residual=False,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.mlp_ratio = mlp_ratio
        self.multi_query = multi_query
        self.qkv_bias = qkv_bias
        self.gelu = check_gelu(gelu)
        self.drop_path = drop_path
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.norm_residual = norm_residual
        self.set_initializers(kernel_initializer, bias_initializer)

    def build(self, inputs_shape, reused_features_shape=None, attention_bias_shape=None):
        init = self.sublayer_kwargs()
        norm = dict(epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy)
        channels = inputs_shape[-1]
        self.reused_width = 0 if reused_features_shape is None else reused_features_shape[-1]
        if self.reused_width and self.norm_residual:
            raise ValueError(f"{self.name}: reused features do not combine with norm_residual.")
        mlp_shape = (*inputs_shape[:-1], channels + self.reused_width)
        self.norm1 = keras.layers.LayerNormalization(name="norm1", **norm)
        self.norm1.build(inputs_shape)
        self.attn = MultiHeadSelfAttention(
            self.num_heads,
            multi_query=self.multi_query,
            qkv_bias=self.qkv_bias,
            attention_dropout=self.attention_dropout,
            proj_dropout=self.dropout,
            name="attn",
            **init,
        )
        self.attn.build(inputs_shape)
        self.norm2 = keras.layers.LayerNormalization(name="norm2", **norm)
        self.norm2.build(mlp_shape)
        self.mlp = Mlp(
            int(channels * self.mlp_ratio),
            output_dim=channels,
            gelu=self.gelu,
            dropout=self.dropout,
            name="mlp",
            **init,
        )
        self.mlp.build(mlp_shape)
        self.drop_path1 = StochasticDepth(self.drop_path, dtype=self.dtype_policy)
        self.drop_path2 = StochasticDepth(self.drop_path, dtype=self.dtype_policy)

    def call(
        self,
        inputs,
        reused_features=None,
        attention_bias=None,
        training=None,
        return_attention_scores=False,
        return_attention_logits=False,
    ):
        attended, *extra = keras.tree.flatten(
            self.attn(
                compute_paths.layer_norm(self.norm1, inputs, training),
                attention_bias=attention_bias,
                training=training,
                return_attention_scores=return_attention_scores,
                return_attention_logits=return_attention_logits,
            )
        )
        x = inputs + self.drop_path1(attended, training=training)
        mlp_input = x
        if reused_features is not None:
            mlp_input = ops.concatenate([x, ops.cast(reused_features, x.dtype)], axis=-1)
        normed = compute_paths.layer_norm(self.norm2, mlp_input, training)
        if self.norm_residual:
            x = normed
        x = x + self.drop_path2(self.mlp(normed, training=training), training=training)
        return (x, *extra) if extra else x

    def count_macs(self, input_shape, counter):
        """Norms, attention and MLP, for ``keras_nest.utils.count_flops``."""
        mlp_shape = (*input_shape[:-1], input_shape[-1] + self.reused_width)
        counter.layer(self.norm1, input_shape)
        counter.layer(self.attn, input_shape)
        counter.layer(self.norm2, mlp_shape)
        counter.layer(self.mlp, mlp_shape)

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def compute_output_spec(
        self,
        inputs,
        reused_features=None,
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
            mlp_ratio=self.mlp_ratio,
            multi_query=self.multi_query,
            qkv_bias=self.qkv_bias,
            gelu=self.gelu,
            drop_path=self.drop_path,
            dropout=self.dropout,
            attention_dropout=self.attention_dropout,
            layer_norm_epsilon=self.layer_norm_epsilon,
            norm_residual=self.norm_residual,
            **self.initializers_config(),
        )
        return config
