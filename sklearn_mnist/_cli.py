"""The ``sklearn-mnist`` command (also ``python -m sklearn_mnist``).

Exit codes: 0 success, 2 bad arguments, 3 data not available, 4 unreadable model.
"""

import argparse
import logging
import pathlib
import sys

__all__ = ["main"]

EXIT_DATA, EXIT_MODEL = 3, 4


class CLIError(Exception):
    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


def _load(args, subset):
    """(X, y, target_names) for ``subset`` in {"train", "test"}."""
    from sklearn.model_selection import train_test_split

    from .datasets import fetch_mnist, load_mnist_sample

    if args.data == "sample":
        bunch = load_mnist_sample()
        parts = train_test_split(
            bunch.images, bunch.target, test_size=0.2, stratify=bunch.target,
            random_state=0,
        )  # fmt: skip
        X, y = (parts[0], parts[2]) if subset == "train" else (parts[1], parts[3])
        return X, y, bunch.target_names
    try:
        bunch = fetch_mnist(
            variant=args.data, subset=subset, data_home=args.data_home,
            download_if_missing=not args.offline,
        )  # fmt: skip
    except OSError as exc:
        raise CLIError(f"cannot load {args.data} ({subset}): {exc}", EXIT_DATA) from exc
    return bunch.images, bunch.target, bunch.target_names


def _model(kind, *, epochs, device, augment, random_state):
    from sklearn.pipeline import make_pipeline

    from .neural_net import CNNClassifier, MLPNetClassifier
    from .preprocessing import Normalizer255, RandomAffineAugmenter

    cls = {"cnn": CNNClassifier, "mlp": MLPNetClassifier}[kind]
    params = dict(device=device, random_state=random_state)
    if epochs is not None:
        params["max_epochs"] = epochs
    if augment:
        params["augment"] = RandomAffineAugmenter()
    return make_pipeline(Normalizer255(), cls(**params))


def _save_model(model, path):
    import joblib

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, path)
    print(f"model saved to {path}")


def _read_model(path):
    import joblib

    try:
        return joblib.load(path)
    except FileNotFoundError as exc:
        raise CLIError(f"model file not found: {path}", EXIT_MODEL) from exc
    except Exception as exc:  # unpickling errors come in many types
        raise CLIError(f"cannot read model file {path}: {exc}", EXIT_MODEL) from exc


def _write_report(model, X, y, names, out, *, eps, stage=print):
    import matplotlib

    matplotlib.use("Agg")
    from .metrics import write_report

    return write_report(model, X, y, out, target_names=names, eps=eps, progress=stage)


def _demo(args):
    from sklearn.ensemble import VotingClassifier
    from sklearn.model_selection import GridSearchCV
    from tqdm.auto import tqdm

    from .metrics import evaluate

    steps = tqdm(total=5, desc="demo", disable=None)

    def stage(message):
        steps.set_postfix_str(message)
        steps.update(1)
        logging.getLogger(__name__).info(message)

    X_train, y_train, names = _load(args, "train")
    X_test, y_test, _ = _load(args, "test")
    kw = dict(device=args.device, random_state=args.random_state, augment=False)
    stage("grid search over the CNN's hidden layer")
    cnn = _model("cnn", epochs=args.epochs, **kw)
    cnn[-1].set_params(batch_size=64)
    search = GridSearchCV(
        cnn, {"cnnclassifier__module__hidden_units": [64, 128]}, cv=2
    ).fit(X_train, y_train)
    print(f"best CNN parameters: {search.best_params_}")
    stage("fitting a soft-voting ensemble of an MLP and a CNN pipeline")
    mlp = _model("mlp", epochs=args.epochs, **kw)
    ensemble = VotingClassifier(
        [("mlp", mlp), ("cnn", search.best_estimator_)], voting="soft"
    ).fit(X_train, y_train)
    result = _write_report(
        ensemble.estimators_[1], X_test, y_test, names, args.output, eps=args.eps,
        stage=stage,
    )  # fmt: skip
    ens = evaluate(ensemble, X_test, y_test)
    steps.close()
    print(ens)
    print(
        f"\nCNN alone: accuracy {result.accuracy:.4f}; report written to {args.output}"
    )
    return 0


def _fit(args):
    X, y, _ = _load(args, "train")
    model = _model(args.model, epochs=args.epochs, device=args.device,
                   augment=args.augment, random_state=args.random_state)  # fmt: skip
    model.fit(X, y)
    _save_model(model, args.output)
    return 0


def _evaluate(args):
    model = _read_model(args.model_file)
    X, y, names = _load(args, "test")
    result = _write_report(model, X, y, names, args.output, eps=args.eps)
    print(result)
    return 0


def _attack(args):
    import numpy as np

    from .adversarial import FGSMPerturber

    model = _read_model(args.model_file)
    X, y, _ = _load(args, "test")
    try:
        X_adv = FGSMPerturber(model, eps=args.eps, n_iter=args.n_iter).perturb(X, y)
    except ValueError as exc:
        raise CLIError(str(exc), 2) from exc
    out = pathlib.Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "adversarial.npy", X_adv)
    clean, attacked = model.score(X, y), model.score(X_adv, y)
    print(
        f"accuracy clean {clean:.4f}, under attack (eps={args.eps}, "
        f"n_iter={args.n_iter}) {attacked:.4f}; examples in {out}/adversarial.npy"
    )
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sklearn-mnist",
        description="scikit-learn estimators for MNIST-style images.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)

    def data_options(p):
        p.add_argument(
            "--data",
            default="sample",
            choices=["sample", "mnist", "fashion", "kmnist"],
            help="the offline 5,000-digit sample (default) or a fetch_mnist variant",
        )
        p.add_argument("--data-home", default=None, help="fetch_mnist cache folder")
        p.add_argument(
            "--offline",
            action="store_true",
            help="never download; fail if the data are not cached",
        )
        p.add_argument("--device", default="auto")
        p.add_argument("--random-state", type=int, default=0)

    demo = sub.add_parser("demo", help="grid search, ensemble, evaluation and FGSM "
                          "on the offline sample; writes a report folder")  # fmt: skip
    data_options(demo)
    demo.add_argument("--output", default="sklearn-mnist-report")
    demo.add_argument("--epochs", type=int, default=6)
    demo.add_argument("--eps", type=float, default=0.2)
    demo.set_defaults(func=_demo)

    fit = sub.add_parser("fit", help="fit a model and save it with joblib")
    data_options(fit)
    fit.add_argument("--model", choices=["cnn", "mlp"], default="cnn")
    fit.add_argument("--epochs", type=int, default=None)
    fit.add_argument("--augment", action="store_true")
    fit.add_argument("--output", default="model.joblib")
    fit.set_defaults(func=_fit)

    ev = sub.add_parser("evaluate", help="evaluate a saved model; writes a report")
    data_options(ev)
    ev.add_argument("model_file")
    ev.add_argument("--output", default="sklearn-mnist-report")
    ev.add_argument("--eps", type=float, default=0.2)
    ev.set_defaults(func=_evaluate)

    attack = sub.add_parser("attack", help="FGSM/PGD adversarial test set")
    data_options(attack)
    attack.add_argument("model_file")
    attack.add_argument("--eps", type=float, default=0.2)
    attack.add_argument("--n-iter", type=int, default=1)
    attack.add_argument("--output", default="sklearn-mnist-attack")
    attack.set_defaults(func=_attack)
    return parser


def main(argv=None):
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    try:
        return args.func(args)
    except CLIError as exc:
        print(f"sklearn-mnist: error: {exc}", file=sys.stderr)
        return exc.code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
