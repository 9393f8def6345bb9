"""skorch-based classifiers sharing one base class."""

from ._base import BaseImageClassifier
from ._callbacks import OneCycle
from ._cnn import CNNClassifier
from ._mlp import MLPNetClassifier
from ._modules import CNNModule, MLPModule

__all__ = [
    "BaseImageClassifier",
    "CNNClassifier",
    "CNNModule",
    "MLPModule",
    "MLPNetClassifier",
    "OneCycle",
]
