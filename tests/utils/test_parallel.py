"""Thread budgets in joblib's loky workers: the user's limits win, and nothing
is left in the temporary folder."""

import os

import pytest

from sklearn_mnist.utils import _parallel

_SEARCH = """
import os, pathlib, tempfile
import torch
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV
from sklearn_mnist import MLPNetClassifier, load_mnist_sample

class Spy(MLPNetClassifier):
    def train_step(self, batch, **fit_params):
        seen = max(getattr(self, "max_threads_", 0), torch.get_num_threads())
        self.max_threads_ = seen
        return super().train_step(batch, **fit_params)

def max_threads(estimator, X, y):
    return estimator.max_threads_

X, y = load_mnist_sample(return_X_y=True)
spy = Spy(module__hidden_units=(16,), max_epochs=2, augment=None, random_state=0)
with parallel_config(backend="loky"):
    search = GridSearchCV(
        spy, {"lr": [1e-3, 2e-3, 3e-3]}, cv=2, n_jobs=2, scoring=max_threads
    ).fit(X[::10], y[::10])
tmp = pathlib.Path(tempfile.gettempdir())
left = list(tmp.glob(f"sklearn-mnist-fits-{os.getpid()}"))
print(search.cv_results_["mean_test_score"].max(), len(left))
"""


@pytest.mark.parametrize("limit", [1, None])
def test_grid_search_in_loky_workers(fresh_python, limit):
    """OMP_NUM_THREADS set by the user for the process caps every fit in its
    loky workers; without it, fits share the cores. Nothing is left behind."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
    }
    if limit is not None:
        env["OMP_NUM_THREADS"] = str(limit)
    max_threads, leftovers = fresh_python(_SEARCH, env=env).split()
    if limit is not None:
        assert float(max_threads) == limit  # the user's limit, always
    else:
        assert 1 <= float(max_threads) <= _parallel._cpu_count()
    assert leftovers == "0"  # the last fit removed its folder


def test_user_limit_rules(monkeypatch):
    """The parent's OMP_NUM_THREADS and joblib's inner_max_num_threads are limits;
    loky's own default (cores // workers) is not. An inner_max_num_threads equal
    to that default cannot be told from it (documented)."""
    _parallel._user_thread_limit.cache_clear()
    monkeypatch.setattr(_parallel, "_cpu_count", lambda: 8)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")

    def case(parent_env, workers):
        _parallel._user_thread_limit.cache_clear()
        monkeypatch.setattr(_parallel, "_environ_of", lambda pid: parent_env)
        monkeypatch.setattr(_parallel, "_loky_siblings", lambda pid: workers)
        return _parallel._user_thread_limit(12345)

    assert case({}, 4) is None  # loky's default 8 // 4: ours to raise
    assert case({"OMP_NUM_THREADS": "2"}, 4) == 2  # the user's, in the parent
    assert case({}, 2) == 2  # 2 != 8 // 2: inner_max_num_threads
    assert case(None, 4) == 2  # cannot tell (not Linux): keep the limit
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert case({}, 4) is None


def test_fits_in_loky_workers_share_the_cores(monkeypatch, tmp_path):
    """In a loky worker, a fit takes cores // (fits running in the pool)."""
    import multiprocessing
    import os
    import subprocess
    import sys

    monkeypatch.setattr(_parallel.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(_parallel, "_cpu_count", lambda: 4)
    # No user limit here (the tests above cover those).
    monkeypatch.setattr(_parallel, "_user_thread_limit", lambda ppid: None)
    assert _parallel.fit_threads() is None  # not in a pool worker
    monkeypatch.setattr(
        multiprocessing.current_process(), "name", "LokyProcess-1", raising=False
    )
    folder = tmp_path / f"sklearn-mnist-fits-{os.getppid()}"
    with _parallel.announce_fit():
        assert (folder / str(os.getpid())).exists()
        assert _parallel.fit_threads() == 4  # alone in the pool: every core
        sibling = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(30)"]
        )
        try:
            (folder / str(sibling.pid)).touch()
            assert _parallel.fit_threads() == 2  # two fits share 4 cores
        finally:
            sibling.kill()
            sibling.wait()
        assert _parallel.fit_threads() == 4  # the dead sibling no longer counts
        assert not (folder / str(sibling.pid)).exists()
    assert not (folder / str(os.getpid())).exists()
