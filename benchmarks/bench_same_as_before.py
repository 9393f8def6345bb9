"""The default CNN on full MNIST, for comparing two versions of the package.

Fits ``CNNClassifier(random_state=0)`` on the 60,000 training images (after a
small warm-up fit, so that first-use costs are not counted) and prints the fit
time and test accuracy, with the path of the ``sklearn_mnist`` it imported.
``--first-release-settings`` passes the first release's defaults explicitly
(3 epochs, batch 256, no augmentation, no dropout), which the current code
must reproduce exactly. Run it against another checkout with ``PYTHONPATH``:

    git worktree add /tmp/first-release 794dfbb
    cd benchmarks
    PYTHONPATH=/tmp/first-release python bench_same_as_before.py
    python bench_same_as_before.py --first-release-settings
    python bench_same_as_before.py
"""

import argparse
import time

from _common import FIRST_RELEASE, load_full_mnist

import sklearn_mnist
from sklearn_mnist import CNNClassifier


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first-release-settings", action="store_true")
    args = parser.parse_args()
    kw = {}
    if args.first_release_settings:
        kw = FIRST_RELEASE
    X, y, X_test, y_test = load_full_mnist()
    CNNClassifier(random_state=0, max_epochs=1).fit(X[:3000], y[:3000])  # warm-up
    clf = CNNClassifier(random_state=0, **kw)
    start = time.perf_counter()
    clf.fit(X, y)
    fit_s = time.perf_counter() - start
    print(f"{sklearn_mnist.__file__} {kw or 'defaults'}: fit {fit_s:.2f} s, "
          f"test accuracy {100 * clf.score(X_test, y_test):.2f}%")  # fmt: skip


if __name__ == "__main__":
    main()
