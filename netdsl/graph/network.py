"""Network, ITensor-like Tensor, Layer and declared Weights: the graph netdsl builds.

The graph mirrors TensorRT's INetworkDefinition: a Network owns Tensors and
Layers in insertion (= topological) order. Layer constructors
(``Network.add_convolution_nd`` ...) live in ``netdsl.layers``, one module per
layer family; each infers output shapes and dtypes when the layer is added and
raises :class:`NetworkDefinitionError` naming the layer's scoped name.

Weights are declared by name and shape before their values exist (like
TensorRT-LLM's ``Parameter``) and bound later from a weight store.
"""
from __future__ import annotations

import contextlib
from typing import Iterable, Mapping, NamedTuple

import numpy as np

from .dtypes import DataType, as_datatype
from .enums import LayerType
from .errors import NetworkDefinitionError, WeightsError
from .shapes import Dim, dim, format_shape, normalize_dim


class Tensor:
    """A symbolic tensor of a Network, as TensorRT's ITensor.

    Attributes:
        name: unique name in the network (a layer's single output takes the
            layer's scoped name; further outputs get ``:1``, ``:2`` ...).
        shape: dimensions, NCHW for images: a tuple of ints (known when the
            network is defined) and runtime dimensions (:class:`Dim`
            expressions such as ``batch`` or ``height//32``; TensorRT's -1).
        dtype: DataType.
        layer: producing Layer, or None for a network input.
        shape_value: for a shape tensor (a 0-D or 1-D INT32/INT64 tensor
            computed from shapes, e.g. by ``add_shape``), its value as far as
            it is known at definition time — a tuple of ints and Dims — else
            None. Layers that take shape tensors (a shuffle's reshape
            dimensions, a slice's start/size, a fill's shape ...) derive their
            output shapes from it.
    """

    __slots__ = ("network", "name", "shape", "dtype", "layer", "shape_value")

    def __init__(self, network: "Network", name: str, shape, dtype: DataType, layer=None, shape_value=None):
        self.network = network
        self.name = name
        self.shape = tuple(normalize_dim(d) for d in shape)
        self.dtype = dtype
        self.layer = layer
        self.shape_value = None if shape_value is None else tuple(normalize_dim(v) for v in shape_value)

    def __setattr__(self, key, value):
        try:
            object.__getattribute__(self, key)
        except AttributeError:  # the first assignment, in __init__ (or a name Tensor does not have)
            object.__setattr__(self, key, value)
            return
        if key == "name":  # as ITensor.name: a rename, kept unique
            self.network.rename_tensor(self, value)
            return
        raise AttributeError(f"tensor {self.name!r}: {key} is fixed when the tensor is created (every layer "
                             f"after it was inferred from it); give it to add_input, or add a layer "
                             f"(add_cast for a dtype, add_shuffle for a shape)")

    @property
    def is_static(self) -> bool:
        """True when every dimension is known at definition time."""
        return all(not isinstance(d, Dim) for d in self.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def is_network_input(self) -> bool:
        return self.layer is None

    @property
    def is_network_output(self) -> bool:
        return self in self.network.outputs

    def __repr__(self):
        dims = format_shape(self.shape) if self.shape else "scalar"
        return f"Tensor({self.name!r}, {dims}, {self.dtype.name})"


class ArraySpec(NamedTuple):
    """An array's shape and NumPy dtype without its values (e.g. an HDF5 dataset header), for :meth:`Weights.check`."""

    shape: tuple
    dtype: np.dtype


class Weights:
    """A named weight array declared by a layer: shape and dtype now, value later.

    Attributes:
        name: scoped name, e.g. ``conv0.conv.kernel``; also its HDF5 path.
        shape: expected shape (e.g. KCRS for a convolution kernel).
        dtype: DataType the values are stored in (float32 for learned weights).
        value: the bound ``np.ndarray`` or None. The array is kept alive as long
            as the Network, since TensorRT holds ``trt.Weights`` by reference
            until the engine is built.
        minimum: smallest allowed value (e.g. 0.0 for a batch-norm variance),
            checked when values are bound; None for no bound.
        allow_nonfinite: whether NaN and +-Inf may be bound. False for weights
            bound later from a store (a NaN there is a corrupt or diverged
            file, not a value); :meth:`Network.declare_weights` sets it for
            values given with the declaration (code constants, e.g. a -inf
            mask), and it can be asked for explicitly.
    """

    __slots__ = ("name", "shape", "dtype", "value", "minimum", "allow_nonfinite")

    def __init__(self, name: str, shape, dtype: DataType = DataType.FLOAT, value=None, *,
                 minimum: float | None = None, allow_nonfinite: bool = False):
        self.name = name
        self.shape = tuple(int(d) for d in shape)
        self.dtype = dtype
        self.value = None
        self.minimum = None if minimum is None else float(minimum)
        self.allow_nonfinite = bool(allow_nonfinite)
        if value is not None:
            self.bind(value)

    @property
    def is_bound(self) -> bool:
        return self.value is not None

    def check(self, value) -> str | None:
        """Return why ``value`` cannot be bound, or None if it can.

        ``value`` is an array, or an :class:`ArraySpec` (shape and dtype of
        an array not read yet, e.g. an HDF5 dataset header), which is judged
        on shape and dtype only. Refused, in this order: another shape; a
        dtype whose conversion could change a value (float64 or int32 to
        float32 weights ...; float16 to float32 is exact and allowed, see
        ``netdsl.weights.values.dtype_convertible``); then, for arrays, NaN
        or +-Inf unless ``allow_nonfinite``, and a value below ``minimum``.
        The problem is one line naming the weights and, for values, the
        first bad index.
        """
        from ..weights import values  # netdsl.weights' package imports h5py: not at graph import time
        spec = value if isinstance(value, ArraySpec) else None
        array = None if spec is not None else np.asarray(value)
        shape = tuple(int(d) for d in (spec or array).shape)
        found = np.dtype((spec or array).dtype)
        expected = self.dtype.to_numpy()
        if shape != self.shape:
            return f"{self.name}: expected shape {self.shape}, found {shape}"
        if not values.dtype_convertible(found, expected):
            return f"{self.name}: expected dtype {expected.name}, found {found.name}"
        if array is None:
            return None
        converted = array.astype(expected, copy=False)
        bad = None if self.allow_nonfinite else values.first_nonfinite(converted)
        if bad is None and self.minimum is not None:
            bad = values.first_below(converted, self.minimum)
        return f"{self.name}: {bad}" if bad else None

    def prepare(self, value) -> tuple[np.ndarray | None, str | None]:
        """``(value converted to this dtype, None)`` if :meth:`check` passes, else ``(None, problem)``."""
        problem = self.check(value)
        if problem:
            return None, problem
        return np.ascontiguousarray(np.asarray(value).astype(self.dtype.to_numpy(), copy=False)), None

    def bind(self, value) -> None:
        """Bind an array, converted exactly to this dtype (float16 values to float32 weights ...).

        Raises:
            WeightsError: as :meth:`prepare` refuses, one line naming the weights.
        """
        array, problem = self.prepare(value)
        if problem:
            raise WeightsError(problem)
        self.value = array

    def __repr__(self):
        state = "bound" if self.is_bound else "unbound"
        return f"Weights({self.name!r}, {self.shape}, {self.dtype.name}, {state})"


class DerivedWeights:
    """Weights computed from other Weights once those are bound.

    Example: a batch-norm helper stores ``scale``/``bias``/``mean``/``variance``
    in the weight file, and its scale layer reads a derived ``scale`` and
    ``shift``. Derived weights are never read from or written to a store.

    Attributes:
        name, shape, dtype: as Weights.
        sources: the Weights it is computed from.
        fn: ``fn(*source_arrays) -> np.ndarray`` of ``shape``.
    """

    __slots__ = ("name", "shape", "dtype", "sources", "fn", "_cache")

    def __init__(self, name: str, shape, sources, fn, dtype: DataType = DataType.FLOAT):
        self.name = name
        self.shape = tuple(int(d) for d in shape)
        self.dtype = dtype
        self.sources = tuple(sources)
        self.fn = fn
        self._cache = None

    @property
    def is_bound(self) -> bool:
        return all(s.is_bound for s in self.sources)

    @property
    def value(self):
        if not self.is_bound:
            return None
        key = tuple(id(s.value) for s in self.sources)
        if self._cache is None or self._cache[0] != key:
            out = np.ascontiguousarray(self.fn(*(s.value for s in self.sources)), dtype=self.dtype.to_numpy())
            assert out.shape == self.shape, (self.name, out.shape, self.shape)
            self._cache = (key, out)
        return self._cache[1]

    def __repr__(self):
        return f"DerivedWeights({self.name!r}, {self.shape}, from {[s.name for s in self.sources]})"


class _InputsOutputs:
    """TensorRT's accessors over ``inputs`` and ``outputs``, for Layer (ILayer) and Network (INetworkDefinition):
    ``num_inputs``, ``num_outputs``, ``get_input(i)``, ``get_output(i)`` (IndexError past the end)."""

    __slots__ = ()

    @property
    def num_inputs(self) -> int:
        """Number of inputs (a layer's, or the network's in the order added)."""
        return len(self.inputs)

    @property
    def num_outputs(self) -> int:
        """Number of outputs (a layer's, or the network's marked outputs in the order marked)."""
        return len(self.outputs)

    def get_input(self, index: int) -> Tensor:
        """Input ``index``."""
        return self.inputs[index]

    def get_output(self, index: int) -> Tensor:
        """Output ``index``."""
        return self.outputs[index]


class Layer(_InputsOutputs):
    """One layer of a Network, as TensorRT's ILayer.

    Attributes are read-only and carry TensorRT's names (``stride_nd``,
    ``num_groups``, ``first_transpose`` ...): read them as ``layer.stride_nd``.
    Set them when adding the layer, so shapes are checked at once.
    """

    def __init__(self, network, type_: LayerType, name: str, inputs, attrs: dict, weights: dict):
        object.__setattr__(self, "network", network)
        object.__setattr__(self, "type", type_)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "inputs", tuple(inputs))
        object.__setattr__(self, "outputs", [])
        object.__setattr__(self, "attrs", dict(attrs))
        object.__setattr__(self, "weights", dict(weights))

    def __getattr__(self, key):
        attrs = object.__getattribute__(self, "attrs")
        if key in attrs:
            return attrs[key]
        raise AttributeError(f"{self.type.name} layer {self.name!r} has no attribute {key!r}")

    def __setattr__(self, key, value):
        attrs = object.__getattribute__(self, "attrs")
        if key in attrs or key == "name":
            raise AttributeError(f"layer {self.name!r}: {key} is fixed when the layer is added (its outputs were "
                                 f"inferred from it); pass {key}=... to the add_* call")
        if key in ("precision", "metadata") or key.startswith("set_output_type"):
            raise AttributeError(f"layer {self.name!r}: netdsl networks are strongly typed, as in TensorRT 11 and "
                                 f"TensorRT-RTX: a layer computes in its inputs' dtype; add_cast changes it "
                                 f"(docs/precision.md)" if key != "metadata" else
                                 f"layer {self.name!r}: the TensorRT lowering sets each layer's metadata to its "
                                 f"netdsl name itself (docs/build_report.md)")
        raise AttributeError(f"{self.type.name} layer {self.name!r} has no attribute {key!r} to set; its "
                             f"attributes: {', '.join(attrs) or 'none'}")

    @property
    def output(self) -> Tensor:
        """The single output tensor (raises if the layer has several)."""
        if len(self.outputs) != 1:
            raise AttributeError(f"layer {self.name!r} has {len(self.outputs)} outputs; use get_output(i)")
        return self.outputs[0]

    def __repr__(self):
        ins = ", ".join(t.name for t in self.inputs)
        outs = ", ".join(f"{t.name}{list(t.shape)}" for t in self.outputs)
        return f"<{self.type.name} {self.name!r}: ({ins}) -> ({outs})>"


def _raise_weights_problems(network: str, source: str, *, missing=(), unexpected=(), mismatched=(),
                            invalid=(), required=None) -> None:
    """Raise one WeightsError listing every problem found while binding ``source``, if there is any
    (``required``: how many weights the network needs, to say when ``source`` supplies none of them)."""
    parts = []
    if missing:
        parts.append(f"missing (required but not provided): {_listing(missing, ', ')}")
    if unexpected:
        parts.append(f"unexpected (provided but not required): {_listing(unexpected, ', ')}")
    if mismatched:
        parts.append(f"mismatched: {_listing(mismatched, '; ')}")
    if invalid:
        parts.append(f"invalid values: {_listing(invalid, '; ')}")
    if unexpected and required and len(missing) == required:
        parts.append(f"none of the {len(unexpected)} names provided is one the network needs: the weights of "
                     f"another network, or names that need a mapping?")
    if parts:
        raise WeightsError(f"{source} does not fit network {network!r}: " + " | ".join(parts))


_LISTED = 12  # items of one kind a weights message lists; the rest are counted


def _listing(items, sep: str) -> str:
    """The first ``_LISTED`` items joined by ``sep``, then ``... and N more`` (a whole wrong file would
    otherwise print hundreds of names on one line)."""
    items = list(items)
    if len(items) <= _LISTED:
        return sep.join(items)
    return f"{sep.join(items[:_LISTED])}{sep}... and {len(items) - _LISTED} more"


class Network(_InputsOutputs):
    """A network definition, as TensorRT's INetworkDefinition.

    Layers are added with ``add_*`` methods named as TensorRT's (see
    ``netdsl.layers``); each returns the new Layer. Names are scoped with
    :meth:`scope`, so a layer added inside ``with net.scope("backbone")`` and
    named ``conv3`` is ``backbone.conv3``.

    Example::

        net = Network("tiny")
        x = net.add_input("images", DataType.FLOAT, (1, 3, 416, 416))
        with net.scope("conv0"):
            y = net.add_convolution_nd(x, 16, (3, 3), padding_nd=(1, 1), name="conv").output
        net.mark_output(y)
    """

    def __init__(self, name: str = "network"):
        self.name = name
        self.layers: list[Layer] = []
        self.inputs: list[Tensor] = []
        self.outputs: list[Tensor] = []
        self._weights: dict[str, Weights] = {}
        self.weights_source: str | None = None  # what bind_weights last bound from (a file path)
        self._names: set[str] = set()
        self._tensor_names: set[str] = set()
        self._scope: list[str] = []
        self._counters: dict[str, int] = {}
        self.shape_constraints: list = []  # netdsl.graph.shapes.ShapeConstraint, recorded by layers

    # -- naming ---------------------------------------------------------------
    @contextlib.contextmanager
    def scope(self, name: str):
        """Context manager that prefixes layer and weight names with ``name.``."""
        if not name or "." in name:
            raise NetworkDefinitionError(f"scope name must be non-empty and contain no '.', got {name!r}")
        self._scope.append(name)
        try:
            yield self
        finally:
            self._scope.pop()

    def scoped_name(self, name: str) -> str:
        return ".".join(self._scope + [name])

    def _layer_name(self, name: str | None, type_: LayerType) -> str:
        if name is None:
            base = type_.name.lower()
            count = self._counters.get(self.scoped_name(base), 0)
            self._counters[self.scoped_name(base)] = count + 1
            name = f"{base}{count}" if count else base
            while self.scoped_name(name) in self._names:
                count += 1
                self._counters[self.scoped_name(base)] = count + 1
                name = f"{base}{count}"
        full = self.scoped_name(name)
        if full in self._names:
            raise NetworkDefinitionError(f"{full}: a layer of that name already exists in network {self.name!r}")
        return full

    # -- inputs and outputs -----------------------------------------------------
    def add_input(self, name: str, dtype, shape) -> Tensor:
        """Add a network input tensor.

        Args:
            name: tensor name (not scoped), used for feeds and engine bindings.
            dtype: DataType (or NumPy dtype / name).
            shape: dims, e.g. ``(1, 3, 416, 416)`` for NCHW. A dimension known
                only at run time is ``-1`` (named ``<input>[<axis>]``) or a
                name (``("batch", 3, "height", "width")``); inputs sharing a
                name share that dimension. Runtime dimensions need an
                optimization profile to build an engine
                (``netdsl.graph.profiles``).
        Returns:
            the input Tensor.
        Raises:
            NetworkDefinitionError: duplicate name, a dimension that is not a
                positive int, -1 or an identifier-like name.
        """
        if isinstance(shape, (str, int)) or not hasattr(shape, "__iter__"):
            raise NetworkDefinitionError(f"input {name!r}: shape must be a sequence of dims, found {shape!r}")
        dims = []
        for axis, d in enumerate(shape):
            if isinstance(d, str):
                if not d.replace("_", "a").isalnum() or not d.isascii() or d[0].isdigit():
                    raise NetworkDefinitionError(f"input {name!r}: runtime dimension name {d!r} (axis {axis}) "
                                                 f"must be an identifier such as 'batch'")
                dims.append(dim(d))
            elif isinstance(d, Dim):
                if len(d.terms) != 1 or d.terms[0][1] != 1 or len(d.terms[0][0]) != 1 or not d.names():
                    raise NetworkDefinitionError(f"input {name!r}: axis {axis} must be a named dimension, "
                                                 f"not the expression {d}")
                dims.append(d)
            elif isinstance(d, (int, np.integer)) and not isinstance(d, bool) and (d >= 1 or d == -1):
                dims.append(dim(f"{name}[{axis}]") if d == -1 else int(d))
            else:
                raise NetworkDefinitionError(f"input {name!r}: dimension {axis} must be a positive int, -1 or "
                                             f"a name, found {d!r} in {tuple(shape)}")
        shape = tuple(dims)
        if name in self._tensor_names:
            raise NetworkDefinitionError(f"input {name!r}: a tensor of that name already exists")
        tensor = Tensor(self, name, shape, as_datatype(dtype))
        self._tensor_names.add(name)
        self.inputs.append(tensor)
        return tensor

    def mark_output(self, tensor: Tensor, name: str | None = None) -> Tensor:
        """Mark a tensor as a network output, optionally renaming it."""
        self._check_own(tensor, "mark_output")
        if name is not None and name != tensor.name:
            if name in self._tensor_names:
                raise NetworkDefinitionError(f"mark_output: a tensor named {name!r} already exists")
            self.rename_tensor(tensor, name)
        if tensor not in self.outputs:
            self.outputs.append(tensor)
        return tensor

    def rename_tensor(self, tensor: Tensor, name: str) -> None:
        """Give ``tensor`` a new name (TensorRT's ``ITensor.name = ...``), unique in the network.

        Raises:
            NetworkDefinitionError: not a str, empty, or the name of another tensor.
        """
        self._check_own(tensor, "rename_tensor")
        if not isinstance(name, str) or not name:
            raise NetworkDefinitionError(f"tensor {tensor.name!r}: a name must be a non-empty str, found {name!r}")
        if name == tensor.name:
            return
        if name in self._tensor_names:
            raise NetworkDefinitionError(f"tensor {tensor.name!r}: cannot rename it {name!r}, a tensor of that name "
                                         f"already exists")
        self._tensor_names.discard(tensor.name)
        self._tensor_names.add(name)
        object.__setattr__(tensor, "name", name)

    def unmark_output(self, tensor: Tensor) -> None:
        self.outputs.remove(tensor)

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def runtime_dims(self) -> list[str]:
        """Names of the runtime dimensions of the inputs, in order of first appearance."""
        names: list[str] = []
        for t in self.inputs:
            for d in t.shape:
                if isinstance(d, Dim):
                    for n in sorted(d.names()):
                        if n not in names:
                            names.append(n)
        return names

    @property
    def is_static(self) -> bool:
        """True when every input shape is known at definition time (no optimization profile needed)."""
        return all(t.is_static for t in self.inputs)

    def get_layer(self, index: int) -> Layer:
        return self.layers[index]

    def has_layer(self, name: str) -> bool:
        """Whether a layer with this scoped name exists."""
        return name in self._names

    def layer(self, name: str) -> Layer:
        """The layer with this scoped name (KeyError if none)."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"network {self.name!r} has no layer {name!r}")

    def tensor(self, name: str) -> Tensor:
        """The tensor with this name (KeyError if none)."""
        for t in self.inputs:
            if t.name == name:
                return t
        for layer in self.layers:
            for t in layer.outputs:
                if t.name == name:
                    return t
        import difflib
        names = [t.name for t in self.inputs] + [t.name for layer in self.layers for t in layer.outputs]
        close = difflib.get_close_matches(str(name), names, n=3)
        raise KeyError(f"network {self.name!r} has no tensor {name!r}"
                       + (f" (did you mean {', '.join(map(repr, close))}?)" if close else ""))

    # -- weights ----------------------------------------------------------------
    def declare_weights(self, layer_name: str, role: str, shape, dtype=DataType.FLOAT, value=None, *,
                        minimum: float | None = None, allow_nonfinite: bool | None = None) -> Weights:
        """Declare the weights ``<layer_name>.<role>`` (value may come later from a store).

        Args:
            shape, dtype: what the values must be (see :class:`Weights`).
            value: the values now (a code constant), or None to bind later.
            minimum: smallest allowed value, checked at binding (0.0 for a
                batch-norm variance).
            allow_nonfinite: whether NaN/+-Inf may be bound; default: only
                for a ``value`` given here (code constants such as a -inf
                mask), never for weights bound later from a store.
        Raises:
            NetworkDefinitionError: declared twice, or ``value`` does not fit.
        """
        full = f"{layer_name}.{role}"
        if full in self._weights:
            raise NetworkDefinitionError(f"{layer_name}: weights {full!r} declared twice")
        if allow_nonfinite is None:
            allow_nonfinite = value is not None
        weights = Weights(full, shape, as_datatype(dtype), minimum=minimum, allow_nonfinite=allow_nonfinite)
        if value is not None:
            try:
                weights.bind(value)
            except WeightsError as exc:
                raise NetworkDefinitionError(f"{layer_name}: {role} does not fit: {exc}") from None
        self._weights[full] = weights
        return weights

    def weights(self) -> dict[str, Weights]:
        """All declared weights by scoped name, in declaration order."""
        return dict(self._weights)

    def unbound_weights(self) -> list[str]:
        return [name for name, w in self._weights.items() if not w.is_bound]

    def check_weights_unbound(self, source: str = "weights") -> None:
        """Raise WeightsError if :meth:`bind_weights` already bound every declared weight.

        The one-line message: ``network 'X' already has its weights bound (from
        <first source>); <source> was not loaded``.
        """
        if self.weights_source is not None and not self.unbound_weights():
            raise WeightsError(f"network {self.name!r} already has its weights bound "
                               f"(from {self.weights_source}); {source} was not loaded")

    def weight_spec_problems(self, specs: Mapping[str, tuple]) -> tuple[list[str], list[str], dict[str, str]]:
        """Compare names, shapes and dtypes with the unbound declarations, without values.

        Args:
            specs: scoped name -> ``(shape, numpy dtype)``, e.g. from an HDF5
                file's dataset headers.
        Returns:
            (missing names, unexpected names, name -> shape/dtype problem).
        """
        wanted = {n: w for n, w in self._weights.items() if not w.is_bound}
        missing = [n for n in wanted if n not in specs]
        unexpected = sorted(n for n in specs if n not in wanted)
        mismatched = {n: p for n, w in wanted.items() if n in specs for p in [w.check(ArraySpec(*specs[n]))] if p}
        return missing, unexpected, mismatched

    def check_weight_specs(self, specs: Mapping[str, tuple], source: str = "weights") -> list[str]:
        """Check names, shapes and dtypes of weights about to be bound, before any value is read.

        Args:
            specs: scoped name -> ``(shape, numpy dtype)``.
            source: what they come from (a file path), for the message.
        Returns:
            the names to bind: every declared, still unbound weight, in declaration order.
        Raises:
            WeightsError: as :meth:`check_weights_unbound`; or, listed in one
                line naming ``source``, every missing, unexpected, wrong-shape
                and wrong-dtype weight.
        """
        self.check_weights_unbound(source)
        missing, unexpected, mismatched = self.weight_spec_problems(specs)
        _raise_weights_problems(self.name, source, missing=missing, unexpected=unexpected,
                                mismatched=list(mismatched.values()), required=len(self.unbound_weights()))
        return self.unbound_weights()

    def bind_weights(self, arrays: Mapping[str, np.ndarray], source: str = "weights", *,
                     specs: Mapping[str, tuple] | None = None) -> None:
        """Bind every declared, still unbound Weights from ``arrays``.

        Strict and all-or-nothing: missing names, unexpected names, wrong
        shapes or dtypes and bad values (see :meth:`Weights.prepare`: values
        a dtype conversion would change, NaN/+-Inf, values below a declared
        minimum such as a negative batch-norm variance) are all collected and
        reported together, and nothing is bound then. float16 arrays bind to
        float32 weights (converted exactly).

        Args:
            arrays: mapping scoped name -> array (e.g. a :class:`WeightStore`).
            source: what the arrays came from (a file path), for the message.
            specs: name -> ``(shape, dtype)`` of everything ``source`` holds,
                when ``arrays`` holds only the part of it worth reading (those
                whose headers fit; see ``netdsl.weights.load_weights``);
                default: the names, shapes and dtypes of ``arrays``.
        Raises:
            WeightsError: as :meth:`check_weights_unbound`, or one line naming
                ``source`` listing every missing, unexpected, mismatched and
                invalid-valued weight.
        """
        self.check_weights_unbound(source)
        if specs is None:
            specs = {n: (np.shape(a), np.asarray(a).dtype) for n, a in arrays.items()}
        missing, unexpected, mismatched = self.weight_spec_problems(specs)
        missing += [n for n in self.unbound_weights() if n in specs and n not in mismatched and n not in arrays]
        prepared, invalid = {}, []
        for name in self.unbound_weights():
            if name in arrays and name not in mismatched:
                array, problem = self._weights[name].prepare(arrays[name])
                if problem:
                    invalid.append(problem)
                prepared[name] = array
        _raise_weights_problems(self.name, source, missing=missing, unexpected=unexpected,
                                mismatched=list(mismatched.values()), invalid=invalid,
                                required=len(self.unbound_weights()))
        for name, array in prepared.items():
            self._weights[name].value = array
        self.weights_source = source

    def release_weights(self) -> None:
        """Unbind every weight, constants given with the declarations included, and forget derived values.

        For one-shot callers that are done with the values once TensorRT
        holds the arrays it builds from (``netdsl.tensorrt.build_engine(...,
        release_weights=True)``): the arrays only the network referenced —
        e.g. kernels and batch-norm parameters whose folded copies TensorRT
        got instead — are freed. The network is then as declared, before
        any binding: bind every weight again (``bind_weights``) before
        building or running it again.
        """
        for weights in self._weights.values():
            weights.value = None
        for layer in self.layers:
            for weights in layer.weights.values():
                if isinstance(weights, DerivedWeights):
                    weights._cache = None
        self.weights_source = None

    # -- layers -----------------------------------------------------------------
    def _check_own(self, tensor, where: str) -> None:
        if not isinstance(tensor, Tensor):
            raise NetworkDefinitionError(f"{where}: expected a netdsl Tensor, found {type(tensor).__name__}")
        if tensor.network is not self:
            raise NetworkDefinitionError(f"{where}: tensor {tensor.name!r} belongs to network "
                                         f"{tensor.network.name!r}, not {self.name!r}")

    def begin_layer(self, type_: LayerType, name: str | None, inputs: Iterable[Tensor]) -> str:
        """Resolve a new layer's scoped name and check its inputs belong here."""
        full = self._layer_name(name, type_)
        for i, t in enumerate(inputs):
            if t is not None:
                self._check_own(t, f"{full} input {i}")
        return full

    def append_layer(self, type_: LayerType, name: str, inputs, outputs, attrs=None, weights=None,
                     shape_values=None) -> Layer:
        """Create and append a Layer with outputs given as ``(shape, dtype)`` pairs.

        Called by the constructors in ``netdsl.layers`` once they have
        validated inputs and inferred output shapes (ints and runtime Dims).
        ``shape_values`` optionally gives, per output, its value as a shape
        tensor (see :attr:`Tensor.shape_value`) or None.
        """
        layer = Layer(self, type_, name, inputs, attrs or {}, weights or {})
        values = list(shape_values or [])
        for i, (shape, dtype) in enumerate(outputs):
            tname = name if i == 0 else f"{name}:{i}"
            if tname in self._tensor_names:
                raise NetworkDefinitionError(f"{name}: output tensor name {tname!r} is already used")
            self._tensor_names.add(tname)
            value = values[i] if i < len(values) else None
            layer.outputs.append(Tensor(self, tname, shape, as_datatype(dtype), layer, value))
        self._names.add(name)
        self.layers.append(layer)
        return layer

    def __repr__(self):
        return (f"Network({self.name!r}: {len(self.inputs)} inputs, {len(self.layers)} layers, "
                f"{len(self.outputs)} outputs, {len(self._weights)} weights)")


def network_method(fn):
    """Attach a layer constructor ``fn(network, ...)`` to Network as a method.

    Used by the modules of ``netdsl.layers``: each layer family defines its
    ``add_*`` function in its own file, and this makes it ``Network.add_*``.
    """
    if hasattr(Network, fn.__name__):
        raise RuntimeError(f"Network.{fn.__name__} defined twice")
    setattr(Network, fn.__name__, fn)
    return fn
