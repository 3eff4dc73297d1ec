"""The kernel and bias initialisers a layer passes on to the sublayers it builds."""

import keras


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
        return dict(
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
        )

    def initializers_config(self):
        return dict(
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
        )
