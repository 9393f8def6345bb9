"""Sharing a machine between concurrent fits: thread budgets and GPUs per worker.

When several fits run at once on one machine (``GridSearchCV(n_jobs>1)``, Dask
workers), every fit that uses all cores oversubscribes them: two 2-thread
torch fits on 2 cores run 0.6x as fast as one after the other (measured, see
``benchmarks/RESULTS.md``). joblib's loky workers already get
``cores // n_jobs`` threads through ``OMP_NUM_THREADS``; Dask workers do not,
so each fit asks here how many threads it may use.
"""

import contextlib
import functools
import os

import torch

__all__ = ["dask_worker_slot", "fit_threads", "round_robin_device", "thread_budget"]


def _cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def _current_dask_worker():
    try:
        from distributed import get_worker
    except ImportError:
        return None
    try:
        return get_worker()
    except ValueError:  # not inside a Dask task
        return None


@functools.lru_cache(maxsize=8)
def _host_layout(scheduler_address, worker_address):
    """(slots on this host, rank of this worker among the host's workers)."""
    from distributed import get_client

    host = worker_address.rsplit(":", 1)[0]
    workers = get_client().scheduler_info(n_workers=-1)["workers"]
    local = sorted(
        (address, info.get("nthreads", 1))
        for address, info in workers.items()
        if address.rsplit(":", 1)[0] == host
    )
    slots = sum(n for _, n in local)
    rank = [address for address, _ in local].index(worker_address)
    return slots, rank


def dask_worker_slot():
    """``(concurrent task slots on this host, this worker's rank)`` or None.

    None outside a Dask task. The slots are the threads of every Dask worker on
    this host (each thread runs one fit at a time).
    """
    worker = _current_dask_worker()
    if worker is None:
        return None
    nthreads = max(1, getattr(worker.state, "nthreads", 1))
    try:
        slots, rank = _host_layout(worker.scheduler.address, worker.address)
    except Exception:  # scheduler unreachable: this worker's threads only
        slots, rank = nthreads, 0
    return max(slots, nthreads), rank


def fit_threads():
    """Threads one fit should give torch, or None to leave torch's setting.

    Inside a Dask task: ``cores // concurrent slots on this host`` (at least 1).
    Elsewhere None: in joblib's loky workers ``OMP_NUM_THREADS`` already holds
    the share, and a lone fit may use every core.
    """
    slot = dask_worker_slot()
    if slot is None:
        return None
    return max(1, _cpu_count() // slot[0])


@contextlib.contextmanager
def thread_budget(n_threads=None):
    """Run the block with ``torch.set_num_threads(n_threads)``, then restore.

    ``n_threads=None`` uses :func:`fit_threads` (and changes nothing outside
    Dask).
    """
    if n_threads is None:
        n_threads = fit_threads()
    previous = torch.get_num_threads()
    if n_threads is None or n_threads == previous:
        yield previous
        return
    torch.set_num_threads(n_threads)
    try:
        yield n_threads
    finally:
        torch.set_num_threads(previous)


def round_robin_device(n_gpus=None):
    """``"cuda:i"`` for this Dask worker when a host has several GPUs, else None.

    Workers on one host take GPUs in turn by rank (worker 0 -> cuda:0, worker 1
    -> cuda:1, ...), so a cluster with one single-threaded worker per GPU runs
    one fit per GPU, as skorch's documentation recommends.
    """
    if n_gpus is None:
        n_gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if n_gpus < 2:
        return None
    slot = dask_worker_slot()
    if slot is None:
        return None
    return f"cuda:{slot[1] % n_gpus}"
