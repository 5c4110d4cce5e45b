"""What every weight importer shares: targets, scope mappings, the strict one-line report, HDF5 output.

An importer reads a framework's file into *source layers* (a torch module
path, a Keras layer, an ONNX node), each holding named source tensors, and
fills the netdsl weights a Network declared and left unbound. It never looks
inside the Network beyond ``network.weights()`` (name, shape, dtype,
whether bound).

Scopes. A netdsl weight ``conv1.kernel`` belongs to the *scope* ``conv1``;
the importer asks the mapping which source layer a scope comes from. For a
weight name, the scope used is the longest prefix (at ``.`` boundaries)
whose mapped source layer exists, so ``block1.sep.depthwise.kernel`` can
come from the Keras layer ``block1_sepconv1`` mapped from scope
``block1.sep``, and ``rnn.l0.weight_ih`` from the torch module ``rnn``.

Strictness. After converting every mapped layer the importer raises ONE
:class:`WeightImportError` (a one-line message naming the file) listing
together every source tensor no netdsl weight took, every netdsl weight left
unfilled, and every shape that did not fit (expected vs found).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from ..graph.errors import WeightsFileError

__all__ = ["WeightImportError", "targets_of", "ScopeMapping", "Importer", "write_weights"]

MAX_LISTED = 40  # names listed per category in one message; the rest are counted


class WeightImportError(WeightsFileError):
    """A framework file cannot be imported: malformed, or it does not fit the netdsl weights (one line)."""


def network_batch_norm_eps(network):
    """``scope -> eps`` of the batch norms a netdsl Network built (``add_batch_norm``, ``add_conv_batch_norm``
    folded or not: their ``batch_norm_eps`` attribute), None for another scope; None when ``network`` is not a
    Network or has no batch norm. The importers check each source batch norm's epsilon against it."""
    table = {}
    for layer in getattr(network, "layers", None) or ():
        eps = layer.attrs.get("batch_norm_eps")
        if eps is not None:
            table[layer.attrs.get("batch_norm", layer.name)] = float(eps)
    return table.get if table else None


def targets_of(network_or_shapes, where: str = "weights") -> dict[str, tuple[int, ...]]:
    """The netdsl weights to fill: ``{scoped name: shape}``.

    Args:
        network_or_shapes: a :class:`netdsl.Network` (its declared, still
            unbound weights, from ``network.weights()``), or a mapping
            ``name -> shape`` (or -> an object with a ``shape``).
        where: the file being imported, for messages.
    Raises:
        WeightImportError: neither of those, or a network whose declared
            weights are all bound already (nothing to fill).
    """
    weights = getattr(network_or_shapes, "weights", None)
    if callable(weights):
        declared = weights()
        targets = {n: tuple(w.shape) for n, w in declared.items() if not w.is_bound}
        source = getattr(network_or_shapes, "weights_source", None)
        if declared and not targets and source is not None:
            raise WeightImportError(f"{where}: network {getattr(network_or_shapes, 'name', '?')!r} has nothing left "
                                    f"to fill: its {len(declared)} weights are bound already (from {source}); import "
                                    f"into a freshly built network")
        return targets
    if isinstance(network_or_shapes, Mapping):
        out = {}
        for name, value in network_or_shapes.items():
            shape = getattr(value, "shape", value)
            try:
                out[str(name)] = tuple(int(d) for d in shape)
            except (TypeError, ValueError):
                raise WeightImportError(f"target {name!r}: expected a shape, found {value!r}") from None
        return out
    raise WeightImportError(f"expected a netdsl Network or a mapping name -> shape, found "
                            f"{type(network_or_shapes).__name__}")


def _glob_regex(pattern: str) -> re.Pattern:
    """``*`` = one or more characters of one scope part, ``**`` = any parts; both captured."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append("(.+)")
            i += 2
        elif pattern[i] == "*":
            out.append("([^.]+)")
            i += 1
        elif pattern[i] == "?":
            out.append("([^.])")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _substitute(template, captures):
    """Replace each ``*``/``**``/``?`` of ``template`` by the next capture, in order."""
    if not isinstance(template, str):
        return tuple(_substitute(t, captures) for t in template)
    parts = re.split(r"(\*\*|\*|\?)", template)
    out, k = [], 0
    for p in parts:
        if p in ("*", "**", "?"):
            out.append(captures[k] if k < len(captures) else p)
            k += 1
        else:
            out.append(p)
    return "".join(out)


class ScopeMapping:
    """netdsl scope -> source layer name(s), from None (identity), a dict (exact or glob keys) or a callable.

    * ``None``: a scope maps to the source layer of the same name.
    * dict: exact keys first; then keys with wildcards, in insertion order:
      ``*`` matches one scope part (no ``.``), ``**`` any number of parts,
      ``?`` one character; the value's wildcards are replaced by the
      captured text in order, so ``{"stage*.conv": "body.*.0"}`` maps
      ``stage2.conv`` to ``body.2.0``; a scope no key matches maps to the
      same name. A value may be a tuple of source layers (ONNX ``MatMul``
      then ``Add``).
    * callable ``f(scope) -> str | tuple | None``.
    """

    def __init__(self, mapping):
        self.mapping = mapping
        self.patterns = []
        if isinstance(mapping, Mapping):
            for key, value in mapping.items():
                if not isinstance(key, str) or not (isinstance(value, str) or (
                        isinstance(value, tuple) and value and all(isinstance(v, str) for v in value))):
                    raise WeightImportError(f"mapping entry {key!r}: {value!r}: expected str -> str "
                                            f"(or a tuple of str)")
                if any(c in key for c in "*?"):
                    captures = len(re.findall(r"\*\*|\*|\?", key))
                    for v in (value,) if isinstance(value, str) else value:
                        wildcards = len(re.findall(r"\*\*|\*|\?", v))
                        if wildcards > captures:
                            raise WeightImportError(
                                f"mapping entry {key!r}: {v!r}: the value has {wildcards} wildcards, the key "
                                f"captures {captures}: each '*', '**' or '?' of the value is filled by the "
                                f"key's, in order")
                    self.patterns.append((_glob_regex(key), value))
        elif mapping is not None and not callable(mapping):
            raise WeightImportError(f"mapping must be None, a dict or a callable, found {type(mapping).__name__}")

    def __call__(self, scope: str):
        m = self.mapping
        if m is None:
            return scope
        if callable(m) and not isinstance(m, Mapping):
            return m(scope)
        if scope in m:
            return m[scope]
        for regex, value in self.patterns:
            match = regex.match(scope)
            if match:
                return _substitute(value, match.groups())
        return scope


def prefixes(name: str) -> list[str]:
    """Proper prefixes of a scoped name at ``.`` boundaries, longest first."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]


@dataclass
class Importer:
    """Collects what one import did; :meth:`finish` raises the one-line error or returns the arrays.

    Attributes:
        where: the file (or object) imported, first in every message.
        targets: netdsl name -> shape to fill.
        sources: every source tensor name that should be taken (for the
            "unmapped" list).
    """

    where: str
    targets: dict
    sources: list = field(default_factory=list)
    arrays: dict = field(default_factory=dict)
    used: set = field(default_factory=set)
    ignored: set = field(default_factory=set)
    problems: list = field(default_factory=list)
    unknown: list = field(default_factory=list)

    def group(self, mapping: ScopeMapping, exists: Callable[[Any], bool]) -> dict:
        """Group the targets by scope: ``{(scope, source layer(s)): {relative name: shape}}``."""
        groups: dict = {}
        for name, shape in self.targets.items():
            for scope in prefixes(name):
                try:
                    layer = mapping(scope)
                except Exception as exc:  # a user's callable
                    raise WeightImportError(f"{self.where}: mapping({scope!r}) raised "
                                            f"{type(exc).__name__}: {exc}") from None
                if layer is not None and exists(layer):
                    groups.setdefault((scope, layer), {})[name[len(scope) + 1:]] = shape
                    break
        return groups

    def put(self, scope: str, rel: str, array, source: str) -> None:
        """Offer ``array`` (from source tensor ``source``) for netdsl weight ``scope.rel``; checks the shape."""
        name = f"{scope}.{rel}" if scope else rel
        if name not in self.targets:
            self.unknown.append(f"{name} (from {source})")
            return
        array = np.asarray(array)
        expected = tuple(self.targets[name])
        if array.shape != expected:
            self.problems.append(f"{name}: expected shape {expected}, found {array.shape} in {source}")
            return
        if array.dtype.kind == "f" and array.dtype != np.float32:
            array = array.astype(np.float32)
        self.arrays[name] = np.ascontiguousarray(array)

    def use(self, *source_names: str) -> None:
        self.used.update(source_names)

    def ignore(self, *source_names: str) -> None:
        self.ignored.update(source_names)

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def finish(self, network_name: str | None = None) -> dict:
        """Return ``{name: array}`` in target order, or raise WeightImportError listing every problem."""
        unmapped = [s for s in self.sources if s not in self.used and s not in self.ignored]
        unfilled = [n for n in self.targets if n not in self.arrays and not any(
            p.startswith(f"{n}:") for p in self.problems)]
        parts = []
        if unmapped:
            parts.append(f"unmapped source tensors: {_listing(unmapped)}")
        if unfilled:
            parts.append(f"unfilled netdsl weights: {_listing(unfilled)}")
        if self.unknown:
            parts.append(f"converted but not declared by the network: {_listing(self.unknown)}")
        if self.problems:
            parts.append(f"problems: {_listing(self.problems, sep='; ')}")
        if parts:
            into = f" into network {network_name!r}" if network_name else ""
            raise WeightImportError(f"{self.where}: cannot import{into}: " + " | ".join(parts))
        return {n: self.arrays[n] for n in self.targets}


def _listing(items: list, sep: str = ", ") -> str:
    items = [str(i).replace("\n", " ") for i in items]
    shown = sep.join(items[:MAX_LISTED])
    return shown + (f"{sep}... ({len(items) - MAX_LISTED} more)" if len(items) > MAX_LISTED else "")


def network_name(network_or_shapes) -> str | None:
    name = getattr(network_or_shapes, "name", None)
    return name if isinstance(name, str) else None


def write_weights(out_path, arrays: Mapping[str, np.ndarray], *, source: str, network: str | None = None,
                  layouts: Mapping[str, str] | None = None, attrs: Mapping[str, Any] | None = None) -> None:
    """Write imported arrays as a netdsl HDF5 store (``netdsl.weights.save_weights``, atomic)."""
    from ..weights import save_weights
    layouts = {n: v for n, v in (layouts or {}).items() if n in arrays}
    save_weights(out_path, arrays, source=source, network=network, layouts=layouts, attrs=attrs)


def default_layouts(arrays: Mapping[str, np.ndarray]) -> dict[str, str]:
    """``layout`` attributes for imported arrays: KCRS / KCS / KCTRS kernels of convolutions, KC for linear."""
    out = {}
    for name, a in arrays.items():
        role = name.rsplit(".", 1)[-1]
        if role == "kernel":
            out[name] = {2: "KC", 3: "KCS", 4: "KCRS", 5: "KCTRS"}.get(np.ndim(a), "")
    return {n: v for n, v in out.items() if v}


def file_size(path) -> int:
    """Size of the file at ``path`` in bytes, or WeightImportError naming it."""
    path = os.fspath(path)
    try:
        if not os.path.isfile(path):
            raise WeightImportError(f"{path}: no such file" if not os.path.exists(path) else f"{path}: not a file")
        return os.path.getsize(path)
    except OSError as exc:
        raise WeightImportError(f"{path}: cannot be read: {exc}") from None


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def plain_error(exc: BaseException) -> str:
    """An exception as one short line: ``Type: first line``, terminal colour codes removed, at most 300
    characters (cut at a word, marked ``...``)."""
    text = _ANSI.sub("", str(exc)).strip()
    text = text.splitlines()[0].strip() if text else ""
    if len(text) > 300:
        text = text[:300].rsplit(" ", 1)[0] + " ..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def check_names(names: Iterable[str], where: str) -> None:
    """Refuse non-str or empty source names (a corrupt file)."""
    for n in names:
        if not isinstance(n, str) or not n:
            raise WeightImportError(f"{where}: a tensor has an invalid name {n!r}")


def isolated(fn, args: tuple, *, where: str, timeout: float | None, what: str):
    """Run ``fn(*args)`` in a forked child process with a time limit; return its result.

    Used for parsers in C libraries that a damaged file can make loop or
    crash (libhdf5: a corrupt global heap makes ``H5Aread`` spin; found by
    tools/fuzz_importers.py). The child sends back the result (pickled) or
    its NetdslError's message; the parent waits at most ``timeout`` seconds,
    then kills it.

    Falls back to calling ``fn`` in this process when ``timeout`` is None or
    the platform has no ``fork``.

    Raises:
        WeightImportError: the child timed out or died (a signal, e.g. a
            segmentation fault in the C library), naming ``where``; or the
            NetdslError the child raised, re-raised as WeightImportError.
    """
    import multiprocessing as mp
    if timeout is None or "fork" not in mp.get_all_start_methods():
        return fn(*args)
    ctx = mp.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)

    def child():
        try:
            result = ("ok", fn(*args))
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent as text
            from ..graph.errors import NetdslError
            kind = "error" if isinstance(exc, NetdslError) else "bug"
            result = (kind, str(exc) if kind == "error" else plain_error(exc))
        try:
            send.send(result)
        finally:
            send.close()
            os._exit(0)

    process = ctx.Process(target=child, daemon=True)
    process.start()
    send.close()
    try:
        if not receive.poll(timeout):
            raise WeightImportError(f"{where}: {what} did not finish within {timeout:g} s (a damaged file can "
                                    f"make the reader loop); refused")
        try:
            kind, value = receive.recv()
        except (EOFError, OSError):
            process.join(5)
            raise WeightImportError(f"{where}: {what} crashed (exit code {process.exitcode}); the file is "
                                    f"damaged") from None
    finally:
        receive.close()
        if process.is_alive():
            process.kill()
        process.join(5)
    if kind == "ok":
        return value
    if kind == "error":
        raise WeightImportError(value)
    raise WeightImportError(f"{where}: {what} failed: {value}")
