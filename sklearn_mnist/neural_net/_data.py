"""The fast data path: batches sliced straight from tensors held in memory.

skorch's default ``DataLoader`` collates every batch sample by sample; for
28x28 images that Python overhead dominates training. ``InMemoryDataset`` keeps
the whole array as one tensor (uint8 stays uint8: 47 MB for MNIST) and
``TensorBatchIterator`` slices a batch per step with one indexing call.
"""

import math

import numpy as np
import torch
from skorch.dataset import ValidSplit
from torch.utils.data import Dataset

from ._params import check_batch_size

__all__ = ["DataPathMixin", "InMemoryDataset", "TensorBatchIterator"]

_PREDICT_BATCH = 1024  # prediction batches: at least this many samples


class InMemoryDataset(Dataset):
    """``X`` of shape (n, c, h, w), optional integer ``y`` and optional
    per-sample ``weight``, as tensors."""

    def __init__(self, X, y=None, weight=None):
        self.X = torch.as_tensor(X)
        self.y = None if y is None else torch.as_tensor(y, dtype=torch.int64)
        self.weight = None if weight is None else torch.as_tensor(weight)

    def with_inputs(self, X):
        """The same labels and weights with other inputs (e.g. cached features)."""
        return InMemoryDataset(X, self.y, self.weight)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):  # the slow path, for callbacks that index samples
        return self.X[i], (self.y[i] if self.y is not None else torch.tensor(0))


class TensorBatchIterator:
    """Yields ``(X_batch, y_batch)`` float32 tensors on ``device``.

    ``y_batch`` is ``(labels, weights)`` when the dataset has sample weights.

    Parameters
    ----------
    dataset : InMemoryDataset or torch.utils.data.Subset of one
    batch_size : int
    shuffle : bool
        Draw a new permutation every epoch (every ``iter()``).
    generator : torch.Generator, optional
        Source of the permutations, for reproducible shuffling.
    device : str
    channels_last : bool
        Return batches in channels-last memory format (faster convolutions on CPU).
    drop_single : bool
        Skip a final batch of one sample (batch norm cannot train on it).
    """

    def __init__(
        self, dataset, batch_size, *, shuffle, generator=None, device="cpu",
        channels_last=False, drop_single=False,
    ):  # fmt: skip
        indices = getattr(dataset, "indices", None)
        base = dataset.dataset if indices is not None else dataset
        self.X, self.y = base.X, base.y
        self.weight = getattr(base, "weight", None)
        self.indices = None if indices is None else torch.as_tensor(indices)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.device = device
        self.channels_last = channels_last
        self.drop_single = drop_single

    def __len__(self):
        n = len(self.X) if self.indices is None else len(self.indices)
        return math.ceil(n / self.batch_size)

    def __iter__(self):
        n = len(self.X) if self.indices is None else len(self.indices)
        order = (
            torch.randperm(n, generator=self.generator)
            if self.shuffle
            else torch.arange(n)
        )
        if self.indices is not None:
            order = self.indices[order]
        gather = self.shuffle or self.indices is not None
        stop = n - 1 if self.drop_single and n > 1 and n % self.batch_size == 1 else n
        for start in range(0, stop, self.batch_size):
            idx = (
                order[start : start + self.batch_size]
                if gather
                else slice(start, start + self.batch_size)
            )
            xb = self.X[idx].to(self.device, non_blocking=True).float()
            if self.channels_last and xb.ndim == 4:
                xb = xb.contiguous(memory_format=torch.channels_last)
            if self.y is None:
                yb = torch.zeros(len(xb), dtype=torch.int64, device=self.device)
            else:
                yb = self.y[idx].to(self.device, non_blocking=True)
            if self.weight is not None:
                yb = (yb, self.weight[idx].to(self.device, non_blocking=True))
            yield xb, yb


class DataPathMixin:
    """skorch's data hooks of :class:`BaseImageClassifier`: arrays in memory
    become :class:`InMemoryDataset` / :class:`TensorBatchIterator`; early
    stopping holds out a stratified validation set."""

    def get_dataset(self, X, y=None):
        if isinstance(X, np.ndarray | torch.Tensor):
            return InMemoryDataset(X, y)
        return super().get_dataset(X, y)

    def get_split_datasets(self, X, y=None, **fit_params):
        if not self.early_stopping:
            return super().get_split_datasets(X, y, **fit_params)
        dataset = self.get_dataset(X, y)
        counts = np.bincount(np.asarray(y))
        stratified = bool(counts[counts > 0].min() >= 2)
        split = ValidSplit(
            self.validation_fraction,
            stratified=stratified,
            random_state=None if self.fit_state is None else self.fit_state.split_seed,
        )
        return split(dataset, y if stratified else None)

    def get_iterator(self, dataset, training=False):
        base = getattr(dataset, "dataset", dataset)
        if not isinstance(base, InMemoryDataset):
            return super().get_iterator(dataset, training=training)
        prefix = "iterator_train" if training else "iterator_valid"
        state = self.fit_state
        batch_size = check_batch_size(self, prefix)
        if not training:
            batch_size = max(batch_size, _PREDICT_BATCH)
        return TensorBatchIterator(
            dataset,
            batch_size,
            shuffle=training,
            generator=None if state is None else state.shuffle_generator,
            device=self.device_,
            channels_last=self.channels_last,
            drop_single=training,
        )
