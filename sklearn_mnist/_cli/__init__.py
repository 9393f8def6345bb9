"""The ``sklearn-mnist`` command (also ``python -m sklearn_mnist``).

It parses arguments and calls the library: models are written with
:func:`sklearn_mnist.save` and read with :func:`sklearn_mnist.load` (pickles
only with ``--trust-pickle``), reports with
:func:`sklearn_mnist.metrics.write_report`. Results go to stdout, progress and
errors to stderr; every error is one line and an exit code from ``EXIT_CODES``.

``_args.py`` (exit codes, the parser), ``_io.py`` (data, model files,
outputs, progress), ``_commands.py`` (demo, fit, evaluate, attack,
export-onnx, predict), ``_predict.py`` (predict's files, batches and model
inputs), ``_main.py`` (errors to exit codes).
"""

from ._args import EXIT_CODES, build_parser
from ._main import main

__all__ = ["EXIT_CODES", "build_parser", "main"]
