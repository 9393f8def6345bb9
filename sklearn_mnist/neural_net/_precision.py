"""Mixed precision through skorch's own hooks.

``BaseImageClassifier`` runs the network under :func:`torch.autocast` in
``infer``. For float16 it also scales the loss against gradient underflow
(:class:`torch.amp.GradScaler`), in three of skorch's hooks and no copied
training step:

- ``get_loss`` returns the loss as it is (the history records true losses);
  a gradient hook on it multiplies the gradient that ``backward`` starts
  from by the current scale;
- ``on_grad_computed`` (the net's own, which skorch notifies before every
  callback) unscales the gradients, so callbacks such as
  ``GradientNormClipping`` see true gradients;
- ``_step_optimizer`` steps through the scaler, which skips steps whose
  gradients overflowed and adapts the scale.
"""

import contextlib

import torch

__all__ = ["MIXED_PRECISION", "MixedPrecision"]

MIXED_PRECISION = (None, "bfloat16", "float16")


class MixedPrecision:
    """Autocast and, for float16, loss scaling for one fit or one prediction.

    Parameters
    ----------
    dtype : {None, "bfloat16", "float16"}
    device : str
        The torch device the network runs on.
    training : bool
        Whether a gradient scaler is needed (float16 fits only).
    """

    def __init__(self, dtype, device, *, training=False):
        self.dtype = dtype
        self.device_type = torch.device(device).type
        self.scaler = (
            torch.amp.GradScaler(self.device_type)
            if training and dtype == "float16"
            else None
        )

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=getattr(torch, self.dtype))

    def scale(self, loss):
        """Make ``backward`` on ``loss`` produce scaled gradients; returns ``loss``."""
        if self.scaler is not None and loss.requires_grad:
            loss.register_hook(self.scaler.scale)
        return loss

    def unscale(self, optimizers):
        if self.scaler is not None:
            for optimizer in optimizers:
                self.scaler.unscale_(optimizer)

    def step(self, optimizers):
        """Step each optimizer through the scaler; False if there is no scaler."""
        if self.scaler is None:
            return False
        for optimizer in optimizers:
            self.scaler.step(optimizer)
        self.scaler.update()
        return True
