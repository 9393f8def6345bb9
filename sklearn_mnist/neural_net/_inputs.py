"""What ``fit`` learns from its inputs besides the weights: labels, sample
weights, pixel statistics, and the checks ``predict`` makes against them."""

import math
import os
import sys
import warnings

import numpy as np
import sklearn
import skorch
import torch
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import assert_all_finite
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from .._compat import check_sample_weight
from ..utils import (
    image_layout,
    pixel_range,
    sample_shape,
    to_channels_first,
    validate_images,
)
from ._data import InMemoryDataset
from ._finite import check_float32_range

__all__ = [
    "InputMixin",
    "check_input_range",
    "encode_labels",
    "fit_label_encoder",
    "loss_weights",
    "pixel_stats",
    "training_weights",
]

_CHUNK = 4096


def fit_label_encoder(name, y, classes=None):
    """A ``LabelEncoder`` for ``classes`` (or the labels in ``y``).

    Raises
    ------
    ValueError
        Fewer than two classes, or labels in ``y`` outside ``classes``.
    """
    if classes is not None and np.asarray(classes).dtype.kind == "f":
        assert_all_finite(np.asarray(classes), input_name="classes")
    encoder = LabelEncoder().fit(y if classes is None else column_or_1d(classes))
    if len(encoder.classes_) < 2:
        raise ValueError(
            f"{name} needs samples of at least 2 classes in the data, got 1 class: "
            f"{encoder.classes_[0]!r}"
        )
    if classes is not None:
        _check_known(name, y, encoder.classes_, "the classes passed")
    return encoder


def _check_known(name, y, classes, source):
    unseen = np.setdiff1d(np.unique(y), classes)
    if unseen.size:
        raise ValueError(
            f"y contains labels {unseen[:5].tolist()} that are not among {source} "
            f"({classes.tolist()}); {name} cannot learn new classes without being "
            "refitted from scratch (warm_start=False), or pass every class to the "
            "first partial_fit(X, y, classes=...)"
        )


def encode_labels(name, X, y, encoder=None):
    """Validated ``y`` as int64 class indices of ``encoder``.

    Returns ``(encoder, codes)``; a new encoder is fitted when ``encoder`` is
    None, otherwise labels it has not seen are refused.
    """
    if y is None:
        raise ValueError(f"{name} requires y to be passed, but the target y is None")
    y = column_or_1d(y, warn=True)
    check_consistent_length(X, y)
    if y.dtype.kind == "f":
        # before type_of_target, which casts NaN/inf to int with a RuntimeWarning
        assert_all_finite(y, input_name="y")
    check_classification_targets(y)
    if encoder is None:
        encoder = fit_label_encoder(name, y)
    else:
        _check_known(name, y, encoder.classes_, "the classes seen in the first fit")
    return encoder, encoder.transform(y).astype(np.int64)


def training_weights(X, y_labels, sample_weight, class_weight):
    """Per-sample loss weights from ``sample_weight`` and ``class_weight``.

    Returns None when there are none, else float64 weights (NaN, infinite and
    negative weights refused; all zero refused).
    """
    if sample_weight is None and class_weight is None:
        return None
    weight = check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )
    if class_weight is not None:
        weight = weight * compute_sample_weight(class_weight, y_labels)
    check_float32_range(weight, "sample_weight")
    if not weight.any():
        raise ValueError("sample_weight (and class_weight) give every sample weight 0")
    return weight


def loss_weights(weight):
    """Weights of the loss terms: ``weight`` divided by its mean, or None if all
    are equal (then the loss is the plain mean).

    The loss of a batch is ``mean(weight_i * loss_i)``: an unbiased estimate of
    the weighted mean loss over the whole training set, so a batch of
    low-weight samples moves the network little (normalising per batch would
    give every batch the same say, whatever its samples weigh).
    """
    if weight is None or np.all(weight == weight[0]):
        return None
    return (weight / weight.mean()).astype(np.float32)


def pixel_stats(X, weight=None):
    """(mean, std) of every value of ``X``, weighted per sample; std 1 if 0."""
    if weight is None and X.dtype == np.uint8:
        # torch's bincount reads the bytes as they are (numpy's copies them
        # to int64 first): 0.06 s for full MNIST instead of 0.15-0.35 s.
        with warnings.catch_warnings():  # read only: torch's bincount only reads
            warnings.filterwarnings("ignore", "The given NumPy array is not writable")
            flat = torch.from_numpy(np.ascontiguousarray(X).reshape(-1))
        counts = torch.bincount(flat, minlength=256).numpy().astype(np.float64)
        values = np.arange(256.0)
        mean = counts @ values / counts.sum()
        var = counts @ (values - mean) ** 2 / counts.sum()
    else:
        w = np.ones(len(X)) if weight is None else np.asarray(weight, np.float64)
        flat = X.reshape(len(X), -1)
        sums = np.zeros(2)
        for start in range(0, len(X), _CHUNK):
            part = flat[start : start + _CHUNK].astype(np.float64)
            rows = w[start : start + _CHUNK]
            sums += rows @ part.mean(1), rows @ (part**2).mean(1)
        mean = sums[0] / w.sum()
        var = max(sums[1] / w.sum() - mean**2, 0.0)
    return float(mean), float(np.sqrt(var)) if var > 0 else 1.0


def check_input_range(name, X, fitted_range):
    """Warn when ``X`` looks scaled differently from the training data.

    A model fitted on 0..255 pixels and asked about 0..1 pixels (or the other
    way round, or on any other scale: ``load_digits`` is 0..16) sees every
    image as almost blank or saturated and predicts nonsense without an
    error; this says so once per call site. Grossly different means the
    brightest value of ``X`` is at most a 16th of the training data's, or
    above 4 times it (and above 2). Blank images and data with negative
    values (standardised) say nothing about the scale.
    """
    low, high = fitted_range
    if not X.size or low < 0 or high <= 0:
        return
    x_min, x_max = float(X.min()), float(X.max())
    if x_min < 0 or x_max == 0:
        return
    fitted = f"{name} was fitted on values in [{low:g}, {high:g}]"
    if x_max <= high / 16:
        advice = (
            " (0..255 pixels?): divide by 255 at fit or multiply by 255 here, "
            "or put Normalizer255 in front of the model"
            if high > 127
            else " (divided by 255 twice?): scale X the same way as the training data"
            if high <= 1 and x_max <= high / 64
            else ": scale X the same way as the training data"
        )
        message = f"X has values in [{x_min:g}, {x_max:g}], but {fitted}{advice}"
    elif x_max > max(2.0, 4 * high):
        pixels = " (0..1 pixels?)" if high <= 1 else ""
        message = (
            f"X has values up to {x_max:g}, but {fitted}{pixels}: scale X the "
            "same way as the training data"
        )
    else:
        return
    warnings.warn(message, UserWarning, stacklevel=3)


#: Flat rows of at least this many features that are not a square number are
#: warned about at fit (image-like: 8x8 and up); fewer are taken as tabular data.
_IMAGE_LIKE_FEATURES = 64


def _warn_unsquare_rows(name, n_features):
    """Warn that flat rows of a non-square feature count are read as one row
    of pixels (a 783-pixel row, a cropped or padded image) unless declared."""
    if n_features < _IMAGE_LIKE_FEATURES or math.isqrt(n_features) ** 2 == n_features:
        return
    warnings.warn(
        f"{name}: flat rows of {n_features} features are not square images, so "
        f"they are read as one row of pixels, image_shape_=(1, 1, {n_features}); "
        "if they are images, declare their shape with image_shape=(h, w) or "
        "(c, h, w)",
        UserWarning,
        stacklevel=_caller_stacklevel(),
    )


def _caller_stacklevel():
    """The ``stacklevel`` of the first frame outside this package, skorch and
    scikit-learn (a warning at fit points at the user's ``fit`` call, whether
    it came through ``fit``, ``partial_fit`` or a meta-estimator)."""
    package = os.path.dirname(os.path.dirname(__file__))  # sklearn_mnist/
    libraries = tuple(
        os.path.dirname(path) + os.sep
        for path in (sklearn.__file__, skorch.__file__, package + os.sep)
    )
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(libraries):
        frame, level = frame.f_back, level + 1
    return level


class InputMixin:
    """The input side of :class:`BaseImageClassifier`'s contract: validation,
    image layouts, pixel statistics and sample weights."""

    def _validate_X(self, X, reset):
        X = validate_images(
            self, X, reset=reset, dtype=[np.float32, np.uint8, np.float64]
        )
        if X.dtype == np.float64:
            check_float32_range(X, "X")
            X = X.astype(np.float32)
        if reset:
            declared = self.image_shape
            layout = image_layout(X.shape, declared)
            self.image_shape_ = sample_shape(X, declared)
            if declared is None and X.ndim == 2:
                _warn_unsquare_rows(type(self).__name__, X.shape[1])
            self.input_shape_ = tuple(int(d) for d in X.shape[1:])
            self.input_layout_ = (
                "channels_last" if layout == "hwc" else ("channels_first")
            )
            X = to_channels_first(X, layout)
        else:
            X = self._to_fitted_layout(X)
            check_input_range(type(self).__name__, X, self.data_range_)
        X = np.ascontiguousarray(X.reshape(len(X), *self.image_shape_))
        # torch cannot wrap read-only memory (memmaps); copy those.
        return X if X.flags.writeable else X.copy()

    def _fitted_layout(self, shape):
        """How a batch of ``shape`` maps to the fitted images: ``"as_is"`` or
        ``"from_last"`` (channels-last, or flat rows of channels-last images).

        Raises a ValueError for any other image shape.
        """
        c, h, w = self.image_shape_
        sample = tuple(int(s) for s in shape[1:])
        if len(sample) == 1:
            last = self.input_layout_ == "channels_last" and c > 1
            return "from_last" if last else "as_is"
        if sample == (h, w) and c == 1:
            return "as_is"
        first, last = sample == (c, h, w), sample == (h, w, c)
        if first and last:
            last = self.input_layout_ == "channels_last"
        if last or first:
            return "from_last" if last else "as_is"
        fitted = (c, h, w) if self.input_layout_ == "channels_first" else (h, w, c)
        raise ValueError(
            f"X has images of shape {sample}, but {type(self).__name__} was fitted on "
            f"images of shape {fitted} ({self.input_layout_.replace('_', '-')}); "
            f"pass flat rows of {c * h * w} values, images of shape {(c, h, w)} or "
            f"{(h, w, c)}" + (f" or {(h, w)}" if c == 1 else "")
        )

    def _to_fitted_layout(self, X):
        """``X`` (NumPy) as channels-first images of ``image_shape_``."""
        if self._fitted_layout(X.shape) == "as_is":
            return X
        c, h, w = self.image_shape_
        return np.moveaxis(X.reshape(len(X), h, w, c), -1, 1)

    def _training_labels(self, X, y, classes, first):
        """``y`` as codes 0..n_classes-1; a first fit sets ``label_encoder_``
        (from ``classes``, else the ``classes`` parameter, else ``y``), a
        continued one refuses labels it has not seen."""
        name = type(self).__name__
        if not first:
            return encode_labels(name, X, y, self.label_encoder_)[1]
        source = classes if classes is not None else self.classes
        if source is None:
            self.label_encoder_, codes = encode_labels(name, X, y)
            return codes
        self.label_encoder_ = fit_label_encoder(name, y, source)
        return encode_labels(name, X, y, self.label_encoder_)[1]

    def _check_same_classes(self, classes):
        if classes is not None and not np.array_equal(
            np.unique(np.asarray(classes).ravel()), self.classes_
        ):
            raise ValueError(
                f"classes={list(classes)!r} differs from the classes of the first "
                f"partial_fit call ({self.classes_.tolist()})"
            )

    def _fit_input_stats(self, X, weight=None):
        """Set what ``_standardize``, the attacks and the range check need."""
        self.input_mean_, self.input_std_ = pixel_stats(X, weight)
        if X.size:
            self.data_range_ = (float(X.min()), float(X.max()))
        else:
            self.data_range_ = (0.0, 1.0)
        self.input_range_ = pixel_range(X.dtype, self.data_range_[1])

    def _training_data(self, X, y, sample_weight):
        """``(dataset, codes)`` for skorch: zero-weight samples dropped."""
        weight = training_weights(X, self.classes_[y], sample_weight, self.class_weight)
        if weight is not None and not weight.all():
            keep = weight > 0
            X, y, weight = X[keep], y[keep], weight[keep]
        return X, y, weight

    def _dataset(self, X, y, weight):
        return InMemoryDataset(X, y, loss_weights(weight))

    def torch_images(self, x):
        """``x`` (a tensor in the layout ``predict`` takes) as float32 images
        ``(n, c, h, w)`` of ``image_shape_``, on ``x``'s device.

        The layout handling of ``predict`` on tensors, differentiable and
        traceable (``torch.export``); ``torch_logits`` and
        :func:`~sklearn_mnist.export_onnx` start with it.
        """
        check_is_fitted(self)
        if math.prod(x.shape[1:]) != self.n_features_in_:
            raise ValueError(
                f"x has {math.prod(x.shape[1:])} features per sample, but "
                f"{type(self).__name__} is expecting {self.n_features_in_}"
            )
        c, h, w = self.image_shape_
        if self._fitted_layout(x.shape) == "from_last":
            x = x.reshape(x.shape[0], h, w, c).movedim(-1, 1)
        return x.to(torch.float32).reshape(x.shape[0], c, h, w)
