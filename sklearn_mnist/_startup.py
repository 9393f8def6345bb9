"""Ctrl-C while the ``sklearn-mnist`` command is still importing: one line,
exit code 130, no traceback.

The package imports this module first. It does something only in the
command line's own process (the ``sklearn-mnist`` script, or ``python -m
sklearn_mnist``): it installs a SIGINT handler for the seconds that importing
torch and scikit-learn takes, which ``sklearn_mnist._cli.main`` replaces with
Python's own as soon as it starts. A program that imports the package is not
affected.
"""

import os
import signal
import sys
import threading

__all__ = ["release"]

_MESSAGE = b"sklearn-mnist: interrupted\n"


def _is_command():
    argv = sys.argv or [""]
    script = os.path.basename(argv[0])
    for end in (".exe", "-script.py", "-script.pyw"):
        script = script.removesuffix(end)
    if script == "sklearn-mnist":
        return True
    # ``python -m sklearn_mnist``: argv[0] is "-m" while the package imports
    if argv[0] != "-m":
        return False
    orig = list(getattr(sys, "orig_argv", []))
    if "-msklearn_mnist" in orig:
        return True
    at = orig.index("-m") + 1 if "-m" in orig else len(orig)
    return orig[at : at + 1] == ["sklearn_mnist"]


def _interrupted(signum, frame):
    """Nothing is written yet: say it and stop now, whatever is importing."""
    try:
        os.write(2, _MESSAGE)
    finally:
        os._exit(130)


def release():
    """Python's own SIGINT handler again (``KeyboardInterrupt``), if the
    start-up one is installed; the command handles it from here."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is _interrupted:
        signal.signal(signal.SIGINT, signal.default_int_handler)


if (
    threading.current_thread() is threading.main_thread()
    and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    and _is_command()
):
    signal.signal(signal.SIGINT, _interrupted)
