"""ONNX export on full MNIST: agreement with the model, and inference speed of
onnxruntime vs the package's own predict_proba, side by side in the same run.

Fits ``make_pipeline(Normalizer255(), CNNClassifier(random_state=0))`` (and,
with ``--mlp``, the same with ``MLPNetClassifier``) on the 60,000 training
images, exports it with ``sklearn_mnist.export_onnx``, and on the 10,000 test
images:

- checks that onnxruntime's labels are identical to ``predict``'s and prints
  ``max |p_onnx - p_torch|``;
- measures throughput (images/s, best of ``--repeat``) at batch sizes 1
  (per-image latency, over the first ``--n-latency`` test images), 64 and
  10,000, with 2 threads on both sides (``torch.set_num_threads(2)``,
  onnxruntime ``intra_op_num_threads=2``), and prints a Markdown table.

``predict_proba`` is timed as a user calls it (input validation and skorch's
batching included); onnxruntime as a deployment calls ``session.run`` on
float32 input (the cast from uint8 is included).

    python benchmarks/bench_onnx.py [--mlp] [--threads 2] [--repeat 3]
    python benchmarks/bench_onnx.py --quick
    (the last: a quick check that it runs, not figures)
"""

import os
import tempfile

import numpy as np
import torch
from _harness import load_mnist, make_parser, md_header, md_row, timed
from sklearn.pipeline import make_pipeline

import sklearn_mnist
from sklearn_mnist import CNNClassifier, MLPNetClassifier, Normalizer255, export_onnx
from sklearn_mnist.export import verify_onnx
from sklearn_mnist.export._verify import onnx_session  # no public name yet


def best_rate(fn, X, batch, repeat):
    """Images per second of ``fn`` over ``X`` in batches of ``batch``, best of
    ``repeat`` passes (after one warm-up batch)."""
    batches = [X[i : i + batch] for i in range(0, len(X), batch)]

    def one_pass():
        for b in batches:
            fn(b)

    fn(batches[0])
    return len(X) / timed(one_pass, repeat=repeat)[1]


def bench(name, model, data, args, folder):
    X_train, y_train, X_test, y_test = data
    _, fit_s = timed(model.fit, X_train, y_train)
    path = os.path.join(folder, f"{name}.onnx")
    _, export_s = timed(export_onnx, model, path)
    check = verify_onnx(model, path, X_test)
    accuracy = model.score(X_test, y_test)
    session = onnx_session(path, n_threads=args.threads)

    def ort_proba(X):
        return session.run(["probabilities"], {"input": X.astype(np.float32)})[0]

    rows = []
    for batch in (1, 64, 10000):
        X = X_test[: args.n_latency] if batch == 1 else X_test
        torch_rate = best_rate(model.predict_proba, X, batch, args.repeat)
        ort_rate = best_rate(ort_proba, X, batch, args.repeat)
        rows.append((batch, len(X), torch_rate, ort_rate))
    size_kb = os.path.getsize(path) / 1024
    return fit_s, export_s, accuracy, check, size_kb, rows


def build_parser():
    parser = make_parser(
        __doc__, repeat=3, n_train=60000,
        quick=dict(max_epochs="1", n_latency=200, repeat=1),
    )  # fmt: skip
    parser.add_argument("--mlp", action="store_true", help="also the MLP pipeline")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--n-latency", type=int, default=10000, help="test images timed at batch 1"
    )
    parser.add_argument(
        "--max-epochs",
        default="auto",
        help="classifiers' max_epochs (quick checks)",
    )
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    X_train, y_train, X_test, y_test = load_mnist(args.n_train)
    data = (X_train, y_train, X_test, y_test)
    epochs = args.max_epochs if args.max_epochs == "auto" else int(args.max_epochs)
    models = {"CNN": CNNClassifier(random_state=0, max_epochs=epochs)}
    if args.mlp:
        models["MLP"] = MLPNetClassifier(random_state=0, max_epochs=epochs)
    import onnxruntime

    print(
        f"sklearn-mnist {sklearn_mnist.__version__}, torch {torch.__version__}, "
        f"onnxruntime {onnxruntime.__version__}; {args.threads} thread(s) on both "
        f"sides; {len(data[0]):,} training images, {len(X_test):,} test images\n"
    )
    with tempfile.TemporaryDirectory() as folder:
        for name, clf in models.items():
            model = make_pipeline(Normalizer255(), clf)
            fit_s, export_s, accuracy, check, size_kb, rows = bench(
                name, model, data, args, folder
            )
            print(
                f"### Pipeline(Normalizer255 -> {type(clf).__name__})\n\n"
                f"fit {fit_s:.1f} s, test accuracy {accuracy:.4f}; export "
                f"{export_s:.1f} s, {size_kb:,.0f} KiB; onnxruntime vs the model "
                f"on {check.n_samples:,} test images: "
                f"{check.n_samples - check.n_label_mismatches:,}/"
                f"{check.n_samples:,} labels identical, max |p_onnx - p_torch| = "
                f"{check.max_abs_diff:.2e}\n"
            )
            print(
                md_header(
                    "batch size",
                    "images timed",
                    "predict_proba (images/s)",
                    "onnxruntime (images/s)",
                    "speed-up",
                    "latency per batch, predict_proba / onnxruntime",
                    align="rrrrrr",
                )
            )
            for batch, n, torch_rate, ort_rate in rows:
                ms = [1000 * min(batch, n) / rate for rate in (torch_rate, ort_rate)]
                latency = f"{ms[0]:.3g} ms / {ms[1]:.3g} ms"
                print(
                    md_row(f"{batch:,}", f"{n:,}", f"{torch_rate:,.0f}",
                           f"{ort_rate:,.0f}", f"{ort_rate / torch_rate:.2f}x",
                           latency)
                )  # fmt: skip
            print()


if __name__ == "__main__":
    main()
