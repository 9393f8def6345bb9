"""One training step of the default CNN, with and without the gradient-layout fix.

``CNNModule`` runs channels-last; ``Flatten`` copies its features into
(c, h, w) order, so their gradient used to come back in that order and the
last ReLU's and batch norm's backward mixed layouts (a slow path). The module
now puts that gradient back in channels-last order (``_channels_last`` in
``sklearn_mnist/neural_net/_modules.py``). This script times training steps
of the default module as ``CNNClassifier()`` builds it on 60,000 images
(batch 256, no dropout, channels-last, the package's AdamW), the fixed and the
old forward in interleaved rounds, plus ReLU's backward alone with matching and
mixed layouts. ``--fits N`` also fits ``CNNClassifier()`` on all 60,000 MNIST
images N times each way (seeds interleaved, after a warm-up fit).

    cd benchmarks && python bench_cnn_step.py [--rounds 200] [--fits 3]
"""

import numpy as np
import torch
from _harness import load_mnist, make_parser, timed
from torch import nn

from sklearn_mnist import CNNClassifier
from sklearn_mnist.neural_net import AdamW, CNNModule

CL = torch.channels_last


class OldCNNModule(CNNModule):
    """The forward before the fix: the gradient stays in (c, h, w) order."""

    def forward(self, x):
        return self.head(self.features(x))


def steps(rounds, n=5):
    x = torch.randn(256, 1, 28, 28).contiguous(memory_format=CL)
    y = torch.randint(0, 10, (256,))
    loss_fn = nn.CrossEntropyLoss()
    runs = {}
    for name, cls in [("fixed", CNNModule), ("old", OldCNNModule)]:
        torch.manual_seed(0)
        module = cls((1, 28, 28), 10, dropout=0.0).to(memory_format=CL)
        optimizer = AdamW(module.parameters(), lr=1e-3)

        def step(module=module, optimizer=optimizer):
            optimizer.zero_grad()
            loss_fn(module(x), y).backward()
            optimizer.step()

        for _ in range(20):
            step()
        runs[name] = step
    times = {name: [] for name in runs}
    for i in range(rounds):  # short rounds, alternating which goes first
        for name in sorted(runs, reverse=bool(i % 2)):
            times[name].append(timed(runs[name], number=n)[1] * 1e3)
    fixed, old = np.median(times["fixed"]), np.median(times["old"])
    ratios = np.array(times["fixed"]) / np.array(times["old"])
    print(f"training step, median of {rounds} rounds of {n} steps:")
    print(
        f"  fixed {fixed:.2f} ms, old {old:.2f} ms; per-round ratio fixed/old: "
        f"median {np.median(ratios):.3f} (quartiles {np.quantile(ratios, 0.25):.3f}"
        f"-{np.quantile(ratios, 0.75):.3f})"
    )

    out = torch.relu(torch.randn(256, 32, 7, 7)).contiguous(memory_format=CL)
    grad = torch.randn(256, 32, 7, 7)
    matched = grad.contiguous(memory_format=CL)
    relu_bwd = torch.ops.aten.threshold_backward
    mixed_ms = timed(relu_bwd, grad, out, 0, number=200)[1] * 1e3
    matched_ms = timed(relu_bwd, matched, out, 0, number=200)[1] * 1e3
    print(
        "  ReLU backward, 256 x 32 x 7 x 7 channels-last: gradient (c, h, w) "
        f"{mixed_ms:.3f} ms, channels-last {matched_ms:.3f} ms"
    )


def fits(n, n_train=None):
    X, y, X_test, y_test = load_mnist(n_train)
    CNNClassifier(random_state=0, max_epochs=1).fit(X[:5000], y[:5000])  # warm-up
    results = {"fixed": [], "old": []}
    for seed in range(n):
        for name, module in [("fixed", CNNModule), ("old", OldCNNModule)]:
            clf = CNNClassifier(module=module, random_state=seed)
            _, seconds = timed(clf.fit, X, y)
            results[name].append((seconds, 100 * clf.score(X_test, y_test)))
            print(f"  {name} seed {seed}: {seconds:.2f} s, {results[name][-1][1]:.2f}%")
    old = np.mean([s for s, _ in results["old"]])
    for name, rows in results.items():
        rows = np.array(rows)
        print(
            f"CNNClassifier() on {len(X):,}, {name}: fit {rows[:, 0].mean():.2f} s "
            f"(ratio to old {rows[:, 0].mean() / old:.3f}), test acc "
            f"{rows[:, 1].mean():.3f}%"
        )


def build_parser():
    parser = make_parser(__doc__, n_train=None, quick=dict(rounds=5))
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--fits", type=int, default=0)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    steps(args.rounds)
    if args.fits:
        fits(args.fits, args.n_train)


if __name__ == "__main__":
    main()
