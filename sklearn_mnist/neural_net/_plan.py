"""How long and how a fit trains when its parameters say ``"auto"``.

Training length counted in epochs suits one data size only: 3 epochs of 60,000
digits are 705 optimizer steps, 3 epochs of 300 digits are 6. With
``max_epochs="auto"`` a fit trains for the classifier's epochs on large data,
but for at least ``min_steps`` optimizer steps (fewer in proportion beyond
``full_until`` samples), so small training sets get enough updates while large
ones train no longer than before; ``batch_size="auto"`` keeps several batches
per epoch on small data (and, where a classifier says so, a smaller batch up to
``full_until`` samples: as many steps for half the arithmetic, within 0.15
points of the accuracy, measured); ``augment="auto"`` distorts image batches at
random (rotation, shift, zoom: ``RandomAffineAugmenter()``'s defaults), the
regulariser that matters most when labels are few. The constants of each
classifier were chosen by measurement (``benchmarks/bench_learning_curve.py``,
results in ``benchmarks/RESULTS.md``) and are class attributes, not hidden
globals.
"""

import math
from dataclasses import dataclass

from ._params import check_batch_size

__all__ = [
    "AutoDefaults",
    "PlanMixin",
    "TrainingPlan",
    "looks_like_images",
    "plan_training",
]

_MIN_SIDE = 8  # smallest image side augmentation is used on (load_digits: 8x8)


@dataclass(frozen=True)
class AutoDefaults:
    """What ``"auto"`` resolves to for one classifier.

    Attributes
    ----------
    batch_size : int
        The batch size on large data (more than ``full_until`` samples); any
        fit uses at most a quarter of the training set per batch (at least 16
        samples).
    epochs : int
        The epochs on large data.
    min_steps : int
        The optimizer steps a fit takes at least, on up to ``full_until``
        training samples.
    full_until : int or None
        Beyond this many samples the step floor shrinks in proportion
        (``min_steps * full_until / n``), so that large data train for
        ``epochs`` and no longer; None keeps the floor at every size.
    small_batch_size : int or None
        The batch size on up to ``small_until`` samples (None:
        ``batch_size``). Beyond ``full_until`` the step floor counts
        ``min_steps`` small batches' worth of samples in batches of
        ``batch_size``, so that what a fit trains on does not jump where the
        batch size changes.
    small_until : int or None
        Where ``small_batch_size`` stops; None: ``full_until``.
    augment_until : int or None
        ``augment="auto"`` augments image-like training sets of up to this
        many samples (on more, the few epochs of large data are better spent
        on clean images); None: at every size, 0: never. The same limit
        tells a classifier where regularising (its ``regularise`` in
        :class:`TrainingPlan`) stops.
    """

    batch_size: int
    epochs: int
    min_steps: int
    full_until: int = None
    augment_until: int = None
    small_batch_size: int = None
    small_until: int = None

    def large(self, n_train):
        """True when ``n_train`` samples are more than ``full_until``."""
        return self.full_until is not None and n_train > self.full_until

    def auto_batch_size(self, n_train):
        """``batch_size="auto"`` for ``n_train`` samples."""
        size = self.batch_size
        until = self.full_until if self.small_until is None else self.small_until
        if self.small_batch_size is not None and (until is None or n_train <= until):
            size = self.small_batch_size
        return min(size, max(16, n_train // 4))

    def step_floor(self, n_train):
        """The fewest optimizer steps a fit on ``n_train`` samples takes."""
        if not self.large(n_train):
            return self.min_steps
        # min_steps small batches' worth of samples, in large batches
        small = (self.small_batch_size or self.batch_size) / self.batch_size
        return math.ceil(self.min_steps * small * self.full_until / n_train)


@dataclass(frozen=True)
class TrainingPlan:
    """The resolved batch size, epochs and augmenter of one fit.

    ``regularise`` is False on more than ``augment_until`` samples.
    """

    batch_size: int
    epochs: int
    steps_per_epoch: int
    augment: object
    regularise: bool = True


def looks_like_images(image_shape):
    """True for ``(c, h, w)`` with 1, 3 or 4 channels and both sides >= 8."""
    c, h, w = image_shape
    return c in (1, 3, 4) and min(h, w) >= _MIN_SIDE


def _length(net, n_train, defaults):
    """``(batch_size, steps_per_epoch, epochs)`` of a fit on ``n_train``."""
    if net.batch_size == "auto":
        batch_size = defaults.auto_batch_size(n_train)
    else:
        batch_size = int(net.batch_size)
    # Batches are drawn in iterator_train__batch_size where that is set.
    drawn = vars(net).get("iterator_train__batch_size", batch_size)
    steps_per_epoch = max(1, math.ceil(n_train / drawn))
    if net.max_epochs == "auto":
        floor = defaults.step_floor(n_train)
        epochs = max(defaults.epochs, math.ceil(floor / steps_per_epoch))
    else:
        epochs = int(net.max_epochs)
    return batch_size, steps_per_epoch, epochs


def plan_training(net, n_train, defaults):
    """The :class:`TrainingPlan` of ``net`` for ``n_train`` training samples."""
    batch_size, steps_per_epoch, epochs = _length(net, n_train, defaults)
    limit = defaults.augment_until
    regularise = limit is None or n_train <= limit
    augment = net.augment
    if isinstance(augment, str) and augment == "auto":
        augment = None
        if regularise and looks_like_images(net.image_shape_):
            from ..preprocessing import RandomAffineAugmenter

            augment = RandomAffineAugmenter()
    return TrainingPlan(batch_size, epochs, steps_per_epoch, augment, regularise)


class PlanMixin:
    """The resolved plan of :class:`BaseImageClassifier`: ``batch_size_``,
    ``max_epochs_``, ``steps_per_epoch_``, ``augment_``."""

    def _n_train(self, n_samples):
        """The samples a fit on ``n_samples`` trains on (early stopping holds
        out ``validation_fraction``)."""
        if self.early_stopping:
            return max(1, int(n_samples * (1 - self.validation_fraction)))
        return n_samples

    def planned_epochs(self, n_samples):
        """The epochs a ``fit`` on ``n_samples`` samples would train
        (``max_epochs``, or what ``"auto"`` resolves to for that size):
        the full training budget a search hands out in pieces."""
        return _length(self, self._n_train(n_samples), self.auto_defaults)[2]

    def _plan(self, n_samples):
        """Resolve ``"auto"`` batch size, epochs and augmentation for this fit
        (the hook subclasses extend: TransferClassifier's input size, freezing)."""
        plan = plan_training(self, self._n_train(n_samples), self.auto_defaults)
        self.batch_size_ = plan.batch_size
        self.max_epochs_ = plan.epochs
        self.steps_per_epoch_ = plan.steps_per_epoch
        self.augment_ = plan.augment
        return plan

    def _plan_pass(self, n_samples):
        """A partial_fit call's cycle spans ``max_epochs_`` calls of this
        call's size (not fit's epochs of fit's batches). The step floor of
        "auto" is for a whole fit; here the calls are the user's: a cycle
        spans the classifier's large-data epochs in calls (a floor-sized
        cycle of many calls kept dozens of calls in its warm-up)."""
        batch_size = check_batch_size(self, "iterator_train")
        self.steps_per_epoch_ = max(1, math.ceil(self._n_train(n_samples) / batch_size))
        if self.max_epochs == "auto":
            self.max_epochs_ = self.auto_defaults.epochs
