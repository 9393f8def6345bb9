"""Callbacks the classifiers use by default."""

import dis
import math
import numbers

import numpy as np
from skorch.callbacks import (
    Callback,
    EarlyStopping,
    EpochTimer,
    PassthroughScoring,
    PrintLog,
    ProgressBar,
)

from ..utils import rebalance
from ._finite import FiniteLoss

__all__ = [
    "OneCycle",
    "ThreadShare",
    "default_callbacks",
    "one_cycle",
    "raised_by_callback",
]


def _cos(start, end, t):
    return end + (start - end) / 2.0 * (math.cos(math.pi * t) + 1.0)


def one_cycle(
    step, total, *, pct_start=0.25, div_factor=25.0, final_div_factor=1e3,
    base_momentum=0.85, max_momentum=0.95,
):  # fmt: skip
    """``(learning-rate factor, momentum)`` at ``step`` of a one-cycle schedule.

    The schedule of :class:`torch.optim.lr_scheduler.OneCycleLR` (cosine
    annealing, two phases): over the first ``pct_start`` of ``total`` steps
    the learning rate rises from ``1 / div_factor`` of its peak to the peak
    while the momentum falls from ``max_momentum`` to ``base_momentum``, then
    the rate falls to ``1 / (div_factor * final_div_factor)`` of the peak at
    step ``total - 1`` and the momentum rises back. Unlike ``OneCycleLR`` it
    is defined for every ``total >= 1``: a schedule too short for a warm-up
    starts at the peak, and a single step is taken at the peak (OneCycleLR
    divides by zero for fewer than about ``2 / pct_start`` steps).
    """
    total = max(int(total), 1)
    warm_end = pct_start * total - 1
    initial, final = 1.0 / div_factor, 1.0 / (div_factor * final_div_factor)
    if warm_end > 0 and step <= warm_end:
        t = step / warm_end
        return _cos(initial, 1.0, t), _cos(max_momentum, base_momentum, t)
    start = max(warm_end, 0.0)
    length = (total - 1) - start
    t = min(max((step - start) / length, 0.0), 1.0) if length > 0 else 0.0
    return _cos(1.0, final, t), _cos(base_momentum, max_momentum, t)


class OneCycle(Callback):
    """One-cycle learning-rate schedule (Smith 2018) over the whole fit, per batch.

    The peak learning rate is the net's ``lr`` (``optimizer__lr`` where set,
    as skorch gives it to the optimizer); the schedule spans the fit's
    planned optimizer steps (``max_epochs_`` epochs of ``steps_per_epoch_``
    batches) and works for any number of them, one included. ``fit`` starts
    a new schedule; ``partial_fit`` continues it across calls (one epoch per
    call), and the step after the last planned one starts a new cycle, also
    in the middle of a call (a ``partial_fit`` after ``fit`` starts one). The
    momentum (Adam's first beta, or SGD's momentum) cycles inversely, as in
    ``OneCycleLR``. Remove it with ``set_params(callbacks__lr_schedule=None)``
    for a constant rate.

    Parameters
    ----------
    pct_start : float, default=0.25
        Fraction of the steps spent warming up.
    div_factor, final_div_factor : float
        As in :class:`torch.optim.lr_scheduler.OneCycleLR`.
    cycle_momentum : bool, default=True
        Cycle the momentum between 0.85 and 0.95.

    Attributes
    ----------
    step_ : int
        Steps taken in the current cycle.
    total_ : int
        Steps in the current cycle.
    """

    def __init__(
        self, pct_start=0.25, div_factor=25.0, final_div_factor=1e3,
        cycle_momentum=True,
    ):  # fmt: skip
        self.pct_start = pct_start
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.cycle_momentum = cycle_momentum

    def initialize(self):
        self.step_, self.total_ = 0, None
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        # fit and a warm fit start a cycle (net.fit_state says which call this
        # is); a partial_fit call continues the running one. A cycle not yet
        # stepped (the one a fit's last step started) is planned again from
        # this call's plan (partial_fit's own chunks).
        state = getattr(net, "fit_state", None)
        if (
            (state is not None and state.new_cycle)
            or self.total_ is None
            or self.step_ == 0
            or self.step_ >= self.total_ - 1
        ):
            self._new_cycle(net)
        self._apply(net)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        # A fit's cycle ends with it (also when early stopping ends it): a
        # partial_fit after it starts a new one.
        state = getattr(net, "fit_state", None)
        if state is not None and state.new_cycle:
            self.initialize()

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.step_ += 1
            # The planned steps are done: the next step, in this call or the
            # next one, starts a new cycle (waiting for the next call left a
            # whole partial_fit call at the floor).
            if self.step_ >= self.total_ - 1:
                self._new_cycle(net)
            self._apply(net)

    def _new_cycle(self, net):
        self.step_ = 0
        # One more than the planned steps (as the first release's OneCycleLR),
        # so the last planned step is just above the floor.
        self.total_ = net.max_epochs_ * net.steps_per_epoch_ + 1

    def _apply(self, net):
        factor, momentum = one_cycle(
            min(self.step_, self.total_ - 1), self.total_,
            pct_start=self.pct_start, div_factor=self.div_factor,
            final_div_factor=self.final_div_factor,
        )  # fmt: skip
        peak = vars(net).get("optimizer__lr", net.lr)  # as skorch: it wins
        for group in net.optimizer_.param_groups:
            group["lr"] = peak * factor
            if not self.cycle_momentum:
                continue
            if "betas" in group:
                group["betas"] = (momentum, *group["betas"][1:])
            elif "momentum" in group:
                group["momentum"] = momentum


class ThreadShare(Callback):
    """Give torch the thread count this fit should have before every batch.

    :func:`~sklearn_mnist.utils.rebalance`: in joblib's loky workers several
    fits run at once and start or finish at different times, so a fit left
    alone takes the cores its finished siblings gave back; and while other
    processes keep cores busy, a fit uses only the free ones instead of
    spinning at every barrier for a thread the kernel descheduled. The count
    found before fit is restored after it (``thread_budget`` around ``fit``).
    """

    def on_batch_begin(self, net, training=False, **kwargs):
        rebalance()


_RAISE = dis.opmap["RAISE_VARARGS"]


def _noop(*args, **kwargs):
    pass


def _on(flag):
    """A boolean (or verbosity) parameter is set; any other value (refused at
    fit by the constraints) counts as off, so that building the default
    callbacks never fails in ``__init__`` / ``set_params``."""
    return isinstance(flag, numbers.Integral | np.bool_) and bool(flag)


def default_callbacks(net):
    """skorch's ``_default_callbacks`` of :class:`BaseImageClassifier`."""
    callbacks = [
        ("epoch_timer", EpochTimer()),
        ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
        ("finite_loss", FiniteLoss()),
        ("valid_loss", PassthroughScoring(name="valid_loss")),
        ("lr_schedule", OneCycle()),
        ("thread_share", ThreadShare()),
    ]
    if _on(net.early_stopping):
        callbacks.append(
            (
                "early_stopping",
                EarlyStopping(
                    monitor="valid_loss",
                    patience=net.n_iter_no_change,
                    threshold=net.tol,
                    threshold_mode="abs",
                    load_best=True,
                    sink=print if _on(net.verbose) else _noop,
                ),
            )
        )
    if _on(net.verbose):
        # Per-batch bar beside the epoch table; "count": our batch size
        # may be "auto", so the bar learns the batches in the first epoch.
        callbacks.append(("progress_bar", ProgressBar(batches_per_epoch="count")))
    return callbacks + [("print_log", PrintLog())]


def raised_by_callback(exc):
    """True when a skorch callback raised ``exc`` itself with a ``raise``
    statement (skorch's way to end training: ``EarlyStopping`` raises
    ``KeyboardInterrupt``), False for one from elsewhere: a Ctrl-C arrives
    between any two instructions, also while a callback's code runs, and is
    raised there, not at a ``raise``."""
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    if not isinstance(tb.tb_frame.f_locals.get("self"), Callback):
        return False
    code = tb.tb_frame.f_code.co_code
    return 0 <= tb.tb_lasti < len(code) and code[tb.tb_lasti] == _RAISE
