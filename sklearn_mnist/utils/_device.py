"""Device resolution: ``device="auto"`` picks cuda, then mps, then cpu.

On a host with several GPUs, each Dask worker gets its own (``cuda:<rank>``).
"""

import torch

from ._parallel import round_robin_device

__all__ = ["resolve_device"]


def resolve_device(device):
    """The torch device string that ``device`` means on this machine.

    Raises
    ------
    ValueError
        If ``device`` is not a valid torch device, or names CUDA / MPS on a
        machine that has none.
    """
    if device is None or device == "auto":
        if torch.cuda.is_available():
            # Several GPUs and Dask workers: one GPU per worker, in turn.
            return round_robin_device() or "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device must be 'auto' or a torch device such as 'cpu', 'cuda', "
            f"'cuda:1' or 'mps', got {device!r}"
        ) from exc
    if parsed.type not in ("cpu", "cuda", "mps"):
        raise ValueError(
            f"device={device!r}: a model runs on 'cpu', 'cuda' or 'mps' (or "
            f"'auto'), not on a device of type {parsed.type!r}"
        )
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but CUDA is not available here")
    if parsed.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} but MPS is not available here")
    return str(parsed)
