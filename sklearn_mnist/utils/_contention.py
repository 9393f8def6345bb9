"""Sharing the cores with other processes: how many are free right now.

torch runs each CPU operation on a team of OpenMP threads that meet at a
barrier when the operation ends, and OpenMP threads spin at barriers rather
than sleep. When another process holds some of the cores, the scheduler
deschedules one thread of the team and the others spin until it comes back:
on 2 cores with two CPU-bound processes beside it, a default
``CNNClassifier`` fit ran 5-36x slower than with one thread
(``benchmarks/RESULTS.md``, "A busy machine"). The package's many small
per-batch operations (augmentation, standardisation, attacks) each pay that.

:class:`FreeCores` measures what the other processes take, without
privileges: the CPU time spent on this process's CPUs (``psutil.cpu_times``:
``/proc/stat`` on Linux, the kernel's per-CPU ticks on macOS) minus this
process's own CPU time (``time.process_time``, which counts its spinning
threads too), over the wall time since the last reading. What is left of the
CPUs is what a team of threads can have without waiting for each other.
"""

import functools
import os
import threading
import time
import warnings
import weakref

__all__ = ["ENV_VAR", "FreeCores", "adaptation_switched_off", "threads_for"]

# The environment variable that turns adaptation off: "0", "false", "no", "off".
ENV_VAR = "SKLEARN_MNIST_ADAPTIVE_THREADS"
# Shortest window a reading covers: the kernel counts CPU time in ticks of
# 10 ms per CPU, so 0.2 s keeps the error under a tenth of a core.
MIN_WINDOW = 0.2


_OFF = ("0", "false", "no", "off")
_ON = ("", "1", "true", "yes", "on")


def adaptation_switched_off():
    """True when ``SKLEARN_MNIST_ADAPTIVE_THREADS`` says "0", "false", "no" or
    "off" (read at every call, so it can be changed while a program runs); any
    value but those and "1", "true", "yes", "on" warns once and counts as on."""
    value = os.environ.get(ENV_VAR, "")
    if value.strip().lower() in _ON:
        return False
    return _switched_off(value)


@functools.cache
def _switched_off(value):
    if value.strip().lower() in _OFF:
        return True
    warnings.warn(
        f"{ENV_VAR}={value!r} is neither on (1, true, yes, on) nor off (0, false, "
        "no, off); thread counts keep following the free cores",
        RuntimeWarning,
        stacklevel=4,
    )
    return False


def threads_for(free, ceiling):
    """Threads a team should have with ``free`` cores free: rounded, at least
    1, at most ``ceiling``; ``ceiling`` when nothing is known."""
    if free is None:
        return ceiling
    return max(1, min(ceiling, int(free + 0.5)))


def _busy_seconds(times):
    idle = sum(getattr(times, name, 0.0) for name in ("idle", "iowait"))
    # guest time is already counted in user time (Linux)
    guest = sum(getattr(times, name, 0.0) for name in ("guest", "guest_nice"))
    return sum(times) - idle - guest


def _system_busy():
    """``(CPUs this process may run on, their busy seconds since boot)``, or
    None where it cannot be read."""
    try:
        import psutil

        per_cpu = psutil.cpu_times(percpu=True)
    except Exception:  # no psutil, no /proc: adaptation stays off
        return None
    try:
        mine = os.sched_getaffinity(0)
    except AttributeError:  # macOS, Windows: every CPU
        mine = None
    if mine and max(mine) < len(per_cpu):
        per_cpu = [per_cpu[i] for i in sorted(mine)]
    if not per_cpu:
        return None
    return len(per_cpu), sum(_busy_seconds(t) for t in per_cpu)


class FreeCores:
    """Callable: the cores other processes left free over the last window.

    The first call after at least :data:`MIN_WINDOW` seconds takes a new
    reading and returns ``CPUs - others' CPU time / wall time`` since the
    previous one; calls in between return the last value (a few attribute
    reads: cheap enough for every batch). None until two readings exist or
    where the system's CPU times cannot be read.

    Parameters
    ----------
    read : callable, default reads ``psutil.cpu_times``
        Returns ``(n_cpus, busy seconds)`` or None.
    own : callable, default ``time.process_time``
        This process's CPU seconds.
    clock : callable, default ``time.monotonic``
    """

    def __init__(self, read=_system_busy, own=time.process_time, clock=time.monotonic):
        self._read, self._own, self._clock = read, own, clock
        self._forked()
        self.free = None
        if hasattr(os, "register_at_fork"):
            ref = weakref.ref(self)
            os.register_at_fork(after_in_child=lambda: ref() and ref()._forked())
        self.reading()

    def _forked(self):
        # A child's CPU time starts at zero, and a lock another thread held at
        # the fork would stay held in the child: start afresh.
        self._lock = threading.Lock()
        self._last = None  # (wall, n_cpus, busy, own)
        self._pid = os.getpid()

    def reading(self):
        """Take a reading now and update :attr:`free` from the previous one
        (or keep the last value while another thread takes one)."""
        lock = self._lock
        if not lock.acquire(blocking=False):
            return self.free
        try:
            if os.getpid() != self._pid:  # forked without Python's fork hooks
                self._last, self._pid = None, os.getpid()
            now = self._clock()
            system = self._read()
            if system is None:
                self._last, self.free = None, None
                return None
            n_cpus, busy = system
            own = self._own()
            last, self._last = self._last, (now, n_cpus, busy, own)
            if last is not None and now > last[0] and n_cpus == last[1]:
                others = (busy - last[2] - (own - last[3])) / (now - last[0])
                self.free = min(float(n_cpus), max(0.0, n_cpus - others))
            return self.free
        finally:
            lock.release()

    def __call__(self):
        last = self._last
        if last is not None and self._clock() - last[0] < MIN_WINDOW:
            return self.free
        return self.reading()
