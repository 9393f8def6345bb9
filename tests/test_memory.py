"""The allocator settled before training: a process's first fit is not
spent in page faults (glibc only; each case in a fresh process, as the
allocator's state is the process's)."""

import json
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="glibc's allocator only",
)

# Whether glibc serves a block with fresh pages (mmap) or from its heap: the
# IS_MMAPPED bit of the chunk header. The module is loaded on its own, in a
# process that imported nothing else (torch's import frees blocks of its own).
_CHILD = """
import ctypes, importlib.util, json, sys
spec = importlib.util.spec_from_file_location("_memory", sys.argv[2])
memory = importlib.util.module_from_spec(spec)
spec.loader.exec_module(memory)
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.restype, libc.free.argtypes = None, [ctypes.c_void_p]
def mmapped(size):
    block = libc.malloc(size)
    bit = ctypes.c_size_t.from_address(block - 8).value & 2
    libc.free(block)
    return bool(bit)
small = mmapped(1 << 20)
done = memory.settle_allocator() if sys.argv[1] == "settled" else None
print(json.dumps([done, small, mmapped(16 << 20)]))
"""


def _mmapped(mode):
    from sklearn_mnist.utils import _memory

    out = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, _memory.__file__],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_settled_allocator_serves_training_sized_blocks_from_its_heap():
    # Unsettled, a 16 MiB block after a freed 1 MiB one is still given fresh
    # pages by the kernel (and given back on free): a training step's blocks
    # were faulted in anew step after step, 1-2 million faults in the first
    # fit on full MNIST (benchmarks/RESULTS.md). A count of faults is not
    # tested here: it depends on the machine's load.
    assert _mmapped("plain") == [None, True, True]
    assert _mmapped("settled") == [True, True, False]


def test_fit_settles_the_allocator():
    code = (
        "import numpy as np\n"
        "from sklearn_mnist import MLPNetClassifier\n"
        "from sklearn_mnist.utils import settle_allocator\n"
        "X = np.random.RandomState(0).rand(40, 64); y = np.arange(40) % 2\n"
        "MLPNetClassifier(max_epochs=1).fit(X, y)\n"
        "print(settle_allocator.cache_info().currsize)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "1"
