"""``save`` and ``load``: models as safetensors weights plus a skops file.

Why not skops alone, or safetensors alone
-----------------------------------------
skops stores scikit-learn objects as data (JSON and ``.npy`` files) and refuses
to construct types it was not told to trust, which is what the plain
scikit-learn parts of a model need (``Pipeline``, ``VotingClassifier``,
``StackingClassifier``, ``LabelEncoder``, our transformers). It cannot store a
skorch classifier safely: skops keeps an object through its ``__getstate__``,
and skorch's puts ``module_``, ``criterion_`` and ``optimizer_`` in a *pickle*
(bytes) that its ``__setstate__`` unpickles on load, after reading
``torch_load_kwargs`` from the file itself. Trusting a classifier type in
skops therefore trusts arbitrary pickles. safetensors, on the other hand,
stores tensors only: no classes, no label encoding, no input statistics.

So each classifier is taken out of the model before skops sees it and
replaced by a :class:`~sklearn_mnist.persistence._nets.NetState` (its class,
parameters and fitted attributes, all plain data that skops stores), and its
torch state dicts go to ``nets/<n>.safetensors``. Loading audits the skops
part (classifier, torch module, criterion and optimizer classes may appear as
classes only, never as instances), lets skops build the rest, then builds each
classifier from its parameters and loads its weights. Nothing is unpickled.
"""

import copy
import numbers
import pathlib
import types
import zipfile

import numpy as np
import torch
from torch import nn

from ..neural_net import BaseImageClassifier
from ..utils import resolve_device
from ._budget import Limits, check_file_size, check_regular_file, check_skops_budget
from ._container import (
    FORMAT,
    FORMAT_VERSION,
    SKELETON,
    read_container,
    weights_member,
    write_container,
)
from ._nets import NetState, build_net, net_state, net_weights
from ._trust import audit_skops, check_loadable, type_name
from ._validate import check_estimators, check_net_state, check_trusted

__all__ = ["load", "save"]

_LEAVES = (str, bytes, numbers.Number, np.ndarray, np.generic, type, type(None))
_OPAQUE = (
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.ModuleType,
)


def _children(obj):
    """``(label, child)`` of a container or an object's attributes."""
    if isinstance(obj, dict):
        return [(f"[{key!r}]", value) for key, value in obj.items()]
    if isinstance(obj, list | tuple | set | frozenset):
        return [(f"[{i}]", value) for i, value in enumerate(obj)]
    if isinstance(obj, _OPAQUE) or not hasattr(obj, "__dict__"):
        return []
    return [(f".{key}", value) for key, value in vars(obj).items()]


def _find_nets(model):
    """The package's classifiers in ``model``, each once.

    Raises
    ------
    ValueError
        If a torch object (tensor, module, optimizer) sits anywhere but inside
        a classifier's own modules: the format stores torch state only there.
    """
    nets, seen, stack = [], set(), [("model", model)]
    while stack:
        path, obj = stack.pop()
        if isinstance(obj, _LEAVES) or id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, BaseImageClassifier):
            nets.append(obj)
            state = net_state(obj, 0)
            name = type(obj).__name__
            for key, value in {**state.params, **(state.fitted or {})}.items():
                stack.append((f"{path}<{name}>.{key}", value))
            continue
        if isinstance(obj, torch.Tensor | nn.Module | torch.optim.Optimizer):
            raise ValueError(
                f"cannot save {path}: it is a torch {type(obj).__name__}. The safe "
                "format stores torch state only as a classifier's fitted network; "
                "give modules as classes with module__* parameters, values as "
                "lists or NumPy arrays (or save with joblib, a pickle, if the file "
                "stays with you)"
            )
        stack.extend((path + label, child) for label, child in reversed(_children(obj)))
    return nets


def _versions():
    import safetensors
    import sklearn
    import skops
    import skorch

    from .._version import __version__

    return {
        "sklearn-mnist": __version__,
        "scikit-learn": sklearn.__version__,
        "skops": skops.__version__,
        "skorch": skorch.__version__,
        "torch": torch.__version__,
        "safetensors": safetensors.__version__,
    }


def save(model, path):
    """Save a scikit-learn model in sklearn-mnist's safe format.

    The file is a zip holding ``manifest.json`` (format name and version, the
    library versions that wrote it, one entry per classifier),
    ``model.skops`` (the model with every sklearn-mnist classifier replaced by
    its class, parameters and fitted attributes, written by skops) and
    ``nets/<n>.safetensors`` (each fitted classifier's network weights). It is
    written to a temporary file beside ``path`` and renamed, so ``path`` never
    holds half a model.

    Parameters
    ----------
    model : estimator
        Any scikit-learn estimator, fitted or not: one of the package's
        classifiers, or a ``Pipeline``, ``VotingClassifier``,
        ``StackingClassifier``... made of them, the package's transformers
        and scikit-learn estimators. (A fitted ``GridSearchCV`` also holds a
        scorer and a CV splitter that skops does not trust by default: save
        its ``best_estimator_``, or load with ``trusted=``.)
    path : str or path-like
        Where to write; ``.skmnist`` is the suggested extension. An existing
        file is replaced.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    TypeError
        If ``model`` is not an estimator.
    ValueError
        If the model holds something the format cannot store: a torch tensor
        or module outside a classifier's network (a ``backbone`` or ``module``
        given as an instance, a tensor as a parameter value), or a function or
        class that cannot be found again by its import path (a lambda, say in
        a ``FunctionTransformer``, or one defined inside a function). Nothing
        is written then.

    See Also
    --------
    load : read the file back.

    Notes
    -----
    What the file holds of a classifier: ``get_params(deep=False)``, every
    public fitted attribute ending in ``_`` except its torch objects (so
    ``classes_``, input statistics, the image shape and any attribute a later
    version adds, provided skops can store it), the training history, and
    the state dicts of its modules. The optimizer's state is not kept:
    training after ``load`` starts a fresh optimizer.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> from sklearn_mnist import MLPNetClassifier, load_mnist_sample, save, load
    >>> X, y = load_mnist_sample(return_X_y=True)
    >>> clf = MLPNetClassifier(max_epochs=1, random_state=0).fit(X[::25], y[::25])
    >>> path = os.path.join(tempfile.mkdtemp(), "mlp.skmnist")
    >>> loaded = load(save(clf, path))
    >>> np.array_equal(loaded.predict_proba(X[:50]), clf.predict_proba(X[:50]))
    True
    """
    import skops.io

    if isinstance(model, type) or not hasattr(model, "get_params"):
        raise TypeError(
            f"save() stores scikit-learn estimators; got {type(model).__name__}"
        )
    nets = _find_nets(model)
    memo = {}
    states = []
    for index, net in enumerate(nets):
        states.append(net_state(net, index))
        memo[id(net)] = states[-1]
    for state in states:  # nested classifiers become NetStates too
        state.params = copy.deepcopy(state.params, memo)
        state.fitted = copy.deepcopy(state.fitted, memo)
    skeleton = copy.deepcopy(model, memo)
    members = {SKELETON: skops.io.dumps(skeleton, compression=zipfile.ZIP_DEFLATED)}
    check_loadable(members[SKELETON])  # before writing: no file that never loads
    entries = []
    for state, net in zip(states, nets, strict=True):
        entry = {"class": type_name(type(net)), "fitted": state.fitted is not None}
        if state.fitted is not None:
            entry.update(device=state.device, weights=weights_member(state.index))
            members[weights_member(state.index)] = net_weights(net)
        entries.append(entry)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "estimator": type_name(type(model)),
        "versions": _versions(),
        "nets": entries,
    }
    write_container(path, manifest, members)
    return pathlib.Path(path)


class _Rebuilder:
    """Replaces every NetState in the loaded skeleton by its classifier."""

    def __init__(self, members, n_nets, device, limits=None):
        self.members, self.n_nets, self.device = members, n_nets, device
        self.limits = Limits() if limits is None else limits
        self.done, self.building, self.indices = {}, set(), set()

    def net(self, state):
        key = id(state)
        if key in self.done:
            return self.done[key]
        if key in self.building:
            raise ValueError("a classifier's parameters contain itself")
        self.building.add(key)
        index = getattr(state, "index", None)
        weights = None
        if isinstance(index, int):
            if index in self.indices:  # each copy would be a network of its own
                raise ValueError(
                    f"two classifiers in the file name the same weights "
                    f"{weights_member(index)}; a model file built by save() never does"
                )
            self.indices.add(index)
            weights = self.members.get(weights_member(index))
        cls = getattr(state, "estimator_class", None)
        check_net_state(state, weights, self.resolve, self.limits)
        try:
            net = build_net(
                state, weights, n_nets=self.n_nets, device=self.device,
                resolve=self.resolve,
            )  # fmt: skip
        except ValueError:
            raise
        except Exception as exc:  # skorch and torch fail in many ways
            name = getattr(cls, "__name__", repr(cls))
            raise ValueError(
                f"cannot rebuild {name} from the model file: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self.done[key] = net
        return net

    def resolve(self, obj, _memo=None):
        memo = {} if _memo is None else _memo
        if isinstance(obj, NetState):
            return self.net(obj)
        if isinstance(obj, _LEAVES) or id(obj) in memo:
            return memo.get(id(obj), obj)
        memo[id(obj)] = obj
        if isinstance(obj, list):
            obj[:] = [self.resolve(v, memo) for v in obj]
        elif isinstance(obj, dict):
            for key, value in list(obj.items()):
                obj[key] = self.resolve(value, memo)
        elif isinstance(obj, tuple):
            items = [self.resolve(v, memo) for v in obj]
            if any(a is not b for a, b in zip(items, obj, strict=True)):
                new = obj._make(items) if hasattr(obj, "_make") else type(obj)(items)
                memo[id(obj)] = new
                return new
        elif hasattr(obj, "__dict__") and not isinstance(obj, _OPAQUE):
            attrs = vars(obj)
            for key, value in list(attrs.items()):
                new = self.resolve(value, memo)
                if new is not value:
                    attrs[key] = new
        return obj


def load(path, *, trusted=None, device=None, max_bytes=None, max_params=None):
    """Load a model written by :func:`save`, without unpickling anything.

    The file is checked before anything is built: its format name and
    version, its member names and sizes, and every type its skops part names
    (see Notes). Each classifier is then built from its class and parameters,
    its fitted state restored and its weights loaded after checking their
    names, shapes and dtypes.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.
    trusted : list of str or type, default=None
        Types to trust in addition to the defaults, by full name (as the error
        message lists them) or as the type itself, e.g. a custom transformer
        in a Pipeline. Only list types whose code you trust: loading
        constructs them from the file's data.
    device : str, default=None
        Device for the classifiers' networks. None: the device each was
        fitted on when this machine has it, else the CPU (a model fitted on a
        GPU loads on a CPU-only machine). The ``device`` parameter itself is
        restored as saved.
    max_bytes : int, default=None
        The most bytes loading may read and build: the file, and what its
        skops part expands to (each array reference counted, each JSON value
        of its schema as 2 KiB). None: 2 GiB, and the skops part at most
        64 MiB plus 32 times its compressed size. Raise it for a large model
        you trust; the error says by how much.
    max_params : int, default=None
        The most parameters and buffers one classifier's network may have,
        counted from its parameters before it is built. None: 100 million.

    Returns
    -------
    model : estimator

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    TypeError
        If ``trusted`` is not a type name, a type or a list of them.
    ValueError
        If the file is not a regular file (a device, FIFO or socket), is not a
        model file of a version this sklearn-mnist reads, is truncated or
        corrupted, names a type that is not trusted, would cost more than
        ``max_bytes`` / ``max_params``, holds a value ``fit`` would refuse
        (parameters, fitted attributes, devices), or its weights do not fit
        its networks. The message says which. See :doc:`/persistence` for
        what a hostile file can and cannot do.

    See Also
    --------
    save : write a model file.

    Notes
    -----
    Trusted by default: what skops trusts (scikit-learn's estimators and
    their internals, NumPy and SciPy containers); the package's transformers,
    FGSMPerturber and callbacks; and, as classes only (parameter values such
    as ``module=CNNModule``), the package's classifiers and torch modules,
    ``torch.nn.CrossEntropyLoss`` / ``NLLLoss``, ``torch.optim.AdamW`` /
    ``Adam`` / ``SGD``, ``torch.utils.data.DataLoader`` and skorch's
    ``Dataset`` / ``ValidSplit``.
    """
    import skops.io

    check_trusted(trusted)
    limits = Limits(max_bytes, max_params)
    if device is not None:
        resolve_device(device)  # a clear error before reading anything
    size = check_regular_file(path)  # before opening: no FIFO, no device
    check_file_size(path, size, limits)
    manifest, members = read_container(path)
    entries = manifest.get("nets")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f"{path}: manifest.json has no valid list of classifiers")
    if SKELETON not in members:
        raise ValueError(f"{path} is not a valid model file: {SKELETON} is missing")
    for name in members:
        if name.startswith("nets/") and int(name[5:].split(".")[0]) >= len(entries):
            raise ValueError(f"{path}: member {name!r} belongs to no classifier")
    try:
        check_skops_budget(members[SKELETON], size, limits)
        skops_trusted = audit_skops(members[SKELETON], trusted)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    try:
        skeleton = skops.io.loads(members[SKELETON], trusted=skops_trusted)
    except Exception as exc:  # skops fails in many ways on a damaged schema
        raise ValueError(
            f"{path}: the model's skops part is corrupted: {type(exc).__name__}: {exc}"
        ) from None
    try:
        model = _Rebuilder(members, len(entries), device, limits).resolve(skeleton)
        # After the classifiers are built (each checked before, by its own
        # budget): a meta-estimator's constraints see a classifier, not the
        # placeholder of one (RejectOptionClassifier's HasMethods("fit")).
        check_estimators(model)
        return model
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
