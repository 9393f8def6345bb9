"""Deployment: fitted models, preprocessing included, as ONNX files."""

from ._onnx import export_onnx
from ._verify import OnnxVerification, verify_onnx

__all__ = ["OnnxVerification", "export_onnx", "verify_onnx"]
