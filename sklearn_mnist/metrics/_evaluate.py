"""``evaluate``: accuracy, scikit-learn's classification report, confusion matrix
and the most-confused pairs in one object."""

import numpy as np
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix

__all__ = ["Evaluation", "evaluate"]


class Evaluation:
    """The result of :func:`evaluate`.

    Attributes
    ----------
    accuracy : float
    report : dict
        ``classification_report(..., output_dict=True)``.
    report_text : str
        The same report as scikit-learn prints it.
    confusion_matrix : ndarray of shape (n_classes, n_classes)
        Rows are true labels, columns predictions, in the order of ``labels``.
    labels : ndarray
    y_true, y_pred : ndarray
    """

    def __init__(self, y_true, y_pred, labels, target_names=None):
        self.y_true = np.asarray(y_true)
        self.y_pred = np.asarray(y_pred)
        self.labels = np.asarray(labels)
        names = None if target_names is None else [str(n) for n in target_names]
        self.target_names = names
        self.accuracy = float(accuracy_score(self.y_true, self.y_pred))
        self.confusion_matrix = confusion_matrix(
            self.y_true, self.y_pred, labels=labels
        )
        kw = dict(labels=labels, target_names=names, zero_division=0)
        self.report = classification_report(
            self.y_true, self.y_pred, output_dict=True, **kw
        )
        self.report_text = classification_report(
            self.y_true, self.y_pred, digits=4, **kw
        )

    def most_confused(self, n=5):
        """The ``n`` largest off-diagonal counts as ``(true, predicted, count)``."""
        cm = self.confusion_matrix.copy()
        np.fill_diagonal(cm, 0)
        order = np.argsort(cm, axis=None, kind="stable")[::-1][:n]
        pairs = []
        for flat in order:
            i, j = np.unravel_index(flat, cm.shape)
            if cm[i, j] == 0:
                break
            pairs.append((self.labels[i], self.labels[j], int(cm[i, j])))
        return pairs

    def to_dict(self):
        """Plain-Python summary, ready for ``json.dump``."""
        return {
            "accuracy": self.accuracy,
            "n_samples": int(len(self.y_true)),
            "labels": [_plain(label) for label in self.labels],
            "classification_report": self.report,
            "confusion_matrix": self.confusion_matrix.tolist(),
            "most_confused": [
                {"true": _plain(t), "predicted": _plain(p), "count": c}
                for t, p, c in self.most_confused()
            ],
        }

    def to_frame(self):
        """The per-class report as a pandas DataFrame (one row per class/average)."""
        import pandas as pd

        rows = {k: v for k, v in self.report.items() if isinstance(v, dict)}
        return pd.DataFrame(rows).T

    def __str__(self):
        lines = [f"accuracy: {self.accuracy:.4f} on {len(self.y_true)} samples", ""]
        lines.append(self.report_text.rstrip())
        confused = self.most_confused()
        if confused:
            lines += ["", "most confused:"]
            lines += [f"  {t} predicted as {p}: {c} times" for t, p, c in confused]
        return "\n".join(lines)

    def __repr__(self):
        return (
            f"Evaluation(accuracy={self.accuracy:.4f}, n_samples={len(self.y_true)}, "
            f"n_classes={len(self.labels)})"
        )


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def evaluate(estimator, X, y, *, target_names=None):
    """Evaluate a fitted classifier on ``(X, y)``.

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
    X, y : test data and true labels
    target_names : list of str, default=None
        Display names for the classes (e.g. ``bunch.target_names``).

    Returns
    -------
    Evaluation

    Examples
    --------
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from sklearn_mnist import load_mnist_sample
    >>> from sklearn_mnist.metrics import evaluate
    >>> X, y = load_mnist_sample(return_X_y=True)
    >>> model = KNeighborsClassifier(n_neighbors=3).fit(X[::4], y[::4])
    >>> result = evaluate(model, X[1::4], y[1::4])
    >>> result.accuracy > 0.85, len(result.most_confused(3))
    (True, 3)
    """
    y = np.asarray(y)
    y_pred = estimator.predict(X)
    labels = getattr(estimator, "classes_", None)
    if labels is None:
        labels = np.unique(np.concatenate([y, y_pred]))
    return Evaluation(y, y_pred, labels, target_names=target_names)
