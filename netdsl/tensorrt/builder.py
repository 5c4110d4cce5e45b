"""Lower a netdsl Network to a TensorRT INetworkDefinition and build a serialized engine.

Source: TensorRT developer guide, "The Build Phase" (Builder, network
definition, builder config, ``build_serialized_network``), and the
TensorRT-RTX guide, "Ahead-of-time compilation" (compute capability targets).
"""
from __future__ import annotations

import inspect
import os
import warnings

from ..files import atomic_output, check_output_path, write_bytes_atomic
from ..graph.errors import NetworkDefinitionError, WeightsError
from ..graph.profiles import resolve_profiles
from .compat import TensorRTModule, has_local_gpu, load_tensorrt
from .errors import EngineBuildError
from .logger import NO_GPU_PROBE, gc_paused, make_logger
from .progress import make_progress_monitor, sigint_flag
from .lowering import LoweringContext, lower_layer


def _module(tensorrt) -> TensorRTModule:
    return tensorrt if isinstance(tensorrt, TensorRTModule) else load_tensorrt(tensorrt)


def _check_bound(network) -> None:
    """Raise WeightsError naming every weight still without a value."""
    names = list(network.unbound_weights())
    for layer in network.layers:
        for w in layer.weights.values():
            if w.value is None:
                missing = [s.name for s in getattr(w, "sources", ()) if not s.is_bound] or [w.name]
                names += [n for n in missing if n not in names]
    if names:
        raise WeightsError(f"network {network.name!r} has unbound weights: {', '.join(names)} "
                           f"(bind them with network.bind_weights or a weight store before building)")


@gc_paused()
def to_trt_network(network, tensorrt=None, *, strongly_typed: bool | None = None):
    """Lower every layer of ``network``, in order, into a new INetworkDefinition.

    Args:
        network: a netdsl Network with all weights bound and at least one output.
        tensorrt: a TensorRTModule, or ``"tensorrt"`` / ``"rtx"`` / None
            passed to :func:`load_tensorrt` as ``prefer``.
        strongly_typed: None (strongly typed where the version has it:
            TensorRT >= 10.0 and RTX), or force a choice; a weakly typed
            network gets its reduced precision from ``weak_typing_flags``
            when built by :func:`build_engine`.
    Returns:
        ``(builder, trt_network, keepalive)``: keepalive is the
        :class:`LoweringContext` (logger, weight arrays, tensor map); keep it
        referenced until the engine is built.
    Raises:
        WeightsError: unbound weights (all listed).
        NetworkDefinitionError: the network has no outputs.
        UnsupportedLayerError: a layer type without a lowering.
        EngineBuildError: TensorRT disagrees with netdsl on a shape or dtype.
        BackendUnavailableError: no TensorRT, or an enum the version lacks.
    """
    tm = _module(tensorrt)
    _check_bound(network)
    if not network.outputs:
        raise NetworkDefinitionError(f"network {network.name!r} has no outputs; call network.mark_output(tensor)")
    logger = make_logger(tm.trt, NO_GPU_PROBE if tm.flavor == "rtx" and not has_local_gpu() else ())
    builder = tm.trt.Builder(logger)
    strong = tm.supports_strong_typing if strongly_typed is None else bool(strongly_typed)
    trt_network = tm.create_network(builder, strongly_typed=strong)
    trt_network.name = network.name
    ctx = LoweringContext(tm, trt_network, logger, strongly_typed=(strong and tm.supports_strong_typing)
                          or tm.flavor == "rtx")
    for tensor in network.inputs:
        ctx.add_input(tensor)
    for layer in network.layers:
        lower_layer(ctx, layer)
    for tensor in network.outputs:
        trt_tensor = ctx.tensors[tensor]
        trt_tensor.name = tensor.name
        trt_network.mark_output(trt_tensor)
        ctx.outputs.append((trt_tensor, tensor))
    return builder, trt_network, ctx


def _verbose_sink(verbose):
    """``verbose`` (see :func:`build_engine`) -> (sink(severity, message), finish() or None), or (None, None)."""
    if verbose is None or verbose is False:
        return None, None
    if callable(verbose):
        return verbose, None
    if hasattr(verbose, "write"):
        def to_stream(severity, message):
            verbose.write(f"[{severity}] {message}\n")
        return to_stream, None
    path = check_output_path(verbose)
    lines: list[str] = []

    def to_lines(severity, message):
        lines.append(f"[{severity}] {message}\n")

    def finish():
        with atomic_output(path) as tmp:
            with open(tmp, "x", encoding="utf-8") as f:
                f.writelines(lines)
    return to_lines, finish


def _check_dtypes_for_targets(tm, network, targets) -> None:
    """Refuse, before TensorRT runs, a tensor type a target lacks (BF16 on sm75, FP8 before sm89 ...)."""
    seen = {}
    for t in list(network.inputs) + [o for layer in network.layers for o in layer.outputs]:
        seen.setdefault(t.dtype.name, t.name)
    for dtype, tensor in seen.items():
        tm.check_targets_support(targets, [dtype], option=f"network {network.name!r} (tensor {tensor!r} is {dtype})")


def build_engine(network, *, targets=None, workspace_bytes: int = 1 << 30, prefer: str | None = None,
                 tensorrt=None, progress=None, profiles=None, builder_optimization_level: int | None = None,
                 max_aux_streams: int | None = None, memory_pools: dict | None = None, timing_cache=None,
                 verbose=None, report: bool = False, release_weights: bool = False):
    """Build a serialized TensorRT engine (a plan) for ``network``.

    Ctrl-C during the build cancels it (through TensorRT's
    ``IProgressMonitor`` where the version has one, see
    ``netdsl.tensorrt.progress``) and raises KeyboardInterrupt; no engine is
    returned.

    The builder settings mirror trtexec's options (TensorRT developer guide,
    "trtexec"; TensorRT API reference, ``IBuilderConfig``); each is set
    through :class:`TensorRTModule` (version differences) and read back from
    the config, so a value TensorRT does not keep is an error, never a
    silent change.

    Args:
        network: netdsl Network, weights bound, outputs marked.
        targets: GPU architectures for TensorRT-RTX ahead-of-time builds
            (``"sm86"``, ``"sm89"``, ``"sm120"``, ``"current"`` ...; no GPU
            needed). None: this machine's GPU, an error where there is none.
            Full TensorRT builds for the local GPU and ignores them with a
            warning (see ``TensorRTModule.set_targets``). A tensor type a
            target cannot run (BF16 on sm75, FP8 before sm89, FP4 before
            sm120) is refused before TensorRT runs.
        workspace_bytes: builder workspace limit in bytes (> 0); a
            ``"workspace"`` entry of ``memory_pools`` replaces it.
        prefer: ``"rtx"``, ``"tensorrt"`` or None (see :func:`load_tensorrt`).
        tensorrt: a TensorRTModule to use instead of ``prefer``.
        progress: optional ``ProgressReporter`` (``netdsl.tensorrt.progress``)
            told of TensorRT's build phases and steps.
        profiles: optimization profiles (``netdsl.graph.profiles.OptimizationProfile``
            or ``{input: (min, opt, max)}``), required when the network has
            runtime dimensions; checked completely (every layer's shape
            requirement at each min, opt and max) before TensorRT is called.
        builder_optimization_level: 0-5 (TensorRT's default 3), trtexec
            ``--builderOptimizationLevel``; None leaves TensorRT's default.
        max_aux_streams: auxiliary CUDA streams the engine may run
            independent branches on (0: one stream), trtexec
            ``--maxAuxStreams``; None leaves the choice to TensorRT.
        memory_pools: ``{pool: limit in bytes}``, pools named as trtexec's
            ``--memPoolSize`` (``workspace``, ``tacticSharedMem``, ``dlaSRAM``,
            ``dlaLocalDRAM``, ``dlaGlobalDRAM``) or as ``trt.MemoryPoolType``
            in lower case (``tactic_dram``).
        timing_cache: path of a timing cache file (trtexec
            ``--timingCacheFile``): read when it exists, written atomically
            after a successful build. TensorRT-RTX ignores timing caches (its
            calls are no-ops since 1.2): there it warns and touches no file.
        verbose: TensorRT's whole log (VERBOSE included): a callable
            ``(severity, message)``, a text stream (``[SEVERITY] message``
            lines), or a path written atomically once the build ends (also
            when it fails).
        report: also return the build report (:mod:`netdsl.tensorrt.report`):
            the build then runs with ``ProfilingVerbosity.DETAILED`` (layer
            names, tactics and metadata kept in the engine, as trtexec's
            ``--profilingVerbosity=detailed``). Each of its warnings (a layer
            asked to run quantized that TensorRT runs in a wider type) is
            also issued as a ``UserWarning``.
        release_weights: once the network is lowered, unbind its weights
            (``Network.release_weights``), so the arrays TensorRT does not
            build from are freed before the build instead of adding to its
            peak memory: with batch norm folded into the convolutions (the
            darknet zoo), TensorRT gets folded copies and the kernels read
            from the weight file are no longer needed — one copy of the
            weights in memory during the build instead of two. The network
            is then left without weights (also when the build fails). For
            callers done with it, such as ``netdsl build``.
    Returns:
        the engine as bytes; with ``report=True``, ``(engine bytes, report dict)``.
    Raises:
        EngineBuildError: TensorRT returned no engine (message holds its
            logged errors), a bad target list, a workspace <= 0, a builder
            setting out of range or not kept by TensorRT, a timing cache
            TensorRT refuses, or a tensor type a target lacks.
        BackendUnavailableError: a setting this TensorRT version lacks
            (the message names the version that added it).
        OutputPathError: ``timing_cache`` or a ``verbose`` path cannot be written.
        ProfileError, ShapeError: a missing or malformed profile, or shapes
            in it that a layer cannot take.
        KeyboardInterrupt: Ctrl-C during the build.
        and the errors of :func:`to_trt_network`.
    """
    serialized, built = _build(**locals())
    engine = bytes(memoryview(serialized))
    del serialized  # TensorRT's copy of the plan
    return (engine, built) if report else engine


@gc_paused()
def _build(network, *, targets, workspace_bytes, prefer, tensorrt, progress, profiles, builder_optimization_level,
           max_aux_streams, memory_pools, timing_cache, verbose, report, release_weights):
    """:func:`build_engine`'s work: ``(TensorRT's serialized plan (IHostMemory), report dict or None)``."""
    if not isinstance(workspace_bytes, int) or isinstance(workspace_bytes, bool) or workspace_bytes <= 0:
        raise EngineBuildError(f"workspace must be a positive number of bytes, found {workspace_bytes!r}")
    resolved = resolve_profiles(network, profiles)
    tm = _module(tensorrt if tensorrt is not None else prefer)
    targets = list(targets or ())
    _check_dtypes_for_targets(tm, network, targets)
    cache_path = None
    if timing_cache is not None:
        if tm.timing_cache_is_noop:
            warnings.warn(f"timing cache {os.fspath(timing_cache)}: {tm.label} ignores timing caches (its "
                          f"timing cache calls are no-ops); nothing is read or written", stacklevel=4)
        else:
            cache_path = check_output_path(timing_cache)
    sink, finish = _verbose_sink(verbose)
    builder, trt_network, ctx = to_trt_network(network, tm)
    if release_weights:
        network.release_weights()  # ctx.arrays keeps what TensorRT points into
    if sink is not None:
        ctx.logger.attach(sink)
    try:
        config = builder.create_builder_config()
        tm.add_optimization_profiles(builder, config, network, resolved)
        tm.set_workspace(config, workspace_bytes)
        if memory_pools:
            tm.set_memory_pool_limits(config, dict(memory_pools), ctx.logger)
        if builder_optimization_level is not None:
            tm.set_builder_optimization_level(config, builder_optimization_level, ctx.logger)
        if max_aux_streams is not None:
            tm.set_max_aux_streams(config, max_aux_streams, ctx.logger)
        if report:
            tm.set_profiling_verbosity(config, "DETAILED")
        if cache_path is not None:
            data = b""
            if os.path.exists(cache_path):
                with open(cache_path, "rb") as f:
                    data = f.read()
            tm.set_timing_cache(config, data)
        tm.set_targets(config, targets)
        if not ctx.strongly_typed:
            tm.weak_typing_flags(config, ctx.layers, ctx.outputs)
        with sigint_flag() as interrupted:
            monitor = make_progress_monitor(tm.trt, interrupted, progress) if tm.supports_progress_monitor else None
            if monitor is not None:
                tm.set_progress_monitor(config, monitor)
            serialized = builder.build_serialized_network(trt_network, config)
            if interrupted():
                serialized = None  # the finally of sigint_flag raises KeyboardInterrupt
    finally:
        if finish is not None:
            finish()
    if serialized is None:
        errors = ctx.logger.errors()
        detail = " | ".join(errors) if errors else "TensorRT logged no error"
        raise EngineBuildError(f"{tm.label} could not build network {network.name!r} "
                               f"(targets {targets}): {detail}")
    if cache_path is not None:
        write_bytes_atomic(cache_path, tm.timing_cache_bytes(config))
    # ctx (holding the weight arrays TensorRT points into) lived until here, past the build.
    if not report:
        return serialized, None
    from .report import report_from_log
    summary = tm.builder_config_summary(config)
    # per optimization profile, the runtime dimensions' min/opt/max ({"min": {"batch": 1, ...}, ...})
    summary["profiles"] = [{end: dict(binding) for end, binding in profile.items()} for profile in resolved]
    summary["timing_cache"] = None if timing_cache is None else {
        "path": os.fspath(timing_cache), "used": cache_path is not None}
    built = report_from_log(ctx.logger.messages, network, tensorrt=tm.label, targets=targets, config=summary)
    for line in built["warnings"]:
        warnings.warn(line, stacklevel=4)
    return serialized, built


def save_engine(network, path, **kwargs) -> str:
    """Build an engine (:func:`build_engine` with ``kwargs``) and write it to ``path`` atomically.

    The path is checked before building (so a bad path fails at once); the
    engine goes to a temporary file in the same directory, then
    ``os.replace`` puts it in place (``netdsl.files.atomic_output``), so
    ``path`` is either the old file or the complete new one — also when the
    build is interrupted with Ctrl-C.

    Returns:
        ``path`` as a string (its size is the engine's, ``os.path.getsize``);
        with ``report=True``, ``(path, report dict)``.
    Raises:
        OutputPathError: ``path`` is a directory, or its directory is
            missing or not writable (nothing is built or written).
        and the errors of :func:`build_engine`.
    """
    path = check_output_path(path)
    try:
        arguments = inspect.signature(build_engine).bind(network, **kwargs)
    except TypeError as exc:
        raise TypeError(f"save_engine() {exc}") from None
    arguments.apply_defaults()
    serialized, report = _build(**arguments.arguments)
    write_bytes_atomic(path, memoryview(serialized))  # straight from TensorRT's buffer: no copy of the plan
    del serialized
    return (path, report) if kwargs.get("report") else path
