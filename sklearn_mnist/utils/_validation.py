"""Input validation shared by every estimator: flat rows or image stacks."""

import math
import numbers

import numpy as np
import torch
from sklearn.utils.validation import check_array, validate_data

from ._layout import channels_first, image_layout, looks_channels_last

__all__ = [
    "infer_clip_range",
    "infer_image_shape",
    "sample_shape",
    "validate_images",
]


def _ndim(X):
    ndim = getattr(X, "ndim", None)
    return ndim if ndim is not None else np.asarray(X).ndim


def validate_images(estimator, X, *, reset, **check_params):
    """``validate_data`` that also accepts images ``(n, h, w)`` / ``(n, c, h, w)``.

    Two-dimensional input (arrays, DataFrames) goes through scikit-learn's
    ``validate_data`` unchanged, so ``n_features_in_`` and ``feature_names_in_``
    behave exactly as for any scikit-learn estimator. For image stacks
    ``n_features_in_`` is the number of values per sample (``h * w`` or
    ``c * h * w``), so a model fitted on images accepts the same data flattened
    and the other way round.
    """
    if _ndim(X) <= 2:
        return validate_data(estimator, X, reset=reset, **check_params)
    X = check_array(X, allow_nd=True, **check_params)
    if X.ndim > 4:
        raise ValueError(
            f"Expected flat samples (n, h*w) or images (n, h, w) / (n, c, h, w), "
            f"got an array of shape {X.shape}"
        )
    n_features = math.prod(X.shape[1:])
    if reset:
        estimator.n_features_in_ = n_features
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    elif hasattr(estimator, "n_features_in_") and (
        n_features != estimator.n_features_in_
    ):
        raise ValueError(
            f"X has images of shape {X.shape[1:]} ({n_features} features), but "
            f"{type(estimator).__name__} is expecting {estimator.n_features_in_} "
            "features as input."
        )
    return X


def infer_image_shape(n_features, image_shape=None):
    """The ``(channels, height, width)`` of flat samples with ``n_features`` values.

    ``image_shape`` may be ``(h, w)`` or ``(c, h, w)``; when None, the images are
    taken to be square with one channel.
    """
    if image_shape is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ValueError(
                f"Cannot infer a square image from {n_features} features; pass "
                "image_shape=(height, width) or (channels, height, width)"
            )
        return (1, side, side)
    shape = tuple(int(s) for s in image_shape)
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3 or min(shape) < 1 or math.prod(shape) != n_features:
        raise ValueError(
            f"image_shape={tuple(image_shape)} does not fit samples of "
            f"{n_features} values; expected (h, w) or (c, h, w) with that many values"
        )
    return shape


def sample_shape(X, image_shape=None):
    """``(c, h, w)`` of one sample of validated ``X`` (flat rows or images).

    Flat rows use ``image_shape`` when given, else square one-channel images when
    the feature count is a square, else one row of pixels ``(1, 1, n_features)``.
    Four-dimensional stacks may be channels-first or channels-last
    (:func:`~sklearn_mnist.utils.image_layout`).
    """
    declared = None if image_shape is None else declared_image_shape(image_shape)
    if X.ndim == 2:
        try:
            shape = infer_image_shape(X.shape[1], declared)
        except ValueError:
            if image_shape is not None:
                raise
            shape = (1, 1, X.shape[1])
    elif X.ndim == 3:
        shape = (1, *X.shape[1:])
    else:
        shape = channels_first(X.shape, image_layout(X.shape, declared))
    shape = tuple(int(s) for s in shape)
    if declared is not None and shape != declared:
        raise ValueError(
            f"image_shape={tuple(image_shape)} does not match the images of shape "
            f"{X.shape[1:]} (read as (channels, height, width) = {shape}); leave "
            "image_shape=None for image stacks, or declare their shape"
        )
    return shape


def declared_image_shape(image_shape):
    """``image_shape`` as ``(c, h, w)``: positive integers, ``(h, w)`` meaning
    one channel; TensorFlow's ``(h, w, c)`` is refused with the order to use."""
    shape = tuple(image_shape)
    if len(shape) not in (2, 3) or not all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1
        for s in shape
    ):
        raise ValueError(
            f"image_shape must be (height, width) or (channels, height, width) of "
            f"positive integers, got {image_shape!r}"
        )
    shape = tuple(int(s) for s in shape)
    if len(shape) == 2:
        return (1, *shape)
    c, h, w = shape
    if looks_channels_last(shape):
        raise ValueError(
            f"image_shape={shape} reads as {c} channels of {h}x{w} images; it is "
            f"(channels, height, width): for {c}x{h} images with {w} channel(s) "
            f"pass image_shape={(w, c, h)}"
        )
    return shape


def infer_clip_range(X):
    """A guess at the pixel range from data alone: (0, 255) for integer data or
    data above 1, else (0, 1).

    Attacks do not use it: ``clip_values="auto"`` is the range of the fitted
    model (:func:`sklearn_mnist.adversarial.attack_range`), never a guess from
    the batch being attacked.
    """
    if isinstance(X, torch.Tensor):
        integer = not X.is_floating_point()
        big = bool(X.numel()) and float(X.max()) > 1
    else:
        X = np.asarray(X)
        integer = X.dtype.kind in "ui"
        big = bool(X.size) and float(X.max()) > 1
    return (0.0, 255.0) if integer or big else (0.0, 1.0)


def pixel_range(dtype, high):
    """The pixel scale of training data: (0, 255) for 8-bit images (uint8, or
    values brighter than 127), (0, 1) for values within 0..1, otherwise the
    data's own (0, max): scikit-learn's ``load_digits`` is 0..16."""
    if dtype == np.uint8 or high > 127:
        return (0.0, 255.0)
    if high <= 1:
        return (0.0, 1.0)
    return (0.0, float(high))
