"""Files written atomically: readers see the old file or the new one, never half."""

import contextlib
import os
import secrets

__all__ = ["atomic_write", "open_temp_beside"]


def open_temp_beside(path, suffix=".tmp"):
    """A new hidden file beside ``path``: its name and an open descriptor.

    Created with mode 0666 filtered by the umask (and the folder's default
    ACL), as any new file; ``tempfile.mkstemp`` would make it 0600, and the
    file renamed into place would keep that.
    """
    directory = os.path.dirname(path) or "."
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        name = f".{os.path.basename(path)}.{secrets.token_hex(8)}{suffix}"
        tmp = os.path.join(directory, name)
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
    ``path`` is left as it was.
    """
    path = os.fspath(path)
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
