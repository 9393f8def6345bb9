"""``RandomAffineAugmenter``: a fresh random rotation/shift/zoom/shear per sample."""

from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._compat import Interval
from ..utils import (
    flat_for_container,
    image_layout,
    rebalance,
    same_feature_names_out,
    sample_shape,
    thread_budget,
    to_channels_first,
    validate_images,
)

__all__ = [
    "BaseAugmenter",
    "RandomAffineAugmenter",
    "random_affine_matrices",
    "warp_affine",
]

_CHUNK = 512  # images per warp call in augment(): the working set stays in cache


def random_affine_matrices(
    n, *, height, width, rotation=0.0, shift=0.0, zoom=0.0, shear=0.0, random_state=None
):
    """Draw ``n`` random affine maps, one per sample, in pixel coordinates.

    Each map is a 3x3 matrix ``M`` that sends an *output* pixel ``(x, y, 1)``
    (x = column, y = row, pixel centres at integers) to the *input* position it
    samples, i.e. the ``inverse_map`` of :func:`skimage.transform.warp`. The
    forward transform, about the image centre, is
    ``translate(shift) @ rotate(angle) @ shear(angle) @ scale(zoom)`` with
    every parameter drawn uniformly and independently per sample:
    angle in ``[-rotation, rotation]`` degrees, shift in ``[-shift, shift]`` of
    the image size, scale in ``[1 - zoom, 1 + zoom]``, shear angle in
    ``[-shear, shear]`` degrees.

    Returns
    -------
    M : ndarray of shape (n, 3, 3), float64
    """
    rng = check_random_state(random_state)
    u = rng.uniform(-1.0, 1.0, size=(5, n))
    angle = np.deg2rad(rotation) * u[0]
    shear_angle = np.deg2rad(shear) * u[1]
    scale = 1.0 + zoom * u[2]
    tx, ty = shift * width * u[3], shift * height * u[4]
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0

    cos, sin, tan = np.cos(angle), np.sin(angle), np.tan(shear_angle)
    # Forward linear part L = R @ Sh @ S, then about the centre plus the shift.
    a = scale * cos
    b = scale * (cos * tan - sin)
    c = scale * sin
    d = scale * (sin * tan + cos)
    ex = cx + tx - a * cx - b * cy  # forward translation
    ey = cy + ty - c * cx - d * cy
    # Closed-form inverse of [[a, b, ex], [c, d, ey], [0, 0, 1]].
    det = a * d - b * c
    inverse = np.zeros((n, 3, 3))
    inverse[:, 0, 0], inverse[:, 0, 1] = d / det, -b / det
    inverse[:, 1, 0], inverse[:, 1, 1] = -c / det, a / det
    inverse[:, 0, 2] = (b * ey - d * ex) / det
    inverse[:, 1, 2] = (c * ex - a * ey) / det
    inverse[:, 2, 2] = 1.0
    return inverse


def warp_affine(images, matrices, *, fill=0.0):
    """Warp a batch of images, each with its own affine map, by bilinear sampling.

    Parameters
    ----------
    images : torch.Tensor of shape (n, c, h, w), floating point
    matrices : array-like of shape (n, 3, 3)
        Output-to-input maps in pixel coordinates, as from
        :func:`random_affine_matrices` (skimage's ``inverse_map`` convention).
    fill : float, default=0.0
        Value of pixels that come from outside the image.

    Returns
    -------
    torch.Tensor of the same shape, dtype and device
    """
    _, _, h, w = images.shape
    return _warp_normalized(images, _normalized_theta(matrices, h, w), fill)


def _normalized_theta(matrices, h, w):
    """Pixel-space maps to ``affine_grid``'s normalised space (align_corners=False).

    With ``u = (2x + 1) / w - 1``: ``theta = N @ M @ inv(N)``, first two rows.
    """
    M = np.asarray(matrices, dtype=np.float64)
    N = np.array([[2 / w, 0, 1 / w - 1], [0, 2 / h, 1 / h - 1], [0, 0, 1]])
    N_inv = np.array([[w / 2, 0, (w - 1) / 2], [0, h / 2, (h - 1) / 2], [0, 0, 1]])
    return torch.from_numpy((N @ M @ N_inv)[:, :2])


def _warp_normalized(images, theta, fill):
    n, _, h, w = images.shape
    theta = theta.to(device=images.device, dtype=images.dtype)
    grid = _affine_grid(theta, h, w)
    shifted = images - fill if fill else images
    out = F.grid_sample(
        shifted, grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    return out + fill if fill else out


def _affine_grid(theta, h, w):
    """``F.affine_grid(theta, (n, 1, h, w), align_corners=False)``, faster.

    An affine map is separable into a per-column and a per-row term, so the
    grid is two tiny products and one broadcast add, instead of a batched
    matmul against the full base grid (several times faster on a CPU;
    ``tests/preprocessing/test_augment.py`` checks both agree).
    """
    opts = dict(device=theta.device, dtype=theta.dtype)
    xs = (torch.arange(w, **opts) * 2 + 1) / w - 1
    ys = (torch.arange(h, **opts) * 2 + 1) / h - 1
    grid = torch.empty(theta.shape[0], h, w, 2, **opts)
    for k in range(2):
        col = theta[:, k, 0, None] * xs  # (n, w)
        row = theta[:, k, 1, None] * ys + theta[:, k, 2, None]  # (n, h)
        torch.add(col[:, None, :], row[:, :, None], out=grid[..., k])
    return grid


MAX_RESAMPLED_BYTES = 8 * 2**30  # the largest array fit_resample makes


def _resampled_array(estimator, X):
    """An empty array for ``X`` and its ``n_copies`` copies, or a ValueError
    when it would take more than ``MAX_RESAMPLED_BYTES``."""
    n_rows = len(X) * (1 + estimator.n_copies)
    needed = n_rows * (X.nbytes // max(len(X), 1))
    if needed > MAX_RESAMPLED_BYTES:
        raise ValueError(
            f"{type(estimator).__name__}(n_copies={estimator.n_copies}) on "
            f"{len(X):,} samples of {X.nbytes // max(len(X), 1):,} bytes would "
            f"make an array of {n_rows:,} samples, {needed:,} bytes "
            f"({needed / 2**30:,.1f} GiB); the limit is {MAX_RESAMPLED_BYTES:,} "
            "bytes (8 GiB). Resample fewer samples or copies at a time"
        )
    return np.empty((n_rows, *X.shape[1:]), dtype=X.dtype)


class BaseAugmenter(TransformerMixin, BaseEstimator):
    """Training-time image augmentation: the template every augmenter shares.

    ``fit`` records the image shape; ``transform`` returns its input unchanged;
    ``fit_transform`` and :meth:`augment` distort; :meth:`fit_resample` adds
    copies (in an imbalanced-learn ``Pipeline``, which refuses steps that
    also transform, wrap the augmenter in :class:`AugmentResampler`);
    :meth:`transform_batch` is the batch transform classifiers call on every
    training batch (``augment=``). Subclasses implement two hooks:
    ``_draw(n, h, w, rng)`` (per-sample parameters drawn once for a whole call,
    or None) and ``_warp(images, params, rng)`` (distort one float batch).
    """

    def fit(self, X, y=None):
        """Check the parameters and record the image shape."""
        self._validate_params()
        X = validate_images(self, X, reset=True, dtype="numeric")
        self.image_shape_ = sample_shape(X, self.image_shape)
        return self

    def transform(self, X):
        """Return ``X`` unchanged (validated): prediction sees clean data."""
        check_is_fitted(self)
        X = validate_images(self, X, reset=False, dtype="numeric")
        return flat_for_container(self, X)

    def torch_transform(self, x):
        """Prediction-time behaviour on a tensor: the identity (for attacks)."""
        return x

    def fit_transform(self, X, y=None):
        """Fit, then return a randomly distorted copy of ``X`` (same shape/dtype)."""
        return flat_for_container(self, self.fit(X).augment(X))

    def get_feature_names_out(self, input_features=None):
        """One output per input feature, with the same names."""
        return same_feature_names_out(self, input_features)

    def fit_resample(self, X, y):
        """The originals followed by ``n_copies`` augmented copies, with labels.

        A DataFrame ``X`` (and Series ``y``) come back as a DataFrame with the
        same columns (and a Series of the same name), on a fresh index. The
        resampled array may take at most ``MAX_RESAMPLED_BYTES`` (8 GiB):
        beyond it, a ValueError naming the bytes it would take, before
        anything is allocated (resample fewer samples or copies at a time).
        """
        self.fit(X)
        rng = check_random_state(self.random_state)
        X_arr = validate_images(self, X, reset=False, dtype="numeric")
        X_res = _resampled_array(self, X_arr)
        n = len(X_arr)
        X_res[:n] = X_arr
        for k in range(1, self.n_copies + 1):
            # augment() validates X itself, feature names included.
            X_res[k * n : (k + 1) * n] = self.augment(X, random_state=rng)
        y_res = np.concatenate([np.asarray(y)] * (self.n_copies + 1))
        if hasattr(X, "columns") and hasattr(X, "iloc"):  # pandas
            X_res = type(X)(X_res, columns=X.columns)
        if hasattr(y, "name") and hasattr(y, "iloc"):
            y_res = type(y)(y_res, name=y.name)
        return X_res, y_res

    def augment(self, X, random_state=None):
        """Distort ``X``, a fresh random draw per sample.

        Parameters
        ----------
        X : array-like, flat or images, same layout as in ``fit``
        random_state : int, RandomState or None, default=None
            Overrides ``self.random_state`` for this call.

        Returns
        -------
        X_aug : ndarray, same shape and dtype as ``X``; values stay within
            the range of ``X`` and ``fill``.
        """
        check_is_fitted(self)
        X = validate_images(self, X, reset=False, dtype="numeric")
        rng = check_random_state(
            self.random_state if random_state is None else random_state
        )
        layout = image_layout(X.shape, self.image_shape) if X.ndim == 4 else "flat"
        shape = X.shape
        X = np.ascontiguousarray(to_channels_first(X, layout))
        if not X.flags.writeable:  # torch cannot wrap read-only memory (memmaps)
            X = X.copy()
        src = torch.from_numpy(X).reshape(len(X), *self.image_shape_)
        work = torch.float64 if src.dtype == torch.float64 else torch.float32
        params = self._draw(len(X), *self.image_shape_[1:], rng)
        out = torch.empty_like(src)
        # Chunk by chunk, so the float copy, the sampling grid and the result of
        # each chunk stay in cache; one conversion back per chunk. Each chunk
        # takes the thread count it should have now (fewer threads while other
        # processes keep cores busy).
        with thread_budget():
            for i in range(0, len(X), _CHUNK):
                rebalance()
                chunk = src[i : i + _CHUNK].to(work)
                part = None if params is None else params[i : i + _CHUNK]
                res = self._warp(chunk, part, rng)
                if X.dtype.kind in "ui":
                    res.round_()
                out[i : i + _CHUNK] = res.clamp_(*self._range(chunk))
        out = out.numpy()
        if layout == "hwc":  # back to the caller's channels-last layout
            return np.ascontiguousarray(np.moveaxis(out, 1, -1))
        return out.reshape(shape)

    def transform_batch(self, net, X, y, *, random_state=None):
        """The batch-transform protocol classifiers call on every training
        batch (``augment=``): :meth:`augment_tensor` of ``X``."""
        return self.augment_tensor(X, random_state)

    def augment_tensor(self, images, random_state=None):
        """Distort a float tensor batch ``(n, c, h, w)`` on its own device."""
        n, _, h, w = images.shape
        rng = check_random_state(random_state)
        out = self._warp(images, self._draw(n, h, w, rng), rng)
        return out.clamp_(*self._range(images))

    def _range(self, images):
        """Bounds of bilinear output: the convex hull of the pixels and the fill.

        Clamping to it removes the float rounding of the fill shift, so outputs
        stay exactly within the input's range.
        """
        if not images.numel():
            return 0.0, 0.0
        low, high = torch.aminmax(images)
        fill = float(self.fill)
        return min(float(low), fill), max(float(high), fill)

    def _draw(self, n, h, w, rng):
        raise NotImplementedError

    def _warp(self, images, params, rng):
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.non_deterministic = self.random_state is None
        return tags


class RandomAffineAugmenter(BaseAugmenter):
    """Random rotation, shift, zoom and shear, drawn afresh for every sample.

    A training-time transformer: ``fit_transform`` returns distorted images,
    ``transform`` returns its input unchanged. Inside a scikit-learn
    ``Pipeline`` this means the model is fitted on augmented data while
    ``predict`` and ``score`` see clean data. This is the same convention as
    :class:`sklearn.preprocessing.TargetEncoder`, whose ``fit_transform`` also
    differs from ``fit(X).transform(X)``: call ``fit_transform`` (or
    :meth:`augment`) to augment, never ``fit(X).transform(X)``.

    For new distortions at every epoch, pass it to a classifier instead:
    ``CNNClassifier(augment=RandomAffineAugmenter())`` warps every training
    batch. For a fixed enlarged training set, :meth:`fit_resample` returns the
    originals plus ``n_copies`` augmented copies, as imbalanced-learn samplers do
    (:class:`AugmentResampler` makes it a sampler imbalanced-learn's
    ``Pipeline`` accepts).

    All samples are warped in one vectorised call (``torch.nn.functional``
    ``affine_grid`` / ``grid_sample``, bilinear), which matches
    :func:`skimage.transform.warp` with the same matrices.

    Parameters
    ----------
    rotation : float, default=10.0
        Maximum rotation in degrees (uniform in ``[-rotation, rotation]``).
    shift : float, default=0.1
        Maximum translation as a fraction of the image height/width.
    zoom : float, default=0.1
        Maximum relative change of scale (uniform in ``[1 - zoom, 1 + zoom]``).
    shear : float, default=0.0
        Maximum shear angle in degrees.
    fill : float, default=0.0
        Value for pixels coming from outside the image (the background).
    image_shape : tuple of int, default=None
        ``(h, w)`` or ``(c, h, w)`` of flat input. When None: square if the
        feature count is a square, else one row of pixels.
    n_copies : int, default=1
        Augmented copies per sample added by :meth:`fit_resample`.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws; with an int, every call draws the same distortions.

    Attributes
    ----------
    image_shape_ : tuple of int
        ``(c, h, w)`` of one sample.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mnist.preprocessing import RandomAffineAugmenter
    >>> X = np.zeros((4, 28, 28), dtype=np.uint8); X[:, 10:18, 12:16] = 255
    >>> aug = RandomAffineAugmenter(rotation=15, random_state=0)
    >>> Xa = aug.fit_transform(X)
    >>> Xa.shape, Xa.dtype.name, bool((Xa != X).any())
    ((4, 28, 28), 'uint8', True)
    >>> bool((aug.transform(X) == X).all())  # prediction-time data stay clean
    True
    """

    _parameter_constraints = {
        "rotation": [Interval(Real, 0, 180, closed="both")],
        "shift": [Interval(Real, 0, 1, closed="both")],
        "zoom": [Interval(Real, 0, 1, closed="left")],
        "shear": [Interval(Real, 0, 89, closed="both")],
        "fill": [Interval(Real, None, None, closed="neither")],
        "image_shape": [tuple, list, None],
        "n_copies": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        rotation=10.0,
        shift=0.1,
        zoom=0.1,
        shear=0.0,
        fill=0.0,
        image_shape=None,
        n_copies=1,
        random_state=None,
    ):
        self.rotation = rotation
        self.shift = shift
        self.zoom = zoom
        self.shear = shear
        self.fill = fill
        self.image_shape = image_shape
        self.n_copies = n_copies
        self.random_state = random_state

    def _draw(self, n, h, w, rng):
        M = random_affine_matrices(
            n,
            height=h,
            width=w,
            rotation=self.rotation,
            shift=self.shift,
            zoom=self.zoom,
            shear=self.shear,
            random_state=rng,
        )
        return _normalized_theta(M, h, w)

    def _warp(self, images, theta, rng):
        return _warp_normalized(images, theta, float(self.fill))
