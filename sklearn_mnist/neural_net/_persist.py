"""Persistence helpers for the classifiers' networks."""

from safetensors.torch import save_file

__all__ = ["module_state", "save_safetensors"]


def module_state(module):
    """``module.state_dict()`` as detached, contiguous CPU tensors."""
    return {
        key: value.detach().cpu().contiguous()
        for key, value in module.state_dict().items()
    }


def save_safetensors(module, path):
    """Write ``module``'s state dict to ``path`` in the safetensors format."""
    save_file(module_state(module), path)
