"""Every value a model file gives is checked as ``fit`` would check it.

skops builds the scikit-learn part of a model from the file's data, and
the classifiers are rebuilt from their parameters and fitted attributes.
``fit`` validates what a user passes; a file is another way to pass values,
so before a model is returned:

- every estimator in it passes its ``_parameter_constraints`` (the package's
  own also have finite numbers and loop counts such as ``FGSMPerturber``'s
  ``n_iter`` within :data:`MAX_LOOPS`: prediction must end);
- each classifier's parameters pass the checks of ``fit``, its ``device``
  parameter and the device it was fitted on are devices a machine can have
  (``cpu``, ``cuda``, ``mps``; not ``meta`` or ``xpu``), its fitted
  attributes have the types and ranges ``fit`` gives them (``input_std_``
  finite and > 0, ``n_features_in_`` an int matching ``image_shape_``...),
  and bookkeeping that loading rebuilds (``device_``, ``module_``...) is
  refused;
- its network is built on torch's ``meta`` device first (shapes, no memory,
  no pretrained weights read): its parameter count is compared with
  ``max_params``, its images (and those it resizes them to) with
  :data:`~._budget.MAX_IMAGE_VALUES`, and its state dict with the names,
  shapes and dtypes the weights file declares, so a network that does not
  fit the weights is refused before it is allocated.

Errors are ``ValueError`` naming the classifier and the value.
"""

import json
import math
import numbers
import struct

import numpy as np
import torch
from sklearn.base import BaseEstimator
from torch import nn

from ..neural_net import (
    BaseImageClassifier,
    check_parameters,
    pretrained_weights_off,
)
from ._budget import MAX_IMAGE_VALUES
from ._nets import SKORCH_MANAGED

__all__ = [
    "MAX_LOOPS",
    "check_device_name",
    "check_estimators",
    "check_net_state",
    "check_trusted",
]

#: Loop counts of the package's estimators read from a file (``n_iter``
#: steps of an attack per prediction, ``n_copies`` of the data).
MAX_LOOPS = {"n_iter": 1000, "n_copies": 1000}
#: ``module__*`` sequences (layer widths) and depths: layers to build.
MAX_LAYERS = 1000
#: Device types a machine can have.
DEVICE_TYPES = ("cpu", "cuda", "mps")
#: Set by skorch's ``initialize`` or by loading, never read from a file.
_REBUILT = SKORCH_MANAGED | {"module_", "criterion_", "optimizer_"}
#: What ``predict`` reads; every fit sets them.
_REQUIRED = (
    "label_encoder_",
    "n_features_in_",
    "image_shape_",
    "input_layout_",
    "input_mean_",
    "input_std_",
    "data_range_",
)
_MAX_HEADER = 64 * 2**20
_DTYPES = {
    torch.float32: "F32",
    torch.float64: "F64",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}


def check_trusted(trusted):
    """``load``'s ``trusted``: None, a name or type, or a list of them."""
    if trusted is None or isinstance(trusted, str | type):
        return
    if isinstance(trusted, list | tuple | set | frozenset) and all(
        isinstance(t, str | type) for t in trusted
    ):
        return
    raise TypeError(
        "load: trusted must be None, a type name such as 'mypackage.MyScaler', a "
        f"type, or a list of them; got {trusted!r}"
    )


def check_device_name(device, what):
    """Refuse a device string no machine has (``meta``, ``xpu``...).

    ``None`` and ``"auto"`` pass; ``cuda`` passes on a machine without CUDA
    (loading falls back to the CPU).
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        return
    if not isinstance(device, str | torch.device):
        raise ValueError(f"{what} must be a device name, got {device!r}")
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"{what}={device!r} is not a torch device") from None
    if parsed.type not in DEVICE_TYPES:
        raise ValueError(
            f"{what}={device!r}: a model runs on {', '.join(DEVICE_TYPES)} only "
            f"('{parsed.type}' holds no data or is not supported)"
        )


# ------------------------------------------------------------- estimators
def _walk(obj, seen):
    """Every BaseEstimator in ``obj`` (containers and attributes), each once."""
    from ._nets import NetState

    stack = [obj]
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, str | bytes | numbers.Number | type):
            continue
        seen.add(id(item))
        if isinstance(item, np.ndarray):
            if item.dtype == object:
                stack.extend(item.ravel().tolist())
            continue
        if isinstance(item, BaseEstimator):
            yield item
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        elif isinstance(item, NetState):
            stack.extend([getattr(item, "params", None), getattr(item, "fitted", None)])
        elif hasattr(item, "__dict__") and not isinstance(item, nn.Module):
            stack.extend(vars(item).values())


def _is_ours(obj):
    return type(obj).__module__.startswith("sklearn_mnist.")


def _check_numbers(name, params):
    for key, value in params.items():
        if isinstance(value, bool | np.bool_):
            continue
        if key == "error_score" and isinstance(value, float) and math.isnan(value):
            continue  # a search's default: NaN marks a failed fit's score
        if isinstance(value, numbers.Real) and not math.isfinite(value):
            raise ValueError(f"{name}'s {key}={value!r} is not a finite number")
        if key in MAX_LOOPS and isinstance(value, numbers.Integral):
            if value > MAX_LOOPS[key]:
                raise ValueError(
                    f"{name}'s {key}={value} is more than a model file may ask "
                    f"for ({key} <= {MAX_LOOPS[key]}): its predictions would "
                    "not end in reasonable time"
                )


def check_estimators(model):
    """Validate the parameters of every estimator skops built."""
    for est in _walk(model, set()):
        name = type(est).__name__
        if isinstance(est, BaseImageClassifier):
            continue  # classes only in a file; NetStates are checked apart
        try:
            params = est.get_params(deep=False)
        except Exception as exc:  # a half-built object from a tampered file
            raise ValueError(
                f"the model file's {name} has unreadable parameters: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        if hasattr(est, "_validate_params") and hasattr(est, "_parameter_constraints"):
            try:
                est._validate_params()
            except (ValueError, TypeError) as exc:
                raise ValueError(f"the model file's {name}: {exc}") from None
        if _is_ours(est):
            _check_numbers(name, params)


# ------------------------------------------------------------ classifiers
def _int(value, low):
    return (
        isinstance(value, numbers.Integral)
        and not isinstance(value, bool | np.bool_)
        and value >= low
    )


def _finite(value):
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool | np.bool_)
        and math.isfinite(value)
    )


def _pair(value, strict):
    if not (isinstance(value, tuple | list) and len(value) == 2):
        return False
    low, high = value
    return _finite(low) and _finite(high) and (low < high if strict else low <= high)


def _check_fitted(name, fitted):
    bad = sorted(set(fitted) & _REBUILT)
    if bad:
        raise ValueError(
            f"{name}'s fitted state sets {', '.join(bad)}, which loading rebuilds; "
            "the file was not written by sklearn_mnist.save"
        )
    missing = [key for key in _REQUIRED if key not in fitted]
    if missing:
        raise ValueError(f"{name}'s fitted state lacks {', '.join(missing)}")

    def refuse(key, want):
        raise ValueError(
            f"{name}'s fitted {key} must be {want}, got {fitted[key]!r}; the file "
            "is damaged or was not written by sklearn_mnist.save"
        )

    n = fitted["n_features_in_"]
    if not _int(n, 1):
        refuse("n_features_in_", "an int >= 1")
    shape = fitted["image_shape_"]
    if not (
        isinstance(shape, tuple | list)
        and len(shape) == 3
        and all(_int(s, 1) for s in shape)
        and math.prod(shape) == n
    ):
        refuse("image_shape_", f"(channels, height, width) of {n} values")
    if "input_shape_" in fitted:
        given = fitted["input_shape_"]
        if not (
            isinstance(given, tuple | list)
            and all(_int(s, 1) for s in given)
            and math.prod(given) == n
        ):
            refuse("input_shape_", f"a shape of {n} values")
    if fitted["input_layout_"] not in ("channels_first", "channels_last"):
        refuse("input_layout_", "'channels_first' or 'channels_last'")
    if not _finite(fitted["input_mean_"]):
        refuse("input_mean_", "a finite number")
    std = fitted["input_std_"]
    if not (_finite(std) and std > 0):
        refuse("input_std_", "a finite number > 0")
    for key, strict in [("data_range_", False), ("input_range_", True),
                        ("pixel_range_", True)]:  # fmt: skip
        if key in fitted and not _pair(fitted[key], strict):
            refuse(key, "a pair of finite numbers, low < high" if strict else
                   "a pair of finite numbers, low <= high")  # fmt: skip
    for key, low in [("batch_size_", 1), ("max_epochs_", 1),
                     ("steps_per_epoch_", 1), ("n_iter_", 0)]:  # fmt: skip
        if key in fitted and not _int(fitted[key], low):
            refuse(key, f"an int >= {low}")
    classes = getattr(fitted["label_encoder_"], "classes_", None)
    if not (isinstance(classes, np.ndarray) and classes.ndim == 1 and len(classes) > 1):
        refuse("label_encoder_", "a fitted LabelEncoder of at least 2 classes")
    if classes.dtype.kind == "f" and not np.isfinite(classes).all():
        refuse("label_encoder_", "classes that are finite")
    if len(np.unique(classes)) != len(classes):
        refuse("label_encoder_", "distinct classes")
    names = fitted.get("feature_names_in_")
    if names is not None and not (
        isinstance(names, np.ndarray) and names.shape == (n,)
    ):
        refuse("feature_names_in_", f"an array of {n} names")
    augment = fitted.get("augment_")
    if augment is not None and not (
        hasattr(augment, "transform_batch") or hasattr(augment, "augment_tensor")
    ):
        refuse("augment_", "None or an augmenter")


def _history(name, history):
    """The training history as a list of dicts (a JSON string or a list)."""
    if isinstance(history, str):
        try:
            history = json.loads(history)
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"{name}'s training history is not JSON: {exc}") from None
    if not isinstance(history, list) or not all(isinstance(e, dict) for e in history):
        raise ValueError(f"{name}'s training history is not a list of epochs")
    return history


def _check_module_arguments(name, net):
    for key, value in vars(net).items():
        if not key.startswith("module__"):
            continue
        if isinstance(value, list | tuple) and len(value) > MAX_LAYERS:
            raise ValueError(
                f"{name}'s {key} has {len(value)} entries, more than a model file "
                f"may ask for ({MAX_LAYERS})"
            )
        if key == "module__depth" and _int(value, MAX_LAYERS + 1):
            raise ValueError(
                f"{name}'s {key}={value} is more than a model file may ask for "
                f"({MAX_LAYERS})"
            )


def _header(data, n_tensors=None):
    """The safetensors header: ``{name: {"dtype", "shape", ...}}``; with
    ``n_tensors``, refused unparsed when it is longer than that many entries
    can be (a header of a million bogus entries cost 1.5 GB to parse)."""
    if not isinstance(data, bytes) or len(data) < 8:
        raise ValueError("the weights are not a valid safetensors file")
    (size,) = struct.unpack("<Q", data[:8])
    limit = _MAX_HEADER
    if n_tensors is not None:  # about 100 bytes an entry; 64 KiB of slack
        limit = min(limit, 65536 + 1024 * n_tensors)
    if size > limit:
        raise ValueError(
            "the weights' safetensors header is longer than the network's "
            f"tensors can need ({size:,} bytes for {n_tensors} tensors)"
        )
    if size > min(len(data) - 8, _MAX_HEADER):
        raise ValueError("the weights are not a valid safetensors file (header size)")
    try:
        header = json.loads(data[8 : 8 + size])
    except (ValueError, RecursionError) as exc:
        raise ValueError(
            f"the weights are not a valid safetensors file: {exc}"
        ) from None
    if not isinstance(header, dict):
        raise ValueError("the weights are not a valid safetensors file")
    header.pop("__metadata__", None)
    return header


def _meta_module(name, net, kwargs):
    """The network ``net``'s parameters declare, on the meta device."""
    cls = net.module
    if not isinstance(cls, type):
        raise ValueError(f"{name}'s module must be a class, got {cls!r}")
    try:
        with pretrained_weights_off(), torch.device("meta"):
            return cls(**kwargs)
    except ValueError as exc:
        raise ValueError(
            f"{name} cannot build its network from the file's parameters: {exc}"
        ) from None
    except Exception as exc:  # torch and the module fail in many ways
        raise ValueError(
            f"{name} cannot build its network from the file's parameters: "
            f"{type(exc).__name__}: {exc}"
        ) from None


def _check_image_sizes(name, net, kwargs):
    """Activations grow with the image: at most :data:`MAX_IMAGE_VALUES` values
    in one sample, and in the images a module resizes it to (``input_size``).
    (Counted, not run: a forward pass on the meta device first imports torch's
    compiler, a second or more.)"""
    sizes = [("image_shape_", math.prod(net.image_shape_))]
    size = kwargs.get("input_size")
    if size is not None:
        sides = (size, size) if isinstance(size, numbers.Integral) else size
        if isinstance(sides, tuple | list) and all(_int(s, 1) for s in sides):
            sizes.append(("module input_size", 3 * math.prod(sides)))
    for what, values in sizes:
        if values > MAX_IMAGE_VALUES:
            raise ValueError(
                f"{name}'s {what} makes images of {values:,} values, more than a "
                f"model file may ask for ({MAX_IMAGE_VALUES:,})"
            )


def _check_network(name, net, weights, limits):
    try:
        kwargs = net._module_kwargs()
    except Exception as exc:
        raise ValueError(
            f"{name} cannot build its network from the file's parameters: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    _check_image_sizes(name, net, kwargs)
    module = _meta_module(name, net, kwargs)
    tensors = {**dict(module.named_parameters()), **dict(module.named_buffers())}
    count = sum(t.numel() for t in tensors.values())
    if count > limits.params:
        raise ValueError(
            f"{name}'s network would have {count:,} parameters and buffers, more "
            f"than the limit max_params={limits.params:,}; if you trust the file, "
            f"pass load(path, max_params={count})"
        )
    expected = {f"module.{k}": v for k, v in module.state_dict().items()}
    header = _header(weights, n_tensors=len(expected))
    declared = {k: v for k, v in header.items() if k.startswith("module.")}
    missing, unexpected = expected.keys() - declared, declared.keys() - expected
    if missing or unexpected:
        raise ValueError(
            f"the weights do not match {name}'s network: missing "
            f"{sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}"
        )
    for key, want in expected.items():
        got = declared[key]
        if not isinstance(got, dict):
            raise ValueError("the weights are not a valid safetensors file")
        dtype = _DTYPES.get(want.dtype, str(want.dtype))
        shape = got.get("shape", ())
        if (
            not isinstance(shape, list)
            or shape != list(want.shape)
            or (got.get("dtype") != dtype)
        ):
            names = {v: str(k) for k, v in _DTYPES.items()}
            given = names.get(got.get("dtype"), repr(got.get("dtype")))
            shape = tuple(shape) if isinstance(shape, list) else shape
            raise ValueError(
                f"the weights do not match {name}'s network: {key} is "
                f"{given} {shape} in the file, the network has {want.dtype} "
                f"{tuple(want.shape)}"
            )


def check_net_state(state, weights, resolve, limits):
    """Check a classifier entry before it is built for real.

    ``state`` is the file's :class:`NetState`, ``weights`` its safetensors
    bytes (None if missing), ``resolve`` maps its values to objects. A
    malformed entry (no class, no dict of parameters) is left to the builder,
    which refuses it.
    """
    cls = getattr(state, "estimator_class", None)
    params = getattr(state, "params", None)
    if not (isinstance(cls, type) and issubclass(cls, BaseImageClassifier)):
        return
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        return
    name = cls.__name__
    params = resolve(params)
    check_device_name(params.get("device"), f"{name}'s device")
    try:
        net = cls(**params)
    except Exception as exc:
        raise ValueError(
            f"cannot build {name} from the file's parameters: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    try:
        check_parameters(net)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"the model file's {name}: {exc}") from None
    _check_numbers(
        name, {k: v for k, v in params.items() if not isinstance(v, np.ndarray)}
    )
    _check_module_arguments(name, net)
    fitted = getattr(state, "fitted", None)
    if fitted is None:
        return
    if not isinstance(fitted, dict):
        return  # the builder says what is wrong
    saved = getattr(state, "device", None)
    if saved is not None:
        check_device_name(saved, f"the device {name} was fitted on")
    state.history = _history(name, getattr(state, "history", None))
    fitted = resolve(fitted)
    _check_fitted(name, fitted)
    if weights is None:
        return  # the builder refuses it
    vars(net).update(fitted)
    _check_network(name, net, weights, limits)
