"""tensorrtx ``.wts`` text weight files: read, import into netdsl weights, and export for tensorrtx C++ builds.

Format, as tensorrtx's ``gen_wts.py`` writes it and its C++ ``loadWeights``
reads it (wang-xinyu/tensorrtx)::

    <count>\\n
    <name> <n>  <hex> <hex> ... <hex>\\n        (count lines)

``count`` is the number of tensors; each line holds a state-dict key, the
number of values ``n``, then ``n`` words, each a float32 as 8 hex digits of
its big-endian bytes (``struct.pack('>f', v).hex()``; the C++ side reads
them with ``std::hex`` into a ``uint32_t``). Values are flattened (torch's
``reshape(-1)``): the file has no shapes, so on import every tensor takes
the shape of the netdsl weight it fills (same element count).

Reading is strict and bounded: the count line and each ``n`` are checked
against what is actually in the file (no allocation sized by a claim), hex
words must be 1-8 hex digits, names must be unique; any fault is a
:class:`WeightImportError` naming the file, line and what was expected vs
found. Export -> import is exact (the bits of each float32, NaN payloads
included).
"""
from __future__ import annotations

import os
import re
from typing import Callable, Mapping

import numpy as np

from ..files import atomic_output, check_output_path, OutputPathError
from ._importing import MAX_LISTED, WeightImportError, default_layouts, file_size, network_name, write_weights
from . import torch_import

__all__ = ["read_wts", "write_wts", "import_wts", "export_wts", "torch_names"]

_HEX = re.compile(r"[0-9a-fA-F]{1,8}\Z")


def read_wts(path) -> dict[str, np.ndarray]:
    """Read a tensorrtx ``.wts`` file into ``{name: float32 (n,) array}`` in file order.

    Raises:
        WeightImportError, listing every faulty line in one message: missing
            file; not ASCII text; a first line
            that is not a non-negative count; a line without a name and a
            count; a count that is not an int or differs from the words on
            its line; a word that is not 1-8 hex digits; a repeated name; a
            different number of tensor lines than the first line says.
            The message names the file and the line number.
    """
    path = os.fspath(path)
    file_size(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise WeightImportError(f"{path}: not a .wts text file (byte {exc.start} is not ASCII)") from None
    except OSError as exc:
        raise WeightImportError(f"{path}: cannot be read: {exc}") from None
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise WeightImportError(f"{path}: empty file (expected a tensor count on line 1)")
    head = lines[0].strip()
    problems: list[str] = []
    body = lines[1:]
    if not head.isdigit():
        problems.append(f"line 1: expected the tensor count (a non-negative integer), found {head[:40]!r}")
    elif int(head) != len(body):
        problems.append(f"line 1 says {int(head)} tensors, the file has {len(body)} tensor lines")
    out: dict[str, np.ndarray] = {}
    for number, line in enumerate(body, 2):
        if len(problems) > MAX_LISTED:
            break
        words = line.split()
        if len(words) < 2:
            problems.append(f"line {number}: expected '<name> <count> <hex> ...', found {line.strip()[:60]!r}")
            continue
        name, n, values = words[0], words[1], words[2:]
        if not n.isdigit():
            problems.append(f"line {number} ({name}): value count {n[:20]!r} is not a non-negative integer")
            continue
        if int(n) != len(values):
            problems.append(f"line {number} ({name}): says {int(n)} values, holds {len(values)}")
            continue
        bad = next((w for w in values if not _HEX.match(w)), None)
        if bad is not None:
            problems.append(f"line {number} ({name}): {bad[:20]!r} is not a float32 as 1-8 hex digits")
            continue
        if name in out:
            problems.append(f"line {number}: tensor {name!r} appears twice")
            continue
        out[name] = np.array([int(w, 16) for w in values], dtype=np.uint32).view(np.float32)
    if problems:
        raise WeightImportError(f"{path}: malformed .wts file: " + "; ".join(problems))
    return out


def write_wts(path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``{name: array}`` as a tensorrtx ``.wts`` file (float32, flattened in C order), atomically.

    Raises:
        WeightImportError: a name that is empty or holds whitespace, a
            non-numeric array, or the output directory missing / unwritable.
    """
    path = os.fspath(path)
    for name, a in arrays.items():
        if not isinstance(name, str) or not name or any(c.isspace() for c in name):
            raise WeightImportError(f"{path}: tensor name {name!r} cannot be written (empty or with whitespace)")
        if np.asarray(a).dtype.kind not in "biuf":
            raise WeightImportError(f"{path}: tensor {name!r} of dtype {np.asarray(a).dtype} cannot be written")
    try:
        check_output_path(path)
        with atomic_output(path) as tmp, open(tmp, "w", encoding="ascii", newline="\n") as f:
            f.write(f"{len(arrays)}\n")
            for name, a in arrays.items():
                flat = np.ascontiguousarray(np.asarray(a, dtype=np.float32).reshape(-1))
                hexed = flat.astype(">f4").tobytes().hex()
                words = " ".join(hexed[i:i + 8] for i in range(0, len(hexed), 8))
                f.write(f"{name} {flat.size}  {words}\n" if flat.size else f"{name} 0 \n")
    except OutputPathError as exc:
        raise WeightImportError(f"cannot write {path}: {exc}") from None
    except OSError as exc:
        raise WeightImportError(f"cannot write {path}: {exc}") from None


def import_wts(path, network, mapping=None, *, ignore=()) -> dict[str, np.ndarray]:
    """Import a tensorrtx ``.wts`` file into a netdsl network's declared weights.

    The names are torch state-dict keys (gen_wts.py writes
    ``model.state_dict()``), so the torch importer's mapping and layout
    rules apply (:func:`netdsl.frameworks.torch_import.import_torch`); each
    flat tensor is reshaped to the netdsl weight it fills.

    Args:
        path: the ``.wts`` file.
        network: a :class:`netdsl.Network` (unbound declared weights) or ``name -> shape``.
        mapping: netdsl scope -> torch module path (``ScopeMapping``).
        ignore: glob patterns of names to skip (``num_batches_tracked`` always is).
    Returns:
        ``{netdsl name: float32 array}``.
    Raises:
        WeightImportError: as :func:`read_wts`, or one line listing unmapped
            names, unfilled netdsl weights and element-count mismatches.
    """
    path = os.fspath(path)
    return torch_import.import_state_dict(read_wts(path), network, mapping, where=path, ignore=ignore, flat=True)


def convert_wts(path, network, out_path, mapping=None, *, ignore=(), source: str | None = None
                ) -> dict[str, np.ndarray]:
    """:func:`import_wts`, then write the arrays as a netdsl HDF5 store at ``out_path`` (atomic, checksummed),
    as :func:`netdsl.frameworks.torch_import.convert_torch` does for a state dict.

    Returns the arrays written. Raises WeightImportError (as :func:`import_wts`) / WeightsFileError (writing).
    """
    arrays = import_wts(path, network, mapping, ignore=ignore)
    write_weights(out_path, arrays, source=source or f"tensorrtx {os.path.basename(os.fspath(path))}",
                  network=network_name(network), layouts=default_layouts(arrays))
    return arrays


def torch_names(arrays: Mapping[str, np.ndarray], mapping: Callable[[str], str] | Mapping | None = None
                ) -> dict[str, np.ndarray]:
    """netdsl-named arrays -> torch state-dict keys (the inverse of the torch importer's role rules).

    ``kernel``/``slopes``/``embeddings`` -> ``weight``; batch norm ``scale``/``bias``/``mean``/``variance``
    -> ``weight``/``bias``/``running_mean``/``running_var``; recurrent ``l{k}[_reverse].weight_ih`` ->
    ``weight_ih_l{k}[_reverse]``; other roles unchanged. The scope becomes ``mapping(scope)`` (a dict,
    a callable, or None for the same path). Slopes keep their netdsl shape (flattened in a ``.wts`` anyway).
    """
    scopes_bn = {n.rsplit(".", 1)[0] for n in arrays if n.endswith(".mean") or n.endswith(".variance")}
    bn = {"scale": "weight", "bias": "bias", "mean": "running_mean", "variance": "running_var"}
    out = {}
    for name, a in arrays.items():
        m = re.match(r"^(.*)\.l(\d+)(_reverse)?\.(weight_ih|weight_hh|bias_ih|bias_hh)$", name)
        if m:
            scope, key = m.group(1), f"{m.group(4)}_l{m.group(2)}{m.group(3) or ''}"
        else:
            scope, _, role = name.rpartition(".")
            key = bn[role] if scope in scopes_bn and role in bn else (
                "weight" if role in ("kernel", "slopes", "embeddings") else role)
        if mapping is not None:
            scope = mapping(scope) if callable(mapping) else mapping.get(scope, scope)
        out[f"{scope}.{key}" if scope else key] = a
    return out


def export_wts(path, arrays: Mapping[str, np.ndarray], *, names: str = "torch", mapping=None) -> dict:
    """Write netdsl weights as a tensorrtx ``.wts`` file for existing tensorrtx C++ builds.

    Args:
        path: output ``.wts``.
        arrays: ``{netdsl name: array}`` (a WeightStore, ``import_*`` result ...).
        names: ``"torch"`` (default) to write torch state-dict keys via
            :func:`torch_names` (what tensorrtx code looks up, e.g.
            ``weightMap["conv1.weight"]``), or ``"netdsl"`` to keep netdsl's names.
        mapping: for ``names="torch"``: netdsl scope -> torch module path (dict / callable).
    Returns:
        the ``{written name: array}`` mapping.
    Raises:
        WeightImportError: as :func:`write_wts`; an unknown ``names``; two
            netdsl names mapping to one torch key.
    """
    if names not in ("torch", "netdsl"):
        raise WeightImportError(f"{os.fspath(path)}: names must be 'torch' or 'netdsl', found {names!r}")
    out = dict(arrays) if names == "netdsl" else torch_names(arrays, mapping)
    if len(out) != len(arrays):
        raise WeightImportError(f"{os.fspath(path)}: several netdsl weights map to one torch key")
    write_wts(path, out)
    return out

