"""Transformers for image data."""

from ._augment import RandomAffineAugmenter, random_affine_matrices, warp_affine
from ._flatten import Flatten
from ._normalizer import Normalizer255

__all__ = [
    "Flatten",
    "Normalizer255",
    "RandomAffineAugmenter",
    "random_affine_matrices",
    "warp_affine",
]
