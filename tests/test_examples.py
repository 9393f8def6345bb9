"""Every script in examples/ runs, and draws figures the gallery can show.

The docs build runs them too (.ci/run); here each one runs on its own, in an
empty working directory, with the settings it has (they are small: seconds each).
Every figure must have a title, labelled axes wherever axes are shown, and
nothing outside the figure (nothing clipped).
"""

import ast
import pathlib
import runpy

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

EXAMPLES = sorted((pathlib.Path(__file__).parents[1] / "examples").glob("plot_*.py"))


def test_examples_are_found():
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_is_in_gallery_format(path):
    source = path.read_text()
    docstring = ast.get_docstring(ast.parse(source))
    assert docstring, "a module docstring with the title"
    title, underline = docstring.splitlines()[:2]
    assert set(underline) == {"="} and len(underline) >= len(title), title
    assert "\n# %%\n" in source, "cells separated by # %%"
    assert "matplotlib.use(" not in source, "the gallery chooses the backend"


def figure_title(fig):
    titles = [fig._suptitle.get_text()] if fig._suptitle is not None else []
    titles += [ax.get_title() for ax in fig.axes]
    return " ".join(t for t in titles if t)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_and_draws_labelled_figures(
    path, tmp_path, monkeypatch, capsys, assert_nothing_clipped
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "scikit_learn_data"))
    plt.close("all")
    try:
        runpy.run_path(str(path), run_name="__main__")
        assert capsys.readouterr().out, "prints its results"
        figures = [plt.figure(n) for n in plt.get_fignums()]
        assert figures, "draws at least one figure"
        for fig in figures:
            assert figure_title(fig), f"figure {fig.number} has no title"
            for ax in fig.axes:
                if ax.axison:
                    assert ax.get_xlabel() and ax.get_ylabel(), (
                        f"figure {fig.number}: axes '{ax.get_title()}' unlabelled"
                    )
            assert_nothing_clipped(fig)
    finally:
        plt.close("all")
