"""Atomic file output: a file netdsl writes is either complete or absent; reading users' array files.

Every writer (weight stores, engines, darknet exports, drawn images) writes
to a temporary file in the destination's directory and renames it over the
destination with ``os.replace`` only once it is complete; on any failure,
Ctrl-C included, the temporary file is removed and an older file at the
destination is left untouched.

:func:`load_array_file` reads an ``.npz`` or ``.npy`` of inputs without pickles, completely (so the
file is closed), and :func:`savez_hint` spells the ``np.savez`` call that makes the ``.npz`` a
command expects; :func:`load_str_map` reads a JSON name map.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import zipfile

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


# np.load's failures on a missing, unreadable, truncated, pickled or non-NumPy file
ARRAY_FILE_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile)


def load_array_file(path):
    """``np.load(path, allow_pickle=False)`` read completely: a dict name -> array for an ``.npz``,
    the array itself for a ``.npy`` (which holds one unnamed array).

    Raises:
        one of :data:`ARRAY_FILE_ERRORS`, for the caller to report with the file's name.
    """
    import numpy as np
    loaded = np.load(os.fspath(path), allow_pickle=False)
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded as data:
        return {k: np.asarray(data[k]) for k in data.files}


def savez_hint(path, names) -> str:
    """The call that saves one array per name in an ``.npz`` beside ``path``:
    ``np.savez('x.npz', images=x)`` (``a=..., b=...`` for several names), or
    ``np.savez('x.npz', **{'input.1': x})`` for names that are not Python identifiers."""
    import keyword
    stem, ext = os.path.splitext(os.fspath(path))
    target = (stem if ext.lower() == ".npy" else os.fspath(path)) + ("" if ext.lower() == ".npz" else ".npz")
    names = list(names)
    value = "x" if len(names) == 1 else "..."
    if all(n.isidentifier() and not keyword.iskeyword(n) for n in names):
        args = ", ".join(f"{n}={value}" for n in names)
    else:
        args = "**{" + ", ".join(f"{n!r}: {value}" for n in names) + "}"
    return f"np.savez({target!r}, {args})"


def load_str_map(path, what: str, meaning: str, error=NetdslError) -> dict[str, str]:
    """A JSON file holding one object of str -> str (a name map), as a dict.

    Args:
        path: the file. what: how messages name it (``"name map"``, ``"--map"``).
        meaning: what its keys and values are, for the message (``"reference names to netdsl tensor names"``).
        error: the NetdslError subclass to raise.
    Raises:
        ``error``: an unreadable file or JSON, or not an object of str -> str (one line naming the file).
    """
    try:
        with open(os.fspath(path), encoding="utf-8") as f:
            mapping = json.load(f)
    except (OSError, ValueError) as exc:
        raise error(f"{what} {path} cannot be read as JSON: {exc}") from None
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise error(f"{what} {path} must be a JSON object mapping {meaning}")
    return mapping
