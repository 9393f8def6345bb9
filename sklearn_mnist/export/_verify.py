"""``verify_onnx``: an exported file against the model, in onnxruntime."""

import json
import os
import stat
from dataclasses import dataclass

import numpy as np
import torch

from ._onnx import (
    INPUT_NAME,
    OUTPUT_NAMES,
    REJECT_OUTPUT,
    check_input,
    require,
    shape_text,
)

__all__ = ["OnnxFileError", "OnnxVerification", "onnx_session", "verify_onnx"]

_BATCH = 1024
_PREFIX = "this file is not a valid export of this model: "
_JSON_MAX = 1_000_000  # characters of one metadata value read as JSON


class OnnxFileError(ValueError):
    """An ONNX file :func:`verify_onnx` cannot compare with the model.

    Raised for any file that is missing, not a regular file, unreadable,
    damaged (truncated, altered bytes that onnxruntime refuses), without the
    metadata :func:`export_onnx` writes or with values there that are not
    what it writes, whose graph lacks the inputs and outputs it writes or
    answers in other shapes, or that was exported from a model with other
    classes. Its message starts with "this file is not a valid export of this
    model: " and says why. A subclass of ``ValueError``.
    """


def _invalid(reason, cause=None):
    error = OnnxFileError(_PREFIX + reason)
    error.__cause__ = cause
    return error


def _first_line(exc):
    text = str(exc).strip().splitlines()
    text = text[0] if text else ""
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def _source(onnx_model):
    """The file's bytes, or its path once checked to be a regular file."""
    if isinstance(onnx_model, (bytes, bytearray, memoryview)):
        data = bytes(onnx_model)
        if not data:
            raise _invalid("the bytes given are empty")
        return data
    try:
        path = os.fspath(onnx_model)
    except TypeError:
        raise TypeError(
            "onnx_model must be the path of an ONNX file (str or path-like) or its "
            f"content (bytes), got {type(onnx_model).__name__}"
        ) from None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    try:
        info = os.stat(path)
    except (OSError, ValueError) as exc:
        reason = "no such file" if isinstance(exc, FileNotFoundError) else (
            _first_line(exc)
        )  # fmt: skip
        raise _invalid(f"cannot read {path!r} ({reason})", exc) from exc
    if stat.S_ISDIR(info.st_mode):
        raise _invalid(f"{path!r} is a folder, not an ONNX file")
    if not stat.S_ISREG(info.st_mode):
        raise _invalid(f"{path!r} is not a regular file (a device, FIFO or socket)")
    if info.st_size == 0:
        raise _invalid(f"{path!r} is empty")
    return path


def _json(meta, key, check, what):
    """``meta[key]`` read as JSON and accepted by ``check``, else OnnxFileError."""
    if key not in meta:
        raise _invalid(f"its metadata has no {key!r} (export_onnx writes it)")
    text = meta[key]
    if len(text) > _JSON_MAX:
        raise _invalid(f"its metadata {key!r} is {len(text):,} characters long")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _invalid(
            f"its metadata {key!r} is not JSON ({_first_line(exc)})", exc
        ) from exc
    if not check(value):
        raise _invalid(f"its metadata {key!r} is {text[:80]!r}, not {what}")
    return value


def _is_scalar(value):
    return value is None or isinstance(value, (bool, int, float, str))


def _is_shape(value):
    return (
        isinstance(value, list) and len(value) >= 2 and value[0] is None
        and all(type(v) is int and 0 < v <= 2**31 for v in value[1:])
    )  # fmt: skip


def _metadata(session, model):
    """``(input shape, classes, reject label or None)`` read from the file
    and checked against what export_onnx writes and against ``model``."""
    meta = session.get_modelmeta().custom_metadata_map
    shape = _json(meta, "input_shape", _is_shape, "[null, d1, d2, ...]")
    classes = _json(
        meta, "classes", lambda v: isinstance(v, list) and v and all(
            _is_scalar(c) for c in v
        ), "a JSON list of labels",
    )  # fmt: skip
    if "classes_dtype" not in meta:
        raise _invalid("its metadata has no 'classes_dtype' (export_onnx writes it)")
    try:
        dtype = np.dtype(meta["classes_dtype"])
        classes = np.asarray(classes, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as exc:
        raise _invalid(
            f"its metadata 'classes_dtype' {meta['classes_dtype'][:40]!r} does not "
            f"hold its classes ({_first_line(exc)})",
            exc,
        ) from exc
    if classes.ndim != 1:
        raise _invalid("its metadata 'classes' is not a flat list of labels")
    reject = None
    if "reject_label" in meta:
        reject = [_json(meta, "reject_label", _is_scalar, "one label")]
    expected = getattr(model, "classes_", None)
    if expected is not None:
        expected = np.asarray(expected)
        same = len(expected) == len(classes)
        if same:
            try:
                same = bool(np.all(expected == classes))
            except (TypeError, ValueError):
                same = False
        if not same:
            raise _invalid(
                f"its classes {_short(classes)} are not the model's "
                f"{_short(expected)}: it was exported from another model"
            )
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name for o in session.get_outputs()}
    wanted = set(OUTPUT_NAMES) | ({REJECT_OUTPUT} if reject else set())
    if set(inputs) != {INPUT_NAME} or not wanted <= outputs:
        raise _invalid(
            f"its graph has the inputs {sorted(inputs)} and outputs "
            f"{sorted(outputs)}; export_onnx writes the input {INPUT_NAME!r} and "
            f"the outputs {sorted(wanted)}"
        )
    graph_shape = inputs[INPUT_NAME].shape
    if len(graph_shape) != len(shape) or any(
        isinstance(d, int) and d != s
        for d, s in zip(graph_shape[1:], shape[1:], strict=True)
    ):
        raise _invalid(
            f"its graph takes input of shape {graph_shape}, its metadata says "
            f"{shape_text(tuple(shape[1:]))}"
        )
    return tuple(shape[1:]), classes, (reject[0] if reject else None)


def _short(values):
    values = list(np.asarray(values).tolist())
    return str(values if len(values) <= 12 else values[:12] + ["..."])


def _run(session, X_onnx, names, n_classes):
    """The file's outputs on ``X_onnx``, checked: probabilities ``(n,
    n_classes)``, labels indices into the classes."""
    parts = []
    for i in range(0, len(X_onnx), _BATCH):
        batch = X_onnx[i : i + _BATCH]
        try:
            out = session.run(names, {INPUT_NAME: batch})
        except Exception as exc:  # onnxruntime's errors have no common base
            raise _invalid(
                f"onnxruntime cannot run it ({_first_line(exc)})", exc
            ) from exc
        proba, index = (np.asarray(o) for o in out[:2])
        if proba.shape != (len(batch), n_classes) or index.shape != (len(batch),):
            raise _invalid(
                f"on {len(batch)} samples it answers probabilities of shape "
                f"{proba.shape} and labels of shape {index.shape}; the model has "
                f"{n_classes} classes"
            )
        if index.dtype.kind not in "iu" or (
            index.size and (index.min() < 0 or index.max() >= n_classes)
        ):
            raise _invalid(
                f"its labels are not indices into its {n_classes} classes "
                f"({index.dtype}, {index.min(initial=0)} to {index.max(initial=0)})"
            )
        if len(out) > 2 and np.asarray(out[2]).shape != (len(batch),):
            raise _invalid(f"its output {REJECT_OUTPUT!r} is not one value a sample")
        parts.append(out)
    return parts


@dataclass(frozen=True)
class OnnxVerification:
    """How an ONNX file's predictions compare with the model's.

    Attributes
    ----------
    n_samples : int
    n_label_mismatches : int
        Samples whose label from the file (through its ``classes`` metadata)
        differs from ``model.predict``.
    max_abs_diff : float
        ``max |p_onnx - p_model|`` over every sample and class.
    atol : float
        The tolerance ``passed`` uses.
    """

    n_samples: int
    n_label_mismatches: int
    max_abs_diff: float
    atol: float

    @property
    def passed(self):
        """Labels identical and probabilities within ``atol``."""
        return self.n_label_mismatches == 0 and self.max_abs_diff <= self.atol

    def __str__(self):
        labels = (
            "labels identical"
            if self.n_label_mismatches == 0
            else f"{self.n_label_mismatches:,} labels differ"
        )
        verdict = "passed" if self.passed else "FAILED"
        return (
            f"{self.n_samples:,} samples: {labels}, max |p_onnx - p_model| = "
            f"{self.max_abs_diff:.2e} (atol {self.atol:g}): {verdict}"
        )


def onnx_session(onnx_model, *, n_threads=None):
    """An onnxruntime ``InferenceSession`` on the CPU.

    ``onnx_model`` is a path or the file's bytes; ``n_threads`` (default: as
    many as torch uses, ``torch.get_num_threads()``) is onnxruntime's
    ``intra_op_num_threads``.
    """
    (ort,) = require("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = n_threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    if not isinstance(onnx_model, bytes):
        onnx_model = os.fspath(onnx_model)
    return ort.InferenceSession(onnx_model, options, providers=["CPUExecutionProvider"])


def verify_onnx(model, onnx_model, X, *, atol=1e-5):
    """Compare an exported file's predictions with the model's own, on ``X``.

    Runs the file in onnxruntime (CPU, as many threads as torch uses) and
    compares its labels, mapped through its ``classes`` metadata, with
    ``model.predict(X)``, and its probabilities with ``model.predict_proba(X)``.

    Parameters
    ----------
    model : estimator
        The fitted model that was exported.
    onnx_model : str, path-like or bytes
        The file written by :func:`export_onnx`, or its content.
    X : array-like of shape (n_samples, ...)
        Input in the shape the file takes (its ``input_shape`` metadata), any
        numeric dtype: the file gets it as float32 (exact for uint8 pixels),
        the model as it is.
    atol : float, default=1e-5
        Tolerance on the probabilities for ``passed``.

    Returns
    -------
    OnnxVerification
        Sample count, label mismatches, largest probability difference, and
        ``passed``. Nothing is raised when they disagree: the caller decides.

    Raises
    ------
    OnnxFileError
        If the file is not a valid export of this model: missing, a folder or
        not a regular file, unreadable or damaged, without the metadata,
        inputs and outputs :func:`export_onnx` writes (or with other values
        there), answering in other shapes, or exported from a model with
        other classes. A ``ValueError``; its message says why.
    ValueError
        If ``X`` does not have the file's input shape.
    TypeError
        If ``onnx_model`` is neither a path nor bytes.
    ImportError
        If onnxruntime is not installed.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn_mnist import CNNClassifier, export_onnx, load_mnist_sample
    >>> from sklearn_mnist.export import verify_onnx
    >>> X, y = load_mnist_sample(return_X_y=True)
    >>> clf = CNNClassifier(max_epochs=1, augment=None, random_state=0)
    >>> clf = clf.fit(X[::10], y[::10])
    >>> path = export_onnx(clf, os.path.join(tempfile.mkdtemp(), "cnn.onnx"))
    >>> verify_onnx(clf, path, X[:500]).passed
    True
    """
    require("onnxruntime")  # ImportError first
    source = _source(onnx_model)
    try:
        session = onnx_session(source)
    except Exception as exc:  # InvalidProtobuf, NoSuchFile, Fail, InvalidGraph...
        raise _invalid(f"onnxruntime cannot read it ({_first_line(exc)})", exc) from exc
    shape, classes, reject_label = _metadata(session, model)
    X_onnx = check_input(X, shape)
    reject = reject_label is not None  # a RejectOptionClassifier's third output
    names = list(OUTPUT_NAMES) + ([REJECT_OUTPUT] if reject else [])
    n_classes = len(classes)
    parts = _run(session, X_onnx, names, n_classes)
    proba = np.concatenate([p[0] for p in parts]) if parts else np.empty((0, n_classes))
    index = np.concatenate([p[1] for p in parts]) if parts else np.empty(0, int)
    labels = classes[index]
    if reject:
        accepted = np.concatenate([p[2] for p in parts]) if parts else np.empty(0)
        labels = np.where(accepted, labels.astype(object), reject_label)
    expected_proba = np.asarray(model.predict_proba(X))
    expected = np.asarray(model.predict(X))
    if proba.shape != expected_proba.shape:
        raise _invalid(
            f"it gives probabilities of shape {proba.shape}, the model "
            f"{expected_proba.shape}: the file was not exported from this model"
        )
    return OnnxVerification(
        n_samples=len(X_onnx),
        n_label_mismatches=int((labels != expected).sum()),
        max_abs_diff=float(np.abs(proba - expected_proba).max(initial=0.0)),
        atol=float(atol),
    )
