"""Robustness curves and a robust-accuracy scorer for model selection."""

import numpy as np
from sklearn.base import clone
from sklearn.utils import Bunch

from ..utils import estimator_name
from ._fgsm import FGSMPerturber

__all__ = ["robustness_curve", "plot_robustness_curve", "robust_accuracy_scorer"]

_ATTACKS = {
    "fgsm": dict(n_iter=1),
    "pgd": dict(n_iter=40, step_size=0.01, random_start=True),
}


def _perturber(estimator, attack, eps, params):
    """A new perturber attacking ``estimator``; ``attack`` itself is left alone
    (a clone: no ``estimator_`` fitted earlier on another model carries over)."""
    if isinstance(attack, FGSMPerturber):
        return clone(attack).set_params(estimator=estimator, eps=eps, **params)
    if attack not in _ATTACKS:
        raise ValueError(
            f"attack must be 'fgsm', 'pgd' or an FGSMPerturber, got {attack!r}"
        )
    return FGSMPerturber(estimator, eps=eps, **{**_ATTACKS[attack], **params})


def _check_eps(eps):
    """``eps`` as a 1-d float array of radii in [0, 1], or a ValueError."""
    try:
        values = np.atleast_1d(np.asarray(eps, dtype=float))
    except (TypeError, ValueError):
        raise ValueError(
            f"eps must be a number or a sequence of numbers in [0, 1], got {eps!r}"
        ) from None
    if values.ndim != 1 or not values.size:
        raise ValueError(
            f"eps must be a number or a flat, non-empty sequence of numbers in "
            f"[0, 1], got an array of shape {values.shape}"
        )
    if not np.all((values >= 0) & (values <= 1)):
        raise ValueError(
            f"eps must be in [0, 1] (fractions of the input range), got "
            f"{values.tolist()}"
        )
    return values


def robustness_curve(
    estimator, X, y, *, eps=(0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3), attack="fgsm",
    **attack_params,
):  # fmt: skip
    """Accuracy of a fitted model under attack, for each ``eps``.

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
        As accepted by :class:`FGSMPerturber`.
    X, y : test data and true labels
    eps : float or sequence of float
        Radii as fractions of the input range, each in [0, 1]; one number
        gives a curve of one point.
    attack : {"fgsm", "pgd"} or FGSMPerturber, default="fgsm"
        "pgd" is 40 steps of 0.01 from a random start (Madry et al. 2018). A
        perturber is cloned for each ``eps`` and the clone attacks
        ``estimator``: the perturber's own ``estimator`` (fitted or not) is
        ignored and the perturber passed in is never changed.
    **attack_params
        Passed to :class:`FGSMPerturber` (e.g. ``n_iter``, ``random_state``).

    Returns
    -------
    curve : Bunch
        ``eps`` and ``accuracy`` arrays, the ``attack`` name, ``estimator_name``
        (e.g. ``"CNNClassifier pipeline"``) and ``n_samples``, which
        :func:`plot_robustness_curve` uses for its default legend and title.
    """
    y = np.asarray(y)
    eps = _check_eps(eps)
    accuracy = np.array(
        [
            np.mean(
                estimator.predict(
                    _perturber(estimator, attack, e, attack_params).perturb(X, y)
                )
                == y
            )
            for e in eps
        ]
    )
    name = attack if isinstance(attack, str) else type(attack).__name__
    return Bunch(
        eps=eps,
        accuracy=accuracy,
        attack=name,
        estimator_name=estimator_name(estimator),
        n_samples=len(y),
    )


def _attack_label(curve):
    return curve.attack.upper() if curve.attack in _ATTACKS else curve.attack


def plot_robustness_curve(curve, *, ax=None, label=None, title=None):
    """Plot accuracy against eps; returns the matplotlib figure.

    Parameters
    ----------
    curve : Bunch
        The result of :func:`robustness_curve`.
    ax : matplotlib Axes, default=None
        Where to draw, e.g. the axes of an earlier call to compare models on one
        figure. None creates a new figure (constrained layout).
    label : str, default=None
        Legend entry; None uses the curve's estimator name (or its attack name).
    title : str, default=None
        Axes title, e.g. the attack and the test set. None on a new figure gives
        ``"Accuracy under FGSM attack (1,000 images)"``; None on a given ``ax``
        leaves its title alone.

    Returns
    -------
    fig : matplotlib Figure
    """
    import matplotlib.pyplot as plt

    new_figure = ax is None
    if new_figure:
        _, ax = plt.subplots(figsize=(5.5, 4), layout="constrained")
    if label is None:
        label = curve.get("estimator_name") or curve.attack
    ax.plot(curve.eps, 100 * curve.accuracy, marker="o", label=label)
    ax.set_xlabel("eps (fraction of the input range)")
    ax.set_ylabel("accuracy under attack (%)")
    ax.set_ylim(0, 100)
    ax.grid(True, alpha=0.3)
    ax.legend()
    if title is None and new_figure:
        title = f"Accuracy under {_attack_label(curve)} attack"
        if "n_samples" in curve:
            title += f" ({curve.n_samples:,} images)"
    if title is not None:
        ax.set_title(title)
    return ax.figure


def robust_accuracy_scorer(*, eps=0.1, attack="fgsm", **attack_params):
    """A scorer ``(estimator, X, y) -> accuracy under attack`` for ``GridSearchCV``.

    Parameters
    ----------
    eps : float, default=0.1
        Radius as a fraction of the model's input range (see
        :class:`FGSMPerturber`).
    attack : {"fgsm", "pgd"} or FGSMPerturber, default="fgsm"
        As in :func:`robustness_curve`: a perturber is cloned for every call
        and the clone attacks the estimator being scored.
    **attack_params
        Passed to :class:`FGSMPerturber`.

    Returns
    -------
    score : callable
        ``score(estimator, X, y) -> float``.

    Examples
    --------
    >>> from sklearn_mnist.adversarial import robust_accuracy_scorer
    >>> scoring = {"clean": "accuracy", "fgsm": robust_accuracy_scorer(eps=0.1)}
    """

    def score(estimator, X, y):
        X_adv = _perturber(estimator, attack, eps, attack_params).perturb(X, y)
        return float(np.mean(estimator.predict(X_adv) == np.asarray(y)))

    score.__name__ = f"robust_accuracy_{attack}_eps{eps}"
    return score
