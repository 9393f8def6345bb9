"""The package's classifiers in a model file: parameters, fitted state, weights.

A fitted classifier is split in two:

- a :class:`NetState` that skops stores with the rest of the model: the class,
  ``get_params(deep=False)``, every fitted attribute (public, ending in ``_``)
  that is not a torch object or skorch's own bookkeeping, and the training
  history as plain lists and numbers;
- the state dicts of its torch modules (``module_``, ``criterion_``, any other
  module skorch registered), one safetensors file per classifier.

Loading builds the classifier from its parameters, restores the fitted state,
lets skorch build the modules (``initialize``) on the target device and loads
the weights into them after checking every name, shape and dtype. Optimizer
state is not stored: ``partial_fit`` / ``warm_start`` after loading continue
with a fresh optimizer.
"""

import json
import logging

from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from skorch.history import History

from ..neural_net import BaseImageClassifier
from ..utils import resolve_device, state_tensors

logger = logging.getLogger(__name__)

__all__ = ["NetState", "net_state", "net_weights", "build_net"]

# Set by skorch's initialize() (or per fit) and rebuilt when loading.
SKORCH_MANAGED = {
    "callbacks_",
    "initialized_",
    "virtual_params_",
    "prefixes_",
    "cuda_dependent_attributes_",
    "init_context_",
    "history_",
    "device_",
}


class NetState:
    """A classifier inside a model file, without its torch objects.

    Attributes
    ----------
    index : int
        Its weights are ``nets/<index>.safetensors``.
    estimator_class : type
    params : dict
        ``get_params(deep=False)``.
    fitted : dict or None
        Fitted attributes; None for an unfitted classifier.
    history : list or None
    device : str or None
        The device it was fitted on (``device_``).
    """

    def __repr__(self):
        name = getattr(self.estimator_class, "__name__", "?")
        return f"NetState({self.index}, {name})"


def _is_fitted(net):
    return net.__sklearn_is_fitted__() and hasattr(net, "module_")


def fitted_attributes(net):
    """The fitted attributes the model file stores (torch objects excluded)."""
    skip = SKORCH_MANAGED | net.component_attributes()
    return {
        key: value
        for key, value in vars(net).items()
        if key.endswith("_") and not key.startswith("_") and key not in skip
    }


def _plain(value):
    """JSON types for the history (NumPy scalars as numbers, anything else as text)."""

    def default(obj):
        if hasattr(obj, "tolist"):
            return obj.tolist()
        return repr(obj)

    return json.loads(json.dumps(value, default=default))


def net_state(net, index):
    """``NetState`` of ``net`` (its params and fitted values are the net's own
    objects: the caller copies them)."""
    stale = net.stale_components()
    if stale:
        changed = sorted(
            k for k in net.get_params(deep=False) if k.split("__")[0] in stale
        )
        raise ValueError(
            f"{type(net).__name__}'s {' / '.join(sorted(stale))} cannot be built "
            f"from the parameters set_params gave it after fit ({', '.join(changed)})"
            ": the file would not match the fitted weights; fix them and fit again"
        )
    state = NetState()
    state.index = index
    state.estimator_class = type(net)
    state.params = net.get_params(deep=False)
    state.fitted = state.history = state.device = None
    if _is_fitted(net):
        state.fitted = fitted_attributes(net)
        # one JSON string, not a skops node per value: a long history costs
        # one node to load (load accepts the list of older files too)
        state.history = json.dumps(_plain(list(net.history_)))
        state.device = str(net.device_)
    return state


def net_weights(net):
    """The safetensors bytes of every module's state dict, keys ``<name>.<key>``."""
    tensors = {}
    for prefix, module in net.torch_components().items():
        tensors.update(state_tensors(module, prefix=f"{prefix}."))
    return save_tensors(tensors)


def _target_device(saved, requested):
    if requested is not None:
        return resolve_device(requested)
    try:
        return resolve_device(saved or "cpu")
    except ValueError:
        logger.info("the model was fitted on %s, not available here: using cpu", saved)
        return "cpu"


def _check_state(state, n_nets):
    cls = getattr(state, "estimator_class", None)
    if not (isinstance(cls, type) and issubclass(cls, BaseImageClassifier)):
        raise ValueError(f"a classifier entry names {cls!r}, not a classifier class")
    index = getattr(state, "index", None)
    if not isinstance(index, int) or not 0 <= index < n_nets:
        raise ValueError(f"a classifier entry has an invalid index {index!r}")
    params, fitted = getattr(state, "params", None), getattr(state, "fitted", None)
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise ValueError(f"{cls.__name__}'s parameters are not a dict of names")
    if fitted is not None and not (
        isinstance(fitted, dict)
        and all(isinstance(k, str) and k.endswith("_") for k in fitted)
    ):
        raise ValueError(f"{cls.__name__}'s fitted state is not a dict of *_ names")
    if fitted is not None and not isinstance(getattr(state, "history", None), list):
        raise ValueError(f"{cls.__name__}'s training history is not a list")
    return cls


def _load_weights(net, data):
    try:
        tensors = load_tensors(data)
    except Exception as exc:  # safetensors' own error type
        raise ValueError(
            f"the weights are not a valid safetensors file: {exc}"
        ) from None
    name = type(net).__name__
    expected = {}
    modules = net.torch_components()
    for prefix, module in modules.items():
        for key, value in module.state_dict().items():
            expected[f"{prefix}.{key}"] = value
    missing, unexpected = expected.keys() - tensors.keys(), tensors.keys() - expected
    if missing or unexpected:
        raise ValueError(
            f"the weights do not match {name}'s network: missing "
            f"{sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}"
        )
    for key, value in tensors.items():
        want = expected[key]
        if value.shape != want.shape or value.dtype != want.dtype:
            raise ValueError(
                f"the weights do not match {name}'s network: {key} is "
                f"{value.dtype} {tuple(value.shape)} in the file, the network "
                f"has {want.dtype} {tuple(want.shape)}"
            )
    for prefix, module in modules.items():
        start = len(prefix) + 1
        module.load_state_dict(
            {k[start:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
        )


def build_net(state, weights, *, n_nets, device, resolve):
    """The classifier ``state`` describes, with ``weights`` loaded.

    ``resolve`` maps the state's parameters and fitted values to real objects
    (nested classifiers are :class:`NetState` in the file).
    """
    cls = _check_state(state, n_nets)
    net = cls(**resolve(state.params))
    if state.fitted is None:
        return net
    if weights is None:
        raise ValueError(f"the weights of fitted {cls.__name__} are missing")
    fitted = resolve(state.fitted)
    vars(net).update(fitted)
    net.initialize_offline(_target_device(state.device, device))
    vars(net).update(fitted)  # anything initialize() reset
    net.history_ = History(state.history)
    _load_weights(net, weights)
    return net
