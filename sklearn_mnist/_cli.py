"""The ``sklearn-mnist`` command (also ``python -m sklearn_mnist``)."""

import argparse
import logging
import sys

__all__ = ["main"]


def _demo(args):
    from sklearn.metrics import classification_report
    from sklearn.model_selection import GridSearchCV, train_test_split
    from sklearn.pipeline import Pipeline

    from .datasets import load_mnist_sample
    from .neural_net import CNNClassifier
    from .preprocessing import Normalizer255

    X, y = load_mnist_sample(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.random_state
    )
    pipe = Pipeline(
        [
            ("scale", Normalizer255()),
            (
                "clf",
                CNNClassifier(
                    batch_size=64, max_epochs=6, random_state=args.random_state
                ),
            ),
        ]
    )
    grid = {"clf__module__hidden_units": [64, 128]}
    search = GridSearchCV(pipe, grid, cv=3, n_jobs=1)
    search.fit(X_train, y_train)
    print(f"best parameters: {search.best_params_}")
    print(classification_report(y_test, search.predict(X_test), digits=3))
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sklearn-mnist",
        description="scikit-learn estimators for MNIST-style images.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="offline demo on the bundled MNIST sample (no download)"
    )
    demo.add_argument("--random-state", type=int, default=0)
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None):
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
