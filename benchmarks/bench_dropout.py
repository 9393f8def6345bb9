"""The package's CPU ``Dropout`` against ``torch.nn.Dropout``, side by side.

1. One dropout layer, forward + backward, on the activations where the default
   CNN applies it (256 x 1568, its flattened features) and the MLP (128 x 800).
2. ``CNNClassifier()`` / ``MLPNetClassifier()`` with their defaults on 1,000
   and 60,000 MNIST training images, alternating the two dropout classes in one
   process (test accuracy printed beside each fit).

    python benchmarks/bench_dropout.py [--repeat 2]
"""

import argparse
import time

import torch
from _common import load_full_mnist
from sklearn.model_selection import train_test_split
from torch import nn

import sklearn_mnist.neural_net._modules as modules
from sklearn_mnist import CNNClassifier, MLPNetClassifier

OURS = modules.Dropout


def layer_ms(cls, shape, n=300):
    x = torch.randn(shape, requires_grad=True)
    drop = cls(0.2)
    drop(x).sum().backward()
    start = time.perf_counter()
    for _ in range(n):
        drop(x).sum().backward()
    return (time.perf_counter() - start) / n * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| activations | nn.Dropout (ms) | ours (ms) | ratio |")
    print("| --- | --- | --- | --- |")
    for shape in [(256, 1568), (128, 800)]:
        ref, ours = layer_ms(nn.Dropout, shape), layer_ms(OURS, shape)
        print(f"| {shape} | {ref:.2f} | {ours:.2f} | {ref / ours:.2f}x |")
    X, y, X_test, y_test = load_full_mnist()
    X1k, _, y1k, _ = train_test_split(X, y, train_size=1000, stratify=y,
                                      random_state=0)  # fmt: skip
    CNNClassifier(max_epochs=1).fit(X[:2000], y[:2000])  # warm-up
    print("\n| model | n | dropout | fit (s) | test acc (%) |")
    print("| --- | --- | --- | --- | --- |")
    for make, name in [(CNNClassifier, "CNNClassifier()"),
                       (MLPNetClassifier, "MLPNetClassifier()")]:  # fmt: skip
        for n, (Xn, yn) in [(1000, (X1k, y1k)), (60000, (X, y))]:
            for _ in range(args.repeat):
                for label, cls in [("nn.Dropout", nn.Dropout), ("ours", OURS)]:
                    modules.Dropout = cls
                    clf = make(random_state=0)
                    start = time.perf_counter()
                    clf.fit(Xn, yn)
                    fit_s = time.perf_counter() - start
                    acc = 100 * clf.score(X_test, y_test)
                    print(f"| {name} | {n:,} | {label} | {fit_s:.1f} | {acc:.2f} |",
                          flush=True)  # fmt: skip
    modules.Dropout = OURS


if __name__ == "__main__":
    main()
