"""The one place where TensorRT version differences live.

netdsl lowers to full TensorRT (8.6, 10.x, 11.x; Python module ``tensorrt``)
or TensorRT-RTX (1.x; module ``tensorrt_rtx`` or ``tensorrt_rtx_bindings``).
:func:`load_tensorrt` imports one of them and wraps it in a
:class:`TensorRTModule` whose helpers hide the differences that netdsl meets.
The differences come from ``tensorrt_python_api_by_version.txt`` (the
Python API of TensorRT 8.6.1, 10.0.1, 10.8.0, 10.16, 11.0, 11.1 and
TensorRT-RTX 1.7.1 side by side); ``docs/tensorrt_versions.md`` tabulates them.

Helpers test for the member they need (``hasattr``) rather than comparing
version numbers, so a version between the listed ones behaves as its API does.
"""
from __future__ import annotations

import functools
import importlib
import re
import warnings

from ..graph.dtypes import DataType
from ..graph.errors import BackendUnavailableError
from .errors import EngineBuildError

INSTALL_HINT = 'pip install "netdsl[rtx]" (TensorRT-RTX) or pip install "netdsl[tensorrt]" (TensorRT)'

# Python modules tried per flavor, in order.
_MODULES = {"tensorrt": ("tensorrt",), "rtx": ("tensorrt_rtx", "tensorrt_rtx_bindings")}

# Enum members netdsl uses that some supported versions lack: the TensorRT
# version that added them (tensorrt_python_api_by_version.txt, "enum ..." tables).
ADDED_IN = {
    ("DataType", "BF16"): "10.0", ("DataType", "INT64"): "10.0",
    ("ActivationType", "GELU_ERF"): "10.0", ("ActivationType", "GELU_TANH"): "10.0",
    ("UnaryOperation", "ISNAN"): "10.8",
    ("LayerType", "CUMULATIVE"): "10.8", ("LayerType", "SQUEEZE"): "10.8", ("LayerType", "UNSQUEEZE"): "10.8",
    ("DataType", "INT4"): "10.0", ("DataType", "FP4"): "10.8", ("LayerType", "DYNAMIC_QUANTIZE"): "10.8",
}

# The oldest GPU architecture (compute capability) whose kernels take a datatype. Sources: the TensorRT
# support matrix (FP8 from Ada, sm89; FP4 from Blackwell, sm100/sm120; BF16 from Ampere, sm80) and
# TensorRT-RTX 1.7 ahead-of-time builds, which refuse FP8 Q/DQ for sm86 ("the model contains HW-specific
# datatypes: fp8_e4m3"), FP4 below sm120 and BF16 for sm75. INT8 and INT4 (weight-only) build on all targets.
MIN_CAPABILITY = {DataType.BF16: (8, 0), DataType.FP8: (8, 9), DataType.FP4: (12, 0)}

_REDUCED_FLOATS = {DataType.HALF: "FP16", DataType.BF16: "BF16"}


def _parse_version(text: str) -> tuple[int, ...]:
    """'10.8.0.43' -> (10, 8, 0, 43); stops at the first non-numeric part ('post1')."""
    parts = []
    for piece in str(text).split("."):
        match = re.match(r"\d+", piece)
        if not match:
            break
        parts.append(int(match.group()))
    return tuple(parts)


class TensorRTModule:
    """An imported TensorRT or TensorRT-RTX module plus version-aware helpers.

    Attributes:
        trt: the Python module (``import tensorrt as trt`` equivalent).
        flavor: ``"tensorrt"`` (full TensorRT) or ``"rtx"`` (TensorRT-RTX).
        version: version tuple, e.g. (10, 8, 0, 43) or (1, 7, 1, 116).
        module_name: the name it was imported under.
    """

    def __init__(self, trt, flavor: str, module_name: str):
        self.trt = trt
        self.flavor = flavor
        self.module_name = module_name
        self.version = _parse_version(getattr(trt, "__version__", "0"))

    def __repr__(self):
        return f"TensorRTModule({self.label}, module {self.module_name!r})"

    @property
    def label(self) -> str:
        """Human-readable name and version, e.g. 'TensorRT-RTX 1.7.1.116'."""
        name = "TensorRT-RTX" if self.flavor == "rtx" else "TensorRT"
        return f"{name} {'.'.join(map(str, self.version))}"

    # -- typing ---------------------------------------------------------------
    @property
    def supports_strong_typing(self) -> bool:
        """True where NetworkDefinitionCreationFlag.STRONGLY_TYPED exists (TensorRT >= 10.0, RTX)."""
        return hasattr(self.trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED")

    def create_network(self, builder, strongly_typed: bool = True):
        """Create an INetworkDefinition with the flags this version needs.

        Rules (TensorRT API reference, NetworkDefinitionCreationFlag):
        EXPLICIT_BATCH on full TensorRT < 10 (8.6 defaults to implicit batch;
        10.x accepts the flag but ignores it, 11.x removed it); STRONGLY_TYPED
        where it exists (10.0+) and ``strongly_typed``; TensorRT-RTX takes 0
        (its networks are always strongly typed).

        Args:
            builder: a ``trt.Builder``.
            strongly_typed: ask for a strongly typed network where possible.
                8.6 has no strong typing: use :meth:`weak_typing_flags`.
        Returns:
            the new ``trt.INetworkDefinition``.
        """
        flag = self.trt.NetworkDefinitionCreationFlag
        flags = 0
        if self.flavor == "tensorrt":
            if self.version[:1] < (10,) and hasattr(flag, "EXPLICIT_BATCH"):
                flags |= 1 << int(flag.EXPLICIT_BATCH)
            if strongly_typed and hasattr(flag, "STRONGLY_TYPED"):
                flags |= 1 << int(flag.STRONGLY_TYPED)
        return builder.create_network(flags)

    def weak_typing_flags(self, config, layers, outputs=()) -> list[str]:
        """Request reduced precision in a weakly typed network (TensorRT 8.6).

        In a weakly typed network, a layer's output dtype is a hint. For
        every float16 (bfloat16) netdsl output this sets BuilderFlag.FP16
        (BF16) and OBEY_PRECISION_CONSTRAINTS, the layer's ``precision``
        (except for CAST and CONSTANT layers, whose type is given) and
        ``set_output_type``; network outputs get ``ITensor.dtype`` set.
        Source: TensorRT developer guide, "Reduced Precision" (weak typing).

        Args:
            config: the ``trt.IBuilderConfig``.
            layers: pairs (trt ILayer, netdsl Layer).
            outputs: pairs (trt ITensor, netdsl Tensor) of the network outputs.
        Returns:
            names of the builder flags set (empty when all tensors are
            FLOAT or integer).
        Raises:
            BackendUnavailableError: this version has no such builder flag
                (TensorRT 11 / RTX: use a strongly typed network).
        """
        trt = self.trt
        needed = {_REDUCED_FLOATS[t.dtype] for _, layer in layers for t in layer.outputs
                  if t.dtype in _REDUCED_FLOATS}
        needed |= {_REDUCED_FLOATS[t.dtype] for _, t in outputs if t.dtype in _REDUCED_FLOATS}
        if not needed:
            return []
        flags = sorted(needed) + ["OBEY_PRECISION_CONSTRAINTS"]
        for name in flags:
            if not hasattr(trt.BuilderFlag, name):
                raise BackendUnavailableError(
                    f"{self.label} has no BuilderFlag.{name} for weakly typed reduced precision; "
                    f"build a strongly typed network instead")
            config.set_flag(getattr(trt.BuilderFlag, name))
        for trt_layer, layer in layers:
            reduced = [t.dtype for t in layer.outputs if t.dtype in _REDUCED_FLOATS]
            if not reduced:
                continue
            if layer.type.name not in ("CAST", "CONSTANT"):
                trt_layer.precision = self.datatype(reduced[0])
            for i, t in enumerate(layer.outputs):
                if t.dtype.is_float:
                    trt_layer.set_output_type(i, self.datatype(t.dtype))
        for trt_tensor, t in outputs:
            trt_tensor.dtype = self.datatype(t.dtype)
        return flags

    def shape_dtype(self) -> DataType:
        """The dtype of shape tensors (``IShapeLayer`` output): INT64 from TensorRT 10.0 on, INT32 on 8.6."""
        return DataType.INT64 if hasattr(self.trt.DataType, "INT64") else DataType.INT32

    def add_optimization_profiles(self, builder, config, network, resolved) -> int:
        """Add one ``IOptimizationProfile`` per resolved profile (``netdsl.graph.profiles``).

        Args:
            builder, config: the ``trt.Builder`` and ``trt.IBuilderConfig``.
            network: the netdsl Network (its inputs give each shape's form).
            resolved: per profile ``{"min"|"opt"|"max": binding}``.
        Returns:
            the number of profiles added.
        """
        from ..graph.shapes import evaluate_shape
        for points in resolved:
            profile = builder.create_optimization_profile()
            for t in network.inputs:
                if t.is_static:
                    continue
                lo, opt, hi = (evaluate_shape(t.shape, points[p]) for p in ("min", "opt", "max"))
                profile.set_shape(t.name, lo, opt, hi)
            if config.add_optimization_profile(profile) < 0:
                raise EngineBuildError(f"{self.label} refused optimization profile {len(resolved)}")
        return len(resolved)

    # -- builder config ---------------------------------------------------------
    def set_workspace(self, config, nbytes: int) -> None:
        """Limit the builder's scratch memory to ``nbytes``.

        ``set_memory_pool_limit(MemoryPoolType.WORKSPACE, n)`` (8.4+, RTX);
        ``max_workspace_size`` on older 8.x (removed in 10.0).
        """
        if hasattr(config, "set_memory_pool_limit"):
            config.set_memory_pool_limit(self.trt.MemoryPoolType.WORKSPACE, int(nbytes))
        else:
            config.max_workspace_size = int(nbytes)

    def target_names(self) -> list[str]:
        """The compute-capability targets this TensorRT-RTX knows, lower case (``sm75`` ...); [] on full TensorRT."""
        if self.flavor != "rtx":
            return []
        return [m.lower() for m in self.trt.ComputeCapability.__members__ if m not in ("NONE", "CURRENT")]

    def set_targets(self, config, targets) -> list[str]:
        """Choose the GPU architectures an engine is compiled for.

        TensorRT-RTX compiles ahead of time for the listed compute
        capabilities (``IBuilderConfig.set_compute_capability``; no GPU is
        needed). Names: ``"sm86"`` / ``"SM86"`` / ``"sm_86"`` or ``"current"``
        (the GPU of this machine); ``trt.ComputeCapability`` lists them
        (RTX 1.7: SM75, SM80, SM86, SM89, SM120, SM121). With no targets,
        TensorRT-RTX builds for this machine's GPU (``CURRENT``) when there is
        one; without a GPU there is no sensible default, so that is an error
        listing the targets (an engine silently built for another
        architecture would not run here).

        Rule for full TensorRT: it always builds for the GPU of the building
        machine, so targets other than ``"current"`` are ignored with a
        ``UserWarning`` (the engine runs on that GPU's architecture only).

        Returns:
            the ComputeCapability member names set (empty on full TensorRT).
        Raises:
            EngineBuildError: a target name this TensorRT-RTX does not know, a
                target given twice, no target on a machine without a GPU, or
                ``set_compute_capability`` refusing one.
        """
        targets = list(targets or ())
        names = [str(t).strip().upper().replace("_", "") for t in targets]
        if self.flavor != "rtx":
            if any(n != "CURRENT" for n in names):
                warnings.warn(f"{self.label} builds for the GPU of this machine; targets {targets} "
                              f"are ignored (only TensorRT-RTX compiles for chosen architectures)",
                              stacklevel=3)
            return []
        known = [m for m in self.trt.ComputeCapability.__members__ if m != "NONE"]
        unknown = [t for t, n in zip(targets, names) if n not in known]
        if unknown:
            raise EngineBuildError(f"unknown target(s) {unknown}: {self.label} knows "
                                   f"{', '.join(k.lower() for k in known)}")
        repeated = sorted({t for t, n in zip(targets, names) if names.count(n) > 1})
        if repeated:
            raise EngineBuildError(f"target(s) {repeated} given more than once")
        if not names:
            if not has_local_gpu():
                raise EngineBuildError(f"no GPU on this machine to build for: choose the target GPU "
                                       f"architecture(s), e.g. --target sm86 (one of "
                                       f"{', '.join(self.target_names())})")
            names = ["CURRENT"]
        if "CURRENT" in names and not has_local_gpu():
            raise EngineBuildError("target 'current' means this machine's GPU, and it has none; "
                                   f"choose one of {', '.join(self.target_names())}")
        config.num_compute_capabilities = len(names)
        for i, n in enumerate(names):
            if config.set_compute_capability(getattr(self.trt.ComputeCapability, n), i) is False:
                raise EngineBuildError(f"{self.label} refused target {n.lower()} (set_compute_capability)")
        return names

    def set_progress_monitor(self, config, monitor) -> bool:
        """Attach an ``IProgressMonitor`` (TensorRT >= 10.0, RTX); returns False where the version has none (8.6)."""
        if not hasattr(self.trt, "IProgressMonitor") or not hasattr(config, "progress_monitor"):
            return False
        config.progress_monitor = monitor
        return True

    # -- layers whose add_* name changed ----------------------------------------
    def _add(self, network, nd_name: str, nd_args, legacy_name: str, legacy_args):
        """``network.<nd_name>(*nd_args)``; else the 2-D legacy form (8.x) when ``legacy_args``."""
        if hasattr(network, nd_name):
            return getattr(network, nd_name)(*nd_args)
        if legacy_args is not None and hasattr(network, legacy_name):
            return getattr(network, legacy_name)(*legacy_args)
        raise BackendUnavailableError(f"{self.label} has no INetworkDefinition.{nd_name} "
                                      f"(nor a 2-D {legacy_name} for these arguments)")

    def _hw(self, dims):
        """DimsHW for the 2-D legacy add_* calls, None for other ranks."""
        dims = tuple(int(d) for d in dims)
        return self.trt.DimsHW(*dims) if len(dims) == 2 else None

    def add_convolution_nd(self, network, input, num_output_maps: int, kernel_shape, kernel, bias):
        """IConvolutionLayer: ``add_convolution_nd`` (all versions; 8.6 also had 2-D ``add_convolution``).

        Args:
            input: ITensor NC(D)HW; num_output_maps: K; kernel_shape: (R, S) or (T, R, S);
            kernel, bias: ``trt.Weights`` (bias may be empty Weights).
        Returns:
            the IConvolutionLayer.
        """
        k = tuple(int(d) for d in kernel_shape)
        hw = self._hw(k)
        return self._add(network, "add_convolution_nd", (input, int(num_output_maps), k, kernel, bias),
                         "add_convolution", None if hw is None else (input, int(num_output_maps), hw, kernel, bias))

    def add_deconvolution_nd(self, network, input, num_output_maps: int, kernel_shape, kernel, bias):
        """IDeconvolutionLayer: ``add_deconvolution_nd`` (8.6 also ``add_deconvolution``). Args as convolution."""
        k = tuple(int(d) for d in kernel_shape)
        hw = self._hw(k)
        return self._add(network, "add_deconvolution_nd", (input, int(num_output_maps), k, kernel, bias),
                         "add_deconvolution", None if hw is None else (input, int(num_output_maps), hw, kernel, bias))

    def add_pooling_nd(self, network, input, type_, window_size):
        """IPoolingLayer: ``add_pooling_nd`` (8.6 also ``add_pooling``); ``type_`` is a ``trt.PoolingType``."""
        w = tuple(int(d) for d in window_size)
        hw = self._hw(w)
        return self._add(network, "add_pooling_nd", (input, type_, w),
                         "add_pooling", None if hw is None else (input, type_, hw))

    def add_padding_nd(self, network, input, pre_padding, post_padding):
        """IPaddingLayer: ``add_padding_nd`` (8.6 also ``add_padding``); negative padding crops."""
        pre, post = tuple(int(d) for d in pre_padding), tuple(int(d) for d in post_padding)
        hw = self._hw(pre) is not None and self._hw(post) is not None
        return self._add(network, "add_padding_nd", (input, pre, post),
                         "add_padding", (input, self._hw(pre), self._hw(post)) if hw else None)

    # -- quantized datatypes ------------------------------------------------------
    def add_quantize(self, network, input, scale, to_type: DataType, dequantize: bool = False):
        """IQuantizeLayer / IDequantizeLayer converting to ``to_type``.

        TensorRT >= 10.0 and RTX take the output type as an argument
        (``add_quantize(input, scale, output_type)``; ``IQuantizeLayer.to_type``);
        TensorRT 8.6 has ``add_quantize(input, scale)`` only, INT8 out (FP8 needs 10.x there).

        Raises:
            BackendUnavailableError: a datatype this version lacks (INT4 needs 10.0, FP4 10.8), or a
                non-INT8 / non-FLOAT conversion on 8.6.
        """
        add = network.add_dequantize if dequantize else network.add_quantize
        layer_class = self.trt.IDequantizeLayer if dequantize else self.trt.IQuantizeLayer
        trt_type = self.datatype(to_type)
        if hasattr(layer_class, "to_type"):
            return add(input, scale, trt_type)
        default = DataType.FLOAT if dequantize else DataType.INT8
        if to_type is not default:
            raise BackendUnavailableError(f"{self.label} quantizes to INT8 and dequantizes to FLOAT only "
                                          f"(found {to_type.name}; typed Q/DQ needs TensorRT >= 10.0)")
        return add(input, scale)

    def set_block_shape(self, trt_layer, block_shape, axis: int) -> None:
        """Block quantization of a Q/DQ layer whose scale has the input's rank.

        Blocks along one axis (every other block extent 1): the blocked ``axis``, the block inferred
        from the scale's shape — TensorRT 10.0-10.15 have only this form, and TensorRT-RTX 1.7 builds
        INT4 only this way (with ``block_shape`` set it refuses INT4: "Blockwise dequantization
        requires input type to be int8 or fp8e4m3 or fp4e2m1"). Blocks along two axes:
        ``block_shape`` (TensorRT >= 10.16, RTX).

        Raises:
            BackendUnavailableError: a two-axis block on a version without ``block_shape``.
        """
        blocked = [i for i, b in enumerate(block_shape) if b != 1]
        if len(blocked) <= 1:
            trt_layer.axis = int(axis)
            return
        if not hasattr(type(trt_layer), "block_shape"):
            raise BackendUnavailableError(f"{self.label} has no block_shape for blocks along two axes "
                                          f"{tuple(block_shape)} (needs TensorRT >= 10.16)")
        trt_layer.block_shape = self.trt.Dims(tuple(int(b) for b in block_shape))

    def add_dynamic_quantize(self, network, input, axis: int, block_size: int, to_type: DataType,
                             scale_type: DataType):
        """IDynamicQuantizeLayer (TensorRT >= 10.8, RTX): ``add_dynamic_quantize(input, axis, block_size,
        output_type, scale_type)``.

        Raises:
            BackendUnavailableError: this version has no dynamic quantization.
        """
        if not hasattr(network, "add_dynamic_quantize"):
            raise BackendUnavailableError(f"{self.label} has no IDynamicQuantizeLayer (needs TensorRT >= 10.8)")
        return network.add_dynamic_quantize(input, int(axis), int(block_size), self.datatype(to_type),
                                            self.datatype(scale_type))

    # -- enums ----------------------------------------------------------------
    def has_per_channel_group_norm(self, network) -> bool:
        """True where INetworkDefinition.add_normalization_v2 exists (TensorRT >= 10.16, RTX):
        group-norm scale/bias per channel; older versions take them per group."""
        return hasattr(network, "add_normalization_v2")

    def padding_mode(self, mode, explicit_is_exact: bool):
        """netdsl PaddingMode -> ``trt.PaddingMode``, for a layer whose resolved padding is set explicitly.

        Only TensorRT 8.6 has CAFFE_ROUND_DOWN / CAFFE_ROUND_UP (TensorRT 10
        removed them; TensorRT-RTX never had them). netdsl has already resolved the padding those modes apply, so
        EXPLICIT_ROUND_DOWN with that padding gives the same output size and,
        where ``explicit_is_exact`` (every convolution; max pooling; average
        pooling that excludes padding or whose post padding did not grow),
        the same values.

        Raises:
            BackendUnavailableError: the mode is missing and the caller says
                the explicit form would change values.
        """
        value = getattr(self.trt.PaddingMode, mode.name, None)
        if value is not None:
            return value
        if explicit_is_exact and mode.name.startswith("CAFFE"):
            return self.trt.PaddingMode.EXPLICIT_ROUND_DOWN
        raise BackendUnavailableError(f"PaddingMode.{mode.name} is not available in {self.label}"
                                      + ("" if explicit_is_exact else " and cannot be emulated for this "
                                         "average pooling (it counts padding the mode adds)"))

    def datatype(self, dtype: DataType):
        """netdsl DataType -> ``trt.DataType`` of the same name.

        Raises:
            BackendUnavailableError: this version lacks it (BF16 and INT64
                need TensorRT >= 10.0).
        """
        return self.enum(dtype, enum_name="DataType")

    def enum(self, member, enum_name: str | None = None):
        """netdsl enum member -> ``getattr(trt.<EnumName>, member.name)``.

        Raises:
            BackendUnavailableError: the member (or the enum) does not exist in
                this version; the message says which version added it.
        """
        enum_name = enum_name or type(member).__name__
        trt_enum = getattr(self.trt, enum_name, None)
        value = getattr(trt_enum, member.name, None) if trt_enum is not None else None
        if value is None:
            since = ADDED_IN.get((enum_name, member.name))
            need = f" (needs TensorRT >= {since})" if since else ""
            raise BackendUnavailableError(f"{enum_name}.{member.name} is not available in {self.label}{need}")
        return value


def target_capability(target) -> tuple[int, int]:
    """A target name -> its compute capability: ``"sm86"`` / ``"SM_86"`` -> (8, 6), ``"sm120"`` -> (12, 0).

    Raises:
        EngineBuildError: not an ``smXY`` / ``smXYZ`` name (one line naming it).
    """
    name = str(target).strip().lower().replace("_", "")
    match = re.fullmatch(r"sm(\d{2,3})", name)
    if not match:
        raise EngineBuildError(f"target {target!r} is not a GPU architecture name such as sm86 or sm120")
    digits = match.group(1)
    return int(digits[:-1]), int(digits[-1])


def unsupported_datatype(dtype: DataType, target) -> str | None:
    """Why ``target`` cannot run ``dtype`` (one line), or None when it can.

    Rules: :data:`MIN_CAPABILITY` — FP8 needs sm89 or newer, FP4 sm120 (TensorRT-RTX's Blackwell
    target), BF16 sm80; other types run everywhere. ``"current"`` (this machine's GPU) is not
    judged here.
    """
    need = MIN_CAPABILITY.get(dtype)
    if need is None or str(target).strip().lower() == "current":
        return None
    have = target_capability(target)
    if have >= need:
        return None
    return (f"DataType.{dtype.name} needs a GPU of compute capability {need[0]}.{need[1]} or newer "
            f"(sm{need[0]}{need[1]}+), target {str(target).strip().lower()} is {have[0]}.{have[1]}")


def check_target_datatypes(network, targets) -> None:
    """Refuse, before TensorRT is called, a network using a datatype one of ``targets`` cannot run.

    Every tensor's dtype and every layer's weights dtype is checked against
    :func:`unsupported_datatype` (FP8 sm89+, FP4 sm120, BF16 not sm75).

    Raises:
        EngineBuildError: one line naming the first offending tensor or layer, its datatype and the target.
    """
    dtypes = {}
    for t in network.inputs:
        dtypes.setdefault(t.dtype, f"input {t.name!r}")
    for layer in network.layers:
        for t in layer.outputs:
            dtypes.setdefault(t.dtype, f"tensor {t.name!r} (layer {layer.name})")
    for target in targets or ():
        for dtype, where in dtypes.items():
            problem = unsupported_datatype(dtype, target)
            if problem:
                raise EngineBuildError(f"{where}: {problem}")


@functools.lru_cache(maxsize=None)
def has_local_gpu() -> bool:
    """Whether this machine has a usable CUDA GPU: the driver library loads and reports >= 1 device.

    Asks the CUDA driver API directly through ctypes (``cuInit``,
    ``cuDeviceGetCount``), so it needs neither cuda-python nor TensorRT.
    """
    import ctypes
    import sys
    try:
        lib = ctypes.CDLL("nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1")
    except OSError:
        return False
    count = ctypes.c_int(0)
    try:
        return lib.cuInit(0) == 0 and lib.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value > 0
    except (AttributeError, OSError):
        return False


def _import_first(names):
    """Import the first importable module of ``names``; return (module, name, reasons)."""
    reasons = []
    for name in names:
        try:
            return importlib.import_module(name), name, reasons
        except Exception as exc:  # ImportError, or OSError for a missing shared library
            reasons.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    return None, None, reasons


@functools.lru_cache(maxsize=None)
def load_tensorrt(prefer: str | None = None) -> TensorRTModule:
    """Import TensorRT or TensorRT-RTX.

    Args:
        prefer: ``"tensorrt"`` (full TensorRT only), ``"rtx"`` (TensorRT-RTX
            only) or None (full TensorRT first, then TensorRT-RTX).
    Returns:
        a cached :class:`TensorRTModule`.
    Raises:
        BackendUnavailableError: nothing importable; the one-line message says
            what to install.
        ValueError: an unknown ``prefer``.
    """
    if prefer not in (None, "tensorrt", "rtx"):
        raise ValueError(f"prefer must be None, 'tensorrt' or 'rtx', got {prefer!r}")
    flavors = [prefer] if prefer else ["tensorrt", "rtx"]
    tried = []
    for flavor in flavors:
        module, name, reasons = _import_first(_MODULES[flavor])
        tried += reasons
        if module is not None:
            return TensorRTModule(module, flavor, name)
    wanted = {"rtx": "TensorRT-RTX", "tensorrt": "TensorRT"}[prefer] if prefer else "TensorRT or TensorRT-RTX"
    raise BackendUnavailableError(f"{wanted} is not importable ({'; '.join(tried)}); {INSTALL_HINT}")
