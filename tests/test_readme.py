"""Every Python block of the README, the getting-started page and the user guide
runs as written, offline, in a fresh namespace and an empty working directory.

Blocks that call ``fetch_mnist`` or ``load_idx`` need the real MNIST files: the
test points them at ``../shared/data/mnist`` (or ``$SKLEARN_MNIST_SHARED``) the
way the user guide's "Local files" section describes: ``SKLEARN_MNIST_MIRROR`` is
its ``file://`` URL, ``SCIKIT_LEARN_DATA`` an empty temporary data home, and the
working directory holds ``mnist/`` (a link to the folder). Without the folder those
blocks are skipped, with the reason.
"""

import pathlib
import re
import textwrap

import pytest

ROOT = pathlib.Path(__file__).parents[1]
DOCUMENTS = ["README.md", "docs/getting_started.rst", "docs/user_guide.rst"]
NEEDS_REAL_MNIST = re.compile(r"\b(fetch_mnist|load_idx)\s*\(")


def markdown_blocks(text):
    """``(line, code)`` of every fenced ```python block."""
    for match in re.finditer(r"^```python[ \t]*\n(.*?)^```", text, re.M | re.S):
        yield text.count("\n", 0, match.start()) + 2, match.group(1)


def rst_blocks(text):
    """``(line, code)`` of every ``.. code-block:: python`` (any indentation)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"^(\s*)\.\. code-block:: python\s*$", line)
        if not match:
            continue
        directive_indent = len(match.group(1))
        j = i + 1
        while j < len(lines) and re.match(r"^\s+:\w[\w-]*:", lines[j]):
            j += 1  # directive options
        while j < len(lines) and not lines[j].strip():
            j += 1
        body = []
        for later in lines[j:]:
            if later.strip() and len(later) - len(later.lstrip()) <= directive_indent:
                break
            body.append(later)
        yield j + 1, textwrap.dedent("\n".join(body)).rstrip() + "\n"


def blocks():
    for name in DOCUMENTS:
        text = (ROOT / name).read_text()
        extract = markdown_blocks if name.endswith(".md") else rst_blocks
        for line, code in extract(text):
            # Blank lines in front: tracebacks give the line numbers of the file.
            yield pytest.param(name, "\n" * (line - 1) + code, id=f"{name}:{line}")


def test_blocks_are_found():
    ids = [param.id for param in blocks()]
    for name in DOCUMENTS:
        assert any(i.startswith(name) for i in ids), f"no Python block in {name}"


@pytest.mark.parametrize("name", [d for d in DOCUMENTS if d.endswith(".rst")])
def test_rst_code_blocks_say_their_language(name):
    # A bare ``::`` literal block would escape this test: say code-block:: python
    # (tested) or code-block:: bash / text (not run) instead.
    lines = (ROOT / name).read_text().splitlines()
    bare = [
        number
        for number, line in enumerate(lines, 1)
        if line.rstrip().endswith("::") and not line.lstrip().startswith("..")
    ]
    assert not bare, f"{name}: literal blocks without a language on lines {bare}"


@pytest.mark.parametrize(("name", "code"), list(blocks()))
def test_block_runs(name, code, tmp_path, monkeypatch, request):
    if NEEDS_REAL_MNIST.search(code):
        shared = request.getfixturevalue("shared_mnist_dir")  # skips when absent
        monkeypatch.setenv("SKLEARN_MNIST_MIRROR", shared.resolve().as_uri() + "/")
        (tmp_path / "mnist").symlink_to(shared.resolve(), target_is_directory=True)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "scikit_learn_data"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, name, "exec"), {"__name__": "__main__"})
