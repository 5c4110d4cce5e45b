"""Layer-by-layer comparison of a netdsl network against tensors computed elsewhere.

Run the network on the reference executor, keep every tensor, and compare
each one the reference also holds (after an optional name map), in network
order, like Polygraphy's ``--mark all``: the first failing tensor names the
first diverging layer. A tensor passes when
``max |ours - theirs| <= atol + rtol * max |theirs|``: the error is judged
relative to the tensor's own scale (as the oracle tests of this project
judge raw heads), so values near zero in a tensor of large values do not
fail it spuriously.

A reference comes from the framework the model was trained in; recipes (PyTorch
forward hooks, onnxruntime with every node output, OpenCV DNN
``forward(layerNames)``) are in docs/compare.md.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .graph.errors import NetdslError


class CompareError(NetdslError, ValueError):
    """Inputs or a reference that cannot be compared (unreadable file, unknown names, nothing in common)."""


@dataclass(frozen=True)
class Row:
    """One compared tensor.

    Attributes:
        tensor: the netdsl tensor name; ``reference``: the reference's name for it.
        layer: the netdsl layer producing it (None for a network input).
        shape: its shape; ``max_abs``: max |ours - theirs|; ``max_rel``:
            ``max_abs / max |theirs|`` (0 when both are all zero);
        passed: ``max_abs <= atol + rtol * max |theirs|`` (and NaN where the reference has NaN).
        note: why it failed without numbers (a shape or dtype mismatch), else ''.
    """

    tensor: str
    reference: str
    layer: str | None
    shape: tuple
    max_abs: float
    max_rel: float
    passed: bool
    note: str = ""


def load_arrays(path, what: str, input_names=None) -> dict[str, np.ndarray]:
    """Arrays of an ``.npz`` file as a dict (no pickled objects); a ``.npy`` (one unnamed array) only
    when ``input_names`` names exactly one input, which it is then the array of.

    Raises:
        CompareError: missing or unreadable file, or a ``.npy`` where named arrays are needed, naming
            it and ``what`` it is.
    """
    from .files import ARRAY_FILE_ERRORS, load_array_file, savez_hint
    path = os.fspath(path)
    try:
        arrays = load_array_file(path)
    except ARRAY_FILE_ERRORS as exc:
        raise CompareError(f"{what} {path} cannot be read as an .npz file: {exc}") from None
    if isinstance(arrays, np.ndarray):
        names = list(input_names or ())
        if len(names) == 1:
            return {names[0]: arrays}
        if names:
            need = f"the network has {len(names)} inputs {names}: {savez_hint(path, names)}"
        else:
            need = f"one array per tensor name: np.savez({os.path.splitext(path)[0] + '.npz'!r}, **arrays)"
        raise CompareError(f"{what} {path} is a .npy holding one unnamed array; {what} must be an .npz of "
                           f"named arrays ({need})")
    return arrays


def load_name_map(path) -> dict[str, str]:
    """A JSON object ``{"reference name": "netdsl tensor name", ...}``.

    Raises:
        CompareError: unreadable JSON or not an object of strings.
    """
    from .files import load_str_map
    return load_str_map(path, "name map", "reference names to netdsl tensor names", CompareError)


def compare(network, feeds: Mapping[str, np.ndarray], reference: Mapping[str, np.ndarray],
            name_map: Mapping[str, str] | None = None, *, atol: float = 1e-5, rtol: float = 1e-4) -> list[Row]:
    """Compare every tensor of ``network`` that ``reference`` holds, in network order.

    Args:
        network: a Network with its weights bound.
        feeds: input name -> array (as :func:`netdsl.reference.execute`).
        reference: name -> array computed elsewhere (float arrays compared
            in float64).
        name_map: reference name -> netdsl tensor name, for names that
            differ; unmapped reference names are used as they are.
        atol, rtol: tolerances (>= 0).
    Returns:
        one :class:`Row` per compared tensor, in network order (inputs first).
    Raises:
        CompareError: negative tolerances, a map naming tensors the network
            does not have, or no tensor in common.
        and the errors of :func:`netdsl.reference.execute` (bad feeds).
    """
    from .reference import execute
    if atol < 0 or rtol < 0:
        raise CompareError(f"tolerances must be >= 0, found atol={atol}, rtol={rtol}")
    mapping = dict(name_map or {})
    names = {t.name for t in network.inputs} | {t.name for layer in network.layers for t in layer.outputs}
    unknown = sorted(v for v in mapping.values() if v not in names)
    if unknown:
        raise CompareError(f"name map names tensors network {network.name!r} does not have: {', '.join(unknown)}")
    by_tensor = {mapping.get(k, k): k for k in reference if mapping.get(k, k) in names}
    if not by_tensor:
        raise CompareError(f"the reference holds no tensor of network {network.name!r} (reference names: "
                           f"{', '.join(sorted(reference)[:8])}{' ...' if len(reference) > 8 else ''}); give a name map")
    ours = execute(network, feeds, outputs=list(by_tensor))
    order = [(t, None) for t in network.inputs] + [(t, layer.name) for layer in network.layers for t in layer.outputs]
    rows = []
    for tensor, layer in order:
        if tensor.name not in by_tensor:
            continue
        key = by_tensor[tensor.name]
        mine, theirs = np.asarray(ours[tensor.name]), np.asarray(reference[key])
        if mine.shape != theirs.shape:
            if mine.size == theirs.size:  # e.g. a framework that keeps (N, C) where netdsl has (N, C, 1, 1)
                theirs = theirs.reshape(mine.shape)
            else:
                rows.append(Row(tensor.name, key, layer, mine.shape, float("nan"), float("nan"), False,
                                f"shape {mine.shape} vs reference {theirs.shape}"))
                continue
        a, b = mine.astype(np.float64), theirs.astype(np.float64)
        diff = np.abs(a - b)
        max_abs = float(diff.max()) if diff.size else 0.0
        scale = float(np.abs(b).max()) if b.size else 0.0
        max_rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else float("inf"))
        passed = bool(max_abs <= atol + rtol * scale) and not np.any(np.isnan(a) != np.isnan(b))
        rows.append(Row(tensor.name, key, layer, mine.shape, max_abs, max_rel, passed))
    return rows


def not_compared(network, reference: Mapping[str, np.ndarray], name_map: Mapping[str, str] | None = None
                 ) -> tuple[list[str], list[str]]:
    """What a :func:`compare` of ``network`` against ``reference`` leaves out.

    Returns:
        (reference names matching no tensor of the network after ``name_map``,
        sorted; the network's marked outputs the reference does not hold, in
        output order). The second list is the one to worry about: a
        comparison that skips the outputs can pass while the result is wrong.
    """
    mapping = dict(name_map or {})
    names = {t.name for t in network.inputs} | {t.name for layer in network.layers for t in layer.outputs}
    matched = {mapping.get(k, k) for k in reference} & names
    unmatched = sorted(k for k in reference if mapping.get(k, k) not in names)
    return unmatched, [t.name for t in network.outputs if t.name not in matched]


def first_divergence(rows) -> Row | None:
    """The first failing row (in network order), or None."""
    return next((r for r in rows if not r.passed), None)


def format_table(rows) -> list[str]:
    """The rows as aligned text lines: tensor, shape, max abs, max rel, pass."""
    width = max([len(r.tensor) for r in rows] + [6])
    lines = [f"{'tensor':<{width}}  {'shape':<20} {'max abs':>10} {'max rel':>10}  pass"]
    for r in rows:
        shape = "x".join(map(str, r.shape)) or "scalar"
        verdict = "ok" if r.passed else "FAIL" + (f" ({r.note})" if r.note else "")
        lines.append(f"{r.tensor:<{width}}  {shape:<20} {r.max_abs:>10.3g} {r.max_rel:>10.3g}  {verdict}")
    return lines
