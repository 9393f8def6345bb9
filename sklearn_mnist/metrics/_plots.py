"""Plot helpers; each returns the matplotlib figure it drew."""

import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay

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
        n_rows, n_cols, figsize=(1.4 * n_cols, 1.6 * n_rows), squeeze=False
    )
    for ax in axes.ravel():
        ax.axis("off")
    return fig, axes.ravel()


def plot_confusion_matrix(evaluation, *, ax=None, normalize=None):
    """scikit-learn's ``ConfusionMatrixDisplay`` of an :class:`Evaluation`."""
    cm = evaluation.confusion_matrix.astype(float)
    if normalize == "true":
        cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    labels = evaluation.target_names or [str(label) for label in evaluation.labels]
    display = ConfusionMatrixDisplay(
        cm if normalize else cm.astype(int), display_labels=labels
    )
    display.plot(ax=ax, colorbar=False, values_format=".2f" if normalize else "d")
    display.ax_.set_title(f"accuracy {evaluation.accuracy:.4f}")
    return display.figure_


def plot_misclassified(X, y_true, y_pred, *, n=20, n_cols=10):
    """Grid of misclassified images titled ``true -> predicted``."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    wrong = np.flatnonzero(y_true != y_pred)[:n]
    images = _images(X)
    fig, axes = _grid(max(len(wrong), 1), n_cols)
    for ax, i in zip(axes, wrong, strict=False):
        ax.imshow(images[i], cmap="gray_r")
        ax.set_title(f"{y_true[i]} -> {y_pred[i]}", fontsize=8)
    fig.suptitle(f"{len(wrong)} misclassified (of {int((y_true != y_pred).sum())})")
    return fig


def plot_augmentations(augmenter, image, *, n=15, n_cols=8, random_state=0):
    """One digit (first panel) and ``n`` random augmentations of it."""
    image = np.asarray(image)
    flat = image.reshape(1, -1)
    batch = np.repeat(flat, n, axis=0)
    augmented = augmenter.fit(batch).augment(batch, random_state=random_state)
    fig, axes = _grid(n + 1, n_cols)
    for k, (ax, img) in enumerate(zip(axes, [flat[0], *augmented], strict=False)):
        ax.imshow(_images(img[None])[0], cmap="gray_r")
        ax.set_title("original" if k == 0 else f"#{k}", fontsize=8)
    return fig


def plot_adversarial_examples(estimator, X, X_adv, y_true, *, n=8):
    """Clean (top row) and adversarial (bottom row) digits with predictions."""
    import matplotlib.pyplot as plt

    X, X_adv = np.asarray(X)[:n], np.asarray(X_adv)[:n]
    clean_pred, adv_pred = estimator.predict(X), estimator.predict(X_adv)
    fig, axes = plt.subplots(2, len(X), figsize=(1.4 * len(X), 3.4), squeeze=False)
    for row, (images, preds, name) in enumerate(
        [(X, clean_pred, "clean"), (X_adv, adv_pred, "adversarial")]
    ):
        for k, ax in enumerate(axes[row]):
            ax.imshow(_images(images[k : k + 1])[0], cmap="gray_r")
            ax.set_title(f"{name}: {preds[k]}", fontsize=8,
                         color="black" if preds[k] == y_true[k] else "red")  # fmt: skip
            ax.axis("off")
    return fig


def plot_training_curves(net, *, keys=("train_loss", "valid_loss")):
    """Loss per epoch from a fitted skorch net's ``history``."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    history = net.history
    for key in keys:
        values = [row.get(key) for row in history]
        if any(v is not None for v in values):
            ax.plot(range(1, len(values) + 1), values, marker="o", label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(True, alpha=0.3)
    return fig
