"""Callbacks the classifiers use by default."""

import math

import torch
from skorch.callbacks import Callback

from ..utils import fit_threads, in_worker_pool

__all__ = ["OneCycle", "ThreadShare"]


class OneCycle(Callback):
    """One-cycle learning-rate schedule (Smith 2018) over the whole fit, per batch.

    The peak learning rate is the net's ``lr``; the number of steps is known once
    the training set is: ``max_epochs * ceil(n_train / batch_size)``. Remove it
    with ``set_params(callbacks__lr_schedule=None)`` for a constant rate.

    Parameters
    ----------
    pct_start : float, default=0.25
        Fraction of the steps spent warming up.
    div_factor, final_div_factor : float
        As in :class:`torch.optim.lr_scheduler.OneCycleLR`.
    """

    def __init__(self, pct_start=0.25, div_factor=25.0, final_div_factor=1e3):
        self.pct_start = pct_start
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.scheduler_ = None

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self.scheduler_ is not None:
            return
        steps = max(1, math.ceil(len(dataset_train) / net.batch_size)) * net.max_epochs
        self.scheduler_ = torch.optim.lr_scheduler.OneCycleLR(
            net.optimizer_,
            max_lr=net.lr,
            total_steps=steps + 1,
            pct_start=self.pct_start,
            div_factor=self.div_factor,
            final_div_factor=self.final_div_factor,
        )

    def on_batch_end(self, net, training=False, **kwargs):
        if training and self.scheduler_ is not None:
            if self.scheduler_.last_epoch < self.scheduler_.total_steps - 1:
                self.scheduler_.step()

    def on_train_end(self, net, **kwargs):
        self.scheduler_ = None  # holds the optimizer; not needed after fit


class ThreadShare(Callback):
    """Take this fit's current share of the cores before every training batch.

    In joblib's loky workers several fits run at once and start or finish at
    different times; each batch re-reads ``fit_threads()`` so a fit left
    alone takes the cores its finished siblings gave back. Elsewhere it does
    nothing. The count found before fit is restored after it
    (``thread_budget`` around ``fit``).
    """

    def on_batch_begin(self, net, training=False, **kwargs):
        if training and in_worker_pool():
            n_threads = fit_threads()
            if n_threads is not None and n_threads != torch.get_num_threads():
                torch.set_num_threads(n_threads)
