"""The model class of every keras_nest model, with its attention maps.

Every keras_nest model is a :class:`TransformerModel`: a functional
``keras.Model`` with one extra method, ``get_attention_scores(images)``.
:func:`attention_model` gives the same maps as a model of their own, to call
or compile once and reuse.
"""

import keras

from keras_nest.layers import TransformerBlock


class _ScoredBlock(keras.layers.Layer):
    """Calls a ``TransformerBlock`` (sharing its weights) for ``(outputs, scores, ...)``.

    A layer keeps the output structure of its first call, so the block itself
    cannot return scores in a second graph; this wrapper always does. Never
    saved: it lives only in the graphs :func:`attention_model` builds.
    """

    def __init__(self, block, **kwargs):
        super().__init__(name=f"{block.name}_scores", dtype=block.dtype_policy, **kwargs)
        self.block = block

    def call(self, inputs, **kwargs):
        return self.block(inputs, return_attention_scores=True, **kwargs)

    def compute_output_spec(self, inputs, **kwargs):
        kwargs = {k: v for k, v in kwargs.items() if k.startswith("return_")}
        return self.block.compute_output_spec(inputs, return_attention_scores=True, **kwargs)


def scored_model(model):
    """``model`` rebuilt to return ``[outputs, scores]``: its outputs and the
    list of attention maps of every ``TransformerBlock`` it runs, nested
    models' (DVT's exits) included, in forward order (as
    :func:`attention_model`). Shares ``model``'s layers."""
    scores = []

    def call(layer, *args, **kwargs):
        if isinstance(layer, TransformerBlock):
            outputs, block_scores, *rest = _ScoredBlock(layer)(*args, **kwargs)
            scores.append(block_scores)
            return (outputs, *rest) if rest else outputs
        if isinstance(layer, keras.Model) and getattr(layer, "inputs", None):  # functional
            outputs, nested_scores = scored_model(layer)(*args, **kwargs)
            scores.extend(nested_scores)
            return outputs
        return layer(*args, **kwargs)

    traced = keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call)
    return keras.Model(traced.input, [traced.output, scores], name=f"{model.name}_scored")


def attention_model(model):
    """A model from ``model``'s inputs to the attention maps of each of its blocks.

    Shares ``model``'s layers and weights. The outputs are a list, one entry per
    ``TransformerBlock`` in the order the image passes them (a DVT cascade's
    exits one after the other): ``(B, heads, N, N)`` for a sequence model (ViT,
    CCT, DVT), ``(B, T, heads, N, N)`` for NesT's ``T`` blocks. Rows are
    softmax-normalised over the keys.
    """
    scored = scored_model(model)
    scores = scored.output[1]
    if not scores:
        raise ValueError(f"{model.name} has no TransformerBlock, so no attention maps.")
    return keras.Model(scored.input, scores, name=f"{model.name}_attention")


@keras.saving.register_keras_serializable(package="keras_nest")
class TransformerModel(keras.Model):
    """A functional ``keras.Model`` that also returns its attention maps.

    Built as ``TransformerModel(inputs, outputs, name=...)``; saves, loads and
    trains as any functional model.
    """

    # The functional signature, so that Keras saves and revives it as one.
    def __init__(self, inputs, outputs, name=None, **kwargs):
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)

    def get_attention_scores(self, images, batch_size=None):
        """Every block's attention maps for ``images``.

        Args:
            images: a batch the model takes, ``(B, H, W, C)``.
            batch_size: as in ``predict``.

        Returns:
            A list of numpy arrays, one per ``TransformerBlock`` in forward
            order, each ``(B, heads, N, N)`` (NesT: ``(B, T, heads, N, N)``).
            For repeated calls build :func:`attention_model` once instead.
        """
        return attention_model(self).predict(images, batch_size=batch_size, verbose=0)
