"""What the worst hostile model files cost ``sklearn_mnist.load``: extra RSS and time.

Each file is forged here from a small fitted MLP (nothing is committed), then
loaded in a fresh process that loads a valid file first (the imports that
``load`` makes), resets its peak resident memory (``/proc/self/clear_refs``; Linux) and
reports how far the peak rose while it loaded the file. The cases:

- ``amplified``: the prober's worst case, a file of about 123 KB whose skops
  part holds one ``.npy`` member (about 60 MB of zeros with a random byte
  every 16 KiB: it deflates 840 times, under the 1000x a member may expand)
  referenced 40 times from the schema. Before the budget, skops read it
  once per reference: 5.9 GB for 38 s on the prober's file.
- ``wide``: ``module__hidden_units=[2000] * 300`` with the MLP's own weights
  (5.4 GB before the parameter count was checked).
- ``valid``: the MLP itself, for comparison.

    python benchmarks/bench_hostile_files.py
"""

import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
import skops.io
from _harness import make_parser, md_header, md_row

from sklearn_mnist import MLPNetClassifier, load_mnist_sample, save

# The load is timed by hand: a bare ``python -c`` child, nothing but the package.
CHILD = """
import sys, time
import sklearn_mnist
def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
sklearn_mnist.load(sys.argv[2])  # the imports load makes, done first
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # VmHWM (peak RSS) := the current RSS
before = status("VmRSS:")
start = time.perf_counter()
try:
    sklearn_mnist.load(sys.argv[1])
    outcome = "loaded"
except ValueError as exc:
    outcome = "ValueError: " + str(exc).split(": ", 1)[1][:90]
took = time.perf_counter() - start
print(f"{status('VmHWM:') - before:.1f}\t{took:.2f}\t{outcome}")
"""


def _members(path):
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _write(path, files):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def amplified(src, dst, n_refs=40, n_bytes=60 * 2**20):
    arr = np.zeros(n_bytes, dtype=np.uint8)
    arr[::16384] = np.random.default_rng(0).integers(1, 256, len(arr[::16384]))
    npy = io.BytesIO()
    np.save(npy, arr)
    refs = [
        {"__class__": "ndarray", "__module__": "numpy", "__loader__": "NdArrayNode",
         "type": "numpy", "file": "big.npy", "__id__": 1000 + i}
        for i in range(n_refs)
    ]  # fmt: skip
    out = io.BytesIO()
    files = _members(src)
    with (
        zipfile.ZipFile(io.BytesIO(files["model.skops"])) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for name in zin.namelist():
            data = zin.read(name)
            if name == "schema.json":
                schema = json.loads(data)
                fitted = schema["content"]["content"]["fitted"]["content"]
                fitted["input_shape_"] = {
                    "__class__": "list", "__module__": "builtins",
                    "__loader__": "ListNode", "content": refs, "__id__": 1,
                }  # fmt: skip
                data = json.dumps(schema)
            zout.writestr(name, data)
        zout.writestr("big.npy", npy.getvalue())
    return _write(dst, {**files, "model.skops": out.getvalue()})


def wide(src, dst):
    files = _members(src)
    data = files["model.skops"]
    state = skops.io.loads(data, trusted=skops.io.get_untrusted_types(data=data))
    state.params["module__hidden_units"] = [2000] * 300
    return _write(dst, {**files, "model.skops": skops.io.dumps(state)})


def build_parser():
    return make_parser(__doc__)


def main(argv=None):
    build_parser().parse_args(argv)
    X, y = load_mnist_sample(return_X_y=True)
    net = MLPNetClassifier(
        module__hidden_units=(16,), max_epochs=1, batch_size=50, random_state=0
    ).fit(X[::25], y[::25])
    with tempfile.TemporaryDirectory() as tmp:
        valid = save(net, os.path.join(tmp, "valid.skmnist"))
        cases = {
            "valid": valid,
            "amplified": amplified(valid, os.path.join(tmp, "amplified.skmnist")),
            "wide": wide(valid, os.path.join(tmp, "wide.skmnist")),
        }
        print(md_header("case", "file (KB)", "extra RSS (MiB)", "load (s)", "outcome"))
        for name, path in cases.items():
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(path), str(valid)],
                capture_output=True, text=True, check=True,
                env={**os.environ, "OMP_NUM_THREADS": "1"},
            )  # fmt: skip
            size = os.path.getsize(path) / 1000
            print(md_row(name, f"{size:.0f}", *done.stdout.strip().split("\t")))


if __name__ == "__main__":
    main()
