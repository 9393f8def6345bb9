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
    for module in ("numpydoc", "sphinx_gallery", "pydata_sphinx_theme", "sphinxarg"):
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


BENCHMARK_PAGES = ["index", "classifiers", "speed", "robustness", "own_images",
                   "deployment"]  # fmt: skip


def test_docs_build_without_warnings(html):
    for page in ["index", "getting_started", "user_guide", "cli", "deployment",
                 "api", "architecture", "auto_examples/index",
                 *(f"benchmarks/{name}" for name in BENCHMARK_PAGES)]:  # fmt: skip
        assert (html / f"{page}.html").exists(), page


def test_build_is_quiet():
    """No deprecated gallery option, no MyST parser (it prints its whole
    configuration at every build)."""
    import runpy

    conf = runpy.run_path(str(DOCS / "conf.py"))
    assert "reference_url" not in conf["sphinx_gallery_conf"]
    assert "myst_parser" not in conf["extensions"]


def test_every_page_has_the_site_navigation(html):
    for page in ["index", "user_guide", "cli", "api", "benchmarks/speed"]:
        nav = (html / f"{page}.html").read_text().split('class="bd-docs-nav', 1)
        assert len(nav) == 2, page
        nav = nav[1].split("</nav>", 1)[0]
        for target in ["getting_started.html", "user_guide.html", "api.html",
                       "benchmarks/index.html"]:  # fmt: skip
            if not target.startswith(page):
                assert target.split("/")[-1] in nav, (page, target)


def test_landing_page_has_code_and_a_figure(html):
    page = (html / "index.html").read_text()
    assert "CNNClassifier" in text(html / "index.html")
    assert "classification_report" in text(html / "index.html")
    assert '<div class="highlight' in page
    assert re.search(r'<img [^>]*src="_images/confusion_matrix.png"', page)


def class_section(page, name):
    """The HTML of one class's entry on an API page."""
    start = page.index(f'id="{name}"')
    end = page.find('<dl class="py class">', start)
    return page[start : end if end != -1 else None]


@pytest.mark.parametrize(
    "name", ["CNNClassifier", "MLPNetClassifier", "TransferClassifier"]
)
def test_classifier_pages_list_every_parameter(html, name):
    import inspect

    import sklearn_mnist.neural_net as neural_net

    section = class_section(
        (html / "api.html").read_text(), f"sklearn_mnist.neural_net.{name}"
    )
    assert "Parameters:" in re.sub(r"<[^>]+>", "", section)
    params = section.split("Parameters<", 1)[1].split('<dt class="field-even">', 1)[0]
    documented = set(re.findall(r"<strong>(\w+)</strong>", params))
    for group in re.findall(r"<strong>([\w, ]+)</strong>", params):
        documented.update(n.strip() for n in group.split(","))
    signature = inspect.signature(getattr(neural_net, name))
    missing = [p for p in signature.parameters if p not in documented | {"kwargs"}]
    assert not missing, (name, missing)


def test_api_signatures_show_no_private_paths(html):
    page = (html / "api.html").read_text()
    signatures = re.findall(r'<dt class="sig sig-object py".*?</dt>', page, re.S)
    assert len(signatures) > 20
    for sig in signatures:
        sig = html_module.unescape(re.sub(r"<[^>]+>", "", sig))
        assert not re.search(r"\b[a-z_]+\._[a-z]\w*\.", sig), sig
        assert "<class " not in sig, sig


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


def test_benchmarks_pages_cover_results_md(html):
    """Every section of the raw record, benchmarks/RESULTS.md, has a section on
    the benchmarks pages, with the commands to reproduce it."""
    pages = " ".join(text(html / "benchmarks" / f"{n}.html") for n in BENCHMARK_PAGES)
    headings = [
        line.lstrip("#").strip()
        for line in (ROOT / "benchmarks" / "RESULTS.md").read_text().splitlines()
        if line.startswith("## ")
    ]
    assert headings
    for heading in headings:
        title = heading.split("(")[0].strip()
        assert title in pages, heading
    for name in BENCHMARK_PAGES[1:]:
        assert "python bench" in text(html / "benchmarks" / f"{name}.html"), name


def test_benchmarks_pages_have_no_internal_remarks(html):
    for name in BENCHMARK_PAGES:
        page = text(html / "benchmarks" / f"{name}.html")
        for remark in [r"\bissue \d", r"\.\./shared", r"device tool", r"ad-hoc",
                       r"\btest suite\b", r"\bcommit [0-9a-f]{7}"]:  # fmt: skip
            assert not re.search(remark, page, re.I), (name, remark)


def test_benchmarks_figure_is_shown(html):
    page = (html / "benchmarks" / "robustness.html").read_text()
    assert re.search(r'<img [^>]*src="[./]*_images/robustness_curve[^"]*\.png"', page)
