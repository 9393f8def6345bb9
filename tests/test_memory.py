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

# Training steps of the default CNN (batches of 256 digits): each allocates
# and frees tens of MiB in blocks of a few MiB.
_CHILD = """
import json, resource, sys
import torch
from sklearn_mnist.neural_net import AdamW, CNNModule
from sklearn_mnist.utils import settle_allocator
done = settle_allocator() if sys.argv[1] == "settled" else None
torch.manual_seed(0)
net = CNNModule((1, 28, 28), 10).to(memory_format=torch.channels_last)
opt = AdamW(net.parameters())
x = torch.randn(256, 1, 28, 28).contiguous(memory_format=torch.channels_last)
y = torch.randint(0, 10, (256,))
def steps(n):
    for _ in range(n):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
steps(1)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
steps(20)
print(json.dumps([done, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before]))
"""


def _faults(mode):
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, mode], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_settled_allocator_keeps_freed_blocks():
    done, settled = _faults("settled")
    _, plain = _faults("plain")
    assert done is True
    # Unsettled, glibc trims its heap and faults the pages in again step
    # after step (measured: 20,000 faults in 10 steps, 3,100 settled).
    assert plain > 3 * settled


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
