"""Reading and writing IDX files, the format MNIST is distributed in.

An IDX file is a 4-byte magic number ``0x00 0x00 <dtype code> <ndim>``, then
``ndim`` big-endian uint32 dimension sizes, then the values in C order and
big-endian byte order. Files may be gzip-compressed.
"""

import gzip
import os
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


def _read_bytes(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(
                f"{os.fspath(path)!r} looks gzip-compressed but could not be "
                f"decompressed (truncated or corrupted gzip stream): {exc}"
            ) from exc
    return raw


def _parse_idx(raw, name="<bytes>"):
    if len(raw) < 4:
        raise ValueError(
            f"{name}: truncated IDX file: expected at least a 4-byte magic number, "
            f"got {len(raw)} bytes"
        )
    zero, code, ndim = raw[:2], raw[2], raw[3]
    if zero != b"\x00\x00" or code not in _CODE_TO_DTYPE or ndim == 0:
        raise ValueError(
            f"{name}: wrong magic number 0x{raw[:4].hex()}: expected "
            "0x0000TTDD with type code TT in "
            f"{sorted(hex(c) for c in _CODE_TO_DTYPE)} and DD >= 1 dimensions"
        )
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise ValueError(
            f"{name}: truncated IDX header: {ndim} dimensions need "
            f"{header_len} header bytes, the file has {len(raw)}"
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = _CODE_TO_DTYPE[code]
    expected = header_len + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) < expected:
        raise ValueError(
            f"{name}: truncated IDX data: header declares shape {shape} of "
            f"{dtype.name}, which needs {expected} bytes, the file has {len(raw)}"
        )
    if len(raw) > expected:
        raise ValueError(
            f"{name}: {len(raw) - expected} bytes of trailing garbage after the "
            f"data declared by the header (shape {shape}, {dtype.name})"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header_len).reshape(shape)
    # Native byte order, writeable, owning its memory.
    return data.astype(dtype.newbyteorder("="), copy=True)


def load_idx(path):
    """Read one IDX file, gzip-compressed or raw.

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
        bytes than its header declares, or is a broken gzip stream.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from sklearn_mnist.datasets import load_idx, save_idx
    >>> path = os.path.join(tempfile.mkdtemp(), "x-idx3-ubyte.gz")
    >>> save_idx(path, np.arange(8, dtype=np.uint8).reshape(2, 2, 2))
    >>> load_idx(path).shape
    (2, 2, 2)
    """
    return _parse_idx(_read_bytes(path), name=repr(os.fspath(path)))


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
