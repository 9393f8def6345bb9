"""Plot helpers; each returns the matplotlib figure it drew.

Every figure has a title (``title=`` names the model and the setting; the
defaults say what is shown), labelled axes, and a constrained layout when the
helper creates the figure, so nothing is clipped when it is saved.
"""

import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay

from ..utils import estimator_name

__all__ = [
    "plot_confusion_matrix",
    "plot_misclassified",
    "plot_augmentations",
    "plot_adversarial_examples",
    "plot_training_curves",
]


def _images(X, image_shape=None):
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 2:
        side = int(round(np.sqrt(X.shape[1])))
        return X.reshape(len(X), *(image_shape or (side, side)))
    return X.reshape(len(X), *X.shape[-2:])


def _grid(n, n_cols):
    import matplotlib.pyplot as plt

    n_rows = max(1, int(np.ceil(n / n_cols)))
    fig, axes = plt.subplots(
        n_rows,
        n_cols,
        figsize=(1.4 * n_cols, 1.6 * n_rows + 0.6),
        squeeze=False,
        layout="constrained",
    )
    for ax in axes.ravel():
        ax.axis("off")
    return fig, axes.ravel()


def _suptitle(fig, title, legend):
    """``title`` (the model and data) above ``legend`` (what the panels show)."""
    fig.suptitle(legend if title is None else f"{title}\n{legend}", fontsize=10)


def plot_confusion_matrix(
    evaluation, *, ax=None, normalize=None, title=None, estimator=None
):
    """scikit-learn's ``ConfusionMatrixDisplay`` of an :class:`Evaluation`.

    Parameters
    ----------
    evaluation : Evaluation
        The result of :func:`evaluate`.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure (constrained layout) when None.
    normalize : {None, "true"}, default=None
        ``"true"`` shows each row as fractions of the true class.
    title : str, default=None
        Axes title, e.g. the model and the test set. None gives
        ``"Confusion matrix, accuracy 0.9870"``, below the model's name when
        ``estimator`` is given.
    estimator : estimator, default=None
        The model evaluated; named in the default title
        (``"CNNClassifier pipeline"``).

    Returns
    -------
    fig : matplotlib Figure
    """
    import matplotlib.pyplot as plt

    cm = evaluation.confusion_matrix.astype(float)
    if normalize == "true":
        cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    labels = evaluation.target_names or [str(label) for label in evaluation.labels]
    display = ConfusionMatrixDisplay(
        cm if normalize else cm.astype(int), display_labels=labels
    )
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5.5), layout="constrained")
    display.plot(ax=ax, colorbar=False, values_format=".2f" if normalize else "d")
    if max(len(label) for label in labels) > 3:  # class names: upright
        for tick in display.ax_.get_xticklabels():
            tick.set_rotation("vertical")
    if title is None:
        title = f"Confusion matrix, accuracy {evaluation.accuracy:.4f}"
        if normalize == "true":
            title += "\n(rows: fraction of each true class)"
        if estimator is not None:
            title = f"{estimator_name(estimator)}\n{title}"
    display.ax_.set_title(title)  # axes: scikit-learn's "True/Predicted label"
    return display.figure_


def plot_misclassified(
    X, y_true, y_pred, *, n=20, n_cols=10, title=None, estimator=None
):
    """Grid of misclassified images, each titled ``true -> predicted``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or (n_samples, h, w)
    y_true, y_pred : array-like of shape (n_samples,)
        True labels and the model's predictions.
    n : int, default=20
        Number of misclassified images shown (the first ones).
    n_cols : int, default=10
    title : str, default=None
        First line of the figure title, e.g. the model and the test set; the
        second line always says that panels read ``true -> predicted``.
        None: the model's name when ``estimator`` is given, else no first line.
    estimator : estimator, default=None
        The model that made ``y_pred``; named in the default title.

    Returns
    -------
    fig : matplotlib Figure
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    wrong = np.flatnonzero(y_true != y_pred)[:n]
    images = _images(X)
    fig, axes = _grid(max(len(wrong), 1), n_cols)
    for ax, i in zip(axes, wrong, strict=False):
        ax.imshow(images[i], cmap="gray_r")
        ax.set_title(f"{y_true[i]} -> {y_pred[i]}", fontsize=8)
    n_wrong = int((y_true != y_pred).sum())
    if title is None and estimator is not None:
        title = estimator_name(estimator)
    _suptitle(
        fig,
        title,
        f"Misclassified digits, true -> predicted label "
        f"({len(wrong)} shown of {n_wrong} errors in {len(y_true):,} images)",
    )
    return fig


def plot_augmentations(augmenter, image, *, n=15, n_cols=8, random_state=0, title=None):
    """One digit (first panel) and ``n`` random augmentations of it.

    Parameters
    ----------
    augmenter : RandomAffineAugmenter, ElasticDistortion or similar
    image : array-like of shape (h, w) or (h * w,)
    n : int, default=15
    n_cols : int, default=8
    random_state : int, default=0
    title : str, default=None
        First line of the figure title; None names the augmenter and its
        parameters (its ``repr``).

    Returns
    -------
    fig : matplotlib Figure
    """
    image = np.asarray(image)
    flat = image.reshape(1, -1)
    batch = np.repeat(flat, n, axis=0)
    augmented = augmenter.fit(batch).augment(batch, random_state=random_state)
    fig, axes = _grid(n + 1, n_cols)
    for k, (ax, img) in enumerate(zip(axes, [flat[0], *augmented], strict=False)):
        ax.imshow(_images(img[None])[0], cmap="gray_r")
        ax.set_title("original" if k == 0 else f"#{k}", fontsize=8)
    if title is None:
        title = repr(augmenter)
        if len(title) > 80:
            title = type(augmenter).__name__
    _suptitle(fig, title, f"one digit (first panel) and {n} random augmentations")
    return fig


def plot_adversarial_examples(estimator, X, X_adv, y_true, *, n=8, title=None):
    """Clean (top row) and adversarial (bottom row) digits with predictions.

    Panel titles are the estimator's predicted labels, in red where wrong.

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
    X, X_adv : array-like
        Clean images and their adversarial versions, in the same order.
    y_true : array-like
        True labels (to colour wrong predictions).
    n : int, default=8
        Number of digits shown.
    title : str, default=None
        First line of the figure title, e.g. the model and the attack
        (``"CNNClassifier, FGSM eps=0.2"``); None names the estimator. The second
        line always says that panel titles are predictions.

    Returns
    -------
    fig : matplotlib Figure
    """
    import matplotlib.pyplot as plt

    X, X_adv = np.asarray(X)[:n], np.asarray(X_adv)[:n]
    y_true = np.asarray(y_true)[:n]
    clean_pred, adv_pred = estimator.predict(X), estimator.predict(X_adv)
    fig, axes = plt.subplots(
        2, len(X), figsize=(1.4 * len(X), 4.0), squeeze=False, layout="constrained"
    )
    for row, (images, preds, name) in enumerate(
        [(X, clean_pred, "clean"), (X_adv, adv_pred, "adversarial")]
    ):
        for k, ax in enumerate(axes[row]):
            ax.imshow(_images(images[k : k + 1])[0], cmap="gray_r")
            ax.set_title(f"{name}: {preds[k]}", fontsize=8,
                         color="black" if preds[k] == y_true[k] else "red")  # fmt: skip
            ax.axis("off")
    _suptitle(
        fig,
        estimator_name(estimator) if title is None else title,
        "clean (top) vs adversarial (bottom) digits: predicted label, red = wrong",
    )
    return fig


def plot_training_curves(net, *, keys=("train_loss", "valid_loss"), title=None):
    """Loss per epoch from a fitted skorch net's ``history``.

    Parameters
    ----------
    net : fitted skorch net (e.g. :class:`~sklearn_mnist.CNNClassifier`)
    keys : sequence of str, default=("train_loss", "valid_loss")
        History columns to plot; missing ones are skipped.
    title : str, default=None
        Axes title; None gives ``"<class name>: loss per epoch"``.

    Returns
    -------
    fig : matplotlib Figure
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
    history = net.history
    for key in keys:
        values = [row.get(key) for row in history]
        if any(v is not None for v in values):
            ax.plot(range(1, len(values) + 1), values, marker="o", label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(f"{type(net).__name__}: loss per epoch" if title is None else title)
    ax.legend()
    ax.grid(True, alpha=0.3)
    return fig
