"""Transformers for image data."""

from ._flatten import Flatten
from ._normalizer import Normalizer255

__all__ = ["Flatten", "Normalizer255"]
