"""Augmentation throughput on the 60,000 MNIST training images, side by side in one
run with the same random parameters:

- RandomAffineAugmenter (one vectorised grid_sample call over the batch);
- skimage.transform.warp, one call per image (bilinear, same matrices);
- torchvision.transforms.v2.RandomAffine, one call per image (its own draws).

    python benchmarks/bench_augment.py [--per-image 3000]
"""

import numpy as np
import torch
from _harness import load_mnist, make_parser, md_header, md_row, timed, torch_info
from skimage.transform import AffineTransform, warp
from torchvision.transforms import v2

from sklearn_mnist.preprocessing import RandomAffineAugmenter, random_affine_matrices


def build_parser():
    parser = make_parser(__doc__, n_train=None, quick=dict(per_image=300))
    parser.add_argument("--per-image", type=int, default=3000,
                        help="images timed for the per-image references")  # fmt: skip
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    X, _, _, _ = load_mnist(args.n_train)
    n = len(X)
    aug = RandomAffineAugmenter(
        rotation=10, shift=0.1, zoom=0.1, shear=0, random_state=0
    )
    aug.fit(X[:10])
    aug.augment(X[:1000])  # warm-up
    _, best = timed(aug.augment, X, repeat=3)
    ours = n / best

    m = args.per_image
    images = X[:m].astype(np.float64)
    M = random_affine_matrices(m, height=28, width=28, rotation=10, shift=0.1, zoom=0.1,
                               random_state=0)  # fmt: skip

    def skimage_warps():
        for x, mat in zip(images, M, strict=True):
            warp(x, AffineTransform(matrix=mat), order=1, mode="constant", cval=0,
                 preserve_range=True)  # fmt: skip

    skimage_rate = m / timed(skimage_warps)[1]

    tv = v2.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1),
                         interpolation=v2.InterpolationMode.BILINEAR)  # fmt: skip
    tensors = torch.from_numpy(X[:m]).unsqueeze(1)

    def torchvision_affines():
        for t in tensors:
            tv(t)

    tv_rate = m / timed(torchvision_affines)[1]

    print(torch_info())
    print(md_header("method", "images/s", "ratio to ours"))
    print(md_row(f"RandomAffineAugmenter, {n:,} images, best of 3", f"{ours:,.0f}",
                 "1.0"))  # fmt: skip
    for name, rate in [
        (f"skimage.transform.warp per image ({m:,})", skimage_rate),
        (f"torchvision v2.RandomAffine per image ({m:,})", tv_rate),
    ]:
        speedup = ours / rate
        print(md_row(name, f"{rate:,.0f}", f"{rate / ours:.3f} (ours {speedup:.1f}x)"))


if __name__ == "__main__":
    main()
