"""``main``: parse, run the command, map every error to its exit code."""

import logging
import sys

from .. import _startup
from ._args import EXIT_ERROR, CLIError, build_parser
from ._commands import COMMANDS

__all__ = ["main"]


def _one_line(exc):
    return " ".join(str(exc).split())


def _interrupted():
    print("sklearn-mnist: interrupted", file=sys.stderr)
    return 130


def main(argv=None):
    """Entry point; returns the process exit code. Ctrl-C at any moment: one
    line, exit code 130 (during the imports: see ``sklearn_mnist._startup``)."""
    _startup.release()
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or bad arguments (2)
        return exc.code
    except KeyboardInterrupt:  # parsing imports torch, onnx
        return _interrupted()
    try:
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
        return COMMANDS[args.command](args)
    except CLIError as exc:
        if args.verbose and exc.__cause__ is not None:
            import traceback

            traceback.print_exception(exc.__cause__, file=sys.stderr)
        print(f"sklearn-mnist: error: {_one_line(exc)}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return _interrupted()
    except Exception as exc:
        if args.verbose:
            import traceback

            traceback.print_exc(file=sys.stderr)
        print(
            f"sklearn-mnist: error: {type(exc).__name__}: {_one_line(exc)}"
            + ("" if args.verbose else " (run with --verbose for the traceback)"),
            file=sys.stderr,
        )
        return EXIT_ERROR
