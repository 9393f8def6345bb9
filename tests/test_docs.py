"""The Sphinx docs build with warnings as errors.

The gallery's pages are built without running the examples here
(``-D plot_gallery=0``): tests/test_examples.py runs them, and .ci/run builds the
docs with them.
"""

import argparse
import html as html_module
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).parents[1]
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    sphinx_main = pytest.importorskip("sphinx.cmd.build").main
    for module in ("numpydoc", "sphinx_gallery", "pydata_sphinx_theme", "myst_parser",
                   "sphinxarg"):  # fmt: skip
        pytest.importorskip(module)
    out = tmp_path_factory.mktemp("docs") / "html"
    status = sphinx_main(
        ["-W", "-q", "-b", "html", "-D", "plot_gallery=0", str(DOCS), str(out)]
    )
    assert status == 0
    return out


def text(path):
    """The page's text: tags removed, entities decoded, whitespace collapsed."""
    raw = re.sub(r"<[^>]+>", "", path.read_text())
    return " ".join(html_module.unescape(raw).split())


def test_docs_build_without_warnings(html):
    for page in ["index", "getting_started", "user_guide", "cli", "deployment",
                 "api", "benchmarks", "architecture",
                 "auto_examples/index"]:  # fmt: skip
        assert (html / f"{page}.html").exists(), page


def test_every_example_is_in_the_gallery(html):
    index = (html / "auto_examples" / "index.html").read_text()
    for example in sorted((ROOT / "examples").glob("plot_*.py")):
        assert (html / "auto_examples" / f"{example.stem}.html").exists()
        assert f"{example.stem}.html" in index, example.name


def test_cli_page_shows_every_command_and_option(html):
    from sklearn_mnist._cli import build_parser

    page = text(html / "cli.html")
    parser = build_parser()
    (commands,) = [
        action
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    ]
    assert commands.choices
    for name, sub in commands.choices.items():
        assert f"sklearn-mnist {name}" in page, name
        for action in sub._actions:
            for option in action.option_strings:
                assert option in page, (name, option)


def test_cli_page_lists_every_exit_code(html):
    from sklearn_mnist._cli import EXIT_CODES

    def letters(words):  # tags joined without spaces: compare letters and digits
        return re.sub(r"\W", "", words)

    page = letters(text(html / "cli.html"))
    for code, meaning in EXIT_CODES.items():
        assert letters(f"{code}{meaning}") in page, code


def test_benchmarks_page_includes_results_md(html):
    page = text(html / "benchmarks.html")
    headings = [
        line.lstrip("#").strip()
        for line in (ROOT / "benchmarks" / "RESULTS.md").read_text().splitlines()
        if line.startswith("## ")
    ]
    assert headings
    for heading in headings:
        title = heading.split("(")[0].strip()
        assert title in page, heading
