"""Incremental learning with default parameters, beside scikit-learn's MLP.

The user guide's loop: the package's offline MNIST sample (5,000 real digits),
4,000 of them in 5 chunks of 800 through ``partial_fit(..., classes=range(10))``,
scored on the other 1,000; scikit-learn's ``MLPClassifier()`` (on pixels / 255)
gets the same chunks in the same run. ``--passes 2`` goes over the chunks
twice (10 calls); ``--seeds 5`` averages over 5 splits and seeds (0-4).

    cd benchmarks && python bench_partial_fit.py [--passes 2] [--seeds 5]
"""

import numpy as np
from _harness import make_parser
from sklearn.neural_network import MLPClassifier

from sklearn_mnist import CNNClassifier, MLPNetClassifier, load_mnist_sample


def run(seed, passes):
    """{name: accuracy (%)} for one split and seed."""
    X, y = load_mnist_sample(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(X))
    train, test = order[:4000], order[4000:]
    chunks = np.array_split(train, 5)
    out = {}
    for name, clf, scale in [
        ("MLPNetClassifier()", MLPNetClassifier(random_state=seed), 1),
        ("CNNClassifier()", CNNClassifier(random_state=seed), 1),
        ("sklearn MLPClassifier()", MLPClassifier(random_state=seed), 255),
    ]:
        for chunk in chunks * passes:
            clf.partial_fit(X[chunk] / scale, y[chunk], classes=np.arange(10))
        out[name] = 100 * clf.score(X[test] / scale, y[test])
    return out


def build_parser():
    parser = make_parser(__doc__, seeds=1)
    parser.add_argument("--passes", type=int, default=1)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    passes, seeds = args.passes, args.seeds
    runs = [run(seed, passes) for seed in range(seeds)]
    for name in runs[0]:
        accs = [r[name] for r in runs]
        spread = f" ({min(accs):.1f}-{max(accs):.1f})" if seeds > 1 else ""
        print(
            f"{name}: {np.mean(accs):.1f}%{spread} on 1,000 held-out digits after "
            f"{5 * passes} calls, {seeds} seed(s)"
        )


if __name__ == "__main__":
    main()
