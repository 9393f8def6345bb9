"""Helpers shared across sklearn_mnist."""

from ._validation import infer_image_shape, validate_images

__all__ = ["infer_image_shape", "validate_images"]
