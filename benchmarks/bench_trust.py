"""Knowing when not to answer: trust scores, the reject option, corruptions.

``CNNClassifier()`` fitted with its defaults on the first ``--n-train`` MNIST
training digits (default: all 60,000). The MNIST test set is split in two
random halves: the first calibrates ``RejectOptionClassifier(cv="prefit")`` (the
feature-space scores fit their statistics on half of it), the second is the
in-distribution evaluation set. Out-of-distribution sets, 2,000 images each:

- uniform noise: every pixel uniform in 0..255;
- Fashion-MNIST: its test images (Debian's ``dataset-fashion-mnist``);
- photos: 28x28 tiles of scikit-image's sample photographs (camera,
  astronaut, coffee, chelsea, coins, moon, rocket, hubble deep field, grass,
  gravel, brick, immunohistochemistry), each a random 28-112 px square
  shrunk to 28x28 with anti-aliasing, grey, inverted half of the time;
- inverted digits: 255 minus the evaluation digits.

For every trust score: the out-of-distribution AUROC against each set, then
at ``coverage=0.99``: the coverage and the error among accepted evaluation
digits, and the fraction of each out-of-distribution set accepted.

``--corruptions`` adds MNIST-C: the accuracy of the default model and of the
same classifier trained with ``augment=Corruption("all", severity=(1, 5),
probability=p)`` for p = 0.5 and 0.3 (that share of each batch corrupted, each
image by one of the 19 corruptions at a severity drawn from 1-5),
scored on the 15 MNIST-C
corruptions at their MNIST-C severities (``corruption_robustness(kinds=
"mnist_c", severities="mnist_c")``) and the clean accuracy beside.

    cd benchmarks && python bench_trust.py [--n-train 10000] [--corruptions]
"""

import numpy as np
from _harness import load_mnist, make_parser, md_header, md_row, timed
from PIL import Image

from sklearn_mnist import CNNClassifier
from sklearn_mnist.metrics import corruption_robustness
from sklearn_mnist.neural_net import OutlierExposure
from sklearn_mnist.preprocessing import Corruption
from sklearn_mnist.reject import RejectOptionClassifier, _scores, ood_auroc

# "knn10": the kNN score with the 10th neighbour (the package uses the first)
SCORES = ("max_proba", "margin", "energy", "mahalanobis", "knn", "knn10")
PHOTOS = (
    "camera",
    "astronaut",
    "coffee",
    "chelsea",
    "coins",
    "moon",
    "rocket",
    "hubble_deep_field",
    "grass",
    "gravel",
    "brick",
    "immunohistochemistry",
)


def photo_tiles(n, rng):
    """``n`` 28x28 grey tiles of scikit-image's sample photographs."""
    from skimage import data
    from skimage.color import rgb2gray

    images = []
    for name in PHOTOS:
        image = getattr(data, name)()
        image = rgb2gray(image[..., :3]) if image.ndim == 3 else image / 255.0
        images.append((image * 255).astype(np.uint8))
    tiles = np.empty((n, 28, 28), dtype=np.uint8)
    for i in range(n):
        image = images[rng.integers(len(images))]
        side = int(rng.integers(28, 113))
        top = rng.integers(0, image.shape[0] - side + 1)
        left = rng.integers(0, image.shape[1] - side + 1)
        crop = Image.fromarray(image[top : top + side, left : left + side])
        tile = np.asarray(crop.resize((28, 28), Image.Resampling.BOX))
        tiles[i] = 255 - tile if rng.random() < 0.5 else tile
    return tiles


def ood_sets(X_eval, n, rng):
    _, _, fashion, _ = load_mnist(variant="fashion")
    return {
        "noise": rng.integers(0, 256, (n, 28, 28)).astype(np.uint8),
        "Fashion-MNIST": fashion[:n],
        "photos": photo_tiles(n, rng),
        "inverted digits": 255 - X_eval[:n],
    }


def trust_part(clf, X_cal, y_cal, X_eval, y_eval, sets, label):
    names = list(sets)
    print(f"{label}: accuracy {clf.score(X_eval, y_eval):.2%} on the second half")
    aurocs = [f"AUROC {k}" for k in names]
    accepted = [f"{k} accepted" for k in names]
    print(md_header("score", *aurocs, "coverage", "error among accepted", *accepted))
    for score in SCORES:
        (mask, error, aurocs, rates), seconds = timed(
            evaluate, clf, score, X_cal, y_cal, X_eval, y_eval, sets
        )
        print(
            md_row(score, *(f"{a:.4f}" for a in aurocs), f"{mask.mean():.2%}",
                   f"{error:.3%}", *(f"{r:.2%}" for r in rates))
            + f"  ({seconds:.0f} s)"
        )  # fmt: skip


def evaluate(clf, score, X_cal, y_cal, X_eval, y_eval, sets):
    """One trust score at coverage 0.99: the accepted evaluation digits, their
    error, the AUROC and the accepted fraction of each out-of-distribution set."""
    name, k = (score, None) if score != "knn10" else ("knn", 10)
    if k is not None:  # the 10th neighbour instead of the first
        _scores.KNN_NEIGHBORS, k = k, _scores.KNN_NEIGHBORS
    reject = RejectOptionClassifier(
        clf, trust_score=name, coverage=0.99, cv="prefit", random_state=0
    ).fit(X_cal, y_cal)
    s_in = reject.score_samples(X_eval)
    mask = ~reject.predict_reject(X_eval)
    pred = reject.estimator_.predict(X_eval)
    error = (pred[mask] != y_eval[mask]).mean()
    aurocs, rates = [], []
    for X_out in sets.values():
        aurocs.append(ood_auroc(s_in, reject.score_samples(X_out)))
        rates.append((~reject.predict_reject(X_out)).mean())
    if k is not None:
        _scores.KNN_NEIGHBORS = k
    return mask, error, aurocs, rates


def corruption_part(clf, X_train, y_train, X_eval, y_eval, seed, probabilities):
    """MNIST-C accuracy of ``clf`` and of the same classifier trained with
    ``augment=Corruption("all", severity=(1, 5), probability=p)`` for each p."""
    rows = [("CNNClassifier()", clf)]
    for p in probabilities:
        augment = Corruption("all", severity=(1, 5), probability=p, random_state=seed)
        aware = CNNClassifier(augment=augment, random_state=seed)
        _, seconds = timed(aware.fit, X_train, y_train)
        print(f"\ncorruption-aware fit (probability={p}): {seconds:.0f} s")
        name = f'CNNClassifier(augment=Corruption("all", (1, 5), probability={p}))'
        rows.append((name, aware))
    print(md_header("model", "clean", "MNIST-C mean", "per corruption"))
    for name, model in rows:
        result = corruption_robustness(
            model, X_eval, y_eval, kinds="mnist_c", severities="mnist_c",
            random_state=seed,
        )  # fmt: skip
        per = ", ".join(
            f"{k} {a:.1%}"
            for k, a in zip(result.kinds, result.kind_accuracy, strict=True)
        )
        print(md_row(name, f"{model.score(X_eval, y_eval):.2%}",
                     f"{np.mean(result.kind_accuracy):.2%}", per))  # fmt: skip


def run(n_train=60000, corruptions=False, n_ood=2000, seed=0, only_corruptions=False):
    X_train, y_train, X_test, y_test = load_mnist(n_train)
    # a random half of the test set calibrates, the other half evaluates (the
    # two halves of MNIST's test file come from different writers: in file
    # order they are not exchangeable, and conformal coverage needs that)
    order = np.random.default_rng(seed).permutation(len(X_test))
    cal, ev = order[:5000], order[5000:]
    X_cal, y_cal, X_eval, y_eval = X_test[cal], y_test[cal], X_test[ev], y_test[ev]
    rng = np.random.default_rng(seed)
    sets = ood_sets(X_eval, n_ood, rng)
    models = {}
    configs = [("CNNClassifier()", {})]
    if not only_corruptions:
        configs.append(
            (
                "CNNClassifier(outlier_exposure=OutlierExposure())",
                {"outlier_exposure": OutlierExposure()},
            )
        )
    for name, params in configs:
        clf, seconds = timed(
            CNNClassifier(random_state=seed, **params).fit, X_train, y_train
        )
        label = f"{name} on {n_train:,} MNIST digits (fit {seconds:.0f} s)"
        print(f"\n{label}: full test set accuracy {clf.score(X_test, y_test):.2%}")
        if not only_corruptions:
            trust_part(clf, X_cal, y_cal, X_eval, y_eval, sets, label)
        models[name] = clf
    if corruptions:
        clf = models["CNNClassifier()"]
        probabilities = (0.5, 0.3)  # half, 70% of each batch clean
        corruption_part(clf, X_train, y_train, X_eval, y_eval, seed, probabilities)


def build_parser():
    parser = make_parser(__doc__, n_train=60000, seed=0, quick=dict(n_ood=200))
    parser.add_argument("--n-ood", type=int, default=2000)
    parser.add_argument("--corruptions", action="store_true")
    parser.add_argument(
        "--only-corruptions", action="store_true", help="the MNIST-C part alone"
    )
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    run(
        args.n_train,
        args.corruptions or args.only_corruptions,
        args.n_ood,
        args.seed,
        args.only_corruptions,
    )


if __name__ == "__main__":
    main()
