"""Every parameter of the classifiers, declared as data and checked at fit.

scikit-learn's ``_parameter_constraints`` (skorch's own ``_validate_params``
checks only the names of routed ``module__*`` arguments, so the values are
checked here with scikit-learn's ``validate_parameter_constraints``).
"""

import inspect
from numbers import Integral, Real

import numpy as np
import skorch.dataset
import torch
from skorch.callbacks import Callback
from torch import nn
from torch.utils.data import DataLoader

from .._compat import HasMethods, Interval, StrOptions, validate_parameter_constraints

__all__ = [
    "BASE_CONSTRAINTS",
    "check_parameters",
    "is_callback_item",
    "skorch_can_build",
]

BASE_CONSTRAINTS = {
    "module": [type, nn.Module],
    "criterion": [type, nn.Module],
    "optimizer": [type],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "max_epochs": [
        Interval(Integral, 1, None, closed="left"),
        StrOptions({"auto"}),
    ],
    "batch_size": [
        Interval(Integral, 1, None, closed="left"),
        StrOptions({"auto"}),
    ],
    "train_split": [None, callable],
    "iterator_train": [callable],
    "iterator_valid": [callable],
    "dataset": [callable],
    "callbacks": [None, list, StrOptions({"disable"})],
    "device": [str, torch.device, None],
    "random_state": ["random_state"],
    "image_shape": [None, tuple, list],
    "channels_last": ["boolean"],
    "augment": [
        None,
        StrOptions({"auto"}),
        HasMethods(["transform_batch"]),
        HasMethods(["augment_tensor"]),
    ],
    "adversarial": [None, HasMethods(["transform_batch"])],
    "adversarial_ratio": [Interval(Real, 0, 1, closed="right")],
    "adversarial_loss": [StrOptions({"replace", "trades"})],
    "adversarial_beta": [Interval(Real, 0, None, closed="left")],
    "outlier_exposure": [None, HasMethods(["outlier_batch", "loss"])],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "class_weight": [None, dict, StrOptions({"balanced"})],
    "warm_start": ["boolean"],
    "mixed_precision": [None, StrOptions({"bfloat16", "float16"})],
    "verbose": ["verbose"],
    "classes": [None, "array-like"],
}


def is_callback_item(item):
    """True for what skorch takes in ``callbacks``: a Callback (class or
    instance), or a ``(name, callback)`` pair (the callback may be None)."""
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
        item = item[1]
        if item is None:
            return True
    if isinstance(item, type):
        return issubclass(item, Callback)
    return isinstance(item, Callback)


def skorch_can_build(callbacks):
    """True for a ``callbacks`` value skorch can turn into callbacks."""
    if callbacks is None:
        return True
    if isinstance(callbacks, str):
        return callbacks == "disable"
    return isinstance(callbacks, list) and all(map(is_callback_item, callbacks))


def check_parameters(net):
    """Every parameter against ``_parameter_constraints``, nested ones too."""
    name = type(net).__name__
    validate_parameter_constraints(
        net._parameter_constraints,
        net.get_params(deep=False),
        caller_name=name,
    )
    for key in ("max_epochs", "batch_size"):
        if isinstance(getattr(net, key), bool):  # an Integral to scikit-learn
            raise ValueError(
                f"The '{key}' parameter of {name} must be an int >= 1 or 'auto', "
                f"got {getattr(net, key)!r}"
            )
    if isinstance(net.callbacks, list):
        bad = [item for item in net.callbacks if not is_callback_item(item)]
        if bad:
            raise ValueError(
                f"callbacks of {name} must be skorch Callbacks (classes or "
                f"instances) or (name, callback) pairs, got {bad[0]!r}"
            )
    if isinstance(net.class_weight, dict):
        bad = {
            k: v for k, v in net.class_weight.items()
            if not isinstance(v, Real) or isinstance(v, bool)
            or not np.isfinite(v) or v < 0
        }  # fmt: skip
        if bad:
            raise ValueError(
                f"class_weight of {name} must map classes to finite weights >= 0, "
                f"got {bad}"
            )
    check_data_path(net)
    check_component_arguments(net)
    for name in ("augment", "adversarial", "outlier_exposure"):
        nested = getattr(net, name)
        if hasattr(nested, "_validate_params"):
            nested._validate_params()
    if hasattr(net.outlier_exposure, "check"):
        net.outlier_exposure.check()
    if net._trades() and not hasattr(net.adversarial, "transform_batch_kl"):
        raise ValueError(
            "adversarial_loss='trades' needs an adversarial transform with "
            "transform_batch_kl(net, X, proba, *, random_state), such as "
            f"FGSMPerturber; got {type(net.adversarial).__name__}"
        )
    if net.early_stopping and net.train_split is not None:
        raise ValueError(
            "early_stopping=True holds out validation_fraction of the data "
            "itself; leave train_split=None (got "
            f"train_split={net.train_split!r})"
        )


def check_data_path(net):
    """``iterator_*`` / ``dataset``: the classifiers batch in-memory arrays
    themselves (``_data.py``), so another loader or dataset class would be
    silently unused; only ``iterator_*__batch_size`` is read."""
    name = type(net).__name__
    defaults = {
        "iterator_train": DataLoader,
        "iterator_valid": DataLoader,
        "dataset": skorch.dataset.Dataset,
    }
    for key, default in defaults.items():
        value = getattr(net, key)
        if value is not default:
            raise ValueError(
                f"{key}={value!r} would not be used: {name} batches its "
                f"in-memory arrays itself; leave {key} at its default "
                f"({default.__module__}.{default.__qualname__})"
            )
    for key in vars(net):
        prefix, _, sub = key.partition("__")
        if prefix.startswith("iterator_") and sub == "batch_size":
            check_batch_size(net, prefix)
        elif prefix in defaults and sub:
            raise ValueError(
                f"{key} would not be used: {name} batches its in-memory arrays "
                "itself; of the iterator_* arguments only iterator_train__"
                "batch_size and iterator_valid__batch_size are read"
            )


def check_batch_size(net, prefix):
    """The batch size of ``prefix`` (``iterator_train`` / ``iterator_valid``):
    ``{prefix}__batch_size`` where set (an int >= 1), else ``batch_size_``."""
    key = f"{prefix}__batch_size"
    if key not in vars(net):
        return net.batch_size_
    value = vars(net)[key]
    if isinstance(value, bool):  # an Integral to scikit-learn
        raise ValueError(
            f"The '{key}' parameter of {type(net).__name__} must be an int >= 1, "
            f"got {value!r}"
        )
    validate_parameter_constraints(
        {key: [Interval(Integral, 1, None, closed="left")]},
        {key: value},
        caller_name=type(net).__name__,
    )
    return value


def _accepted(cls):
    """The keyword arguments ``cls(...)`` takes (None: any)."""
    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters}


def check_component_arguments(net):
    """Every ``module__*`` / ``criterion__*`` / ``optimizer__*`` argument is
    one the class takes (``optimizer__lr`` must be a number > 0), so a typo
    is refused at fit, also on a warm start that builds nothing."""
    name = type(net).__name__
    lr = vars(net).get("optimizer__lr")
    if isinstance(lr, bool):
        raise ValueError(
            f"The 'optimizer__lr' parameter of {name} must be a float > 0, got {lr!r}"
        )
    if lr is not None:
        validate_parameter_constraints(
            {"optimizer__lr": [Interval(Real, 0, None, closed="neither")]},
            {"optimizer__lr": lr},
            caller_name=name,
        )
    for prefix in ("module", "criterion", "optimizer"):
        cls = getattr(net, prefix)
        if not isinstance(cls, type):
            continue
        accepted = _accepted(cls)
        if accepted is None:
            continue
        for key in vars(net):
            head, _, sub = key.partition("__")
            if head != prefix or not sub or sub.partition("__")[0] == "param_groups":
                continue
            if sub not in accepted:
                raise ValueError(
                    f"{key}: {cls.__name__} takes no argument {sub!r} (it takes "
                    f"{', '.join(sorted(accepted - {'self', 'params'}))})"
                )
