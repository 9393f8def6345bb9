"""Metrics of a reject option: coverage vs risk, OOD AUROC, selective accuracy."""

import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import roc_auc_score
from sklearn.utils.validation import check_consistent_length, column_or_1d

from .._compat import check_sample_weight

__all__ = [
    "coverage_risk_curve",
    "ood_auroc",
    "plot_coverage_risk",
    "selective_accuracy",
]


def _scores_1d(scores, name):
    scores = column_or_1d(np.asarray(scores), warn=False).astype(np.float64)
    if np.isnan(scores).any():
        raise ValueError(f"{name} contains NaN")
    return scores


def coverage_risk_curve(y_true, y_pred, scores, *, sample_weight=None):
    """Error rate among accepted samples against the fraction accepted.

    For each distinct score ``t`` (highest first), the samples with
    ``scores >= t`` are accepted: ``coverage`` is their (weighted) fraction and
    ``risk`` the (weighted) fraction of them with ``y_pred != y_true``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        The classifier's predictions (``estimator_.predict``, not the ones
        with reject labels).
    scores : array-like of shape (n_samples,)
        Trust scores, higher = more trustworthy
        (:meth:`RejectOptionClassifier.score_samples`).
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    coverage : ndarray of shape (n_thresholds,)
        Increasing, ending at 1.
    risk : ndarray of shape (n_thresholds,)
        Selective risk at each coverage.
    thresholds : ndarray of shape (n_thresholds,)
        Decreasing; ``thresholds[i]`` gives ``coverage[i]`` and ``risk[i]``.

    Examples
    --------
    >>> from sklearn_mnist.reject import coverage_risk_curve
    >>> coverage, risk, thresholds = coverage_risk_curve(
    ...     [0, 1, 1, 0], [0, 1, 0, 1], [0.9, 0.8, 0.3, 0.6])
    >>> coverage.tolist(), risk.tolist(), thresholds.tolist()
    ([0.25, 0.5, 0.75, 1.0], [0.0, 0.0, 0.3333333333333333, 0.5], [0.9, 0.8, 0.6, 0.3])
    """
    y_true = column_or_1d(np.asarray(y_true, dtype=object), warn=False)
    y_pred = column_or_1d(np.asarray(y_pred, dtype=object), warn=False)
    scores = _scores_1d(scores, "scores")
    check_consistent_length(y_true, y_pred, scores)
    if len(scores) == 0:
        raise ValueError("coverage_risk_curve needs at least one sample, got 0")
    weight = check_sample_weight(
        sample_weight, scores[:, None], dtype=np.float64, ensure_non_negative=True
    )
    if weight.sum() <= 0:
        raise ValueError("sample_weight gives every sample weight 0")
    errors = (y_true != y_pred).astype(np.float64) * weight
    order = np.argsort(-scores, kind="stable")
    scores, errors, weight = scores[order], errors[order], weight[order]
    last = np.r_[scores[:-1] != scores[1:], True]  # the end of each tie group
    accepted = np.cumsum(weight)[last]
    wrong = np.cumsum(errors)[last]
    with np.errstate(invalid="ignore", divide="ignore"):
        risk = np.where(accepted > 0, wrong / np.where(accepted > 0, accepted, 1), 0.0)
    return accepted / accepted[-1], risk, scores[last]


def ood_auroc(scores_in, scores_out):
    """How well scores tell in-distribution samples from others: ROC AUC.

    The probability that an in-distribution sample scores higher than an
    out-of-distribution one (ties count half): 1 separates them perfectly,
    0.5 is chance, below 0.5 the score trusts the outliers more.
    scikit-learn's :func:`~sklearn.metrics.roc_auc_score` with the
    in-distribution samples as the positive class.

    Parameters
    ----------
    scores_in : array-like of shape (n_in,)
        Trust scores (higher = more trustworthy) of in-distribution samples.
    scores_out : array-like of shape (n_out,)
        Trust scores of out-of-distribution samples.

    Returns
    -------
    auroc : float

    Examples
    --------
    >>> from sklearn_mnist.reject import ood_auroc
    >>> ood_auroc([0.9, 0.8, 0.7], [0.75, 0.1])
    0.8333333333333333
    """
    scores_in = _scores_1d(scores_in, "scores_in")
    scores_out = _scores_1d(scores_out, "scores_out")
    if len(scores_in) == 0 or len(scores_out) == 0:
        raise ValueError(
            "ood_auroc needs in- and out-of-distribution scores, got "
            f"{len(scores_in)} and {len(scores_out)}"
        )
    labels = np.r_[np.ones(len(scores_in)), np.zeros(len(scores_out))]
    return float(roc_auc_score(labels, np.r_[scores_in, scores_out]))


def selective_accuracy(
    y_true, y_pred, *, reject_label=-1, sample_weight=None, zero_division="warn"
):
    """Accuracy on the samples that were not rejected.

    ``RejectOptionClassifier.score`` (scikit-learn's accuracy) counts a
    rejected sample as an error; this leaves rejected samples out. Use it in
    ``GridSearchCV`` with ``make_scorer(selective_accuracy)`` beside a
    coverage constraint: alone, it favours rejecting everything but the
    easiest samples.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_pred : array-like of shape (n_samples,)
        Predictions with ``reject_label`` where rejected
        (:meth:`RejectOptionClassifier.predict`).
    reject_label : object, default=-1
    sample_weight : array-like of shape (n_samples,), default=None
    zero_division : "warn", 0.0, 1.0 or np.nan, default="warn"
        The value when every sample is rejected; ``"warn"`` gives 0.0 with
        an ``UndefinedMetricWarning``, as scikit-learn's precision does.

    Returns
    -------
    accuracy : float

    Examples
    --------
    >>> from sklearn_mnist.reject import selective_accuracy
    >>> selective_accuracy([0, 1, 1, 2], [0, -1, 1, 1])
    0.6666666666666666
    """
    y_true = column_or_1d(np.asarray(y_true, dtype=object), warn=False)
    y_pred = column_or_1d(np.asarray(y_pred, dtype=object), warn=False)
    check_consistent_length(y_true, y_pred)
    weight = check_sample_weight(
        sample_weight, np.empty((len(y_true), 0)), dtype=np.float64,
        ensure_non_negative=True,
    )  # fmt: skip
    rejected = np.array([_same(p, reject_label) for p in y_pred], dtype=bool)
    accepted = weight[~rejected].sum()
    if accepted <= 0:
        if zero_division == "warn":
            warnings.warn(
                "selective_accuracy is undefined when every sample is rejected; "
                "returning 0.0 (set zero_division to choose)",
                UndefinedMetricWarning,
                stacklevel=2,
            )
            return 0.0
        return float(zero_division)
    correct = (y_true == y_pred) & ~rejected
    return float(weight[correct].sum() / accepted)


def _same(a, b):
    try:
        return bool(a == b) or (a is None and b is None) or (a != a and b != b)
    except (TypeError, ValueError):
        return False


def plot_coverage_risk(
    y_true, y_pred, scores, *, threshold=None, ax=None, label=None, title=None
):
    """Plot the coverage vs risk curve; returns the matplotlib figure.

    Parameters
    ----------
    y_true, y_pred, scores : array-like of shape (n_samples,)
        As for :func:`coverage_risk_curve`.
    threshold : float, default=None
        Mark the operating point of this threshold
        (``RejectOptionClassifier.threshold_``).
    ax : matplotlib Axes, default=None
        Where to draw, e.g. the axes of an earlier call to compare scores on
        one figure. None creates a new figure (constrained layout).
    label : str, default=None
        Legend entry; None gives none.
    title : str, default=None
        Axes title. None on a new figure gives ``"Risk vs coverage (1,000
        samples)"``; None on a given ``ax`` leaves its title alone.

    Returns
    -------
    fig : matplotlib Figure
    """
    import matplotlib.pyplot as plt

    coverage, risk, thresholds = coverage_risk_curve(y_true, y_pred, scores)
    new_figure = ax is None
    if new_figure:
        _, ax = plt.subplots(figsize=(5.5, 4), layout="constrained")
    (line,) = ax.plot(100 * coverage, 100 * risk, label=label)
    if threshold is not None:
        scores = np.asarray(scores, dtype=np.float64)
        accepted = scores >= threshold
        point_coverage = accepted.mean()
        point_risk = (
            np.mean(np.asarray(y_true)[accepted] != np.asarray(y_pred)[accepted])
            if accepted.any()
            else 0.0
        )
        ax.plot(
            100 * point_coverage, 100 * point_risk, marker="o",
            color=line.get_color(),
            label=f"threshold {threshold:.4g}: coverage {100 * point_coverage:.1f}%, "
            f"risk {100 * point_risk:.2f}%",
        )  # fmt: skip
    ax.set_xlabel("coverage: samples answered (%)")
    ax.set_ylabel("risk: errors among answered (%)")
    ax.set_xlim(0, 100)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    if label is not None or threshold is not None:
        ax.legend()
    if title is None and new_figure:
        title = f"Risk vs coverage ({len(np.asarray(y_true)):,} samples)"
    if title is not None:
        ax.set_title(title)
    return ax.figure
