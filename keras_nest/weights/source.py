"""What a ``weights=`` argument is, decided once per build.

:func:`resolve_weights` turns the argument into a :class:`WeightsSource` (or a
ValueError that says what is accepted); the class count, the input check, a
family's defaults (ViT's GELU) and :func:`~keras_nest.weights.loading.load_weights`
all ask that one object.
"""

import os

from keras_nest.weights.loading import CHECKPOINT, fetch, file_format
from keras_nest.weights.readers import read_checkpoint


class WeightsSource:
    """Resolved weights: none, published weights (by name) or a file.

    Attributes:
        published: the :class:`~keras_nest.presets.WeightsFile` of published
            weights, else None.
        format: None for no weights, else the file's
            :func:`~keras_nest.weights.loading.file_format`.
    """

    def __init__(self, published=None, path=None):
        self.published = published
        self._path = None if path is None else os.fspath(path)
        name = published.filename if published else self._path
        self.format = None if name is None else file_format(name)
        self._state = None

    @property
    def pretrained(self):
        """Whether there are weights to load."""
        return self.format is not None

    @property
    def classes(self):
        """The class count of published weights, else None."""
        return self.published.classes if self.published else None

    @property
    def is_checkpoint_file(self):
        """Whether this is a checkpoint file the user gave (not published, not Keras's)."""
        return self.published is None and self.format == CHECKPOINT

    def path(self):
        """The file, downloading published weights (once) into the Keras cache."""
        if self._path is None and self.published:
            self._path = fetch(self.published)
        return self._path

    def state(self):
        """The checkpoint's ``{name: array}``, read once, for :data:`CHECKPOINT` files."""
        if self._state is None:
            self._state = read_checkpoint(self.path())
        return self._state


def resolve_weights(weights, published, model_name):
    """What ``weights`` is for the model ``model_name``.

    Args:
        weights: None, a name in ``published``, the path of an existing file,
            or a :class:`WeightsSource` already resolved (returned as it is).
        published: ``{name: WeightsFile}`` of the model's published weights.
        model_name: for the error message.

    Raises:
        ValueError: for anything else, naming the published weights.
    """
    if isinstance(weights, WeightsSource):
        return weights
    if weights is None:
        return WeightsSource()
    if isinstance(weights, str) and weights in published:
        return WeightsSource(published=published[weights])
    if isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights):
        return WeightsSource(path=weights)
    known = sorted(published) or "none published"
    raise ValueError(
        f"{model_name}: weights must be None, the name of published weights "
        f"({known}) or the path of an existing file; got {weights!r}."
    )
