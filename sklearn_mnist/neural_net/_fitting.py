"""The state of one fit, in one object that lives as long as the fit.

``fit``, ``partial_fit`` and a warm-started ``fit`` all run inside
:func:`fitting`, which makes a :class:`FitState` and hands it to the net for
the duration of the call (``net.fit_state``; None outside a fit). Everything
that belongs to one call and not to the fitted model is in it: the random
sources of the batches, the validation split's seed, the mixed-precision loss
scaler, whether the call starts a new learning-rate cycle, the epochs it runs
and the plan it trains by. Nothing of it survives the call, so a fitted model
holds parameters and fitted attributes only (what ``save`` writes and
``clone`` copies).
"""

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.utils import check_random_state

from ..utils import announce_fit, settle_allocator, thread_budget

__all__ = ["FitState", "fitting"]

# Successive fits of one model draw new batches and distortions: the seed moves
# on by this prime for every epoch already trained.
_SEED_STRIDE = 7919


@dataclass
class FitState:
    """What one call of ``fit`` / ``partial_fit`` needs besides the model.

    Attributes
    ----------
    incremental : bool
        A ``partial_fit`` call (one pass, the learning-rate cycle continues).
    first : bool
        The call starts from an unfitted network (classes, input statistics
        and plan are set by it).
    epochs : int
        Epochs this call runs.
    new_cycle : bool
        The call starts a new learning-rate cycle (``fit``, warm ``fit``).
    plan : TrainingPlan or None
        The plan this call resolved (None for a later ``partial_fit`` call,
        which keeps the first call's).
    batch_rng : numpy.random.RandomState
        Draws augmentation, adversarial starts and outlier batches.
    shuffle_generator : torch.Generator or None
        Draws the batches (None: torch's global generator).
    split_seed : int or None
        Seeds early stopping's validation split.
    precision : MixedPrecision or None
        The training autocast and loss scaler (set when training begins).
    """

    incremental: bool
    first: bool
    epochs: int = 1
    new_cycle: bool = True
    plan: object = None
    batch_rng: np.random.RandomState = None
    shuffle_generator: torch.Generator = None
    split_seed: int = None
    precision: object = None


@contextlib.contextmanager
def _seeded(state, random_state, offset):
    """Seed ``state``'s random sources from ``random_state`` moved on by
    ``offset``; weight initialisation and dropout draw from torch's global
    generator, forked so that the caller's stream is left as it was."""
    if random_state is None:
        state.batch_rng = np.random.RandomState()
        yield
        return
    seed = int(check_random_state(random_state).randint(2**31 - 1))
    seed = (seed + _SEED_STRIDE * offset) % (2**31 - 8)
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        state.shuffle_generator = torch.Generator().manual_seed(seed + 1)
        state.batch_rng = np.random.RandomState(seed + 2)
        state.split_seed = seed + 3
        yield


@contextlib.contextmanager
def fitting(net, state, offset=0):
    """Run the block as one fit of ``net`` with ``state``.

    Seeds (``net.random_state`` moved on by ``offset``: the epochs already
    trained), the thread budget (which also undoes the per-batch changes of
    ``ThreadShare``), the allocator settled once per process, the fit counted
    among its worker pool's fits; ``net.fit_state`` is ``state`` inside the
    block and None again after it, however the block ends.
    """
    settle_allocator()  # once per process: no first fit of page faults
    with announce_fit(), thread_budget(), _seeded(state, net.random_state, offset):
        net._fit_state = state
        try:
            yield state
        finally:
            del net._fit_state
