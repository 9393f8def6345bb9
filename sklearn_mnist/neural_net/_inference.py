"""Prediction and export: what a fitted classifier answers, and its weights out.

Every entry point validates ``X`` against what ``fit`` saw (layout, feature
count, names, pixel scale), runs in its thread budget (re-checked per batch),
and goes through skorch's ``forward_iter`` / ``infer`` (pixels standardised
there), so the numbers are those the training loss saw.
"""

import numpy as np
import torch
from safetensors.torch import save_file
from sklearn.utils.validation import check_is_fitted

from ..utils import rebalance, state_tensors, thread_budget

__all__ = ["InferenceMixin"]


class InferenceMixin:
    """``predict_proba``, ``predict``, ``decision_function``, ``torch_logits``
    and ``save_safetensors`` of :class:`BaseImageClassifier`."""

    def predict_proba(self, X):
        """Class probabilities; columns follow ``classes_``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), float32
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        with thread_budget():
            return super().predict_proba(X)

    def predict(self, X):
        """Predicted labels, from ``classes_``."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def decision_function(self, X):
        """Logits (before softmax); columns follow ``classes_``.

        For two classes, scikit-learn's convention: one score per sample,
        positive for ``classes_[1]``.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        with thread_budget():
            logits = np.concatenate(
                [out.float().numpy() for out in self.forward_iter(X, training=False)]
            )
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def evaluation_step(self, batch, training=False):
        """skorch's step of ``forward_iter``, with the thread count for this
        batch (:func:`~sklearn_mnist.utils.rebalance`: fewer threads while
        other processes keep cores busy)."""
        rebalance()
        return super().evaluation_step(batch, training=training)

    def torch_logits(self, x):
        """Logits for a float tensor ``x`` in the units and layout ``predict`` takes.

        Differentiable with respect to ``x`` (the network is in eval mode), so
        attacks such as :class:`~sklearn_mnist.adversarial.FGSMPerturber` get
        gradients with respect to the raw pixels.
        """
        x = self.torch_images(x).to(self.device_)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        self.module_.eval()
        return self.infer(x)

    def save_safetensors(self, path):
        """Export the network's weights (``module_.state_dict()``) to safetensors.

        Read them back with ``safetensors.torch.load_file`` and
        ``module_.load_state_dict`` on a net initialised with the same
        parameters, or in any other tool that reads safetensors.
        """
        check_is_fitted(self)
        save_file(state_tensors(self.module_), path)
