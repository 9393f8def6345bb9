"""Learning curve of the DEFAULT classifiers against scikit-learn's defaults.

Stratified subsets of the MNIST training set (100 ... 60,000 images, several
seeds), scored on the full 10,000-image test set. Every model is constructed
with its default parameters; scikit-learn's models get pixels / 255 (what their
documentation recommends), ours get the raw uint8 images. Each fit runs in a
fresh Python process, so the time includes everything a user's first fit pays
(oneDNN kernel creation, thread pools...), but not the import.

    python benchmarks/bench_learning_curve.py                      # everything
    python benchmarks/bench_learning_curve.py --sizes 100,1000 --models cnn,svc
    python benchmarks/bench_learning_curve.py --transfer-max 3000  # smaller transfer
    python benchmarks/bench_learning_curve.py --variant fashion    # Fashion-MNIST

Prints one line per fit and a Markdown table of mean accuracy (and range) and
mean fit time per model and size; ``--json FILE`` keeps the raw rows.
"""

import argparse
import json
import statistics
import subprocess
import sys

from _harness import (
    load_mnist,
    make_parser,
    md_header,
    md_row,
    stratified_subset,
    timed,
)

SIZES = (100, 300, 1000, 3000, 10000, 60000)
MODELS = ("cnn", "mlp", "transfer", "svc", "sk_mlp", "logreg")
NAMES = {
    "cnn": "CNNClassifier()",
    "mlp": "MLPNetClassifier()",
    "transfer": "TransferClassifier()",
    "svc": "sklearn SVC()",
    "sk_mlp": "sklearn MLPClassifier()",
    "logreg": "sklearn LogisticRegression()",
}


def make_model(name):
    if name == "cnn":
        from sklearn_mnist import CNNClassifier

        return CNNClassifier(), False
    if name == "mlp":
        from sklearn_mnist import MLPNetClassifier

        return MLPNetClassifier(), False
    if name == "transfer":
        from sklearn_mnist import TransferClassifier

        return TransferClassifier(), False
    if name == "svc":
        from sklearn.svm import SVC

        return SVC(), True
    if name == "sk_mlp":
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(), True
    if name == "logreg":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(), True
    raise ValueError(name)


def run_one(model_name, n, seed, variant="mnist"):
    """Fit one model in this (fresh) process; print a JSON row."""
    import warnings

    import numpy as np

    X, y, X_test, y_test = load_mnist(variant=variant)
    X, y = stratified_subset(X, y, n, seed)
    model, scaled = make_model(model_name)
    X_fit = X.reshape(len(X), -1) / 255.0 if scaled else X
    X_eval = X_test.reshape(len(X_test), -1) / 255.0 if scaled else X_test
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's ConvergenceWarning at defaults
        _, fit_s = timed(model.fit, X_fit, y)
        accuracy, predict_s = timed(
            lambda: float(np.mean(model.predict(X_eval) == y_test))
        )
    print(json.dumps(dict(model=model_name, n=n, seed=seed, accuracy=accuracy,
                          fit_s=fit_s, predict_s=predict_s)))  # fmt: skip


def table(rows, sizes, models):
    lines = [md_header("n train", *(NAMES[m] for m in models))]
    for n in sizes:
        cells = []
        for m in models:
            found = [r for r in rows if r["model"] == m and r["n"] == n]
            if not found:
                cells.append("-")
                continue
            acc = [100 * r["accuracy"] for r in found]
            fit = statistics.mean(r["fit_s"] for r in found)
            spread = f" ({min(acc):.1f}-{max(acc):.1f})" if len(acc) > 1 else ""
            cells.append(f"{statistics.mean(acc):.2f}{spread}, {fit:.1f} s")
        lines.append(md_row(f"{n:,}", *cells))
    return "\n".join(lines)


def build_parser():
    parser = make_parser(
        __doc__, quick=dict(sizes="100", seeds="0", models="cnn,svc,logreg")
    )
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument(
        "--transfer-max", type=int, default=10000,
        help="largest training size for TransferClassifier (its full-MNIST fit "
        "takes about 10 min)",
    )  # fmt: skip
    parser.add_argument("--json", default=None, help="also write the rows here")
    parser.add_argument(
        "--variant", default="mnist", choices=["mnist", "fashion"],
        help="fashion: Fashion-MNIST from Debian's dataset-fashion-mnist package "
        "(/usr/share/datasets/fashion-mnist), to check the defaults off MNIST",
    )  # fmt: skip
    parser.add_argument("--one", nargs=3, metavar=("MODEL", "N", "SEED"),
                        help=argparse.SUPPRESS)  # fmt: skip
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.one:
        run_one(args.one[0], int(args.one[1]), int(args.one[2]), args.variant)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    models = args.models.split(",")
    rows = []
    for n in sizes:
        for model in models:
            if model == "transfer" and n > args.transfer_max:
                continue
            # The full set is the same for every seed: deterministic models once.
            run_seeds = seeds[:1] if n >= 60000 and model in ("svc",) else seeds
            for seed in run_seeds:
                out = subprocess.run(
                    [sys.executable, __file__, "--one", model, str(n), str(seed),
                     "--variant", args.variant],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                row = json.loads(out.stdout.strip().splitlines()[-1])
                rows.append(row)
                print(f"{NAMES[model]:32s} n={n:6d} seed={seed} "
                      f"acc={100 * row['accuracy']:.2f}% fit={row['fit_s']:.1f}s",
                      flush=True)  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    print()
    print(table(rows, sizes, models))


if __name__ == "__main__":
    main()
