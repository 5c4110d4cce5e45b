"""The ``netdsl`` console script's entry point, kept outside the ``netdsl`` package on purpose.

Importing ``netdsl`` takes a moment (NumPy, the layer modules). A Ctrl-C
during that moment would otherwise print a traceback from the import line of
the generated script; here the import itself runs under the same rule as the
work: Ctrl-C is one line and exit status 130.
"""
import sys


def main() -> None:
    """Import the CLI and run it (``netdsl.cli.console_main``); Ctrl-C while importing exits with 130."""
    try:
        from netdsl.cli import console_main
    except KeyboardInterrupt:
        print("netdsl: interrupted", file=sys.stderr)
        sys.exit(130)
    console_main()
