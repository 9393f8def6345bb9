"""Time fetch_mnist on the real files, cold (first call) and warm, against a plain
gzip + numpy.frombuffer reader (the reference a user would write by hand).

    python benchmarks/bench_fetch.py [--shared ../shared/data/mnist]
"""

import gzip
import pathlib

import numpy as np
from _harness import SHARED, make_parser, mnist_home, timed

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


def build_parser():
    parser = make_parser(__doc__, repeat=5, quick=dict(repeat=1))
    parser.add_argument("--shared", type=pathlib.Path, default=SHARED)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    with mnist_home(args.shared) as home:

        def ours():
            fetch_mnist(data_home=home, download_if_missing=False)
            fetch_mnist(subset="test", data_home=home, download_if_missing=False)

        def ref():
            by_hand(home / "mnist")

        _, first = timed(ours)
        t_ours, t_ref = [], []
        for _ in range(args.repeat):  # interleaved: the machine's drift hits both
            t_ours.append(timed(ours)[1])
            t_ref.append(timed(ref)[1])
    med_ours, med_ref = np.median(t_ours), np.median(t_ref)
    print(f"fetch_mnist train+test, first call: {first:.3f} s")
    print(
        f"fetch_mnist train+test, warm median of {args.repeat}: {med_ours:.3f} s "
        "(SHA-256 check + strict IDX validation)"
    )
    print(f"by hand (gzip + frombuffer, no checks), median: {med_ref:.3f} s")
    print(f"ratio ours / by hand: {med_ours / med_ref:.2f}")


if __name__ == "__main__":
    main()
