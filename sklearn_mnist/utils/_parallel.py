"""Sharing a machine between concurrent fits: thread budgets and GPUs per worker.

When several fits run at once on one machine (``GridSearchCV(n_jobs>1)``, Dask
workers), every fit that uses all cores oversubscribes them: two 2-thread
torch fits on 2 cores run 0.6x as fast as one after the other (measured, see
``benchmarks/RESULTS.md``). Each fit asks here how many threads it may use:

- in a Dask worker: ``cores // task threads of all workers on the host``;
- in one of joblib's loky workers: ``cores // fits running now`` in the
  workers of the same parent, re-checked at every training batch. loky starts
  its workers with ``OMP_NUM_THREADS = cores // n_jobs``, which is right while
  all of them fit but leaves cores idle when one fit is left (the last of 3
  fits on 2 workers ran on 1 of 2 cores: n_jobs=2 was 0.89x n_jobs=1).
  Fits announce themselves with a file named by their pid in a folder named
  by the parent's pid (stale files of dead processes are ignored).

That share, or torch's own count for a lone fit, is a ceiling: while other
processes keep cores busy, every batch of a fit, a prediction, an augmentation
or an attack runs on the cores they leave free (:func:`rebalance`,
``_contention.FreeCores``), unless the user chose the count.
"""

import contextlib
import functools
import multiprocessing
import os
import sys
import tempfile
import threading

import torch

from ._contention import FreeCores, adaptation_switched_off, threads_for

__all__ = [
    "announce_fit",
    "dask_worker_slot",
    "fit_threads",
    "in_worker_pool",
    "rebalance",
    "round_robin_device",
    "thread_budget",
]


def _cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def _current_dask_worker():
    # A Dask worker has imported distributed already; elsewhere, importing it
    # just to ask would add about a second to the first fit of a process.
    if "distributed" not in sys.modules:
        return None
    from distributed import get_worker

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


def _pool_folder():
    """The folder where fits in loky workers of one parent announce themselves,
    or None outside joblib's loky workers."""
    if not multiprocessing.current_process().name.startswith("LokyProcess"):
        return None
    return os.path.join(tempfile.gettempdir(), f"sklearn-mnist-fits-{os.getppid()}")


@contextlib.contextmanager
def announce_fit():
    """Count this process among the running fits of its loky pool (no-op
    outside loky workers)."""
    folder = _pool_folder()
    if folder is None:
        yield
        return
    path = os.path.join(folder, str(os.getpid()))
    for _ in range(3):  # a sibling may remove the (empty) folder in between
        os.makedirs(folder, exist_ok=True)
        try:
            with open(path, "w"):
                pass
            break
        except FileNotFoundError:
            continue
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.remove(path)
        with contextlib.suppress(OSError):  # the last fit leaves nothing behind
            os.rmdir(folder)


_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _environ_of(pid):
    """Environment variables of process ``pid`` (Linux), or None."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def _loky_siblings(ppid):
    """How many loky workers ``ppid`` runs (Linux), or None."""
    count = 0
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        fields = stat.rsplit(b")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(ppid).encode() and b"loky" in cmdline:
            count += 1
    return count or None


@functools.lru_cache(maxsize=4)
def _user_thread_limit(ppid):
    """The thread limit a user set for this loky worker, or None.

    loky starts its workers with ``OMP_NUM_THREADS`` = the parent's value if it
    has one, else joblib's ``inner_max_num_threads`` if given, else
    ``cores // n_workers``. The first two are the user's: the share never
    exceeds them. The last is only loky's guess, which the share replaces
    (it raises a fit whose siblings finished to every free core).
    """
    value = os.environ.get("OMP_NUM_THREADS")
    if value is None or not value.isdigit():
        return None
    parent = _environ_of(ppid)
    if parent is None:  # cannot tell: keep the limit
        return int(value)
    if any(var in parent for var in _THREAD_VARS):
        return int(value)
    workers = _loky_siblings(ppid)
    if workers is None or int(value) != max(_cpu_count() // workers, 1):
        return int(value)  # inner_max_num_threads (or cannot tell)
    return None


def _running_fits(folder):
    running = 0
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            try:
                os.kill(int(name), 0)
            except ValueError:
                continue
            except ProcessLookupError:  # a killed worker's stale file
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(folder, name))
                continue
            except PermissionError:
                pass
            running += 1
    return max(1, running)


def fit_threads():
    """Threads one fit should give torch now, or None to leave torch's setting.

    Inside a Dask task: ``cores // concurrent slots on this host``. In a loky
    worker: ``cores // fits running in the pool``, but never more than a limit
    the user set (``OMP_NUM_THREADS`` in the parent's environment, joblib's
    ``inner_max_num_threads``). At least 1. Elsewhere None: a lone fit uses
    what torch (and threadpoolctl, OMP_NUM_THREADS) allow.
    """
    slot = dask_worker_slot()
    if slot is not None:
        return max(1, _cpu_count() // slot[0])
    folder = _pool_folder()
    if folder is not None:
        share = max(1, _cpu_count() // _running_fits(folder))
        limit = _user_thread_limit(os.getppid())
        return share if limit is None else max(1, min(share, limit))
    return None


def in_worker_pool():
    """True in joblib's loky workers, where the share can change mid-fit."""
    return _pool_folder() is not None


def _adaptable(previous, share):
    """May this block's thread count follow the free cores?

    Not when ``SKLEARN_MNIST_ADAPTIVE_THREADS`` switches it off, nor when the
    user chose the count: ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` in the
    environment the program started with (in a loky worker: set in the parent
    or as joblib's ``inner_max_num_threads``), or ``torch.set_num_threads`` /
    threadpoolctl (torch's count differs from the one it had when this package
    was imported). A Dask worker's or loky worker's share is this package's
    own choice and adapts.
    """
    if adaptation_switched_off():
        return False
    if share is not None:
        return _pool_folder() is None or _user_thread_limit(os.getppid()) is None
    return not _ENV_CHOSE and previous == _IMPORT_THREADS


# torch read the thread variables when the program started. Later changes do
# nothing in torch (Dask's LocalCluster writes them into os.environ for its
# workers): they are not the user's choice for this process.
# /proc/self/environ (Linux) is the environment the program started with.
_START_ENV = _environ_of("self") or dict(os.environ)
_ENV_CHOSE = any(_START_ENV.get(var) for var in _THREAD_VARS)
_IMPORT_THREADS = torch.get_num_threads()
_FREE_CORES = FreeCores()
# Per thread: the outermost thread_budget block (``scope``) and the count the
# thread had when its last block ended (``ended_with``).
_SCOPE = threading.local()
# Counts the package set below torch's count at import, in any thread.
_LOWERED = set()


def _found_threads():
    """The count a thread's block starts from and restores.

    torch keeps the last count any thread set and gives it to each thread on
    that thread's first torch call: a thread that first touched torch while a
    block elsewhere ran on fewer threads starts with that count, which is not
    the user's. A thread's own count only changes when code in that thread
    changes it, so a thread that ran a block before has the count it had then
    or one the user set since. A thread that never did, with a count the
    package lowered to somewhere, inherited it: it gets torch's count at
    import, unless the user set that count for the whole process since the
    package last set one (torch's process-wide count, read in a new thread).
    """
    found = torch.get_num_threads()
    never_ran_a_block = getattr(_SCOPE, "ended_with", None) is None
    if found == _IMPORT_THREADS or not never_ran_a_block or found not in _LOWERED:
        return found
    process_wide = _process_wide_threads()
    if process_wide == found and process_wide != _LAST_SET[0]:
        return found  # torch.set_num_threads(found) by the user, since ours
    return _IMPORT_THREADS


def _process_wide_threads():
    """torch's process-wide count: what a new thread starts with."""
    seen = []
    probe = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    probe.start()
    probe.join()
    return seen[0] if seen else None


_LAST_SET = [None]  # the last count the package gave torch.set_num_threads


def _set_threads(n_threads):
    _LAST_SET[0] = n_threads
    torch.set_num_threads(n_threads)


def _forked():
    """In a child forked inside a block: the block does not go on there (its
    thread is the child's only one); the child starts from the count the block
    found."""
    scope = getattr(_SCOPE, "scope", None)
    if scope is None:
        return
    _SCOPE.scope = None
    _SCOPE.ended_with = scope.found
    if torch.get_num_threads() != scope.found:
        _set_threads(scope.found)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


class _Scope:
    __slots__ = ("ceiling", "adaptive", "pool", "found")

    def __init__(self, ceiling, adaptive, pool, found):
        self.ceiling, self.adaptive, self.pool = ceiling, adaptive, pool
        self.found = found


def rebalance():
    """Give torch the thread count this block should have now; returns it.

    Called before every training, validation and prediction batch and every
    chunk of augmentation or attack: the ceiling is the block's budget (in a
    loky worker re-read here, so a fit left alone takes the cores its siblings
    gave back), lowered to the cores other processes left free when the block
    adapts (the busy time of this process's CPUs minus its own CPU time, a new
    reading at most every 0.2 s). Outside a :func:`thread_budget` block it does
    nothing.
    """
    scope = getattr(_SCOPE, "scope", None)
    if scope is None:
        return torch.get_num_threads()
    ceiling = scope.ceiling
    if scope.pool:
        ceiling = fit_threads() or ceiling
    n_threads = threads_for(_FREE_CORES() if scope.adaptive else None, ceiling)
    if n_threads != torch.get_num_threads():
        if n_threads < _IMPORT_THREADS:  # not the restore of a count a block found
            _LOWERED.add(n_threads)
        _set_threads(n_threads)
    return n_threads


@contextlib.contextmanager
def thread_budget(n_threads=None):
    """Run the block with the thread count it should have, then restore the
    count the block found (also when the block changed it).

    ``n_threads`` fixes the count. ``None`` (what every fit, prediction,
    augmentation and attack uses) takes :func:`fit_threads` in a Dask or loky
    worker, torch's current count elsewhere, and lowers it while other
    processes keep cores busy (:func:`rebalance`, re-checked per batch), unless
    the user chose the count (``torch.set_num_threads`` to another count than
    torch had when this package was imported, threadpoolctl's limits,
    ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` in the environment the program
    started with) or set ``SKLEARN_MNIST_ADAPTIVE_THREADS=0``. A block inside
    another one (a prediction inside a fit) leaves the count to the outer block.
    """
    if n_threads is None and getattr(_SCOPE, "scope", None) is not None:
        yield rebalance()
        return
    previous = _found_threads()
    share = fit_threads() if n_threads is None else None
    ceiling = n_threads or share or previous
    adaptive = n_threads is None and _adaptable(previous, share)
    outer = getattr(_SCOPE, "scope", None)
    pool = in_worker_pool() and not n_threads
    _SCOPE.scope = _Scope(ceiling, adaptive, pool, found=previous)
    try:
        yield rebalance()
    finally:
        _SCOPE.scope = outer
        if torch.get_num_threads() != previous:
            _set_threads(previous)
        _SCOPE.ended_with = previous


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
