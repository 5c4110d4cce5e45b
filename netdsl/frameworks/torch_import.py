"""PyTorch state dicts (``torch.save``) and ``.safetensors`` files -> netdsl weights, strictly.

Reading: a ``.pt``/``.pth`` file is read with ``torch.load(path,
weights_only=True, map_location="cpu")`` (torch is an optional extra:
``pip install netdsl[torch]``) after a pure-Python pre-scan that refuses a
file whose storages claim more bytes than the file holds (so no allocation
is sized by the file's own claims); a ``.safetensors`` file with the
``safetensors`` package (extra ``safetensors``). Both give
``{key: np.ndarray}``.

Layout rules (torch docs of each module; netdsl's declared layouts), per
netdsl scope mapped to a torch module path ``M`` (see
:class:`netdsl.frameworks._importing.ScopeMapping`), driven by the roles the
netdsl layer declared:

=====================================  =======================================  ==========================
netdsl role (declared by)              torch key                                conversion
=====================================  =======================================  ==========================
``kernel`` (convolution, KCRS / KCS)   ``M.weight`` (nn.Conv1d/2d/3d, out, in/g, k...)  as is
``kernel`` (add_linear / fully conn.)  ``M.weight`` (nn.Linear: (out, in))      as is: netdsl's is (K, C) too
``bias``                               ``M.bias``                               as is
``scale``/``bias``/``mean``/``variance``  ``M.weight/bias/running_mean/running_var`` (nn.BatchNorm*d)  renamed; ``num_batches_tracked`` ignored; no ``weight``/``bias`` (affine=False): 1 / 0
``slopes`` (add_parametric_relu)       ``M.weight`` (nn.PReLU: (C,) or (1,))    reshaped to the declared (1, C, 1, 1); one slope broadcast
``embeddings`` (add_embedding)         ``M.weight`` (nn.Embedding: (V, D))      as is
``l{k}[_reverse].weight_ih`` ...       ``M.weight_ih_l{k}[_reverse]`` ... (nn.RNN/LSTM/GRU)  :func:`recurrent.from_torch`
``l0.weight_ih`` ...                   ``M.weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` (nn.RNNCell/LSTMCell/GRUCell)  :func:`recurrent.from_torch_cell`
any other role ``r``                   ``M.r``                                  as is
=====================================  =======================================  ==========================

Errors: :class:`WeightImportError` (a ``WeightsFileError``, so a
``NetdslError``), one line naming the file: unreadable or malformed files,
and — all together — unmapped torch keys, unfilled netdsl weights, shapes
that do not fit (expected vs found, naming the key).
"""
from __future__ import annotations

import io
import os
import pickle
import re
import zipfile
from typing import Mapping

import numpy as np

from ..graph.errors import NetdslError
from . import recurrent
from ._importing import (Importer, ScopeMapping, WeightImportError, check_names, default_layouts, file_size,
                         network_name, plain_error, targets_of, write_weights)

__all__ = ["load_state_dict", "import_torch", "convert_torch"]

_ITEM_SIZES = {"Double": 8, "Float": 4, "Half": 2, "BFloat16": 2, "Long": 8, "Int": 4, "Short": 2, "Char": 1,
               "Byte": 1, "Bool": 1, "ComplexFloat": 8, "ComplexDouble": 16, "Untyped": 1}
_RNN_KEY = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l\d+(_reverse)?$")
_CELL_KEYS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
_BN = {"scale": "weight", "bias": "bias", "mean": "running_mean", "variance": "running_var"}


# -- reading -------------------------------------------------------------------------------------------------
class _Any:
    """Stand-in for every class and object a torch pickle names, during the pre-scan."""

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return _Any()

    def __setitem__(self, key, value):
        pass

    def __setstate__(self, state):
        pass

    def append(self, value):
        pass

    def extend(self, values):
        pass


class _Scan(pickle._Unpickler):  # the pure-Python unpickler: reads never exceed the bytes present
    """Unpickle with every class replaced by :class:`_Any`, recording each storage's claimed size in bytes."""

    def __init__(self, stream, storages: list):
        super().__init__(stream)
        self.storages = storages

    def find_class(self, module, name):
        return type(str(name)[:100], (_Any,), {"module": str(module)[:200]})

    def persistent_load(self, pid):
        if isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage":
            storage_type, key, numel = pid[1], pid[2], pid[4]
            kind = getattr(storage_type, "__name__", "Untyped").replace("Storage", "")
            if not isinstance(numel, int) or numel < 0:
                raise WeightImportError(f"storage {key!r} claims {numel!r} elements")
            self.storages.append((str(key), numel * _ITEM_SIZES.get(kind, 8)))
        return _Any()


_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c  # torch/serialization.py MAGIC_NUMBER


def _prescan(path: str, size: int) -> None:
    """Refuse a torch file whose storages claim more bytes than present (zip and legacy formats)."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(b"PK"):
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            if len(infos) > 1_000_000:
                raise WeightImportError(f"{path}: zip holds {len(infos)} entries")
            records = {}
            for info in infos:
                if info.compress_type != zipfile.ZIP_STORED or info.file_size > size:
                    raise WeightImportError(f"{path}: zip entry {info.filename!r} is compressed or larger than "
                                            f"the file ({info.file_size} bytes claimed); torch.save stores entries")
                records[info.filename] = info.file_size
            pkl = [n for n in records if n.endswith("data.pkl")]
            if len(pkl) != 1:
                raise WeightImportError(f"{path}: expected one */data.pkl in the zip, found {len(pkl)}")
            folder = pkl[0][:-len("data.pkl")]
            storages: list = []
            _Scan(io.BytesIO(z.read(pkl[0])), storages).load()
        for key, nbytes in storages:
            have = records.get(f"{folder}data/{key}")
            if have is None or nbytes > have:
                raise WeightImportError(f"{path}: storage {key!r} claims {nbytes} bytes, its record holds "
                                        f"{'none' if have is None else have}")
        return
    with open(path, "rb") as f:
        data = f.read()
    stream = io.BytesIO(data)
    storages: list = []
    for i in range(5):  # legacy format: magic number, protocol version, sys info, the object, storage keys
        obj = _Scan(stream, storages).load()
        if i == 0 and obj != _LEGACY_MAGIC:
            raise WeightImportError(f"{path}: not a torch.save file (no zip header, no legacy magic number)")
    claimed = sum(8 + n for _, n in storages)
    if claimed > size - stream.tell():
        raise WeightImportError(f"{path}: storages claim {claimed} bytes, the file has {size - stream.tell()} "
                                f"after its pickles")


def _to_numpy(value, key: str, where: str) -> np.ndarray:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is present wherever a .pt file was read
        raise WeightImportError(f"{where}: reading torch files needs torch (pip install netdsl[torch])") from None
    if not isinstance(value, torch.Tensor):
        raise WeightImportError(f"{where}: {key} is a {type(value).__name__}, not a tensor (expected a state dict)")
    value = value.detach().cpu()
    if value.dtype in (torch.bfloat16, torch.float16):
        value = value.float()
    if value.is_complex():
        raise WeightImportError(f"{where}: {key} has dtype {value.dtype}")
    return value.numpy().copy()


def load_state_dict(path, *, key: str | None = None) -> dict[str, np.ndarray]:
    """Read a torch state dict (``.pt``/``.pth``/``.bin``) or a ``.safetensors`` file as NumPy arrays.

    Args:
        path: the file. ``.safetensors`` (by suffix) is read with the
            ``safetensors`` package; anything else with ``torch.load(path,
            weights_only=True, map_location="cpu")``.
        key: for a checkpoint dict holding the state dict under a key
            (``{"state_dict": ...}``, ``{"model": ...}``), that key.
    Returns:
        ``{key: array}`` in file order; float16 / bfloat16 tensors as float32,
        other dtypes kept (``num_batches_tracked`` is int64).
    Raises:
        WeightImportError: a missing file, torch / safetensors not installed,
            a file that is not a state dict, storages claiming more bytes
            than the file holds, or any error while reading (one line naming
            the file).
    """
    path = os.fspath(path)
    size = file_size(path)
    if path.endswith(".safetensors"):
        return _load_safetensors(path, size)
    try:
        import torch
    except ImportError:
        raise WeightImportError(f"{path}: reading torch files needs torch (pip install netdsl[torch])") from None
    try:
        _prescan(path, size)
        obj = torch.load(path, weights_only=True, map_location="cpu")
    except NetdslError:
        raise
    except RecursionError:
        raise WeightImportError(f"{path}: not a torch state dict: nesting too deep") from None
    except Exception as exc:  # torch, zipfile and pickle raise many types for a damaged file
        if "Weights only load failed" in str(exc):  # a pickled object: torch.save(model), not its state dict
            raise WeightImportError(f"{path}: not a state dict: the file pickles Python objects, which "
                                    f"torch.load(weights_only=True) does not run (a whole model saved with "
                                    f"torch.save(model)?); save model.state_dict() instead") from None
        raise WeightImportError(f"{path}: not a readable torch file: {plain_error(exc)}") from None
    if key is not None:
        if not isinstance(obj, Mapping) or key not in obj:
            entries = f" (its entries: {', '.join(map(repr, obj))})" if isinstance(obj, Mapping) else ""
            raise WeightImportError(f"{path}: no entry {key!r} in the checkpoint{entries}")
        obj = obj[key]
    if not isinstance(obj, Mapping):
        raise WeightImportError(f"{path}: expected a state dict (a mapping of tensors), found {type(obj).__name__}")
    nested = [k for k, v in obj.items() if isinstance(v, Mapping)]
    if nested:
        raise WeightImportError(f"{path}: a checkpoint, not a state dict: {', '.join(map(repr, nested))} "
                                f"{'holds' if len(nested) == 1 else 'hold'} a mapping; pass key={nested[0]!r} "
                                f"(the entry with the model's tensors)")
    check_names(obj.keys(), path)
    return {k: _to_numpy(v, k, path) for k, v in obj.items()}


def _load_safetensors(path: str, size: int) -> dict[str, np.ndarray]:
    try:
        from safetensors.numpy import load_file
    except ImportError:
        raise WeightImportError(f"{path}: reading .safetensors needs the safetensors package "
                                f"(pip install netdsl[safetensors])") from None
    with open(path, "rb") as f:
        head = f.read(8)
    if len(head) < 8 or int.from_bytes(head, "little") > size - 8:
        raise WeightImportError(f"{path}: not a safetensors file: header length "
                                f"{int.from_bytes(head, 'little') if len(head) == 8 else 'missing'} "
                                f"exceeds the file's {size} bytes")
    try:
        arrays = load_file(path)
    except Exception as exc:  # safetensors raises SafetensorError, TypeError (bf16) ...
        raise WeightImportError(f"{path}: not a readable safetensors file: {plain_error(exc)}") from None
    check_names(arrays.keys(), path)
    return {k: np.array(v) for k, v in arrays.items()}


# -- converting ------------------------------------------------------------------------------------------------
def _modules(keys) -> dict[str, dict[str, str]]:
    """``{module path: {leaf key: full key}}`` of a state dict's keys."""
    out: dict[str, dict[str, str]] = {}
    for key in keys:
        module, _, leaf = key.rpartition(".")
        out.setdefault(module, {})[leaf] = key
    return out


def _convert(imp: Importer, sd: Mapping, scope: str, module: str, leaves: dict, rels: dict, flat: bool,
             ignore_tracked: bool = True) -> None:
    """Fill ``scope``'s declared roles ``rels`` from the torch module ``module``'s keys ``leaves``."""
    def get(leaf, rel):
        key = leaves[leaf]
        imp.use(key)
        a = sd[key]
        if flat and a.ndim == 1 and rel in rels and a.size == int(np.prod(rels[rel])):
            a = a.reshape(rels[rel])
        return a

    if "num_batches_tracked" in leaves and ignore_tracked:
        imp.ignore(leaves["num_batches_tracked"])
    rnn_rels = [r for r in rels if re.match(r"l\d+(_reverse)?\.", r)]
    if rnn_rels:
        prefix = f"{module}." if module else ""
        layered = [leaf for leaf in leaves if _RNN_KEY.match(leaf)]
        source = {leaves[leaf]: get(leaf, _rnn_rel(leaf)) for leaf in (layered or
                                                                      [k for k in _CELL_KEYS if k in leaves])}
        try:
            arrays = (recurrent.from_torch(scope, source, prefix=prefix) if layered
                      else recurrent.from_torch_cell(scope, source, prefix=prefix))
        except (NetdslError, ValueError) as exc:
            imp.problem(f"{scope} from torch module {module!r}: {exc}")
            return
        for name, array in arrays.items():
            imp.put("", name, array, f"{module} ({'LSTM/GRU/RNN' if layered else 'cell'})")
        rels = {r: s for r, s in rels.items() if r not in rnn_rels}
    is_bn = {"mean", "variance"} <= set(rels) and "running_mean" in leaves
    for rel, shape in rels.items():
        if is_bn and rel in _BN:
            leaf = _BN[rel]
            if leaf not in leaves and rel in ("scale", "bias"):  # BatchNorm(affine=False)
                imp.put(scope, rel, np.full(shape, 1.0 if rel == "scale" else 0.0, np.float32), f"{module} (affine=False)")
                continue
        elif rel in ("kernel", "slopes", "embeddings"):
            leaf = "weight"
        else:
            leaf = rel
        if leaf not in leaves:
            continue  # reported as unfilled
        array = get(leaf, rel)
        if rel == "slopes":
            if array.size == int(np.prod(shape)):
                array = array.reshape(shape)
            elif array.size == 1:
                array = np.broadcast_to(array.reshape(()), shape).copy()
        imp.put(scope, rel, array, leaves[leaf])


def _rnn_rel(leaf: str) -> str:
    m = re.match(r"^(\w+?)_l(\d+)(_reverse)?$", leaf)
    return f"l{m.group(2)}{m.group(3) or ''}.{m.group(1)}" if m else leaf


def import_state_dict(state_dict: Mapping, network, mapping=None, *, where: str = "state dict", ignore=(),
                      flat: bool = False) -> dict[str, np.ndarray]:
    """Convert an in-memory state dict (``model.state_dict()``: ``{key: torch tensor or NumPy array}``).

    The layout rules, mapping and report of :func:`import_torch`, for a
    state dict already in memory.

    Args:
        state_dict: torch state-dict keys -> tensors / arrays.
        network, mapping, ignore: as :func:`import_torch`.
        where: what to call the source in messages (a file name).
        flat: a 1-D source tensor with the element count of its target is
            reshaped to the target's shape (``.wts`` files store no shapes).
    Returns:
        ``{netdsl name: float32 array}`` in the network's declaration order.
    Raises:
        WeightImportError: one line listing unmapped keys, unfilled netdsl
            weights and shape mismatches; a value that is not a tensor / array.
    """
    targets = targets_of(network, where)
    sd = {k: (v if isinstance(v, np.ndarray) else _to_numpy(v, k, where)) for k, v in state_dict.items()}
    check_names(sd, where)
    imp = Importer(where, targets, sources=list(sd))
    for key in sd:
        if any(_ignored(key, p) for p in ignore):
            imp.ignore(key)
    modules = _modules(sd)
    scopes = ScopeMapping(mapping)
    for (scope, module), rels in imp.group(scopes, lambda m: isinstance(m, str) and m in modules).items():
        _convert(imp, sd, scope, module, modules[module], rels, flat)
    return imp.finish(network_name(network))


def _ignored(key: str, pattern) -> bool:
    from fnmatch import fnmatchcase
    return fnmatchcase(key, pattern) if isinstance(pattern, str) else bool(pattern.search(key))


def import_torch(path, network, mapping=None, *, key: str | None = None, ignore=()) -> dict[str, np.ndarray]:
    """Import a PyTorch state dict or ``.safetensors`` file into a netdsl network's declared weights.

    Args:
        path: ``.pt``/``.pth`` (``torch.save(model.state_dict())``) or ``.safetensors``.
        network: the :class:`netdsl.Network` (its unbound declared weights
            are the targets) or a mapping ``name -> shape``.
        mapping: netdsl scope -> torch module path: None (the same path),
            a dict (exact or glob keys: ``{"stage*.conv": "body.*.0"}``) or a
            callable (see ``ScopeMapping``). A weight's scope is the longest
            prefix of its name whose mapped module exists in the file.
        key: the checkpoint entry holding the state dict, if nested.
        ignore: glob patterns (or compiled regexes) of torch keys to skip
            deliberately (e.g. ``"*.anchors"``); ``num_batches_tracked`` is
            always ignored.
    Returns:
        ``{netdsl name: float32 array}`` in the network's declaration order,
        ready for ``network.bind_weights`` or :func:`write_weights`.
    Raises:
        WeightImportError: as :func:`load_state_dict`, or one line listing
            every unmapped torch key, unfilled netdsl weight and shape
            mismatch (expected vs found, with the key).
    """
    path = os.fspath(path)
    return import_state_dict(load_state_dict(path, key=key), network, mapping, where=path, ignore=ignore)


def convert_torch(path, network, out_path, mapping=None, *, key: str | None = None, ignore=(),
                  source: str | None = None) -> dict[str, np.ndarray]:
    """:func:`import_torch`, then write the arrays as a netdsl HDF5 store at ``out_path`` (atomic).

    Returns the arrays written. Raises WeightImportError / WeightsFileError.
    """
    arrays = import_torch(path, network, mapping, key=key, ignore=ignore)
    write_weights(out_path, arrays, source=source or f"pytorch {os.path.basename(os.fspath(path))}",
                  network=network_name(network), layouts=default_layouts(arrays))
    return arrays
