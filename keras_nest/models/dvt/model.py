"""The model class of a DVT cascade: a functional model whose exits are models of their own."""

import keras

from keras_nest.utils.flops import count_flops


@keras.saving.register_keras_serializable(package="keras_nest")
class DVTModel(keras.Model):
    """A cascade of exits (see :func:`~keras_nest.DVT`).

    A functional ``keras.Model`` from images to every exit's prediction, in
    order; it saves, loads and trains as any functional model. Its layers
    ``exit1``, ``exit2``, ... are the exits, each a functional model of dicts
    (``images`` and the upstream ``features`` / ``relations`` in;
    ``predictions``, ``confidence`` and what the next exit reuses out), which
    :class:`~keras_nest.DynamicPredictor` runs one by one.
    """

    # The functional signature, so that Keras saves and revives it as one.
    def __init__(self, inputs, outputs, name=None, **kwargs):
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)

    @property
    def exit_models(self):
        """The exits' models, coarse to fine."""
        return [layer for layer in self.layers if isinstance(layer, keras.Model)]

    def exit_macs(self):
        """Cumulative multiply-adds per image of running exits 1..k, for each k.

        Counted as :func:`~keras_nest.utils.count_flops` counts (fvcore's
        convention, attention matmuls included), which is how the authors
        report each exit's GFLOPs.
        """
        total, cumulative = 0, []
        for exit_model in self.exit_models:
            total += count_flops(exit_model).macs
            cumulative.append(total)
        return cumulative
