"""Atomic file output: a file netdsl writes is either complete or absent.

Every writer (weight stores, engines, darknet exports, drawn images) writes
to a temporary file in the destination's directory and renames it over the
destination with ``os.replace`` only once it is complete; on any failure,
Ctrl-C included, the temporary file is removed and an older file at the
destination is left untouched.
"""
from __future__ import annotations

import contextlib
import os
import secrets

from .graph.errors import NetdslError


class OutputPathError(NetdslError, ValueError):
    """An output path that cannot be written: missing directory, a directory itself, or not writable."""


def check_output_path(path) -> str:
    """Check, before any work starts, that ``path`` can be written as a file.

    Args:
        path: str or PathLike of the file to write.
    Returns:
        ``path`` as a str.
    Raises:
        OutputPathError: ``path`` is an existing directory, its directory
            does not exist or is not a directory, or that directory is not
            writable — one line naming the path.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise OutputPathError(f"{path}: output path is a directory; give a file name")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise OutputPathError(f"{path}: output directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputPathError(f"{path}: output directory {directory} is not writable")
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path):
    """Context manager yielding a temporary path to write; it becomes ``path`` on success.

    The temporary file sits in the destination's directory (so the final
    ``os.replace`` is atomic), gets the permissions of a plainly created file
    (0666 minus the umask), is flushed to disk, then renamed. If the block
    raises — KeyboardInterrupt included — the temporary file is removed and
    the exception propagates.

    Raises:
        OutputPathError: as :func:`check_output_path`.
    """
    path = check_output_path(path)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        yield tmp
        if not os.path.exists(tmp):
            raise NetdslError(f"{path}: the writer produced no file")
        os.chmod(tmp, 0o666 & ~_umask())
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_bytes_atomic(path, data: bytes) -> int:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_output`); returns the byte count."""
    with atomic_output(path) as tmp:
        with open(tmp, "xb") as f:
            f.write(data)
    return len(data)
