"""``verify_onnx``: an exported file against the model, in onnxruntime."""

import json
import os
from dataclasses import dataclass

import numpy as np
import torch

from ._onnx import INPUT_NAME, OUTPUT_NAMES, REJECT_OUTPUT, check_input, require

__all__ = ["OnnxVerification", "onnx_session", "verify_onnx"]

_BATCH = 1024


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
    ValueError
        If ``X`` does not have the file's input shape.
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
    session = onnx_session(onnx_model)
    meta = session.get_modelmeta().custom_metadata_map
    shape = tuple(json.loads(meta["input_shape"])[1:])
    X_onnx = check_input(X, shape)
    classes = np.asarray(json.loads(meta["classes"]), dtype=meta["classes_dtype"])
    reject = "reject_label" in meta  # a RejectOptionClassifier's third output
    names = list(OUTPUT_NAMES) + ([REJECT_OUTPUT] if reject else [])
    parts = [
        session.run(names, {INPUT_NAME: X_onnx[i : i + _BATCH]})
        for i in range(0, len(X_onnx), _BATCH)
    ]
    n_classes = len(classes)
    proba = np.concatenate([p[0] for p in parts]) if parts else np.empty((0, n_classes))
    index = np.concatenate([p[1] for p in parts]) if parts else np.empty(0, int)
    labels = classes[index]
    if reject:
        accepted = np.concatenate([p[2] for p in parts]) if parts else np.empty(0)
        reject_label = json.loads(meta["reject_label"])
        labels = np.where(accepted, labels.astype(object), reject_label)
    expected_proba = np.asarray(model.predict_proba(X))
    expected = np.asarray(model.predict(X))
    if proba.shape != expected_proba.shape:
        raise ValueError(
            f"the ONNX model gives probabilities of shape {proba.shape}, the model "
            f"{expected_proba.shape}: the file was not exported from this model"
        )
    return OnnxVerification(
        n_samples=len(X_onnx),
        n_label_mismatches=int((labels != expected).sum()),
        max_abs_diff=float(np.abs(proba - expected_proba).max(initial=0.0)),
        atol=float(atol),
    )
