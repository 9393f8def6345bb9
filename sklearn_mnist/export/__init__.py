"""Deployment: fitted models, preprocessing included, as ONNX files."""

from ._check import check_images as check_images  # internal API: `name as name`
from ._onnx import MIN_OPSET as MIN_OPSET
from ._onnx import build_onnx as build_onnx
from ._onnx import export_onnx
from ._onnx import shape_text as shape_text
from ._verify import OnnxFileError, OnnxVerification, verify_onnx

__all__ = ["OnnxFileError", "OnnxVerification", "export_onnx", "verify_onnx"]
