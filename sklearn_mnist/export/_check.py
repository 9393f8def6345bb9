"""Images to check an export against its model before it is written."""

import math

import numpy as np

__all__ = ["check_images"]


def check_images(shape, input_range, n):
    """``n`` images in an exported model's input ``shape`` and units, and what
    they are: sample digits where the input is 28x28 one-channel (in any of its
    layouts), random pixels otherwise.

    Parameters
    ----------
    shape : tuple of int
        One sample's shape, without the batch axis.
    input_range : (float, float)
        The pixel units the model takes (``(0, 255)``, ``(0, 1)``, ...).
    n : int
        How many images.

    Returns
    -------
    X : ndarray of shape (n, *shape), float32
    what : str
        ``"bundled sample digits"`` or ``"random images"``.
    """
    from ..datasets import load_mnist_sample

    low, high = input_range
    if math.prod(shape) == 784 and all(d in (1, 28, 784) for d in shape):
        X = load_mnist_sample().data
        X = X[np.linspace(0, len(X) - 1, min(n, len(X))).astype(int)]
        what = "bundled sample digits"
    else:
        X = np.random.default_rng(0).integers(0, 256, (n, math.prod(shape)))
        what = "random images"
    X = (low + X.astype(np.float32) * ((high - low) / 255)).astype(np.float32)
    return X.reshape(len(X), *shape), what
