"""Reading a netdsl HDF5 weight store defensively: every failure is one WeightsFileError naming the file and object.

What is refused, and why (docs/readers.md has the full list):

* links other than hard links inside the file: soft links (may dangle or
  point back at an ancestor), external links (would open other files), and
  user-defined links; every object must be reached once, by one name — a
  second hard link to an object already seen (a cycle such as
  ``f["a/loop"] = f["a"]``, or an alias) is refused. The walk is iterative
  with an explicit visited set keyed by HDF5 object address (``H5Oget_info``).
* datasets whose declared size cannot be backed by the file: uncompressed
  data larger than the whole file, data not (fully) stored, compressed data
  above ``max_bytes``, chunks far larger than their dataset, virtual or
  external-file datasets, filters this HDF5 library lacks, dtypes other than
  bool / int / uint / float16/32/64, null dataspaces. All of this is judged
  from the dataset header *before* any array is allocated.
* attributes larger than 1 MiB or of types other than strings and numbers.

Any other exception h5py or HDF5 raises (KeyError, RuntimeError, OSError,
ValueError ...: corrupted links, headers, heaps, a failed Fletcher-32 or
metadata checksum) becomes ``WeightsFileError("weights file F: <object>: ...")``.

Files without checksums (superblock version 0/1, written by netdsl before
checksums or by other tools) give HDF5 nothing to detect corruption with,
and HDF5 can crash or loop forever on corrupted metadata of such files
(seen with HDF5 2.0 on single flipped bytes). They are therefore first read
in a separate Python process (``python -m netdsl.weights.h5probe``) with a
time limit; only if that succeeds are they read here.
"""
from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import h5py
import numpy as np

from ..graph.errors import NetdslError, WeightsFileError
from .h5write import FORMAT, FORMAT_VERSION

SIGNATURE = b"\x89HDF\r\n\x1a\n"  # HDF5 File Format Specification, "Format Signature"
DEFAULT_MAX_BYTES = 4 << 30  # total decoded bytes a store may hold (compressed data); uncompressed: the file size
ISOLATION_TIMEOUT = 8.0  # seconds, see _read_in_child
MAX_ATTRIBUTE_BYTES = 1 << 20
MAX_ATTRIBUTE_ELEMENTS = 1 << 16
SHARED_BUFFER_MAX_BYTES = 4 << 20  # arrays below this share one allocation (_Reader.read_all)
_ALIGNMENT = 64  # bytes; each array in the shared buffer starts at a multiple (cache line, SIMD loads)
_MIN_CHUNK_CAP = 1 << 20  # a chunk may exceed its dataset's size (h5py's maxshape), but not beyond this
_FILTER_NAMES = {1: "deflate", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset"}
_SIZE_KEEPING_FILTERS = {2, 3}  # shuffle and fletcher32 never shrink data
_LAYOUTS = {h5py.h5d.COMPACT: "compact", h5py.h5d.CONTIGUOUS: "contiguous", h5py.h5d.CHUNKED: "chunked"}
_DTYPES = {np.dtype(t) for t in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                                 np.uint64, np.float16, np.float32, np.float64)}


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset's header says, read before its data.

    Attributes:
        name: scoped weight name (``conv0.conv.kernel``).
        hdf5_path: ``/conv0/conv/kernel``.
        shape: declared dimensions (``()`` for a scalar).
        dtype: NumPy dtype in native byte order (what the array will have).
        nbytes: ``prod(shape) * itemsize``.
        storage: "chunked", "contiguous" or "compact".
        filters: HDF5 filter names in pipeline order, e.g. ``("fletcher32",)``.
        checksum: "fletcher32" (each chunk checksummed), "header" (compact
            data inside a checksummed version-2 object header) or None (unverified).
        layout: the ``layout`` attribute (e.g. "KCRS") or None.
    """

    name: str
    hdf5_path: str
    shape: tuple[int, ...]
    dtype: np.dtype
    nbytes: int
    storage: str
    filters: tuple[str, ...]
    checksum: str | None
    layout: str | None = None


@dataclass
class StoreContents:
    """Everything :func:`read_store` found: root attributes, dataset headers, the arrays read, integrity."""

    path: str
    attrs: dict[str, Any]
    datasets: dict[str, DatasetInfo]
    arrays: dict[str, np.ndarray]
    checksummed: bool
    superblock_version: int
    isolated: bool = False  # read in a child process first (no checksums)


def superblock_version(path: str) -> int | None:
    """The HDF5 superblock version byte, read from the raw file; None if there is no HDF5 signature.

    HDF5 looks for the signature at offset 0, 512, 1024, 2048 ... (a user
    block may precede it); the version is the byte after the 8-byte
    signature (HDF5 File Format Specification, "Superblock"). Versions 2
    and 3 carry a checksum; 0 and 1 do not.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        offset = 0
        while offset + len(SIGNATURE) < size:
            f.seek(offset)
            head = f.read(len(SIGNATURE) + 1)
            if head[:len(SIGNATURE)] == SIGNATURE and len(head) > len(SIGNATURE):
                return head[len(SIGNATURE)]
            offset = 512 if offset == 0 else offset * 2
    return None


def _plain(value):
    """An HDF5 attribute value as a plain Python value (str, int, float, bool, list)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.dtype.kind in "OS" else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class _Reader:
    """One pass over one open file; ``where`` names the object being read, for messages."""

    def __init__(self, path: str, f: h5py.File, max_bytes: int):
        self.path = path
        self.f = f
        self.max_bytes = max_bytes
        self.file_size = os.path.getsize(path)
        self.where = "root group"
        self.all_headers_checksummed = True
        self.global_heap_attrs = False

    def fail(self, problem: str):
        raise WeightsFileError(f"weights file {self.path}: {self.where}: {problem}")

    # -- attributes ------------------------------------------------------------------------------
    def attributes(self, oid) -> dict[str, Any]:
        """Read every attribute of the object ``oid`` (a low-level h5py ObjectID), checking type and size first.

        Names come in h5py's order (creation order if tracked, else by name)
        and values as h5py's ``obj.attrs[name]`` gives them (the same calls,
        without building an AttributeManager per object).
        """
        out = {}
        owner = self.where
        tracked = oid.get_create_plist().get_attr_creation_order() & h5py.h5p.CRT_ORDER_TRACKED
        names: list[bytes] = []
        h5py.h5a.iterate(oid, lambda name, *_: names.append(name),
                         index_type=h5py.h5.INDEX_CRT_ORDER if tracked else h5py.h5.INDEX_NAME)
        for raw in names:
            key = raw.decode("utf-8")
            self.where = f"{owner} attribute {key!r}"
            aid = h5py.h5a.open(oid, raw)
            shape, dtype = aid.shape, aid.dtype
            if shape is None:
                self.fail("has a null dataspace (no value)")
            count = math.prod(shape)
            string = h5py.check_string_dtype(dtype)
            vlen = string is not None and string.length is None
            if vlen:
                self.global_heap_attrs = True  # variable-length strings live in the unchecksummed global heap
                nbytes = 0  # unknown until read; the element count is limited
            elif dtype.kind in "biufS" and not dtype.fields and dtype.subdtype is None:
                nbytes = count * dtype.itemsize
            else:
                self.fail(f"has type {dtype}; netdsl attributes are strings and numbers")
            if count > MAX_ATTRIBUTE_ELEMENTS or nbytes > MAX_ATTRIBUTE_BYTES:
                self.fail(f"declares {count:,} elements of {dtype} ({nbytes:,} bytes); "
                          f"attributes are limited to {MAX_ATTRIBUTE_BYTES:,} bytes")
            value = np.zeros(shape, dtype=dtype)
            aid.read(value, mtype=h5py.h5t.py_create(dtype))
            if vlen:
                value = np.array([b.decode("utf-8", "surrogateescape") for b in value.flat],
                                 dtype=dtype).reshape(value.shape)
            out[key] = _plain(value[()] if value.ndim == 0 else value)
        self.where = owner
        return out

    # -- the walk --------------------------------------------------------------------------------
    # h5py's low-level API (GroupID, DatasetID, h5o, h5l) throughout: the same HDF5 calls as h5py's
    # high-level Group/Dataset objects make, without building one of those per object (a third of the
    # load time of YOLOv3's 366 datasets went to that).
    def walk(self) -> dict[str, DatasetInfo]:
        """Every dataset under the root, depth-first in iteration (creation) order, without reading data."""
        datasets: dict[str, DatasetInfo] = {}
        self._ids: dict[str, h5py.h5d.DatasetID] = {}
        root = self.root()
        visited = {self.identity(root)[0]: "/"}
        stack = [(root, (), iter(list(root)))]  # GroupID iteration: h5py's order (creation order if tracked)
        while stack:
            gid, parts, keys = stack[-1]
            raw = next(keys, None)
            if raw is None:
                stack.pop()
                continue
            key = raw.decode("utf-8")
            hdf5_path = "/" + "/".join(parts + (key,))
            self.where = f"object {hdf5_path}"
            kind = gid.links.get_info(raw).type
            if kind == h5py.h5l.TYPE_SOFT:
                self.fail(f"is a soft link to {gid.links.get_val(raw).decode('utf-8', 'replace')!r}; "
                          f"a netdsl store holds only hard links")
            if kind == h5py.h5l.TYPE_EXTERNAL:
                filename, target = (v.decode("utf-8", "replace") for v in gid.links.get_val(raw))
                self.fail(f"is an external link to {target!r} in file {filename!r}; "
                          f"a netdsl store does not open other files")
            if kind != h5py.h5l.TYPE_HARD:
                self.fail(f"is a user-defined link (type {kind}); a netdsl store holds only hard links")
            if "." in key:
                self.fail(f"name {key!r} contains '.', which separates scopes in weight names")
            oid = h5py.h5o.open(gid, raw)
            ident, info = self.identity(oid)
            if ident in visited:
                first = visited[ident]
                relation = "a cycle: it is its own ancestor" if hdf5_path.startswith(first.rstrip("/") + "/") \
                    else "an alias"
                self.fail(f"is a second hard link to {first} ({relation}); every object needs exactly one name")
            visited[ident] = hdf5_path
            if info.type == h5py.h5o.TYPE_GROUP:
                stack.append((oid, parts + (key,), iter(list(oid))))
            elif info.type == h5py.h5o.TYPE_DATASET:
                name = ".".join(parts + (key,))
                datasets[name] = self.dataset_info(oid, name, hdf5_path, info.hdr.version)
                self._ids[name] = oid
            else:
                shown = "Datatype" if info.type == h5py.h5o.TYPE_NAMED_DATATYPE else f"HDF5 object of type {info.type}"
                self.fail(f"is a {shown}, neither a group nor a dataset")
        return datasets

    def root(self) -> h5py.h5g.GroupID:
        """The root group (not the file: a file's creation properties are not its root group's)."""
        return h5py.h5g.open(self.f.id, b"/")

    def identity(self, oid) -> tuple[tuple[int, int], Any]:
        """((file number, object address), H5O info): the address is the same for every hard link to one object."""
        info = h5py.h5o.get_info(oid)
        if info.hdr.version < 2:
            self.all_headers_checksummed = False
        return (info.fileno, info.addr), info

    def dataset_info(self, dsid, name: str, hdf5_path: str, header_version: int) -> DatasetInfo:
        """Judge a dataset from its header: dtype, size against the file, layout, filters, chunks."""
        self.where = f"tensor {name} ({hdf5_path})"
        shape = dsid.shape
        if shape is None:
            self.fail("has a null dataspace (no elements, not even a scalar)")
        dtype = dsid.dtype
        if dtype.kind != "b" and h5py.check_enum_dtype(dtype) is not None:
            self.fail(f"has an enumerated type {dtype}; weights are bool, integer or floating point")
        native = dtype if dtype.kind == "b" else dtype.newbyteorder("=")
        if dtype.fields or dtype.subdtype is not None or native not in _DTYPES:
            self.fail(f"has dtype {dtype}; weights are bool, int8-64, uint8-64 or float16/32/64")
        nbytes = math.prod(shape) * native.itemsize
        dcpl = dsid.get_create_plist()
        layout = dcpl.get_layout()
        if layout not in _LAYOUTS:
            self.fail("is a virtual dataset (its data is mapped from other datasets or files)")
        if dcpl.get_external_count():
            self.fail("keeps its data in external raw files; a netdsl store is one file")
        codes = []
        for i in range(dcpl.get_nfilters()):
            code, _flags, _values, label = dcpl.get_filter(i)
            if not h5py.h5z.filter_avail(code):
                self.fail(f"is stored with HDF5 filter {code} ({label.decode('utf-8', 'replace') or 'unnamed'}), "
                          f"which this HDF5 library does not provide")
            codes.append(code)
        compressed = any(c not in _SIZE_KEEPING_FILTERS for c in codes)

        def shown():
            return f"shape {shape} {native.name} ({nbytes:,} bytes)"
        if layout == h5py.h5d.CHUNKED:
            chunk_bytes = math.prod(dcpl.get_chunk()) * native.itemsize
            if chunk_bytes > max(nbytes, _MIN_CHUNK_CAP):
                self.fail(f"{shown()} declares chunks of {chunk_bytes:,} bytes, larger than the dataset")
        elif codes:
            self.fail(f"has filters but is not chunked ({_LAYOUTS[layout]})")
        if not compressed and nbytes > self.file_size:
            self.fail(f"declares {shown()}, more than the whole file ({self.file_size:,} bytes)")
        if nbytes > self.max_bytes:
            self.fail(f"declares {shown()}, more than the limit of {self.max_bytes:,} bytes")
        if nbytes:
            stored = dsid.get_storage_size()
            if (stored < nbytes) if not compressed else (stored == 0):
                self.fail(f"declares {shown()} but only {stored:,} bytes are stored (data missing)")
        checksum = "fletcher32" if 3 in codes else None
        if layout == h5py.h5d.COMPACT and header_version >= 2:
            checksum = "header"
        layout_attr = None
        if h5py.h5a.exists(dsid, b"layout"):
            layout_attr = self.attributes(dsid).get("layout")
            self.where = f"tensor {name} ({hdf5_path})"
            if not isinstance(layout_attr, str):
                self.fail(f"attribute 'layout' is {layout_attr!r}, expected a string such as 'KCRS'")
        return DatasetInfo(name, hdf5_path, tuple(int(d) for d in shape), native, nbytes, _LAYOUTS[layout],
                           tuple(_FILTER_NAMES.get(c, f"filter {c}") for c in codes), checksum, layout_attr)

    def read_all(self, infos: list[DatasetInfo]) -> dict[str, np.ndarray]:
        """Read datasets (after their headers were judged) into native-byte-order arrays of their shapes.

        Arrays below :data:`SHARED_BUFFER_MAX_BYTES` are views into one
        buffer allocated at once (hundreds of small allocations, each
        touched page by page, cost more than the reading); larger ones get
        their own allocation, so they can be freed one by one. The sizes are
        the judged headers' (each within the file size or ``max_bytes``).
        """
        small = [i for i in infos if 0 < i.nbytes < SHARED_BUFFER_MAX_BYTES]
        offsets, total = {}, 0
        for info in small:
            offsets[info.name] = total
            total += -(-info.nbytes // _ALIGNMENT) * _ALIGNMENT
        shared = None
        if total:
            buffer = np.empty(total + _ALIGNMENT, np.uint8)
            skip = -buffer.ctypes.data % _ALIGNMENT
            shared = buffer[skip:skip + total]
        arrays = {}
        # Largest first: HDF5's buffer for the first (largest) chunk raises glibc's mmap threshold to its size,
        # so the buffers of the smaller chunks after it come from the heap and reuse its pages instead of each
        # mapping (and faulting in) fresh ones (YOLOv3: a tenth fewer page faults, 5-10 % less load time).
        # The arrays are returned in ``infos``' order.
        for info in sorted(infos, key=lambda i: -i.nbytes):
            if info.name in offsets:
                start = offsets[info.name]
                array = shared[start:start + info.nbytes].view(info.dtype).reshape(info.shape)
            else:
                array = np.empty(info.shape, info.dtype)
            arrays[info.name] = self.read_into(info, array)
        return {info.name: arrays[info.name] for info in infos}

    def read_into(self, info: DatasetInfo, array: np.ndarray) -> np.ndarray:
        """Fill ``array`` (C-contiguous, ``info``'s shape and dtype) with the dataset; returns it.

        HDF5 reads straight into the array (converting the byte order if
        the file's differs), verifying each Fletcher-32 chunk on the way.
        """
        self.where = f"tensor {info.name} ({info.hdf5_path})"
        dsid = self._ids.pop(info.name)  # closed once read
        if array.size:
            try:
                dsid.read(h5py.h5s.ALL, h5py.h5s.ALL, array)
            except OSError as exc:
                detail = _first_line(exc)
                if "checksum" in detail or "filter" in detail:
                    pipeline = ", ".join(info.filters) or "no filters"
                    self.fail(f"data is corrupted: HDF5's filter pipeline ({pipeline}) refused it ({detail})")
                raise
        return array


_CONVERTERS = {  # a source framework's file passed where a netdsl store belongs: how to convert it
    (".pt", ".pth", ".bin", ".safetensors"): "a PyTorch file? convert it first: netdsl convert torch MODEL "
                                             "--weights FILE -o model.h5 (docs/porting_pytorch.md)",
    (".weights",): "a darknet file? convert it first: netdsl convert darknet --cfg CFG --weights FILE -o model.h5",
    (".wts",): "a tensorrtx file? convert it first: netdsl convert wts MODEL --weights FILE -o model.h5 "
               "(docs/porting_pytorch.md)",
    (".onnx",): "an ONNX model? convert its weights first: netdsl.frameworks.onnx_import.convert_onnx(path, network, "
                "'model.h5') (docs/porting_onnx.md)",
}


def _conversion_hint(path: str) -> str:
    lower = path.lower()
    for suffixes, hint in _CONVERTERS.items():
        if lower.endswith(suffixes):
            return f"; {hint}"
    return ""


def _check_format(path: str, attrs: dict) -> None:
    found = attrs.get("format", None)
    if found != FORMAT:
        shown = "no 'format' attribute" if "format" not in attrs else f"format={found!r}"
        keras = ("; a Keras file? convert it first: netdsl.frameworks.keras_import.convert_keras(path, network, "
                 "'model.h5') (docs/porting_keras.md)"
                 if "keras_version" in attrs or "model_config" in attrs or "layer_names" in attrs else "")
        raise WeightsFileError(f"weights file {path} is not a netdsl weight store: "
                               f"expected root attribute format={FORMAT!r}, found {shown}{keras}")
    version = attrs.get("format_version", None)
    if not isinstance(version, int) or isinstance(version, bool) or version != FORMAT_VERSION:
        shown = "no 'format_version' attribute" if "format_version" not in attrs else f"format_version={version!r}"
        raise WeightsFileError(f"weights file {path} has an unsupported format version: "
                               f"expected format_version={FORMAT_VERSION}, found {shown}")


def read_store(path, *, select: Callable[[Mapping[str, DatasetInfo]], Iterable[str]] | None = None,
               max_bytes: int = DEFAULT_MAX_BYTES, isolate: bool | None = None) -> StoreContents:
    """Read a netdsl HDF5 weight store: root attributes, every dataset header, then the selected arrays.

    Args:
        path: the file.
        select: called with every dataset's :class:`DatasetInfo` once the
            headers are judged and before any data is read; returns the names
            to read (it may raise, e.g. a WeightsError when the headers do not
            fit a network). Default: every dataset.
        max_bytes: limit on the bytes of the arrays read (and on any one
            compressed dataset); uncompressed data is also limited by the file size.
        isolate: first read the file in a child process (see the module
            docstring); default: only for files without checksums.
    Returns:
        StoreContents; ``arrays`` maps the selected names to arrays of their
        dataset's shape and dtype (native byte order).
    Raises:
        WeightsFileError: one line naming the file and the object (link,
            attribute, tensor) and what is wrong; see the module docstring.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise WeightsFileError(f"weights file {path} does not exist")
    try:
        version = superblock_version(path) if os.path.isfile(path) else None
    except OSError as exc:
        raise WeightsFileError(f"weights file {path} cannot be read: {exc.strerror or exc}") from None
    if version is None:
        raise WeightsFileError(f"weights file {path} is not an HDF5 file (expected a netdsl-weights HDF5 store)"
                               f"{_conversion_hint(path)}")
    isolated = False
    if isolate if isolate is not None else version < 2:
        _read_in_child(path, max_bytes)
        isolated = True
    reader = None
    try:
        with h5py.File(path, "r", rdcc_nbytes=0) as f:  # no chunk cache: each chunk is read once
            reader = _Reader(path, f, max_bytes)
            attrs = reader.attributes(reader.root())
            _check_format(path, attrs)
            datasets = reader.walk()
            reader.where = "dataset selection"
            names = list(datasets) if select is None else list(dict.fromkeys(select(datasets)))
            unknown = [n for n in names if n not in datasets]
            if unknown:
                reader.fail(f"no dataset named {', '.join(unknown)}")
            total = sum(datasets[n].nbytes for n in names)
            if total > max_bytes:
                reader.fail(f"the {len(names)} datasets to read hold {total:,} bytes, more than the limit "
                            f"of {max_bytes:,} bytes")
            arrays = reader.read_all([datasets[n] for n in names])
            checksummed = (version >= 2 and reader.all_headers_checksummed and not reader.global_heap_attrs
                           and all(d.checksum for d in datasets.values()))
    except NetdslError:
        raise
    except Exception as exc:  # noqa: BLE001 - h5py/HDF5 raise KeyError, RuntimeError, OSError, ValueError ...
        if reader is None:
            raise WeightsFileError(f"weights file {path}: HDF5 cannot open it ({_first_line(exc)})") from None
        raise WeightsFileError(f"weights file {path}: {reader.where}: cannot be read ({_first_line(exc)})") from None
    return StoreContents(path, attrs, datasets, arrays, checksummed, version, isolated)


def _read_in_child(path: str, max_bytes: int) -> None:
    """Read the whole store in a child process first; turn its crash, hang or error into a WeightsFileError.

    The time limit is :data:`ISOLATION_TIMEOUT` plus 1 s per 10 MB: a sound
    file takes well under a second (a Python start, h5py import, reading at
    ~1 GB/s); HDF5 looping on corrupted metadata never ends.
    """
    timeout = ISOLATION_TIMEOUT + os.path.getsize(path) / 10e6
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    command = [sys.executable, "-m", "netdsl.weights.h5probe", path, str(max_bytes)]
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise WeightsFileError(f"weights file {path}: HDF5 did not finish reading this file (no checksums) within "
                               f"{timeout:.0f} s; its metadata is corrupted (or the disk is very slow)") from None
    except OSError as exc:
        raise WeightsFileError(f"weights file {path}: cannot start a process to check it: {exc}") from None
    if done.returncode == 0:
        return
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    if done.returncode == 3 and lines:  # the child's one-line WeightsFileError
        raise WeightsFileError(lines[-1])
    if done.returncode < 0:
        try:
            name = signal.Signals(-done.returncode).name
        except ValueError:
            name = f"signal {-done.returncode}"
        raise WeightsFileError(f"weights file {path}: HDF5 crashed ({name}) reading this file (no checksums); "
                               f"its metadata is corrupted")
    detail = (lines or done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"])[-1]
    raise WeightsFileError(f"weights file {path}: checking this file (no checksums) failed "
                           f"(exit status {done.returncode}: {detail})")
