"""The Sphinx docs build with warnings as errors."""

import pathlib

import pytest

DOCS = pathlib.Path(__file__).parents[1] / "docs"


def test_docs_build_without_warnings(tmp_path):
    sphinx_main = pytest.importorskip("sphinx.cmd.build").main
    pytest.importorskip("numpydoc")
    status = sphinx_main(["-W", "-q", "-b", "html", str(DOCS), str(tmp_path / "html")])
    assert status == 0
    assert (tmp_path / "html" / "api.html").exists()
