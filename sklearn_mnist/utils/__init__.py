"""Helpers shared across sklearn_mnist."""

from ._parallel import (
    announce_fit,
    dask_worker_slot,
    fit_threads,
    in_worker_pool,
    round_robin_device,
    thread_budget,
)
from ._validation import (
    infer_clip_range,
    infer_image_shape,
    sample_shape,
    validate_images,
)

__all__ = [
    "announce_fit",
    "dask_worker_slot",
    "fit_threads",
    "in_worker_pool",
    "infer_clip_range",
    "infer_image_shape",
    "round_robin_device",
    "sample_shape",
    "thread_budget",
    "validate_images",
]
