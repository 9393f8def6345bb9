"""Augmentation throughput on the 60,000 MNIST training images, side by side in one
run with the same random parameters:

- RandomAffineAugmenter (one vectorised grid_sample call over the batch);
- skimage.transform.warp, one call per image (bilinear, same matrices);
- torchvision.transforms.v2.RandomAffine, one call per image (its own draws).

    python benchmarks/bench_augment.py [--per-image 3000]
"""

import argparse
import time

import numpy as np
import torch
from _common import load_full_mnist
from skimage.transform import AffineTransform, warp
from torchvision.transforms import v2

from sklearn_mnist.preprocessing import RandomAffineAugmenter, random_affine_matrices


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-image", type=int, default=3000,
                        help="images timed for the per-image references")  # fmt: skip
    args = parser.parse_args()
    X, _, _, _ = load_full_mnist()
    n = len(X)
    aug = RandomAffineAugmenter(
        rotation=10, shift=0.1, zoom=0.1, shear=0, random_state=0
    )
    aug.fit(X[:10])
    aug.augment(X[:1000])  # warm-up
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        aug.augment(X)
        runs.append(time.perf_counter() - start)
    ours = n / min(runs)

    m = args.per_image
    images = X[:m].astype(np.float64)
    M = random_affine_matrices(m, height=28, width=28, rotation=10, shift=0.1, zoom=0.1,
                               random_state=0)  # fmt: skip
    start = time.perf_counter()
    for x, mat in zip(images, M, strict=True):
        warp(x, AffineTransform(matrix=mat), order=1, mode="constant", cval=0,
             preserve_range=True)  # fmt: skip
    skimage_rate = m / (time.perf_counter() - start)

    tv = v2.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1),
                         interpolation=v2.InterpolationMode.BILINEAR)  # fmt: skip
    tensors = torch.from_numpy(X[:m]).unsqueeze(1)
    start = time.perf_counter()
    for t in tensors:
        tv(t)
    tv_rate = m / (time.perf_counter() - start)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| method | images/s | ratio to ours |")
    print("| --- | --- | --- |")
    print(f"| RandomAffineAugmenter, 60,000 images, best of 3 | {ours:,.0f} | 1.0 |")
    for name, rate in [
        (f"skimage.transform.warp per image ({m:,})", skimage_rate),
        (f"torchvision v2.RandomAffine per image ({m:,})", tv_rate),
    ]:
        speedup = ours / rate
        print(f"| {name} | {rate:,.0f} | {rate / ours:.3f} (ours {speedup:.1f}x) |")


if __name__ == "__main__":
    main()
