"""Training never ends in a NaN model: numbers that overflow are refused.

The network computes in float32. A value beyond float32's range (about
3.4e38) in the inputs or the sample weights becomes infinite on the way in,
and then every statistic, loss and probability is NaN: ``fit`` used to
succeed with ``input_mean_=inf`` and a model that predicts ``classes_[0]``
for everything. A learning rate that makes the loss diverge (``lr=1e30``)
did the same, silently. Both are ``ValueError`` now:
:func:`check_float32_range` for the inputs and weights, :class:`FiniteLoss`
for the loss of every training batch.
"""

import math

import numpy as np
from skorch.callbacks import Callback

__all__ = ["FLOAT32_MAX", "FiniteLoss", "TrainingDivergedError", "check_float32_range"]

FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_float32_range(values, what):
    """Refuse ``values`` (an array) with a magnitude beyond float32's range.

    Only float64 (and wider) arrays are scanned: narrower ones cannot hold
    such values. NaN and infinity are refused by the validation before.
    """
    values = np.asarray(values)
    if values.dtype.kind != "f" or values.dtype.itemsize <= 4 or not values.size:
        return
    low, high = float(np.min(values)), float(np.max(values))
    if max(-low, high) > FLOAT32_MAX:
        worst = high if high > -low else low
        raise ValueError(
            f"{what} has a value of {worst:g}, beyond the range of float32 "
            f"(+-{FLOAT32_MAX:.3g}) the network computes in: it would become "
            f"infinite and the model NaN; scale {what} down"
        )


class TrainingDivergedError(ValueError):
    """The training loss became NaN or infinite: the weights are not usable
    any more, and the fit leaves the model unfitted (a continued fit too)."""


class FiniteLoss(Callback):
    """Stop training with a ``ValueError`` when a training batch's loss is
    not finite (NaN or infinite: a learning rate too large, data that
    overflows), instead of ending with a NaN model."""

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        if not training or loss is None:
            return
        value = float(loss.detach())  # the step's loss (skorch records it too)
        if math.isfinite(value):
            return
        epoch = len(net.history)
        n_batch = len(net.history[-1, "batches"])
        lr = getattr(net, "lr", None)
        raise TrainingDivergedError(
            f"{type(net).__name__}: the training loss is {value} at epoch "
            f"{epoch}, batch {n_batch}: training diverged. Lower the learning "
            f"rate (lr={lr!r}) or check the inputs and sample weights for "
            "extreme values; the model is left unfitted (its weights are NaN)"
        )
