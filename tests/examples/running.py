"""How the tests run an example: at reduced size, headless, in a work folder of its own."""

import os

EXAMPLES_BACKEND = "tensorflow"  # the examples run in one backend's suite

# The reduced size, figures drawn off screen without the warning plt.show() gives there.
REDUCED_ENVIRONMENT = {
    "KERAS_NEST_EXAMPLE_SIZE": "reduced",
    "MPLBACKEND": "Agg",
    "PYTHONWARNINGS": "ignore:FigureCanvasAgg is non-interactive:UserWarning",
    "TF_CPP_MIN_LOG_LEVEL": "3",
}


def reduced_environment(backend):
    """``os.environ`` with the reduced-size settings and ``KERAS_BACKEND=backend``."""
    return {**os.environ, **REDUCED_ENVIRONMENT, "KERAS_BACKEND": backend}
