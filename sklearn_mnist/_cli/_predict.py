"""``sklearn-mnist predict``: image files in, one line per file out.

``gather`` lists the files of the PATHs (the folder rules of
:func:`~sklearn_mnist.datasets.load_image_folder`); ``plan`` reads from the
fitted model what it takes (paths, pictures, or images of its size, grey or
colour, in its layout and pixel scale) and how each file becomes one sample;
``Predictions`` reads, predicts and writes one batch at a time, so memory
holds one batch of images whatever the number of files.
"""

import csv
import io
import os
import sys
from dataclasses import dataclass

import numpy as np

from ._args import EXIT_DATA, EXIT_MODEL, EXIT_USAGE, CLIError

__all__ = [
    "CSVRows",
    "Predictions",
    "gather",
    "no_image_error",
    "plan",
    "silence_stdout",
    "write_lines",
]


def _file_error(exc):
    return CLIError(f"{exc.filename}: {exc.reason}", EXIT_DATA)


# ------------------------------------------------------------------ files
def gather(paths, *, skip_bad, skipped):
    """The files to read, in order: each PATH that is not a folder as given,
    each folder's image files (by extension) recursively and sorted.

    Missing paths, FIFOs, devices and links out of a folder raise a CLIError
    (exit 3), or are passed to ``skipped(filename, reason)`` with
    ``skip_bad``; whether a file holds an image is found when it is read.
    """
    from ..datasets import (
        IMAGE_EXTENSIONS,
        ImageFileError,
        ImageScan,
        stat_regular_file,
    )

    files = []
    for path in paths:
        try:
            if os.path.isdir(path):
                scan = ImageScan(
                    os.path.realpath(path),
                    set(IMAGE_EXTENSIONS),
                    "skip" if skip_bad else "raise",
                )
                files.extend(scan.files(path))
                for name, reason in scan.skipped:
                    skipped(name, reason)
            else:
                stat_regular_file(path)
                files.append(path)
        except ImageFileError as exc:
            if not skip_bad:
                raise _file_error(exc) from None
            skipped(exc.filename, exc.reason)
    return files


def no_image_error(paths, n_skipped):
    """The error for PATHs that gave no file to read (exit 3)."""
    shown = ", ".join(paths[:3]) + (
        f" and {len(paths) - 3} more" if len(paths) > 3 else ""
    )
    if n_skipped:
        return CLIError(
            f"no image file could be read in {shown}: all {n_skipped} were skipped",
            EXIT_DATA,
        )
    return CLIError(
        f"no image file found in {shown}: folders are searched recursively for "
        "files named *.png, *.jpg, *.jpeg, *.bmp, *.tif, *.tiff, *.webp, *.gif, "
        "*.pgm (and the other PGM/PPM names); hidden files are skipped",
        EXIT_DATA,
    )


# ------------------------------------------------------------------ the model
def _passthrough(step):
    return step is None or (isinstance(step, str) and step == "passthrough")


def _chain(estimator):
    """The estimators an input goes through, in order: Pipelines flattened,
    a search's ``best_estimator_``, a wrapper's ``estimator_``
    (RejectOptionClassifier) and an ensemble's first member looked into."""
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        out = []
        for _, step in estimator.steps:
            if not _passthrough(step):
                out.extend(_chain(step))
        return out
    for attr in ("best_estimator_", "estimator_"):
        inner = getattr(estimator, attr, None)
        if inner is not None and hasattr(inner, "get_params"):
            return _chain(inner)
    members = getattr(estimator, "estimators_", None)
    if isinstance(members, list) and members and hasattr(members[0], "get_params"):
        return _chain(members[0])
    return [estimator]


@dataclass
class _Form:
    """The images a model takes: ``channels`` x ``height`` x ``width``, one
    sample of shape ``raw`` in ``order`` ("hw", "chw", "hwc", "flat_chw",
    "flat_hwc"), pixels in ``low..high``."""

    channels: int
    height: int
    width: int
    order: str
    low: float = 0.0
    high: float = 255.0

    def to_input(self, batch):
        """``batch`` (n, h, w) or (n, h, w, 3), grey levels 0..255, as the
        model's input."""
        X = np.asarray(batch, dtype=np.float32)
        if (self.low, self.high) != (0.0, 255.0):
            X = self.low + X * np.float32((self.high - self.low) / 255.0)
        X = X.astype(np.float32, copy=False)
        colour = X.ndim == 4
        if self.order == "hw":
            return X
        if self.order in ("chw", "flat_chw"):
            X = np.moveaxis(X, -1, 1) if colour else X[:, None]
        elif self.order == "hwc" and not colour:
            X = X[..., None]
        if self.order.startswith("flat"):
            X = X.reshape(len(X), -1)
        return np.ascontiguousarray(X)


def _form(model, chain, where):
    """The ``_Form`` of the images ``model`` was fitted on, or a CLIError."""
    from ..preprocessing import Flatten, Normalizer255

    clf = chain[-1]
    image_shape = getattr(clf, "image_shape_", None)
    last = getattr(clf, "input_layout_", None) == "channels_last"
    raw = next(
        (
            tuple(step.image_shape_)
            for step in chain[:-1]
            if isinstance(step, Flatten) and hasattr(step, "image_shape_")
        ),
        None,
    )
    if raw is None and image_shape is not None:
        raw = getattr(clf, "input_shape_", None)
        if raw is None:  # fitted by a version that did not record it
            c, h, w = image_shape
            raw = (h, w, c) if last else (c, h, w)
    if raw is None and getattr(model, "n_features_in_", None) is not None:
        raw = (model.n_features_in_,)
    raw = tuple(int(d) for d in raw) if raw is not None else None
    cannot = f"cannot tell which images the model in {where} takes"
    if raw is None:
        raise CLIError(f"{cannot}: it records no input shape", EXIT_MODEL)
    shape = tuple(int(d) for d in image_shape) if image_shape is not None else None
    if len(raw) == 2:
        c, (h, w), order = 1, raw, "hw"
    elif len(raw) == 3:
        if shape is not None and (shape == raw or shape[1:] + shape[:1] == raw):
            first = shape == raw and not (shape[1:] + shape[:1] == raw and last)
            c, h, w = shape
        elif raw[0] in (1, 3):
            first, (c, h, w) = True, raw
        elif raw[-1] in (1, 3):
            first, (h, w, c) = False, raw
        else:
            raise CLIError(f"{cannot}: samples of shape {raw}", EXIT_MODEL)
        order = "chw" if first else "hwc"
    elif len(raw) == 1:
        n = raw[0]
        side = int(round(n**0.5))
        if shape is not None and int(np.prod(shape)) == n:
            c, h, w = shape
            order = "flat_hwc" if last and c > 1 else "flat_chw"
        elif side * side == n:
            c, h, w, order = 1, side, side, "flat_chw"
        else:
            raise CLIError(
                f"{cannot}: it takes rows of {n} values, not a square image "
                "(a Pipeline starting with Flatten() records the image shape)",
                EXIT_MODEL,
            )
    else:
        raise CLIError(f"{cannot}: samples of shape {raw}", EXIT_MODEL)
    if c not in (1, 3):
        raise CLIError(
            f"the model in {where} takes images with {c} channels; predict reads "
            "grey (1 channel) or colour (3 channels) images",
            EXIT_MODEL,
        )
    low, high = 0.0, 255.0
    if not any(isinstance(step, Normalizer255) for step in chain[:-1]):
        fitted = getattr(clf, "input_range_", None)
        if fitted is not None:
            low, high = (float(v) for v in fitted)
    return _Form(c, h, w, order, low, high)


@dataclass
class Plan:
    """How each file becomes a sample (``read``), what predicts a batch of
    them (``model``), and what that is in words (``what``)."""

    read: object
    model: object
    what: str
    form: _Form | None = None  # the CLI prepares the images: their form
    paths_in_batch: bool = False  # the model reads the files (a wrapped reader)


def _leading(model, kinds):
    """How many of a Pipeline's first steps are of ``kinds``."""
    k = 0
    for _, step in model.steps[:-1]:
        if not (_passthrough(step) or isinstance(step, kinds)):
            break
        k += 1
    return k


def _no_ink_noted(transform, path):
    """``transform()``, with DigitNormalizer's warning about a picture without
    ink turned into one stderr line that names the file (the warning itself
    can only name a row of a batch)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = transform()
    for warning in caught:
        if "have no ink" in str(warning.message):
            print(
                f"sklearn-mnist: warning: {path}: no ink found (a blank picture?); "
                "the model still answers for it",
                file=sys.stderr,
            )
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return out


def plan(model, args):
    """The ``Plan`` for ``model`` and the options; CLIError for options the
    model cannot honour (exit 2) or a model that takes no images (exit 4)."""
    from sklearn.pipeline import Pipeline

    from ..datasets import read_image
    from ..preprocessing import DigitNormalizer, ImageFileReader

    where = args.model_file
    chain = _chain(model)
    first = chain[0]
    if isinstance(first, ImageFileReader | DigitNormalizer):
        reader = isinstance(first, ImageFileReader)
        if args.normalize != "auto" or args.deskew:
            option = "--deskew" if args.deskew else f"--normalize {args.normalize}"
            raise CLIError(
                f"{option} does not apply: the model in {where} starts with "
                f"{type(first).__name__}, which "
                + ("reads the files itself, so it gets the paths"
                   if reader else "normalises the digits itself, so it gets the "
                   "pictures")
                + " as they are",
                EXIT_USAGE,
            )  # fmt: skip
        what = "paths to its ImageFileReader" if reader else (
            "pictures to its DigitNormalizer"
        )  # fmt: skip

        def picture(path):
            return read_image(path, mode="L")

        head = (
            _leading(model, (ImageFileReader, DigitNormalizer))
            if isinstance(model, Pipeline)
            else 0
        )
        if head:  # its first steps one file at a time: one picture in memory
            front = model[:head]
            if reader:

                def first_steps(path):
                    return front.transform([path])[0]

            else:

                def first_steps(path):
                    return front.transform([picture(path)])[0]

            return Plan(
                lambda path: _no_ink_noted(lambda: first_steps(path), path),
                model[head:],
                what,
            )
        if reader:
            return Plan(lambda path: path, model, what, paths_in_batch=True)
        return Plan(picture, model, what)

    form = _form(model, chain, where)
    square_grey = form.channels == 1 and form.height == form.width
    normalize = args.normalize
    if normalize == "auto":
        normalize = "on" if square_grey else "off"
    size = f"{form.height}x{form.width}"
    if normalize == "on" and not square_grey:
        kind = "colour" if form.channels == 3 else "grey but not square"
        raise CLIError(
            f"--normalize on does not apply: digit normalisation makes grey square "
            f"images, and the model in {where} takes {size} images that are {kind}",
            EXIT_USAGE,
        )
    if args.deskew and normalize == "off":
        kind = "colour" if form.channels == 3 else "grey"
        why = "--normalize off" if args.normalize == "off" else f"{size} {kind} model"
        raise CLIError(
            f"--deskew needs digit normalisation, which is off ({why})", EXIT_USAGE
        )
    if normalize == "on":
        normalizer = DigitNormalizer(
            size=form.height,
            box=max(1, round(form.height * 20 / 28)),
            deskew=args.deskew,
        )

        def read(path):
            return _no_ink_noted(
                lambda: normalizer.transform([read_image(path, mode="L")])[0], path
            )

        what = f"digit normalisation on ({normalizer!r}), {size} grey images"
    else:
        mode = "RGB" if form.channels == 3 else "L"

        def read(path):
            return read_image(path, size=(form.height, form.width), mode=mode)

        what = f"no digit normalisation, files resized to {size} " + (
            "colour (RGB)" if mode == "RGB" else "grey"
        )
    if (form.low, form.high) != (0.0, 255.0):
        what += f", pixels scaled to {form.low:g}..{form.high:g}"
    return Plan(read, model, what, form=form)


# ------------------------------------------------------------------ predictions
def _stack(samples):
    """One batch: a stacked array, or a 1-D object array of pictures of
    different sizes (what ImageFileReader(size="keep") gives)."""
    shapes = {np.shape(s) for s in samples}
    if len(shapes) == 1:
        return np.stack(samples)
    out = np.empty(len(samples), dtype=object)
    for i, sample in enumerate(samples):
        out[i] = sample
    return out


def _final(model):
    """``(transform, final)``: a Pipeline's steps before its last, applied
    once per batch (so predict and predict_proba do not read twice)."""
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline) and len(model.steps) > 1:
        return model[:-1].transform, model.steps[-1][1]
    return (lambda X: X), model


class Predictions:
    """Reads files, predicts and writes lines and CSV rows, batch by batch."""

    def __init__(self, plan, where, *, skip_bad, skipped):
        from ..reject import RejectOptionClassifier

        self.plan, self.where = plan, where
        self.skip_bad, self.skipped = skip_bad, skipped
        self.transform, self.final = _final(plan.model)
        self.reject = isinstance(self.final, RejectOptionClassifier)
        self.proba = hasattr(self.final, "predict_proba")
        classes = getattr(self.final, "classes_", None)
        self.classes = [] if classes is None else np.asarray(classes).tolist()
        self.index = {}
        for i, label in enumerate(self.classes):
            self.index.setdefault(label, i)

    def header(self):
        return (
            ["path", "label", "probability"]
            + (["rejected"] if self.reject else [])
            + ([f"proba_{label}" for label in self.classes] if self.proba else [])
        )

    def _samples(self, files):
        from ..datasets import ImageFileError

        names, samples = [], []
        for name in files:
            try:
                samples.append(self.plan.read(name))
            except ImageFileError as exc:
                if not self.skip_bad:
                    raise _file_error(exc) from None
                self.skipped(exc.filename, exc.reason)
                continue
            except ValueError as exc:  # the model's first steps refused it
                raise CLIError(
                    f"the model in {self.where} cannot take {name} (as "
                    f"{self.plan.what}): {str(exc).rstrip('.')}",
                    EXIT_MODEL,
                ) from exc
            names.append(name)
        return names, samples

    def _predict(self, X):
        Xt = self.transform(X)
        labels = np.asarray(self.final.predict(Xt))
        proba = np.asarray(self.final.predict_proba(Xt)) if self.proba else None
        return labels, proba

    def batch(self, files):
        """``(names, labels, proba)`` for the files of one batch that could
        be read (all of them without ``skip_bad``)."""
        from ..datasets import ImageFileError

        names, samples = self._samples(files)
        while names:
            X = list(samples) if self.plan.paths_in_batch else _stack(samples)
            if self.plan.form is not None:
                X = self.plan.form.to_input(X)
            try:
                return (names, *self._predict(X))
            except ImageFileError as exc:  # read by the model itself
                if not self.skip_bad or exc.filename not in names:
                    raise _file_error(exc) from None
                self.skipped(exc.filename, exc.reason)
                i = names.index(exc.filename)
                del names[i], samples[i]
            except ValueError as exc:
                shape = getattr(X, "shape", (len(X),))
                raise CLIError(
                    f"the model in {self.where} cannot predict from the images "
                    f"(a batch of shape {shape}, read as {self.plan.what}): "
                    f"{str(exc).rstrip('.')}",
                    EXIT_MODEL,
                ) from exc
        return [], None, None

    def rows(self, names, labels, proba):
        """``(lines, csv_rows)`` of one batch."""
        lines, rows = [], []
        for i, (name, label) in enumerate(zip(names, labels.tolist(), strict=True)):
            rejected = self.reject and label == self.final.reject_label
            if proba is None:
                p, shown, values = None, "-", []
            else:
                if rejected or label not in self.index:
                    p = proba[i].max()
                else:
                    p = proba[i, self.index[label]]
                shown, values = f"{p:.4f}", [f"{v:.6g}" for v in proba[i]]
            lines.append(f"{'rejected' if rejected else label}\t{shown}\t{name}\n")
            rows.append(
                [name, label, "" if p is None else f"{p:.6g}"]
                + ([rejected] if self.reject else [])
                + values
            )
        return lines, rows


class CSVRows:
    """CSV rows into a binary file object (from ``atomic_write``)."""

    def __init__(self, raw):
        self.text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        self.writer = csv.writer(self.text)

    def write(self, rows):
        self.writer.writerows(rows)

    def close(self):
        self.text.detach()  # flushes; atomic_write closes the file


def silence_stdout():
    """After a broken pipe: stdout to the null device, so that Python's last
    flush at exit does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # not a real file (captured): nothing to do
        pass


def write_lines(lines, bar):
    """Lines on stdout, around the progress bar when both are a terminal."""
    text = "".join(lines)
    if bar is not None and sys.stdout.isatty():
        bar.write(text.rstrip("\n"), file=sys.stdout)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
