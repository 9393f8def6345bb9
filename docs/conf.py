"""Sphinx configuration.

Build (from the repository root; warnings are errors, the gallery runs every
example in examples/)::

    python -m sphinx -W -b html docs docs/_build/html

``-D plot_gallery=0`` builds the gallery pages without running the examples
(tests/test_docs.py does this; .ci/run builds with the examples).
"""

project = "sklearn-mnist"
author = "sklearn-mnist developers"
copyright = "sklearn-mnist developers"

extensions = [
    "sphinx.ext.autodoc",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",  # benchmarks.md includes benchmarks/RESULTS.md
    "sphinxarg.ext",  # cli.rst: generated from sklearn_mnist._cli.build_parser()
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
numpydoc_show_class_members = False
numpydoc_validation_checks = set()
autodoc_inherit_docstrings = False
nitpicky = False
myst_heading_anchors = 3

html_theme = "pydata_sphinx_theme"
html_title = "sklearn-mnist"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",  # run every plot_*.py
    "within_subsection_order": "ExampleTitleSortKey",
    "reference_url": {"sklearn_mnist": None},  # link names in code to api.html
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 0,
    "show_memory": False,
    # An example that raises fails the build.
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
}
