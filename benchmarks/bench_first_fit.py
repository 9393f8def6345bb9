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

The ``--repeat`` option counts fresh processes per configuration.
"""

import json
import pathlib
import statistics
import subprocess
import sys

from _harness import make_parser, md_header, md_row

# The import is timed by hand: the harness is one of the things imported.
_CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
import torch
from _harness import load_mnist, timed
from sklearn_mnist import CNNClassifier
from sklearn_mnist.utils import settle_allocator
imported = time.perf_counter() - t0
if not {settle}:  # wherever the package calls it from
    for name, module in list(sys.modules.items()):
        if name.startswith("sklearn_mnist") and (
            getattr(module, "settle_allocator", None) is settle_allocator
        ):
            module.settle_allocator = lambda: False
X, y, X_test, y_test = load_mnist()
n = {n_train}
optimizer = {optimizer}
fits, faults, accuracies = [], [], []
for seed in ({seed}, {seed} + 1):
    kw = dict(random_state=seed)
    if optimizer is not None:
        kw["optimizer"] = optimizer
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    clf, seconds = timed(CNNClassifier(**kw).fit, X[:n], y[:n])
    fits.append(seconds)
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


def build_parser():
    return make_parser(__doc__, n_train=60000, repeat=2, quick=dict(repeat=1))


def main(argv=None):
    args = build_parser().parse_args(argv)
    print(md_header("configuration", "seeds", "import (s)", "first fit (s)",
                    "second fit (s)", "page faults, first / second fit",
                    "test acc (%)", "torch._dynamo imported"))  # fmt: skip
    rows = {name: [] for name in CONFIGS}
    for r in range(args.repeat):
        for name, (optimizer, settle) in CONFIGS.items():
            code = _CHILD.format(
                n_train=args.n_train, optimizer=optimizer, settle=settle, seed=2 * r
            )
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True,
                check=True, cwd=pathlib.Path(__file__).resolve().parent,
            )  # fmt: skip
            res = json.loads(out.stdout.strip().splitlines()[-1])
            rows[name].append(res)
            first, second = res["fits"]
            acc = " / ".join(f"{100 * a:.2f}" for a in res["accuracies"])
            faults = " / ".join(f"{f:,}" for f in res["faults"])
            cells = [name, f"{2 * r}, {2 * r + 1}", f"{res['imported']:.1f}"]
            cells += [f"{first:.2f}", f"{second:.2f}", faults, acc, str(res["dynamo"])]
            print(md_row(*cells), flush=True)
    print()
    print(md_header("configuration", "first fit (s), mean (range)",
                    "second fit (s), mean", "ratio of first fits to ours",
                    "test acc (%), mean (range)"))  # fmt: skip
    ours = statistics.mean(res["fits"][0] for res in rows["ours"])
    for name, results in rows.items():
        firsts = [res["fits"][0] for res in results]
        seconds = [res["fits"][1] for res in results]
        accs = [100 * a for res in results for a in res["accuracies"]]
        print(
            md_row(
                name,
                f"{statistics.mean(firsts):.2f} ({min(firsts):.2f}-{max(firsts):.2f})",
                f"{statistics.mean(seconds):.2f}",
                f"{statistics.mean(firsts) / ours:.2f}",
                f"{statistics.mean(accs):.3f} ({min(accs):.2f}-{max(accs):.2f})",
            )
        )


if __name__ == "__main__":
    main()
