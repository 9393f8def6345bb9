"""``AugmentResampler``: an augmenter as an imbalanced-learn sampler."""

from numbers import Integral

from sklearn.base import BaseEstimator, clone

from .._compat import HasMethods, Interval
from ._augment import RandomAffineAugmenter

__all__ = ["AugmentResampler"]


class AugmentResampler(BaseEstimator):
    """Enlarge the training set with augmented copies, as a resampling step.

    imbalanced-learn's ``Pipeline`` applies ``fit_resample`` steps at fit time
    only (prediction sees the data untouched), but refuses steps that also
    have ``transform``, as the augmenters do. This sampler has
    ``fit_resample`` alone: it returns the originals followed by ``n_copies``
    augmented copies of every sample, with their labels.

    Parameters
    ----------
    augmenter : augmenter or None, default=None
        Any of the package's augmenters (``RandomAffineAugmenter``,
        ``ElasticDistortion``); None uses ``RandomAffineAugmenter()``. It is
        cloned, never changed.
    n_copies : int, default=1
        Augmented copies per sample. The resampled array may take at most 8
        GiB: beyond it ``fit_resample`` raises a ValueError naming the bytes
        it would need, before allocating anything.
    random_state : int, RandomState instance or None, default=None
        Seeds the distortions (overrides the augmenter's own).

    Attributes
    ----------
    augmenter_ : augmenter
        The fitted clone.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mnist.preprocessing import AugmentResampler
    >>> X = np.zeros((4, 28, 28), dtype=np.uint8); X[:, 10:18, 12:16] = 255
    >>> X_res, y_res = AugmentResampler(n_copies=2, random_state=0).fit_resample(
    ...     X, [0, 1, 0, 1])
    >>> X_res.shape, y_res.tolist()
    ((12, 28, 28), [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
    """

    _parameter_constraints = {
        "augmenter": [None, HasMethods(["fit_resample"])],
        "n_copies": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, augmenter=None, *, n_copies=1, random_state=None):
        self.augmenter = augmenter
        self.n_copies = n_copies
        self.random_state = random_state

    def fit(self, X, y):
        """Fit the augmenter on ``X`` (what ``fit_resample`` does first)."""
        self.fit_resample(X, y)
        return self

    def fit_resample(self, X, y):
        """The originals followed by ``n_copies`` augmented copies, with labels.

        Returns
        -------
        X_resampled : ndarray, ``(1 + n_copies) * n_samples`` samples
        y_resampled : ndarray
        """
        self._validate_params()
        augmenter = clone(
            RandomAffineAugmenter() if self.augmenter is None else self.augmenter
        )
        params = {"n_copies": self.n_copies}
        if self.random_state is not None:
            params["random_state"] = self.random_state
        augmenter.set_params(**params)
        X_res, y_res = augmenter.fit_resample(X, y)
        self.augmenter_ = augmenter
        self.n_features_in_ = augmenter.n_features_in_
        return X_res, y_res

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags
