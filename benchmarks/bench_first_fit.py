"""Where a fresh process's first fit loses its time, and what is left of it.

Each configuration runs in a fresh Python process that imports the package,
loads full MNIST, then fits ``CNNClassifier()`` twice on the 60,000 training
images; the first fit pays every first-use cost, the second shows the steady
state. Repeat ``r`` fits seeds ``2r`` and ``2r + 1``, so the repeats give the
accuracy over several seeds. Side by side, in the same run (configurations
interleaved):

- ``ours``: the defaults (the package's ``AdamW``, the allocator settled);
- ``allocator not settled``: the same without ``settle_allocator`` (glibc's
  malloc trims and re-faults its heap through the first fit);
- ``torch.optim.AdamW``: the defaults with torch's optimizer, whose first use
  imports ``torch._dynamo`` (and with it ``torch.distributed``).

Page faults are the process's minor faults during each fit.

    python benchmarks/bench_first_fit.py [--n-train 60000] [--repeat 2]
"""

import argparse
import json
import statistics
import subprocess
import sys

_CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
import torch
from _common import load_full_mnist
from sklearn_mnist import CNNClassifier
import sklearn_mnist.neural_net._base as base
imported = time.perf_counter() - t0
if not {settle}:
    base.settle_allocator = lambda: False
X, y, X_test, y_test = load_full_mnist()
n = {n_train}
optimizer = {optimizer}
fits, faults, accuracies = [], [], []
for seed in ({seed}, {seed} + 1):
    kw = dict(random_state=seed)
    if optimizer is not None:
        kw["optimizer"] = optimizer
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    clf = CNNClassifier(**kw).fit(X[:n], y[:n])
    fits.append(time.perf_counter() - start)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    accuracies.append(clf.score(X_test, y_test))
print(json.dumps(dict(imported=imported, fits=fits, faults=faults,
                      accuracies=accuracies, dynamo="torch._dynamo" in sys.modules)))
"""

CONFIGS = {  # name: (optimizer, allocator settled)
    "ours": ("None", True),
    "allocator not settled": ("None", False),
    "torch.optim.AdamW": ("torch.optim.AdamW", True),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=60000)
    parser.add_argument("--repeat", type=int, default=2, help="fresh processes each")
    args = parser.parse_args()
    print("| configuration | seeds | import (s) | first fit (s) | second fit (s) "
          "| page faults, first / second fit | test acc (%) | torch._dynamo "
          "imported |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    rows = {name: [] for name in CONFIGS}
    for r in range(args.repeat):
        for name, (optimizer, settle) in CONFIGS.items():
            code = _CHILD.format(
                n_train=args.n_train, optimizer=optimizer, settle=settle, seed=2 * r
            )
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True,
                check=True, cwd=__file__.rsplit("/", 1)[0] or ".",
            )  # fmt: skip
            res = json.loads(out.stdout.strip().splitlines()[-1])
            rows[name].append(res)
            first, second = res["fits"]
            acc = " / ".join(f"{100 * a:.2f}" for a in res["accuracies"])
            faults = " / ".join(f"{f:,}" for f in res["faults"])
            cells = [name, f"{2 * r}, {2 * r + 1}", f"{res['imported']:.1f}"]
            cells += [f"{first:.2f}", f"{second:.2f}", faults, acc, str(res["dynamo"])]
            print("| " + " | ".join(cells) + " |", flush=True)
    print()
    print("| configuration | first fit (s), mean (range) | second fit (s), mean "
          "| ratio of first fits to ours | test acc (%), mean (range) |")  # fmt: skip
    print("| --- | --- | --- | --- | --- |")
    ours = statistics.mean(res["fits"][0] for res in rows["ours"])
    for name, results in rows.items():
        firsts = [res["fits"][0] for res in results]
        seconds = [res["fits"][1] for res in results]
        accs = [100 * a for res in results for a in res["accuracies"]]
        print(
            f"| {name} | {statistics.mean(firsts):.2f} ({min(firsts):.2f}-"
            f"{max(firsts):.2f}) | {statistics.mean(seconds):.2f} | "
            f"{statistics.mean(firsts) / ours:.2f} | {statistics.mean(accs):.3f} "
            f"({min(accs):.2f}-{max(accs):.2f}) |"
        )


if __name__ == "__main__":
    main()
