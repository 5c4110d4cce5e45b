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
    ("MemoryPoolType", "TACTIC_SHARED_MEMORY"): "10.0", ("DataType", "FP4"): "10.8",
    ("DataType", "INT4"): "10.0", ("LayerType", "DYNAMIC_QUANTIZE"): "10.8",
}

# Memory pools by trtexec's --memPoolSize name (trtexec --help, TensorRT 10.x) and by TensorRT's
# MemoryPoolType name in lower case (TACTIC_DRAM has no trtexec name).
MEMORY_POOLS = {
    "workspace": "WORKSPACE", "dlasram": "DLA_MANAGED_SRAM", "dlalocaldram": "DLA_LOCAL_DRAM",
    "dlaglobaldram": "DLA_GLOBAL_DRAM", "tacticsharedmem": "TACTIC_SHARED_MEMORY",
    "dla_managed_sram": "DLA_MANAGED_SRAM", "dla_local_dram": "DLA_LOCAL_DRAM", "dla_global_dram": "DLA_GLOBAL_DRAM",
    "tactic_dram": "TACTIC_DRAM", "tactic_shared_memory": "TACTIC_SHARED_MEMORY",
}

# Reduced-precision types per GPU architecture: the lowest compute capability (major * 10 + minor) that
# runs them. Source: TensorRT-RTX support matrix ("GPU Architecture and Precision Support", 1.0-1.5):
# BF16 from Ampere (8.x; not Turing 7.5), FP8 from Ada (8.9), FP4 GEMM from Blackwell (12.0, 12.1).
# Checked here with TensorRT-RTX 1.7.1 builds: a BF16 network for sm75 and an FP8 Q/DQ network for
# sm86 fail in Myelin ("Cannot compile for target(s) ... HW-specific datatypes"). INT8 Q/DQ builds for
# every target (on sm75 TensorRT-RTX runs the convolution in FLOAT: the build report says so).
MIN_COMPUTE_CAPABILITY = {"BF16": 80, "FP8": 89, "FP4": 120}

# netdsl --precision names -> TensorRT DataType names.
PRECISIONS = {"fp32": "FLOAT", "fp16": "HALF", "bf16": "BF16", "int8": "INT8", "fp8": "FP8", "fp4": "FP4"}

_REDUCED_FLOATS = {DataType.HALF: "FP16", DataType.BF16: "BF16"}

# Layer types a flavor defines in its network API but cannot build: TensorRT-RTX 1.7.1 adds NonZero and NMS
# layers, and build_serialized_network then fails with "... has no runners that implement it"
# (tests/tensorrt/test_build_data_dependent.py checks that this is still so).
NO_RUNNER = {"rtx": ("NON_ZERO", "NMS")}


def _dtype_name(dtype) -> str:
    """A TensorRT DataType name from a netdsl/TensorRT DataType, a DataType name or a --precision name."""
    text = str(getattr(dtype, "name", dtype))
    return PRECISIONS.get(text.lower(), text.upper())


def _mark(logger) -> int:
    """How many messages ``logger`` (``netdsl.tensorrt.logger.make_logger``) holds: errors after it are new."""
    return len(logger.messages) if logger is not None else 0


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

    def _need(self, config, member: str, option: str, since: str = "8.6") -> None:
        if not hasattr(config, member):
            raise BackendUnavailableError(f"{option}: {self.label} has no IBuilderConfig.{member} "
                                          f"(needs TensorRT >= {since})")

    def set_builder_optimization_level(self, config, level: int, logger=None) -> int:
        """``IBuilderConfig.builder_optimization_level`` (trtexec ``--builderOptimizationLevel``), read back.

        TensorRT's levels run from 0 (fastest build) to 5 (slowest build, most
        tactics); 3 is its default. TensorRT-RTX 1.7 refuses a negative level
        and silently lowers one above 5 to 5, so netdsl reads the value back.
        Source: TensorRT API reference, ``IBuilderConfig.builder_optimization_level``
        (TensorRT >= 8.6, TensorRT-RTX).

        Returns:
            the level read back from the config.
        Raises:
            EngineBuildError: not an int >= 0, or TensorRT keeps another value
                (the message holds expected and found, and TensorRT's logged error).
            BackendUnavailableError: this version has no such attribute.
        """
        return self._set_count(config, "builder_optimization_level", level,
                               "builder_optimization_level (--builder-optimization-level)", logger,
                               " (TensorRT's levels are 0-5)")

    def set_max_aux_streams(self, config, streams: int, logger=None) -> int:
        """``IBuilderConfig.max_aux_streams`` (trtexec ``--maxAuxStreams``): auxiliary CUDA streams one engine may use.

        TensorRT runs independent branches of the graph on up to this many
        auxiliary streams beside the main one (multi-stream execution inside
        one engine; 0 turns it off; unset, TensorRT decides). Source: TensorRT
        API reference, ``IBuilderConfig.max_aux_streams`` (TensorRT >= 8.6,
        TensorRT-RTX); developer guide, "Within-Inference Multi-Streaming".

        Returns:
            the value read back from the config.
        Raises:
            EngineBuildError: not an int >= 0, or TensorRT keeps another value.
            BackendUnavailableError: this version has no such attribute.
        """
        return self._set_count(config, "max_aux_streams", streams, "max_aux_streams (--max-aux-streams)", logger)

    def _set_count(self, config, member: str, value, option: str, logger, hint: str = "") -> int:
        """Set the integer ``IBuilderConfig.<member>`` (>= 0) and read it back (errors as the setters document)."""
        self._need(config, member, option)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise EngineBuildError(f"{option}: expected an integer >= 0{hint}, found {value!r}")
        start = _mark(logger)
        setattr(config, member, value)
        return self._read_back(config, member, value, option, logger, start)

    def _read_back(self, config, member, wanted, option, logger, start):
        found = getattr(config, member)
        if found != wanted:
            errors = logger.errors(start) if logger is not None else []
            raise EngineBuildError(f"{option}: {self.label} keeps {found}, expected {wanted}"
                                   + (f" ({' | '.join(errors)})" if errors else ""))
        return found

    def memory_pool(self, name: str, option: str = "memory pool"):
        """A pool name (trtexec's ``workspace``, ``dlaSRAM``, ``dlaLocalDRAM``, ``dlaGlobalDRAM``,
        ``tacticSharedMem``, or a ``MemoryPoolType`` name such as ``tactic_dram``) -> ``trt.MemoryPoolType``.

        Raises:
            EngineBuildError: an unknown name (the message lists the known ones).
            BackendUnavailableError: the pool is missing in this version
                (TACTIC_SHARED_MEMORY needs TensorRT >= 10.0).
        """
        member = MEMORY_POOLS.get(str(name).strip().lower())
        if member is None:
            raise EngineBuildError(f"{option}: unknown memory pool {name!r}; expected one of "
                                   f"workspace, dlaSRAM, dlaLocalDRAM, dlaGlobalDRAM, tacticSharedMem, tactic_dram")
        value = getattr(self.trt.MemoryPoolType, member, None)
        if value is None:
            since = ADDED_IN.get(("MemoryPoolType", member))
            raise BackendUnavailableError(f"{option}: MemoryPoolType.{member} is not available in {self.label}"
                                          + (f" (needs TensorRT >= {since})" if since else ""))
        return value

    def set_memory_pool_limits(self, config, limits: dict, logger=None) -> dict:
        """``IBuilderConfig.set_memory_pool_limit`` for each ``{pool name: bytes}`` (trtexec ``--memPoolSize``), read back.

        Args:
            limits: pool name (see :meth:`memory_pool`) -> limit in bytes (int >= 0).
        Returns:
            ``{MemoryPoolType name: bytes read back}``.
        Raises:
            EngineBuildError: a negative or non-integer size, an unknown pool, or
                a limit TensorRT does not keep (TensorRT-RTX has no DLA and
                keeps its default for a 0 TACTIC_DRAM limit); the message holds
                expected and found, and TensorRT's logged error.
            BackendUnavailableError: no ``set_memory_pool_limit`` (TensorRT < 8.4)
                or a pool this version lacks.
        """
        option = "memory pool (--mem-pool-size)"
        self._need(config, "set_memory_pool_limit", option, since="8.4")
        out = {}
        for name, nbytes in limits.items():
            pool = self.memory_pool(name, option)
            if not isinstance(nbytes, int) or isinstance(nbytes, bool) or nbytes < 0:
                raise EngineBuildError(f"{option} {name}: expected a size in bytes >= 0, found {nbytes!r}")
            start = _mark(logger)
            config.set_memory_pool_limit(pool, nbytes)
            found = config.get_memory_pool_limit(pool)
            if found != nbytes:
                errors = logger.errors(start) if logger is not None else []
                raise EngineBuildError(f"{option} {name}: {self.label} keeps {found} bytes, expected {nbytes}"
                                       + (f" ({' | '.join(errors)})" if errors else ""))
            out[pool.name] = found
        return out

    def memory_pool_limits(self, config) -> dict:
        """``{MemoryPoolType name: limit in bytes}`` of every pool this version has (read from the config)."""
        return {name: int(config.get_memory_pool_limit(value))
                for name, value in self.trt.MemoryPoolType.__members__.items()}

    @property
    def timing_cache_is_noop(self) -> bool:
        """True on TensorRT-RTX: its timing cache calls are no-ops (its bindings warn "Deprecated in
        TensorRT-RTX 1.2. Timing cache operations are no-ops in TensorRT-RTX"); full TensorRT uses them."""
        return self.flavor == "rtx"

    def set_timing_cache(self, config, data: bytes = b"") -> bool:
        """Give the builder a timing cache made from ``data`` (b"" for an empty one).

        ``IBuilderConfig.create_timing_cache`` + ``set_timing_cache(cache,
        ignore_mismatch=False)`` (TensorRT >= 8.0; a cache from another GPU or
        TensorRT version is refused rather than used). Source: TensorRT
        developer guide, "Timing Cache".

        Returns:
            True when TensorRT accepted the cache.
        Raises:
            EngineBuildError: TensorRT refused the cache (the file is corrupt,
                or from another device or version).
        """
        cache = config.create_timing_cache(bytes(data))
        if cache is None or not config.set_timing_cache(cache, ignore_mismatch=False):
            raise EngineBuildError(f"timing cache (--timing-cache): {self.label} refused the cache "
                                   f"({len(data)} bytes; from another GPU or TensorRT version?)")
        return True

    def timing_cache_bytes(self, config) -> bytes:
        """The builder's timing cache after a build, serialized (``ITimingCache.serialize``)."""
        cache = config.get_timing_cache()
        return b"" if cache is None else bytes(memoryview(cache.serialize()))

    def set_profiling_verbosity(self, config, name: str = "DETAILED") -> None:
        """``IBuilderConfig.profiling_verbosity = ProfilingVerbosity.<name>`` (TensorRT >= 8.2, RTX).

        DETAILED keeps, in the engine and in the builder's VERBOSE log, every
        fused kernel with its tactic, tensor data types and layer metadata
        (the ``Layers:`` listing :mod:`netdsl.tensorrt.report` reads).
        """
        self._need(config, "profiling_verbosity", "profiling_verbosity", since="8.2")
        config.profiling_verbosity = getattr(self.trt.ProfilingVerbosity, name)

    def set_layer_metadata(self, trt_layer, text: str) -> bool:
        """``ILayer.metadata = text`` (TensorRT >= 8.6, RTX): TensorRT names, in its layer listing, the
        metadata of every network layer a fused kernel covers. Returns False where the version has none."""
        if not hasattr(trt_layer, "metadata"):
            return False
        trt_layer.metadata = text
        return True

    def builder_config_summary(self, config) -> dict:
        """The builder settings read back from ``config``, for the build report.

        Returns:
            ``builder_optimization_level``, ``max_aux_streams`` (-1: TensorRT
            decides), ``profiling_verbosity`` (names; None where the version
            lacks the attribute), ``memory_pools`` ({MemoryPoolType name: bytes})
            and ``compute_capabilities`` (TensorRT-RTX targets, else []).
        """
        def read(member):
            value = getattr(config, member, None)
            return getattr(value, "name", value)
        caps = []
        if hasattr(config, "get_compute_capability"):
            caps = [config.get_compute_capability(i).name.lower() for i in range(config.num_compute_capabilities)]
        return {"builder_optimization_level": read("builder_optimization_level"),
                "max_aux_streams": read("max_aux_streams"), "profiling_verbosity": read("profiling_verbosity"),
                "memory_pools": self.memory_pool_limits(config), "compute_capabilities": caps}

    def layer_metadata(self, trt_layer) -> str | None:
        """``ILayer.metadata`` ("" when unset), or None where the version has none."""
        return getattr(trt_layer, "metadata", None)

    # -- precision per target ------------------------------------------------------
    def target_supports(self, target: str, dtype) -> bool | None:
        """Whether TensorRT-RTX can build ``dtype`` math for GPU architecture ``target``.

        Args:
            target: ``"sm75"`` ... ``"sm121"`` (as :meth:`set_targets` takes them).
            dtype: a TensorRT DataType name (``"BF16"``, ``"FP8"``, ``"FP4"``,
                ``"HALF"``, ``"INT8"``, ``"FLOAT"``), a netdsl DataType, or a
                ``--precision`` name (``"bf16"``, ``"fp8"`` ...).
        Returns:
            True or False from :data:`MIN_COMPUTE_CAPABILITY`; None when it
            cannot be told before the build (full TensorRT builds for the local
            GPU and ignores targets; ``current``; an unknown target name).
        """
        name = _dtype_name(dtype)
        if self.flavor != "rtx":
            return None
        match = re.fullmatch(r"SM(\d+)", str(target).strip().upper().replace("_", ""))
        if match is None:
            return None
        return int(match.group(1)) >= MIN_COMPUTE_CAPABILITY.get(name, 0)

    def check_targets_support(self, targets, dtypes, option: str = "network") -> None:
        """Refuse, before TensorRT runs, data types a chosen target lacks (:meth:`target_supports`).

        Args:
            targets: target names (as for :meth:`set_targets`).
            dtypes: DataType names / netdsl DataTypes / ``--precision`` names used.
            option: what asked for them, for the message (``"--precision fp8"``).
        Raises:
            EngineBuildError: one line naming the option, the TensorRT version,
                the target, and the targets that would do.
        """
        for dtype in dtypes:
            name = _dtype_name(dtype)
            for target in targets or ():
                if self.target_supports(target, name) is False:
                    need = MIN_COMPUTE_CAPABILITY[name]
                    able = [t for t in self.target_names() if int(t[2:]) >= need]
                    raise EngineBuildError(f"{option}: {self.label} cannot build {name} for target {target} "
                                           f"(needs compute capability >= {need // 10}.{need % 10}: "
                                           f"{', '.join(able) or 'none'}; TensorRT-RTX support matrix)")

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
                                       f"architecture(s) (targets=(\"sm86\",), or netdsl build --target sm86; "
                                       f"one of {', '.join(self.target_names())})")
            names = ["CURRENT"]
        if "CURRENT" in names and not has_local_gpu():
            raise EngineBuildError("target 'current' means this machine's GPU, and it has none; "
                                   f"choose one of {', '.join(self.target_names())}")
        config.num_compute_capabilities = len(names)
        for i, n in enumerate(names):
            if config.set_compute_capability(getattr(self.trt.ComputeCapability, n), i) is False:
                raise EngineBuildError(f"{self.label} refused target {n.lower()} (set_compute_capability)")
        return names

    @property
    def supports_progress_monitor(self) -> bool:
        """True where ``trt.IProgressMonitor`` exists (TensorRT >= 10.0, RTX; not 8.6)."""
        return hasattr(self.trt, "IProgressMonitor")

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

    # -- layers a flavor cannot build -------------------------------------------
    def has_runner(self, layer_type) -> bool:
        """Whether this TensorRT can build (has a runner for) a netdsl LayerType.

        False for NON_ZERO and NMS on TensorRT-RTX: its network API has
        ``add_non_zero`` / ``add_nms``, but its builder has no implementation
        ("has no runners that implement it", TensorRT-RTX 1.7.1). Full
        TensorRT builds both (INonZeroLayer and INMSLayer are in every
        version of the API file, 8.6.1 on).
        """
        return getattr(layer_type, "name", str(layer_type)) not in NO_RUNNER.get(self.flavor, ())

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

    Rules: :data:`MIN_COMPUTE_CAPABILITY` — FP8 needs sm89 or newer, FP4 sm120 (TensorRT-RTX's
    Blackwell target), BF16 sm80; other types run everywhere. ``"current"`` (this machine's GPU) is
    not judged here.
    """
    minimum = MIN_COMPUTE_CAPABILITY.get(dtype.name)
    if minimum is None or str(target).strip().lower() == "current":
        return None
    need = divmod(minimum, 10)
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
