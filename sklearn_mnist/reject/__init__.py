"""A reject option for classifiers: answer, or say "I don't know".

:class:`RejectOptionClassifier` thresholds a trust score (maximum
probability, margin, energy, Mahalanobis or kNN distance in the network's
feature space) chosen for a target coverage or error rate, with
finite-sample guarantees; the metrics measure coverage against risk and how
well a score tells digits from other images.
"""

from ._classifier import RejectOptionClassifier
from ._export import RejectModule as RejectModule  # internal API (export_onnx)
from ._export import onnx_metadata as onnx_metadata
from ._export import onnx_model as onnx_model
from ._metrics import (
    coverage_risk_curve,
    ood_auroc,
    plot_coverage_risk,
    selective_accuracy,
)
from ._scores import penultimate_features

__all__ = [
    "RejectOptionClassifier",
    "coverage_risk_curve",
    "ood_auroc",
    "penultimate_features",
    "plot_coverage_risk",
    "selective_accuracy",
]
