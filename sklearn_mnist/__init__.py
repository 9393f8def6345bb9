"""sklearn-mnist: scikit-learn estimators for MNIST-style images, PyTorch underneath."""

from .adversarial import FGSMPerturber
from .datasets import fetch_mnist, load_idx, load_mnist_sample, save_idx
from .export import export_onnx
from .metrics import evaluate
from .neural_net import CNNClassifier, MLPNetClassifier, TransferClassifier
from .persistence import load, save
from .preprocessing import (
    ElasticDistortion,
    Flatten,
    Normalizer255,
    RandomAffineAugmenter,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "CNNClassifier",
    "ElasticDistortion",
    "MLPNetClassifier",
    "FGSMPerturber",
    "Flatten",
    "Normalizer255",
    "RandomAffineAugmenter",
    "TransferClassifier",
    "__version__",
    "evaluate",
    "export_onnx",
    "fetch_mnist",
    "load",
    "load_idx",
    "load_mnist_sample",
    "save",
    "save_idx",
]
