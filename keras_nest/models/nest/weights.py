"""Published NesT checkpoints, by model name and weights name.

"imagenet": the official ImageNet-1k checkpoints of google-research/
nested-transformer as converted by timm (``nest_*_jx.goog_in1k``), stored as
safetensors on the Hugging Face hub and converted on load. The hub publishes
no hash beside the download address, so none is pinned here (``sha256=None``:
``keras.utils.get_file`` then only checks that the file arrived). No CIFAR
checkpoints were published.
"""

from keras_nest.weights.loading import WeightsFile

_HUB = "https://huggingface.co/timm/{}/resolve/main/model.safetensors"


def _timm_hub(tag):
    return WeightsFile(
        url=_HUB.format(tag), filename=f"{tag}.safetensors", sha256=None, classes=1000
    )


NEST_WEIGHTS = {
    "nest_tiny": {"imagenet": _timm_hub("nest_tiny_jx.goog_in1k")},
    "nest_small": {"imagenet": _timm_hub("nest_small_jx.goog_in1k")},
    "nest_base": {"imagenet": _timm_hub("nest_base_jx.goog_in1k")},
}
