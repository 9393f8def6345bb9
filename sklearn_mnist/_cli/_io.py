"""What the commands read and write: data, model files, outputs, progress."""

import contextlib
import os
import pathlib
import stat
import sys

from ._args import EXIT_DATA, EXIT_MODEL, EXIT_OUTPUT, CLIError

__all__ = [
    "Progress",
    "attack_refusal",
    "check_output",
    "check_writable",
    "classifier",
    "load_data",
    "note",
    "output_folder",
    "predicting",
    "read_model",
    "writing",
]

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
# pickle protocol 2+, and joblib's compressed files: zlib, gzip, bz2, xz, lzma
_PICKLE_MAGIC = (b"\x80", b"\x78", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x5d\x00\x00")


class Progress:
    """Stage messages on stderr: a tqdm bar on a terminal (its clock ticking
    during long stages), plain lines ``[k/total] message`` otherwise and with
    --verbose; nothing with --quiet (unless --verbose)."""

    def __init__(self, total, desc, verbose, quiet=False):
        import threading

        from tqdm.auto import tqdm

        self.terminal = sys.stderr.isatty()
        self.verbose, self.count, self.total = verbose, 0, total
        self.quiet = quiet and not verbose
        # stages, not items: no rate or remaining time, the stage as postfix
        self.bar = tqdm(
            total=total, desc=desc, file=sys.stderr,
            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]",
        ) if (self.terminal and not verbose and not self.quiet) else None  # fmt: skip
        self._stop = threading.Event()
        if self.bar is not None:  # tqdm redraws only on updates: keep time moving
            threading.Thread(target=self._tick, daemon=True).start()

    def _tick(self):
        while not self._stop.wait(1.0):
            bar = self.bar
            if bar is None:
                return
            with contextlib.suppress(Exception):
                bar.refresh()

    def __call__(self, message):
        self.count += 1
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(message)
            self.bar.update(1)
        else:
            print(f"[{self.count}/{self.total}] {message}", file=sys.stderr)

    def close(self):
        self._stop.set()
        bar, self.bar = self.bar, None
        if bar is not None:
            bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _article(name):
    """``name`` with its indefinite article: 'an int', 'a dict'."""
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def note(message):
    print(f"sklearn-mnist: {message}", file=sys.stderr)


# ------------------------------------------------------------------ data
def load_data(args, subset):
    """(X, y, target_names) for ``subset`` in {"train", "test"}."""
    from sklearn.model_selection import train_test_split

    from ..datasets import fetch_mnist, load_mnist_sample

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
# Where no file can be written (a pseudo-filesystem, even for root).
_PSEUDO = ("/proc", "/sys", "/dev")


def check_output(path, overwrite, *, folder, inputs=()):
    """Stop before any work (exit code 5) if the output ``path`` cannot be
    written: it exists (unless ``overwrite``; an empty folder is fine for a
    folder), it is of the other kind, a name in it is too long, the folder it
    goes in is under a file, in /proc, /sys or /dev, or not writable."""
    path = pathlib.Path(path)
    what = "folder" if folder else "file"
    _check_names(path)
    if _exists(path):
        if folder and not path.is_dir():
            raise CLIError(f"output {path} exists and is not a folder", EXIT_OUTPUT)
        if not folder and path.is_dir():
            raise CLIError(f"output {path} is a folder, not a file", EXIT_OUTPUT)
        if not (overwrite or (folder and not any(path.iterdir()))):
            raise CLIError(
                f"output {what} {path} exists"
                + (" and is not empty" if folder else "")
                + "; pass --overwrite to replace it or choose another --output",
                EXIT_OUTPUT,
            )
        if folder and overwrite and any(path.iterdir()):
            _check_replaceable(path, inputs)
    check_writable(path)
    return path


#: Files one of the commands writes in a report folder: --overwrite replaces
#: only a folder that holds one (a previous report), never other files.
_REPORT_MARKERS = ("report.json", "attack.json", "adversarial.npy")


def _check_replaceable(path, inputs):
    """--overwrite replaces a whole folder: only a previous report folder,
    not the current folder, home or a folder above them, nor one holding an
    input of the command (exit 5, before any work)."""
    real = path.resolve()
    for place in (pathlib.Path.cwd(), pathlib.Path.home()):
        place = place.resolve()
        if real == place or real in place.parents:
            raise CLIError(
                f"--overwrite would replace {path}, which is or holds {place}; "
                "choose another --output",
                EXIT_OUTPUT,
            )
    for name in inputs:
        if real in pathlib.Path(name).resolve().parents:
            raise CLIError(
                f"--overwrite would replace {path}, which holds the input {name}; "
                "choose another --output",
                EXIT_OUTPUT,
            )
    if not any((path / marker).exists() for marker in _REPORT_MARKERS):
        shown = ", ".join(sorted(p.name for p in path.iterdir())[:5])
        raise CLIError(
            f"output folder {path} holds files that are not a previous report "
            f"({shown}); --overwrite replaces only a report folder: choose "
            "another --output",
            EXIT_OUTPUT,
        )


def _exists(path):
    """``os.path.lexists`` that says False for a name too long to exist."""
    try:
        os.lstat(path)
    except (OSError, ValueError):
        return False
    return True


def _nearest_folder(path):
    """The nearest existing folder (or file) above ``path``, absolute."""
    folder = pathlib.Path(os.path.abspath(path)).parent
    while not _exists(folder) and folder != folder.parent:
        folder = folder.parent
    return folder


def _check_names(path):
    """Stop if a name to create in ``path`` is longer than the file system
    allows (before ``exists()``, which fails on such a name)."""
    folder = _nearest_folder(path)
    try:
        name_max = os.pathconf(folder, "PC_NAME_MAX")
    except (AttributeError, OSError, ValueError):
        name_max = 255
    for part in pathlib.Path(os.path.abspath(path)).relative_to(folder).parts:
        size = len(os.fsencode(part))
        if size > name_max:
            raise CLIError(
                f"cannot write {str(path)[:60]}...: a name in it is {size} bytes "
                f"long; this file system allows at most {name_max}",
                EXIT_OUTPUT,
            )


def check_writable(path):
    """Stop before any work if ``path`` could not be created: a name in it
    is longer than the file system allows, its nearest existing folder is a
    file, in a pseudo-filesystem, or a folder where no file can be created
    (tried: a hidden file is created and removed)."""
    path = pathlib.Path(path)
    _check_names(path)
    folder = _nearest_folder(path)
    if not folder.is_dir():
        raise CLIError(f"cannot write {path}: {folder} is not a folder", EXIT_OUTPUT)
    real = os.path.realpath(folder)
    if any(real == p or real.startswith(p + os.sep) for p in _PSEUDO):
        raise CLIError(
            f"cannot write {path}: {real} is a system folder (/proc, /sys, /dev), "
            "not a place for files",
            EXIT_OUTPUT,
        )
    if not os.access(folder, os.W_OK | os.X_OK) or not _can_create(folder):
        raise CLIError(
            f"cannot write {path}: no permission to create files in {folder}",
            EXIT_OUTPUT,
        )


def _can_create(folder):
    """Whether a file can be created in ``folder`` (root passes
    ``os.access`` everywhere): a hidden file, created and removed."""
    from ..utils import open_temp_beside

    try:
        tmp, fd = open_temp_beside(os.path.join(folder, "probe"), suffix=".probe")
    except OSError:
        return False
    os.close(fd)
    with contextlib.suppress(OSError):
        os.remove(tmp)
    return True


@contextlib.contextmanager
def output_folder(path):
    """The folder to write into: a temporary one beside ``path``, renamed
    into its place (replacing it) only when the block succeeds. Ctrl-C or an
    error leaves ``path`` as it was; no file of a previous output stays."""
    from ..utils import atomic_folder

    with writing(path):
        path.absolute().parent.mkdir(parents=True, exist_ok=True)
        with atomic_folder(path) as tmp:
            yield pathlib.Path(tmp)


@contextlib.contextmanager
def interruptible():
    """Ctrl-C stops the command, even inside a fit or a search.

    The classifiers' ``fit`` lets a Ctrl-C through, but ends training quietly
    on a ``KeyboardInterrupt`` raised in a skorch callback (``EarlyStopping``'s
    way to stop), and a Ctrl-C that arrives while a callback runs looks like
    one: the command would then save or report a half-trained model, or a
    search go on with its next fit. The interrupt is recorded here and raised
    again once the block returns (exit code 130, nothing written).
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    interrupted = []

    def handler(signum, frame):
        interrupted.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        raise KeyboardInterrupt


@contextlib.contextmanager
def writing(path):
    """OSError while writing ``path`` -> exit code 5."""
    try:
        yield
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {exc}", EXIT_OUTPUT) from exc


# ------------------------------------------------------------------ models
def classifier(kind, *, epochs, device, augment, random_state, verbose=0):
    from sklearn.pipeline import make_pipeline

    from ..neural_net import CNNClassifier, MLPNetClassifier
    from ..preprocessing import Normalizer255, RandomAffineAugmenter

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


def read_model(args):
    """The fitted classifier in ``args.model_file``, or CLIError (exit 4)."""
    from sklearn.base import is_classifier
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    from ..persistence import load

    path = pathlib.Path(args.model_file)
    if not path.exists():
        raise CLIError(f"model file not found: {path}", EXIT_MODEL)
    if path.is_dir():
        raise CLIError(f"model file {path} is a folder", EXIT_MODEL)
    if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the read
        raise CLIError(
            f"model file {path} is not a regular file (a FIFO, device or socket)",
            EXIT_MODEL,
        )
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
            f"{path} holds {_article(type(model).__name__)}, not a scikit-learn "
            "classifier",
            EXIT_MODEL,
        )
    if not is_classifier(model):
        raise CLIError(
            f"{path} holds {_article(type(model).__name__)}, which is not a classifier",
            EXIT_MODEL,
        )
    try:
        check_is_fitted(model)
    except NotFittedError:
        raise CLIError(f"the model in {path} is not fitted", EXIT_MODEL) from None
    return model


def attack_refusal(model):
    from ..adversarial import differentiable_model

    try:
        differentiable_model(model)
    except ValueError as exc:
        return str(exc)
    return None


@contextlib.contextmanager
def predicting(path, X):
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
