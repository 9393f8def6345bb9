"""The package's CPU ``Dropout`` against ``torch.nn.Dropout``, side by side.

1. One dropout layer, forward + backward, on the activations where the default
   CNN applies it (256 x 1568, its flattened features) and the MLP (128 x 800).
2. ``CNNClassifier()`` / ``MLPNetClassifier()`` with their defaults on 1,000
   and 60,000 MNIST training images, alternating the two dropout classes in one
   process (test accuracy printed beside each fit).

    python benchmarks/bench_dropout.py [--repeat 2]
"""

import torch
from _harness import (
    load_mnist,
    make_parser,
    md_header,
    md_row,
    stratified_subset,
    timed,
    torch_info,
)
from torch import nn

import sklearn_mnist.neural_net._modules as modules
from sklearn_mnist import CNNClassifier, MLPNetClassifier

OURS = modules.Dropout


def layer_ms(cls, shape, n=300):
    x = torch.randn(shape, requires_grad=True)
    drop = cls(0.2)

    def step():
        drop(x).sum().backward()

    return timed(step, number=n, warmup=1)[1] * 1e3


def build_parser():
    return make_parser(__doc__, repeat=2, n_train=None, quick=dict(repeat=1))


def main(argv=None):
    args = build_parser().parse_args(argv)
    print(torch_info())
    print(md_header("activations", "nn.Dropout (ms)", "ours (ms)", "ratio"))
    for shape in [(256, 1568), (128, 800)]:
        ref, ours = layer_ms(nn.Dropout, shape), layer_ms(OURS, shape)
        print(md_row(shape, f"{ref:.2f}", f"{ours:.2f}", f"{ref / ours:.2f}x"))
    X, y, X_test, y_test = load_mnist(args.n_train)
    X1k, y1k = stratified_subset(X, y, 1000, seed=0)
    CNNClassifier(max_epochs=1).fit(X[:2000], y[:2000])  # warm-up
    print()
    print(md_header("model", "n", "dropout", "fit (s)", "test acc (%)"))
    for make, name in [(CNNClassifier, "CNNClassifier()"),
                       (MLPNetClassifier, "MLPNetClassifier()")]:  # fmt: skip
        for n, (Xn, yn) in [(1000, (X1k, y1k)), (len(X), (X, y))]:
            for _ in range(args.repeat):
                for label, cls in [("nn.Dropout", nn.Dropout), ("ours", OURS)]:
                    modules.Dropout = cls
                    clf = make(random_state=0)
                    _, fit_s = timed(clf.fit, Xn, yn)
                    acc = 100 * clf.score(X_test, y_test)
                    print(md_row(name, f"{n:,}", label, f"{fit_s:.1f}", f"{acc:.2f}"),
                          flush=True)  # fmt: skip
    modules.Dropout = OURS


if __name__ == "__main__":
    main()
