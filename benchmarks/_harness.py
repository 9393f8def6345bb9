"""The benchmark scripts' one small harness: data, timing, options, table lines.

Every ``bench_*.py`` builds its options with :func:`make_parser`, reads MNIST
with :func:`load_mnist`, times with :func:`timed` and prints result tables with
:func:`md_row` / :func:`md_header`, so that its lines can be pasted into
``benchmarks/RESULTS.md`` as they are. The scripts import this module as
``_harness``: run them as ``python benchmarks/bench_x.py`` or from this folder.
"""

import argparse
import contextlib
import os
import pathlib
import shutil
import tempfile
import time

# --- configurations shared by several scripts -----------------------------

# CNNClassifier's defaults in the first release (commit 794dfbb), passed
# explicitly to the current code: it must reproduce that release's figures.
FIRST_RELEASE = dict(max_epochs=3, batch_size=256, augment=None, module__dropout=0.0)
FIRST_RELEASE_TEXT = ", ".join(f"{k}={v!r}" for k, v in FIRST_RELEASE.items())

# The accurate CNN of RESULTS.md (bench_augmented_cnn.py, bench_ensemble.py;
# bench_adversarial.py's robust CNN is it without dropout).
ACCURATE = dict(
    module__channels=(32, 64),
    module__depth=2,
    module__hidden_units=256,
    module__dropout=0.3,
    batch_size=128,
    lr=4e-3,
)

# --- data ----------------------------------------------------------------

# MNIST_DIR overrides it (a machine without ../shared beside the checkout).
SHARED = pathlib.Path(
    os.environ.get("MNIST_DIR")
    or pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
)
# Real Fashion-MNIST from Debian's dataset-fashion-mnist package.
FASHION = pathlib.Path("/usr/share/datasets/fashion-mnist")
QUICK_N_TRAIN = 2000  # --quick: training images of a smoke run


@contextlib.contextmanager
def mnist_home(shared=SHARED, variant="mnist"):
    """A temporary ``data_home`` for ``fetch_mnist`` holding copies of the
    real ``.gz`` files of ``shared``; removed on exit."""
    home = pathlib.Path(tempfile.mkdtemp())
    try:
        (home / variant).mkdir()
        for path in pathlib.Path(shared).glob("*.gz"):
            shutil.copy(path, home / variant / path.name)
        yield home
    finally:
        shutil.rmtree(home)


def load_mnist(n_train=None, variant="mnist", shared=SHARED):
    """``(X_train, y_train, X_test, y_test)`` as uint8 images, via fetch_mnist:
    the first ``n_train`` training images (all by default), all test images.

    ``variant="fashion"`` reads Fashion-MNIST from :data:`FASHION` with
    ``load_idx`` (Debian recompressed the files, so their SHA-256 differs
    from the upstream ones fetch_mnist checks; the IDX contents are parsed
    as strictly).
    """
    from sklearn_mnist.datasets import fetch_mnist, load_idx

    if variant == "fashion":
        folder = FASHION if shared == SHARED else pathlib.Path(shared)
        X, y, X_test, y_test = (
            load_idx(folder / f"{name}-ubyte.gz")
            for name in ("train-images-idx3", "train-labels-idx1",
                         "t10k-images-idx3", "t10k-labels-idx1")
        )  # fmt: skip
        return X[:n_train], y[:n_train], X_test, y_test
    with mnist_home(shared, variant) as home:
        kw = dict(variant=variant, data_home=home, download_if_missing=False)
        try:
            train = fetch_mnist(**kw)
            test = fetch_mnist(subset="test", **kw)
        except OSError as exc:
            raise SystemExit(
                f"the benchmarks read real MNIST (the four .gz files) from {shared}, "
                f"which does not hold them ({exc}); set MNIST_DIR to the folder that "
                "does"
            ) from exc
    return train.images[:n_train], train.target[:n_train], test.images, test.target


def stratified_subset(X, y, n, seed):
    """``n`` images with the classes' proportions (all of them if ``n >= len(X)``)."""
    from sklearn.model_selection import train_test_split

    if n >= len(X):
        return X, y
    X_sub, _, y_sub, _ = train_test_split(
        X, y, train_size=n, stratify=y, random_state=seed
    )
    return X_sub, y_sub


def unit_images(X):
    """uint8 images ``(n, 28, 28)`` as float32 ``(n, 1, 28, 28)`` in 0..1."""
    import numpy as np

    return (X[:, None] / np.float32(255)).astype(np.float32)


# --- timing --------------------------------------------------------------


def timed(fn, *args, repeat=1, number=1, warmup=0, stat=min):
    """``(result, seconds)``: ``fn(*args)`` timed with ``time.perf_counter``.

    With the defaults: one call, its result and its wall seconds. Otherwise
    ``warmup`` untimed calls, then ``repeat`` timings of ``number``
    consecutive calls each (a timing is its wall time divided by ``number``)
    reduced by ``stat`` (``min``: best of ``repeat``; ``statistics.median``:
    the median), and ``None`` for the result: each call's result is dropped
    as it returns, inside the timing, as in a plain loop.
    """
    for _ in range(warmup):
        fn(*args)
    if repeat == number == 1:
        start = time.perf_counter()
        result = fn(*args)
        return result, time.perf_counter() - start
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn(*args)
        times.append((time.perf_counter() - start) / number)
    return None, stat(times)


# --- options -------------------------------------------------------------


def int_at_least(minimum):
    """An argparse ``type``: an integer ``>= minimum``, refused by name."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer, got {text!r}"
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


# name: (flag, add_argument keywords); make_parser adds those given a default.
COMMON = {
    "n_train": ("--n-train", dict(type=int_at_least(2), metavar="N",
                                  help="the first N training images only")),
    "seeds": ("--seeds", dict(type=int_at_least(1), metavar="N",
                              help="seeds 0..N-1")),
    "seed": ("--seed", dict(type=int_at_least(0), help="random seed")),
    "repeat": ("--repeat", dict(type=int_at_least(1), metavar="K",
                                help="repeats of each measurement")),
    "epochs": ("--epochs", dict(type=int_at_least(1),
                                help="max_epochs of the fitted models")),
}  # fmt: skip


class BenchmarkParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose ``--quick`` swaps in the script's
    smoke-run defaults (options given on the command line still win)."""

    quick = {}

    def parse_args(self, args=None, namespace=None):
        parsed = super().parse_args(args, namespace)
        if not parsed.quick or not self.quick:
            return parsed
        self.set_defaults(**self.quick)  # string defaults go through ``type``
        return super().parse_args(args, namespace)


def make_parser(doc, *, quick=None, **defaults):
    """The parser of a benchmark script: its docstring as the help text,
    ``--quick`` and the common options named in ``defaults`` (a key of
    :data:`COMMON`, with its default); the script adds its own options.

    ``quick``: ``{dest: value}`` for ``--quick``, a run of a few seconds to
    check that the script works (its figures mean nothing); ``n_train`` is
    :data:`QUICK_N_TRAIN` there when the script has ``--n-train``.
    """
    parser = BenchmarkParser(
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Real MNIST is read from ../shared/data/mnist beside the checkout, "
        "or from the folder in the environment variable MNIST_DIR.",
    )
    parser.quick = dict(quick or {})
    if "n_train" in defaults:
        parser.quick.setdefault("n_train", QUICK_N_TRAIN)
    settings = ", ".join(f"{k}={v}" for k, v in parser.quick.items())
    parser.add_argument(
        "--quick", action="store_true",
        help="a smoke run that only checks the script works: "
        + (settings or "the defaults are small already"),
    )  # fmt: skip
    for name, default in defaults.items():
        flag, kw = COMMON[name]
        shown = "all" if default is None else "%(default)s"
        kw = {**kw, "help": f"{kw['help']} (default: {shown})"}
        parser.add_argument(flag, default=default, **kw)
    return parser


# --- output --------------------------------------------------------------


def md_row(*cells):
    """One Markdown table row as RESULTS.md has them: ``| a | b | c |``."""
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def md_header(*names, align=None):
    """A Markdown table's header and separator lines; ``align``: one letter
    per column, ``l`` (``---``) or ``r`` (``---:``), all ``l`` by default."""
    marks = ["---:" if a == "r" else "---" for a in (align or "l" * len(names))]
    return md_row(*names) + "\n" + md_row(*marks)


def torch_info():
    """``torch 2.x, N threads``: the line the timing tables start with."""
    import torch

    return f"torch {torch.__version__}, {torch.get_num_threads()} threads"


def peak_rss_mb():
    """This process's peak resident set so far, in MB (``ru_maxrss``)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_test_errors(n_models, fit_s, y_test, pred):
    """The closing lines of the accuracy benchmarks: fit time, test accuracy and
    errors, per-class recall and the confusion matrix of ``pred``."""
    import numpy as np
    from sklearn.metrics import confusion_matrix

    errors = int((pred != y_test).sum())
    print(f"{n_models} model(s): fit {fit_s:.0f} s ({fit_s / 60:.1f} min), "
          f"test accuracy {(pred == y_test).mean():.2%} ({errors} errors)")  # fmt: skip
    cm = confusion_matrix(y_test, pred)
    print("per-class recall (%):", " ".join(
        f"{d}:{100 * cm[d, d] / cm[d].sum():.2f}" for d in range(len(cm))))  # fmt: skip
    print("confusion matrix (rows true, columns predicted):")
    print(np.array2string(cm, max_line_width=120))
