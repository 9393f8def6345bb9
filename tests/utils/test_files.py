"""Files and folders written whole or not at all."""

import os

import pytest

from sklearn_mnist.utils import atomic_folder, atomic_write


def test_atomic_folder_replaces_the_folder_whole(tmp_path):
    target = tmp_path / "report"
    target.mkdir()
    (target / "stale.png").write_text("old")
    with atomic_folder(target) as tmp:
        assert os.path.dirname(tmp) == str(tmp_path)
        assert os.path.basename(tmp).startswith(".report.")
        (tmp_path / os.path.basename(tmp) / "new.txt").write_text("new")
        assert os.listdir(target) == ["stale.png"]  # not yet in place
    assert os.listdir(target) == ["new.txt"]
    assert os.listdir(tmp_path) == ["report"]


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError, ValueError])
@pytest.mark.parametrize("existing", [False, True])
def test_atomic_folder_leaves_the_old_one_on_any_error(tmp_path, error, existing):
    target = tmp_path / "report"
    if existing:
        target.mkdir()
        (target / "old.txt").write_text("old")
    with pytest.raises(error):
        with atomic_folder(target) as tmp:
            (tmp_path / os.path.basename(tmp) / "half.txt").write_text("half")
            raise error
    assert os.listdir(tmp_path) == (["report"] if existing else [])
    if existing:
        assert os.listdir(target) == ["old.txt"]


def test_atomic_folder_puts_the_old_one_back_if_the_rename_fails(tmp_path, monkeypatch):
    target = tmp_path / "report"
    target.mkdir()
    (target / "old.txt").write_text("old")
    real = os.rename

    def rename(src, dst):
        if os.path.basename(src).endswith(".tmp"):
            raise OSError("no")
        real(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError, match="no"):
        with atomic_folder(target):
            pass
    assert os.listdir(tmp_path) == ["report"]
    assert os.listdir(target) == ["old.txt"]


@pytest.mark.parametrize("write", [atomic_folder, atomic_write])
def test_a_name_of_255_bytes_gets_a_temporary_name_that_fits(tmp_path, write):
    target = tmp_path / ("n" * 255)
    with write(target):
        pass
    assert os.listdir(tmp_path) == [target.name]


def test_atomic_write_never_replaces_a_device_or_fifo(tmp_path):
    """save(model, "/dev/null") as root renamed a zip over the device node."""
    import os

    from sklearn_mnist.utils import atomic_write

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for target in (fifo, tmp_path, "/dev/null"):
        with pytest.raises(ValueError, match="not a regular file"):
            with atomic_write(target) as out:
                out.write(b"x")
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")
    assert sorted(os.listdir(tmp_path)) == ["fifo"]
