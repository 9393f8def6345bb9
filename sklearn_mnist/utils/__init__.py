"""Helpers shared across sklearn_mnist."""

from ._validation import infer_image_shape, sample_shape, validate_images

__all__ = ["infer_image_shape", "sample_shape", "validate_images"]
