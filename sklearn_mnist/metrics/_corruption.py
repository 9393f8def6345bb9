"""Accuracy under the MNIST-C corruptions, per corruption and severity, and its plot."""

import numpy as np
from sklearn.utils import Bunch, check_random_state

from ..preprocessing import CORRUPTION_LEVELS, Corruption, resolve_kinds
from ..utils import estimator_name

__all__ = ["corruption_robustness", "plot_corruption_robustness"]


def _check_severities(severities):
    if isinstance(severities, str):
        if severities != "mnist_c":
            raise ValueError(
                "severities must be a sequence of numbers in [1, 5] or 'mnist_c', "
                f"got {severities!r}"
            )
        return ["mnist_c"]
    values = list(np.atleast_1d(severities))
    bad = [
        v for v in values
        if isinstance(v, bool | np.bool_) or not isinstance(v, int | float | np.number)
        or not 1 <= v <= 5
    ]  # fmt: skip
    if not values or bad:
        raise ValueError(
            "severities must be a non-empty sequence of numbers in [1, 5] or "
            f"'mnist_c', got {severities!r}"
        )
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def corruption_robustness(
    estimator, X, y, *, kinds="all", severities=(1, 2, 3, 4, 5), random_state=None
):
    """Accuracy of a fitted model on corrupted copies of ``X``, per corruption.

    Every corruption of ``kinds`` (see :class:`~sklearn_mnist.preprocessing.
    Corruption`) is applied to all of ``X`` at each severity and the model's
    accuracy measured on the result, next to its accuracy on clean ``X``: the
    corruption counterpart of :func:`~sklearn_mnist.adversarial.robustness_curve`.
    MNIST-C (Mu and Gilmer, 2019) reports the mean over its 15 corruptions at
    one severity each: ``kinds="mnist_c", severities="mnist_c"``.

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
        Anything with ``predict``; it receives corrupted ``X`` in the units of
        ``X`` (uint8 0..255 or 0..1 floats alike).
    X : array-like, flat ``(n, h*w)`` or images
        Clean test images.
    y : array-like of shape (n_samples,)
        True labels.
    kinds : str or list of str, default="all"
        As ``kind`` of :class:`~sklearn_mnist.preprocessing.Corruption`:
        ``"all"`` (19 corruptions), ``"mnist_c"`` (MNIST-C's 15), one name or a
        list of names.
    severities : sequence of numbers in [1, 5] or "mnist_c", default=(1, 2, 3, 4, 5)
        The severities measured; ``"mnist_c"`` is one column at each
        corruption's severity in the MNIST-C data set. Corruptions without
        severity (stripe, dotted_line, zigzag, canny_edges, identity) are
        measured once and the accuracy repeated in every column.
    random_state : int, RandomState instance or None, default=None
        Seeds the corruptions (a different draw for every corruption and
        severity); with an int the report is reproducible.

    Returns
    -------
    result : Bunch
        - ``kinds``: ndarray of str, shape (n_kinds,);
        - ``severities``: ndarray, shape (n_severities,);
        - ``accuracy``: ndarray of shape (n_kinds, n_severities);
        - ``kind_accuracy``: mean over severities, shape (n_kinds,);
        - ``severity_accuracy``: mean over corruptions, shape (n_severities,);
        - ``clean_accuracy``: accuracy on ``X`` itself;
        - ``mean_accuracy``: mean of ``accuracy`` (MNIST-C's headline figure
          is ``1 - mean_accuracy``, the mean error);
        - ``frame``: the same as a pandas DataFrame, one row per corruption,
          one column per severity and a ``"mean"`` column;
        - ``estimator_name``, ``n_samples``: for the plot's title.

    See Also
    --------
    plot_corruption_robustness : a bar per corruption.
    sklearn_mnist.preprocessing.Corruption : the corruptions themselves.

    Examples
    --------
    >>> from sklearn_mnist import CNNClassifier, load_mnist_sample
    >>> from sklearn_mnist.metrics import corruption_robustness
    >>> X, y = load_mnist_sample(return_X_y=True)
    >>> clf = CNNClassifier(max_epochs=1, random_state=0).fit(X[::10], y[::10])
    >>> result = corruption_robustness(
    ...     clf, X[1::25], y[1::25], kinds=["fog", "rotate"], severities=(1, 5),
    ...     random_state=0)
    >>> result.accuracy.shape, list(result.frame.columns)
    ((2, 2), [1, 5, 'mean'])
    """
    names = resolve_kinds(kinds)
    columns = _check_severities(severities)
    y = np.asarray(y)
    rng = check_random_state(random_state)

    def accuracy(X_eval):
        return float(np.mean(np.asarray(estimator.predict(X_eval)) == y))

    clean = accuracy(X)
    table = np.empty((len(names), len(columns)))
    for i, kind in enumerate(names):
        for j, severity in enumerate(columns):
            seed = rng.randint(np.iinfo(np.int32).max)
            # no severity: the same distribution
            if kind not in CORRUPTION_LEVELS and j:
                table[i, j] = table[i, 0]
                continue
            corruption = Corruption(kind, severity=severity, random_state=seed)
            table[i, j] = accuracy(corruption.corrupt(X))
    result = Bunch(
        kinds=np.array(names),
        severities=np.array(columns, dtype=object if columns == ["mnist_c"] else None),
        accuracy=table,
        kind_accuracy=table.mean(axis=1),
        severity_accuracy=table.mean(axis=0),
        clean_accuracy=clean,
        mean_accuracy=float(table.mean()),
        estimator_name=estimator_name(estimator),
        n_samples=len(y),
    )
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        return result
    frame = pd.DataFrame(table, index=pd.Index(names, name="corruption"),
                         columns=pd.Index(columns, name="severity"))  # fmt: skip
    frame["mean"] = result.kind_accuracy
    result.frame = frame
    return result


def plot_corruption_robustness(result, *, ax=None, title=None):
    """A horizontal bar per corruption (mean accuracy over the severities),
    with the clean accuracy as a vertical line; returns the matplotlib figure.

    With several severities, a dot per severity sits on each bar (darker =
    more severe).

    Parameters
    ----------
    result : Bunch
        The result of :func:`corruption_robustness`.
    ax : matplotlib Axes, default=None
        Where to draw; None creates a new figure (constrained layout).
    title : str, default=None
        Axes title; None on a new figure gives ``"Accuracy under corruptions
        (1,000 images): mean 93.1%, clean 99.0%"``, None on a given ``ax``
        leaves its title alone.

    Returns
    -------
    fig : matplotlib Figure
    """
    import matplotlib.pyplot as plt

    new_figure = ax is None
    kinds = list(result.kinds)
    if new_figure:
        _, ax = plt.subplots(figsize=(6, 1.5 + 0.28 * len(kinds)), layout="constrained")
    rows = np.arange(len(kinds))
    ax.barh(rows, 100 * result.kind_accuracy, color="tab:blue", alpha=0.6,
            label=f"{result.estimator_name}: mean over severities")  # fmt: skip
    n_sev = result.accuracy.shape[1]
    if n_sev > 1:
        colors = plt.get_cmap("Greys")(np.linspace(0.35, 1.0, n_sev))
        for j in range(n_sev):
            ax.scatter(100 * result.accuracy[:, j], rows, s=12, color=colors[j],
                       zorder=3, label=f"severity {result.severities[j]}")  # fmt: skip
    ax.axvline(100 * result.clean_accuracy, color="tab:red", linestyle="--",
               label=f"clean {100 * result.clean_accuracy:.1f}%")  # fmt: skip
    ax.set_yticks(rows, kinds)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("accuracy (%)")
    ax.set_ylabel("corruption")
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    if title is None and new_figure:
        title = (
            f"Accuracy under corruptions ({result.n_samples:,} images): mean "
            f"{100 * result.mean_accuracy:.1f}%, clean "
            f"{100 * result.clean_accuracy:.1f}%"
        )
    if title is not None:
        ax.set_title(title, fontsize=10)
    return ax.figure
