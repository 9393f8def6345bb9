"""The reject option in an ONNX graph (:func:`sklearn_mnist.export_onnx`)."""

import json

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

__all__ = ["ONNX_SCORES", "RejectModule", "onnx_metadata", "onnx_model"]

#: Scores the graph computes from the probabilities it outputs.
ONNX_SCORES = ("max_proba", "margin")


def onnx_model(reject):
    """The fitted model inside ``reject`` that the graph runs.

    Raises
    ------
    ValueError
        If ``reject`` is not fitted, or its score is not one the graph
        computes.
    """
    check_is_fitted(reject)
    if reject.trust_score not in ONNX_SCORES:
        name = getattr(reject.trust_score, "__name__", reject.trust_score)
        raise ValueError(
            f"export_onnx exports a RejectOptionClassifier whose trust_score is "
            f"{' or '.join(map(repr, ONNX_SCORES))} (computed in the graph from "
            f"the probabilities); this one uses {name!r}. Export its estimator_ "
            "and compute the score beside the ONNX model, or refit with "
            "trust_score='max_proba'"
        )
    try:
        json.dumps(reject.reject_label)
    except (TypeError, ValueError):
        raise ValueError(
            f"reject_label={reject.reject_label!r} cannot be stored as JSON in the "
            "ONNX file's metadata; use an int, float, str or None"
        ) from None
    return reject.estimator_


def float32_threshold(threshold):
    """The smallest float32 ``t`` with ``t >= threshold``: for float32 scores
    ``s``, ``s >= t`` exactly when ``s >= threshold``."""
    t = np.float32(threshold)
    if np.isfinite(threshold) and float(t) < threshold:
        t = np.nextafter(t, np.float32(np.inf))
    return t


def onnx_metadata(reject):
    """``metadata_props`` the reject option adds (strings)."""
    return {
        "reject_score": reject.trust_score,
        # repr: "inf" / "-inf" too, which JSON cannot hold
        "reject_threshold": repr(float(float32_threshold(reject.threshold_))),
        "reject_label": json.dumps(reject.reject_label),
    }


class RejectModule(nn.Module):
    """``(probabilities, label, accepted)``: a ``PredictProbaModule``'s
    outputs and whether the trust score reaches the threshold."""

    def __init__(self, inner, reject):
        super().__init__()
        self.inner = inner
        self.score = reject.trust_score
        threshold = float32_threshold(reject.threshold_)
        self.register_buffer("threshold", torch.tensor(threshold))
        self.eval()

    def train(self, mode=True):
        # Always a prediction, as PredictProbaModule.
        return super().train(False)

    def forward(self, x):
        proba, label = self.inner(x)
        if self.score == "max_proba":
            score = proba.max(dim=1).values
        elif proba.shape[1] < 2:
            score = torch.ones_like(proba[:, 0])
        else:
            top2 = proba.topk(2, dim=1).values
            score = top2[:, 0] - top2[:, 1]
        return proba, label, score >= self.threshold
