"""``python -m keras_nest``: the ``keras-nest`` command line."""

import sys

from keras_nest.cli import main

sys.exit(main())
