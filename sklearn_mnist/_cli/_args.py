"""The command line: exit codes, errors and the argument parser.

Argument values are checked here (exit code 2 before any work); the commands
in ``_commands.py`` only see valid values.
"""

import argparse
import textwrap

from .._version import __version__
from ..export import MIN_OPSET

__all__ = ["EXIT_CODES", "CLIError", "MODEL_SUFFIX", "build_parser"]

EXIT_ERROR, EXIT_USAGE, EXIT_DATA, EXIT_MODEL, EXIT_OUTPUT = 1, 2, 3, 4, 5
EXIT_DEPENDENCY = 6
EXIT_CODES = {
    0: "success",
    EXIT_ERROR: "unexpected error (run with --verbose for the traceback)",
    EXIT_USAGE: "bad arguments: an unknown option, a value out of range, a device "
    "this machine does not have",
    EXIT_DATA: "data not available: not cached with --offline, or the download "
    "failed; (predict) an image file missing, unreadable, not an image or too large, "
    "or no image file in the PATHs",
    EXIT_MODEL: "unusable model file: missing, not a model file, corrupted, holding "
    "untrusted types, a pickle without --trust-pickle, not a fitted classifier, "
    "(attack) a model that cannot be attacked, (export-onnx) one that cannot "
    "be exported or whose export disagrees with it, or (predict) one that does not "
    "take images",
    EXIT_OUTPUT: "the output exists (pass --overwrite) or cannot be written",
    EXIT_DEPENDENCY: "an optional dependency is missing (the message gives the pip "
    "command)",
    130: "interrupted (Ctrl-C)",
}
MODEL_SUFFIX = ".skmnist"
_TRUST_PICKLE_HELP = (
    "also read pickle / joblib model files. DANGEROUS: loading a pickle runs any "
    "code the file contains, so use it only for files you made yourself or "
    "fully trust; sklearn-mnist's own format never needs it"
)


class CLIError(Exception):
    """An error with its exit code; its message is printed on one line."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


# ------------------------------------------------------------------ arguments
class _Formatter(
    argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter
):
    """Defaults shown after every option (unless its help says it);
    descriptions' lines kept."""

    def _get_help_string(self, action):
        if "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """argparse's errors in one line (exit code 2), without the usage."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")

    def format_help(self):
        """The help, then the exit codes. Not an ``epilog``: sphinx-argparse
        reads epilogs as reStructuredText, which the aligned table is not
        (docs/cli.rst lists the codes itself)."""
        return f"{super().format_help()}\n{_exit_codes_text()}\n"


def _exit_codes_text():
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


def _int_at_least(minimum, maximum=None):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer, got {text!r}"
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {value}")
        return value

    return parse


_positive_int = _int_at_least(1)
_count = _int_at_least(0)
_seed = _int_at_least(0, 2**32 - 1)  # numpy's seeds


def _opset(text):
    value = _int_at_least(MIN_OPSET)(text)
    try:
        from onnx.defs import onnx_opset_version
    except ImportError:  # export-onnx then stops with exit code 6
        return value
    if value > onnx_opset_version():
        raise argparse.ArgumentTypeError(
            f"must be at most {onnx_opset_version()} (the newest opset of the "
            f"installed onnx), got {value}"
        )
    return value


def _device(text):
    if text == "auto":
        return text
    from ..utils import resolve_device

    try:
        resolve_device(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def build_parser():
    common = dict(formatter_class=_Formatter)
    parser = _Parser(
        prog="sklearn-mnist",
        description="scikit-learn estimators for MNIST-style images: train, "
        "evaluate, attack and export models, and predict the digits in image "
        "files, from the command line.",
        **common,
    )
    verbose_help = "log progress, show the epoch table, tracebacks on errors"
    quiet_help = (
        "no progress on stderr (results, warnings and errors are still printed)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help=verbose_help)
    parser.add_argument("-q", "--quiet", action="store_true", help=quiet_help)
    parser.add_argument(
        "--version", action="version", version=f"sklearn-mnist {__version__}",
        help="print 'sklearn-mnist VERSION' and exit",
    )  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, help_text):
        p = sub.add_parser(name, help=help_text, description=help_text, **common)
        p.add_argument(  # also after the command; SUPPRESS keeps the global value
            "-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
            help=verbose_help,
        )  # fmt: skip
        p.add_argument(
            "-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
            help=quiet_help,
        )  # fmt: skip
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
            "--random-state", type=_seed, default=0, metavar="SEED",
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
        "attack on the bundled sample; writes a report folder",
    )  # fmt: skip
    data_options(demo)
    training_options(demo, epochs=6)
    eps_option(demo)
    output_options(demo, "sklearn-mnist-report", "report folder")

    fit = command("fit", "fit a model and save it (sklearn_mnist.save)")
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
        "folder (with FGSM figures when the model can be attacked)",
    )  # fmt: skip
    model_options(ev)
    data_options(ev)
    eps_option(ev)
    output_options(ev, "sklearn-mnist-report", "report folder")

    attack = command(
        "attack", "FGSM / PGD adversarial test set against a saved model; writes "
        "the adversarial images, the true labels, the model's predictions on the "
        "clean and adversarial images and attack.json (eps, both accuracies)",
    )  # fmt: skip
    model_options(attack)
    data_options(attack)
    eps_option(attack)
    attack.add_argument(
        "--n-iter", type=_positive_int, default=1, metavar="N",
        help="attack steps: 1 is FGSM, more is PGD",
    )  # fmt: skip
    output_options(
        attack, "sklearn-mnist-attack", "folder for adversarial.npy (the images), "
        "labels.npy, predictions_clean.npy, predictions_adversarial.npy and "
        "attack.json",
    )  # fmt: skip
    onnx = command(
        "export-onnx", "export a saved model, preprocessing included, to ONNX "
        "(sklearn_mnist.export_onnx) and check the file in onnxruntime",
    )  # fmt: skip
    onnx.add_argument(
        "model_file", metavar="MODEL_FILE",
        help=f"a model written by 'sklearn-mnist fit' or sklearn_mnist.save "
        f"({MODEL_SUFFIX}), read on the cpu",
    )  # fmt: skip
    output_options(onnx, "model.onnx", "ONNX file to write")
    onnx.add_argument(
        "--opset", type=_opset, default=None, metavar="N",
        help=f"ONNX opset, {MIN_OPSET} to the installed onnx's newest (default: the "
        "torch exporter's own)",
    )  # fmt: skip
    onnx.add_argument(
        "--check-samples", type=_count, default=1000, metavar="N",
        help="compare the file's labels and probabilities in onnxruntime with the "
        "model's on N bundled sample digits (random pixels for models that do "
        "not take 28x28 grey images) before writing it; 0 skips the check",
    )  # fmt: skip
    onnx.add_argument("--trust-pickle", action="store_true", help=_TRUST_PICKLE_HELP)
    onnx.set_defaults(device="cpu")

    pred = command(
        "predict", "predict the digit in image files with a saved model: one line "
        "per file on stdout, LABEL, PROBABILITY and PATH separated by tabs (LABEL "
        "is 'rejected' where a RejectOptionClassifier rejects the file; "
        "PROBABILITY is then that of the class the model would have answered)",
    )  # fmt: skip
    model_options(pred)
    pred.add_argument(
        "paths", nargs="+", metavar="PATH",
        help="image files (PNG, JPEG, BMP, TIFF, WebP, GIF, PGM/PPM: read whatever "
        "their name), or folders: their files named with those extensions, "
        "recursively, in sorted order, hidden files and folders skipped, symbolic "
        "links followed only inside the folder",
    )  # fmt: skip
    pred.add_argument(
        "--normalize", choices=["auto", "on", "off"], default="auto",
        help="digit normalisation (DigitNormalizer: ink made white on black, "
        "lighting and specks removed, the digit fitted into a 20x20 box and "
        "centred by its centre of mass, as MNIST). 'auto': on for models fitted "
        "on grey square images (MNIST-style), off for colour or other images. "
        "'off': each file resized to the model's image size (colour models: "
        "read as RGB). A Pipeline that starts with ImageFileReader or "
        "DigitNormalizer gets the paths or the pictures as they are",
    )  # fmt: skip
    pred.add_argument(
        "--deskew", action="store_true",
        help="also straighten the digits' slant, for models trained on deskewed "
        "digits (DigitNormalizer(deskew=True)); needs digit normalisation",
    )  # fmt: skip
    pred.add_argument(
        "--skip-bad", action="store_true",
        help="report files that cannot be read on stderr and go on without them "
        "(default: stop at the first, exit code 3)",
    )  # fmt: skip
    pred.add_argument(
        "--batch-size", type=_positive_int, default=256, metavar="N",
        help="files read and predicted at a time (memory holds one batch)",
    )  # fmt: skip
    output_options(
        pred, None, "also write the predictions to this CSV file: path, label, "
        "probability (and rejected, for a RejectOptionClassifier), then one "
        "column per class (proba_0, proba_1, ...)",
    )  # fmt: skip
    return parser
