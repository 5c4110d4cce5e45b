"""Build report: what TensorRT fused, in which precision, and on which CUDA stream.

Nothing here guesses a fusion. Every TensorRT layer netdsl adds carries the
netdsl layer's name as its ``metadata`` (``LoweringContext.named``,
``lower_layer``); the builder runs with ``ProfilingVerbosity.DETAILED`` and a
VERBOSE logger, and after the build TensorRT logs its own listing of the
engine's kernels, one line per kernel, each naming the metadata of every
network layer it covers. This module parses that listing (the engine
inspector's one-line format) and joins it with the netdsl network.

The listing, as TensorRT-RTX 1.7.1 logs it (one VERBOSE message that starts
with ``Layers:``; one line per kernel; fields at the top level separated by
``", "``; the metadata of the covered layers joined by ``\\x1f``)::

    Layers:
    Name: __myl_CorrMulMax_myl0_1, LayerType: runtime_fusion, Inputs: [ { Name: ..., Dimensions: [1,3,416,416],
    Strides: [...], StrideOrder: [...], Datatype: Float, Format: (NHWC) Channel major format }], Constants: [ ... ],
    Outputs: [ ... ], TacticName: , StreamId: 0, Metadata: conv0.leaky\\x1fconv0.conv

``StreamId`` 0 is the engine's main stream; other ids are auxiliary streams
(``IBuilderConfig.max_aux_streams``); ``signal`` / ``wait`` entries (with an
``EventId``) synchronize them. Without a GPU the engine cannot be
deserialized here (``IRuntime.deserialize_cuda_engine`` fails with cudaError
35), so ``ICudaEngine.create_engine_inspector`` is out of reach; the log is
what works ahead of time. Sources: TensorRT developer guide, "Engine
Inspector" and "Within-Inference Multi-Streaming"; TensorRT API reference,
``ILayer.metadata``, ``ProfilingVerbosity``.

Only TensorRT-RTX 1.7.1 was exercised; full TensorRT 10.x prints the same
inspector format with DETAILED verbosity per its documentation, not checked
here. A log without the listing gives a report with no kernels and a warning.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..files import atomic_output

LISTING_HEADER = "Layers:"
REPORT_FORMAT = "netdsl-build-report/1"

# TensorRT's spelling in the listing -> trt.DataType names.
_DTYPES = {"float": "FLOAT", "half": "HALF", "bf16": "BF16", "bfloat16": "BF16", "int8": "INT8", "fp8": "FP8", "fp4": "FP4",
           "int4": "INT4", "int32": "INT32", "int64": "INT64", "bool": "BOOL", "uint8": "UINT8", "e8m0": "E8M0"}
# Bits per element, to tell a wider type from a narrower one.
_BITS = {"FP4": 4, "INT4": 4, "INT8": 8, "FP8": 8, "UINT8": 8, "E8M0": 8, "HALF": 16, "BF16": 16, "FLOAT": 32,
         "INT32": 32, "INT64": 64}
# netdsl layer types whose math the precision summary counts.
COMPUTE_TYPES = ("CONVOLUTION", "DECONVOLUTION", "MATRIX_MULTIPLY")
# Kernel kinds that do a convolution's or a matrix multiply's math, in order of preference
# (TensorRT-RTX 1.7: "correlation" and "gemm" kernels, and "runtime_fusion" kernels named
# __myl_CorrMulMax... holding a convolution with its epilogue). Other kernels that cover such
# a layer (kgen pointwise epilogues, weight reformatting) are not where its math runs.
# Full TensorRT's kinds (CaskConvolution, CaskGemmConvolution, ...) are matched by the parts; failing
# both, the first kernel covering the layer.
_MATH_KINDS = ("correlation", "gemm", "convolution", "deconvolution", "matmul", "matrix_multiply")
_MATH_KIND_PARTS = ("runtime_fusion", "conv", "gemm", "corr", "matmul")
_SYNC_KINDS = ("signal", "wait")
_METADATA_SEPARATORS = re.compile("[\x1e\x1f]")


@dataclass
class TensorInfo:
    """One tensor of a kernel in the listing: ``dtype`` as a ``trt.DataType`` name (``FLOAT``, ``HALF``, ``INT8`` ...)."""
    name: str
    dims: list
    dtype: str
    format: str

    def to_json(self) -> dict:
        return {"name": self.name, "dims": self.dims, "dtype": self.dtype, "format": self.format}


@dataclass
class Kernel:
    """One entry of TensorRT's layer listing: a fused kernel, a reformat, or a stream signal / wait.

    Attributes:
        index: position in the listing (execution order on its stream).
        name: TensorRT's name for it.
        kind: TensorRT's ``LayerType`` field (``runtime_fusion``, ``correlation``,
            ``gemm``, ``kgen``, ``maxpool``, ``signal``, ``wait`` ...).
        layers: the netdsl layers it covers (its ``Metadata`` field), in
            network order when the network is known; [] for TensorRT's own
            kernels (input reformatting) and stream synchronization.
        inputs, weights, outputs: ``Inputs``, ``Constants``, ``Outputs``.
        tactic: ``TacticName`` (may be empty).
        stream: ``StreamId``: 0 the main stream, > 0 an auxiliary stream.
        event: ``EventId`` of a signal / wait entry, else None.
    """
    index: int
    name: str
    kind: str
    layers: list = field(default_factory=list)
    inputs: list = field(default_factory=list)
    weights: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    tactic: str = ""
    stream: int = 0
    event: int | None = None

    @property
    def is_sync(self) -> bool:
        """A ``signal`` / ``wait`` entry between streams, not a kernel doing work."""
        return self.kind.lower() in _SYNC_KINDS

    @property
    def aux_stream(self) -> bool:
        """Runs on an auxiliary stream (``StreamId`` > 0)."""
        return self.stream != 0

    @property
    def precision(self) -> str | None:
        """The data type its math reads: its first input's, else its first weight's (None for a sync entry)."""
        for group in (self.inputs, self.weights):
            if group:
                return group[0].dtype
        return None

    def to_json(self) -> dict:
        out = {"index": self.index, "name": self.name, "kind": self.kind, "layers": list(self.layers),
               "stream": self.stream, "aux_stream": self.aux_stream, "precision": self.precision,
               "inputs": [t.to_json() for t in self.inputs], "weights": [t.to_json() for t in self.weights],
               "outputs": [t.to_json() for t in self.outputs], "tactic": self.tactic}
        if self.event is not None:
            out["event"] = self.event
        return out


# -- parsing ---------------------------------------------------------------------------------------------------
_OPEN, _CLOSE = "[{(", "]})"
_KEY = re.compile(r"([A-Za-z][A-Za-z0-9]*): ?")


def _split_top(text: str) -> list[str]:
    """Split at the commas outside any bracket, brace or parenthesis."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _fields(text: str) -> dict:
    """``Key: value, Key: value`` (values may hold brackets) -> dict of raw strings."""
    out, key = {}, None
    for part in _split_top(text):
        match = _KEY.match(part)
        if match:
            key = match.group(1)
            out[key] = part[match.end():].strip()
        elif key is not None:  # a comma inside a value that is not bracketed
            out[key] += ", " + part
    return out


def _tensors(text: str) -> list:
    text = text.strip()
    if not (text.startswith("[") and text.endswith("]")):
        return []
    out = []
    for item in _split_top(text[1:-1]):
        item = item.strip()
        if item.startswith("{") and item.endswith("}"):
            f = _fields(item[1:-1])
            dims = [int(d) for d in re.findall(r"-?\d+", f.get("Dimensions", ""))]
            dtype = f.get("Datatype", "")
            out.append(TensorInfo(f.get("Name", ""), dims, _DTYPES.get(dtype.lower(), dtype.upper()),
                                  f.get("Format", "")))
    return out


def parse_kernel_line(line: str, index: int) -> Kernel:
    """One line of the listing -> :class:`Kernel` (``Metadata`` is the rest of the line after ``, Metadata: ``)."""
    line = line.rstrip("\n")
    metadata = ""
    cut = line.rfind(", Metadata:")
    if cut >= 0:
        metadata = line[cut + len(", Metadata:"):].strip(" ")
        line = line[:cut]
    f = _fields(line)
    layers = []
    for name in _METADATA_SEPARATORS.split(metadata):
        name = name.strip()
        if name and name not in layers:
            layers.append(name)
    stream = f.get("StreamId", "0").strip()
    event = f.get("EventId")
    return Kernel(index=index, name=f.get("Name", ""), kind=f.get("LayerType", ""), layers=layers,
                  inputs=_tensors(f.get("Inputs", "")), weights=_tensors(f.get("Constants", "")),
                  outputs=_tensors(f.get("Outputs", "")), tactic=f.get("TacticName", ""),
                  stream=int(stream) if stream.lstrip("-").isdigit() else 0,
                  event=int(event) if event is not None and event.strip().isdigit() else None)


def find_listing(messages) -> str | None:
    """The ``Layers:`` listing TensorRT logged, or None.

    Args:
        messages: the logger's ``(severity, message)`` pairs, or a whole log
            as text (lines such as ``[VERBOSE] Layers:`` are found too).
    Returns:
        the listing's kernel lines as one string (up to the first blank line).
    """
    if isinstance(messages, str):
        text = messages
        start = None
        for match in re.finditer(r"^(?:\[[A-Z_]+\] )?Layers:[ \t]*$", text, flags=re.M):
            start = match.end()
        if start is None:
            return None
        body = text[start:].lstrip("\n")
    else:
        found = [msg for _, msg in messages if msg.lstrip().startswith(LISTING_HEADER)]
        if not found:
            return None
        body = found[-1].lstrip()[len(LISTING_HEADER):].lstrip("\n")
    lines = []
    for line in body.split("\n"):
        if not line.strip():
            break
        lines.append(line)
    return "\n".join(lines)


def parse_listing(text: str) -> list[Kernel]:
    """The kernel lines of a ``Layers:`` listing (see :func:`find_listing`) -> :class:`Kernel` list, in order.

    Lines that do not start with ``Name:`` continue the previous one.
    """
    rows: list[str] = []
    for line in text.split("\n"):
        if line.startswith("Name:") or not rows:
            rows.append(line)
        else:
            rows[-1] += "\n" + line
    return [parse_kernel_line(row, i) for i, row in enumerate(rows) if row.strip()]


# -- the netdsl side ---------------------------------------------------------------------------------------------
def quantized_layers(network) -> dict:
    """The netdsl layers the user asked to run quantized: ``{layer name: quantized DataType name}``.

    A convolution, deconvolution or matrix multiply counts when one of its
    inputs comes from a DEQUANTIZE layer (a Q/DQ pair in front of it, as
    ``netdsl.quantization.apply_precision`` places them); the type is that
    DEQUANTIZE layer's input type (``INT8``, ``FP8`` ...).
    """
    out = {}
    for layer in network.layers:
        if layer.type.name not in COMPUTE_TYPES:
            continue
        for t in layer.inputs:
            source = getattr(t, "layer", None) if t is not None else None
            if source is not None and source.type.name == "DEQUANTIZE" and source.inputs:
                out.setdefault(layer.name, source.inputs[0].dtype.name)
    return out


def _math_kernel(kernels):
    """Of the kernels covering a layer, the one doing a convolution's / matrix multiply's math (see _MATH_KINDS)."""
    for k in kernels:
        if k.kind.lower() in _MATH_KINDS:
            return k
    for k in kernels:
        if any(part in k.kind.lower() for part in _MATH_KIND_PARTS):
            return k
    working = [k for k in kernels if not k.is_sync]
    return working[0] if working else None


def build_report(kernels, network=None, *, quantized=None, tensorrt: str = "", targets=(), config=None) -> dict:
    """Join TensorRT's kernel listing with the netdsl network into a JSON-ready report.

    Args:
        kernels: :func:`parse_listing` output.
        network: the netdsl Network that was built (for layer types and
            order; without it the report has no per-type summary).
        quantized: ``{layer: DataType name}`` asked to run quantized; default
            :func:`quantized_layers` of ``network``.
        tensorrt: the TensorRT label (``TensorRTModule.label``); targets:
            the targets built for; config: the builder settings read back
            (``TensorRTModule.builder_config_summary``).
    Returns:
        a dict: ``format``, ``network``, ``tensorrt``, ``targets``, ``config``,
        ``kernels`` (each: index, name, kind, layers, stream, aux_stream,
        precision, inputs, weights, outputs, tactic[, event]), ``streams``,
        ``aux_stream_kernels`` (indices of working kernels on an auxiliary
        stream), ``layers`` (netdsl layer -> type, kernels, and for
        convolutions / matrix multiplies ``precision`` and ``kernel``),
        ``not_in_any_kernel`` (netdsl layers the listing never names: folded
        into constants or removed), ``precision_summary`` (layer type ->
        {DataType name: count}), ``quantized`` and ``warnings``.
    """
    types = {}
    order = {}
    if network is not None:
        for i, layer in enumerate(network.layers):
            types[layer.name] = layer.type.name
            order[layer.name] = i
        for k in kernels:
            k.layers.sort(key=lambda n: order.get(n, len(order)))
    if quantized is None:
        quantized = quantized_layers(network) if network is not None else {}
    covering: dict[str, list] = {}
    for k in kernels:
        for name in k.layers:
            covering.setdefault(name, []).append(k)
    layers = {}
    summary: dict[str, dict] = {}
    names = list(order) if network is not None else list(covering)
    for name in names:
        entry = {"type": types.get(name), "kernels": [k.index for k in covering.get(name, [])]}
        if types.get(name) in COMPUTE_TYPES or name in quantized:
            math = _math_kernel(covering.get(name, []))
            entry["kernel"] = None if math is None else math.index
            entry["precision"] = None if math is None else math.precision
            if types.get(name) in COMPUTE_TYPES:
                counts = summary.setdefault(types[name], {})
                key = entry["precision"] or "not in any kernel"
                counts[key] = counts.get(key, 0) + 1
        layers[name] = entry
    warnings = []
    for name, wanted in quantized.items():
        entry = layers.get(name) or {}
        found = entry.get("precision")
        if found is None:
            warnings.append(f"{name}: asked to run in {wanted} (inside a Q/DQ pair), but no TensorRT kernel "
                            f"names it")
        elif _BITS.get(found, 0) > _BITS.get(wanted, 0):
            k = kernels[entry["kernel"]]
            warnings.append(f"{name}: asked to run in {wanted} (inside a Q/DQ pair), TensorRT runs it in {found} "
                            f"(kernel {k.index} {k.name}, {k.kind})")
    return {
        "format": REPORT_FORMAT,
        "network": getattr(network, "name", None),
        "tensorrt": tensorrt,
        "targets": list(targets),
        "config": dict(config or {}),
        "kernels": [k.to_json() for k in kernels],
        "streams": sorted({k.stream for k in kernels}),
        "aux_stream_kernels": [k.index for k in kernels if k.aux_stream and not k.is_sync],
        "layers": layers,
        "not_in_any_kernel": [n for n in names if not covering.get(n)] if network is not None else [],
        "precision_summary": summary,
        "quantized": dict(quantized),
        "warnings": warnings,
    }


def report_from_log(messages, network=None, **kwargs) -> dict:
    """:func:`build_report` from a logger's messages (or a log text); a missing listing gives no kernels and a warning."""
    listing = find_listing(messages)
    report = build_report(parse_listing(listing) if listing else [], network, **kwargs)
    if listing is None:
        report["warnings"].insert(0, "TensorRT logged no 'Layers:' listing (needs ProfilingVerbosity.DETAILED and "
                                     "the VERBOSE log); the report names no kernels")
    return report


# -- output ----------------------------------------------------------------------------------------------------
def _dtypes(tensors) -> str:
    names = []
    for t in tensors:
        if t["dtype"] not in names:
            names.append(t["dtype"])
    return ",".join(names) or "-"


def _names(layers, most: int = 8) -> str:
    shown = " + ".join(layers[:most])
    return shown + (f" + {len(layers) - most} more" if len(layers) > most else "")


def kernel_counts(report: dict) -> tuple[int, int]:
    """(kernels, stream signal/wait entries) of a report's listing: the listing's ``kernels`` entries
    minus the ``signal`` / ``wait`` ones, which synchronize streams and do no work, and those."""
    kernels = report["kernels"]
    working = sum(k["kind"].lower() not in _SYNC_KINDS for k in kernels)
    return working, len(kernels) - working


def count_summary(report: dict) -> str:
    """``22 kernels`` or ``13 kernels, 8 stream signal/wait entries`` (:func:`kernel_counts`)."""
    working, sync = kernel_counts(report)
    return f"{working} kernels" + (f", {sync} stream signal/wait entries" if sync else "")


def format_table(report: dict) -> str:
    """The report as a readable table (one line per kernel, then the summary and warnings)."""
    kernels = report["kernels"]
    working, sync = kernel_counts(report)
    head = (f"{report.get('tensorrt') or 'TensorRT'}, network {report.get('network')!r}, targets "
            f"{', '.join(report.get('targets') or []) or '-'}: {working} kernels, "
            f"{sync} stream signal/wait entries, streams "
            f"{', '.join(map(str, report['streams'])) or '-'}")
    rows = [("#", "kind", "stream", "in -> out", "netdsl layers")]
    for k in kernels:
        if k["kind"].lower() in _SYNC_KINDS:
            what = f"{k['kind']} event {k.get('event')}"
            rows.append((str(k["index"]), k["kind"], str(k["stream"]), "", what))
            continue
        rows.append((str(k["index"]), k["kind"], str(k["stream"]) + ("*" if k["aux_stream"] else ""),
                     f"{_dtypes(k['inputs'])} -> {_dtypes(k['outputs'])}",
                     _names(k["layers"]) or f"({k['name']})"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [head] + ["  " + "  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4] for r in rows]
    for kind, counts in report["precision_summary"].items():
        lines.append(f"{kind.lower()}: " + ", ".join(f"{n} in {dt}" for dt, n in counts.items()))
    aux = report["aux_stream_kernels"]
    if aux:
        names = [n for k in kernels if k["index"] in aux for n in k["layers"]]
        lines.append(f"auxiliary streams (*): kernels {', '.join(map(str, aux))}: {', '.join(names)}")
    else:
        lines.append("auxiliary streams: none")
    if report.get("not_in_any_kernel"):
        lines.append(f"in no kernel (folded or removed): {len(report['not_in_any_kernel'])} layers")
    lines += [f"warning: {w}" for w in report["warnings"]]
    return "\n".join(lines)


def write_report(path, report: dict) -> str:
    """Write ``report`` to ``path`` as indented JSON, atomically (``netdsl.files.atomic_output``); returns the path.

    Raises:
        OutputPathError: ``path`` is a directory or its directory is missing
            or not writable.
    """
    with atomic_output(path) as tmp:
        with open(tmp, "x", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
            f.write("\n")
    return str(path)
