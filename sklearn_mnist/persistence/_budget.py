"""What loading a model file may cost, checked before the work is done.

A model file is small; what loading it builds need not be. skops reads a
``.npy`` member once per reference to it (one member referenced 40 times
from the schema is read 40 times), builds a Python object per JSON value of
its schema, and a classifier's parameters say how large a network to build.
Each of these is counted from what the file declares and compared with a
limit before anything is read, parsed or allocated:

- the file must be a regular file (not a device, FIFO or socket), checked
  before it is opened, and its size at most ``max_bytes``;
- the skops part's *cost*: the bytes of its schema, the bytes of every
  ``.npy`` reference (each reference counted), and :data:`NODE_COST` bytes
  for each JSON value of the schema (about what skops builds for one); at
  most ``64 MiB + 32 x`` the skops part's compressed size, or ``max_bytes``
  when given; the schema at most :data:`MAX_DEPTH` deep;
- each classifier's network, built on torch's ``meta`` device (shapes only,
  no memory) before it is built for real: at most ``max_params`` parameters
  and buffers, images of at most :data:`MAX_IMAGE_VALUES` values
  (``_validate.py``).

Each limit, when exceeded, is a ``ValueError`` naming it and saying how to
raise it (``load(path, max_bytes=..., max_params=...)``) for a trusted file.
"""

import io
import json
import os
import stat
import zipfile
from dataclasses import dataclass

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PARAMS",
    "MAX_IMAGE_VALUES",
    "MAX_DEPTH",
    "NODE_COST",
    "Limits",
    "check_regular_file",
    "check_skops_budget",
]

#: ``max_bytes`` by default: the file and what its skops part expands to.
DEFAULT_MAX_BYTES = 2 * 2**30
#: ``max_params`` by default: parameters and buffers of one classifier's
#: network (ResNet-50 has 25.6M, EfficientNet-Lite0 3.4M).
DEFAULT_MAX_PARAMS = 100_000_000
#: The skops part of an untrusted file may cost this much, plus
#: ``EXPANSION`` times its compressed size.
SKOPS_FLOOR = 64 * 2**20
EXPANSION = 32
#: Bytes charged for each JSON value of the skops schema (skops builds a
#: node object for it, and the loaded object: about 2 KiB measured).
NODE_COST = 2048
#: Nesting of the skops schema (the package's models: 14 to 26).
MAX_DEPTH = 64
#: Values in one image a classifier reads or resizes to (activations grow
#: with it): a 4096 x 4096 grey image.
MAX_IMAGE_VALUES = 4096 * 4096


def _mib(n):
    return f"{n / 2**20:,.1f} MiB"


@dataclass
class Limits:
    """The limits of one ``load`` call (``None``: the defaults)."""

    max_bytes: int | None = None
    max_params: int | None = None

    def __post_init__(self):
        for name in ("max_bytes", "max_params"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"load: {name} must be a positive int or None, got {value!r}"
                )

    @property
    def bytes(self):
        return DEFAULT_MAX_BYTES if self.max_bytes is None else self.max_bytes

    @property
    def params(self):
        return DEFAULT_MAX_PARAMS if self.max_params is None else self.max_params

    def skops_budget(self, compressed):
        """What the skops part (``compressed`` bytes in the file) may cost."""
        if self.max_bytes is not None:  # a trusted file: the caller's limit
            return self.max_bytes
        return min(self.bytes, SKOPS_FLOOR + EXPANSION * compressed)


def check_regular_file(path):
    """Refuse anything but a regular file, before it is opened.

    A device (``/dev/zero`` never ends), a FIFO (opening it blocks until a
    writer comes) or a socket is refused from ``os.stat``, which opens
    nothing. A missing path or a folder raise as ``open`` would.
    """
    path = os.fspath(path)
    info = os.stat(path)  # FileNotFoundError as open would raise it
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(21, "Is a directory", path)
    if not stat.S_ISREG(info.st_mode):
        kind = (
            "a FIFO"
            if stat.S_ISFIFO(info.st_mode)
            else "a socket"
            if stat.S_ISSOCK(info.st_mode)
            else "a device"
            if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
            else "not a regular file"
        )
        raise ValueError(
            f"{path} is {kind}, not a model file: load reads regular files only"
        )
    return info.st_size


def check_file_size(path, size, limits):
    if size > limits.bytes:
        raise ValueError(
            f"{path} is {_mib(size)}, more than the limit max_bytes="
            f"{limits.bytes} ({_mib(limits.bytes)}); if you trust the file, pass "
            f"load(path, max_bytes={size * 2})"
        )


def _count(schema, max_depth):
    """``(values, npy references)`` of a parsed schema, refusing deep nesting."""
    values, refs, stack = 0, [], [(schema, 1)]
    while stack:
        item, depth = stack.pop()
        values += 1
        if depth > max_depth:
            raise ValueError(
                f"the model's skops schema is nested more than MAX_DEPTH={max_depth} "
                "levels deep (sklearn_mnist.save writes fewer than 30)"
            )
        if isinstance(item, dict):
            if item.get("__loader__") == "NdArrayNode" and item.get("type") == "numpy":
                refs.append(item.get("file"))
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return values, refs


def check_skops_budget(data, file_size, limits):
    """Refuse a skops part (``data``, bytes) whose loading costs too much.

    Counted from the zip's declared sizes and the schema before skops sees
    anything: the schema's bytes, each ``.npy`` reference's declared size
    (the same member referenced twice counts twice) and :data:`NODE_COST`
    per JSON value. The values are first over-estimated from the raw text
    (commas and brackets), so a schema too large to parse cheaply is refused
    before it is parsed.

    Returns the parsed schema.
    """
    budget = limits.skops_budget(len(data))
    how = (
        f"max_bytes={limits.max_bytes}"
        if limits.max_bytes is not None
        else f"{_mib(SKOPS_FLOOR)} + {EXPANSION} x its compressed size "
        f"{len(data):,} bytes = {_mib(budget)}"
    )
    advice = "if you trust the file, pass a larger load(path, max_bytes=...)"
    try:
        inner = zipfile.ZipFile(io.BytesIO(data))
        sizes = {info.filename: info.file_size for info in inner.infolist()}
        schema_size = sizes["schema.json"]
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, ValueError) as exc:
        raise ValueError(f"the model's skops part is corrupted: {exc}") from None
    if schema_size > budget:
        raise ValueError(
            f"the model's skops schema is {_mib(schema_size)}, more than its "
            f"limit ({how}); {advice}"
        )
    try:
        raw = inner.read("schema.json")
    except Exception as exc:  # zipfile fails in many ways on damaged data
        raise ValueError(
            f"the model's skops part is corrupted: {type(exc).__name__}: {exc}"
        ) from None
    estimate = raw.count(b",") + raw.count(b"[") + raw.count(b"{") + 1
    if len(raw) + NODE_COST * estimate > budget:
        estimate_cost = len(raw) + NODE_COST * estimate
        raise ValueError(
            f"the model's skops schema has up to {estimate:,} JSON values: loading "
            f"would build about {_mib(estimate_cost)}, more than its limit "
            f"({how}); {advice}"
        )
    try:
        schema = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ValueError(
            f"the model's skops schema is not valid JSON: {type(exc).__name__}: {exc}"
        ) from None
    values, refs = _count(schema, MAX_DEPTH)
    arrays = 0
    for ref in refs:
        if not isinstance(ref, str) or ref not in sizes or ref == "schema.json":
            raise ValueError(
                f"the model's skops schema refers to a missing array member {ref!r}"
            )
        arrays += sizes[ref]
    cost = len(raw) + arrays + NODE_COST * values
    if cost > budget:
        raise ValueError(
            f"loading the model's skops part would read or build about "
            f"{_mib(cost)} (schema {_mib(len(raw))}, {len(refs)} array "
            f"references {_mib(arrays)}, each reference counted, {values:,} JSON "
            f"values at {NODE_COST} bytes), more than its limit ({how}); {advice}"
        )
    if file_size + cost > limits.bytes:
        raise ValueError(
            f"loading would read about {_mib(file_size + cost)}, more than the "
            f"limit max_bytes={limits.bytes}; {advice}"
        )
    return schema
