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

from _harness import FIRST_RELEASE, load_mnist, make_parser, timed

import sklearn_mnist
from sklearn_mnist import CNNClassifier


def build_parser():
    parser = make_parser(__doc__, n_train=None)
    parser.add_argument("--first-release-settings", action="store_true")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    kw = {}
    if args.first_release_settings:
        kw = FIRST_RELEASE
    X, y, X_test, y_test = load_mnist(args.n_train)
    CNNClassifier(random_state=0, max_epochs=1).fit(X[:3000], y[:3000])  # warm-up
    clf = CNNClassifier(random_state=0, **kw)
    _, fit_s = timed(clf.fit, X, y)
    print(f"{sklearn_mnist.__file__} {kw or 'defaults'}: fit {fit_s:.2f} s, "
          f"test accuracy {100 * clf.score(X_test, y_test):.2f}%")  # fmt: skip


if __name__ == "__main__":
    main()
