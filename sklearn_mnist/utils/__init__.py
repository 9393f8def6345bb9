"""Helpers shared across sklearn_mnist."""

from ._validation import (
    infer_clip_range,
    infer_image_shape,
    sample_shape,
    validate_images,
)

__all__ = [
    "infer_clip_range",
    "infer_image_shape",
    "sample_shape",
    "validate_images",
]
