"""skorch-based classifiers sharing one base class."""

from ._backbones import Backbone, load_backbone
from ._base import BaseImageClassifier
from ._callbacks import OneCycle
from ._cnn import CNNClassifier
from ._mlp import MLPNetClassifier
from ._modules import CNNModule, MLPModule
from ._transfer import TransferClassifier, TransferModule

__all__ = [
    "Backbone",
    "BaseImageClassifier",
    "CNNClassifier",
    "CNNModule",
    "MLPModule",
    "MLPNetClassifier",
    "OneCycle",
    "TransferClassifier",
    "TransferModule",
    "load_backbone",
]
