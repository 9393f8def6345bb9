"""Adversarial figures on full MNIST (2 CPU cores), side by side in one run:

1. FGSM at eps=0.3 against the default CNNClassifier (fitted here, 0..1 input);
2. FGSM generation speed: FGSMPerturber vs torchattacks.FGSM on the same model,
   data and batch size (torchattacks is a benchmark-only dependency), and the
   fraction of identical adversarial pixels;
3. with --train: an adversarially trained CNN, evaluated clean, under FGSM,
   under the package's own PGD-40 (eps=0.3, 40 steps of 0.01, random start)
   and under AutoAttack (Croce & Hein 2020: torchattacks' standard version,
   APGD-CE, APGD-T, FAB-T and Square, eps=0.3) on the same first --aa-n test
   images, printed as one Markdown table with the command line; and the
   robustness curves of both models (--figure).

Training configurations (all at eps=0.3, inputs in 0..1):

    # fast FGSM training (Wong et al. 2020): 1 step of 0.375 from a random start
    python bench_adversarial.py --train --epochs 10
    # PGD training (Madry et al. 2018), 5 steps, on a lighter network
    python bench_adversarial.py --train --train-iter 5 --depth 1 --epochs 12
    # TRADES (Zhang et al. 2019), beta=6, 5 KL steps
    python bench_adversarial.py --train --loss trades --beta 6 --train-iter 5 \\
        --depth 1 --epochs 12

torchattacks' AutoAttack runs APGD-CE, APGD-T and FAB-T with 10 steps each;
--aa-steps 100 runs them with the 100 of Croce & Hein's reference
implementation (slower, stronger). For AutoAttack on all 10,000 test images
(the final figure), save the model of a first run (--save-model robust.skmnist)
and evaluate it again: --load-model robust.skmnist --aa-n 10000.

A smoke run: --quick --train (2,000 training images, 1 epoch, 20 images for
PGD-40 and AutoAttack, 100 for the curves, the figure in the temporary folder).
"""

import pathlib
import shlex
import sys
import tempfile

import numpy as np
import torch
from _harness import (
    ACCURATE,
    load_mnist,
    make_parser,
    md_header,
    md_row,
    timed,
    unit_images,
)

from sklearn_mnist import CNNClassifier
from sklearn_mnist.adversarial import (
    FGSMPerturber,
    attack_range,
    plot_robustness_curve,
    robustness_curve,
)

# The robust CNN of benchmarks/RESULTS.md: the accurate CNN without dropout (as
# it was measured before CNNClassifier's default became 0.2).
ROBUST = {**ACCURATE, "module__dropout": 0.0}
EPS = 0.3
FIGURE = pathlib.Path(__file__).with_name("robustness_curve.png")


class _Logits(torch.nn.Module):
    """A classifier fitted on 0..1 input as a plain nn.Module, for torchattacks:
    0..1 images in, logits out (through the classifier's own standardisation)."""

    def __init__(self, clf):
        super().__init__()
        if attack_range(clf) != (0.0, 1.0):
            raise ValueError("torchattacks assumes inputs in 0..1; fit on 0..1 data")
        self.clf = clf
        self.module = clf.module_  # registered, so torchattacks finds the device

    def forward(self, x):
        return self.clf.torch_logits(x)


def build_parser():
    parser = make_parser(
        __doc__,
        epochs=20,
        n_train=None,
        quick=dict(epochs=1, aa_n=20, pgd_samples=20, curve_n=100,
                   figure=pathlib.Path(tempfile.gettempdir()) / "curve.png"),
    )  # fmt: skip
    add = parser.add_argument
    add("--train", action="store_true", help="train and evaluate a robust CNN")
    add("--train-iter", type=int, default=1, help="training attack steps; 1 = FGSM")
    add("--depth", type=int, default=2, help="convolutions per block (robust CNN)")
    add("--ratio", type=float, default=1.0, help="fraction of each batch attacked")
    add("--loss", choices=["replace", "trades"], default="replace",
        help="adversarial_loss: replace (Madry / Wong) or trades")  # fmt: skip
    add("--beta", type=float, default=6.0, help="adversarial_beta (TRADES)")
    add("--pgd-samples", type=int, default=10000, help="test images for PGD-40")
    add("--aa-n", type=int, default=1000,
        help="first test images for AutoAttack and PGD-40 side by side; 10000 for "
        "the final figure")  # fmt: skip
    add("--aa-batch", type=int, default=500)
    add("--aa-steps", type=int, default=None,
        help="APGD-CE / APGD-T / FAB-T steps; default: torchattacks' AutoAttack as "
        "it is (10 steps each); 100 is Croce & Hein's reference setting")  # fmt: skip
    add("--curve-n", type=int, default=2000, help="test images for the curves")
    add("--figure", type=pathlib.Path, default=FIGURE, help="robustness curves")
    add("--save-model", type=pathlib.Path, help="save the robust CNN (.skmnist)")
    add("--load-model", type=pathlib.Path,
        help="evaluate this saved robust CNN instead of training one (e.g. AutoAttack "
        "on all 10,000 images of the model an earlier run saved)")  # fmt: skip
    return parser


def robust_classifier(args):
    """The adversarially trained CNN the options describe."""
    if args.loss == "trades":
        # Zhang et al.: the KL search starts 0.001 off x (no uniform start).
        perturber = FGSMPerturber(eps=EPS, n_iter=args.train_iter)
    else:
        # Fast FGSM training uses Wong et al.'s step 0.375; PGD 2.5 * eps / steps.
        step = 0.375 if args.train_iter == 1 else None
        perturber = FGSMPerturber(eps=EPS, n_iter=args.train_iter, step_size=step,
                                  random_start=True)  # fmt: skip
    return CNNClassifier(
        **{**ROBUST, "module__depth": args.depth},
        max_epochs=args.epochs,
        adversarial=perturber,
        adversarial_ratio=args.ratio,
        adversarial_loss=args.loss,
        adversarial_beta=args.beta,
        random_state=0,
    )


def autoattack(clf, X, y, batch_size, steps=None):
    """AutoAttack's adversarial images (torchattacks, standard version, Linf).

    ``steps=None`` is torchattacks' ``AutoAttack`` as it is, whose APGD-CE,
    APGD-T and FAB-T take torchattacks' default 10 steps; ``steps=100`` builds
    the same four attacks with the 100 iterations of Croce & Hein's reference
    implementation (Square: 5000 queries in both).
    """
    import torchattacks

    model = _Logits(clf).eval()
    if steps is None:
        attack = torchattacks.AutoAttack(
            model, norm="Linf", eps=EPS, version="standard", n_classes=10, seed=0
        )
    else:
        common = dict(norm="Linf", eps=EPS, seed=0, n_restarts=1)
        attack = torchattacks.MultiAttack(
            [
                torchattacks.APGD(model, loss="ce", steps=steps, **common),
                torchattacks.APGDT(model, n_classes=10, steps=steps, **common),
                torchattacks.FAB(
                    model, multi_targeted=True, n_classes=10, steps=steps, **common
                ),  # fmt: skip
                torchattacks.Square(model, n_queries=5000, **common),
            ]
        )
    xs, ys = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))

    def batch(i):  # adversarial images come back on the model's device
        return attack(xs[i : i + batch_size], ys[i : i + batch_size]).detach().cpu()

    return np.concatenate([batch(i) for i in range(0, len(xs), batch_size)])


def evaluate_robust(name, clf, Xte, y_test, args, fit):
    """One Markdown table row: clean, FGSM, PGD-40 and AutoAttack accuracies."""
    n, m = args.aa_n, max(args.pgd_samples, args.aa_n)
    fgsm = FGSMPerturber(clf, eps=EPS).perturb(Xte, y_test)
    pgd = FGSMPerturber(clf, eps=EPS, n_iter=40, step_size=0.01, random_start=True,
                        random_state=0)  # fmt: skip
    X_pgd, pgd_s = timed(lambda: pgd.perturb(Xte[:m], y_test[:m]))
    right_pgd = clf.predict(X_pgd) == y_test[:m]
    print(f"clean {clf.score(Xte, y_test):.2%}, FGSM {clf.score(fgsm, y_test):.2%}, "
          f"PGD-40 {right_pgd.mean():.2%} on {m:,} images ({pgd_s:.0f} s); "
          f"AutoAttack on {n:,} images...", flush=True)  # fmt: skip
    X_aa, aa_s = timed(
        lambda: autoattack(clf, Xte[:n], y_test[:n], args.aa_batch, args.aa_steps)
    )
    right_aa = clf.predict(X_aa) == y_test[:n]
    return md_row(
        name,
        fit,
        f"{clf.score(Xte, y_test):.2%}",
        f"{clf.score(fgsm, y_test):.2%}",
        f"{right_pgd.mean():.2%} ({m:,}, {pgd_s / 60:.1f} min)",
        f"{right_pgd[:n].mean():.2%}",
        f"**{right_aa.mean():.2%}** ({aa_s / 60:.1f} min)",
        f"{(right_pgd[:n] & right_aa).mean():.2%}",
    )


def main(argv=None):
    args = build_parser().parse_args(argv)
    command = "python " + shlex.join(
        [pathlib.Path(__file__).name, *(sys.argv[1:] if argv is None else argv)]
    )
    X_train, y_train, X_test, y_test = load_mnist(args.n_train)
    Xtr, Xte = unit_images(X_train), unit_images(X_test)

    cnn = CNNClassifier(random_state=0).fit(Xtr, y_train)
    clean = cnn.score(Xte, y_test)
    fgsm = FGSMPerturber(cnn, eps=EPS, batch_size=512)
    X_adv, ours_s = timed(lambda: fgsm.perturb(Xte, y_test))
    print(f"default CNN: clean {clean * 100:.2f}%, FGSM eps=0.3 "
          f"{cnn.score(X_adv, y_test) * 100:.2f}%")  # fmt: skip

    import torchattacks

    attack = torchattacks.FGSM(_Logits(cnn).eval(), eps=EPS)
    xs, ys = torch.from_numpy(Xte), torch.from_numpy(y_test)

    def theirs():
        return torch.cat(
            [attack(xs[i : i + 512], ys[i : i + 512]) for i in range(0, len(xs), 512)]
        )

    fgsm.perturb(Xte[:512], y_test[:512])  # warm-up both
    theirs_adv, theirs_s = timed(theirs)
    X_adv, ours_s = timed(lambda: fgsm.perturb(Xte, y_test))
    same = np.mean(np.isclose(theirs_adv.numpy(), X_adv, atol=1e-6))
    print(md_header("FGSM generator", "images/s", "ratio"))
    print(
        md_row("FGSMPerturber", f"{len(Xte) / ours_s:,.0f}", f"{theirs_s / ours_s:.2f}")
    )
    version = torchattacks.__version__
    print(md_row(f"torchattacks {version} FGSM", f"{len(Xte) / theirs_s:,.0f}", "1.00"))
    print(f"identical adversarial pixels: {same * 100:.3f}%")

    if not (args.train or args.load_model):
        return
    if args.load_model is not None:
        from sklearn_mnist import load

        robust, fit = load(args.load_model), f"loaded {args.load_model.name}"
        params = robust.get_params()  # what the table says is the saved model's
        args.depth, args.epochs = params["module__depth"], params["max_epochs"]
        args.train_iter, args.ratio = (
            params["adversarial"].n_iter,
            params["adversarial_ratio"],
        )
        args.loss, args.beta = params["adversarial_loss"], params["adversarial_beta"]
    else:
        robust = robust_classifier(args)
        _, fit_s = timed(lambda: robust.fit(Xtr, y_train))
        fit = f"{fit_s / 60:.1f} min"
    if args.save_model is not None:
        from sklearn_mnist import save

        save(robust, args.save_model)
    kind = (
        f"TRADES beta={args.beta:g}, {args.train_iter}-step KL attack"
        if args.loss == "trades"
        else f"{args.train_iter}-step attack"
    )
    name = (
        f"CNN depth {args.depth}, {kind} on {args.ratio:.0%} of each batch, "
        f"{args.epochs} epochs"
    )
    row = evaluate_robust(name, robust, Xte, y_test, args, fit)
    n = args.aa_n
    print()
    print(f"Command: `{command}` (n_train={len(Xtr):,}; torchattacks {version}; "
          f"adversarial={robust.adversarial!r})")  # fmt: skip
    print()
    steps = "" if args.aa_steps is None else f" ({args.aa_steps} steps)"
    print(
        md_header(
            "model",
            "fit",
            "clean (10,000)",
            "FGSM eps=0.3 (10,000)",
            "PGD-40 eps=0.3 (images, attack time)",
            f"PGD-40, first {n:,}",
            f"AutoAttack{steps} eps=0.3, first {n:,}",
            f"both, first {n:,}",
        )
    )
    print(row)

    import matplotlib

    matplotlib.use("Agg")
    eps = [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]
    k = args.curve_n
    fig = plot_robustness_curve(
        robustness_curve(cnn, Xte[:k], y_test[:k], eps=eps), label="default CNN"
    )
    plot_robustness_curve(
        robustness_curve(robust, Xte[:k], y_test[:k], eps=eps),
        ax=fig.axes[0],
        label="adversarially trained CNN",
    )
    fig.axes[0].set_title(f"FGSM, first {k:,} MNIST test images")
    fig.savefig(args.figure, dpi=100)
    print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
