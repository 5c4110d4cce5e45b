"""``python -m netdsl.weights.h5probe FILE MAX_BYTES``: read a weight store in this (sacrificial) process.

Run by :func:`netdsl.weights.h5read.read_store` for files without checksums,
on which HDF5 can crash or hang. Exit status: 0 read, 3 a WeightsFileError
(its one-line message on stdout), anything else (a signal, a traceback) is
reported by the parent.
"""
from __future__ import annotations

import sys

from ..graph.errors import WeightsFileError
from .h5read import read_store


def main(argv: list[str]) -> int:
    path, max_bytes = argv[0], int(argv[1])
    try:
        read_store(path, max_bytes=max_bytes, isolate=False)
    except WeightsFileError as exc:
        print(exc, flush=True)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
