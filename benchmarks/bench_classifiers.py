"""Full-MNIST speed and accuracy of the default classifiers, side by side with
references in the same run (2 CPU cores):

- CNNClassifier() vs the skorch tutorial CNN (conv32-conv64-fc100 through a plain
  NeuralNetClassifier with skorch's DataLoader, Adam, batch 128);
- MLPNetClassifier() vs scikit-learn's MLPClassifier(800 hidden units).

    python benchmarks/bench_classifiers.py [--ref-epochs 5] [--skip-refs] [--long]
"""

import warnings

import numpy as np
import torch
from _harness import (
    FIRST_RELEASE,
    FIRST_RELEASE_TEXT,
    load_mnist,
    make_parser,
    md_header,
    md_row,
    peak_rss_mb,
    timed,
    torch_info,
    unit_images,
)
from skorch import NeuralNetClassifier
from torch import nn

from sklearn_mnist import CNNClassifier, MLPNetClassifier


class TutorialCNN(nn.Module):
    """skorch's MNIST tutorial CNN."""

    def __init__(self, dropout=0.5):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
        self.conv2_drop = nn.Dropout2d(p=dropout)
        self.fc1 = nn.Linear(1600, 100)
        self.fc2 = nn.Linear(100, 10)
        self.fc1_drop = nn.Dropout(p=dropout)

    def forward(self, x):
        x = torch.relu(torch.max_pool2d(self.conv1(x), 2))
        x = torch.relu(torch.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.view(-1, x.size(1) * x.size(2) * x.size(3))
        x = torch.relu(self.fc1_drop(self.fc1(x)))
        return torch.softmax(self.fc2(x), dim=-1)


def throughput(predict, X, repeat=3):
    predict(X[:2000])  # warm-up
    _, best = timed(predict, X, repeat=repeat)
    return len(X) / best


def row(name, fit_s, acc, ips, note=""):
    print(md_row(name, f"{fit_s:.1f}", f"{acc * 100:.2f}", f"{ips:,.0f}", note),
          flush=True)  # fmt: skip


def build_parser():
    parser = make_parser(__doc__, seeds=1, n_train=None, quick=dict(ref_epochs=1))
    parser.add_argument("--ref-epochs", type=int, default=5)
    parser.add_argument("--skip-refs", action="store_true")
    parser.add_argument("--long", action="store_true", help="also the long CNN")
    parser.add_argument(
        "--first-release", action="store_true",
        help="also the CNN with the first release's defaults",
    )  # fmt: skip
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    X_train, y_train, X_test, y_test = load_mnist(args.n_train)
    print(torch_info())
    print(md_header("model", "fit (s)", "test acc (%)", "predict (img/s)", "note"))

    cnn_times = []
    for seed in range(args.seeds):
        cnn = CNNClassifier(random_state=seed)
        fit_s = timed(cnn.fit, X_train, y_train)[1]
        cnn_times.append(fit_s)
        peak_mb = peak_rss_mb()
        row(
            f"CNNClassifier() seed {seed}",
            fit_s,
            cnn.score(X_test, y_test),
            throughput(cnn.predict, X_test),
            f"{cnn.max_epochs_} epochs, augment={cnn.augment_}; process peak RSS "
            f"{peak_mb:.0f} MB",
        )

    if args.first_release:
        # The first release's defaults, through the current code path (the
        # refactored base class, AdamW, OneCycle): the figures should not move.
        old = CNNClassifier(**FIRST_RELEASE, random_state=0)
        old_s = timed(old.fit, X_train, y_train)[1]
        row(
            "CNNClassifier, first release's defaults",
            old_s,
            old.score(X_test, y_test),
            throughput(old.predict, X_test),
            FIRST_RELEASE_TEXT,
        )

    if not args.skip_refs:
        X_ref, X_ref_test = unit_images(X_train), unit_images(X_test)
        ref = NeuralNetClassifier(
            TutorialCNN,
            max_epochs=args.ref_epochs,
            lr=1e-3,
            batch_size=128,
            optimizer=torch.optim.Adam,
            train_split=None,
            verbose=0,
        )
        torch.manual_seed(0)
        ref_s = timed(ref.fit, X_ref, y_train)[1]
        ref_acc = (ref.predict(X_ref_test) == y_test).mean()
        row(
            "skorch tutorial CNN (reference)",
            ref_s,
            ref_acc,
            throughput(ref.predict, X_ref_test),
            f"{args.ref_epochs} epochs, {ref_s / args.ref_epochs:.1f} s/epoch",
        )
        ratio = ref_s / np.median(cnn_times)
        print(f"fit-time ratio reference / CNNClassifier: {ratio:.1f}x")

    mlp = MLPNetClassifier(random_state=0)
    mlp_s = timed(mlp.fit, X_train, y_train)[1]
    row(
        "MLPNetClassifier()",
        mlp_s,
        mlp.score(X_test, y_test),
        throughput(mlp.predict, X_test),
        f"{mlp.max_epochs_} epochs, augment={mlp.augment_}",
    )

    if not args.skip_refs:
        from sklearn.neural_network import MLPClassifier

        sk = MLPClassifier(
            hidden_layer_sizes=(800,), max_iter=mlp.max_epochs_, random_state=0
        )
        Xf, Xf_test = (
            X_train.reshape(len(X_train), -1) / 255.0,
            X_test.reshape(len(X_test), -1) / 255.0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk_s = timed(sk.fit, Xf, y_train)[1]
        row(
            "sklearn MLPClassifier(800) (reference)",
            sk_s,
            sk.score(Xf_test, y_test),
            throughput(sk.predict, Xf_test),
            f"{mlp.max_epochs_} epochs (max_iter)",
        )
        print(f"fit-time ratio sklearn MLP / MLPNetClassifier: {sk_s / mlp_s:.1f}x")

    if args.long:
        long = CNNClassifier(
            module__channels=(32, 64),
            module__hidden_units=256,
            module__dropout=0.3,
            max_epochs=15,
            lr=4e-3,
            random_state=0,
        )
        long_s = timed(long.fit, X_train, y_train)[1]
        row(
            "CNNClassifier long (32-64, fc256, dropout 0.3, 15 epochs)",
            long_s,
            long.score(X_test, y_test),
            throughput(long.predict, X_test),
        )


if __name__ == "__main__":
    main()
