"""Where ``netdsl detect --out DIR`` writes drawn images, in which format, and writing them all-or-nothing.

Naming rule (also in ``docs/images.md``):

* the output format is JPEG (quality 95, no chroma subsampling, suffix
  ``.jpg``) when the input *is* a JPEG (by content, whatever its name),
  otherwise PNG (suffix ``.png``) — PNG is lossless and Pillow always
  writes it; GIF, WebP, TIFF and BMP inputs become PNG;
* the file name is the input's name without its last suffix, plus that
  suffix: ``photos/dog.jpg`` -> ``DIR/dog.jpg``, ``scan.tiff`` ->
  ``DIR/scan.png``, ``b.bin`` holding a JPEG -> ``DIR/b.jpg``;
* when two inputs would get the same name (compared case-insensitively, for
  case-insensitive file systems), the later one in command-line order gets
  ``-2``, ``-3``, ... before the suffix, the first free number:
  ``a/dog.jpg b/dog.jpg`` -> ``dog.jpg``, ``dog-2.jpg``;
* an output that would replace one of the inputs is refused before anything
  is written; other files of the same name in DIR are replaced.

:class:`StagedOutputs` writes each image through
:func:`netdsl.files.atomic_output` to a temporary file in DIR, but renames
them over their final names only when the whole run succeeded: a failed or
interrupted run leaves DIR as it was (a directory it created is removed again).
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ..files import OutputPathError, atomic_output

JPEG_FORMATS = ("JPEG", "MPO")
SAVE_OPTIONS = {"JPEG": {"quality": 95, "subsampling": 0}, "PNG": {}}


def output_format(input_format: str) -> tuple[str, str]:
    """(Pillow format to write, file suffix) for an input of Pillow format ``input_format``."""
    return ("JPEG", ".jpg") if input_format in JPEG_FORMATS else ("PNG", ".png")


def output_names(inputs) -> list[str]:
    """File names in the output directory for ``inputs``, a sequence of (path, Pillow format) pairs.

    Returns:
        One distinct name per input, in the same order (see the module's naming rule).
    """
    taken: set[str] = set()
    names = []
    for path, fmt in inputs:
        stem = Path(path).stem or "image"
        suffix = output_format(fmt)[1]
        name, n = f"{stem}{suffix}", 1
        while name.casefold() in taken:
            n += 1
            name = f"{stem}-{n}{suffix}"
        taken.add(name.casefold())
        names.append(name)
    return names


def check_output_dir(directory) -> Path:
    """Check that ``directory`` is, or can be created as, a writable directory; nothing is created yet.

    Raises:
        OutputPathError: it exists and is not a directory, or the nearest
            existing ancestor is not a writable directory — one line naming it.
    """
    directory = Path(directory)
    if directory.exists():
        if not directory.is_dir():
            raise OutputPathError(f"{directory}: --out exists and is not a directory")
        if not os.access(directory, os.W_OK | os.X_OK):
            raise OutputPathError(f"{directory}: output directory is not writable")
        return directory
    parent = directory.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"{directory}: cannot create the output directory ({parent} is not a writable "
                              f"directory)")
    return directory


def check_not_inputs(directory, names, inputs) -> None:
    """Refuse an output name that is one of the input files (``--out`` pointing at the inputs' folder)."""
    for name in names:
        target = Path(directory) / name
        if not target.exists():
            continue
        for path in inputs:
            if os.path.samefile(target, path):
                raise OutputPathError(f"{target}: the drawn image would replace the input {path}; "
                                      f"choose another --out directory")


class StagedOutputs:
    """Context manager: stage drawn images in ``directory``; commit them all only if the block succeeds.

    On entry the directory (and missing parents) is created. :meth:`write`
    saves an image to a temporary file there (0666 minus umask, like any
    file netdsl writes). On a clean exit every temporary file is renamed
    over its final name; on an exception (Ctrl-C included) they are
    removed, and directories created on entry are removed if empty.
    A failure during the final renames can leave the earlier ones done.
    """

    def __init__(self, directory):
        self.directory = Path(directory)
        self._created: list[Path] = []
        self._stack = contextlib.ExitStack()

    def __enter__(self):
        missing = []
        d = self.directory.absolute()
        while not d.exists():
            missing.append(d)
            d = d.parent
        for d in reversed(missing):
            d.mkdir()
            self._created.append(d)
        self._stack.__enter__()
        return self

    def write(self, image, name: str, fmt: str) -> Path:
        """Stage ``image`` (a PIL image) as ``name`` in Pillow format ``fmt`` ("JPEG" or "PNG")."""
        target = self.directory / name
        tmp = self._stack.enter_context(atomic_output(target))
        image.save(tmp, format=fmt, **SAVE_OPTIONS.get(fmt, {}))
        return target

    def __exit__(self, kind, exc, tb):
        try:
            return self._stack.__exit__(kind, exc, tb)
        finally:
            if kind is not None:
                for d in reversed(self._created):
                    with contextlib.suppress(OSError):
                        d.rmdir()
