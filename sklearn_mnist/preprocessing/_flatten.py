"""``Flatten``: image stacks to flat rows, and back."""

import math

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._compat import check_feature_names_in
from ..utils import validate_images

__all__ = ["Flatten"]


class Flatten(TransformerMixin, BaseEstimator):
    """Flatten images ``(n, h, w)`` or ``(n, c, h, w)`` to rows ``(n, c*h*w)``.

    Two-dimensional input passes through unchanged. The image shape seen in
    ``fit`` is kept for ``inverse_transform``. The dtype is preserved.

    Attributes
    ----------
    image_shape_ : tuple of int
        Shape of one sample seen in ``fit`` (``(n_features,)`` for flat input).
    n_features_in_ : int
        Number of values per sample.
    feature_names_in_ : ndarray of str
        Column names, when ``fit`` saw a DataFrame.

    See Also
    --------
    Normalizer255 : grey levels to 0..1.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mnist.preprocessing import Flatten
    >>> images = np.zeros((5, 28, 28), dtype=np.uint8)
    >>> flat = Flatten().fit(images)
    >>> rows = flat.transform(images)
    >>> rows.shape, flat.inverse_transform(rows).shape
    ((5, 784), (5, 28, 28))
    """

    def fit(self, X, y=None):
        """Record the shape of one sample."""
        X = validate_images(self, X, reset=True, dtype="numeric")
        self.image_shape_ = tuple(X.shape[1:])
        return self

    def transform(self, X):
        """Reshape ``X`` to ``(n_samples, n_features)`` without copying if possible."""
        check_is_fitted(self)
        X = validate_images(self, X, reset=False, dtype="numeric")
        return X.reshape(X.shape[0], -1)

    def inverse_transform(self, X):
        """Reshape flat rows back to the image shape seen in ``fit``."""
        check_is_fitted(self)
        X = validate_images(self, X, reset=False, dtype="numeric")
        return X.reshape(X.shape[0], *self.image_shape_)

    def torch_transform(self, x):
        """The same reshape on a torch tensor, differentiable (for attacks)."""
        return x.reshape(x.shape[0], -1)

    def get_feature_names_out(self, input_features=None):
        """Input names for flat input; ``pixel_<i>`` (row-major) for images."""
        check_is_fitted(self)
        if len(self.image_shape_) == 1:
            return check_feature_names_in(self, input_features)
        n = math.prod(self.image_shape_)
        if input_features is not None and len(input_features) != n:
            raise ValueError(
                f"input_features should have length {n}, got {len(input_features)}"
            )
        names = (
            input_features
            if input_features is not None
            else (f"pixel_{i}" for i in range(n))
        )
        return np.asarray(list(names), dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
