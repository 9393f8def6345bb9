"""Incremental learning with default parameters, beside scikit-learn's MLP.

The user guide's loop: the package's offline MNIST sample (5,000 real digits),
4,000 of them in 5 chunks of 800 through ``partial_fit(..., classes=range(10))``,
scored on the other 1,000; scikit-learn's ``MLPClassifier()`` (on pixels / 255)
gets the same chunks in the same run. ``--passes 2`` goes over the chunks
twice (10 calls).

    cd benchmarks && python bench_partial_fit.py [--passes 2]
"""

import argparse

import numpy as np
from sklearn.neural_network import MLPClassifier

from sklearn_mnist import CNNClassifier, MLPNetClassifier, load_mnist_sample


def main(passes=1):
    X, y = load_mnist_sample(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[:4000], order[4000:]
    chunks = np.array_split(train, 5)
    for name, clf, scale in [
        ("MLPNetClassifier()", MLPNetClassifier(random_state=0), 1),
        ("CNNClassifier()", CNNClassifier(random_state=0), 1),
        ("sklearn MLPClassifier()", MLPClassifier(random_state=0), 255),
    ]:
        for chunk in chunks * passes:
            clf.partial_fit(X[chunk] / scale, y[chunk], classes=np.arange(10))
        acc = 100 * clf.score(X[test] / scale, y[test])
        calls = len(chunks) * passes
        print(f"{name}: {acc:.1f}% on 1,000 held-out digits after {calls} calls")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=1)
    main(parser.parse_args().passes)
