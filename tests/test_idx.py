import gzip
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sklearn_mnist.datasets import load_idx, save_idx

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
