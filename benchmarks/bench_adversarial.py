"""Adversarial figures on full MNIST (2 CPU cores), side by side in one run:

1. FGSM at eps=0.3 against the default CNNClassifier (fitted here, 0..1 input);
2. FGSM generation speed: FGSMPerturber vs torchattacks.FGSM on the same model,
   data and batch size (torchattacks is a benchmark-only dependency), and the
   fraction of identical adversarial pixels;
3. with --train: an adversarially trained CNN (fast FGSM training, Wong et al.
   2020) evaluated clean and under PGD (eps=0.3, 40 steps of 0.01, random start),
   and the robustness curves of both models (benchmarks/robustness_curve.png).

    python benchmarks/bench_adversarial.py [--train] [--epochs 20]
    # PGD training (Madry et al.) with 5 steps on a lighter network:
    python benchmarks/bench_adversarial.py --train --train-iter 5 --depth 1 --epochs 20
"""

import argparse
import pathlib
import time

import numpy as np
import torch
from _common import load_full_mnist

from sklearn_mnist import CNNClassifier
from sklearn_mnist.adversarial import (
    FGSMPerturber,
    plot_robustness_curve,
    robustness_curve,
)

ROBUST = dict(
    module__channels=(32, 64),
    module__depth=2,
    module__hidden_units=256,
    batch_size=128,
    lr=4e-3,
)


class _Logits(torch.nn.Module):
    """The fitted classifier as a plain nn.Module, for torchattacks."""

    def __init__(self, clf):
        super().__init__()
        self.clf = clf

    def forward(self, x):
        return self.clf.torch_logits(x)


def time_it(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", action="store_true")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--pgd-samples", type=int, default=10000)
    parser.add_argument(
        "--train-iter", type=int, default=1, help="training attack steps; 1 = fast FGSM"
    )
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--ratio", type=float, default=1.0,
                        help="fraction of each batch made adversarial")  # fmt: skip
    args = parser.parse_args()
    X_train, y_train, X_test, y_test = load_full_mnist()
    Xtr = (X_train[:, None] / np.float32(255)).astype(np.float32)
    Xte = (X_test[:, None] / np.float32(255)).astype(np.float32)

    cnn = CNNClassifier(random_state=0).fit(Xtr, y_train)
    clean = cnn.score(Xte, y_test)
    fgsm = FGSMPerturber(cnn, eps=0.3, batch_size=512)
    X_adv, ours_s = time_it(lambda: fgsm.perturb(Xte, y_test))
    print(f"default CNN: clean {clean * 100:.2f}%, FGSM eps=0.3 "
          f"{cnn.score(X_adv, y_test) * 100:.2f}%")  # fmt: skip

    import torchattacks

    attack = torchattacks.FGSM(_Logits(cnn).eval(), eps=0.3)
    xs, ys = torch.from_numpy(Xte), torch.from_numpy(y_test)

    def theirs():
        return torch.cat(
            [attack(xs[i : i + 512], ys[i : i + 512]) for i in range(0, len(xs), 512)]
        )

    fgsm.perturb(Xte[:512], y_test[:512])  # warm-up both
    theirs_adv, theirs_s = time_it(theirs)
    X_adv, ours_s = time_it(lambda: fgsm.perturb(Xte, y_test))
    same = np.mean(np.isclose(theirs_adv.numpy(), X_adv, atol=1e-6))
    print("| FGSM generator | images/s | ratio |")
    print("| --- | --- | --- |")
    print(f"| FGSMPerturber | {len(Xte) / ours_s:,.0f} | {theirs_s / ours_s:.2f} |")
    version = torchattacks.__version__
    print(f"| torchattacks {version} FGSM | {len(Xte) / theirs_s:,.0f} | 1.00 |")
    print(f"identical adversarial pixels: {same * 100:.3f}%")

    if not args.train:
        return
    # Fast FGSM training uses Wong et al.'s step 0.375; PGD uses 2.5 * eps / steps.
    step = 0.375 if args.train_iter == 1 else None
    robust = CNNClassifier(
        **{**ROBUST, "module__depth": args.depth},
        max_epochs=args.epochs,
        adversarial=FGSMPerturber(
            eps=0.3, n_iter=args.train_iter, step_size=step, random_start=True
        ),  # fmt: skip
        adversarial_ratio=args.ratio,
        random_state=0,
    )
    _, fit_s = time_it(lambda: robust.fit(Xtr, y_train))
    n = args.pgd_samples
    pgd = FGSMPerturber(robust, eps=0.3, n_iter=40, step_size=0.01, random_start=True,
                        random_state=0)  # fmt: skip
    X_pgd, pgd_s = time_it(lambda: pgd.perturb(Xte[:n], y_test[:n]))
    print(f"adversarially trained CNN (depth {args.depth}, {args.train_iter}-step "
          f"attack on {args.ratio:.0%} of each batch, "
          f"{args.epochs} epochs, {fit_s / 60:.1f} min): "
          f"clean {robust.score(Xte, y_test) * 100:.2f}%, "
          f"FGSM eps=0.3 {robust.score(FGSMPerturber(robust, eps=0.3).perturb(Xte, y_test), y_test) * 100:.2f}%, "  # noqa: E501
          f"PGD-40 eps=0.3 {robust.score(X_pgd, y_test[:n]) * 100:.2f}% "
          f"(on {n} test images, attack took {pgd_s:.0f} s)")  # fmt: skip
    import matplotlib

    matplotlib.use("Agg")
    eps = [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]
    fig = plot_robustness_curve(
        robustness_curve(cnn, Xte[:2000], y_test[:2000], eps=eps), label="default CNN"
    )
    plot_robustness_curve(
        robustness_curve(robust, Xte[:2000], y_test[:2000], eps=eps),
        ax=fig.axes[0],
        label="adversarially trained CNN",
    )
    fig.axes[0].set_title("FGSM, first 2,000 MNIST test images")
    fig.tight_layout()
    out = pathlib.Path(__file__).with_name("robustness_curve.png")
    fig.savefig(out, dpi=100)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
