"""The kernel and bias initialisers a layer passes on to the sublayers it builds."""

import keras


def fresh(initializer):
    """A new instance of ``initializer`` (a name, a config or an instance) for one weight.

    A Keras random initializer made without a seed draws one when it is
    made and reuses it on every call: an instance shared by several weights
    gives every weight of a shape the same values, and one made at import
    time differs from process to process. A fresh instance per weight,
    made after ``keras.utils.set_random_seed``, is independent and
    reproducible. An explicit seed is kept.
    """
    initializer = keras.initializers.get(initializer)
    return initializer.__class__.from_config(initializer.get_config())


class SublayerInitializers:
    """Mixin for layers that take ``kernel_initializer`` and ``bias_initializer``.

    Call :meth:`set_initializers` in ``__init__``; :meth:`sublayer_kwargs`
    gives what each Dense or Conv sublayer takes, :meth:`initializers_config`
    what ``get_config`` stores.
    """

    def set_initializers(self, kernel_initializer, bias_initializer):
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def sublayer_kwargs(self):
        """Keyword arguments of one sublayer, with initialisers of its own (see :func:`fresh`)."""
        return dict(
            kernel_initializer=fresh(self.kernel_initializer),
            bias_initializer=fresh(self.bias_initializer),
            dtype=self.dtype_policy,
        )

    def initializers_config(self):
        return dict(
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
        )
