"""Threads under CPU contention: fewer threads while other processes keep
cores busy, the full count back when they stop, nothing changed for a user
who chose the count."""

import json
import multiprocessing
import os
import textwrap
import threading
import time
import warnings

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from sklearn_mnist.utils import _contention, _parallel, rebalance, thread_budget
from sklearn_mnist.utils._contention import MIN_WINDOW, FreeCores, threads_for


class FakeSystem:
    """Scripted readings: CPUs, others' busy seconds, own seconds, a clock."""

    def __init__(self, n_cpus=2):
        self.n_cpus, self.now, self.busy, self.own = n_cpus, 0.0, 0.0, 0.0
        self.readable = True

    def read(self):
        if not self.readable:
            return None
        return self.n_cpus, self.busy

    def advance(self, seconds, others_cores, own_cores=1.0):
        self.now += seconds
        self.busy += seconds * (others_cores + own_cores)
        self.own += seconds * own_cores

    def monitor(self):
        return FreeCores(read=self.read, own=lambda: self.own, clock=lambda: self.now)


def test_free_cores_are_the_cpus_others_leave():
    system = FakeSystem(n_cpus=4)
    free = system.monitor()
    assert free() is None  # one reading: nothing to compare yet
    system.advance(1.0, others_cores=1.5, own_cores=2.0)
    assert free() == pytest.approx(2.5)  # own CPU time is not the others'
    system.advance(MIN_WINDOW / 2, others_cores=4.0)
    assert free() == pytest.approx(2.5)  # too soon for a new reading: cached
    system.advance(MIN_WINDOW, others_cores=4.0)
    assert free() == pytest.approx(0.0)  # the window since the last reading
    system.advance(1.0, others_cores=0.0)
    assert free() == pytest.approx(4.0)


def test_free_cores_unknown_when_the_system_cannot_be_read():
    system = FakeSystem()
    free = system.monitor()
    system.readable = False
    system.advance(1.0, others_cores=1.0)
    assert free() is None
    system.readable = True
    system.advance(1.0, others_cores=1.0)
    assert free() is None  # a fresh start
    system.advance(1.0, others_cores=1.0)
    assert free() == pytest.approx(1.0)


def test_a_forked_child_starts_afresh(monkeypatch):
    """A child's CPU time starts at zero while the system's goes on: its first
    window would say the others took everything."""
    system = FakeSystem()
    free = system.monitor()
    system.advance(1.0, others_cores=0.5)
    assert free() == pytest.approx(1.5)
    monkeypatch.setattr(_contention.os, "getpid", lambda: -1)
    system.own = 0.0
    system.advance(1.0, others_cores=0.5)
    assert free() == pytest.approx(1.5)  # the last value, not 0
    system.advance(1.0, others_cores=1.5, own_cores=0.5)
    assert free() == pytest.approx(0.5)


def test_a_reading_never_waits_and_a_forked_child_reads_afresh():
    """A thread that finds another one reading keeps the last value; a child
    forked while a thread of its parent read gets a lock of its own (it would
    otherwise wait forever for a thread that does not exist in it)."""
    system = FakeSystem()
    free = system.monitor()
    system.advance(1.0, others_cores=0.5)
    assert free() == pytest.approx(1.5)
    free._lock.acquire()  # another thread is reading
    try:
        system.advance(1.0, others_cores=2.0)
        assert free() == pytest.approx(1.5)  # no wait: the last value
        child = multiprocessing.get_context("fork").Process(
            target=_child_reads, args=(free,)
        )
        child.start()
        child.join(30)
    finally:
        free._lock.release()
    if child.exitcode is None:
        child.kill()
    assert child.exitcode == 0


def _child_reads(free):
    free.reading()
    # a fresh lock and a reading of the child's own (its pid recorded)
    os._exit(0 if free._pid == os.getpid() and free._lock.acquire(False) else 3)


def test_the_real_system_reading():
    """psutil's per-CPU times of this process's CPUs: a core or more of
    busy time grows as this process spins (no privileges needed)."""
    reading = _contention._system_busy()
    assert reading is not None
    n_cpus, busy = reading
    assert n_cpus == _parallel._cpu_count() and busy > 0
    free = FreeCores()
    x = torch.randn(128, 128)

    start = time.monotonic()
    while time.monotonic() - start < 2 * MIN_WINDOW:
        x @ x
    assert 0.0 <= free() <= n_cpus


@given(
    free=st.one_of(st.none(), st.floats(0, 256)),
    ceiling=st.integers(1, 256),
)
def test_threads_for_stays_between_one_and_the_ceiling(free, ceiling):
    n = threads_for(free, ceiling)
    assert 1 <= n <= ceiling
    if free is None:
        assert n == ceiling
    else:
        assert n == min(ceiling, max(1, round(free + 1e-9)))
        assert threads_for(free + 1, ceiling) >= n  # more free cores, never fewer


@pytest.fixture
def default_threads(monkeypatch):
    """torch's count as the package found it at import (the suite may run
    with another one), no thread variables, adaptation on."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", _contention.ENV_VAR):
        monkeypatch.delenv(var, raising=False)
    before = torch.get_num_threads()
    torch.set_num_threads(max(2, _parallel._IMPORT_THREADS))
    monkeypatch.setattr(_parallel, "_IMPORT_THREADS", torch.get_num_threads())
    yield torch.get_num_threads()
    torch.set_num_threads(before)


@pytest.fixture
def scripted(monkeypatch):
    """The free cores ``rebalance`` sees, set by the test."""
    free = {"cores": None}
    monkeypatch.setattr(_parallel, "_FREE_CORES", lambda: free["cores"])
    return free


def test_the_count_follows_the_free_cores_and_is_restored(default_threads, scripted):
    full = default_threads
    scripted["cores"] = 0.6
    with thread_budget() as n:
        assert n == torch.get_num_threads() == 1
        scripted["cores"] = full - 0.2  # the others stopped
        assert rebalance() == torch.get_num_threads() == full
        scripted["cores"] = 1.4
        assert rebalance() == 1
        with thread_budget() as inner:  # a prediction inside a fit
            assert inner == 1
            scripted["cores"] = None  # cannot tell: the full count
            assert rebalance() == full
        assert torch.get_num_threads() == full  # the inner block left it
    assert torch.get_num_threads() == full
    assert rebalance() == full  # outside a block: nothing to do


@pytest.mark.parametrize(
    "user", ["set_num_threads", "OMP_NUM_THREADS", "threadpoolctl", "switched off"]
)
def test_a_count_the_user_chose_is_left_alone(
    default_threads, scripted, user, monkeypatch
):
    scripted["cores"] = 0.5  # a busy machine
    chosen = default_threads
    if user == "set_num_threads":
        chosen = default_threads + 1
        torch.set_num_threads(chosen)
    elif user == "OMP_NUM_THREADS":  # in the environment the program started with
        monkeypatch.setattr(_parallel, "_ENV_CHOSE", True)
    elif user == "switched off":
        for value in ("0", "off", "False", " no "):
            monkeypatch.setenv(_contention.ENV_VAR, value)
            with thread_budget() as n:
                assert n == rebalance() == chosen
        return
    limits = None
    if user == "threadpoolctl":
        limits = threadpool_limits(default_threads + 1, user_api="openmp")
    try:
        chosen = torch.get_num_threads()
        with thread_budget() as n:
            assert n == rebalance() == chosen
    finally:
        if limits is not None:
            limits.restore_original_limits()


def test_thread_variables_set_after_import_change_nothing(
    default_threads, scripted, monkeypatch
):
    """torch read OMP_NUM_THREADS when it started; Dask's LocalCluster writes
    it into os.environ later, for its workers: not the user's choice here."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MKL_NUM_THREADS", "1")
    scripted["cores"] = 0.5
    with thread_budget() as n:
        assert n == 1
        scripted["cores"] = float(default_threads)
        assert rebalance() == default_threads


def test_an_unknown_switch_value_warns_once_and_keeps_adapting(
    default_threads, scripted, monkeypatch
):
    scripted["cores"] = 0.5
    monkeypatch.setenv(_contention.ENV_VAR, "maybe")
    _contention._switched_off.cache_clear()
    with pytest.warns(RuntimeWarning, match="SKLEARN_MNIST_ADAPTIVE_THREADS='maybe'"):
        with thread_budget() as n:
            assert n == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with thread_budget() as n:  # once
            assert n == 1
    for value in ("1", "on", "TRUE", " yes ", ""):
        monkeypatch.setenv(_contention.ENV_VAR, value)
        with thread_budget() as n:
            assert n == 1


def test_a_thread_started_inside_a_lowered_block_is_not_stuck(
    default_threads, scripted
):
    """torch gives a thread, at its first torch call, the count last set in
    any thread: here the 1 of a block running in the main thread. That is not
    the user's choice: the thread's own blocks adapt, up to the full count,
    and leave it with torch's count as the package found it at import."""
    scripted["cores"] = 0.5
    seen = {}

    def worker():
        seen["first"] = torch.get_num_threads()  # the thread's first torch call
        scripted["cores"] = float(default_threads)  # the machine is quiet now
        with thread_budget() as n:
            seen["inside"] = n
        seen["after"] = torch.get_num_threads()

    with thread_budget() as n:
        assert n == 1
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(60)
    assert seen["first"] in (1, default_threads)
    assert seen["inside"] == default_threads, seen
    assert seen["after"] == default_threads, seen


def test_a_thread_that_inherited_a_lowered_count_adapts_later_too(
    default_threads, scripted
):
    """The same when the thread's own first block starts after the lowered
    block ended (a thread pool's initializer touched torch meanwhile)."""
    scripted["cores"] = 0.5
    started, go, seen = threading.Event(), threading.Event(), {}

    def worker():
        seen["first"] = torch.get_num_threads()
        started.set()
        go.wait(60)
        with thread_budget() as n:
            seen["inside"] = n
        seen["after"] = torch.get_num_threads()

    thread = threading.Thread(target=worker)
    with thread_budget() as n:
        assert n == 1
        thread.start()
        started.wait(60)
    scripted["cores"] = float(default_threads)
    go.set()
    thread.join(60)
    assert seen["inside"] == seen["after"] == default_threads, seen


def test_a_count_the_user_sets_while_another_block_is_lowered_is_kept(
    default_threads, scripted
):
    """A thread that ran blocks before and then set its own count: the user's
    choice, even when it equals a count a block elsewhere runs on."""
    seen = {}

    def worker():
        with thread_budget():  # the thread's history
            pass
        torch.set_num_threads(1)  # the user's choice
        scripted["cores"] = float(default_threads)
        with thread_budget() as n:
            seen["inside"] = (n, rebalance())
        seen["after"] = torch.get_num_threads()

    scripted["cores"] = 0.5
    with thread_budget() as n:
        assert n == 1
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(60)
    assert seen == {"inside": (1, 1), "after": 1}


def test_a_count_the_user_sets_for_the_process_reaches_new_threads(
    default_threads, scripted
):
    """The user's torch.set_num_threads(1) in the main thread, after the package
    lowered to 1 once: new threads inherit the user's 1, and keep it."""
    scripted["cores"] = 0.5
    with thread_budget() as n:  # the package lowers to 1 once, then restores
        assert n == 1
    assert torch.get_num_threads() == default_threads
    torch.set_num_threads(1)  # the user's choice, for the whole process
    scripted["cores"] = float(default_threads)
    seen = {}

    def worker():
        with thread_budget() as n:
            seen["inside"] = (n, rebalance())
        seen["after"] = torch.get_num_threads()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(60)
    assert seen == {"inside": (1, 1), "after": 1}


def test_a_child_forked_inside_a_block_starts_outside_it(default_threads, scripted):
    scripted["cores"] = 0.5
    with thread_budget() as n:
        assert n == 1
        child = multiprocessing.get_context("fork").Process(
            target=_outside_any_block, args=(default_threads,)
        )
        child.start()
        child.join(30)
    if child.exitcode is None:
        child.kill()
    assert child.exitcode == 0


def _outside_any_block(expected):
    scope = getattr(_parallel._SCOPE, "scope", None)
    back = torch.get_num_threads() == expected == _parallel._SCOPE.ended_with
    os._exit(0 if scope is None and back else 3)


def test_the_start_environment_is_the_programs():
    """OMP_NUM_THREADS written into os.environ later (Dask's LocalCluster does)
    is not in the environment the program started with."""
    if _parallel._environ_of("self") is None:
        pytest.skip("no /proc/self/environ")
    os.environ["SKLEARN_MNIST_TEST_LATE_VARIABLE"] = "1"
    try:
        assert "SKLEARN_MNIST_TEST_LATE_VARIABLE" not in _parallel._environ_of("self")
    finally:
        del os.environ["SKLEARN_MNIST_TEST_LATE_VARIABLE"]


def test_an_explicit_count_is_fixed(default_threads, scripted):
    scripted["cores"] = 0.5
    with thread_budget(default_threads) as n:
        assert n == rebalance() == default_threads


def test_training_prediction_augmentation_and_attacks_rebalance(
    default_threads, scripted, monkeypatch, sample_split
):
    """Every batch asks: the count set while the work runs follows the free
    cores, and the count found before is back after."""
    from sklearn_mnist import CNNClassifier, FGSMPerturber, RandomAffineAugmenter

    X_tr, y_tr, X_te, _ = sample_split
    seen = []
    calls = iter(range(10**6))

    def free():  # busy, quiet, busy...: a flip at every batch
        return 0.5 if next(calls) % 2 == 0 else float(default_threads)

    monkeypatch.setattr(_parallel, "_FREE_CORES", free)
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (seen.append(n), real(n)))
    model = CNNClassifier(
        module__channels=(4, 8), module__hidden_units=16, max_epochs=1,
        batch_size=32, random_state=0,
    ).fit(X_tr[::6], y_tr[::6])  # fmt: skip
    work = {
        "fit": [],
        "predict": lambda: model.predict_proba(X_te.repeat(8, axis=0)),  # 4 batches
        "augment": lambda: RandomAffineAugmenter(random_state=0).fit_transform(
            X_te.repeat(3, axis=0)  # 3 chunks of 512 or more
        ),
        "attack": lambda: FGSMPerturber(model, batch_size=50).fit_transform(X_te[:200]),
    }
    fit_seen, seen[:] = list(seen), []
    for name, run in work.items():
        if name == "fit":
            changes = fit_seen
        else:
            run()
            changes, seen[:] = list(seen), []
        # down, up, down... (and back to the full count after the work)
        assert len(changes) >= 3 and set(changes) == {1, default_threads}, (
            name, changes,
        )  # fmt: skip
        assert torch.get_num_threads() == default_threads


def _two_cpus():
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:
        return None
    return cpus[:2] if len(cpus) >= 2 else None


_DROPS_AND_COMES_BACK = """
import json, subprocess, sys, time
import torch
from sklearn_mnist.utils import _parallel, rebalance, thread_budget

def wait_for(count, seconds=20):
    x = torch.randn(96, 96)
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        for _ in range(50):
            x @ x
        if rebalance() == count:
            return round(time.monotonic() - start, 2)
    return None

full = min(torch.get_num_threads(), 2)
with thread_budget():
    wait_for(0, seconds=0.5)  # half a second of this process alone
    before = _parallel._FREE_CORES.free
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        dropped = wait_for(1)
    finally:
        busy.kill()
        busy.wait()
    back = wait_for(full)
    after = _parallel._FREE_CORES.free
seen = dict(full=full, before=before, dropped=dropped, back=back, after=after)
print(json.dumps(seen))
"""


@pytest.mark.skipif(_two_cpus() is None, reason="needs Linux and 2 CPUs or more")
def test_the_count_drops_under_a_competitor_and_comes_back(fresh_python):
    """A real competitor: a fresh interpreter on two CPUs (and its threads
    with it) starts a busy loop on the same CPUs; its thread count drops to 1
    and comes back to 2 when the loop is killed."""
    cpus = _two_cpus()
    code = f"import os; os.sched_setaffinity(0, {set(cpus)!r})\n" + textwrap.dedent(
        _DROPS_AND_COMES_BACK
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", _contention.ENV_VAR)
    }
    seen = json.loads(fresh_python(code, env=env, timeout=120))
    if seen["full"] < 2 or seen["before"] is None or seen["before"] < 1.5:
        pytest.skip(f"other processes keep these CPUs busy already: {seen}")
    assert seen["dropped"] is not None, f"never dropped beside a busy loop: {seen}"
    if seen["back"] is None and seen["after"] < 1.5:
        pytest.skip(f"other processes kept the CPUs busy after the loop: {seen}")
    assert seen["back"] is not None, f"never came back after the loop: {seen}"
