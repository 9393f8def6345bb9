"""The allocator settled before training: a process's first fit is not
spent in page faults (glibc only; each case in a fresh process, as the
allocator's state is the process's)."""

import json
import os
import platform
import resource
import sys

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="glibc's allocator only",
)

# Whether glibc serves a block with fresh pages (mmap) or from its heap: the
# IS_MMAPPED bit of the chunk header. The module is loaded on its own, in a
# process that imported nothing else (torch's import frees blocks of its own).
# "dynamic": glibc's own threshold adjustment is in effect (a freed 1 MiB
# mmapped block lets a 512 KiB one come from the heap), as it is unless a
# malloc setting (MALLOC_*_ or GLIBC_TUNABLES) turned it off.
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
dynamic = mmapped(1 << 20) and not mmapped(1 << 19)
done = memory.settle_allocator() if sys.argv[1] == "settled" else None
print(json.dumps({"dynamic": dynamic, "done": done, "big": mmapped(16 << 20)}))
"""

_MALLOC_SETTINGS = ("MALLOC_", "GLIBC_TUNABLES")


def _mmapped(fresh_python, mode, **malloc_env):
    """The child's answers, in an environment without malloc settings but
    ``malloc_env``."""
    from sklearn_mnist.utils import _memory

    env = {k: v for k, v in os.environ.items() if not k.startswith(_MALLOC_SETTINGS)}
    env.update(malloc_env)
    out = fresh_python(_CHILD, mode, _memory.__file__, env=env)
    return json.loads(out.strip().splitlines()[-1])


def _machine():
    """What the allocator's behaviour depends on, for a failure's message."""
    settings = {k: v for k, v in os.environ.items() if k.startswith(_MALLOC_SETTINGS)}
    limits = {
        name: resource.getrlimit(getattr(resource, name))
        for name in ("RLIMIT_DATA", "RLIMIT_AS")
    }
    return (
        f"glibc {platform.libc_ver()[1]}, {platform.machine()}, page size "
        f"{resource.getpagesize()}, limits {limits}, malloc settings {settings}"
    )


def test_settled_allocator_serves_training_sized_blocks_from_its_heap(fresh_python):
    # Unsettled, a 16 MiB block after a freed 1 MiB one is still given fresh
    # pages by the kernel (and given back on free): a training step's blocks
    # were faulted in anew step after step, 1-2 million faults in the first
    # fit on full MNIST (benchmarks/RESULTS.md). A count of faults is not
    # tested here: it depends on the machine's load.
    plain = _mmapped(fresh_python, "plain")
    settled = _mmapped(fresh_python, "settled")
    if not plain["dynamic"]:
        pytest.skip(
            "glibc's dynamic mmap threshold is not in effect on this machine "
            f"even without malloc settings, so there is nothing to settle: {_machine()}"
        )
    assert plain == {"dynamic": True, "done": None, "big": True}, _machine()
    assert settled == {"dynamic": True, "done": True, "big": False}, _machine()


def test_malloc_threshold_set_by_the_user_is_left_alone(fresh_python):
    # A threshold the user set turns glibc's adjustment off; settling does
    # not override it: a 16 MiB block above a 1 MiB threshold stays mmapped.
    settled = _mmapped(fresh_python, "settled", MALLOC_MMAP_THRESHOLD_=str(1 << 20))
    assert settled["done"] is True and settled["big"] is True, _machine()
    tunable = _mmapped(
        fresh_python, "settled", GLIBC_TUNABLES=f"glibc.malloc.mmap_threshold={1 << 20}"
    )
    assert tunable["big"] is True, _machine()
    # Any other malloc setting turns the adjustment off as well (the default
    # 128 KiB threshold then stays), and settling leaves it so.
    top_pad = _mmapped(fresh_python, "settled", MALLOC_TOP_PAD_="0")
    assert top_pad == {"dynamic": False, "done": True, "big": True}, _machine()


def test_fit_settles_the_allocator(fresh_python):
    code = (
        "import numpy as np\n"
        "from sklearn_mnist import MLPNetClassifier\n"
        "from sklearn_mnist.utils import settle_allocator\n"
        "X = np.random.RandomState(0).rand(40, 64); y = np.arange(40) % 2\n"
        "MLPNetClassifier(max_epochs=1).fit(X, y)\n"
        "print(settle_allocator.cache_info().currsize)\n"
    )
    assert fresh_python(code).strip().splitlines()[-1] == "1"
