"""Parallel grid searches on this machine's 2 cores, side by side in one run.

1. GridSearchCV(n_jobs=2) vs n_jobs=1 on the same grids (joblib's loky
   workers, each fit with its share of the cores), and n_jobs=2 with every fit
   allowed all cores (``inner_max_num_threads=2``: the oversubscription the
   thread budget avoids).
2. The same search on a Dask LocalCluster (2 worker processes x 1 thread,
   127.0.0.1) with the data scattered once, on all 60,000 training images:
   time, results equal to the local run, peak memory per worker, and the
   same search with one worker killed in the middle.

    python benchmarks/bench_parallel.py [--n-train 60000] [--skip-dask]
        [--model default|small] [--skip-local]
    python benchmarks/bench_parallel.py --cold [--cold-n 20000]

3. ``--cold``: what a user's first search pays. Each search runs in a fresh
   Python process (no warm-up, loky workers not started): GridSearchCV over
   the CNN, 4 candidates x cv=2 = 8 fits on the first 20,000 training
   images, n_jobs=1 and n_jobs=2, with the first release's settings (short
   fits: worker start-up weighs most) and with the defaults, and the mean fit
   time per candidate from ``cv_results_``.

Searches use refit=False so that the times are the parallel part alone.
"""

import json
import logging
import os
import resource
import subprocess
import sys
import threading
import time

import joblib
import numpy as np
from _harness import (
    FIRST_RELEASE_TEXT,
    load_mnist,
    make_parser,
    md_header,
    md_row,
    timed,
)
from sklearn.model_selection import GridSearchCV

from sklearn_mnist import CNNClassifier

GRIDS = {  # name -> (param grid, cv): 2, 3, 4 and 6 fits
    "1 candidate x cv2": ({"lr": [8e-3]}, 2),
    "1 candidate x cv3": ({"lr": [8e-3]}, 3),
    "2 candidates x cv2": ({"lr": [4e-3, 8e-3]}, 2),
    "3 candidates x cv2": ({"module__hidden_units": [64, 128, 256]}, 2),
}


MODELS = {
    # The default CNN: its convolutions already use 2 threads well.
    "default": dict(),
    # A small CNN with small batches, typical of a wide grid's cheap candidates:
    # per-batch work too small for 2 threads to share well.
    "small": dict(module__channels=(8, 16), module__hidden_units=32, batch_size=64),
}
MODEL = MODELS["default"]


def search(grid, cv, n_jobs, refit=True):
    return GridSearchCV(
        CNNClassifier(random_state=0, **MODEL),
        grid,
        cv=cv,
        n_jobs=n_jobs,
        refit=refit,
    )


def _warm():
    import torch

    return torch.get_num_threads()


def warm_workers(X, y, n_jobs=2):
    """Start the loky workers and run a small fit in each before timing (the
    first fit in a fresh process pays for imports and kernel set-up)."""
    search({"lr": [8e-3, 4e-3]}, 2, n_jobs, False).fit(X[:2000], y[:2000])
    return joblib.Parallel(n_jobs=n_jobs)(joblib.delayed(_warm)() for _ in range(4))


def local_grids(X, y, oversubscribed=True):
    print(md_header("grid", "fits", "n_jobs=1", "n_jobs=2", "speed-up",
                    "n_jobs=2, all cores per fit", "speed-up"))  # fmt: skip
    search({"lr": [8e-3]}, 2, 1, False).fit(X[:2000], y[:2000])  # warm-up
    for name, (grid, cv) in GRIDS.items():
        s1, t1 = timed(search(grid, cv, 1, False).fit, X, y)
        threads = warm_workers(X, y)
        s2, t2 = timed(search(grid, cv, 2, False).fit, X, y)
        t3, all_threads = float("nan"), ["-"]
        if oversubscribed or name == next(iter(GRIDS)):
            with joblib.parallel_config("loky", inner_max_num_threads=os.cpu_count()):
                all_threads = warm_workers(X, y)
                _, t3 = timed(search(grid, cv, 2, False).fit, X, y)
        if name == next(iter(GRIDS)):
            print(f"(torch threads per loky worker: {threads[0]} with the budget, "
                  f"{all_threads[0]} with inner_max_num_threads)")  # fmt: skip
        n_fits = len(s1.cv_results_["params"]) * cv
        same = np.allclose(
            s1.cv_results_["mean_test_score"], s2.cv_results_["mean_test_score"]
        )
        print(
            md_row(name, n_fits, f"{t1:.1f} s", f"{t2:.1f} s", f"{t1 / t2:.2f}x",
                   f"{t3:.1f} s", f"{t1 / t3:.2f}x")
            + ("" if same else " (scores differ in the last digits)"),
            flush=True,
        )  # fmt: skip


def _peak_rss_mb():
    """Peak RSS of this process image (VmHWM; ru_maxrss survives exec, so a
    spawned worker would report its parent's peak). It runs in Dask's workers,
    so it uses nothing from ``_harness``."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dask_search(X, y):
    from distributed import Client, LocalCluster

    grid, cv = {"lr": [4e-3, 8e-3]}, 2
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1",
        dashboard_address=None, silence_logs=logging.ERROR,
    )  # fmt: skip
    client = Client(cluster)
    client.run(lambda: __import__("torch").get_num_threads())  # workers warm
    print(f"\nDask LocalCluster, 2 workers x 1 thread, {len(X)} training images, "
          f"{X.nbytes / 1e6:.0f} MB; grid {grid}, cv={cv}")  # fmt: skip
    local, t_local = timed(search(grid, cv, 1, False).fit, X, y)
    print(f"local n_jobs=1: {t_local:.1f} s; peak RSS of this process "
          f"{_peak_rss_mb():.0f} MB")  # fmt: skip
    with joblib.parallel_backend("dask", scatter=[X, y]):
        remote, t_dask = timed(search(grid, cv, -1, False).fit, X, y)
    diff = np.abs(
        local.cv_results_["mean_test_score"] - remote.cv_results_["mean_test_score"]
    ).max()
    peaks = client.run(_peak_rss_mb)
    print(
        f"Dask (data scattered once): {t_dask:.1f} s, {t_local / t_dask:.2f}x vs "
        f"local; largest score difference to local {diff:.5f}; peak RSS per worker "
        + ", ".join(f"{v:.0f} MB" for v in peaks.values()),
        flush=True,
    )

    # Kill one worker in the middle; Dask reschedules its task.
    pids = client.run(os.getpid)
    result = {}

    def run():
        with joblib.parallel_backend("dask", scatter=[X, y]):
            result["s"], result["t"] = timed(search(grid, cv, -1, False).fit, X, y)

    thread = threading.Thread(target=run)
    thread.start()
    victim = None
    while victim is None:
        busy = [w for w, tasks in client.processing().items() if tasks]
        victim = busy[0] if busy else None
        time.sleep(0.05)
    time.sleep(2.0)  # well into a fit
    os.kill(pids[victim], 9)
    _, after_kill = timed(thread.join)
    diff_killed = np.abs(
        remote.cv_results_["mean_test_score"]
        - result["s"].cv_results_["mean_test_score"]
    ).max()
    print(
        f"Dask with worker {victim} killed (SIGKILL) 2 s into a fit: search "
        f"finished in {result['t']:.1f} s ({result['t'] - t_dask:+.1f} s vs "
        f"undisturbed), {after_kill:.1f} s after the kill; "
        f"largest score difference to the undisturbed Dask run {diff_killed:.5f}",
        flush=True,
    )
    client.close()
    cluster.close()


_COLD_CHILD = """
import json, sys, time
start = time.perf_counter()
from _harness import load_mnist
from sklearn.model_selection import GridSearchCV
from sklearn_mnist import CNNClassifier
X, y, _, _ = load_mnist()
ready = time.perf_counter()
grid = {{"lr": [2e-3, 4e-3, 8e-3, 1.6e-2]}}
search = GridSearchCV(CNNClassifier(random_state=0, {kw}), grid, cv=2, n_jobs={n_jobs},
                      refit=False).fit(X[:{n}], y[:{n}])
done = time.perf_counter()
r = search.cv_results_
print(json.dumps(dict(setup=ready - start, search=done - ready,
                      fit_times=[float(t) for t in r["mean_fit_time"]],
                      scores=[float(t) for t in r["mean_test_score"]])))
"""


def cold_searches(n):
    print(f"Cold searches: 8 fits of CNNClassifier() on {n:,} images, fresh process")
    print(md_header("search", "imports + data (s)", "search (s)",
                    "mean fit time per candidate (s)", "mean test scores"))  # fmt: skip
    for label, kw in [
        ("first release's settings", FIRST_RELEASE_TEXT),
        ("defaults", ""),
    ]:
        _cold_pair(n, label, kw)


def _cold_pair(n, label, kw):
    times = {}
    for n_jobs in (1, 2):
        out = subprocess.run(
            [sys.executable, "-c", _COLD_CHILD.format(n_jobs=n_jobs, n=n, kw=kw)],
            capture_output=True, text=True, check=True,
            cwd=os.path.dirname(os.path.abspath(__file__)),
        )  # fmt: skip
        r = json.loads(out.stdout.strip().splitlines()[-1])
        times[n_jobs] = r["search"]
        fits = ", ".join(f"{t:.1f}" for t in r["fit_times"])
        scores = ", ".join(f"{t:.4f}" for t in r["scores"])
        cells = [f"{label}, n_jobs={n_jobs}", f"{r['setup']:.1f}"]
        cells += [f"{r['search']:.1f}", fits, scores]
        print(md_row(*cells), flush=True)
    print(md_row(f"{label}: speed-up n_jobs=2 / n_jobs=1", "",
                 f"{times[1] / times[2]:.2f}x", "", ""), flush=True)  # fmt: skip


def build_parser():
    parser = make_parser(
        __doc__, n_train=60000, quick=dict(cold_n=2000, skip_dask=True)
    )
    parser.add_argument("--cold", action="store_true", help="only the cold searches")
    parser.add_argument("--cold-n", type=int, default=20000)
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument(
        "--first-oversubscribed-only",
        action="store_true",
        help="time the all-cores-per-fit column on the first grid only (slow)",
    )
    parser.add_argument("--model", choices=sorted(MODELS), default="default")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.cold:
        cold_searches(args.cold_n)
        return
    MODEL.update(MODELS[args.model])
    print(f"CNNClassifier({', '.join(f'{k}={v}' for k, v in MODEL.items())})")
    X, y, _, _ = load_mnist()
    if not args.skip_local:
        local_grids(
            X[: args.n_train],
            y[: args.n_train],
            oversubscribed=not args.first_oversubscribed_only,
        )
    if not args.skip_dask:
        dask_search(X, y)


if __name__ == "__main__":
    main()
