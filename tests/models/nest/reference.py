"""Reference NesT models for parity tests: timm with perturbed random weights, and
the configurations of the official-code fixtures in tests/fixtures/nest/."""

import numpy as np

from tests.conftest import fixture_path

# The fixtures' models: the official nest_tiny_s16_32 (CIFAR) and
# nest_tiny_s196_224 (ImageNet) configs narrowed as their .json files say.
FLAX_FIXTURES = {
    "nest_tiny_s16_32_reduced": dict(
        depths=(1, 1, 1, 1),
        embed_dims=48,
        num_heads=3,
        patch_size=1,
        block_size=4,
        attention="multi_query",
        classes=10,
    ),
    "nest_tiny_s196_224_reduced": dict(
        depths=(1, 1, 2),
        embed_dims=(32, 64, 128),
        num_heads=(2, 4, 8),
        patch_size=4,
        block_size=14,
        classes=10,
    ),
}


def flax_fixture(name):
    """``(path, arrays)`` of one official-code fixture."""
    path = fixture_path("nest", f"{name}.npz")
    with np.load(path) as archive:
        return path, {key: archive[key] for key in archive.files}


def perturbed_timm_nest(name, seed=0):
    """timm ``name`` in eval mode with weights that make every detail show.

    Norm scales 1 +- 0.2, biases N(0, 0.1), position embeddings N(0, 0.5)
    and kernels scaled by 3, as the official-code fixtures were made.
    """
    import timm
    import torch

    model = timm.create_model(name, pretrained=False, drop_path_rate=0.0).eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param_name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator)
            if "pos_embed" in param_name:
                param.copy_(0.5 * noise)
            elif param.ndim == 1 and "norm" in param_name and param_name.endswith("weight"):
                param.copy_(1 + 0.2 * noise)
            elif param.ndim == 1:
                param.copy_(0.1 * noise)
            else:
                param.mul_(3.0)
    return model


def timm_logits(model, images):
    """Logits of a timm model for channels-last numpy images."""
    import torch

    with torch.no_grad():
        return model(torch.from_numpy(images).permute(0, 3, 1, 2)).numpy()


def save_state_dict(model, path):
    """Saves a torch model's state dict as .safetensors or (any other suffix) torch.save."""
    import torch

    state = {key: value.contiguous() for key, value in model.state_dict().items()}
    if str(path).endswith(".safetensors"):
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, str(path))
    return str(path)
