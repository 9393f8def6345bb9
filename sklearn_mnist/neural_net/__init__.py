"""skorch-based classifiers sharing one base class."""

from ._backbones import Backbone, load_backbone
from ._base import BaseImageClassifier
from ._batch import batch_norm_frozen
from ._callbacks import OneCycle, ThreadShare, one_cycle
from ._cnn import CNNClassifier
from ._mlp import MLPNetClassifier
from ._modules import CNNModule, MLPModule
from ._offline import pretrained_weights_off as pretrained_weights_off
from ._optim import AdamW
from ._outliers import OutlierExposure
from ._params import check_parameters as check_parameters
from ._transfer import TransferClassifier
from ._transfer_module import TransferModule

__all__ = [
    "AdamW",
    "Backbone",
    "BaseImageClassifier",
    "CNNClassifier",
    "CNNModule",
    "MLPModule",
    "MLPNetClassifier",
    "OneCycle",
    "OutlierExposure",
    "ThreadShare",
    "TransferClassifier",
    "TransferModule",
    "batch_norm_frozen",
    "load_backbone",
    "one_cycle",
]
