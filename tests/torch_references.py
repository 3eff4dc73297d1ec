"""Helpers for the PyTorch reference models of the parity tests (timm, vit-pytorch)."""

import contextlib
import functools

import numpy as np

# timm starts these at N(0, 1e-6) (its register and distillation tokens likewise
# small), where a loader that dropped them would still pass: they are drawn anew.
TOKENS = ("cls_token", "reg_token", "dist_token")


def perturbed_timm(name, seed=0, **kwargs):
    """timm ``name`` in eval mode with weights that make every detail show.

    Norm scales 1 +- 0.2, biases N(0, 0.1), position embeddings and tokens
    (class, register, distillation) N(0, 0.5) and every other tensor
    (kernels) scaled by 3, as the NesT official-code fixtures were made.
    ``kwargs`` go to ``timm.create_model``.
    """
    import timm

    model = timm.create_model(name, pretrained=False, drop_path_rate=0.0, **kwargs)
    return perturb_timm(model, seed)


def perturb_timm(model, seed=0):
    """``model`` (a timm model) in eval mode, perturbed as :func:`perturbed_timm` does."""
    import torch

    model.eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param_name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator)
            if "pos_embed" in param_name or param_name.split(".")[-1] in TOKENS:
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


def _gelu_form(module):
    """"none" or "tanh" for a GELU module of torch or timm, else None."""
    import torch

    if isinstance(module, torch.nn.GELU):
        return module.approximate
    return {"GELU": "none", "GELUTanh": "tanh"}.get(type(module).__name__)


@contextlib.contextmanager
def other_gelu(model):
    """Inside the block every GELU of ``model`` is the other form (exact <-> tanh).

    Covers torch's and timm's GELU modules and vit-pytorch's CCT blocks, whose
    ``activation`` attribute is ``F.gelu``.
    """
    import torch
    import torch.nn.functional as F

    changed = []
    for parent in model.modules():
        for name, child in parent.named_children():
            form = _gelu_form(child)
            if form is not None:
                changed.append((parent, name, child))
                other = "tanh" if form == "none" else "none"
                setattr(parent, name, torch.nn.GELU(approximate=other))
        if getattr(parent, "activation", None) is F.gelu:
            changed.append((parent, "activation", F.gelu))
            parent.activation = functools.partial(F.gelu, approximate="tanh")
    assert changed, "no GELU found in the reference"
    try:
        yield
    finally:
        for parent, name, original in changed:
            setattr(parent, name, original)


@contextlib.contextmanager
def zeroed(model, name):
    """Inside the block the parameter ``name`` of ``model`` is zeros."""
    import torch

    param = model.get_parameter(name)
    saved = param.detach().clone()
    with torch.no_grad():
        param.zero_()
    try:
        yield
    finally:
        with torch.no_grad():
            param.copy_(saved)


def capture_attention(model, sharpen=4.0):
    """A list that fills with the softmaxed attention maps of ``model``'s next forwards.

    timm (with its fused kernel off) and vit-pytorch's CCT pass the softmaxed
    map to the module ``attn_drop``; a hook on it records the map, one per block.
    The query and key weights are scaled by ``sharpen`` first, so that the maps
    are far from uniform.
    """
    import torch

    captured = []
    hooked = 0
    for module in model.modules():
        if hasattr(module, "attn_drop") and hasattr(module, "qkv"):
            if hasattr(module, "fused_attn"):
                module.fused_attn = False
            with torch.no_grad():
                query_and_key = module.qkv.out_features * 2 // 3
                module.qkv.weight[:query_and_key] *= sharpen
            module.attn_drop.register_forward_hook(
                lambda _module, args, _out: captured.append(args[0].detach().numpy())
            )
            hooked += 1
    assert hooked, "no attention module found in the reference"
    return captured
