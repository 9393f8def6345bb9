"""Sphinx configuration.

Build (from the repository root; warnings are errors, the gallery runs every
example in examples/)::

    python -m sphinx -W -b html docs docs/_build/html

``-D plot_gallery=0`` builds the gallery pages without running the examples
(tests/test_docs.py does this; .ci/run builds with the examples).
"""

import importlib
import inspect
import re

# The halving-search example names scikit-learn's HalvingGridSearchCV, which
# exists only once this is imported; sphinx-gallery looks it up (to link the
# example to its API page) also when it does not run the examples.
from sklearn.experimental import enable_halving_search_cv  # noqa: F401

project = "sklearn-mnist"
author = "sklearn-mnist developers"
copyright = "sklearn-mnist developers"

extensions = [
    "sphinx.ext.autodoc",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinxarg.ext",  # cli.rst: generated from sklearn_mnist._cli.build_parser()
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
numpydoc_show_class_members = False
numpydoc_validation_checks = set()
autodoc_inherit_docstrings = False
nitpicky = False

html_theme = "pydata_sphinx_theme"
html_title = "sklearn-mnist"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
# The whole site's navigation on every page (_templates/sidebar-site-nav.html).
html_sidebars = {"**": ["sidebar-site-nav"]}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",  # run every plot_*.py
    "within_subsection_order": "ExampleTitleSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 0,
    "show_memory": False,
    # An example that raises fails the build.
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
}


# --- API pages -------------------------------------------------------------

_CLASS_REPR = re.compile(r"<class '([\w.]+)'>")
_DOTTED = re.compile(r"\b[A-Za-z_]\w*(?:\.\w+)+")


def public_name(path):
    """The shortest public dotted path of the object at ``path``.

    ``sklearn_mnist.neural_net._modules.CNNModule`` becomes
    ``sklearn_mnist.neural_net.CNNModule`` and
    ``torch.nn.modules.loss.CrossEntropyLoss`` ``torch.nn.CrossEntropyLoss``:
    the first package (at least two names deep, none private) that exports the
    same object. Paths that name nothing importable are returned unchanged.
    """
    parts = path.split(".")
    try:
        obj = importlib.import_module(parts[0])
        for i, part in enumerate(parts[1:], 1):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                obj = importlib.import_module(".".join(parts[: i + 1]))
    except ImportError:
        return path
    name = parts[-1]
    for depth in range(2, len(parts)):
        prefix = parts[:depth]
        if any(p.startswith("_") for p in prefix):
            break
        try:
            module = importlib.import_module(".".join(prefix))
        except ImportError:
            break
        if getattr(module, name, None) is obj:
            return ".".join(prefix + [name])
    return path


def public_signature(signature):
    """``<class 'a._b.C'>`` reprs and private module paths in a signature
    replaced by public names."""
    signature = _CLASS_REPR.sub(lambda m: public_name(m.group(1)), signature)
    return _DOTTED.sub(
        lambda m: public_name(m.group(0)) if "._" in m.group(0) else m.group(0),
        signature,
    )


def _process_signature(app, what, name, obj, options, signature, return_annotation):
    if signature:
        signature = public_signature(signature)
    return signature, return_annotation


_SECTION = re.compile(r"^(\S.*)\n-{3,}$", re.MULTILINE)


def _sections(doc):
    """A numpydoc docstring as ``[(title, text)]``, the summary titled ''."""
    doc = inspect.cleandoc(doc)
    found = list(_SECTION.finditer(doc))
    out = [("", doc[: found[0].start()] if found else doc)]
    ends = [m.start() for m in found[1:]] + [None]
    for match, end in zip(found, ends, strict=True):
        out.append((match.group(1), doc[match.end() : end]))
    return out


def _entries(text):
    """A Parameters section's entries as ``[(names, lines)]``."""
    entries = []
    for line in text.strip("\n").splitlines():
        if line and not line[0].isspace():
            names = [n.strip() for n in line.split(" : ")[0].split(",")]
            entries.append((names, [line]))
        elif entries:
            entries[-1][1].append(line)
    return entries


def inherited_parameters(cls, base):
    """``cls``'s docstring with every parameter of ``base`` it does not list.

    A subclass of :class:`~sklearn_mnist.neural_net.BaseImageClassifier`
    documents the parameters it adds or whose default it changes; this adds the
    base class's other entries after them (``**kwargs`` stays last), so every
    estimator's API page lists all its parameters.
    """
    own_sections = _sections(cls.__doc__)
    base_params = dict(_sections(base.__doc__)).get("Parameters", "")
    own = _entries(dict(own_sections).get("Parameters", ""))
    listed = {n for names, _ in own for n in names}
    merged = [e for e in own if e[0] != ["**kwargs"]]
    kwargs = [e for e in own if e[0] == ["**kwargs"]]
    for names, lines in _entries(base_params):
        keep = [n for n in names if n not in listed]
        if names == ["**kwargs"]:
            kwargs = kwargs or [(names, lines)]
        elif keep == names:
            merged.append((names, lines))
        elif keep:  # a shared entry ("criterion, optimizer, lr, ..."), some listed
            head = ", ".join(keep) + lines[0][len(", ".join(names)) :]
            merged.append((keep, [head] + lines[1:]))
    params = "\n" + "\n".join(line for _, lines in merged + kwargs for line in lines)
    params += "\n\n"
    sections = [s for s in own_sections if s[0] != "Parameters"]
    sections.insert(1, ("Parameters", params))
    return "".join(
        f"{title}\n{'-' * len(title)}{text}" if title else text
        for title, text in sections
    )


def _process_docstring(app, what, name, obj, options, lines):
    from sklearn_mnist.neural_net import BaseImageClassifier

    if (
        what == "class"
        and isinstance(obj, type)
        and issubclass(obj, BaseImageClassifier)
        and obj is not BaseImageClassifier
        and obj.__doc__
    ):
        lines[:] = inherited_parameters(obj, BaseImageClassifier).splitlines()


def setup(app):
    app.connect("autodoc-process-signature", _process_signature)
    # Before numpydoc (priority 500) turns the sections into reST.
    app.connect("autodoc-process-docstring", _process_docstring, priority=400)
