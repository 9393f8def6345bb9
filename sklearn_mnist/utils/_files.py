"""Files written atomically: readers see the old file or the new one, never half."""

import contextlib
import os
import secrets
import shutil
import stat

__all__ = ["atomic_folder", "atomic_write", "open_temp_beside"]

# A temporary name is ".<name>.<16 hex digits><suffix>"; the part of <name> it
# keeps is cut so that it stays within the usual 255-byte limit on a name.
_KEPT = 200


def _temp_name(path, suffix):
    name = os.path.basename(path)
    while len(name.encode(errors="surrogateescape")) > _KEPT:
        name = name[:-1]
    return f".{name}.{secrets.token_hex(8)}{suffix}"


def open_temp_beside(path, suffix=".tmp"):
    """A new hidden file beside ``path``: its name and an open descriptor.

    Created with mode 0666 filtered by the umask (and the folder's default
    ACL), as any new file; ``tempfile.mkstemp`` would make it 0600, and the
    file renamed into place would keep that.
    """
    directory = os.path.dirname(path) or "."
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(directory, _temp_name(path, suffix))
        try:
            return tmp, os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {path}")


@contextlib.contextmanager
def atomic_write(path):
    """A binary file object whose content replaces ``path`` when the block ends.

    It is a temporary file in the same folder, flushed to disk and renamed over
    ``path`` only if the block succeeds; on any error it is removed and
    ``path`` is left as it was. An existing ``path`` that is not a regular
    file (``/dev/null``, a FIFO, a folder) is refused: renaming over it would
    replace a device node as root.
    """
    path = os.fspath(path)
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise ValueError(
            f"{path} exists and is not a regular file (a device, FIFO or "
            "folder): refusing to replace it"
        )
    tmp, fd = open_temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@contextlib.contextmanager
def atomic_folder(path):
    """A new folder, yielded as a path, that replaces the folder ``path``
    when the block ends.

    The files are written into a hidden temporary folder beside ``path``
    (created with mode 0777 filtered by the umask); only if the block
    succeeds is ``path``, if it exists, moved aside and the new folder
    renamed into its place, then the old one removed. On any error,
    ``KeyboardInterrupt`` included, the temporary folder is removed and
    ``path`` is left as it was: readers see the old folder or the complete
    new one, and no file of the old folder stays beside the new files.
    The folder that holds ``path`` must exist.
    """
    path = os.fspath(path)
    directory = os.path.dirname(path) or "."
    for _ in range(100):
        tmp = os.path.join(directory, _temp_name(path, ".tmp"))
        try:
            os.mkdir(tmp)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"could not create a temporary folder beside {path}")
    try:
        yield tmp
        old = None
        if os.path.lexists(path):
            old = os.path.join(directory, _temp_name(path, ".old"))
            os.rename(path, old)
        try:
            os.rename(tmp, path)
        except BaseException:
            if old is not None:
                os.rename(old, path)
            raise
        if old is not None:
            _remove(old)
    finally:
        if os.path.lexists(tmp):
            _remove(tmp)


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        os.remove(path)
