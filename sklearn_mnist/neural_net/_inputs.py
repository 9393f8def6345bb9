"""What ``fit`` learns from its inputs besides the weights: labels, sample
weights, pixel statistics, and the checks ``predict`` makes against them."""

import warnings

import numpy as np
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    column_or_1d,
)

__all__ = [
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
    weight = _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )
    if class_weight is not None:
        weight = weight * compute_sample_weight(class_weight, y_labels)
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
        counts = np.bincount(X.ravel(), minlength=256).astype(np.float64)
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
    way round) sees every digit as almost blank or saturated and predicts
    nonsense without an error; this says so once per call site.
    """
    low, high = fitted_range
    if not X.size or low < 0:
        return
    x_min, x_max = float(X.min()), float(X.max())
    if x_min < 0:
        return
    if high > 2 and 0 < x_max <= 1:
        warnings.warn(
            f"X has values in [{x_min:g}, {x_max:g}], but {name} was fitted on "
            f"values up to {high:g} (0..255 pixels?): divide by 255 at fit or "
            "multiply by 255 here, or put Normalizer255 in front of the model",
            UserWarning,
            stacklevel=3,
        )
    elif high <= 1 and x_max > 2:
        warnings.warn(
            f"X has values up to {x_max:g}, but {name} was fitted on values in "
            f"[{low:g}, {high:g}] (0..1 pixels?): scale X the same way as the "
            "training data",
            UserWarning,
            stacklevel=3,
        )
