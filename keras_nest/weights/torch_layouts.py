"""PyTorch parameter layouts to Keras ones, shared by every family's converter."""

TORCH_NORM = {"weight": "gamma", "bias": "beta"}
_TORCH_PARAM = {"weight": "kernel", "bias": "bias"}


def torch_dense(name, array):
    """A torch Linear's ``weight`` (out, in) or ``bias`` as a Keras Dense's (key, array)."""
    leaf = name.rsplit(".", 1)[1]
    return _TORCH_PARAM[leaf], array.T if leaf == "weight" else array


def torch_conv(name, array):
    """A torch Conv2d's ``weight`` (O, I, kh, kw) or ``bias`` as a Keras Conv2D's (key, array)."""
    leaf = name.rsplit(".", 1)[1]
    return _TORCH_PARAM[leaf], array.transpose(2, 3, 1, 0) if leaf == "weight" else array


def torch_param(name, array, norm):
    """``(Keras key, array)`` of a torch LayerNorm's (``norm``) or Linear's parameter."""
    if norm:
        return TORCH_NORM[name.rsplit(".", 1)[1]], array
    return torch_dense(name, array)
