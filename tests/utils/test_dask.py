"""Grid searches on a real Dask cluster (2 worker processes on 127.0.0.1)."""

import logging
import os
import threading
import time

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_mnist import CNNClassifier, Normalizer255, load_mnist_sample
from sklearn_mnist.utils._parallel import (
    fit_threads,
    round_robin_device,
    thread_budget,
)

distributed = pytest.importorskip(
    "distributed", reason="the 'distributed' extra is not installed"
)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def digits():
    X, y = load_mnist_sample(return_X_y=True)
    order = np.random.RandomState(0).permutation(len(X))[:600]
    return X[order], y[order]


def _pipe(**kw):
    return make_pipeline(
        Normalizer255(),
        CNNClassifier(
            module__channels=(8, 16),
            module__hidden_units=32,
            **{"max_epochs": 3, "batch_size": 32, "random_state": 0, **kw},
        ),
    )


GRID = {"cnnclassifier__lr": [3e-3, 1e-2], "cnnclassifier__module__dropout": [0, 0.2]}


def _local(search, X, y):
    """The local reference, with the thread count each Dask fit gets (float
    sums in another order differ in the last bits and can flip a prediction)."""
    with thread_budget(max(1, len(os.sched_getaffinity(0)) // 2)):
        return search.fit(X, y)


def _torch_threads(estimator, X, y):
    return torch.get_num_threads()


def test_grid_search_on_dask_equals_local(client, digits):
    X, y = digits
    local = _local(GridSearchCV(_pipe(), GRID, cv=2, n_jobs=1), X, y)
    with joblib.parallel_backend("dask", scatter=[X, y]):
        remote = GridSearchCV(_pipe(), GRID, cv=2, n_jobs=-1).fit(X, y)
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"],
        local.cv_results_["mean_test_score"],
        atol=1e-9,
    )
    assert remote.best_params_ == local.best_params_
    assert local.best_score_ > 0.7
    # Both workers took part.
    assert all(n > 0 for n in client.run(lambda: 1).values())


def test_randomized_search_on_dask_equals_local(client, digits):
    X, y = digits
    kw = dict(n_iter=3, cv=2, random_state=0)
    local = _local(RandomizedSearchCV(_pipe(), GRID, n_jobs=1, **kw), X, y)
    with joblib.parallel_backend("dask"):
        remote = RandomizedSearchCV(_pipe(), GRID, n_jobs=-1, **kw).fit(X, y)
    assert remote.cv_results_["params"] == local.cv_results_["params"]
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"],
        local.cv_results_["mean_test_score"],
        atol=1e-9,
    )


def test_halving_search_on_dask_equals_local(client, digits):
    """Survivors trained on in the workers give the same cv_results_ as
    survivors trained on locally (the models travel back and forth)."""
    from sklearn_mnist.model_selection import HalvingGridSearchCV

    X, y = digits
    pipe = _pipe(max_epochs="auto")
    kw = dict(cv=2, max_resources=3, factor=2)
    local = _local(HalvingGridSearchCV(pipe, GRID, n_jobs=1, **kw), X, y)
    with joblib.parallel_backend("dask"):
        remote = HalvingGridSearchCV(pipe, GRID, n_jobs=-1, **kw).fit(X, y)
    assert remote.n_resources_ == local.n_resources_ == [1, 3]
    assert remote.cv_results_["params"] == local.cv_results_["params"]
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"],
        local.cv_results_["mean_test_score"],
        atol=1e-9,
    )
    assert remote.best_params_ == local.best_params_


def test_dask_fits_use_their_share_of_the_cores(client, digits):
    X, y = digits
    before = client.run(torch.get_num_threads)
    search = GridSearchCV(
        _pipe(max_epochs=1), GRID, cv=2, scoring=_torch_threads, refit=False
    )
    with joblib.parallel_backend("dask"):
        search.fit(X[:100], y[:100])
    cores = len(os.sched_getaffinity(0))
    # Two single-threaded workers share this host's cores.
    assert set(search.cv_results_["mean_test_score"]) == {max(1, cores // 2)}
    assert client.run(torch.get_num_threads) == before  # restored after each fit


def test_thread_budget_outside_dask_changes_nothing():
    assert fit_threads() is None
    before = torch.get_num_threads()
    with thread_budget() as n:
        assert n == before == torch.get_num_threads()
    with thread_budget(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_gpus_are_dealt_round_robin_to_workers(client):
    # The dealing rule, checked without GPUs: each worker asks for 2 GPUs.
    workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
    devices = [
        client.submit(round_robin_device, 2, workers=[w], pure=False).result()
        for w in workers
    ]
    assert devices == ["cuda:0", "cuda:1"]
    assert round_robin_device(2) is None  # not inside a Dask task
    assert round_robin_device(1) is None


def test_a_worker_killed_mid_search_does_not_lose_it(client, digits):
    X, y = digits
    local = _local(GridSearchCV(_pipe(), GRID, cv=2, n_jobs=1), X, y)
    result, errors = {}, []

    def search():
        try:
            with joblib.parallel_backend("dask"):
                result["search"] = GridSearchCV(_pipe(), GRID, cv=2, n_jobs=-1).fit(
                    X, y
                )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=search)
    thread.start()
    victim, deadline = None, time.monotonic() + 60
    while victim is None and time.monotonic() < deadline:
        busy = [w for w, tasks in client.processing().items() if tasks]
        victim = busy[0] if busy else None
        time.sleep(0.05)
    assert victim is not None, "no task ever started"
    pids = client.run(os.getpid)
    os.kill(pids[victim], 9)  # the nanny restarts the worker; Dask reschedules
    thread.join(timeout=300)
    assert not thread.is_alive() and not errors, errors
    np.testing.assert_allclose(
        result["search"].cv_results_["mean_test_score"],
        local.cv_results_["mean_test_score"],
        atol=1e-9,
    )
    # The killed process is gone; its nanny started a replacement.
    client.wait_for_workers(2, timeout=60)
    assert pids[victim] not in client.run(os.getpid).values()
