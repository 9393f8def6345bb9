"""Accuracy of CNNClassifier with online augmentation on full MNIST, alone and as a
soft-voting ensemble (sklearn's VotingClassifier) of several seeds.

    python benchmarks/bench_augmented_cnn.py --epochs 15 --members 1
    python benchmarks/bench_augmented_cnn.py --epochs 15 --members 5
    python benchmarks/bench_augmented_cnn.py --epochs 10 --no-augment

The configuration is the ``ACCURATE`` preset of ``_harness.py`` (also in
RESULTS.md).
"""

from _harness import ACCURATE, load_mnist, make_parser, print_test_errors, timed
from sklearn.ensemble import VotingClassifier

from sklearn_mnist import CNNClassifier, RandomAffineAugmenter


def make(seed, epochs, rotation, shift, zoom, augment=True):
    augmenter = RandomAffineAugmenter(rotation=rotation, shift=shift, zoom=zoom)
    return CNNClassifier(
        **ACCURATE,
        max_epochs=epochs,
        augment=augmenter if augment else None,
        random_state=seed,
    )


def build_parser():
    parser = make_parser(__doc__, epochs=15, n_train=None, quick=dict(epochs=1))
    parser.add_argument("--members", type=int, default=1)
    parser.add_argument("--rotation", type=float, default=10.0)
    parser.add_argument("--shift", type=float, default=0.1)
    parser.add_argument("--zoom", type=float, default=0.1)
    parser.add_argument("--no-augment", action="store_true")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    X_train, y_train, X_test, y_test = load_mnist(args.n_train)
    members = [
        (
            f"cnn{seed}",
            make(
                seed,
                args.epochs,
                args.rotation,
                args.shift,
                args.zoom,
                augment=not args.no_augment,
            ),  # fmt: skip
        )
        for seed in range(args.members)
    ]
    if args.members == 1:
        model, fit_s = timed(members[0][1].fit, X_train, y_train)
    else:
        model, fit_s = timed(
            VotingClassifier(members, voting="soft").fit, X_train, y_train
        )
    pred = model.predict(X_test)
    augment = (
        "none"
        if args.no_augment
        else (f"rotation={args.rotation} shift={args.shift} zoom={args.zoom}")
    )
    print(f"config: {ACCURATE}, epochs={args.epochs}, augment: {augment}")
    if args.members > 1:
        for (name, _), est in zip(members, model.estimators_, strict=True):
            print(f"  member {name}: {est.score(X_test, y_test) * 100:.2f}%")
    print_test_errors(args.members, fit_s, y_test, pred)


if __name__ == "__main__":
    main()
