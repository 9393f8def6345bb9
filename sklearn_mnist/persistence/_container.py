"""The model file as a container: a zip of named members, written atomically.

Every member is stored uncompressed (the skops part compresses itself), so
reading a member never expands it beyond the size the file declares, and the
declared sizes are checked before anything is read. Names are checked too:
only the members of the format, no absolute paths, no ``..``.
"""

import json
import os
import re
import zipfile

from ..utils import atomic_write

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "check_sizes",
    "read_container",
    "write_container",
]

FORMAT = "sklearn-mnist-model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SKELETON = "model.skops"
_MEMBER = re.compile(r"(manifest\.json|model\.skops|nets/[0-9]{1,6}\.safetensors)")
_MAX_MANIFEST = 2**20
_MAX_TOTAL = 16 * 2**30  # declared bytes in one file: 16 GiB
_MAX_RATIO = 1000  # declared size over compressed size, for members > 1 MiB


def weights_member(index):
    return f"nets/{index}.safetensors"


def write_container(path, manifest, members):
    """Write ``manifest`` and ``members`` (name -> bytes) to ``path`` atomically.

    The zip is written to a temporary file in the same folder, flushed to disk,
    then renamed over ``path``: readers see the old file or the new one, never
    half of one. On any error the temporary file is removed.
    """
    with atomic_write(path) as out:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
            for name, data in members.items():
                zf.writestr(name, data)


def check_sizes(zf, what):
    """Refuse zips whose declared sizes are absurd (zip bombs)."""
    total = 0
    for info in zf.infolist():
        total += info.file_size
        if info.file_size > 2**20 and info.file_size > _MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise ValueError(
                f"{what}: member {info.filename!r} expands {info.file_size} bytes "
                f"from {info.compress_size} (more than {_MAX_RATIO}x)"
            )
    if total > _MAX_TOTAL:
        raise ValueError(f"{what} declares {total} bytes, more than {_MAX_TOTAL}")


def _check_names(zf, path):
    names = zf.namelist()
    if len(set(names)) != len(names):
        raise ValueError(f"{path} is not a valid model file: duplicate member names")
    for info in zf.infolist():
        name = info.filename
        if not _MEMBER.fullmatch(name):
            raise ValueError(
                f"{path} is not a valid model file: unexpected member {name!r} "
                "(a model file holds manifest.json, model.skops and "
                "nets/<n>.safetensors only)"
            )
        if info.compress_type != zipfile.ZIP_STORED:
            raise ValueError(
                f"{path} is not a valid model file: member {name!r} is compressed "
                "(sklearn_mnist.save stores members uncompressed)"
            )


def _read_manifest(zf, path):
    info = zf.getinfo(MANIFEST)
    if info.file_size > _MAX_MANIFEST:
        raise ValueError(f"{path}: {MANIFEST} is too large ({info.file_size} bytes)")
    try:
        manifest = json.loads(zf.read(info))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: {MANIFEST} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(
            f"{path} is not a sklearn-mnist model file ({MANIFEST} does not say "
            f"format {FORMAT!r})"
        )
    version = manifest.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise ValueError(
            f"{path} has model format version {version!r}; this version of "
            f"sklearn-mnist reads version {FORMAT_VERSION} only"
            + (
                " (upgrade sklearn-mnist to read it)"
                if isinstance(version, int) and version > FORMAT_VERSION
                else ""
            )
        )
    return manifest


def read_container(path):
    """``(manifest, members)`` of the model file at ``path``; members are bytes.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If it is not a model file of a known version, or is truncated or
        corrupted (bad zip, bad checksum, unexpected or compressed members).
    """
    path = os.fspath(path)
    with open(path, "rb") as f:  # OSError (missing, a folder) as they are
        try:
            with zipfile.ZipFile(f) as zf:
                if MANIFEST not in zf.namelist():
                    raise ValueError(
                        f"{path} is not a sklearn-mnist model file (a zip file "
                        f"without {MANIFEST}), or it is truncated"
                    )
                _check_names(zf, path)
                check_sizes(zf, path)
                manifest = _read_manifest(zf, path)
                members = {name: zf.read(name) for name in zf.namelist()}
        except zipfile.BadZipFile as exc:
            raise ValueError(
                f"{path} is not a sklearn-mnist model file, or it is truncated or "
                f"corrupted ({exc})"
            ) from None
        except (EOFError, OSError, RuntimeError, NotImplementedError) as exc:
            # zipfile's errors on damaged members (truncated data, bad headers)
            raise ValueError(f"{path} is truncated or corrupted: {exc}") from None
    return manifest, members
