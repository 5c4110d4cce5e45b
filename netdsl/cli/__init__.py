"""The ``netdsl`` command line: convert, export, build, detect, inspect, compare.

One module per command (``netdsl/cli/<command>.py``, each with
``add_parser(subparsers)`` and ``run(args)``); this module wires them and
owns the rules every command keeps:

* any failure is one line ``netdsl: error: ...`` on stderr, exit status 1
  (2 for a usage error), and no partly written output file;
* Ctrl-C stops the work: one line ``netdsl: interrupted``, exit status 130;
* a closed output pipe (``netdsl inspect ... | head``) ends quietly;
* warnings from libraries reach stderr as single ``netdsl: warning:`` lines.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

COMMANDS = ("convert", "export", "build", "detect", "inspect", "compare", "calibrate", "quantize")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``netdsl: error: <what> (see netdsl <cmd> --help)``."""

    def error(self, message):
        print(f"netdsl: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def make_parser() -> argparse.ArgumentParser:
    """The argument parser of every command (for documentation and tests)."""
    from .. import __version__
    parser = _Parser(prog="netdsl", description="TensorRT networks written as Python code.")
    parser.add_argument("--version", action="version", version=f"netdsl {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_parser(sub)
    return parser


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"netdsl: warning: {_one_line(message)}", file=sys.stderr)


def main(argv=None) -> int:
    """Run the command line; returns the exit status (0, 1 error, 2 usage, 130 Ctrl-C)."""
    from ..graph.errors import NetdslError
    try:
        args = make_parser().parse_args(argv)
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            status = args.func(args)
        sys.stdout.flush()
        if status:  # a command's own verdict (compare: 1 when a tensor differs)
            return int(status)
    except KeyboardInterrupt:
        print("netdsl: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``| head``): not an error. Point stdout at /dev/null so the
        # interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (NetdslError, OSError) as exc:
        print(f"netdsl: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    return 0


def console_main() -> None:
    """Entry point of the ``netdsl`` script: :func:`main`, then exit with its status.

    Once the work is finished and reported, a late Ctrl-C no longer changes
    the outcome (it would otherwise kill the interpreter while it exits).
    """
    import signal
    status = main()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stdout.flush()
    sys.exit(status)


if __name__ == "__main__":
    console_main()
