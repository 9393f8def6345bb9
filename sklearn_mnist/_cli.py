"""The ``sklearn-mnist`` command (also ``python -m sklearn_mnist``).

It parses arguments and calls the library: models are written with
:func:`sklearn_mnist.save` and read with :func:`sklearn_mnist.load` (pickles
only with ``--trust-pickle``), reports with
:func:`sklearn_mnist.metrics.write_report`. Results go to stdout, progress and
errors to stderr; every error is one line and an exit code from ``EXIT_CODES``.
"""

import argparse
import contextlib
import logging
import os
import pathlib
import sys
import textwrap
import time

__all__ = ["EXIT_CODES", "build_parser", "main"]

EXIT_ERROR, EXIT_USAGE, EXIT_DATA, EXIT_MODEL, EXIT_OUTPUT = 1, 2, 3, 4, 5
EXIT_CODES = {
    0: "success",
    EXIT_ERROR: "unexpected error (run with --verbose for the traceback)",
    EXIT_USAGE: "bad arguments: an unknown option, a value out of range, a device "
    "this machine does not have",
    EXIT_DATA: "data not available: not cached with --offline, or the download failed",
    EXIT_MODEL: "unusable model file: missing, not a model file, corrupted, holding "
    "untrusted types, a pickle without --trust-pickle, not a fitted classifier, "
    "or (attack) a model that cannot be attacked",
    EXIT_OUTPUT: "the output exists (pass --overwrite) or cannot be written",
    130: "interrupted (Ctrl-C)",
}
MODEL_SUFFIX = ".skmnist"
_TRUST_PICKLE_HELP = (
    "also read pickle / joblib model files. DANGEROUS: loading a pickle runs any "
    "code the file contains, so use it only for files you made yourself or "
    "fully trust; sklearn-mnist's own format never needs it"
)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
# pickle protocol 2+, and joblib's compressed files: zlib, gzip, bz2, xz, lzma
_PICKLE_MAGIC = (b"\x80", b"\x78", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x5d\x00\x00")


class CLIError(Exception):
    """An error with its exit code; its message is printed on one line."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


# ------------------------------------------------------------------ arguments
class _Formatter(
    argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter
):
    """Defaults shown after every option (unless its help says it); the
    epilog's lines kept."""

    def _get_help_string(self, action):
        if "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """argparse's errors in one line (exit code 2), without the usage."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _epilog():
    lines = ["exit codes:"]
    for code, text in EXIT_CODES.items():
        lines += textwrap.wrap(
            text, 79, initial_indent=f"  {code:>3}  ", subsequent_indent=" " * 7
        )
    return "\n".join(lines)


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(
            f"must be in [0, 1] (a fraction of the pixel range), got {text}"
        )
    return value


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _device(text):
    if text == "auto":
        return text
    from .neural_net._device import resolve_device

    try:
        resolve_device(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def build_parser():
    common = dict(formatter_class=_Formatter, epilog=_epilog())
    parser = _Parser(
        prog="sklearn-mnist",
        description="scikit-learn estimators for MNIST-style images: train, "
        "evaluate and attack models from the command line.",
        **common,
    )
    verbose_help = "log progress, show the epoch table, tracebacks on errors"
    parser.add_argument("-v", "--verbose", action="store_true", help=verbose_help)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, help_text, func):
        p = sub.add_parser(name, help=help_text, description=help_text, **common)
        p.add_argument(  # also after the command; SUPPRESS keeps the global value
            "-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
            help=verbose_help,
        )  # fmt: skip
        p.set_defaults(func=func)
        return p

    def data_options(p):
        p.add_argument(
            "--data", default="sample",
            choices=["sample", "mnist", "fashion", "kmnist"],
            help="'sample': the 5,000 bundled MNIST digits (offline; 4,000 to train, "
            "1,000 to test); otherwise the fetch_mnist variant",
        )  # fmt: skip
        p.add_argument(
            "--data-home", default=None, metavar="DIR",
            help="fetch_mnist cache folder: files in DIR/<variant>/ are used "
            "without downloading (default: scikit-learn's data home)",
        )  # fmt: skip
        p.add_argument(
            "--offline", action="store_true",
            help="never download; fail (exit 3) if the data are not in the cache",
        )  # fmt: skip

    def output_options(p, default, what):
        p.add_argument("--output", default=default, metavar="PATH", help=what)
        p.add_argument(
            "--overwrite", action="store_true",
            help="replace an existing output instead of stopping with exit code 5",
        )  # fmt: skip

    def training_options(p, epochs):
        p.add_argument(
            "--device", default="auto", type=_device,
            help="'auto' (cuda, then mps, then cpu) or a torch device such as "
            "'cpu' or 'cuda:0'",
        )  # fmt: skip
        p.add_argument(
            "--random-state", type=int, default=0, metavar="SEED",
            help="seed for weights, shuffling and augmentation",
        )  # fmt: skip
        p.add_argument(
            "--epochs", type=_positive_int, default=epochs, metavar="N",
            help="training epochs (default: the classifier's own)"
            if epochs is None else "training epochs of each network",
        )  # fmt: skip

    def model_options(p):
        p.add_argument(
            "model_file", metavar="MODEL_FILE",
            help=f"a model written by 'sklearn-mnist fit' or sklearn_mnist.save "
            f"({MODEL_SUFFIX})",
        )  # fmt: skip
        p.add_argument(
            "--device", default="auto", type=_device,
            help="device for the model's networks; 'auto': the one it was fitted "
            "on if this machine has it, else cpu",
        )  # fmt: skip
        p.add_argument("--trust-pickle", action="store_true", help=_TRUST_PICKLE_HELP)

    def eps_option(p):
        p.add_argument(
            "--eps", type=_fraction, default=0.2,
            help="attack radius, a fraction of the pixel range, in [0, 1]",
        )  # fmt: skip

    demo = command(
        "demo", "grid search, a soft-voting ensemble, evaluation and an FGSM "
        "attack on the bundled sample; writes a report folder", _demo,
    )  # fmt: skip
    data_options(demo)
    training_options(demo, epochs=6)
    eps_option(demo)
    output_options(demo, "sklearn-mnist-report", "report folder")

    fit = command("fit", "fit a model and save it (sklearn_mnist.save)", _fit)
    data_options(fit)
    training_options(fit, epochs=None)
    fit.add_argument(
        "--model", choices=["cnn", "mlp"], default="cnn",
        help="the classifier, after Normalizer255 in a Pipeline",
    )  # fmt: skip
    fit.add_argument(
        "--augment", action="store_true",
        help="train on randomly rotated, shifted and zoomed digits",
    )  # fmt: skip
    output_options(fit, "model" + MODEL_SUFFIX, "model file to write")

    ev = command(
        "evaluate", "evaluate a saved model on the test set; writes a report "
        "folder (with FGSM figures when the model can be attacked)", _evaluate,
    )  # fmt: skip
    model_options(ev)
    data_options(ev)
    eps_option(ev)
    output_options(ev, "sklearn-mnist-report", "report folder")

    attack = command(
        "attack", "FGSM / PGD adversarial test set against a saved model", _attack
    )
    model_options(attack)
    data_options(attack)
    eps_option(attack)
    attack.add_argument(
        "--n-iter", type=_positive_int, default=1, metavar="N",
        help="attack steps: 1 is FGSM, more is PGD",
    )  # fmt: skip
    output_options(
        attack, "sklearn-mnist-attack", "folder for adversarial.npy (the images)"
    )
    return parser


# ------------------------------------------------------------------ progress
class _Progress:
    """Stage messages on stderr: a tqdm bar on a terminal (plain lines with
    --verbose, which logs too), plain lines otherwise."""

    def __init__(self, total, desc, verbose):
        from tqdm.auto import tqdm

        self.terminal = sys.stderr.isatty()
        self.verbose, self.count, self.total = verbose, 0, total
        self.bar = tqdm(total=total, desc=desc, file=sys.stderr) if (
            self.terminal and not verbose
        ) else None  # fmt: skip

    def __call__(self, message):
        self.count += 1
        if self.bar is not None:
            self.bar.set_postfix_str(message)
            self.bar.update(1)
        else:
            print(f"[{self.count}/{self.total}] {message}", file=sys.stderr)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _note(message):
    print(f"sklearn-mnist: {message}", file=sys.stderr)


# ------------------------------------------------------------------ data
def _load_data(args, subset):
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
        where = os.path.join(args.data_home or "DIR", args.data, "")
        default = os.environ.get("SCIKIT_LEARN_DATA", "~/scikit_learn_data")
        hint = (
            f"Put the {args.data} IDX files under their canonical names in {where}"
            + (
                " (under the --data-home you gave)"
                if args.data_home
                else f" and pass --data-home DIR (by default DIR is {default})"
            )
            + (", run without --offline to download them" if args.offline else "")
            + ", or use --data sample (bundled, offline)"
        )
        raise CLIError(
            f"cannot load {args.data} ({subset}): {exc}. {hint}", EXIT_DATA
        ) from exc
    return bunch.images, bunch.target, bunch.target_names


# ------------------------------------------------------------------ outputs
def _check_output(path, overwrite, *, folder):
    """Stop before any work if ``path`` exists (unless ``overwrite``)."""
    path = pathlib.Path(path)
    if not path.exists() and not path.is_symlink():
        return path
    if folder and not path.is_dir():
        raise CLIError(f"output {path} exists and is not a folder", EXIT_OUTPUT)
    if not folder and path.is_dir():
        raise CLIError(f"output {path} is a folder, not a file", EXIT_OUTPUT)
    if overwrite or (folder and not any(path.iterdir())):
        return path
    what = "folder" if folder else "file"
    raise CLIError(
        f"output {what} {path} exists"
        + (" and is not empty" if folder else "")
        + "; pass --overwrite to replace it or choose another --output",
        EXIT_OUTPUT,
    )


@contextlib.contextmanager
def _writing(path):
    """OSError while writing ``path`` -> exit code 5."""
    try:
        yield
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {exc}", EXIT_OUTPUT) from exc


# ------------------------------------------------------------------ models
def _classifier(kind, *, epochs, device, augment, random_state, verbose=0):
    from sklearn.pipeline import make_pipeline

    from .neural_net import CNNClassifier, MLPNetClassifier
    from .preprocessing import Normalizer255, RandomAffineAugmenter

    cls = {"cnn": CNNClassifier, "mlp": MLPNetClassifier}[kind]
    params = dict(device=device, random_state=random_state, verbose=verbose)
    if epochs is not None:
        params["max_epochs"] = epochs
    if augment:
        params["augment"] = RandomAffineAugmenter()
    return make_pipeline(Normalizer255(), cls(**params))


def _sniff(path):
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    return "pickle" if head.startswith(_PICKLE_MAGIC) else "other"


def _read_pickle(path):
    import joblib

    try:
        return joblib.load(path)
    except Exception as exc:  # unpickling fails in many ways
        raise CLIError(
            f"cannot read model file {path} as a pickle / joblib file either: "
            f"{type(exc).__name__}: {exc}",
            EXIT_MODEL,
        ) from exc


def _read_model(args):
    """The fitted classifier in ``args.model_file``, or CLIError (exit 4)."""
    from sklearn.base import is_classifier
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    from .persistence import load

    path = pathlib.Path(args.model_file)
    if not path.exists():
        raise CLIError(f"model file not found: {path}", EXIT_MODEL)
    if path.is_dir():
        raise CLIError(f"model file {path} is a folder", EXIT_MODEL)
    try:
        kind = _sniff(path)
    except OSError as exc:
        raise CLIError(f"cannot read model file {path}: {exc}", EXIT_MODEL) from exc
    if kind == "zip":
        device = None if args.device == "auto" else args.device
        try:
            model = load(path, device=device)
        except (ValueError, OSError) as exc:
            raise CLIError(f"cannot read model file: {exc}", EXIT_MODEL) from exc
    elif args.trust_pickle:
        model = _read_pickle(path)
    elif kind == "pickle":
        raise CLIError(
            f"{path} looks like a pickle / joblib file, which is refused: loading a "
            "pickle runs any code it contains. Save models with "
            "sklearn_mnist.save (what 'sklearn-mnist fit' writes); for a pickle you "
            "made yourself or fully trust, pass --trust-pickle",
            EXIT_MODEL,
        )
    else:
        raise CLIError(
            f"{path} is not a sklearn-mnist model file (written by 'sklearn-mnist "
            "fit' or sklearn_mnist.save)",
            EXIT_MODEL,
        )
    if isinstance(model, type) or not (
        hasattr(model, "predict") and hasattr(model, "get_params")
    ):
        raise CLIError(
            f"{path} holds a {type(model).__name__}, not a scikit-learn classifier",
            EXIT_MODEL,
        )
    if not is_classifier(model):
        raise CLIError(
            f"{path} holds a {type(model).__name__}, which is not a classifier",
            EXIT_MODEL,
        )
    try:
        check_is_fitted(model)
    except NotFittedError:
        raise CLIError(f"the model in {path} is not fitted", EXIT_MODEL) from None
    return model


def _attackable(model):
    from .adversarial import differentiable_model

    try:
        differentiable_model(model)
    except ValueError as exc:
        return str(exc)
    return None


@contextlib.contextmanager
def _predicting(path, X):
    """ValueError from the model on the test data -> exit code 4."""
    try:
        yield
    except ValueError as exc:
        raise CLIError(
            f"the model in {path} cannot predict the test images (shape "
            f"{X.shape}, {X.dtype}): {str(exc).rstrip('.')}. A scikit-learn model "
            "fitted on flat "
            "rows needs a Pipeline that starts with Flatten()",
            EXIT_MODEL,
        ) from exc


# ------------------------------------------------------------------ commands
def _report(model, X, y, names, out, *, eps, name, progress=None):
    import matplotlib

    matplotlib.use("Agg")
    from .metrics import write_report

    with _writing(out):
        return write_report(
            model, X, y, out, target_names=names, eps=eps, progress=progress,
            model_name=name,
        )  # fmt: skip


def _demo(args):
    from sklearn.ensemble import VotingClassifier
    from sklearn.model_selection import GridSearchCV

    out = _check_output(args.output, args.overwrite, folder=True)
    X_train, y_train, names = _load_data(args, "train")
    X_test, y_test, _ = _load_data(args, "test")
    progress = _Progress(5, "demo", args.verbose)
    kw = dict(device=args.device, random_state=args.random_state, augment=False)
    try:
        progress("grid search over the CNN's hidden layer")
        cnn = _classifier("cnn", epochs=args.epochs, **kw)
        cnn[-1].set_params(batch_size=64)
        grid = {"cnnclassifier__module__hidden_units": [64, 128]}
        search = GridSearchCV(cnn, grid, cv=2).fit(X_train, y_train)
        progress("fitting a soft-voting ensemble of an MLP and a CNN pipeline")
        mlp = _classifier("mlp", epochs=args.epochs, **kw)
        ensemble = VotingClassifier(
            [("mlp", mlp), ("cnn", search.best_estimator_)], voting="soft"
        ).fit(X_train, y_train)
        # The report is about the CNN pipeline: FGSM attacks it (the ensemble
        # cannot be attacked); the ensemble's accuracy is printed beside it.
        name = "CNN pipeline (Normalizer255 -> CNNClassifier, best of the grid search)"
        result = _report(
            ensemble.estimators_[1], X_test, y_test, names, out, eps=args.eps,
            name=name, progress=progress,
        )  # fmt: skip
        ensemble_accuracy = ensemble.score(X_test, y_test)
    finally:
        progress.close()
    print(f"best CNN parameters: {search.best_params_}")
    print(f"\nmodel: {name}\n{result}")
    print(
        f"\nsoft-voting ensemble (MLP + CNN): accuracy {ensemble_accuracy:.4f}; "
        f"CNN alone: {result.accuracy:.4f}"
    )
    print(f"report for the CNN pipeline written to {out.resolve()}")
    return 0


def _fit(args):
    from .metrics._report import describe_estimator
    from .persistence import save

    out = _check_output(args.output, args.overwrite, folder=False)
    X, y, _ = _load_data(args, "train")
    show = args.verbose or sys.stderr.isatty()
    model = _classifier(
        args.model, epochs=args.epochs, device=args.device, augment=args.augment,
        random_state=args.random_state, verbose=int(show),
    )  # fmt: skip
    if show:
        _note(
            f"fitting {describe_estimator(model)} on {len(X):,} {args.data} images "
            f"(device {args.device})"
        )
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # skorch prints its epoch table
        model.fit(X, y)
    model[-1].set_params(verbose=0)  # the saved model predicts silently
    if show:
        _note(f"fitted in {time.perf_counter() - start:.1f} s")
    with _writing(out):
        out.parent.mkdir(parents=True, exist_ok=True)
        save(model, out)
    print(f"model saved to {out.resolve()}")
    return 0


def _evaluate(args):
    from .metrics._report import describe_estimator

    out = _check_output(args.output, args.overwrite, folder=True)
    model = _read_model(args)
    X, y, names = _load_data(args, "test")
    with _predicting(args.model_file, X):
        model.predict(X[:2])  # fail here, before any output, if it cannot
    reason = _attackable(model)
    if reason is not None:
        _note(f"no adversarial figures: {reason}")
    name = f"{describe_estimator(model)} from {args.model_file}"
    progress = _Progress(1 if reason else 3, "evaluate", args.verbose)
    try:
        with _predicting(args.model_file, X):
            result = _report(
                model, X, y, names, out, eps=args.eps, name=name, progress=progress
            )
    finally:
        progress.close()
    print(f"model: {name}\n{result}")
    print(f"report written to {out.resolve()}")
    return 0


def _attack(args):
    import numpy as np

    from .adversarial import FGSMPerturber

    out = _check_output(args.output, args.overwrite, folder=True)
    model = _read_model(args)
    reason = _attackable(model)
    if reason is not None:
        raise CLIError(
            f"cannot attack the model in {args.model_file}: {reason}", EXIT_MODEL
        )
    X, y, _ = _load_data(args, "test")
    with _predicting(args.model_file, X):
        X_adv = FGSMPerturber(model, eps=args.eps, n_iter=args.n_iter).perturb(X, y)
        clean, attacked = model.score(X, y), model.score(X_adv, y)
    with _writing(out):
        out.mkdir(parents=True, exist_ok=True)
        np.save(out / "adversarial.npy", X_adv)
    print(
        f"accuracy clean {clean:.4f}, under attack (eps={args.eps}, "
        f"n_iter={args.n_iter}) {attacked:.4f}"
    )
    print(f"adversarial examples written to {(out / 'adversarial.npy').resolve()}")
    return 0


# ------------------------------------------------------------------ entry point
def _one_line(exc):
    return " ".join(str(exc).split())


def main(argv=None):
    """Entry point; returns the process exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or bad arguments (2)
        return exc.code
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    try:
        return args.func(args)
    except CLIError as exc:
        if args.verbose and exc.__cause__ is not None:
            import traceback

            traceback.print_exception(exc.__cause__, file=sys.stderr)
        print(f"sklearn-mnist: error: {_one_line(exc)}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("sklearn-mnist: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.verbose:
            import traceback

            traceback.print_exc(file=sys.stderr)
        print(
            f"sklearn-mnist: error: {type(exc).__name__}: {_one_line(exc)}"
            + ("" if args.verbose else " (run with --verbose for the traceback)"),
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
