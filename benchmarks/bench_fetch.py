"""Time fetch_mnist on the real files, cold (first call) and warm, against a plain
gzip + numpy.frombuffer reader (the reference a user would write by hand).

    python benchmarks/bench_fetch.py [--shared ../shared/data/mnist]
"""

import argparse
import gzip
import pathlib
import shutil
import tempfile
import time

import numpy as np

from sklearn_mnist.datasets import fetch_mnist


def by_hand(directory):
    out = []
    for images, labels in [
        ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
        ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    ]:
        with gzip.open(directory / images) as f:
            X = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
        with gzip.open(directory / labels) as f:
            y = np.frombuffer(f.read(), np.uint8, offset=8)
        out.append((X, y))
    return out


def main():
    parser = argparse.ArgumentParser()
    default = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    parser.add_argument("--shared", type=pathlib.Path, default=default)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    home = pathlib.Path(tempfile.mkdtemp())
    (home / "mnist").mkdir()
    for path in args.shared.glob("*.gz"):
        shutil.copy(path, home / "mnist" / path.name)

    def ours():
        fetch_mnist(data_home=home, download_if_missing=False)
        fetch_mnist(subset="test", data_home=home, download_if_missing=False)

    start = time.perf_counter()
    ours()
    first = time.perf_counter() - start
    t_ours, t_ref = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        ours()
        t_ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        by_hand(home / "mnist")
        t_ref.append(time.perf_counter() - start)
    med_ours, med_ref = np.median(t_ours), np.median(t_ref)
    print(f"fetch_mnist train+test, first call: {first:.3f} s")
    print(
        f"fetch_mnist train+test, warm median of {args.repeat}: {med_ours:.3f} s "
        "(SHA-256 check + strict IDX validation)"
    )
    print(f"by hand (gzip + frombuffer, no checks), median: {med_ref:.3f} s")
    print(f"ratio ours / by hand: {med_ours / med_ref:.2f}")
    shutil.rmtree(home)


if __name__ == "__main__":
    main()
