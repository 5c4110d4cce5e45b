"""Keras HDF5 files (Keras 1/2 ``model.save`` and ``save_weights``) -> netdsl weights, with h5py only.

No TensorFlow: the file is read with h5py as Keras 2's ``hdf5_format.py``
writes it (``load_weights_from_hdf5_group``):

* full model (``model.save``): root attribute ``model_config`` (JSON: each
  layer's ``class_name`` and ``config``), weights under ``/model_weights``;
* weights only (``model.save_weights``): weights at the root, no config.

Either way the weights group has attribute ``layer_names`` and each layer's
group attribute ``weight_names`` (paths such as ``conv2d_1_1/kernel:0``
relative to the layer's group), in the layer's own order. Optimizer state
(``/optimizer_weights``) is never read.

A layer's class comes from the model config; in a weights-only file it is
given by ``classes={"rnn_1": "CuDNNLSTM"}`` or inferred from the weight names
(``depthwise_kernel`` + ``pointwise_kernel``: SeparableConv2D; ``gamma``/
``moving_mean``: BatchNormalization; ``embeddings``: Embedding; a recurrent
kernel with a bias of 2·G·H: CuDNNLSTM / CuDNNGRU, else LSTM / GRU /
SimpleRNN by G; ``kernel`` of rank 2:
Dense, rank 3/4/5: Conv1D/2D/3D). A plain LSTM / GRU / SimpleRNN needs
the config (its activations decide whether netdsl can compute it).

Layout rules (Keras layer docs; netdsl's declared layouts):

===========================  ==========================================  ===================================
Keras layer                  Keras weights                               netdsl roles
===========================  ==========================================  ===================================
Conv1D / Conv2D / Conv3D     ``kernel`` (k..., in, out) channels-last    ``kernel`` (out, in, k...) KCS/KCRS/KCTRS; ``bias``
DepthwiseConv2D              ``depthwise_kernel`` (kh, kw, in, m)        ``kernel`` (in·m, 1, kh, kw) (groups = in; output c·m + j); ``bias``
SeparableConv2D              ``depthwise_kernel``, ``pointwise_kernel``  ``depthwise.kernel`` (in·m, 1, kh, kw), ``pointwise.kernel`` (out, in·m, 1, 1), ``pointwise.bias``
                             (1, 1, in·m, out), ``bias``
BatchNormalization           ``gamma``, ``beta``, ``moving_mean``,       ``scale``, ``bias``, ``mean``, ``variance`` (1 / 0 when
                             ``moving_variance``                         ``scale`` / ``center`` is off); ``epsilon`` checked
Dense                        ``kernel`` (in, out), ``bias``              ``kernel`` (out, in) (netdsl add_linear), ``bias``
Embedding                    ``embeddings`` (V, D)                       ``embeddings``
PReLU                        ``alpha`` (..., C) channels-last            ``slopes`` (channels first, reshaped to the declared shape)
LSTM / GRU / SimpleRNN       ``kernel``, ``recurrent_kernel``, ``bias``  ``l0.weight_ih`` ... (:func:`recurrent.from_keras`)
CuDNNLSTM / CuDNNGRU         same names, cuDNN layout                    (:func:`recurrent.from_keras_cudnn`)
Bidirectional(LSTM ...)      ``forward_*`` / ``backward_*`` groups       ``l0`` and ``l0_reverse``
any other                    ``name``                                    ``name`` as is
===========================  ==========================================  ===================================

Batch-norm epsilon: netdsl fixes it when the network is built
(``add_batch_norm(eps=...)``), and each BatchNormalization's config
``epsilon`` is checked against the eps of the network's batch norm of that
scope (``batch_norm_eps``, a float or ``scope -> eps``, overrides it); a
mismatch is listed as a problem.

Hardening: the HDF5 reading runs in a forked child process with a time limit
(a damaged global heap makes libhdf5's attribute read spin forever — found
by tools/fuzz_importers.py — and C code cannot be interrupted in-process);
inside it every h5py call is guarded so any error becomes
:class:`WeightImportError`; a dataset claiming more bytes than the file
holds is refused before it is read; the JSON config's depth is bounded.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..graph.errors import NetdslError
from . import recurrent
from ._importing import (Importer, ScopeMapping, WeightImportError, default_layouts, file_size, isolated,
                         network_batch_norm_eps, network_name, plain_error, targets_of, write_weights)

__all__ = ["KerasLayer", "KerasFile", "read_keras", "import_keras", "convert_keras"]

_RECURRENT = {"LSTM": "LSTM", "GRU": "GRU", "SimpleRNN": None, "CuDNNLSTM": "LSTM", "CuDNNGRU": "GRU"}
MAX_JSON = 64 << 20


@dataclass
class KerasLayer:
    """One Keras layer with weights: class, config and ``{short name: array}`` (``kernel``, ``gamma`` ...)."""

    name: str
    class_name: str | None
    config: dict
    weights: dict = field(default_factory=dict)   # short name -> array, in the file's order
    paths: dict = field(default_factory=dict)     # short name -> HDF5 path (for messages)


@dataclass
class KerasFile:
    """A Keras HDF5 file read into memory: ``layers`` (name -> KerasLayer, file order, weighted layers only)."""

    path: str
    keras_version: str | None
    full_model: bool
    layers: dict


def _short(weight_name: str) -> str:
    """``conv2d_1_1/kernel:0`` -> ``kernel``; ``bidirectional_1/forward_lstm_1/kernel:0`` -> ``forward_lstm_1/kernel``."""
    name = weight_name.split(":")[0]
    parts = name.split("/")
    return "/".join(parts[1:]) if len(parts) > 2 else parts[-1]


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.bytes_):
        return bytes(value).decode("utf-8")
    if isinstance(value, str):
        return value
    raise WeightImportError(f"expected a string attribute, found {type(value).__name__}")


def _names(attr) -> list[str]:
    if attr is None:
        return []
    arr = np.asarray(attr)
    if arr.dtype.kind == "f" and arr.size == 0:  # Keras writes an empty float array for "no weights"
        return []
    if arr.ndim != 1 or arr.dtype.kind not in "SUO":
        raise WeightImportError(f"name list of unexpected type {arr.dtype} shape {arr.shape}")
    return [_text(v) for v in arr.tolist()]


def _config_layers(config_text: str, path: str) -> dict[str, tuple[str, dict]]:
    """``{layer name: (class_name, config)}`` from a ``model_config`` JSON (Sequential or functional)."""
    if len(config_text) > MAX_JSON:
        raise WeightImportError(f"{path}: model_config of {len(config_text)} characters")
    try:
        cfg = json.loads(config_text)
    except (ValueError, RecursionError) as exc:
        raise WeightImportError(f"{path}: model_config is not JSON: {plain_error(exc)}") from None
    out: dict = {}

    def walk(node, depth=0):
        if depth > 50:
            raise WeightImportError(f"{path}: model_config nested deeper than 50 models")
        if not isinstance(node, dict):
            raise WeightImportError(f"{path}: model_config: expected an object, found {type(node).__name__}")
        conf = node.get("config")
        layers = conf.get("layers") if isinstance(conf, dict) else conf  # functional vs Keras 2.0 Sequential
        if not isinstance(layers, list):
            raise WeightImportError(f"{path}: model_config {node.get('class_name')!r} has no layer list")
        for layer in layers:
            if not isinstance(layer, dict) or not isinstance(layer.get("class_name"), str):
                raise WeightImportError(f"{path}: model_config: a layer is not {{class_name, config}}")
            lconf = layer.get("config")
            if not isinstance(lconf, dict):
                raise WeightImportError(f"{path}: model_config: layer of class {layer['class_name']!r} has no config")
            name = lconf.get("name", layer.get("name"))
            if not isinstance(name, str):
                raise WeightImportError(f"{path}: model_config: a {layer['class_name']} layer has no name")
            if layer["class_name"] in ("Model", "Sequential", "Functional"):
                raise WeightImportError(f"{path}: nested model {name!r} ({layer['class_name']}) is not supported; "
                                        f"save the inner model on its own")
            out[name] = (layer["class_name"], lconf)

    walk(cfg)
    return out


READ_TIMEOUT = 60.0  # seconds for reading one Keras file in the isolated child (read_keras(timeout=...))


def read_keras(path, *, timeout: float | None = READ_TIMEOUT) -> KerasFile:
    """Read a Keras HDF5 file's layer weights (and config, if any) with h5py.

    The HDF5 library runs in a forked child process with a time limit
    (``netdsl.frameworks._importing.isolated``): a damaged file can make
    libhdf5 loop forever (found by fuzzing) or crash, which Python cannot
    interrupt in-process. ``timeout=None`` reads in this process.

    Args:
        path: ``model.save(...)`` or ``model.save_weights(...)`` HDF5 file.
        timeout: seconds the reading may take (default 60).
    Returns:
        KerasFile with the layers that hold weights, in file order.
    Raises:
        WeightImportError: a missing or non-HDF5 file, no ``layer_names``,
            a listed weight missing, a dataset claiming more bytes than the
            file has, a malformed config, any HDF5 error, or the reading
            timing out or crashing (one line naming the file).
    """
    path = os.fspath(path)
    size = file_size(path)
    return isolated(_read_keras, (path, size), where=path, timeout=timeout, what="reading the HDF5 file")


def _read_keras(path: str, size: int) -> KerasFile:
    import h5py

    try:
        if not h5py.is_hdf5(path):
            raise WeightImportError(f"{path}: not an HDF5 file (expected a Keras .h5 / .hdf5)")
        with h5py.File(path, "r") as f:
            configs = {}
            full = "model_weights" in f
            if "model_config" in f.attrs:
                configs = _config_layers(_text(f.attrs["model_config"]), path)
            group = f["model_weights"] if full else f
            if not isinstance(group, h5py.Group):
                raise WeightImportError(f"{path}: /model_weights is not a group")
            if "layer_names" not in group.attrs:
                raise WeightImportError(f"{path}: no 'layer_names' attribute: not a Keras weights file")
            version = group.attrs.get("keras_version", f.attrs.get("keras_version"))
            layers = {}
            budget = size
            for lname in _names(group.attrs["layer_names"]):
                if lname not in group or not isinstance(group[lname], h5py.Group):
                    raise WeightImportError(f"{path}: layer {lname!r} is listed in layer_names but has no group")
                lgroup = group[lname]
                wnames = _names(lgroup.attrs.get("weight_names"))
                if not wnames:
                    continue
                cls, conf = configs.get(lname, (None, {}))
                layer = KerasLayer(lname, cls, conf)
                for wname in wnames:
                    ds = lgroup.get(wname)
                    if not isinstance(ds, h5py.Dataset):
                        raise WeightImportError(f"{path}: layer {lname!r}: weight {wname!r} is listed but missing")
                    nbytes = int(np.prod(ds.shape, dtype=object)) * ds.dtype.itemsize if ds.shape else ds.dtype.itemsize
                    if nbytes > budget:
                        raise WeightImportError(f"{path}: {lname}/{wname} claims {nbytes} bytes, more than the "
                                                f"file's {size}")
                    budget -= nbytes
                    if ds.dtype.kind not in "fiub":
                        raise WeightImportError(f"{path}: {lname}/{wname} has dtype {ds.dtype}")
                    short = _short(wname)
                    if short in layer.weights:
                        raise WeightImportError(f"{path}: layer {lname!r} lists weight {short!r} twice")
                    layer.weights[short] = np.array(ds[()])
                    layer.paths[short] = f"{lname}/{wname}"
                layers[lname] = layer
            return KerasFile(path, _text(version) if version is not None else None, full, layers)
    except NetdslError:
        raise
    except RecursionError:
        raise WeightImportError(f"{path}: not a readable Keras file: nesting too deep") from None
    except Exception as exc:  # h5py raises OSError, KeyError, ValueError, RuntimeError ... on damaged files
        raise WeightImportError(f"{path}: not a readable Keras file: {plain_error(exc)}") from None


def infer_class(layer: KerasLayer) -> str | None:
    """The Keras class of a weights-only layer, from its weight names and shapes, or None."""
    w = layer.weights
    if {"depthwise_kernel", "pointwise_kernel"} <= set(w):
        return "SeparableConv2D"
    if "depthwise_kernel" in w:
        return "DepthwiseConv2D"
    if "moving_mean" in w:
        return "BatchNormalization"
    if "embeddings" in w:
        return "Embedding"
    if "recurrent_kernel" in w and "kernel" in w and "bias" in w:
        rk, b = w["recurrent_kernel"], w["bias"]
        if rk.ndim != 2 or not rk.shape[0]:
            return None
        gates = rk.shape[1] // rk.shape[0]
        if b.ndim == 1 and b.shape[0] == 2 * rk.shape[1]:
            return {4: "CuDNNLSTM", 3: "CuDNNGRU"}.get(gates)
        return {4: "LSTM", 3: "GRU", 1: "SimpleRNN"}.get(gates)
    if set(w) <= {"kernel", "bias"} and "kernel" in w:
        return {2: "Dense", 3: "Conv1D", 4: "Conv2D", 5: "Conv3D"}.get(w["kernel"].ndim)
    if set(w) == {"alpha"}:
        return "PReLU"
    return None


def _channels_first(kernel: np.ndarray) -> np.ndarray:
    """(k..., in, out) -> (out, in, k...)."""
    n = kernel.ndim
    return np.transpose(kernel, (n - 1, n - 2) + tuple(range(n - 2)))


def _depthwise(kernel: np.ndarray) -> np.ndarray:
    """(kh, kw, in, m) -> (in*m, 1, kh, kw): output channel c*m + j reads input channel c."""
    kh, kw, cin, m = kernel.shape
    return np.transpose(kernel, (2, 3, 0, 1)).reshape(cin * m, 1, kh, kw)


def _convert(imp: Importer, kf: KerasFile, scope: str, layer: KerasLayer, cls: str, rels: dict,
             batch_norm_eps) -> None:
    w, conf = layer.weights, layer.config

    def take(short, rel, array=None):
        imp.use(layer.paths[short])
        imp.put(scope, rel, w[short] if array is None else array, layer.paths[short])

    def need(*names):
        missing = [n for n in names if n not in w]
        if missing:
            imp.problem(f"{scope}: Keras {cls} layer {layer.name!r} has no weight {', '.join(missing)}")
        return not missing

    if cls in ("Conv1D", "Conv2D", "Conv3D", "Dense"):
        if need("kernel"):
            k = w["kernel"]
            expected = {"Conv1D": 3, "Conv2D": 4, "Conv3D": 5, "Dense": 2}[cls]
            if k.ndim != expected:
                imp.use(layer.paths["kernel"])
                imp.problem(f"{scope}: Keras {cls} kernel {layer.paths['kernel']} has rank {k.ndim}, expected {expected}")
            else:
                take("kernel", "kernel", _channels_first(k) if cls != "Dense" else k.T)
        if "bias" in w:
            take("bias", "bias")
    elif cls == "DepthwiseConv2D":
        if need("depthwise_kernel"):
            k = w["depthwise_kernel"]
            if k.ndim != 4:
                imp.use(layer.paths["depthwise_kernel"])
                imp.problem(f"{scope}: {layer.paths['depthwise_kernel']} has rank {k.ndim}, expected 4")
            else:
                take("depthwise_kernel", "kernel", _depthwise(k))
        if "bias" in w:
            take("bias", "bias")
    elif cls == "SeparableConv2D":
        if need("depthwise_kernel", "pointwise_kernel"):
            d, p = w["depthwise_kernel"], w["pointwise_kernel"]
            if d.ndim != 4 or p.ndim != 4:
                imp.use(layer.paths["depthwise_kernel"], layer.paths["pointwise_kernel"])
                imp.problem(f"{scope}: SeparableConv2D kernels of ranks {d.ndim}, {p.ndim}, expected 4 and 4")
            else:
                take("depthwise_kernel", "depthwise.kernel", _depthwise(d))
                take("pointwise_kernel", "pointwise.kernel", _channels_first(p))
        if "bias" in w:
            take("bias", "pointwise.bias")
    elif cls == "BatchNormalization":
        if need("moving_mean", "moving_variance"):
            take("moving_mean", "mean")
            take("moving_variance", "variance")
            channels = w["moving_mean"].shape
            for short, rel, default in (("gamma", "scale", 1.0), ("beta", "bias", 0.0)):
                if short in w:
                    take(short, rel)
                elif f"{scope}.{rel}" in imp.targets:
                    imp.put(scope, rel, np.full(channels, default, np.float32), f"{layer.name} (no {short})")
        eps = conf.get("epsilon")
        if batch_norm_eps is not None and eps is not None:
            want = batch_norm_eps(scope) if callable(batch_norm_eps) else batch_norm_eps
            if want is not None and (not isinstance(eps, (int, float)) or abs(float(eps) - float(want)) > 1e-12):
                imp.problem(f"{scope}: Keras {layer.name!r} epsilon {eps!r} but the netdsl batch norm uses {want!r}")
    elif cls == "Embedding":
        if need("embeddings"):
            take("embeddings", "embeddings")
    elif cls == "PReLU":
        if need("alpha"):
            a = np.moveaxis(w["alpha"], -1, 0) if w["alpha"].ndim else w["alpha"]
            shape = rels.get("slopes")
            if shape is not None and a.size == int(np.prod(shape)):
                a = a.reshape(shape)
            take("alpha", "slopes", a)
    elif cls in _RECURRENT or cls == "Bidirectional":
        _convert_recurrent(imp, scope, layer, cls, conf)
    else:
        for short in w:
            take(short, short.replace("/", "."))


def _convert_recurrent(imp: Importer, scope: str, layer: KerasLayer, cls: str, conf: dict) -> None:
    w = layer.weights
    directions = [("", False, cls, conf)]
    if cls == "Bidirectional":
        inner = conf.get("layer", {}) if isinstance(conf.get("layer"), dict) else {}
        inner_cls, inner_conf = inner.get("class_name"), inner.get("config", {})
        if inner_cls not in _RECURRENT or not isinstance(inner_conf, dict):
            imp.use(*layer.paths.values())
            imp.problem(f"{scope}: Keras Bidirectional {layer.name!r} wraps {inner_cls!r}, not a recurrent layer")
            return
        fw = sorted({k.split("/")[0] for k in w if k.startswith("forward")})
        bw = sorted({k.split("/")[0] for k in w if k.startswith("backward")})
        if len(fw) != 1 or len(bw) != 1:
            imp.use(*layer.paths.values())
            imp.problem(f"{scope}: Keras Bidirectional {layer.name!r}: expected forward_* and backward_* weights")
            return
        directions = [(fw[0] + "/", False, inner_cls, inner_conf), (bw[0] + "/", True, inner_cls, inner_conf)]
    for prefix, reverse, kind, kconf in directions:
        names = [prefix + n for n in ("kernel", "recurrent_kernel", "bias")]
        missing = [n for n in names[:2] if n not in w]
        if missing:
            imp.problem(f"{scope}: Keras {kind} {layer.name!r} has no {', '.join(missing)}")
            continue
        imp.use(*(layer.paths[n] for n in names if n in w))
        bias = w.get(names[2])
        op = _RECURRENT[kind]
        try:
            if kind.startswith("CuDNN"):
                if bias is None:
                    raise WeightImportError(f"Keras {kind} has no bias")
                arrays = recurrent.from_keras_cudnn(scope, op, w[names[0]], w[names[1]], bias, reverse=reverse)
            else:
                if not kconf:
                    raise WeightImportError(f"Keras {kind} without a model config: its activations are unknown "
                                            f"(give classes= and configs=)")
                activation = kconf.get("activation", "tanh")
                if op is None:
                    op = {"tanh": "TANH", "relu": "RELU"}.get(activation, "TANH")
                arrays = recurrent.from_keras(scope, op, w[names[0]], w[names[1]], bias, reverse=reverse,
                                              reset_after=kconf.get("reset_after") if op == "GRU" else None,
                                              activation=activation,
                                              recurrent_activation=kconf.get("recurrent_activation", "sigmoid"))
        except (NetdslError, ValueError) as exc:
            imp.problem(f"{scope}: Keras {kind} {layer.name!r}: {exc}")
            continue
        for name, array in arrays.items():
            imp.put("", name, array, f"{layer.name} ({kind}{', backward' if reverse else ''})")


def import_keras(path, network, mapping=None, *, batch_norm_eps=None, classes: Mapping[str, str] | None = None,
                 configs: Mapping[str, dict] | None = None, timeout: float | None = READ_TIMEOUT
                 ) -> dict[str, np.ndarray]:
    """Import a Keras HDF5 file into a netdsl network's declared weights (h5py only, no TensorFlow).

    Args:
        path: a Keras full-model or weights-only HDF5 file.
        network: the :class:`netdsl.Network` (its unbound declared weights)
            or a mapping ``name -> shape``.
        mapping: netdsl scope -> Keras layer name: None (same name), dict
            (exact or glob keys) or callable (``ScopeMapping``).
        batch_norm_eps: the netdsl batch norms' eps (a float, or a callable
            ``scope -> eps``); each BatchNormalization's config ``epsilon``
            must equal it. None (default): the eps each batch norm of
            ``network`` was built with (a mapping ``name -> shape``: not checked).
        classes: Keras class per layer name, for weights-only files
            (otherwise inferred; see the module docstring).
        configs: layer config per layer name, for weights-only files (LSTM /
            GRU activations, ``reset_after``).
        timeout: seconds for reading the file (:func:`read_keras`).
    Returns:
        ``{netdsl name: float32 array}`` in the network's declaration order.
    Raises:
        WeightImportError: as :func:`read_keras`, or one line listing every
            Keras weight not taken, every netdsl weight unfilled, every shape
            mismatch (expected vs found, with the HDF5 path) and epsilon
            mismatch.
    """
    kf = read_keras(path, timeout=timeout)
    targets = targets_of(network, kf.path)
    if batch_norm_eps is None:
        batch_norm_eps = network_batch_norm_eps(network)
    sources = [p for layer in kf.layers.values() for p in layer.paths.values()]
    imp = Importer(kf.path, targets, sources=sources)
    classes, configs = dict(classes or {}), dict(configs or {})
    for (scope, lname), rels in imp.group(ScopeMapping(mapping), lambda n: isinstance(n, str) and n in kf.layers
                                          ).items():
        layer = kf.layers[lname]
        if lname in configs:
            layer.config = dict(configs[lname])
        cls = classes.get(lname) or layer.class_name or infer_class(layer)
        if cls is None:
            cls = "?"
        _convert(imp, kf, scope, layer, cls, rels, batch_norm_eps)
    return imp.finish(network_name(network))


def convert_keras(path, network, out_path, mapping=None, *, source: str | None = None, **kwargs):
    """:func:`import_keras`, then write a netdsl HDF5 store at ``out_path`` (atomic). Returns the arrays."""
    arrays = import_keras(path, network, mapping, **kwargs)
    write_weights(out_path, arrays, source=source or f"keras {os.path.basename(os.fspath(path))}",
                  network=network_name(network), layouts=default_layouts(arrays))
    return arrays

