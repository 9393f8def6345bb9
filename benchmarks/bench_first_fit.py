"""Where a fresh process's first fit loses its time, and what is left of it.

Each configuration runs in a fresh Python process that imports the package,
loads full MNIST, then fits ``CNNClassifier()`` twice on the 60,000 training
images; the first fit pays every first-use cost, the second shows the steady
state. Side by side, in the same run:

- ``ours``: the defaults (the package's ``AdamW``);
- ``torch.optim.AdamW``: the same fit with torch's optimizer, whose first use
  imports ``torch._dynamo`` (and with it ``torch.distributed``).

    python benchmarks/bench_first_fit.py [--n-train 60000] [--repeat 2]
"""

import argparse
import json
import subprocess
import sys

_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import torch
from _common import load_full_mnist
from sklearn_mnist import CNNClassifier
imported = time.perf_counter() - t0
X, y, X_test, y_test = load_full_mnist()
n = {n_train}
optimizer = {optimizer}
fits, accuracies = [], []
for seed in range(2):
    kw = dict(random_state=seed)
    if optimizer is not None:
        kw["optimizer"] = optimizer
    start = time.perf_counter()
    clf = CNNClassifier(**kw).fit(X[:n], y[:n])
    fits.append(time.perf_counter() - start)
    accuracies.append(clf.score(X_test, y_test))
print(json.dumps(dict(imported=imported, fits=fits, accuracies=accuracies,
                      dynamo="torch._dynamo" in sys.modules)))
"""

CONFIGS = {
    "ours (AdamW of the package)": "None",
    "torch.optim.AdamW": "torch.optim.AdamW",
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=60000)
    parser.add_argument("--repeat", type=int, default=2, help="fresh processes each")
    args = parser.parse_args()
    print("| optimizer | import (s) | first fit (s) | second fit (s) | first - second "
          "| test acc (%) | torch._dynamo imported |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for _ in range(args.repeat):
        for name, optimizer in CONFIGS.items():
            code = _CHILD.format(n_train=args.n_train, optimizer=optimizer)
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True,
                check=True, cwd=__file__.rsplit("/", 1)[0] or ".",
            )  # fmt: skip
            r = json.loads(out.stdout.strip().splitlines()[-1])
            first, second = r["fits"]
            acc = " / ".join(f"{100 * a:.2f}" for a in r["accuracies"])
            cells = [name, f"{r['imported']:.1f}", f"{first:.1f}", f"{second:.1f}"]
            cells += [f"{first - second:.1f}", acc, str(r["dynamo"])]
            print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
