"""Sphinx configuration: API reference from numpydoc docstrings, warnings as errors
(tests/test_docs.py builds with -W)."""

project = "sklearn-mnist"
author = "sklearn-mnist developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.intersphinx", "numpydoc"]
numpydoc_show_class_members = False
numpydoc_validation_checks = set()
autodoc_inherit_docstrings = False
exclude_patterns = ["_build"]
html_theme = "alabaster"
nitpicky = False
