"""Settle glibc's allocator before training, so a process's first fit does
not spend its time in page faults.

PyTorch's CPU tensors come from ``malloc``. glibc serves allocations above
its ``mmap`` threshold (128 KiB at start) with fresh pages from the kernel and
returns the top of its heap once more than the trim threshold (twice the mmap
threshold) is free; both thresholds rise only as mmapped blocks are freed. A
training step allocates and frees tens of MiB of activations and gradients in
blocks of a few MiB, so through a process's first fit the heap grows and is
trimmed again and again: 1.0-2.0 million page faults in the first
``CNNClassifier()`` fit on full MNIST, about 70 in the second, and 10.4-13.1 s
against 8.2-9.1 s with the allocator settled (``benchmarks/RESULTS.md``).

Freeing one mmapped block of just under 32 MiB (glibc's largest dynamic
threshold on 64-bit systems) puts the thresholds where they would settle:
mmap at 32 MiB, trim at 64 MiB. This is glibc's own adjustment, triggered once
per process, not a setting: a threshold, top pad or mmap count the user set
(``mallopt``, ``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``,
``MALLOC_TOP_PAD_``, ``MALLOC_MMAP_MAX_`` or their ``GLIBC_TUNABLES``) turns
glibc's adjustment off and is left alone, and the block is never touched (no
memory is used). Elsewhere (macOS, Windows, musl) nothing is done.
"""

import ctypes
import functools
import platform
import sys

__all__ = ["settle_allocator"]

_BLOCK = 32 * 1024 * 1024 - 2 * 4096  # mmapped chunk just under 32 MiB


@functools.cache
def settle_allocator():
    """Raise glibc's mmap and trim thresholds to their settled values, once
    per process; True where that was done (Linux with glibc)."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        malloc, free = libc.malloc, libc.free
    except (OSError, AttributeError):
        return False
    malloc.restype, malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    free.restype, free.argtypes = None, [ctypes.c_void_p]
    block = malloc(_BLOCK)
    if not block:
        return False
    free(block)
    return True
