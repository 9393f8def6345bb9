"""``export_onnx``: a fitted model, preprocessing included, as one ONNX file."""

import json
import math
import pathlib
import warnings
from numbers import Integral

import numpy as np
import torch
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ..neural_net import BaseImageClassifier
from ..preprocessing import Flatten, Normalizer255
from ..utils import atomic_write
from ._module import PredictProbaModule

__all__ = [
    "INPUT_NAME",
    "OUTPUT_NAMES",
    "REJECT_OUTPUT",
    "build_onnx",
    "export_onnx",
    "require",
    "shape_text",
    "split_model",
]

INPUT_NAME = "input"
OUTPUT_NAMES = ("probabilities", "label")
REJECT_OUTPUT = "accepted"  # a third output for a RejectOptionClassifier
# not on PyPI: the extra is installed from a checkout
_PIP = "pip install -e '.[onnx]' in the sklearn-mnist checkout"
_SUPPORTED = "Normalizer255, Flatten, RandomAffineAugmenter, ElasticDistortion"


def require(*names):
    """Import the optional packages ``names``; ImportError with the pip command."""
    import importlib

    modules = []
    for name in names:
        try:
            modules.append(importlib.import_module(name))
        except ImportError as exc:
            raise ImportError(
                f"ONNX export needs the optional packages onnx, onnxscript and "
                f"onnxruntime ({name} is missing); install the onnx extra with {_PIP} "
                "(or pip install onnx onnxscript onnxruntime)"
            ) from exc
    return modules


def shape_text(shape):
    """``(n, 28, 28)`` for the sample shape ``(28, 28)``."""
    return "(" + ", ".join(["n", *(str(d) for d in shape)]) + ")"


def _describe(model):
    steps = getattr(model, "steps", None)
    if isinstance(steps, list):
        inner = " -> ".join(type(step).__name__ for _, step in steps)
        return f"{type(model).__name__}({inner})"
    return type(model).__name__


def split_model(model):
    """``(steps, classifier)`` of an exportable model: the preprocessing steps
    that run at prediction time, and the package's classifier at the end.

    Raises
    ------
    ValueError
        For anything else, saying what was expected (``NotFittedError``, a
        ValueError, for an unfitted model).
    """
    if isinstance(model, type) or not hasattr(model, "get_params"):
        raise TypeError(
            "export_onnx exports a fitted estimator: one of sklearn_mnist's "
            "classifiers (MLPNetClassifier, CNNClassifier, TransferClassifier), "
            f"alone or at the end of a Pipeline of {_SUPPORTED}; got "
            + (f"the class {model.__name__}" if isinstance(model, type) else
               f"{type(model).__name__} {str(model)[:40]!r}")
        )  # fmt: skip
    if hasattr(model, "best_estimator_") and hasattr(model, "cv"):
        raise ValueError(
            f"export_onnx takes the fitted model itself, got a "
            f"{type(model).__name__}; pass its best_estimator_"
        )
    steps, final = [], model
    if isinstance(model, Pipeline):
        *head, (_, final) = model.steps
        for name, step in head:
            if step is None or (isinstance(step, str) and step == "passthrough"):
                continue
            if hasattr(step, "fit_resample") and not hasattr(step, "transform"):
                continue  # a sampler (imbalanced-learn's Pipeline): fit time only
            if not hasattr(step, "torch_transform"):
                raise ValueError(
                    f"Cannot export Pipeline step {name!r} ({type(step).__name__}) "
                    f"to ONNX: only steps with a torch_transform can be folded "
                    f"into the network (the package's {_SUPPORTED})"
                )
            steps.append(step)
    if not isinstance(final, BaseImageClassifier):
        what = (
            "classifier" if hasattr(final, "get_params") and is_classifier(final)
            else "estimator" if hasattr(final, "get_params") else "final step"
        )  # fmt: skip
        raise ValueError(
            "export_onnx exports sklearn_mnist's classifiers (MLPNetClassifier, "
            "CNNClassifier, TransferClassifier), alone or at the end of a "
            f"Pipeline of {_SUPPORTED}; got the {what} {type(final).__name__}"
        )
    check_is_fitted(final)  # NotFittedError (a ValueError) before fit
    for step in steps:
        if step.__sklearn_tags__().requires_fit:
            check_is_fitted(step)
    return steps, final


def input_shape(steps, classifier):
    """Shape of one sample of the raw input the model was fitted on."""
    for step in steps:
        if isinstance(step, Flatten):  # the other steps keep the shape
            return tuple(int(d) for d in step.image_shape_)
    shape = getattr(classifier, "input_shape_", None)
    if shape is not None:
        return tuple(int(d) for d in shape)
    # Fitted by a version that did not record it: images in the fitted layout.
    c, h, w = classifier.image_shape_
    return (h, w, c) if classifier.input_layout_ == "channels_last" else (c, h, w)


def _input_range(steps, classifier):
    if any(isinstance(step, Normalizer255) for step in steps):
        return (0.0, 255.0)
    return tuple(float(v) for v in classifier.input_range_)


def metadata(model, steps, classifier, shape):
    """The ``metadata_props`` of the ONNX file (every value a string)."""
    from .._version import __version__

    classes = classifier.classes_
    try:
        classes_json = json.dumps(classes.tolist())
    except (TypeError, ValueError):
        raise ValueError(
            f"the labels of {type(classifier).__name__} cannot be stored as JSON in "
            f"the ONNX file (classes_ of dtype {classes.dtype}: "
            f"{classes.tolist()[:3]}...); fit it with int, float, bool or str labels"
        ) from None
    return {
        "sklearn_mnist_version": __version__,
        "model": _describe(model),
        "classes": classes_json,
        "classes_dtype": classes.dtype.str if classes.dtype != object else "object",
        "input_shape": json.dumps([None, *shape]),
        "input_layout": classifier.input_layout_,
        "input_range": json.dumps(list(_input_range(steps, classifier))),
        "image_shape": json.dumps(list(classifier.image_shape_)),
    }


MIN_OPSET = 18  # the torch.onnx exporter's lowest


def build_onnx(model, *, opset=None):
    """``(data, metadata)``: the serialized ONNX model :func:`export_onnx`
    writes, and its ``metadata_props``."""
    onnx, _ = require("onnx", "onnxscript")
    newest = onnx.defs.onnx_opset_version()
    if opset is not None and (
        not isinstance(opset, Integral)
        or isinstance(opset, bool)
        or not MIN_OPSET <= opset <= newest
    ):
        # torch.onnx writes 18 for lower requests (a log line) and silently
        # ignores ones above what onnx knows
        raise ValueError(
            f"opset must be None or an integer from {MIN_OPSET} (the torch "
            f"exporter's lowest) to {newest} (the installed onnx's newest), got "
            f"{opset!r}"
        )
    from ..reject import RejectModule, RejectOptionClassifier, onnx_metadata, onnx_model

    reject = model if isinstance(model, RejectOptionClassifier) else None
    if reject is not None:
        model = onnx_model(reject)  # its estimator_; other scores refused
    steps, classifier = split_model(model)
    shape = input_shape(steps, classifier)
    props = metadata(model, steps, classifier, shape)
    if reject is not None:
        props.update(onnx_metadata(reject))
        props["model"] = f"RejectOptionClassifier({props['model']})"
    if classifier.mixed_precision is not None:
        warnings.warn(
            f"{type(classifier).__name__} predicts under mixed_precision="
            f"{classifier.mixed_precision!r}; the ONNX model computes in float32, "
            "so its probabilities differ from predict_proba's by the rounding of "
            f"{classifier.mixed_precision} (and labels may differ on near ties)",
            UserWarning,
            stacklevel=3,
        )
    module = PredictProbaModule(steps, classifier)
    outputs = list(OUTPUT_NAMES)
    if reject is not None:
        module = RejectModule(module, reject)
        outputs.append(REJECT_OUTPUT)
    example = torch.zeros((2, *shape), dtype=torch.float32)
    with torch.no_grad():
        try:  # the model's own errors (shapes, layout), before the exporter's
            module(example)
        except ValueError as exc:
            raise ValueError(
                f"{props['model']} cannot predict its own input shape "
                f"{shape_text(shape)}: {exc}"
            ) from exc
    name = type(classifier).__name__
    try:
        program = torch.onnx.export(
            module,
            (example,),
            None,
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=outputs,
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            opset_version=None if opset is None else int(opset),
            optimize=True,
            verbose=False,
        )
    except Exception as exc:  # torch.export / torch.onnx raise many types
        detail = " ".join(str(exc).split())[:500]
        raise ValueError(
            f"torch.onnx could not export the network of this {name} "
            f"({props['model']}): {type(exc).__name__}: {detail}"
        ) from exc
    proto = program.model_proto
    existing = {p.key: p.value for p in proto.metadata_props}
    onnx.helper.set_model_props(proto, {**existing, **props})
    proto.doc_string = (
        f"predict_proba of a sklearn-mnist {props['model']}; input {INPUT_NAME!r} "
        f"float32 {shape_text(shape)}, outputs 'probabilities' (n, "
        f"{len(classifier.classes_)}) float32 and 'label' (n,) int64, an index "
        "into the JSON list metadata_props['classes']"
        + (
            f", and {REJECT_OUTPUT!r} (n,) bool, False where the model rejects "
            "(answers metadata_props['reject_label'])"
            if reject is not None
            else ""
        )
    )
    return proto.SerializeToString(), props


def export_onnx(model, path, *, opset=None):
    """Export a fitted model, preprocessing included, to an ONNX file.

    The file computes what ``model.predict_proba`` computes from the raw
    input ``model`` takes, as one graph: the preprocessing steps of a
    Pipeline (``Normalizer255`` scaling, ``Flatten`` reshaping; the
    augmenters are the identity, as at prediction time), the classifier's
    layout handling and pixel standardisation, its network in eval mode and
    float32, and the softmax. It runs in `onnxruntime
    <https://onnxruntime.ai>`_ (or any ONNX runtime) without Python,
    scikit-learn, PyTorch or sklearn-mnist.

    Parameters
    ----------
    model : classifier or Pipeline
        A fitted ``MLPNetClassifier``, ``CNNClassifier`` or
        ``TransferClassifier``, alone or at the end of a ``Pipeline`` of
        ``Normalizer255``, ``Flatten``, ``RandomAffineAugmenter`` and
        ``ElasticDistortion`` (``"passthrough"`` steps and the samplers of an
        imbalanced-learn ``Pipeline`` are left out, as at prediction time);
        or a fitted :class:`~sklearn_mnist.reject.RejectOptionClassifier`
        around one, with ``trust_score="max_proba"`` or ``"margin"`` (see
        Notes).
    path : str or path-like
        Where to write (``.onnx``). Written to a temporary file beside it and
        renamed, so ``path`` never holds half a model; an existing file is
        replaced.
    opset : int, default=None
        ONNX opset of the graph; None for the torch exporter's default (18
        or later; lower ones are converted and may fail).

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    TypeError
        If ``model`` is not an estimator (a string, a class, ...).
    ValueError
        If ``model`` is not fitted (``NotFittedError``), is not one of the
        package's classifiers or such a Pipeline (a ``StandardScaler`` step,
        a ``VotingClassifier``, a ``GridSearchCV``: pass its
        ``best_estimator_``), has labels JSON cannot hold, or its network
        cannot be exported.
    ImportError
        If onnx or onnxscript (which ``torch.onnx`` needs) is not installed:
        ``pip install -e '.[onnx]'`` in the sklearn-mnist checkout.

    See Also
    --------
    verify_onnx : check a file against the model in onnxruntime.
    sklearn_mnist.save : the model itself, to keep training or inspecting it.

    Notes
    -----
    The graph has one input and two outputs, with a dynamic batch size:

    - ``"input"``: float32 of shape ``(n, *input_shape)``, the shape one
      sample had when the model was fitted (``(n, 784)`` for flat rows,
      ``(n, 28, 28)``, ``(n, 1, 28, 28)`` or channels-last ``(n, 28, 28, 1)``
      for images; the graph does not reshape, so flat rows such as
      ``load_mnist_sample``'s ``X`` go into an ``(n, 28, 28)`` file as
      ``X.reshape(-1, 28, 28)``), in the units the model takes: raw pixel
      values 0..255 for a Pipeline starting with ``Normalizer255`` or a
      classifier fitted on 0..255 (uint8 images: cast them,
      ``X.astype(np.float32)``, which is exact), 0..1 for a classifier fitted
      on 0..1;
    - ``"probabilities"``: float32 ``(n, n_classes)``, columns in the order
      of ``classes_``;
    - ``"label"``: int64 ``(n,)``, the index of the largest probability, an
      index into ``classes_`` (the first one on ties, as ``predict``).

    ``metadata_props`` (strings; JSON where noted) hold what a deployment
    needs without a Python pickle: ``classes`` (JSON list of the labels, any
    type JSON holds) and ``classes_dtype`` (their NumPy dtype string: ``<i8``),
    ``input_shape`` (JSON, ``null`` for the batch), ``input_layout``
    (``channels_first`` or ``channels_last``: the order of the values, flat
    rows included), ``input_range`` (JSON ``[low, high]``), ``image_shape``
    (JSON ``[c, h, w]``, what the network sees), ``model`` (the estimator's
    class and steps) and ``sklearn_mnist_version``.

    A ``RejectOptionClassifier`` adds a third output, ``"accepted"``: bool
    ``(n,)``, whether the score (computed in the graph from the
    probabilities) reaches the threshold, and the metadata
    ``reject_score``, ``reject_threshold`` (the float32 threshold as text,
    ``inf`` when everything is rejected) and ``reject_label`` (JSON), what
    ``predict`` answers where ``accepted`` is False.

    ``mixed_precision`` is not exported: the graph computes in float32, so a
    model fitted with ``mixed_precision="bfloat16"`` gives probabilities
    closer to exact float32 than its own ``predict_proba``.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_mnist import (
    ...     MLPNetClassifier, Normalizer255, export_onnx, load_mnist_sample)
    >>> X, y = load_mnist_sample(return_X_y=True)
    >>> model = make_pipeline(
    ...     Normalizer255(), MLPNetClassifier(max_epochs=1, random_state=0))
    >>> model = model.fit(X[::10], y[::10])
    >>> path = export_onnx(model, os.path.join(tempfile.mkdtemp(), "digits.onnx"))
    >>> import onnxruntime
    >>> session = onnxruntime.InferenceSession(path)
    >>> proba, label = session.run(None, {"input": X[:5].astype(np.float32)})
    >>> proba.shape, label.dtype.name
    ((5, 10), 'int64')
    >>> bool((label == model.predict(X[:5])).all())
    True
    """
    data, _ = build_onnx(model, opset=opset)
    path = pathlib.Path(path)
    with atomic_write(path) as out:
        out.write(data)
    return path


def check_input(X, shape):
    """``X`` as a float32 array of ``(n, *shape)``, or a clear ValueError."""
    X = np.asarray(X)
    if X.ndim < 1 or tuple(X.shape[1:]) != tuple(shape):
        raise ValueError(
            f"the ONNX model takes input of shape {shape_text(shape)}, got X of shape "
            f"{X.shape}"
            + (
                f"; reshape it with X.reshape(len(X), *{tuple(shape)})"
                if X.ndim >= 1 and math.prod(X.shape[1:]) == math.prod(shape)
                else ""
            )
        )
    if X.dtype.kind not in "uif":
        raise ValueError(f"X must hold numbers, got dtype {X.dtype}")
    return np.ascontiguousarray(X, dtype=np.float32)
