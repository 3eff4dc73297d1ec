"""Helpers for the PyTorch reference models of the parity tests (timm, vit-pytorch)."""

import numpy as np


def perturbed_timm(name, seed=0, **kwargs):
    """timm ``name`` in eval mode with weights that make every detail show.

    Norm scales 1 +- 0.2, biases N(0, 0.1), position embeddings N(0, 0.5)
    and every other tensor (kernels, tokens) scaled by 3, as the NesT
    official-code fixtures were made. ``kwargs`` go to ``timm.create_model``.
    """
    import timm
    import torch

    model = timm.create_model(name, pretrained=False, drop_path_rate=0.0, **kwargs).eval()
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


def torch_logits(model, images):
    """Logits of a torch model for channels-last numpy images."""
    import torch

    with torch.no_grad():
        return model(torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))).numpy()


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
