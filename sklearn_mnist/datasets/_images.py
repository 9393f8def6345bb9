"""A user's own image files as arrays: ``read_image`` and ``load_image_folder``.

Every rule about one file (what may be opened, which formats, the pixel limit,
orientation, transparency, grey or colour, resizing) lives in
:func:`read_image`; :func:`load_image_folder` adds the folder rules (one
sub-folder per class, hidden files, symbolic links) and
:class:`~sklearn_mnist.preprocessing.ImageFileReader` reads lists of paths
with the same function.
"""

import os
import stat
import sys
import warnings
from numbers import Integral

import numpy as np
from sklearn.utils import Bunch

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "ImageFileError",
    "load_image_folder",
    "read_image",
    "read_images",
]

#: Largest image, in pixels, that is decoded unless ``max_pixels`` says
#: otherwise: 8192 x 8192 (a 50-megapixel phone photo fits; 64 MiB decoded as
#: grey, 192 MiB as colour). Checked from the file's header before decoding.
DEFAULT_MAX_PIXELS = 8192 * 8192

#: Pillow formats a file may be decoded as. Others (EPS, which runs
#: Ghostscript, PDF, ICO, ...) are never tried, whatever a file's name says.
#: (Pillow's JPEG reader also opens the MPO files of many phone cameras.)
_FORMATS = ("PNG", "JPEG", "BMP", "DIB", "TIFF", "WEBP", "GIF", "PPM")
_FORMAT_NAMES = "PNG, JPEG, BMP, TIFF, WebP, GIF or PGM/PPM"

#: File-name extensions of the formats above (lower case).
IMAGE_EXTENSIONS = (
    ".bmp",
    ".dib",
    ".gif",
    ".jpe",
    ".jpeg",
    ".jpg",
    ".pbm",
    ".pgm",
    ".png",
    ".pnm",
    ".ppm",
    ".tif",
    ".tiff",
    ".webp",
)

_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N")
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
_MAX_LISTED = 100  # skipped files named in the warning
_O_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


class ImageFileError(ValueError):
    """A file that cannot be read as an image; ``filename`` names it."""

    def __init__(self, filename, reason):
        self.filename = filename
        self.reason = reason
        super().__init__(f"{filename!r}: {reason}")


# ---------------------------------------------------------------- parameters


def check_image_size(size, *, allow_keep=True):
    """``None``, ``"keep"`` or a ``(height, width)`` tuple of positive ints."""
    if size is None or (allow_keep and isinstance(size, str) and size == "keep"):
        return size
    keep = ', "keep"' if allow_keep else ""
    try:
        values = tuple(size)
    except TypeError:
        values = None
    if (
        values is None
        or isinstance(size, str)
        or len(values) != 2
        or not all(
            isinstance(v, Integral) and not isinstance(v, bool) and v >= 1
            for v in values
        )
    ):
        raise ValueError(
            f"size must be None{keep} or (height, width) with two positive "
            f"integers, got {size!r}"
        )
    return tuple(int(v) for v in values)


def _check_choice(name, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def _check_max_pixels(max_pixels):
    if not isinstance(max_pixels, Integral) or isinstance(max_pixels, bool):
        raise ValueError(f"max_pixels must be a positive integer, got {max_pixels!r}")
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be a positive integer, got {max_pixels}")
    return int(max_pixels)


# ------------------------------------------------------------------ one file


def _kind_of(mode):
    for test, kind in (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return kind
    return "not a regular file"


def stat_regular_file(name):
    """``os.stat`` of ``name`` (following links), refusing anything but a file."""
    try:
        info = os.stat(name)
    except FileNotFoundError:
        reason = (
            "is a broken symbolic link"
            if os.path.islink(name)
            else "does not exist"
        )
        raise ImageFileError(name, reason) from None
    except OSError as exc:
        raise ImageFileError(name, f"cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ImageFileError(
            name, f"is {_kind_of(info.st_mode)}, not a regular image file"
        )
    return info


def _flatten_alpha(img):
    """Transparent pixels composited on white paper (the background of a scan)."""
    from PIL import Image

    if img.mode not in _ALPHA_MODES and "transparency" not in img.info:
        return img
    rgba = img.convert("RGBA")
    paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(paper, rgba).convert("RGB")


def _to_mode(img, name, mode):
    """``img`` as an 8-bit Pillow image in ``mode`` ("L" or "RGB")."""
    from PIL import Image

    if img.mode in _SIXTEEN_BIT:
        # Pillow clips 16-bit values to 255 when converting; scale instead.
        wide = np.asarray(img, dtype=np.uint32)
        img = Image.fromarray(((wide * 255 + 32767) // 65535).astype(np.uint8), "L")
    elif img.mode in ("I", "F"):
        raise ImageFileError(
            name,
            f"holds 32-bit {'integer' if img.mode == 'I' else 'float'} pixels, "
            "whose grey scale is not defined; save it with 8 or 16 bits per channel",
        )
    original = img.mode
    try:
        img = _flatten_alpha(img)
        return img if img.mode == mode else img.convert(mode)
    except ValueError:  # e.g. "conversion from LAB to RGB not supported"
        raise ImageFileError(
            name, f"has pixels in Pillow's mode {original!r}, which Pillow cannot "
            f"convert to {mode!r}"
        ) from None


def _signature(f):
    """The format whose magic number starts ``f``, or None."""
    f.seek(0)
    head = f.read(12)
    for fmt, test in (
        ("PNG", lambda h: h.startswith(b"\x89PNG\r\n\x1a\n")),
        ("JPEG", lambda h: h.startswith(b"\xff\xd8\xff")),
        ("GIF", lambda h: h[:6] in (b"GIF87a", b"GIF89a")),
        ("BMP", lambda h: h.startswith(b"BM")),
        ("TIFF", lambda h: h[:4] in (b"II*\0", b"MM\0*")),
        ("WebP", lambda h: h[:4] == b"RIFF" and h[8:12] == b"WEBP"),
    ):
        if test(head):
            return fmt
    return None


def _decode(f, name, size, mode, max_pixels):
    with warnings.catch_warnings():
        # Pillow's warnings (corrupt EXIF, its own pixel limit, palette
        # transparency) are about files this function either reads as
        # documented or refuses with an ImageFileError: not the user's concern
        warnings.simplefilter("ignore")
        return _decode_quietly(f, name, size, mode, max_pixels)


def _decode_quietly(f, name, size, mode, max_pixels):
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        img = Image.open(f, formats=_FORMATS)
    except Image.DecompressionBombError:
        raise ImageFileError(
            name,
            "declares more pixels than Pillow's own limit "
            f"(PIL.Image.MAX_IMAGE_PIXELS = {Image.MAX_IMAGE_PIXELS}); refused as "
            "a possible decompression bomb",
        ) from None
    except UnidentifiedImageError:
        fmt = _signature(f)
        reason = (
            f"starts like a {fmt} file but is truncated or corrupted"
            if fmt
            else f"is not an image file readable as {_FORMAT_NAMES}"
        )
        raise ImageFileError(name, reason) from None
    except Exception as exc:  # Pillow's plugins fail in many ways on bad headers
        raise ImageFileError(
            name, f"is truncated or corrupted ({type(exc).__name__}: {exc})"
        ) from None
    with img:
        width, height = img.size
        if width * height > max_pixels:
            raise ImageFileError(
                name,
                f"declares {width}x{height} = {width * height} pixels, more than "
                f"max_pixels={max_pixels}; refused before decoding as a possible "
                "decompression bomb (pass a larger max_pixels to read it)",
            )
        if width < 1 or height < 1:
            raise ImageFileError(name, f"declares an empty image ({width}x{height})")
        try:
            if size is not None and img.format == "JPEG":
                # decode at 1/2, 1/4 or 1/8 scale when that still covers the
                # target in both directions, whatever the orientation
                side = max(size)
                img.draft(mode if img.mode == "RGB" else None, (side, side))
            img.load()
        except Exception as exc:  # truncated data, bad chunks, codec errors
            raise ImageFileError(
                name,
                "is truncated or corrupted and could not be decoded "
                f"({type(exc).__name__}: {exc})",
            ) from None
        try:
            ImageOps.exif_transpose(img, in_place=True)
        except Exception:  # corrupt EXIF: the pixels are fine, keep them as stored
            pass
        out = _to_mode(img, name, mode)
        if size is not None and out.size != (size[1], size[0]):
            out = out.resize((size[1], size[0]), Image.Resampling.LANCZOS)
        return np.array(out, dtype=np.uint8)


def read_image(path, size=None, mode="L", max_pixels=DEFAULT_MAX_PIXELS):
    """Read one image file into a uint8 array.

    The file must be a regular file (FIFOs, devices and sockets are refused
    from ``os.stat`` without being opened, so nothing can block) in one of
    PNG, JPEG, BMP, TIFF, WebP, GIF (first frame) or PGM/PPM, decided from its
    content, not its name; no other Pillow plugin is ever tried. The image size
    declared in the header is checked against ``max_pixels`` before anything is
    decoded. Then the EXIF orientation is applied, transparent pixels are
    composited on white, 16-bit images are scaled to 8 bits, colour is
    converted to grey (ITU-R 601-2 luma) for ``mode="L"``, and the image is
    resized with Pillow's antialiased Lanczos filter when ``size`` is given.

    Parameters
    ----------
    path : str or path-like
        The file.
    size : (height, width) or None, default=None
        Resize to this size; None keeps the image's own size.
    mode : {"L", "RGB"}, default="L"
        ``"L"``: grey, an array ``(h, w)``; ``"RGB"``: colour, ``(h, w, 3)``.
    max_pixels : int, default=DEFAULT_MAX_PIXELS
        Largest width * height accepted (8192 * 8192 by default).

    Returns
    -------
    image : ndarray of uint8, shape (h, w) or (h, w, 3)

    Raises
    ------
    ImageFileError
        A ``ValueError`` naming the file, for a file that is missing, not a
        regular file, not an image in the formats above, truncated or
        corrupted, larger than ``max_pixels``, or holds 32-bit pixels.
    """
    size = check_image_size(size, allow_keep=False)
    mode = _check_choice("mode", mode, {"L", "RGB"})
    max_pixels = _check_max_pixels(max_pixels)
    name = os.fspath(path)
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    stat_regular_file(name)
    try:
        fd = os.open(name, _O_FLAGS)
    except OSError as exc:
        raise ImageFileError(name, f"cannot be opened: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        # the file may have been replaced since os.stat: check what was opened
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ImageFileError(
                name, f"is {_kind_of(info.st_mode)}, not a regular image file"
            )
        return _decode(f, name, size, mode, max_pixels)


# ------------------------------------------------------------- many files


def _progress(items, verbose, total=None):
    if not verbose:
        return items
    from tqdm import tqdm

    return tqdm(items, total=total, desc="Reading images", unit="img", file=sys.stderr)


def read_images(
    filenames,
    *,
    size=None,
    mode="L",
    max_pixels=DEFAULT_MAX_PIXELS,
    on_error="raise",
    verbose=0,
):
    """Read files with :func:`read_image`, one at a time, into one array.

    Returns ``(images, kept, skipped)``: ``images`` is ``(n, h, w[, 3])``
    uint8, filled in place (preallocated from ``size`` or from the first
    image's size), or a 1-D object array of arrays for ``size="keep"``;
    ``kept`` the indices of the files read, ``skipped`` a list of
    ``(filename, reason)`` (always empty with ``on_error="raise"``).
    A size other than the first image's with ``size=None`` raises whatever
    ``on_error`` says: it is a property of the set, not of one bad file.
    """
    filenames = list(filenames)
    n = len(filenames)
    extra = (3,) if mode == "RGB" else ()
    images = None
    if isinstance(size, tuple):
        images = np.empty((n, *size, *extra), dtype=np.uint8)
    kept_images = [] if size == "keep" else None
    kept, skipped = [], []
    first = None
    for i, name in enumerate(_progress(filenames, verbose)):
        try:
            image = read_image(
                name, None if size == "keep" else size, mode, max_pixels
            )
        except ImageFileError as exc:
            if on_error == "raise":
                raise
            skipped.append((exc.filename, exc.reason))
            continue
        if kept_images is not None:
            kept_images.append(image)
        else:
            if images is None:
                images = np.empty((n, *image.shape), dtype=np.uint8)
                first = name
            elif image.shape != images.shape[1:]:
                h, w = image.shape[:2]
                raise ValueError(
                    f"{os.fspath(name)!r} is {h}x{w} (height x width) but "
                    f"{os.fspath(first)!r} is {images.shape[1]}x{images.shape[2]}; "
                    "with size=None every image must have the same size. Pass "
                    "size=(height, width) to resize them all (e.g. size=(28, 28)), "
                    'or size="keep" to keep each one\'s own size'
                )
            images[len(kept)] = image
        kept.append(i)
    if kept_images is not None:
        images = np.empty(len(kept_images), dtype=object)
        for j, image in enumerate(kept_images):
            images[j] = image
    elif images is None:
        images = np.empty((0, *(size or (0, 0)), *extra), dtype=np.uint8)
    elif len(kept) < n:
        images.resize((len(kept), *images.shape[1:]), refcheck=False)
    return images, np.asarray(kept, dtype=np.intp), skipped


def skipped_warning(skipped, what):
    """One ``UserWarning`` naming every skipped file (the first 100) and why."""
    lines = [f"  {name!r}: {reason}" for name, reason in skipped[:_MAX_LISTED]]
    if len(skipped) > _MAX_LISTED:
        lines.append(f"  ... and {len(skipped) - _MAX_LISTED} more")
    warnings.warn(
        f"{what} skipped {len(skipped)} file(s) it could not read:\n"
        + "\n".join(lines),
        UserWarning,
        stacklevel=3,
    )


# ------------------------------------------------------------------ a folder


def _hidden(name):
    return name.startswith(".")


def _inside(real, root_real):
    try:
        return os.path.commonpath([real, root_real]) == root_real
    except ValueError:  # different drives on Windows
        return False


def _check_extensions(extensions):
    if extensions is None:
        return None
    if isinstance(extensions, str):
        extensions = [extensions]
    out = set()
    for ext in extensions:
        if not isinstance(ext, str) or not ext.strip("."):
            raise ValueError(
                f"extensions must be file-name extensions such as '.png', got {ext!r}"
            )
        out.add("." + ext.lower().lstrip("."))
    return out


class ImageScan:
    """The image files under one class folder, in sorted order."""

    def __init__(self, root_real, extensions, on_error):
        self.root_real = root_real
        self.extensions = extensions
        self.on_error = on_error
        self.skipped = []
        self.visited = set()

    def bad(self, name, reason):
        if self.on_error == "raise":
            raise ImageFileError(name, reason)
        self.skipped.append((name, reason))

    def files(self, folder):
        """Regular files (after the rules) under ``folder``, recursively."""
        real = os.path.realpath(folder)
        if real in self.visited:  # a link back to a folder already read
            return []
        self.visited.add(real)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            self.bad(folder, f"folder cannot be listed: {exc.strerror}")
            return []
        found = []
        for entry, is_dir in _visible(entries):
            if (
                not is_dir
                and self.extensions is not None
                and os.path.splitext(entry.name)[1].lower() not in self.extensions
            ):
                continue
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if not _inside(target, self.root_real):
                    self.bad(
                        entry.path,
                        f"is a symbolic link to {target!r}, outside the folder "
                        f"{self.root_real!r}; refused",
                    )
                    continue
            if is_dir:
                found.extend(self.files(entry.path))
                continue
            try:
                stat_regular_file(entry.path)
            except ImageFileError as exc:
                self.bad(exc.filename, exc.reason)
                continue
            found.append(entry.path)
        return found


def _visible(entries):
    """``(entry, is_dir)`` of the directory entries that are not hidden (an
    entry whose type cannot be read counts as a file)."""
    for entry in entries:
        if _hidden(entry.name):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        yield entry, is_dir


def _class_folders(root, root_real, on_error, scan):
    try:
        with os.scandir(root) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        raise ValueError(f"cannot list the folder {root!r}: {exc.strerror}") from None
    folders, loose = [], 0
    for entry, is_dir in _visible(entries):
        if not is_dir:
            loose += 1
            continue
        if entry.is_symlink():
            target = os.path.realpath(entry.path)
            if not _inside(target, root_real):
                scan.bad(
                    entry.path,
                    f"is a symbolic link to {target!r}, outside the folder "
                    f"{root_real!r}; refused",
                )
                continue
        folders.append(entry)
    if not folders:
        note = (
            f" ({loose} file(s) directly inside it are not read: move them into a "
            "sub-folder named after their class)"
            if loose
            else ""
        )
        raise ValueError(
            f"{root!r} has no class sub-folders{note}; load_image_folder expects "
            "one sub-folder per class, e.g. digits/0/*.png, digits/1/*.png, ..."
        )
    return folders


_DESCR = """\
.. _image_folder_dataset:

Images from a folder
--------------------

:Folder: {root}
:Number of Instances: {n}
:Classes: {n_classes} ({classes})
:Image size: {shape}
:Mode: {mode}

Read by ``sklearn_mnist.load_image_folder``: one sub-folder per class, classes
in sorted order of the folder names (``target`` holds their index in
``target_names``), files in sorted order within each class.
"""


def load_image_folder(
    path,
    *,
    size=None,
    mode="L",
    on_error="raise",
    extensions=None,
    max_pixels=DEFAULT_MAX_PIXELS,
    return_X_y=False,
    verbose=0,
):
    """Load a folder of image files, one sub-folder per class.

    Like :func:`sklearn.datasets.load_files`, for images: ``path/<class>/<file>``,
    classes in sorted order of their folder names. Files are read one at a
    time with :func:`read_image` (Pillow; PNG, JPEG, BMP, TIFF, WebP, GIF's
    first frame, PGM/PPM, decided from the content), EXIF orientation applied,
    transparency composited on white, into one preallocated array when the
    size is known, so memory is what the kept images take.

    Folder rules: hidden entries (names starting with ``.``) are ignored, and
    so are files directly in ``path`` (not in a class folder); files in
    nested folders of a class folder belong to that class; symbolic links
    are followed only when they point inside ``path``; FIFOs, devices and
    sockets are refused without being opened.

    Parameters
    ----------
    path : str or path-like
        The folder.
    size : (height, width), None or "keep", default=None
        ``(height, width)``: every image resized to it (Pillow's antialiased
        Lanczos filter). None: every image must already have the same size
        (a ``ValueError`` names the first that does not). ``"keep"``: every
        image keeps its own size; ``images`` is then a 1-D object array of
        uint8 arrays and ``data`` is None (the form
        :class:`~sklearn_mnist.preprocessing.DigitNormalizer` accepts).
    mode : {"L", "RGB"}, default="L"
        ``"L"``: grey images ``(n, h, w)`` (colour converted with ITU-R 601-2
        luma); ``"RGB"``: colour ``(n, h, w, 3)``.
    on_error : {"raise", "skip"}, default="raise"
        What to do with a file that cannot be read (not an image, truncated or
        corrupted, not a regular file, a symbolic link out of ``path``, more
        than ``max_pixels``): ``"raise"`` a ``ValueError`` naming it, or
        ``"skip"`` it, with one ``UserWarning`` listing every skipped file.
        Folder-level problems (no class folder, a class with no image,
        mixed sizes with ``size=None``) raise either way.
    extensions : list of str or None, default=None
        Read only files with these extensions (case-insensitive, e.g.
        ``[".png", ".jpg"]``); others are ignored. None reads every
        non-hidden file, so a stray non-image file is reported, not silently
        left out.
    max_pixels : int, default=DEFAULT_MAX_PIXELS
        Largest width * height read (8192 * 8192), checked from each file's
        header before decoding: a larger image is refused as a possible
        decompression bomb.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    verbose : int, default=0
        If > 0, a progress bar (tqdm) on stderr.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``images``: uint8 ``(n, h, w)`` or ``(n, h, w, 3)`` (object array for
        ``size="keep"``); ``data``: the same images as flat rows ``(n, h*w)``
        (a view of ``images``), None for ``size="keep"``; ``target``: int64
        class indices; ``target_names``: the class folder names, sorted;
        ``filenames``: the files read, as str; ``DESCR``.
    (data, target) : tuple if ``return_X_y`` is True
        With ``size="keep"``, ``data`` is the object array of images.

    Raises
    ------
    ValueError
        Naming the file or folder: ``path`` missing or not a folder, no class
        folder, a class folder without images, an unreadable file (with
        ``on_error="raise"``), images of different sizes with ``size=None``,
        or nothing left after skipping.

    See Also
    --------
    sklearn_mnist.preprocessing.ImageFileReader : the same reading as a
        transformer, from a list of paths, for a Pipeline.
    sklearn.datasets.load_files : the same layout, for text files.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from sklearn_mnist.datasets import load_image_folder
    >>> root = tempfile.mkdtemp()
    >>> for label in ("cat", "dog"):
    ...     os.mkdir(os.path.join(root, label))
    ...     for i in range(3):
    ...         pixels = np.full((40, 30), 255, dtype=np.uint8)
    ...         Image.fromarray(pixels).save(os.path.join(root, label, f"{i}.png"))
    >>> digits = load_image_folder(root, size=(28, 28))
    >>> digits.images.shape, digits.data.shape, digits.target.tolist()
    ((6, 28, 28), (6, 784), [0, 0, 0, 1, 1, 1])
    >>> digits.target_names
    ['cat', 'dog']
    """
    size = check_image_size(size)
    mode = _check_choice("mode", mode, {"L", "RGB"})
    on_error = _check_choice("on_error", on_error, {"raise", "skip"})
    exts = _check_extensions(extensions)
    max_pixels = _check_max_pixels(max_pixels)
    if not isinstance(verbose, Integral) or verbose < 0:
        raise ValueError(f"verbose must be a non-negative integer, got {verbose!r}")
    root = os.fspath(path)
    if isinstance(root, bytes):
        root = os.fsdecode(root)
    if not os.path.exists(root):
        raise ValueError(f"The folder {root!r} does not exist")
    if not os.path.isdir(root):
        raise ValueError(
            f"{root!r} is not a folder; load_image_folder expects a folder with "
            "one sub-folder per class (to read single files, use "
            "sklearn_mnist.preprocessing.ImageFileReader)"
        )
    root_real = os.path.realpath(root)
    scan = ImageScan(root_real, exts, on_error)
    target_names, filenames, target = [], [], []
    for folder in _class_folders(root, root_real, on_error, scan):
        scan.visited.clear()  # links may repeat folders of other classes, not loop
        found = scan.files(folder.path)
        if not found:
            which = (
                f" with an extension in {sorted(exts)}" if exts is not None else ""
            )
            raise ValueError(
                f"The class folder {folder.path!r} holds no image files{which} "
                "(hidden files are ignored); remove it or put its images in it"
            )
        filenames.extend(found)
        target.extend([len(target_names)] * len(found))
        target_names.append(folder.name)

    images, kept, skipped = read_images(
        filenames,
        size=size,
        mode=mode,
        max_pixels=max_pixels,
        on_error=on_error,
        verbose=verbose,
    )
    skipped = scan.skipped + skipped
    if skipped:
        skipped_warning(skipped, "load_image_folder")
    if not len(kept):
        raise ValueError(
            f"No image in {root!r} could be read: all {len(skipped)} file(s) "
            "were skipped (see the warning)"
        )
    target = np.asarray(target, dtype=np.int64)[kept]
    filenames = np.asarray(filenames, dtype=str)[kept]
    empty = sorted(set(range(len(target_names))) - set(target.tolist()))
    if empty:
        raise ValueError(
            f"No image of the class folder(s) {[target_names[i] for i in empty]} "
            f"in {root!r} could be read (all skipped, see the warning)"
        )
    data = None if size == "keep" else images.reshape(len(images), -1)
    if return_X_y:
        return (images if data is None else data), target
    shape = (
        "each image's own (size='keep')"
        if data is None
        else " x ".join(map(str, images.shape[1:]))
    )
    descr = _DESCR.format(
        root=root,
        n=len(images),
        n_classes=len(target_names),
        classes=", ".join(target_names),
        shape=shape,
        mode="grey (L)" if mode == "L" else "colour (RGB)",
    )
    return Bunch(
        images=images,
        data=data,
        target=target,
        target_names=target_names,
        filenames=filenames,
        DESCR=descr,
    )
