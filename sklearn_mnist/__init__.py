"""sklearn-mnist: scikit-learn estimators for MNIST-style images, PyTorch underneath."""

from . import _startup  # first: Ctrl-C while the command imports  # noqa: F401
from ._version import __version__
from .adversarial import FGSMPerturber
from .datasets import (
    fetch_mnist,
    load_idx,
    load_image_folder,
    load_mnist_sample,
    make_photo_digits,
    save_idx,
)
from .export import export_onnx
from .metrics import evaluate
from .neural_net import CNNClassifier, MLPNetClassifier, TransferClassifier
from .persistence import load, save
from .preprocessing import (
    Corruption,
    DigitNormalizer,
    ElasticDistortion,
    Flatten,
    ImageFileReader,
    Normalizer255,
    RandomAffineAugmenter,
)
from .reject import (
    RejectOptionClassifier,
    coverage_risk_curve,
    ood_auroc,
    selective_accuracy,
)

__all__ = [
    "CNNClassifier",
    "Corruption",
    "DigitNormalizer",
    "ElasticDistortion",
    "MLPNetClassifier",
    "FGSMPerturber",
    "Flatten",
    "ImageFileReader",
    "Normalizer255",
    "RandomAffineAugmenter",
    "RejectOptionClassifier",
    "TransferClassifier",
    "__version__",
    "coverage_risk_curve",
    "evaluate",
    "export_onnx",
    "fetch_mnist",
    "load",
    "load_idx",
    "load_image_folder",
    "load_mnist_sample",
    "make_photo_digits",
    "ood_auroc",
    "save",
    "save_idx",
    "selective_accuracy",
]
