"""ONNX initializers -> netdsl weights, by node name or in graph order, strictly.

Only the weights are imported — netdsl has no ONNX parser: the network is
written in the DSL (docs/porting_onnx.md maps ONNX operators to netdsl).
The file is read with the ``onnx`` package (optional extra ``onnx``) without
external data; initializers are decoded here, checking each tensor's
claimed dims against the bytes it holds before anything is allocated.

Sources are the floating-point initializers (FLOAT, FLOAT16, DOUBLE,
BFLOAT16); integer initializers (Reshape shapes, Gather indices ...) are
graph constants, not weights, and are never reported as unmapped.

Layout rules (ONNX operator specs; netdsl's declared layouts), per node:

=======================  ==============================================  ===================================
ONNX node                initializer inputs                              netdsl roles
=======================  ==============================================  ===================================
Conv / ConvTranspose     W (M, C/g, k...), B (M,)                        ``kernel`` as is (KCRS, KCS for 1-D), ``bias``
Gemm                     B (N, K) with transB=1, (K, N) with transB=0;   ``kernel`` (N, K) (times alpha), ``bias`` (N,) (times beta)
                         C (N,) or (1, N)                                (transA=1 refused)
MatMul                   B (K, N)                                        ``kernel`` (N, K) = B transposed
Add                      the initializer operand (a MatMul's bias)       ``bias`` (reshaped to the declared shape)
BatchNormalization       scale, B, input_mean, input_var                 ``scale``, ``bias``, ``mean``, ``variance``; ``epsilon`` checked
PRelu                    slope                                           ``slopes`` (reshaped / broadcast to the declared shape)
Gather                   data (V, D)                                     ``embeddings``
LSTM / GRU / RNN         W, R, B                                         ``l0[_reverse].*`` (:func:`recurrent.from_onnx`)
=======================  ==============================================  ===================================

Mapping: ``by="name"`` (default) maps netdsl scopes to node names
(``ScopeMapping``: None = same name, dict with glob keys, callable); a value
may be a tuple of nodes, e.g. ``("/fc/MatMul", "/fc/Add")``. A node without a
name is called ``<op_type>_<index>``. ``by="order"`` pairs the netdsl scopes
in declaration order with the weight-bearing nodes in graph order (a MatMul
whose output feeds an Add with an initializer counts as one).
"""
from __future__ import annotations

import os
import re

import numpy as np

from ..graph.errors import NetdslError
from . import recurrent
from ._importing import (Importer, ScopeMapping, WeightImportError, default_layouts, file_size,
                         network_batch_norm_eps, network_name, plain_error, targets_of, write_weights)

__all__ = ["read_onnx", "import_onnx", "convert_onnx"]

# TensorProto.DataType -> NumPy dtype; the float ones are weights
_FLOAT = {1: np.dtype("<f4"), 10: np.dtype("<f2"), 11: np.dtype("<f8"), 16: None}  # 16: BFLOAT16
_INT = {2: np.dtype("u1"), 3: np.dtype("i1"), 4: np.dtype("<u2"), 5: np.dtype("<i2"), 6: np.dtype("<i4"),
        7: np.dtype("<i8"), 9: np.dtype("?"), 12: np.dtype("<u4"), 13: np.dtype("<u8")}
_RNN = {"LSTM": "LSTM", "GRU": "GRU", "RNN": None}


def _decode(t, where: str) -> np.ndarray | None:
    """A TensorProto as an array (float32 for float types), or None for non-numeric types; checked sizes."""
    name = t.name
    if t.data_location == 1 or len(t.external_data):
        raise WeightImportError(f"{where}: initializer {name!r} has external data, which is not read "
                                f"(save the model with its weights inside)")
    dims = [int(d) for d in t.dims]
    if any(d < 0 for d in dims):
        raise WeightImportError(f"{where}: initializer {name!r} has negative dims {dims}")
    count = 1
    for d in dims:
        count *= d
    dt = t.data_type
    if dt not in _FLOAT and dt not in _INT:
        return None
    if dt == 16:  # bfloat16: upper half of a float32
        itemsize = 2
    else:
        itemsize = (_FLOAT.get(dt) or _INT[dt]).itemsize
    raw = t.raw_data
    if raw:
        if len(raw) != count * itemsize:
            raise WeightImportError(f"{where}: initializer {name!r}: dims {dims} need {count * itemsize} bytes, "
                                    f"raw_data holds {len(raw)}")
        if dt == 16:
            return (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32).reshape(dims)
        a = np.frombuffer(raw, _FLOAT.get(dt) or _INT[dt]).reshape(dims)
    else:
        if dt == 1:
            field = t.float_data
        elif dt == 11:
            field = t.double_data
        elif dt in (7, 13):
            field = t.int64_data if dt == 7 else t.uint64_data
        else:
            field = t.int32_data
        if len(field) != count:
            raise WeightImportError(f"{where}: initializer {name!r}: dims {dims} need {count} values, "
                                    f"found {len(field)}")
        source = np.asarray(field)
        if dt == 10:
            a = source.astype(np.uint16).view(np.float16)
        elif dt == 16:
            a = (source.astype(np.uint32) << 16).view(np.float32)
        else:
            a = source.astype(_FLOAT.get(dt) or _INT[dt])
        a = a.reshape(dims)
    return a.astype(np.float32) if dt in _FLOAT else a.copy()


class OnnxWeights:
    """An ONNX model's nodes and float initializers: ``nodes`` [(name, op_type, inputs, outputs, attrs)],
    ``initializers`` {name: float32 array} in file order."""

    def __init__(self, where, nodes, initializers):
        self.where, self.nodes, self.initializers = where, nodes, initializers
        self.by_name = {n[0]: n for n in nodes}


def _attrs(node) -> dict:
    out = {}
    for a in node.attribute:
        if a.type == 1:
            out[a.name] = float(a.f)
        elif a.type == 2:
            out[a.name] = int(a.i)
        elif a.type == 3:
            out[a.name] = a.s.decode("utf-8", "replace")
        elif a.type == 8:
            out[a.name] = [s.decode("utf-8", "replace") for s in a.strings]
    return out


def read_onnx(model) -> OnnxWeights:
    """Read an ONNX model (path or ``onnx.ModelProto``): its nodes and float initializers.

    Raises:
        WeightImportError: onnx not installed, a file that does not parse,
            external data, initializers whose dims disagree with their data,
            duplicate node or initializer names (one line naming the file).
    """
    try:
        import onnx
    except ImportError:
        raise WeightImportError("reading ONNX files needs the onnx package (pip install netdsl[onnx])") from None
    if isinstance(model, onnx.ModelProto):
        where = f"ONNX model {model.graph.name!r}"
    else:
        where = os.fspath(model)
        file_size(where)
        if file_size(where) == 0:
            raise WeightImportError(f"{where}: not an ONNX model: the file is empty")
        try:
            model = onnx.load(where, load_external_data=False)
        except RecursionError:
            raise WeightImportError(f"{where}: not a readable ONNX model: nesting too deep") from None
        except Exception as exc:  # protobuf DecodeError, onnx errors, OSError
            raise WeightImportError(f"{where}: not a readable ONNX model: {plain_error(exc)}") from None
    if not model.HasField("graph"):  # protobuf parses many short byte strings as an empty ModelProto
        raise WeightImportError(f"{where}: not an ONNX model: no graph in it")
    try:
        graph = model.graph
        inits = {}
        for t in graph.initializer:
            if t.name in inits:
                raise WeightImportError(f"{where}: initializer {t.name!r} appears twice")
            a = _decode(t, where)
            if a is not None and a.dtype == np.float32:
                inits[t.name] = a
        nodes, seen = [], set()
        for i, node in enumerate(graph.node):
            name = node.name or f"{node.op_type}_{i}"
            if name in seen:
                raise WeightImportError(f"{where}: node name {name!r} appears twice")
            seen.add(name)
            nodes.append((name, node.op_type, list(node.input), list(node.output), _attrs(node)))
    except NetdslError:
        raise
    except Exception as exc:
        raise WeightImportError(f"{where}: malformed ONNX graph: {plain_error(exc)}") from None
    return OnnxWeights(where, nodes, inits)


def _convert(imp: Importer, ow: OnnxWeights, scope: str, node_names, rels: dict, batch_norm_eps) -> None:
    names = (node_names,) if isinstance(node_names, str) else tuple(node_names)
    for node_name in names:
        name, op, inputs, _, attrs = ow.by_name[node_name]
        init = {i: x for i, x in enumerate(inputs) if x in ow.initializers}

        def take(index, rel, array=None):
            src = inputs[index]
            imp.use(src)
            a = ow.initializers[src] if array is None else array
            imp.put(scope, rel, a, f"{src} (input {index} of {op} {name!r})")

        def fit(index, rel):  # reshape / broadcast a per-channel vector to the declared shape
            a, shape = ow.initializers[inputs[index]], rels.get(rel)
            if shape is not None and a.shape != tuple(shape):
                if a.size == int(np.prod(shape)):
                    a = a.reshape(shape)
                elif a.size == 1:
                    a = np.broadcast_to(a.reshape(()), shape).copy()
            take(index, rel, a)

        if op in ("Conv", "ConvTranspose"):
            if 1 in init:
                take(1, "kernel")
            if 2 in init:
                take(2, "bias")
        elif op == "Gemm":
            if attrs.get("transA", 0):
                imp.use(*init.values())
                imp.problem(f"{scope}: Gemm {name!r} with transA=1 is not a linear layer on its input")
                continue
            alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
            if 1 in init:
                b = ow.initializers[inputs[1]]
                if b.ndim != 2:
                    imp.use(inputs[1])
                    imp.problem(f"{scope}: Gemm {name!r} B {inputs[1]!r} has shape {b.shape}, expected a matrix")
                else:
                    with np.errstate(all="ignore"):
                        take(1, "kernel", (b if attrs.get("transB", 0) else b.T) * np.float32(alpha))
            if 2 in init:
                with np.errstate(all="ignore"):
                    c = ow.initializers[inputs[2]] * np.float32(beta)
                take(2, "bias", c.reshape(-1) if c.ndim == 2 and c.shape[0] == 1 else c)
        elif op == "MatMul":
            if 1 in init:
                b = ow.initializers[inputs[1]]
                if b.ndim != 2:
                    imp.use(inputs[1])
                    imp.problem(f"{scope}: MatMul {name!r} B {inputs[1]!r} has shape {b.shape}, expected (K, N)")
                else:
                    take(1, "kernel", b.T)
            if 0 in init:
                imp.use(inputs[0])
                imp.problem(f"{scope}: MatMul {name!r} has its weights as input A; write it as add_matrix_multiply")
        elif op in ("Add", "Sub") and init:
            if len(init) != 1 or op == "Sub":
                imp.use(*init.values())
                imp.problem(f"{scope}: {op} {name!r} is not a bias addition (one initializer operand)")
                continue
            fit(next(iter(init)), "bias")
        elif op == "BatchNormalization":
            for index, rel in ((1, "scale"), (2, "bias"), (3, "mean"), (4, "variance")):
                if index in init:
                    take(index, rel)
            eps = attrs.get("epsilon", 1e-5)
            if batch_norm_eps is not None:
                want = batch_norm_eps(scope) if callable(batch_norm_eps) else batch_norm_eps
                if want is not None and abs(float(eps) - float(want)) > 1e-7 * max(1.0, abs(float(want))):
                    imp.problem(f"{scope}: BatchNormalization {name!r} epsilon {eps!r} but the netdsl batch norm "
                                f"uses {want!r}")
        elif op == "PRelu":
            if 1 in init:
                fit(1, "slopes")
        elif op == "Gather":
            if 0 in init:
                take(0, "embeddings")
        elif op in _RNN:
            if 1 not in init or 2 not in init:
                imp.problem(f"{scope}: {op} {name!r}: W and R must be initializers")
                continue
            imp.use(*(inputs[i] for i in (1, 2, 3) if i in init))
            kind = _RNN[op] or ("RELU" if str(attrs.get("activations", ["Tanh"])[0]).lower() == "relu" else "TANH")
            if attrs.get("direction", "forward") == "reverse":
                imp.problem(f"{scope}: {op} {name!r} direction 'reverse' has no netdsl equivalent")
                continue
            try:
                arrays = recurrent.from_onnx(scope, kind, ow.initializers[inputs[1]], ow.initializers[inputs[2]],
                                             ow.initializers[inputs[3]] if 3 in init else None)
            except (NetdslError, ValueError) as exc:
                imp.problem(f"{scope}: {op} {name!r}: {exc}")
                continue
            for full, a in arrays.items():
                imp.put("", full, a, f"{op} {name!r}")
        else:
            imp.use(*init.values())
            imp.problem(f"{scope}: no layout rule for ONNX {op} {name!r} (initializers {', '.join(init.values())})")


def _units(ow: OnnxWeights) -> list:
    """Weight-bearing nodes in graph order; a MatMul feeding an Add that has an initializer is one unit."""
    units, skip = [], set()
    consumers = {}
    for n in ow.nodes:
        for x in n[2]:
            consumers.setdefault(x, []).append(n)
    for n in ow.nodes:
        if n[0] in skip or not any(x in ow.initializers for x in n[2]):
            continue
        if n[1] == "MatMul" and len(n[3]) == 1:
            nxt = consumers.get(n[3][0], [])
            if len(nxt) == 1 and nxt[0][1] == "Add" and any(x in ow.initializers for x in nxt[0][2]):
                units.append((n[0], nxt[0][0]))
                skip.add(nxt[0][0])
                continue
        units.append(n[0])
    return units


def _scope_of(name: str) -> str:
    if re.search(r"\.l\d+(_reverse)?\.(weight_ih|weight_hh|bias_ih|bias_hh)$", name):
        return name.rsplit(".", 2)[0]
    return name.rsplit(".", 1)[0] if "." in name else ""


def import_onnx(model, network, mapping=None, *, by: str = "name", batch_norm_eps=None) -> dict[str, np.ndarray]:
    """Import an ONNX model's initializers into a netdsl network's declared weights.

    Args:
        model: path of a ``.onnx`` file, or an ``onnx.ModelProto``.
        network: a :class:`netdsl.Network` (unbound declared weights) or ``name -> shape``.
        mapping: ``by="name"``: netdsl scope -> node name(s) (``ScopeMapping``).
        by: ``"name"`` or ``"order"`` (scopes in declaration order <-> weight-bearing nodes in graph order).
        batch_norm_eps: the netdsl batch norms' eps (float or ``scope -> eps``) to check
            each BatchNormalization's ``epsilon`` against; None (default): the eps each batch
            norm of ``network`` was built with (a mapping ``name -> shape`` has none: not checked).
    Returns:
        ``{netdsl name: float32 array}``.
    Raises:
        WeightImportError: as :func:`read_onnx`, or one line listing every
            unmapped float initializer, unfilled netdsl weight, shape
            mismatch, missing layout rule and (``by="order"``) count mismatch.
    """
    ow = read_onnx(model)
    targets = targets_of(network, ow.where)
    if batch_norm_eps is None:
        batch_norm_eps = network_batch_norm_eps(network)
    imp = Importer(ow.where, targets, sources=list(ow.initializers))
    if by == "name":
        def exists(value):
            vals = (value,) if isinstance(value, str) else value
            return isinstance(vals, tuple) and bool(vals) and all(isinstance(v, str) and v in ow.by_name for v in vals)
        groups = imp.group(ScopeMapping(mapping), exists)
        for (scope, nodes), rels in groups.items():
            _convert(imp, ow, scope, nodes, rels, batch_norm_eps)
    elif by == "order":
        if mapping is not None:
            raise WeightImportError(f"{ow.where}: by='order' takes no mapping")
        scopes = list(dict.fromkeys(_scope_of(n) for n in targets))
        units = _units(ow)
        if len(scopes) != len(units):
            imp.problem(f"the network declares weights for {len(scopes)} scopes, the graph has {len(units)} "
                        f"weight-bearing nodes")
        for scope, unit in zip(scopes, units):
            rels = {n[len(scope) + 1:]: s for n, s in targets.items() if _scope_of(n) == scope}
            _convert(imp, ow, scope, unit, rels, batch_norm_eps)
    else:
        raise WeightImportError(f"{ow.where}: by must be 'name' or 'order', found {by!r}")
    return imp.finish(network_name(network))


def convert_onnx(model, network, out_path, mapping=None, *, source: str | None = None, **kwargs):
    """:func:`import_onnx`, then write a netdsl HDF5 store at ``out_path`` (atomic). Returns the arrays."""
    arrays = import_onnx(model, network, mapping, **kwargs)
    src = source or (f"onnx {os.path.basename(os.fspath(model))}" if isinstance(model, (str, os.PathLike))
                     else "onnx model")
    write_weights(out_path, arrays, source=src, network=network_name(network), layouts=default_layouts(arrays))
    return arrays
