"""Reading and writing IDX files, the format MNIST is distributed in.

An IDX file is a 4-byte magic number ``0x00 0x00 <dtype code> <ndim>``, then
``ndim`` big-endian uint32 dimension sizes, then the values in C order and
big-endian byte order. Files may be gzip-compressed.
"""

import gzip
import math
import os
import stat
import struct
import zlib

import numpy as np

__all__ = ["load_idx", "save_idx"]

# IDX type code -> NumPy dtype (big-endian where it matters).
_CODE_TO_DTYPE = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_KIND_SIZE_TO_CODE = {(d.kind, d.itemsize): code for code, d in _CODE_TO_DTYPE.items()}
_GZIP_MAGIC = b"\x1f\x8b"
# Deflate expands its input at most 1032:1 (a 258-byte match coded in 2 bits), so
# a gzip file of n bytes, headers included, inflates to at most 1032 * n bytes.
_MAX_INFLATE_RATIO = 1032
# Bytes read (and, for gzip, inflated) per call: bounds the temporary copies.
_CHUNK = 1 << 20


def _read_up_to(f, n):
    """``n`` bytes from ``f``, fewer only where the stream ends."""
    parts, got = [], 0
    while got < n:
        part = f.read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _read_into(f, view):
    """Fill ``view`` from ``f`` chunk by chunk; the number of bytes read."""
    got = 0
    while got < len(view):
        n = f.readinto(view[got : got + _CHUNK])
        if not n:
            break
        got += n
    return got


def _read_idx(f, name, file_size, compressed):
    """Parse the IDX stream ``f``, reading no more than its header declares + 1.

    ``file_size`` is the size of the file on disk (None if unknown, e.g. a pipe);
    ``compressed`` says whether ``f`` inflates a gzip file of that size. Every
    check that can be made from the header is made before the data are allocated.
    """
    has = "the decompressed file has" if compressed else "the file has"
    magic = _read_up_to(f, 4)
    if len(magic) < 4:
        raise ValueError(
            f"{name}: truncated IDX file: expected at least a 4-byte magic number, "
            f"got {len(magic)} bytes"
        )
    code, ndim = magic[2], magic[3]
    if magic[:2] != b"\x00\x00" or code not in _CODE_TO_DTYPE or ndim == 0:
        raise ValueError(
            f"{name}: wrong magic number 0x{magic.hex()}: expected "
            "0x0000TTDD with type code TT in "
            f"{sorted(hex(c) for c in _CODE_TO_DTYPE)} and DD >= 1 dimensions"
        )
    header_len = 4 + 4 * ndim
    dims = _read_up_to(f, 4 * ndim)
    if len(dims) < 4 * ndim:
        raise ValueError(
            f"{name}: truncated IDX header: {ndim} dimensions need "
            f"{header_len} header bytes, {has} {4 + len(dims)}"
        )
    shape = struct.unpack(f">{ndim}I", dims)
    dtype = _CODE_TO_DTYPE[code]
    # Python ints: 2**32 - 1 per dimension, up to 255 dimensions, no overflow.
    nbytes = math.prod(shape) * dtype.itemsize
    expected = header_len + nbytes
    declares = f"header declares shape {shape} of {dtype.name}"
    if file_size is not None and not compressed:
        if file_size < expected:
            raise ValueError(
                f"{name}: truncated IDX data (or corrupted header): {declares}, "
                f"which needs {expected} bytes, the file has {file_size}"
            )
        if file_size > expected:
            raise ValueError(
                f"{name}: {file_size - expected} bytes of trailing garbage after "
                f"the data declared by the header (shape {shape}, {dtype.name})"
            )
    if file_size is not None and compressed:
        limit = _MAX_INFLATE_RATIO * file_size
        if expected > limit:
            raise ValueError(
                f"{name}: truncated IDX data or corrupted header: {declares}, which "
                f"needs {expected} bytes, but a gzip file of {file_size} bytes "
                f"inflates to at most {limit} ({_MAX_INFLATE_RATIO}:1)"
            )
    # NumPy's limit applies to the product of the nonzero dimensions, so even
    # an empty array can have an unrepresentable shape.
    span = math.prod(d for d in shape if d) * dtype.itemsize
    if span > np.iinfo(np.intp).max:
        raise ValueError(
            f"{name}: {declares}, which NumPy cannot represent: its nonzero "
            f"dimensions span {span} bytes, more than {np.iinfo(np.intp).max}"
        )

    native = dtype.newbyteorder("=")
    array = np.empty(shape, dtype=native)
    got = _read_into(f, memoryview(array.reshape(-1).view(np.uint8)))
    if got < nbytes:
        raise ValueError(
            f"{name}: truncated IDX data: {declares}, which needs {expected} "
            f"bytes, {has} {header_len + got}"
        )
    if f.read(1):
        raise ValueError(
            f"{name}: trailing garbage after the {expected} bytes declared by the "
            f"header (shape {shape}, {dtype.name})"
            + ("; the rest was not decompressed" if compressed else "")
        )
    if dtype != native:
        array.byteswap(inplace=True)
    return array


def load_idx(path):
    """Read one IDX file, gzip-compressed or raw.

    The file is streamed: the header is read and checked first, then exactly the
    declared data are read (inflated) into the result, so memory use stays near
    the size of the array whatever the file holds, and a header that declares
    more data than the file can hold (raw: its size; gzip: 1032 times its size,
    deflate's largest expansion) is refused before anything is allocated.

    Parameters
    ----------
    path : str or path-like
        The file. Gzip compression is detected from the content, not the name.

    Returns
    -------
    array : ndarray
        The values with the shape and dtype declared in the header, in native
        byte order.

    Raises
    ------
    ValueError
        If the file is truncated, has a wrong magic number, holds fewer or more
        bytes than its header declares, declares a shape NumPy cannot
        represent, or is a broken gzip stream.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from sklearn_mnist.datasets import load_idx, save_idx
    >>> path = os.path.join(tempfile.mkdtemp(), "x-idx3-ubyte.gz")
    >>> save_idx(path, np.arange(8, dtype=np.uint8).reshape(2, 2, 2))
    >>> load_idx(path).shape
    (2, 2, 2)
    """
    name = repr(os.fspath(path))
    with open(path, "rb") as f:
        info = os.fstat(f.fileno())
        file_size = info.st_size if stat.S_ISREG(info.st_mode) else None
        if f.peek(2)[:2] != _GZIP_MAGIC:
            return _read_idx(f, name, file_size, compressed=False)
        try:
            with gzip.GzipFile(fileobj=f, mode="rb") as stream:
                return _read_idx(stream, name, file_size, compressed=True)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise ValueError(
                f"{name} looks gzip-compressed but could not be decompressed "
                f"(truncated or corrupted gzip stream): {exc}"
            ) from exc


def _to_idx_bytes(array):
    array = np.asarray(array)
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(
            f"IDX needs an array with 1 to 255 dimensions, got {array.ndim}"
        )
    key = (array.dtype.kind, array.dtype.itemsize)
    if key not in _KIND_SIZE_TO_CODE:
        raise ValueError(
            "IDX stores uint8, int8, int16, int32, float32 or float64; "
            f"got dtype {array.dtype}"
        )
    if any(d >= 2**32 for d in array.shape):
        raise ValueError(f"IDX dimensions must be < 2**32, got shape {array.shape}")
    code = _KIND_SIZE_TO_CODE[key]
    header = (
        bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    )
    return header + np.ascontiguousarray(array, dtype=_CODE_TO_DTYPE[code]).tobytes()


def save_idx(path, array):
    """Write one array as an IDX file, gzip-compressed if ``path`` ends in ``.gz``.

    The file is written to a temporary name beside ``path`` and renamed into
    place, so a failure never leaves a half-written file.

    Parameters
    ----------
    path : str or path-like
        Destination. A name ending in ``.gz`` is gzip-compressed.
    array : array-like
        uint8, int8, int16, int32, float32 or float64 with 1 to 255 dimensions.

    Raises
    ------
    ValueError
        If the dtype or shape cannot be stored in IDX.
    """
    payload = _to_idx_bytes(array)
    path = os.fspath(path)
    if path.endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    tmp = f"{path}.{os.getpid()}.part"
    try:
        with open(tmp, "wb") as f:
            f.write(payload)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
