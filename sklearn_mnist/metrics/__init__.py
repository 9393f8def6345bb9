"""Evaluation and plots."""

from ..reject import (
    coverage_risk_curve,
    ood_auroc,
    plot_coverage_risk,
    selective_accuracy,
)
from ._corruption import corruption_robustness, plot_corruption_robustness
from ._evaluate import Evaluation, evaluate
from ._plots import (
    plot_adversarial_examples,
    plot_augmentations,
    plot_confusion_matrix,
    plot_misclassified,
    plot_training_curves,
)
from ._report import describe_estimator as describe_estimator  # internal API
from ._report import write_report

__all__ = [
    "Evaluation",
    "corruption_robustness",
    "coverage_risk_curve",
    "evaluate",
    "ood_auroc",
    "plot_adversarial_examples",
    "plot_augmentations",
    "plot_confusion_matrix",
    "plot_corruption_robustness",
    "plot_coverage_risk",
    "plot_misclassified",
    "plot_training_curves",
    "selective_accuracy",
    "write_report",
]
