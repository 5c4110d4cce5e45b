"""``python -m netdsl.cli``: the same as the ``netdsl`` command."""
from . import console_main

console_main()
