"""What happens to a training batch between the iterator and the loss.

A training batch takes one path (``BaseImageClassifier.train_step_single``)::

    TensorBatchIterator           float32 pixels (n, c, h, w) on the device, labels
      -> transform_batch          augment, then adversarial (each optional;
                                  adversarial here with adversarial_loss="replace")
      -> infer                    standardise the pixels, run the module
      -> get_loss -> backward     (skorch's train step; with adversarial_loss=
                                  "trades", get_loss crafts x_adv from the clean
                                  prediction and adds beta * KL(f(x) || f(x_adv)))

A **batch transform** is any object with one method::

    transform_batch(net, X, y, *, random_state) -> X

``X`` is a float tensor of raw pixels in the units the net was fitted on,
``y`` the encoded labels, ``net`` the classifier being fitted and
``random_state`` a ``numpy.random.RandomState`` seeded from the net's
``random_state``. It returns a tensor of the same shape on the same device.
The augmenters of :mod:`sklearn_mnist.preprocessing` (``augment=``) and
:class:`~sklearn_mnist.adversarial.FGSMPerturber` (``adversarial=``)
implement it; nothing in :mod:`sklearn_mnist.neural_net` knows their classes.

TRADES training (``adversarial_loss="trades"``) needs one more method of the
``adversarial`` transform::

    transform_batch_kl(net, X, proba, *, random_state) -> X_adv

``proba`` is the network's (detached) probabilities on the clean batch ``X``;
it returns ``X`` moved to increase ``KL(proba || net's prediction)``.

Transforms that run the network (attacks) use :func:`batch_norm_frozen` so
that only the clean forward pass of the training step updates batch-norm
running statistics; so does TRADES' adversarial forward pass in ``get_loss``.
"""

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "apply_batch_transform",
    "batch_norm_frozen",
    "craft_kl_batch",
    "kl_divergence",
]

_NORMS = nn.modules.batchnorm._NormBase  # batch norm and instance norm
_BATCH_NORMS = nn.modules.batchnorm._BatchNorm


def apply_batch_transform(transform, net, X, y, random_state):
    """``transform.transform_batch(...)``; also accepts the older
    ``augment_tensor(images, random_state)`` protocol of custom augmenters."""
    if hasattr(transform, "transform_batch"):
        out = transform.transform_batch(net, X, y, random_state=random_state)
    else:
        out = transform.augment_tensor(X, random_state)
    _check_shape(transform, "transform_batch", out, X)
    return out


def craft_kl_batch(transform, net, X, log_proba, random_state):
    """TRADES' adversarial batch: ``transform.transform_batch_kl`` given the
    clean probabilities ``exp(log_proba)``, detached."""
    proba = log_proba.detach().exp()
    out = transform.transform_batch_kl(net, X, proba, random_state=random_state)
    _check_shape(transform, "transform_batch_kl", out, X)
    return out.detach()


def kl_divergence(log_p, log_q):
    """``KL(p || q)`` per sample, from log-probabilities of shape (n, classes)."""
    return F.kl_div(log_q, log_p, reduction="none", log_target=True).sum(dim=1)


def _check_shape(transform, method, out, X):
    if out.shape != X.shape:
        raise ValueError(
            f"{type(transform).__name__}.{method} returned a batch of shape "
            f"{tuple(out.shape)} for a batch of shape {tuple(X.shape)}"
        )


@contextlib.contextmanager
def batch_norm_frozen(module):
    """Run the block without changing any batch-norm running statistics.

    The network keeps its mode (train-mode batch norm still normalises with
    the batch's own statistics). Batch-norm layers stop tracking statistics
    for the block, so their buffers are not even written to, and a graph
    built before the block (the training step's clean forward pass, which
    TRADES back-propagates after crafting) stays valid. Buffers of other
    normalisation layers (instance norm with ``track_running_stats``) that
    change anyway are restored on exit.
    """
    norms = [m for m in module.modules() if isinstance(m, _NORMS)]
    saved = [
        {k: b.clone() for k, b in m.named_buffers(recurse=False) if b is not None}
        for m in norms
    ]
    untracked = [
        m for m in norms if isinstance(m, _BATCH_NORMS) and m.track_running_stats
    ]
    for m in untracked:
        m.track_running_stats = False
    try:
        yield
    finally:
        for m in untracked:
            m.track_running_stats = True
        for m, buffers in zip(norms, saved, strict=True):
            for name, value in buffers.items():
                buffer = getattr(m, name)
                if not torch.equal(buffer, value):
                    buffer.copy_(value)
