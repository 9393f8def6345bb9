"""Evaluation and plots."""

from ._evaluate import Evaluation, evaluate
from ._plots import (
    plot_adversarial_examples,
    plot_augmentations,
    plot_confusion_matrix,
    plot_misclassified,
    plot_training_curves,
)
from ._report import write_report

__all__ = [
    "Evaluation",
    "evaluate",
    "plot_adversarial_examples",
    "plot_augmentations",
    "plot_confusion_matrix",
    "plot_misclassified",
    "plot_training_curves",
    "write_report",
]
