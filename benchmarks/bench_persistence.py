"""Model files side by side: joblib (pickle), skops alone, sklearn_mnist.save.

For a default CNNClassifier and a TransferClassifier (EfficientNet-Lite0,
frozen backbone), each in a Pipeline with Normalizer255, fitted briefly on the
bundled sample (file size and load time do not depend on accuracy): file size,
save time and median load time of 5, and what skops says it would have to
trust to load the model on its own.

    python benchmarks/bench_persistence.py
"""

import os
import tempfile
from statistics import median

import joblib
import skops.io
from _harness import make_parser, md_header, md_row, timed
from sklearn.pipeline import make_pipeline

from sklearn_mnist import (
    CNNClassifier,
    Normalizer255,
    TransferClassifier,
    load,
    load_mnist_sample,
    save,
)


def _formats(model, folder):
    joblib_path = os.path.join(folder, "m.joblib")
    skops_path = os.path.join(folder, "m.skops")
    ours = os.path.join(folder, "m.skmnist")
    rows = []
    _, t_save = timed(joblib.dump, model, joblib_path)
    _, t_load = timed(joblib.load, joblib_path, repeat=5, stat=median)
    rows.append(("joblib (pickle)", joblib_path, t_save, t_load, "unpickles"))
    _, t_save = timed(skops.io.dump, model, skops_path)
    untrusted = skops.io.get_untrusted_types(file=skops_path)
    _, t_load = timed(
        lambda: skops.io.load(skops_path, trusted=untrusted), repeat=5, stat=median
    )
    note = f"needs {len(untrusted)} untrusted types, then skorch unpickles"
    rows.append(("skops alone", skops_path, t_save, t_load, note))
    _, t_save = timed(save, model, ours)
    _, t_load = timed(load, ours, repeat=5, stat=median)
    rows.append(("sklearn_mnist.save", ours, t_save, t_load, "no pickle"))
    return rows, untrusted


def build_parser():
    return make_parser(__doc__)


def main(argv=None):
    build_parser().parse_args(argv)
    X, y = load_mnist_sample(return_X_y=True)
    models = {
        "CNNClassifier (default)": make_pipeline(
            Normalizer255(), CNNClassifier(max_epochs=1, random_state=0)
        ).fit(X[::5], y[::5]),
        "TransferClassifier (frozen)": make_pipeline(
            Normalizer255(),
            TransferClassifier(freeze="backbone", max_epochs=1, random_state=0),
        ).fit(X[::25], y[::25]),
    }
    print(md_header("model", "format", "size (kB)", "save (s)",
                    "load (s, median of 5)", "note", align="llrrrl"))  # fmt: skip
    for name, model in models.items():
        with tempfile.TemporaryDirectory() as folder:
            rows, untrusted = _formats(model, folder)
            for fmt, path, t_save, t_load, note in rows:
                size = os.path.getsize(path) / 1e3
                print(md_row(name, fmt, f"{size:,.0f}", f"{t_save:.3f}",
                             f"{t_load:.3f}", note))  # fmt: skip
        print(f"\nskops would have to trust for {name}: {', '.join(untrusted)}\n")


if __name__ == "__main__":
    main()
