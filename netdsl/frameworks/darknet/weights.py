"""Convert darknet ``.cfg`` + ``.weights`` into a netdsl HDF5 weight store.

The ``.weights`` file (darknet src/parser.c ``load_weights_upto``,
little-endian) is a header, then every convolutional layer's float32 values
in layer order:

* header: int32 major, minor, revision; then ``seen`` (images seen in
  training) as uint64 if ``major*10 + minor >= 2`` and major, minor < 1000,
  else uint32 — 20 or 16 bytes in all;
* per [convolutional] section (``load_convolutional_weights``): biases (K);
  if batch_normalize: scales (K), rolling_mean (K), rolling_variance (K);
  then the kernel, K x C/groups x size x size (already KCRS).

Output names (a contract with models/yolov3_tiny.py), for the convolutional
section of darknet layer index i:

* ``conv{i}.conv.kernel``: (K, C/groups, size, size) float32, layout "KCRS";
* with batch_normalize: ``conv{i}.bn.scale``, ``conv{i}.bn.bias`` (darknet's
  biases are the batch-norm shift then), ``conv{i}.bn.mean``,
  ``conv{i}.bn.variance``, each (K,);
* without: ``conv{i}.conv.bias`` (K,).

The cfg is first checked exactly as the cfg builder checks it
(:func:`netdsl.frameworks.darknet.builder.check_cfg`): a cfg that ``netdsl
inspect``, ``build`` or ``detect`` refuses (an unknown key, an unsupported
activation ...) is refused here with the same message, before any weight is
read. The float count must match the cfg exactly: a truncated file, or one with
floats left over (weights of another cfg), is an error and nothing is written
(the size is compared before the file is read). So are values darknet would
compute garbage from: a NaN or +-Inf anywhere, and a negative
rolling_variance (darknet normalises by ``sqrt(variance + .000001f)``,
src/batchnorm_layer.c / blas.c ``normalize_cpu``).
"""
from __future__ import annotations

import hashlib
import os

import numpy as np

from ...graph.errors import WeightsFileError
from ...weights.h5write import save_weights
from ...weights.values import first_below, first_nonfinite
from .builder import check_cfg
from .cfg import ConvParams, conv_parameter_shapes

# darknet role -> (sub-layer, netdsl role), with and without batch_normalize.
_NAMES_BN = {"biases": ("bn", "bias"), "scales": ("bn", "scale"), "rolling_mean": ("bn", "mean"),
             "rolling_variance": ("bn", "variance"), "weights": ("conv", "kernel")}
_NAMES_PLAIN = {"biases": ("conv", "bias"), "weights": ("conv", "kernel")}


def read_darknet_header(data: bytes, path: str = "<weights>", size: int | None = None
                        ) -> tuple[tuple[int, int, int], int, int]:
    """Decode a .weights header (darknet src/parser.c ``load_weights_upto``).

    Args:
        data: the file's first bytes (at least its header: 20 bytes suffice).
        path: the file, for messages.
        size: the whole file's size, if ``data`` is only its start (default ``len(data)``).
    Returns:
        ((major, minor, revision), seen, header_size_in_bytes).
    Raises:
        WeightsFileError: the file is shorter than the header.
    """
    size = len(data) if size is None else size
    if size < 12 or len(data) < 12:
        raise WeightsFileError(f"darknet weights {path} is {size} bytes, shorter than its "
                               f"12-byte version header")
    major, minor, revision = (int(v) for v in np.frombuffer(data, "<i4", 3))
    wide = major * 10 + minor >= 2 and major < 1000 and minor < 1000
    header = 20 if wide else 16
    if size < header or len(data) < header:
        raise WeightsFileError(f"darknet weights {path} is {size} bytes, shorter than its {header}-byte "
                               f"header (version {major}.{minor}.{revision})")
    seen = int(np.frombuffer(data, "<u8" if wide else "<u4", 1, 12)[0])
    return (major, minor, revision), seen, header


def _check_values(path: str, conv: ConvParams, role: str, name: str, values: np.ndarray) -> None:
    """Refuse NaN/+-Inf anywhere and a negative rolling_variance, naming the tensor and the first bad index."""
    problem = first_nonfinite(values)
    if problem is None and role == "rolling_variance":
        problem = first_below(values, 0.0)
    if problem:
        raise WeightsFileError(f"darknet weights {path}: {name} (darknet layer {conv.section.index} {role}): "
                               f"{problem}; nothing written")


def darknet_weight_name(conv: ConvParams, role: str) -> str:
    """netdsl name of one darknet parameter, e.g. ``conv0.bn.scale``."""
    sub, leaf = (_NAMES_BN if conv.batch_normalize else _NAMES_PLAIN)[role]
    return f"conv{conv.section.index}.{sub}.{leaf}"


def _convolutions(cfg_path: str) -> list[ConvParams]:
    """The cfg's convolutions in file order, once the cfg has passed the builder's checks (:func:`check_cfg`)."""
    return conv_parameter_shapes(check_cfg(cfg_path))


def convert_darknet(cfg_path, weights_path, out_path) -> dict:
    """Convert darknet weights to a netdsl HDF5 store (see the module docstring).

    Args:
        cfg_path: darknet .cfg describing the network.
        weights_path: darknet .weights with values for exactly that cfg.
        out_path: HDF5 file to write (atomically; its directory must exist).
    Returns:
        summary dict: ``conv_layers`` (int), ``tensors`` (int), ``floats``
        (float32 values read), ``version`` ((major, minor, revision)),
        ``seen`` (int), ``header_bytes`` (int), ``md5`` (of the .weights), ``out_path`` (str).
    Raises:
        DarknetCfgError: a cfg the builder refuses (unknown key or section,
            unsupported value ...; as :func:`build_from_cfg`, same message).
        WeightsFileError: unreadable or malformed cfg, a .weights file shorter
            than its header, a float count different from the cfg's (message
            names both files and both counts), a NaN/+-Inf value or a negative
            rolling_variance (naming the tensor and first bad index), or a
            failed write. Nothing is written in any error case.
    """
    cfg_path, weights_path, out_path = os.fspath(cfg_path), os.fspath(weights_path), os.fspath(out_path)
    convs = _convolutions(cfg_path)
    needed = sum(c.count for c in convs)
    if os.path.exists(weights_path) and not os.path.isfile(weights_path):
        raise WeightsFileError(f"darknet weights {weights_path} is not a regular file")
    try:
        with open(weights_path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            version, seen, offset = read_darknet_header(f.read(20), weights_path, size)
            body = size - offset
            if body != 4 * needed:  # judged from the size, before reading the floats
                present = f"{body // 4:,} floats" + (f" and {body % 4} stray bytes" if body % 4 else "")
                hint = "truncated?" if body < 4 * needed else "weights of a different cfg?"
                raise WeightsFileError(f"darknet weights {weights_path} do not fit {cfg_path}: the cfg needs "
                                       f"{needed:,} floats after the {offset}-byte header, the file holds {present} "
                                       f"({hint})")
            f.seek(0)
            data = f.read()
    except OSError as exc:
        raise WeightsFileError(f"cannot read darknet weights {weights_path}: {exc.strerror or exc}") from None
    if len(data) != size:
        raise WeightsFileError(f"darknet weights {weights_path} changed size while being read")
    floats = np.frombuffer(data, "<f4", needed, offset).astype(np.float32)
    arrays, layouts, pos = {}, {}, 0
    for conv in convs:
        for role, shape in conv.params:
            n = int(np.prod(shape))
            name = darknet_weight_name(conv, role)
            arrays[name] = floats[pos:pos + n].reshape(shape)
            _check_values(weights_path, conv, role, name, arrays[name])
            pos += n
            if role == "weights":
                layouts[name] = "KCRS"
    md5 = hashlib.md5(data).hexdigest()
    cfg_name = os.path.basename(cfg_path)
    source = f"darknet {os.path.basename(weights_path)} (md5 {md5}) with {cfg_name}"
    attrs = {"darknet_version": ".".join(map(str, version)), "darknet_seen": seen, "darknet_cfg": cfg_name}
    save_weights(out_path, arrays, source=source, network=os.path.splitext(cfg_name)[0],
                 layouts=layouts, attrs=attrs)
    return {"conv_layers": len(convs), "tensors": len(arrays), "floats": needed, "version": version,
            "seen": seen, "header_bytes": offset, "md5": md5, "out_path": out_path}


def export_darknet(cfg_path, weights_path, out_path) -> dict:
    """Write a netdsl HDF5 store back as a darknet ``.weights`` file for ``cfg_path`` (the converter's inverse).

    The file is darknet's format 0.2 (darknet src/parser.c ``save_weights_upto``):
    int32 major 0, minor 2, revision; uint64 ``seen``; then per
    [convolutional] section, in layer order, float32 little-endian biases
    (K), with batch_normalize scales, rolling_mean, rolling_variance (K
    each), then the KCRS kernel. ``revision`` and ``seen`` come from the
    store's ``darknet_version`` / ``darknet_seen`` attributes (written by
    :func:`convert_darknet`), else 0 — so a converted official file exports
    back byte for byte.

    Args:
        cfg_path: darknet .cfg describing the network.
        weights_path: netdsl HDF5 store holding exactly the cfg's tensors,
            named as :func:`convert_darknet` names them.
        out_path: ``.weights`` file to write (atomically).
    Returns:
        summary dict: ``conv_layers``, ``tensors``, ``floats``, ``version``,
        ``seen``, ``bytes`` (file size), ``out_path``.
    Raises:
        DarknetCfgError: a cfg the builder refuses (as :func:`convert_darknet`).
        WeightsFileError: unreadable cfg or store; tensors missing from the
            store, unexpected in it, or of the wrong shape (all listed in one
            message naming both files). Nothing is written then.
    """
    from ...weights.hdf5 import WeightStore
    from ...files import OutputPathError, write_bytes_atomic, check_output_path

    cfg_path, weights_path, out_path = os.fspath(cfg_path), os.fspath(weights_path), os.fspath(out_path)
    try:
        check_output_path(out_path)
    except OutputPathError as exc:
        raise WeightsFileError(str(exc)) from None
    convs = _convolutions(cfg_path)
    store = WeightStore.open(weights_path)
    wanted = [(darknet_weight_name(conv, role), shape) for conv in convs for role, shape in conv.params]
    names = {n for n, _ in wanted}
    missing = [n for n, _ in wanted if n not in store]
    unexpected = [n for n in store if n not in names]
    mismatched = [f"{n}: expected shape {shape}, found {store[n].shape}" for n, shape in wanted
                  if n in store and store[n].shape != shape]
    if missing or unexpected or mismatched:
        parts = ([f"missing: {', '.join(missing)}"] if missing else []) + \
                ([f"unexpected: {', '.join(unexpected)}"] if unexpected else []) + \
                ([f"mismatched: {'; '.join(mismatched)}"] if mismatched else [])
        raise WeightsFileError(f"{weights_path} does not fit {cfg_path}: " + " | ".join(parts))
    revision, seen = 0, 0
    version_text = str(store.attrs.get("darknet_version", ""))
    parts = version_text.split(".")
    if len(parts) == 3 and parts[:2] == ["0", "2"] and parts[2].isdigit():
        revision = int(parts[2])
    stored_seen = store.attrs.get("darknet_seen", 0)
    if isinstance(stored_seen, int) and 0 <= stored_seen < 2 ** 64:
        seen = stored_seen
    header = np.array([0, 2, revision], "<i4").tobytes() + np.array([seen], "<u8").tobytes()
    body = b"".join(np.ascontiguousarray(store[n], dtype="<f4").tobytes() for n, _ in wanted)
    size = write_bytes_atomic(out_path, header + body)
    return {"conv_layers": len(convs), "tensors": len(wanted), "floats": len(body) // 4,
            "version": (0, 2, revision), "seen": seen, "bytes": size, "out_path": out_path}
