"""Torch state as plain tensors, ready for safetensors."""

__all__ = ["state_tensors"]


def state_tensors(module, prefix=""):
    """``module.state_dict()`` as detached, contiguous CPU copies.

    Keys are ``prefix + key``. Copies, because safetensors refuses tensors
    that share memory (tied weights, views).
    """
    return {
        prefix + key: value.detach().cpu().clone().contiguous()
        for key, value in module.state_dict().items()
    }
