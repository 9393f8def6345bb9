"""What a model file may name: the allow-list and the audit of the skops part.

Loading trusts, in addition to what skops trusts by default (scikit-learn's
estimators and their internals, NumPy and SciPy containers):

- the package's estimators and transformers (every ``BaseEstimator`` exported by
  ``sklearn_mnist.preprocessing``, ``sklearn_mnist.adversarial``,
  ``sklearn_mnist.neural_net`` and ``sklearn_mnist.reject``) and its skorch
  callbacks;
- as *classes only*, never as instances: the package's classifiers, its torch
  modules (``MLPModule``, ``CNNModule``, ``TransferModule``), its ``AdamW``
  and the torch /
  skorch classes the classifiers take as parameters (criteria, optimizers,
  ``DataLoader``, skorch's ``Dataset``). A file that asks for an *instance* of
  one of these is refused: skorch's ``__setstate__`` unpickles bytes from its
  state, so constructing a net the way skops constructs objects would run
  whatever the file holds.
"""

import io
import json
import sys
import zipfile

import torch
from sklearn.base import BaseEstimator
from sklearn.utils import Bunch
from skorch.callbacks import Callback
from skorch.dataset import Dataset, ValidSplit
from torch import nn

from ._container import check_sizes

__all__ = ["audit_skops", "check_loadable", "trusted_types"]

#: torch and skorch classes the classifiers take as parameters.
_TORCH_CLASSES = (
    nn.CrossEntropyLoss,
    nn.NLLLoss,
    torch.optim.AdamW,
    torch.optim.Adam,
    torch.optim.SGD,
    torch.utils.data.DataLoader,
    Dataset,
)
_MAX_SCHEMA = 64 * 2**20  # bytes of skops' schema.json


def type_name(cls):
    """``module.Name`` as skops writes it in a file."""
    return f"{cls.__module__}.{cls.__name__}"


def _package_classes():
    from .. import adversarial, neural_net, preprocessing, reject

    for package in (preprocessing, adversarial, neural_net, reject):
        for name in package.__all__:
            obj = getattr(package, name)
            if isinstance(obj, type):
                yield obj


def trusted_types():
    """``(instances, classes_only)``: type names a model file may hold.

    ``instances`` may be constructed from the file (skops' ``__new__`` and
    state); ``classes_only`` may appear only as classes (parameters such as
    ``module=CNNModule`` or ``optimizer=torch.optim.AdamW``).
    """
    from ..neural_net import BaseImageClassifier
    from ._nets import NetState

    # Bunch: VotingClassifier.named_estimators_ (a dict; skops does not trust it)
    instances = {type_name(NetState), type_name(ValidSplit), type_name(Bunch)}
    classes_only = set()
    for cls in _package_classes():
        if issubclass(cls, BaseImageClassifier | nn.Module | torch.optim.Optimizer):
            classes_only.add(type_name(cls))
        elif issubclass(cls, BaseEstimator | Callback):
            instances.add(type_name(cls))
    classes_only.update(type_name(cls) for cls in _TORCH_CLASSES)
    return instances, classes_only


def _nodes(state):
    """Every node (a dict with ``__loader__``) in a skops schema."""
    stack = [state]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "__loader__" in item:
                yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def audit_skops(data, trusted=()):
    """The types to pass to ``skops.io.loads(data, trusted=...)``.

    Raises
    ------
    ValueError
        If the skops part is not a valid skops file, asks for an instance of a
        class-only type, or names a type that neither skops, this package nor
        ``trusted`` trusts.
    """
    import skops.io

    instances, classes_only = trusted_types()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as inner:
            check_sizes(inner, "the model's skops part")
            info = inner.getinfo("schema.json")
            if info.file_size > _MAX_SCHEMA:
                raise ValueError(f"schema.json is {info.file_size} bytes")
            schema = json.loads(inner.read(info))
        untrusted = set(skops.io.get_untrusted_types(data=data))
    except ValueError as exc:
        raise ValueError(f"the model's skops part is corrupted: {exc}") from None
    except Exception as exc:  # zipfile, json and skops fail in many ways
        raise ValueError(
            f"the model's skops part is corrupted: {type(exc).__name__}: {exc}"
        ) from None
    for node in _nodes(schema):
        name = f"{node.get('__module__')}.{node.get('__class__')}"
        if name in classes_only and node.get("__loader__") != "TypeNode":
            raise ValueError(
                f"the model file asks for an instance of {name}, which a model "
                "file may only name as a class; the file was not written by "
                "sklearn_mnist.save and is refused"
            )
    if isinstance(trusted, str | type):
        trusted = [trusted]
    user = {t if isinstance(t, str) else type_name(t) for t in trusted or ()}
    refused = sorted(untrusted - instances - classes_only - user)
    if refused:
        raise ValueError(
            f"the model file holds types that are not trusted: {', '.join(refused)}. "
            "Loading them would import and construct them. If you trust the file "
            f"and these types, pass load(path, trusted={refused!r})"
        )
    return sorted(untrusted & (instances | classes_only | user))


def _findable(name):
    """Whether ``name`` (``module.qualname``) leads back to an object, as
    skops looks it up when loading: modules already imported only (nothing is
    imported here); a name in a module not imported counts as findable."""
    if "<" in name:  # <lambda>, <locals>: no import path leads to them
        return False
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:cut]))
        if module is None:
            continue
        obj = module
        for attr in parts[cut:]:
            try:
                obj = getattr(obj, attr)
            except Exception:  # any failing attribute lookup
                return False
        return True
    return True


def check_loadable(data):
    """Refuse, when saving, a skops part that could never be loaded: types
    and functions skops cannot find again by their import path (a lambda, a
    function or class defined inside a function, one no longer where its name
    says)."""
    import skops.io

    names = skops.io.get_untrusted_types(data=data)
    lost = sorted(name for name in names if not _findable(name))
    if lost:
        raise ValueError(
            f"save() cannot store {', '.join(lost)}: a model file names functions "
            "and classes by their import path, and a lambda or a function or class "
            "defined inside a function has none, so the file could never be "
            "loaded. Define it with def or class at the top level of a module "
            "that is importable where the model is loaded"
        )
