"""Adversarial examples, robustness curves and adversarial training."""

from ..utils import infer_clip_range
from ._attack import attack_tensor
from ._curves import plot_robustness_curve, robust_accuracy_scorer, robustness_curve
from ._fgsm import FGSMPerturber, differentiable_model
from ._range import attack_range

__all__ = [
    "FGSMPerturber",
    "attack_range",
    "attack_tensor",
    "differentiable_model",
    "infer_clip_range",
    "plot_robustness_curve",
    "robust_accuracy_scorer",
    "robustness_curve",
]
