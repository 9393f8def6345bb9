"""What happens to a training batch between the iterator and the loss.

A training batch takes one path (``BaseImageClassifier.train_step_single``)::

    TensorBatchIterator           float32 pixels (n, c, h, w) on the device, labels
      -> transform_batch          augment, then adversarial (each optional)
      -> infer                    standardise the pixels, run the module
      -> get_loss -> backward     (skorch's train step)

A **batch transform** is any object with one method::

    transform_batch(net, X, y, *, random_state) -> X

``X`` is a float tensor of raw pixels in the units the net was fitted on,
``y`` the encoded labels, ``net`` the classifier being fitted and
``random_state`` a ``numpy.random.RandomState`` seeded from the net's
``random_state``. It returns a tensor of the same shape on the same device.
The augmenters of :mod:`sklearn_mnist.preprocessing` (``augment=``) and
:class:`~sklearn_mnist.adversarial.FGSMPerturber` (``adversarial=``)
implement it; nothing in :mod:`sklearn_mnist.neural_net` knows their classes.

Transforms that run the network (attacks) use :func:`batch_norm_frozen` so
that only the clean forward pass of the training step updates batch-norm
running statistics.
"""

import contextlib

from torch import nn

__all__ = ["apply_batch_transform", "batch_norm_frozen"]

_NORMS = nn.modules.batchnorm._NormBase  # batch norm and instance norm


def apply_batch_transform(transform, net, X, y, random_state):
    """``transform.transform_batch(...)``; also accepts the older
    ``augment_tensor(images, random_state)`` protocol of custom augmenters."""
    if hasattr(transform, "transform_batch"):
        out = transform.transform_batch(net, X, y, random_state=random_state)
    else:
        out = transform.augment_tensor(X, random_state)
    if out.shape != X.shape:
        raise ValueError(
            f"{type(transform).__name__}.transform_batch returned a batch of shape "
            f"{tuple(out.shape)} for a batch of shape {tuple(X.shape)}"
        )
    return out


@contextlib.contextmanager
def batch_norm_frozen(module):
    """Run the block without changing any batch-norm running statistics.

    The network keeps its mode (train-mode batch norm still normalises with
    the batch's own statistics); the running mean, variance and batch count
    found on entry are restored on exit.
    """
    norms = [m for m in module.modules() if isinstance(m, _NORMS)]
    saved = [
        {k: b.clone() for k, b in m.named_buffers(recurse=False) if b is not None}
        for m in norms
    ]
    try:
        yield
    finally:
        for m, buffers in zip(norms, saved, strict=True):
            for name, value in buffers.items():
                getattr(m, name).copy_(value)
