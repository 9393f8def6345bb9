"""``Normalizer255``: grey levels 0..255 to floats in 0..1."""

import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import FLOAT_DTYPES

from ..utils import flat_for_container, same_feature_names_out, validate_images

__all__ = ["Normalizer255"]


class Normalizer255(TransformerMixin, BaseEstimator):
    """Scale grey levels from 0..255 to 0..1.

    Stateless: ``transform`` works without ``fit`` (``fit`` only records
    ``n_features_in_``). Accepts flat rows ``(n, h*w)`` or images ``(n, h, w)`` /
    ``(n, c, h, w)`` and keeps the shape.

    Parameters
    ----------
    dtype : {"float32", "float64"} or numpy float type, default="float32"
        Output dtype.
    clip : bool, default=False
        If False, values outside [0, 255] raise a ``ValueError``; if True they
        are clipped into the range. NaN and infinity always raise.

    Attributes
    ----------
    n_features_in_ : int
        Number of values per sample seen in ``fit``.
    feature_names_in_ : ndarray of str
        Column names, when ``fit`` saw a DataFrame.

    See Also
    --------
    Flatten : images to flat rows.
    sklearn.preprocessing.MinMaxScaler : learns the range instead of fixing it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mnist.preprocessing import Normalizer255
    >>> Normalizer255().transform(np.array([[0, 51, 255]], dtype=np.uint8))
    array([[0. , 0.2, 1. ]], dtype=float32)
    """

    _parameter_constraints = {"dtype": "no_validation", "clip": ["boolean"]}

    def __init__(self, *, dtype="float32", clip=False):
        self.dtype = dtype
        self.clip = clip

    def _out_dtype(self):
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype is None or dtype.kind != "f":
            raise ValueError(
                f"dtype must be a floating dtype such as 'float32', got {self.dtype!r}"
            )
        return dtype

    def fit(self, X, y=None):
        """Check the parameters and record ``n_features_in_``; learns nothing."""
        self._validate_params()
        self._out_dtype()
        self._check_range(validate_images(self, X, reset=True, dtype="numeric"))
        return self

    def _check_range(self, X):
        if self.clip or not X.size:
            return X
        low, high = X.min(), X.max()
        if low < 0 or high > 255:
            kind = "Negative values in data" if low < 0 else "Values above 255 in data"
            raise ValueError(
                f"{kind}: Normalizer255 expects grey levels in [0, 255], got values "
                f"in [{low}, {high}]; pass clip=True to clip them"
            )
        return X

    def transform(self, X):
        """Scale ``X`` from 0..255 to 0..1, keeping its shape.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or image stack
            Grey levels in [0, 255], integer or float.

        Returns
        -------
        X_out : ndarray of ``dtype``, same shape as ``X``
        """
        self._validate_params()
        dtype = self._out_dtype()
        X = validate_images(self, X, reset=False, dtype="numeric")
        if self.clip:
            X = np.clip(X, 0, 255)
        self._check_range(X)
        if X.dtype.kind == "f" and X.size and 0 < X.max() <= 1:
            warnings.warn(
                f"Normalizer255 got floats in [{X.min():g}, {X.max():g}], which look "
                "already scaled to 0..1; dividing them by 255 again leaves almost "
                "blank images. Drop Normalizer255 for such data.",
                UserWarning,
                stacklevel=2,
            )
        out = X.astype(dtype, copy=True)
        out /= dtype.type(255)
        return flat_for_container(self, out)

    def inverse_transform(self, X):
        """Scale ``X`` from 0..1 back to 0..255 (floats, same shape)."""
        X = validate_images(self, X, reset=False, dtype=FLOAT_DTYPES)
        return X * X.dtype.type(255)

    def torch_transform(self, x):
        """The same scaling (and clipping) on a torch tensor, differentiable (for
        attacks and the ONNX export)."""
        if self.clip:
            x = x.clamp(0.0, 255.0)
        return x * (1.0 / 255.0)

    def input_range(self):
        """The valid input range, ``(0.0, 255.0)``.

        What attacks on a Pipeline that starts here clip to and measure
        ``eps`` in (see :func:`~sklearn_mnist.adversarial.attack_range`).
        """
        return (0.0, 255.0)

    def get_feature_names_out(self, input_features=None):
        """One output per input feature, with the same names."""
        return same_feature_names_out(self, input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.positive_only = True
        try:
            tags.transformer_tags.preserves_dtype = [np.dtype(self.dtype).name]
        except TypeError:
            tags.transformer_tags.preserves_dtype = []
        return tags
