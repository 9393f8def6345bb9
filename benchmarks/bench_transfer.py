"""TransferClassifier on real MNIST, 2 CPU cores, references in the same run.

Low-label regime (``--low-label``): with 10 and 100 labelled training images
per digit (drawn with seeds 0, 1, 2), evaluated on all 10,000 test images:

- TransferClassifier with ImageNet weights (EfficientNet-Lite0, fine-tuned);
- the same network and training from a random initialisation (``weights=None``);
- CNNClassifier trained on the same images for the same number of epochs.

Full data (``--full``): one TransferClassifier fit on all 60,000 training
images, its fit time and test accuracy.

    python benchmarks/bench_transfer.py --low-label [--seeds 3]
    python benchmarks/bench_transfer.py --full [--freeze none --input-size 32
        --epochs 4 --lr 2e-3]   (the defaults: TransferClassifier())
"""

import numpy as np
from _harness import load_mnist, make_parser, md_header, md_row, peak_rss_mb, timed

from sklearn_mnist import CNNClassifier, TransferClassifier

# Settings per labels-per-class: the same optimisation steps for every model.
LOW_LABEL = {
    10: dict(max_epochs=100, batch_size=128, input_size=64),
    100: dict(max_epochs=20, batch_size=128, input_size=64),
}


def draw(y, per_class, seed):
    rng = np.random.RandomState(seed)
    idx = np.concatenate(
        [
            rng.choice(np.flatnonzero(y == c), per_class, replace=False)
            for c in range(10)
        ]
    )
    return rng.permutation(idx)


def fit_score(model, X, y, X_test, y_test):
    _, fit_s = timed(model.fit, X, y)
    return fit_s, float(np.mean(model.predict(X_test) == y_test))


def low_label(args, X, y, X_test, y_test):
    rows = []
    for per_class, cfg in LOW_LABEL.items():
        results = {"pretrained": [], "random init": [], "CNNClassifier": []}
        times = {k: [] for k in results}
        for seed in range(args.seeds):
            idx = draw(y, per_class, seed)
            models = {
                "pretrained": TransferClassifier(
                    weights="imagenet", random_state=seed, **cfg
                ),
                "random init": TransferClassifier(
                    weights=None, random_state=seed, **cfg
                ),
                "CNNClassifier": CNNClassifier(
                    max_epochs=cfg["max_epochs"],
                    batch_size=cfg["batch_size"],
                    random_state=seed,
                ),
            }
            for name, model in models.items():
                fit_s, acc = fit_score(model, X[idx], y[idx], X_test, y_test)
                results[name].append(acc)
                times[name].append(fit_s)
                print(
                    f"{per_class}/class seed {seed} {name:14s} fit {fit_s:6.1f} s "
                    f"test {100 * acc:.2f}%",
                    flush=True,
                )
        for name, accs in results.items():
            accs = 100 * np.array(accs)
            rows.append(
                md_row(per_class, name, f"{accs.mean():.2f}", f"{accs.std():.2f}",
                       f"{accs.min():.2f}-{accs.max():.2f}",
                       f"{np.mean(times[name]):.0f} s")
            )  # fmt: skip
        gain = 100 * (np.array(results["pretrained"]) - results["random init"])
        over_cnn = 100 * (np.array(results["pretrained"]) - results["CNNClassifier"])
        print(
            f"{per_class}/class: pretrained - random init = {gain.mean():.2f} points "
            f"(min {gain.min():.2f}); pretrained - CNN = {over_cnn.mean():.2f} "
            f"(min {over_cnn.min():.2f})",
            flush=True,
        )
    print()
    print(md_header("labels per class", "model", "mean %", "std", "range",
                    "mean fit"))  # fmt: skip
    print("\n".join(rows))


def full(args, X, y, X_test, y_test):
    model = TransferClassifier(
        freeze=int(args.freeze) if args.freeze.isdigit() else args.freeze,
        input_size=args.input_size,
        max_epochs=args.epochs,
        lr=args.lr,
        random_state=0,
        verbose=1,
    )
    fit_s, acc = fit_score(model, X, y, X_test, y_test)
    peak = peak_rss_mb() / 1024
    print(
        f"full data: freeze={args.freeze} input_size={args.input_size} "
        f"epochs={args.epochs} lr={args.lr}: fit {fit_s:.0f} s ({fit_s / 60:.1f} "
        f"min), test accuracy {100 * acc:.2f}%, peak RSS {peak:.2f} GB",
        flush=True,
    )


def build_parser():
    parser = make_parser(
        __doc__, seeds=3, epochs=4, n_train=None, quick=dict(seeds=1, epochs=1)
    )
    parser.add_argument("--low-label", action="store_true")
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--freeze", default="none")
    parser.add_argument("--input-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    X, y, X_test, y_test = load_mnist(args.n_train)
    if args.low_label:
        low_label(args, X, y, X_test, y_test)
    if args.full:
        full(args, X, y, X_test, y_test)


if __name__ == "__main__":
    main()
