import gzip
import json
import os
import struct
import threading
import tracemalloc
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sklearn_mnist.datasets import _idx, load_idx, save_idx

DTYPES = ["uint8", "int8", "int16", "int32", "float32", "float64"]


@settings(max_examples=60, deadline=None)
@given(
    array=st.sampled_from(DTYPES).flatmap(
        lambda dt: arrays(
            dt,
            st.lists(st.integers(0, 5), min_size=1, max_size=4).map(tuple),
            elements={"allow_nan": False} if dt.startswith("float") else None,
        )
    ),
    compress=st.booleans(),
)
def test_round_trip(tmp_path_factory, array, compress):
    path = tmp_path_factory.mktemp("idx") / ("a.idx.gz" if compress else "a.idx")
    save_idx(path, array)
    back = load_idx(path)
    assert back.dtype == array.dtype
    assert back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


def test_bytes_match_the_published_format(tmp_path):
    # Reference: the header layout from LeCun's MNIST page, written by hand.
    array = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint8)
    expected = (
        b"\x00\x00\x08\x02" + struct.pack(">II", 2, 3) + bytes([1, 2, 3, 4, 5, 6])
    )
    save_idx(tmp_path / "a", array)
    assert (tmp_path / "a").read_bytes() == expected
    (tmp_path / "b").write_bytes(expected)
    np.testing.assert_array_equal(load_idx(tmp_path / "b"), array)


def test_big_endian_values(tmp_path):
    raw = b"\x00\x00\x0c\x01" + struct.pack(">I", 2) + struct.pack(">ii", 258, -3)
    (tmp_path / "a").write_bytes(raw)
    assert load_idx(tmp_path / "a").tolist() == [258, -3]


def test_gzip_detected_from_content_not_name(tmp_path):
    save_idx(tmp_path / "a.gz", np.arange(4, dtype=np.int16))
    (tmp_path / "a.gz").rename(tmp_path / "plain-name")
    assert load_idx(tmp_path / "plain-name").tolist() == [0, 1, 2, 3]


def _good_bytes():
    return b"\x00\x00\x08\x02" + struct.pack(">II", 2, 3) + bytes(range(6))


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda b: b[:3], "truncated IDX file"),
        (lambda b: b[:7], "truncated IDX header"),
        (lambda b: b[:-1], "truncated IDX data"),
        (lambda b: b + b"\x00\x00", "trailing garbage"),
        (lambda b: b"\x01" + b[1:], "wrong magic number"),
        (lambda b: b[:2] + b"\x07" + b[3:], "wrong magic number"),
        (lambda b: b[:3] + b"\x00" + b[4:], "wrong magic number"),
    ],
)
@pytest.mark.parametrize("compress", [False, True])
def test_bad_files_raise_value_error(tmp_path, mutate, match, compress):
    raw = mutate(_good_bytes())
    (tmp_path / "bad").write_bytes(gzip.compress(raw) if compress else raw)
    with pytest.raises(ValueError, match=match):
        load_idx(tmp_path / "bad")


def test_truncated_gzip_stream(tmp_path):
    (tmp_path / "bad").write_bytes(gzip.compress(_good_bytes())[:-6])
    with pytest.raises(ValueError, match="gzip"):
        load_idx(tmp_path / "bad")


@pytest.mark.parametrize(
    "array, match",
    [
        (np.zeros(3, dtype=np.int64), "dtype int64"),
        (np.zeros(3, dtype=np.complex64), "dtype complex64"),
        (np.zeros(3, dtype=np.uint16), "dtype uint16"),
        (np.array(5, dtype=np.uint8), "1 to 255 dimensions"),
    ],
)
def test_save_rejects_what_idx_cannot_hold(tmp_path, array, match):
    with pytest.raises(ValueError, match=match):
        save_idx(tmp_path / "x", array)
    assert list(tmp_path.iterdir()) == []


# --- Hostile inputs: gzip bombs, absurd headers (issue #14) --------------------

_MIB = 1 << 20


def _header(shape, code=0x08):
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def _write_bomb_single_stream(path, prefix, n_mib):
    """One gzip member: ``prefix`` then ``n_mib`` MiB of zeros, built in ~1 ms/MiB.

    After a full flush deflate starts afresh, so every MiB of zeros compresses to
    the same ~1 KB; the CRC and length in the trailer are those of the real data.
    """
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    zeros = bytes(_MIB)
    crc = zlib.crc32(prefix)
    with open(path, "wb") as f:
        f.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff")  # gzip header, mtime 0
        f.write(deflate.compress(prefix) + deflate.flush(zlib.Z_FULL_FLUSH))
        block = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
        for _ in range(n_mib):
            f.write(block)
            crc = zlib.crc32(zeros, crc)
        f.write(deflate.flush())
        f.write(struct.pack("<II", crc, (len(prefix) + n_mib * _MIB) & 0xFFFFFFFF))


def _write_bomb_members(path, prefix, n_mib):
    """``prefix`` then ``n_mib`` gzip members of 1 MiB of zeros each (~1 KB each)."""
    member = gzip.compress(bytes(_MIB), compresslevel=9, mtime=0)
    with open(path, "wb") as f:
        f.write(gzip.compress(prefix, mtime=0))
        for _ in range(n_mib):
            f.write(member)


BOMBS = {"single-stream": _write_bomb_single_stream, "members": _write_bomb_members}
_SMALL_IDX = _header((3,)) + b"\x01\x02\x03"


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_bomb_builders_write_valid_gzip(tmp_path, kind):
    BOMBS[kind](tmp_path / "b", _SMALL_IDX, 3)
    assert gzip.decompress((tmp_path / "b").read_bytes()) == _SMALL_IDX + bytes(
        3 * _MIB
    )


# Runs load_idx in a fresh interpreter and reports how much its peak memory grew
# during the call: resident (VmHWM on Linux: the high-water mark of this process's
# own memory; ru_maxrss would inherit the pytest parent's through fork and exec)
# and traced by tracemalloc (Python objects, NumPy buffers and zlib state).
# _idx.py is loaded on its own (it needs only NumPy): importing the package pulls
# in PyTorch, ~600 MB and seconds, which would drown the measurement.
_PEAK_SCRIPT = r"""
import importlib.util, json, resource, sys, time, tracemalloc
spec = importlib.util.spec_from_file_location("_idx_alone", sys.argv[1])
idx = importlib.util.module_from_spec(spec)
spec.loader.exec_module(idx)

def peak_rss():
    try:
        with open("/proc/self/status") as f:
            line = next(x for x in f if x.startswith("VmHWM:"))
        return int(line.split()[1]) * 1024
    except OSError:
        scale = 1 if sys.platform == "darwin" else 1024  # bytes vs KiB
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale

before = peak_rss()
tracemalloc.start()
start = time.perf_counter()
try:
    shape, error = idx.load_idx(sys.argv[2]).shape, None
except ValueError as exc:
    shape, error = None, str(exc)
seconds = time.perf_counter() - start
traced = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
rss = peak_rss() - before
print(json.dumps(dict(rss=rss, traced=traced, seconds=seconds, error=error)))
"""


def _load_in_subprocess(fresh_python, path):
    pytest.importorskip("resource")
    return json.loads(fresh_python(_PEAK_SCRIPT, _idx.__file__, path, timeout=120))


@pytest.mark.parametrize("kind, n_mib", [("single-stream", 256), ("members", 1024)])
def test_gzip_bomb_fails_fast_in_little_memory(fresh_python, tmp_path, kind, n_mib):
    # Header: 3 uint8 values; then 256 MiB / 1 GiB of zeros from a 0.3 / 1 MB file.
    path = tmp_path / "bomb-idx1-ubyte.gz"
    BOMBS[kind](path, _SMALL_IDX, n_mib)
    assert path.stat().st_size < n_mib * 1100
    result = _load_in_subprocess(fresh_python, path)
    assert result["error"] is not None and "trailing garbage" in result["error"]
    print(
        f"{kind} bomb inflating to {n_mib} MiB: peak resident memory "
        f"+{result['rss'] / _MIB:.1f} MiB, traced {result['traced'] / _MIB:.1f} MiB, "
        f"{result['seconds']:.2f} s"
    )
    # The inflated stream is 256 MiB or 1 GiB.
    assert result["rss"] < 32 * _MIB and result["traced"] < 8 * _MIB
    assert result["seconds"] < 2.0


def test_large_file_loads_in_little_extra_memory(fresh_python, tmp_path):
    # 64 MiB of float64 gzipped: about the array itself, not 2-3 times it.
    array = np.zeros((8, 1024, 1024), dtype=np.float64)
    array[:, 0, 0] = np.arange(8)
    path = tmp_path / "big.gz"
    save_idx(path, array)
    result = _load_in_subprocess(fresh_python, path)
    assert result["error"] is None
    assert result["rss"] < array.nbytes + 16 * _MIB
    assert result["traced"] < array.nbytes + 4 * _MIB


def _allocated_during(func):
    """Peak bytes traced by tracemalloc (NumPy reports its buffers) in ``func``."""
    tracemalloc.start()
    try:
        func()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


ABSURD = (65536, 65536, 65536, 65536)  # 2**64 values: overflows int64


@pytest.mark.parametrize("compress", [False, True])
def test_absurd_header_is_refused_before_allocating(tmp_path, compress):
    raw = _header(ABSURD) + bytes(16)
    (tmp_path / "bad").write_bytes(gzip.compress(raw) if compress else raw)
    size = (tmp_path / "bad").stat().st_size
    errors = []

    def load():
        try:
            load_idx(tmp_path / "bad")
        except ValueError as exc:
            errors.append(str(exc))

    assert _allocated_during(load) < _MIB
    assert len(errors) == 1
    message = errors[0]
    assert "shape (65536, 65536, 65536, 65536)" in message
    assert f"{2**64 + 20} bytes" in message  # what the header implies, itself included
    assert f"{size}" in message
    if compress:
        assert "gzip" in message and "at most" in message
    else:
        assert "truncated IDX data" in message


@pytest.mark.parametrize("shape", [(64, 1024, 1024), (2**32 - 1, 2**32 - 1)])
def test_header_declaring_more_than_the_gzip_can_hold(tmp_path, shape):
    # A few hundred bytes of gzip cannot inflate to 64 MiB (deflate: <= 1032:1),
    # so nothing of the declared size may be allocated before the refusal.
    raw = _header(shape) + bytes(range(200))
    (tmp_path / "bad").write_bytes(gzip.compress(raw))
    errors = []

    def load():
        try:
            load_idx(tmp_path / "bad")
        except ValueError as exc:
            errors.append(str(exc))

    assert _allocated_during(load) < _MIB
    assert len(errors) == 1
    assert f"shape {shape}" in errors[0] and "at most" in errors[0]


def test_gzip_at_the_best_deflate_ratio_still_loads(tmp_path):
    # zlib's best ratio on zeros (~1029:1) stays under the 1032:1 bound.
    array = np.zeros((16, 1024, 1024), dtype=np.uint8)
    (tmp_path / "z").write_bytes(gzip.compress(_header(array.shape) + array.tobytes()))
    assert load_idx(tmp_path / "z").shape == array.shape


@pytest.mark.parametrize("compress", [False, True])
def test_large_random_file_round_trips(tmp_path, compress):
    array = np.random.default_rng(0).integers(0, 2**31, (3000, 28, 28), np.int32)
    path = tmp_path / ("a.gz" if compress else "a")
    save_idx(path, array)
    back = load_idx(path)
    np.testing.assert_array_equal(back, array)
    assert back.dtype == np.int32 and back.flags.owndata and back.flags.writeable


@pytest.mark.parametrize("compress", [False, True])
def test_zero_size_dimensions_stay_legal(tmp_path, compress):
    raw = _header((0, 65536, 65536, 65536), code=0x0E)
    (tmp_path / "z").write_bytes(gzip.compress(raw) if compress else raw)
    back = load_idx(tmp_path / "z")
    assert back.shape == (0, 65536, 65536, 65536) and back.dtype == np.float64


def test_zero_size_shape_numpy_cannot_represent(tmp_path):
    (tmp_path / "z").write_bytes(_header((0, 2**32 - 1, 2**32 - 1, 2**32 - 1)))
    with pytest.raises(ValueError, match="NumPy cannot represent"):
        load_idx(tmp_path / "z")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda gz: gz[: len(gz) // 2],  # cut inside the deflate data
        lambda gz: gz[:-4] + b"\x00\x00\x00\x01",  # wrong length in the trailer
        lambda gz: gz[:-8] + b"\x00\x00\x00\x00" + gz[-4:],  # wrong CRC
        lambda gz: gz + b"junk after the gzip stream",
    ],
    ids=["cut", "bad-length", "bad-crc", "junk-after"],
)
def test_broken_gzip_of_a_larger_file(tmp_path, mutate):
    array = np.random.default_rng(1).integers(0, 256, (50, 28, 28), np.uint8)
    save_idx(tmp_path / "a.gz", array)
    (tmp_path / "bad").write_bytes(mutate((tmp_path / "a.gz").read_bytes()))
    with pytest.raises(ValueError, match="gzip"):
        load_idx(tmp_path / "bad")


def test_truncated_raw_data_message_names_sizes(tmp_path):
    raw = _header((2, 3)) + bytes(4)
    (tmp_path / "bad").write_bytes(raw)
    with pytest.raises(ValueError, match=r"shape \(2, 3\).* 18 bytes.* 16"):
        load_idx(tmp_path / "bad")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_reads_from_a_pipe(tmp_path):
    # Not a regular file: no size to check against, the data are streamed.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    payload = _header((2, 2)) + bytes([1, 2, 3, 4])
    writer = threading.Thread(target=fifo.write_bytes, args=(payload,), daemon=True)
    writer.start()
    try:
        assert load_idx(fifo).tolist() == [[1, 2], [3, 4]]
    finally:
        writer.join(timeout=10)
