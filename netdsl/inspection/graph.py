"""Draw a network: DOT source from the ``graphviz`` package, rendered to SVG / PNG by Graphviz's ``dot``.

The drawing: one box per layer (its name within its scope, LayerType, key
attributes, parameters and FLOPs; the full scoped name as tooltip), network
inputs and outputs as distinct green / red nodes, one edge per tensor use
labelled with the tensor's shape and dtype, and every name scope
(``with net.scope(...)``) as a cluster, nested scopes nested.

``.dot`` output needs only the ``graphviz`` Python package (the ``graph``
extra: ``pip install 'netdsl[graph]'``); ``.svg`` and ``.png`` also need
Graphviz's ``dot`` executable (``apt install graphviz``).
"""
from __future__ import annotations

import html
import os
import shutil
import subprocess

from ..files import atomic_output, check_output_path
from ..graph.errors import NetdslError
from .attributes import key_attributes
from .summary import NetworkSummary, format_flops

FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot"}
"""Output file suffix -> format."""


class GraphError(NetdslError, RuntimeError):
    """A graph cannot be drawn: unknown output format, or the graphviz package / ``dot`` is missing."""


_FILL = {  # by LayerType family
    "CONVOLUTION": "#bbdefb", "DECONVOLUTION": "#bbdefb",
    "MATRIX_MULTIPLY": "#d1c4e9", "EINSUM": "#d1c4e9", "RNN": "#d1c4e9",
    "POOLING": "#fff59d", "REDUCE": "#fff59d", "TOPK": "#fff59d", "CUMULATIVE": "#fff59d",
    "ACTIVATION": "#ffe0b2", "PARAMETRIC_RELU": "#ffe0b2", "UNARY": "#ffe0b2", "ELEMENTWISE": "#ffe0b2",
    "SELECT": "#ffe0b2", "SCALE": "#ffccbc", "NORMALIZATION": "#ffccbc", "SOFTMAX": "#ffccbc", "LRN": "#ffccbc",
    "CONSTANT": "#f5f5f5",
}
_DATA_FILL = "#e0e0e0"
_INPUT_FILL = "#a5d6a7"
_OUTPUT_FILL = "#ef9a9a"
_FONT = "Helvetica"


def graph_format(path) -> str:
    """The output format (``svg``, ``png`` or ``dot``) named by ``path``'s suffix.

    Raises:
        GraphError: another suffix, naming the path and the suffixes known.
    """
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    try:
        return FORMATS[suffix]
    except KeyError:
        raise GraphError(f"{os.fspath(path)}: unknown graph format {suffix or '(no suffix)'!r}; "
                         f"use .svg, .png or .dot") from None


def check_graph_output(path) -> str:
    """Check, before any work, that a graph can be written to ``path``; return its format.

    Raises:
        OutputPathError: the path cannot be written (``netdsl.files``).
        GraphError: unknown suffix, the ``graphviz`` Python package missing,
            or (for .svg / .png) no ``dot`` executable on PATH.
    """
    path = check_output_path(path)
    fmt = graph_format(path)
    try:
        import graphviz  # noqa: F401
    except ImportError:
        raise GraphError(f"{path}: drawing a graph needs the graphviz Python package: "
                         f"pip install 'netdsl[graph]'") from None
    if fmt != "dot" and shutil.which("dot") is None:
        raise GraphError(f"{path}: rendering .{fmt} needs Graphviz's dot executable, which is not on PATH: "
                         f"install it (apt install graphviz), or write .dot, which needs nothing")
    return fmt


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _shape(tensor) -> str:
    return "×".join(map(str, tensor.shape)) or "scalar"


def _tensor_label(tensor) -> str:
    """``1×16×416×416 FLOAT``; a layer's further outputs are prefixed with their index (``[1]``)."""
    index = tensor.layer.outputs.index(tensor) if tensor.layer is not None else 0
    prefix = f"[{index}] " if index else ""
    return f"{prefix}{_shape(tensor)} {tensor.dtype.name}"


def _layer_label(row, short: str) -> str:
    layer = row.layer
    lines = [f"<b>{_esc(short)}</b>  <font color=\"#424242\">{layer.type.name}</font>"]
    attrs = key_attributes(layer)
    if attrs:
        lines.append(f"<font point-size=\"9\">{_esc(attrs)}</font>")
    counts = []
    if row.parameters:
        counts.append(f"{row.parameters:,} param" + ("s" if row.parameters != 1 else ""))
    if row.constants:
        counts.append(f"{row.constants:,} constant" + ("s" if row.constants != 1 else ""))
    if not (isinstance(row.flops, int) and row.flops == 0):
        counts.append(format_flops(row.flops))
    if counts:
        lines.append(f"<font point-size=\"8\" color=\"#616161\">{_esc(', '.join(counts))}</font>")
    return "<" + "<br/>".join(lines) + ">"


def _io_label(kind: str, tensor) -> str:
    return (f"<<b>{kind} {_esc(tensor.name)}</b><br/>"
            f"<font point-size=\"9\">{_esc(_shape(tensor))} {tensor.dtype.name}</font>>")


def _scope_tree(layers):
    """Nest layer rows by name scope: ``{"rows": [(index, row, short name)], "children": {scope: subtree}}``."""
    root = {"rows": [], "children": {}}
    for i, row in enumerate(layers):
        *scopes, short = row.name.split(".")
        node = root
        for s in scopes:
            node = node["children"].setdefault(s, {"rows": [], "children": {}})
        node["rows"].append((i, row, short))
    return root


def to_dot(summary: NetworkSummary) -> str:
    """DOT source of the network drawing (see the module docstring).

    Node ids are ``layer<i>``, ``input<i>``, ``output<i>``; the scoped names
    are in the labels and tooltips.

    Args:
        summary: from :func:`netdsl.inspection.summarize`.
    Returns:
        DOT text.
    Raises:
        GraphError: the ``graphviz`` Python package is missing.
    """
    try:
        import graphviz
    except ImportError:
        raise GraphError("drawing a graph needs the graphviz Python package: pip install 'netdsl[graph]'") from None
    net = summary.network
    title = (f"{net.name}: {len(summary.layers)} layers, {summary.parameters:,} parameters, "
             f"{format_flops(summary.flops)}")
    g = graphviz.Digraph(net.name)
    g.attr(rankdir="TB", label=title, labelloc="t", fontname=_FONT, fontsize="14", nodesep="0.3",
           ranksep="0.3")
    g.attr("node", shape="box", style="rounded,filled", fontname=_FONT, fontsize="10", margin="0.12,0.04",
           penwidth="0.8")
    g.attr("edge", fontname=_FONT, fontsize="8", fontcolor="#37474f", color="#607d8b", arrowsize="0.6")

    ids = {}
    for i, t in enumerate(net.inputs):
        ids[id(t)] = f"input{i}"
        g.node(f"input{i}", _io_label("input", t), shape="invhouse", style="filled,bold", fillcolor=_INPUT_FILL,
               tooltip=f"network input {t.name}")
    for i, row in enumerate(summary.layers):
        for t in row.layer.outputs:
            ids[id(t)] = f"layer{i}"

    def emit(graph, tree, path):
        for i, row, short in tree["rows"]:
            kind = row.layer.type.name
            graph.node(f"layer{i}", _layer_label(row, short), fillcolor=_FILL.get(kind, _DATA_FILL),
                       tooltip=f"{row.name} ({kind})", style="rounded,filled" + (",dashed" if kind == "CONSTANT"
                                                                              else ""))
        for scope, sub in tree["children"].items():
            name = ".".join(path + [scope])
            with graph.subgraph(name=f"cluster_{name}") as c:
                c.attr(label=scope, tooltip=name, style="rounded", color="#9e9e9e", fontname=_FONT,
                       fontsize="10", labeljust="l", margin="6")
                emit(c, sub, path + [scope])

    emit(g, _scope_tree(summary.layers), [])
    for i, row in enumerate(summary.layers):
        for t in row.layer.inputs:
            g.edge(ids[id(t)], f"layer{i}", label=_tensor_label(t))
    for i, t in enumerate(net.outputs):
        g.node(f"output{i}", _io_label("output", t), shape="house", style="filled,bold", fillcolor=_OUTPUT_FILL,
               tooltip=f"network output {t.name}")
        g.edge(ids[id(t)], f"output{i}")
    return g.source


def render(source: str, fmt: str, path=None) -> bytes:
    """Render DOT ``source`` as ``fmt`` (``svg``, ``png``; ``dot`` returns the source as UTF-8).

    Args:
        path: the output file, named in error messages.
    Raises:
        GraphError: ``dot`` missing or failing (its first error line).
    """
    if fmt == "dot":
        return source.encode("utf-8")
    import graphviz
    where = f"{os.fspath(path)}: " if path is not None else ""
    try:
        return graphviz.Source(source).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise GraphError(f"{where}rendering .{fmt} needs Graphviz's dot executable, which is not on PATH: install "
                         f"it (apt install graphviz), or write .dot, which needs nothing") from None
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise GraphError(f"{where}Graphviz's dot failed to render .{fmt}: {detail[0] if detail else exc}") from None


def write_graph(summary: NetworkSummary, path) -> int:
    """Draw the network to ``path`` (.svg, .png or .dot), written atomically; return the bytes written.

    Raises:
        OutputPathError, GraphError: as :func:`check_graph_output` and :func:`render`.
    """
    fmt = check_graph_output(path)
    data = render(to_dot(summary), fmt, path)
    with atomic_output(path) as tmp:
        with open(tmp, "xb") as f:
            f.write(data)
    return len(data)
