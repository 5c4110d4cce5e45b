"""``netdsl inspect`` output: grep-friendly text lines and a JSON document.

Text: one record per line, the kind in the first 8 columns::

    network yolov3-tiny: 1 input, 78 layers, 2 outputs
    input   images [1, 3, 416, 416] FLOAT
    layer   conv0.conv CONVOLUTION -> conv0.conv [1, 16, 416, 416] FLOAT params=496 flops=152289280
    output  boxes [1, 2535, 4] FLOAT
    weights conv0.conv.kernel [16, 3, 3, 3] FLOAT          (with weights=True)
    const   yolo16.grid.weights [1, 507, 2] FLOAT          (with weights=True)
    total   78 layers, 8,858,734 parameters, 10,146 constants, 5.63 GFLOPs (5,634,591,104 FLOPs)

``params=`` counts weight-file elements, ``constants=`` (only when non-zero)
constant elements, ``flops=`` FLOPs with a multiply-add as 2; all plain
integers so ``awk``/``grep`` can read them.
"""
from __future__ import annotations

from .attributes import json_attributes
from .summary import NetworkSummary, format_flops


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _dims(shape) -> str:
    """``[1, 3, 416, 416]``; a runtime dimension as its name or expression (``[N, 3, 416, 416]``)."""
    return "[" + ", ".join(map(str, shape)) + "]"


def _tensor(t) -> str:
    return f"{t.name} {_dims(t.shape)} {t.dtype.name}"


def _count(n) -> str:
    """``1234`` -> ``"1,234"``; a symbolic count as its expression."""
    return f"{n:,}" if isinstance(n, int) else str(n)


def _number(n):
    """An int as is for JSON; a symbolic count as its expression's text."""
    return n if isinstance(n, int) else str(n)


def totals_line(summary: NetworkSummary) -> str:
    """``total   <layers> layers, <parameters> parameters, <constants> constants, <x.xx GFLOPs> (<n> FLOPs)``."""
    flops = (format_flops(summary.flops) + f" ({summary.flops:,} FLOPs)" if isinstance(summary.flops, int)
             else format_flops(summary.flops))
    return (f"total   {_plural(len(summary.layers), 'layer')}, {_count(summary.parameters)} parameters, "
            f"{_count(summary.constant_elements)} constants, {flops}")


def text_lines(summary: NetworkSummary, weights: bool = False) -> list:
    """The text report as lines (module docstring); ``weights`` adds the ``weights`` and ``const`` lines."""
    net = summary.network
    lines = [f"network {net.name}: {_plural(len(net.inputs), 'input')}, {_plural(len(summary.layers), 'layer')}, "
             f"{_plural(len(net.outputs), 'output')}"]
    lines += [f"input   {_tensor(t)}" for t in net.inputs]
    for row in summary.layers:
        outs = ", ".join(_tensor(t) for t in row.layer.outputs)
        counts = f"params={row.parameters}" + (f" constants={row.constants}" if row.constants else "")
        lines.append(f"layer   {row.name} {row.layer.type.name} -> {outs} {counts} flops={row.flops}")
    lines += [f"output  {_tensor(t)}" for t in net.outputs]
    if weights:
        lines += [f"weights {w.name} {_dims(w.shape)} {w.dtype.name}" for w in summary.weights]
        lines += [f"const   {w.name} {_dims(w.shape)} {w.dtype.name}" for w in summary.constants]
    lines.append(totals_line(summary))
    return lines


def _tensor_json(t) -> dict:
    return {"name": t.name, "shape": [_number(d) for d in t.shape], "dtype": t.dtype.name}


def _weights_json(w) -> dict:
    size = 1
    for d in w.shape:
        size *= d
    return {"name": w.name, "shape": list(w.shape), "dtype": w.dtype.name, "elements": size}


def to_json(summary: NetworkSummary) -> dict:
    """The report as JSON-safe data.

    Returns:
        ``{"network", "inputs", "layers", "outputs", "weights", "constants", "totals"}``: tensors as
        ``{"name", "shape", "dtype"}``; each layer ``{"name", "type", "inputs" (tensor names),
        "outputs", "attributes", "parameters", "constants", "flops"}``; ``weights`` (what the weight
        file must supply) and ``constants`` as ``{"name", "shape", "dtype", "elements"}`` in
        declaration order; ``totals`` ``{"layers", "parameters", "constants", "flops"}``.
        Parameters and constants are element counts, flops FLOPs (multiply-add = 2): ints, or for
        runtime dimensions the expression's text.
    """
    net = summary.network
    return {
        "network": net.name,
        "inputs": [_tensor_json(t) for t in net.inputs],
        "layers": [{"name": row.name, "type": row.layer.type.name, "inputs": [t.name for t in row.layer.inputs],
                    "outputs": [_tensor_json(t) for t in row.layer.outputs],
                    "attributes": json_attributes(row.layer), "parameters": row.parameters,
                    "constants": row.constants, "flops": _number(row.flops)} for row in summary.layers],
        "outputs": [_tensor_json(t) for t in net.outputs],
        "weights": [_weights_json(w) for w in summary.weights],
        "constants": [_weights_json(w) for w in summary.constants],
        "totals": {"layers": len(summary.layers), "parameters": summary.parameters,
                   "constants": summary.constant_elements, "flops": _number(summary.flops)},
    }
