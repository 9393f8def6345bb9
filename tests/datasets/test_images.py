"""load_image_folder / read_image / ImageFileReader: a user's own image files."""

import os
import pathlib
import pickle
import socket
import stat
import struct
import tempfile
import tracemalloc
import warnings
import zlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image
from skimage.transform import resize as sk_resize
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils import Bunch

import sklearn_mnist
from sklearn_mnist import load, save
from sklearn_mnist.datasets import load_image_folder, load_mnist_sample
from sklearn_mnist.datasets._images import ImageFileError, read_image
from sklearn_mnist.neural_net import MLPNetClassifier
from sklearn_mnist.preprocessing import Flatten, ImageFileReader, Normalizer255

# ---------------------------------------------------------------- helpers


def paper_digits(n, labels=(3, 7)):
    """``n`` real MNIST digits per label as dark ink on light paper, (28, 28)."""
    X, y = load_mnist_sample(return_X_y=True)
    out = {}
    for label in labels:
        digits = X[y == label][:n].reshape(-1, 28, 28)
        out[label] = 255 - digits
    return out


def luma(rgb):
    """ITU-R 601-2 luma, rounded (what Pillow's convert("L") computes)."""
    rgb = rgb.astype(np.float64)
    return np.rint(rgb @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)


def save_image(path, array, **kwargs):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)
    return path


LOSSLESS = {
    "png": {},
    "bmp": {},
    "tiff": {},
    "webp": {"lossless": True},
    "gif": {},
}


@pytest.fixture
def folder(tmp_path):
    """root/3/*, root/7/*: 28x28 grey digits in every format, one per format."""
    root = tmp_path / "digits"
    digits = paper_digits(6)
    expected = {}
    for label, images in digits.items():
        for i, fmt in enumerate([*LOSSLESS, "jpg"]):
            path = str(root / str(label) / f"{i:02d}.{fmt}")
            save_image(path, images[i], **LOSSLESS.get(fmt, {"quality": 95}))
            expected[path] = images[i]
    return root, expected


def png_header_only(path, width, height):
    """A PNG that declares ``width x height`` but holds almost no data."""

    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + body + chunk(b"IEND", b""))
    return path


# ------------------------------------------------------------------ the Bunch


def test_bunch_fields_and_pixels(folder):
    root, expected = folder
    bunch = load_image_folder(root)
    assert isinstance(bunch, Bunch)
    n = len(expected)
    assert bunch.images.shape == (n, 28, 28) and bunch.images.dtype == np.uint8
    assert bunch.data.shape == (n, 784) and np.shares_memory(bunch.data, bunch.images)
    assert np.array_equal(bunch.data, bunch.images.reshape(n, -1))
    assert bunch.target_names == ["3", "7"]
    assert bunch.target.dtype == np.int64
    assert bunch.target.tolist() == [0] * 6 + [1] * 6
    assert bunch.filenames.tolist() == sorted(expected)  # class, then file order
    assert str(root) in bunch.DESCR and "28 x 28" in bunch.DESCR
    for name, image in zip(bunch.filenames, bunch.images, strict=True):
        if name.endswith(".jpg"):
            assert np.abs(image.astype(int) - expected[name]).mean() < 3
        else:  # lossless formats give the pixels back exactly
            assert np.array_equal(image, expected[name]), name


def test_return_X_y_is_data_and_target(folder):
    root, _ = folder
    X, y = load_image_folder(root, return_X_y=True)
    bunch = load_image_folder(root)
    assert np.array_equal(X, bunch.data) and np.array_equal(y, bunch.target)
    assert X.shape == (12, 784)


def test_pathlib_and_str_paths_agree(folder):
    root, _ = folder
    a, b = load_image_folder(root), load_image_folder(str(root))
    assert np.array_equal(a.images, b.images)


def test_top_level_exports():
    assert sklearn_mnist.load_image_folder is load_image_folder
    assert sklearn_mnist.ImageFileReader is ImageFileReader
    assert "load_image_folder" in sklearn_mnist.__all__
    assert "ImageFileReader" in sklearn_mnist.__all__


# --------------------------------------------------------- colour and grey


def test_colour_to_grey_is_luma_and_rgb_mode_keeps_colour(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    grey = rng.integers(0, 256, (20, 24), dtype=np.uint8)
    save_image(str(tmp_path / "a" / "colour.png"), rgb)
    save_image(str(tmp_path / "a" / "grey.png"), grey)
    save_image(str(tmp_path / "b" / "x.png"), grey)
    L = load_image_folder(tmp_path)
    assert np.abs(L.images[0].astype(int) - luma(rgb)).max() <= 1
    assert np.array_equal(L.images[1], grey)
    RGB = load_image_folder(tmp_path, mode="RGB")
    assert RGB.images.shape == (3, 20, 24, 3) and RGB.data.shape == (3, 20 * 24 * 3)
    assert np.array_equal(RGB.images[0], rgb)
    assert np.array_equal(RGB.images[1], np.repeat(grey[..., None], 3, axis=2))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    rgb=arrays(np.uint8, (5, 7, 3)),
    alpha=arrays(np.uint8, (5, 7)),
    mode=st.sampled_from(["L", "RGB"]),
)
def test_alpha_is_composited_on_white(rgb, alpha, mode):
    a = alpha[..., None].astype(np.float64) / 255
    on_white = rgb * a + 255 * (1 - a)
    expected = on_white if mode == "RGB" else on_white @ [0.299, 0.587, 0.114]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "rgba.png")
        Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(path)
        got = read_image(path, mode=mode)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1.5


def test_transparent_ink_on_nothing_reads_as_dark_ink_on_white(tmp_path):
    # a digit drawn as opaque black ink on a fully transparent background
    digit = 255 - paper_digits(1)[3][0]  # white on black: ink = high values
    la = np.dstack([np.zeros_like(digit), digit])
    path = tmp_path / "a" / "ink.png"
    path.parent.mkdir()
    Image.fromarray(la, "LA").save(path)
    got = read_image(path)
    assert np.abs(got.astype(int) - (255 - digit)).max() <= 1


def test_palette_transparency_and_gif_first_frame(tmp_path):
    frames = [np.full((6, 6), v, dtype=np.uint8) for v in (30, 200)]
    frames[0][0, 0] = 0  # a pixel made transparent below
    path = str(tmp_path / "anim.gif")
    imgs = [Image.fromarray(f).convert("P") for f in frames]
    index = imgs[0].getpixel((0, 0))
    imgs[0].save(path, save_all=True, append_images=imgs[1:], transparency=index)
    got = read_image(path)
    assert got[0, 0] == 255  # transparent -> paper
    assert (got.ravel()[1:] == 30).all()  # the first frame, not the second


def test_sixteen_bit_images_are_scaled_not_clipped(tmp_path):
    wide = np.arange(0, 65536, 257 * 3, dtype=np.uint16)[:80].reshape(8, 10)
    wide[0, 0] = 65535
    path = str(tmp_path / "wide.png")
    Image.fromarray(wide).save(path)
    assert Image.open(path).mode.startswith("I;16")
    got = read_image(path)
    assert np.array_equal(got, np.rint(wide / 257).astype(np.uint8))
    assert got.max() == 255 and len(np.unique(got)) > 70  # Pillow alone clips


@pytest.mark.parametrize("orientation, turn", [(6, -1), (8, 1), (3, 2), (1, 0)])
def test_exif_orientation_is_applied(tmp_path, orientation, turn):
    stored = np.arange(12 * 20, dtype=np.uint8).reshape(12, 20)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = str(tmp_path / "phone.png")
    Image.fromarray(stored).save(path, exif=exif)
    got = read_image(path)
    assert np.array_equal(got, np.rot90(stored, k=turn))  # k=-1: clockwise


def test_jpeg_read_is_close_to_its_pixels(tmp_path):
    digit = paper_digits(1)[7][0]
    big = np.asarray(Image.fromarray(digit).resize((280, 280), Image.NEAREST))
    path = str(tmp_path / "photo.jpg")
    Image.fromarray(np.dstack([big] * 3)).save(path, quality=95)
    full = read_image(path)
    assert full.shape == (280, 280) and np.abs(full.astype(int) - big).mean() < 3
    small = read_image(path, size=(28, 28))  # decoded at reduced scale first
    assert np.abs(small.astype(int) - digit).mean() < 12


# --------------------------------------------------------------------- sizes


def test_size_resizes_with_antialiasing(tmp_path):
    checker = (np.indices((280, 200)).sum(axis=0) % 2 * 255).astype(np.uint8)
    save_image(str(tmp_path / "a" / "checker.png"), checker)
    save_image(str(tmp_path / "a" / "small.png"), paper_digits(1)[3][0])
    bunch = load_image_folder(tmp_path, size=(28, 20))
    assert bunch.images.shape == (2, 28, 20) and bunch.data.shape == (2, 560)
    # a one-pixel checkerboard averages to mid grey; without antialiasing it
    # would alias to black and white
    assert np.abs(bunch.images[0].astype(int) - 127.5).max() < 8
    reference = sk_resize(checker / 255, (28, 20), anti_aliasing=True) * 255
    assert np.abs(bunch.images[0] - reference).mean() < 4


def test_size_upscales_like_scikit_image(tmp_path):
    digit = paper_digits(1)[7][0]
    save_image(str(tmp_path / "a" / "d.png"), digit)
    got = load_image_folder(tmp_path, size=(56, 42)).images[0]
    reference = sk_resize(digit / 255, (56, 42), order=3) * 255
    assert np.abs(got - reference).mean() < 4


def test_mixed_sizes_need_a_size(tmp_path):
    save_image(str(tmp_path / "a" / "1.png"), np.zeros((28, 28), np.uint8))
    save_image(str(tmp_path / "a" / "2.png"), np.zeros((40, 30), np.uint8))
    with pytest.raises(ValueError, match=r"2\.png' is 40x30") as info:
        load_image_folder(tmp_path)
    assert "size=(height, width)" in str(info.value) and "keep" in str(info.value)
    with pytest.raises(ValueError, match=r"40x30"):  # not a per-file error
        load_image_folder(tmp_path, on_error="skip")
    assert load_image_folder(tmp_path, size=(10, 10)).images.shape == (2, 10, 10)


def test_size_keep_gives_a_ragged_object_array(tmp_path):
    save_image(str(tmp_path / "a" / "1.png"), np.zeros((28, 28), np.uint8))
    save_image(str(tmp_path / "b" / "2.png"), np.full((40, 30), 9, np.uint8))
    save_image(str(tmp_path / "b" / "3.png"), np.full((40, 30, 3), 9, np.uint8))
    bunch = load_image_folder(tmp_path, size="keep")
    assert bunch.data is None
    assert bunch.images.dtype == object and bunch.images.shape == (3,)
    assert [im.shape for im in bunch.images] == [(28, 28), (40, 30), (40, 30)]
    assert all(im.dtype == np.uint8 for im in bunch.images)
    rgb = load_image_folder(tmp_path, size="keep", mode="RGB").images
    assert rgb[1].shape == (40, 30, 3)
    X, y = load_image_folder(tmp_path, size="keep", return_X_y=True)
    assert X.dtype == object and y.tolist() == [0, 1, 1]
    same = load_image_folder(tmp_path, size="keep", extensions=[".png"])
    assert "keep" in same.DESCR


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"size": 28}, "size must be"),
        ({"size": (28, 0)}, "size must be"),
        ({"size": (28, True)}, "size must be"),
        ({"size": "auto"}, "size must be"),
        ({"mode": "RGBA"}, "mode must be"),
        ({"on_error": "ignore"}, "on_error must be"),
        ({"max_pixels": 0}, "max_pixels"),
        ({"max_pixels": 1.5}, "max_pixels"),
        ({"extensions": [""]}, "extensions"),
        ({"verbose": -1}, "verbose"),
    ],
)
def test_bad_parameters(folder, kwargs, match):
    root, _ = folder
    with pytest.raises(ValueError, match=match):
        load_image_folder(root, **kwargs)


# ------------------------------------------------------------- folder rules


def test_missing_path_and_a_file_instead_of_a_folder(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_image_folder(tmp_path / "nope")
    path = save_image(str(tmp_path / "one.png"), np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="is not a folder"):
        load_image_folder(path)


def test_empty_folder_and_loose_files(tmp_path):
    with pytest.raises(ValueError, match="no class sub-folders"):
        load_image_folder(tmp_path)
    save_image(str(tmp_path / "loose.png"), np.zeros((4, 4), np.uint8))
    (tmp_path / ".hidden").mkdir()
    with pytest.raises(ValueError, match=r"1 file\(s\) directly inside"):
        load_image_folder(tmp_path)


def test_class_folder_without_images(folder):
    root, _ = folder
    (root / "9").mkdir()
    (root / "9" / ".DS_Store").write_bytes(b"\0\1junk")
    for on_error in ("raise", "skip"):
        with pytest.raises(ValueError, match=r"class folder .*9' holds no image"):
            load_image_folder(root, on_error=on_error)


def test_hidden_files_and_folders_are_ignored(folder):
    root, expected = folder
    (root / "3" / ".DS_Store").write_bytes(b"not an image")
    (root / ".git").mkdir()
    save_image(str(root / ".git" / "x.png"), np.zeros((28, 28), np.uint8))
    save_image(str(root / "7" / ".thumb.png"), np.zeros((9, 9), np.uint8))
    bunch = load_image_folder(root)
    assert bunch.target_names == ["3", "7"] and len(bunch.target) == len(expected)


def test_nested_folders_belong_to_their_class(folder):
    root, expected = folder
    save_image(str(root / "7" / "session2" / "x.png"), np.zeros((28, 28), np.uint8))
    bunch = load_image_folder(root)
    assert len(bunch.target) == len(expected) + 1
    assert bunch.target[-1] == 1 and bunch.filenames[-1].endswith("x.png")


def test_extensions_filter(folder):
    root, _ = folder
    (root / "3" / "notes.txt").write_text("my digits")
    with pytest.raises(ValueError, match=r"notes\.txt.*not an image file"):
        load_image_folder(root)
    bunch = load_image_folder(root, extensions=["PNG", ".bmp"])
    assert len(bunch.target) == 4
    assert {os.path.splitext(f)[1] for f in bunch.filenames} == {".png", ".bmp"}
    with pytest.raises(ValueError, match=r"no image files with an extension in"):
        load_image_folder(root, extensions=".heic")


def test_extension_does_not_decide_the_format(tmp_path):
    # a PNG named .jpg is read; a text file named .png is not an image
    save_image(str(tmp_path / "a" / "really_png.jpg"), np.full((5, 5), 7, np.uint8))
    assert load_image_folder(tmp_path).images[0, 0, 0] == 7
    (tmp_path / "a" / "fake.png").write_text("not a picture")
    with pytest.raises(ValueError, match=r"fake\.png': is not an image file"):
        load_image_folder(tmp_path)


# ------------------------------------------------------------- bad files


@pytest.mark.parametrize("fmt", ["png", "jpg", "bmp", "tiff", "webp", "gif"])
def test_truncated_files_are_refused(tmp_path, fmt):
    path = save_image(str(tmp_path / "a" / f"cut.{fmt}"), paper_digits(1)[3][0])
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])
    with pytest.raises(ValueError, match=rf"cut\.{fmt}': .*(truncated|corrupted)"):
        load_image_folder(tmp_path)
    with pytest.raises(ImageFileError, match="truncated or corrupted"):
        read_image(path)


def test_skip_warns_once_listing_every_bad_file(folder):
    root, expected = folder
    (root / "3" / "bad1.png").write_text("text")
    (root / "7" / "bad2.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut")
    with pytest.warns(UserWarning) as record:
        bunch = load_image_folder(root, on_error="skip")
    assert len(record) == 1
    message = str(record[0].message)
    assert "skipped 2 file(s)" in message
    assert "bad1.png" in message and "bad2.jpg" in message
    assert len(bunch.target) == len(expected) and len(bunch.filenames) == 12
    assert not any("bad" in f for f in bunch.filenames)
    # images, data, target and filenames still line up after skipping
    for name, image in zip(bunch.filenames, bunch.images, strict=True):
        if not name.endswith(".jpg"):
            assert np.array_equal(image, expected[name])
    assert bunch.images.shape == (12, 28, 28) and bunch.data.shape == (12, 784)
    with pytest.raises(ValueError, match=r"bad1\.png': is not an image"):
        load_image_folder(root)


def test_skip_with_a_size_given_and_nothing_left(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.png").write_text("text")
    with pytest.warns(UserWarning, match="skipped 1"):
        with pytest.raises(ValueError, match="No image in .* could be read"):
            load_image_folder(tmp_path, on_error="skip", size=(28, 28))


def test_skip_leaves_a_class_empty(folder):
    root, _ = folder
    (root / "5").mkdir()
    (root / "5" / "x.png").write_text("text")
    with pytest.warns(UserWarning, match="skipped 1"):
        with pytest.raises(ValueError, match=r"class folder\(s\) \['5'\]"):
            load_image_folder(root, on_error="skip")


def test_decompression_bomb_refused_from_the_header(tmp_path):
    (tmp_path / "a").mkdir()
    bomb = str(tmp_path / "a" / "bomb.png")
    # 100,000 x 100,000 declared: decoding would need 10 GB
    png_header_only(bomb, 100_000, 100_000)
    with pytest.raises(ValueError, match=r"bomb\.png': declares .*decompression"):
        load_image_folder(tmp_path)
    # within Pillow's limits but over ours: refused before any decoding (the
    # file holds no pixel data, so decoding would fail with another message)
    png_header_only(bomb, 5000, 4000)
    with pytest.raises(
        ValueError, match=r"5000x4000 = 20000000 pixels, more than max_pixels=10000"
    ):
        load_image_folder(tmp_path, max_pixels=10_000_000)
    ok = save_image(str(tmp_path / "a" / "ok.png"), np.zeros((30, 40), np.uint8))
    with pytest.warns(UserWarning, match=r"bomb\.png': declares 5000x4000"):
        bunch = load_image_folder(
            tmp_path / "a" / "..", on_error="skip", max_pixels=10_000_000
        )
    assert bunch.images.shape == (1, 30, 40) and bunch.filenames[0].endswith("ok.png")
    with pytest.raises(ValueError, match=r"ok\.png': declares 40x30 = 1200"):
        read_image(ok, max_pixels=1199)
    assert read_image(ok, max_pixels=1200).shape == (30, 40)


def test_symlinks_out_of_the_folder_are_refused(tmp_path, folder):
    root, expected = folder
    outside = save_image(str(tmp_path / "secret.png"), np.zeros((28, 28), np.uint8))
    os.symlink(outside, root / "3" / "link.png")
    with pytest.raises(ValueError, match=r"link\.png': is a symbolic link to .*out"):
        load_image_folder(root)
    with pytest.warns(UserWarning, match=r"link\.png"):
        bunch = load_image_folder(root, on_error="skip")
    assert len(bunch.target) == len(expected)
    os.remove(root / "3" / "link.png")
    # a linked folder (a class, or inside a class) pointing out
    other = tmp_path / "elsewhere"
    save_image(str(other / "x.png"), np.zeros((28, 28), np.uint8))
    os.symlink(other, root / "7" / "more")
    with pytest.raises(ValueError, match=r"more': is a symbolic link"):
        load_image_folder(root)
    os.remove(root / "7" / "more")
    os.symlink(other, root / "8")
    with pytest.raises(ValueError, match=r"8': is a symbolic link"):
        load_image_folder(root)


def test_symlinks_inside_the_folder_are_followed(folder):
    root, expected = folder
    first = sorted(expected)[0]
    os.symlink(first, root / "7" / "zz_link.png")
    os.symlink(root / "3", root / "3" / "loop")  # a cycle is read once
    bunch = load_image_folder(root)
    assert len(bunch.target) == len(expected) + 1
    assert np.array_equal(bunch.images[-1], expected[first])
    os.remove(root / "7" / "zz_link.png")
    os.symlink(root / "nowhere.png", root / "7" / "broken.png")
    with pytest.raises(ValueError, match=r"broken\.png': is a broken symbolic link"):
        load_image_folder(root)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_fifo_and_socket_refused_up_front_without_being_opened(folder, monkeypatch):
    root, _ = folder
    fifo = root / "7" / "pipe.png"
    os.mkfifo(fifo)
    opened = []
    real_open = os.open

    def spy(path, *args, **kwargs):
        opened.append(os.fspath(path))
        assert stat.S_ISREG(os.stat(path).st_mode), f"opened {path}"
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    with pytest.raises(ValueError, match=r"pipe\.png': is a FIFO"):
        load_image_folder(root)
    assert opened == []  # refused while listing, before any file was read
    with pytest.warns(UserWarning, match=r"pipe\.png': is a FIFO"):
        bunch = load_image_folder(root, on_error="skip")
    assert len(bunch.target) == 12 and str(fifo) not in opened
    with pytest.raises(ImageFileError, match="FIFO"):
        read_image(fifo)
    os.remove(fifo)
    monkeypatch.chdir(root / "3")  # AF_UNIX paths are short
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind("sock.png")
        with pytest.raises(ValueError, match=r"sock\.png': is a socket"):
            load_image_folder(root)
    assert "sock.png" not in {os.path.basename(p) for p in opened}


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null")
def test_devices_are_refused():
    with pytest.raises(ImageFileError, match="/dev/null': is a character device"):
        read_image("/dev/null")


def test_read_image_errors_name_the_file(tmp_path):
    with pytest.raises(ImageFileError, match=r"nope\.png': does not exist"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(ImageFileError, match="is a folder"):
        read_image(tmp_path)
    path = save_image(str(tmp_path / "f.tiff"), np.zeros((4, 4), np.float32))
    with pytest.raises(ImageFileError, match="32-bit float"):
        read_image(path)
    eps = tmp_path / "x.eps"  # a format Pillow knows but we never try
    eps.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")
    with pytest.raises(ImageFileError, match="not an image file"):
        read_image(eps)
    with pytest.raises(ValueError, match="size must be"):
        read_image(path, size="keep")


# ----------------------------------------------------------- memory, progress


def test_memory_is_the_images_kept(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(60):
        image = rng.integers(0, 256, (100, 100), dtype=np.uint8)
        save_image(str(tmp_path / str(i % 2) / f"{i:03d}.png"), image)
    load_image_folder(tmp_path)  # import and warm everything first
    tracemalloc.start()
    try:
        bunch = load_image_folder(tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    kept = bunch.images.nbytes  # 600 kB; a list + np.stack would peak at 2x
    assert peak < 1.4 * kept + 200_000, (peak, kept)


def test_progress_bar_only_when_verbose(folder, capsys):
    root, _ = folder
    load_image_folder(root)
    assert capsys.readouterr().err == ""
    load_image_folder(root, verbose=1)
    err = capsys.readouterr().err
    assert "Reading images" in err and "12/12" in err


# ------------------------------------------------------------ ImageFileReader


def test_reader_matches_the_folder_loader_for_any_path_container(folder):
    root, expected = folder
    bunch = load_image_folder(root)
    names = list(bunch.filenames)
    reader = ImageFileReader()
    for X in (names, tuple(names), np.array(names), pd.Series(names),
              [os.path.abspath(n) for n in names],
              [pathlib.Path(n) for n in names],
              pd.DataFrame({"path": names})):  # fmt: skip
        assert np.array_equal(reader.fit_transform(X), bunch.images)
    assert ImageFileReader(size=(8, 9), mode="RGB").transform(names).shape == (
        12, 8, 9, 3
    )
    keep = ImageFileReader(size="keep").transform(names[:2])
    assert keep.dtype == object and keep[0].shape == (28, 28)


@pytest.mark.parametrize(
    "X, match",
    [
        ("scan1.png", "single str"),
        (b"scan1.png", "single bytes"),
        (pathlib.Path("scan1.png"), "single (Posix|Windows)Path"),
        ([], "no paths"),
        ([1, 2], "int 1 at position 0"),
        ([["a.png", "b.png"]], r"shape \(1, 2\)"),
    ],
)
def test_reader_refuses_what_is_not_a_list_of_paths(X, match):
    with pytest.raises(ValueError, match=match):
        ImageFileReader().transform(X)
    with pytest.raises(ValueError, match=match):
        ImageFileReader().fit(X)


def test_reader_raises_on_bad_files_and_refuses_skip(folder):
    root, _ = folder
    names = sorted(str(p) for p in root.rglob("*.png"))
    (root / "bad.png").write_text("text")
    with pytest.raises(ValueError, match=r"bad\.png': is not an image"):
        ImageFileReader().transform([*names, str(root / "bad.png")])
    with pytest.raises(ValueError, match="cannot skip files"):
        ImageFileReader(on_error="skip").fit(names)
    with pytest.raises(ValueError, match="cannot skip files"):
        ImageFileReader(on_error="skip").transform(names)
    with pytest.raises(ValueError, match="on_error"):
        ImageFileReader(on_error="ignore").fit(names)
    with pytest.raises(ValueError, match="size must be"):
        ImageFileReader(size=(0, 3)).fit(names)
    with pytest.raises(ValueError, match="max_pixels=10;"):
        ImageFileReader(max_pixels=10).transform(names)
    mixed = [*names, save_image(str(root / "big.png"), np.zeros((9, 9), np.uint8))]
    with pytest.raises(ValueError, match=r"big\.png' is 9x9.*size=\(height, width\)"):
        ImageFileReader().transform(mixed)


def test_reader_is_a_well_behaved_estimator(folder):
    root, _ = folder
    names = sorted(str(p) for p in root.rglob("*.png"))
    reader = ImageFileReader(size=(14, 14), max_pixels=10_000)
    assert reader.get_params() == {
        "size": (14, 14), "mode": "L", "on_error": "raise", "max_pixels": 10_000
    }
    twin = clone(reader)
    assert twin.get_params() == reader.get_params() and twin is not reader
    back = pickle.loads(pickle.dumps(reader.fit(names)))
    assert np.array_equal(back.transform(names), reader.transform(names))
    assert not hasattr(reader, "n_features_in_")  # strings in: nothing to count
    tags = reader.__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array
    assert not tags.requires_fit
    # stateless: transform without fit
    assert ImageFileReader().transform(names).shape == (2, 28, 28)


def test_reader_set_output_pandas(folder):
    root, _ = folder
    names = sorted(str(p) for p in root.rglob("*.png"))
    reader = ImageFileReader(size=(4, 5)).set_output(transform="pandas")
    frame = reader.transform(names)
    assert isinstance(frame, pd.DataFrame) and frame.shape == (2, 20)
    assert list(frame.columns[:2]) == ["pixel_0", "pixel_1"]
    rgb = ImageFileReader(size=(4, 5), mode="RGB").get_feature_names_out()
    assert len(rgb) == 60
    with pytest.raises(ValueError, match="no fixed number of output features"):
        ImageFileReader().get_feature_names_out()


def test_grid_search_over_paths(tmp_path):
    digits = paper_digits(8)
    paths, labels = [], []
    for label, images in digits.items():
        for i, image in enumerate(images):
            paths.append(save_image(str(tmp_path / f"{label}_{i}.png"), image))
            labels.append(label)
    pipe = make_pipeline(ImageFileReader(), Flatten(), LogisticRegression())
    search = GridSearchCV(
        pipe, {"imagefilereader__size": [(8, 8), (14, 14)]}, cv=2
    ).fit(np.array(paths), labels)
    assert search.best_params_["imagefilereader__size"] in [(8, 8), (14, 14)]
    assert search.score(paths, labels) > 0.9  # 3 vs 7 is easy


def test_pipeline_from_paths_to_predictions_and_back_from_a_file(tmp_path):
    digits = paper_digits(10)
    paths, labels = [], []
    for label, images in digits.items():
        for i, image in enumerate(images):
            big = np.asarray(Image.fromarray(image).resize((56, 56)))
            fmt = ["png", "jpg", "bmp"][i % 3]
            paths.append(save_image(str(tmp_path / f"{label}_{i}.{fmt}"), big))
            labels.append(f"digit {label}")
    pipe = make_pipeline(
        ImageFileReader(size=(28, 28)),
        Normalizer255(),
        MLPNetClassifier(
            module__hidden_units=(16,), max_epochs=1, random_state=0, device="cpu"
        ),
    )
    pipe.fit(paths, labels)
    predicted = pipe.predict(paths[:3])
    assert set(predicted) <= {"digit 3", "digit 7"} and len(predicted) == 3
    images = ImageFileReader(size=(28, 28)).transform(paths)
    assert np.array_equal(pipe.predict_proba(paths), pipe[1:].predict_proba(images))

    loaded = load(save(pipe, tmp_path / "reader.skmnist"))
    assert isinstance(loaded[0], ImageFileReader)
    assert loaded[0].get_params() == pipe[0].get_params()
    assert np.array_equal(loaded.predict_proba(paths), pipe.predict_proba(paths))
    with pytest.raises(ValueError, match="single str"):
        loaded.predict(paths[0])


def test_no_warnings_from_pillow_leak(tmp_path):
    path = save_image(str(tmp_path / "p.png"), np.zeros((4, 4), np.uint8))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_image(path)
        ImageFileReader().transform([path])
