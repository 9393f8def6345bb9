"""The ``__init__`` signature scikit-learn reads a classifier's parameters from."""

import inspect

__all__ = ["full_signature"]


def full_signature(cls):
    """``cls.__init__``'s signature with the keyword arguments it passes on.

    A subclass's ``__init__`` names only what it changes (``module``, ``lr``)
    and passes the rest through ``**kwargs`` to this class and skorch's
    ``NeuralNet``. scikit-learn reads defaults from the signature (the repr
    that shows changed parameters only, in a ``Pipeline`` too), so the
    signature lists every parameter once, the nearest class's default first.
    """
    own = inspect.signature(cls.__dict__["__init__"]).parameters.values()
    params = [p for p in own if p.kind is not p.VAR_KEYWORD]
    seen = {p.name for p in params}
    for klass in cls.__mro__[1:]:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        for p in inspect.signature(init).parameters.values():
            if p.name in seen or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                continue
            if p.default is p.empty:  # positional in skorch, given by a subclass
                continue
            seen.add(p.name)
            params.append(p.replace(kind=p.KEYWORD_ONLY))
    params.append(inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD))
    return inspect.Signature(params)
