"""``netdsl build``: a model and its HDF5 weights -> a TensorRT engine (plan) file.

Builder options carry trtexec's names (``--builderOptimizationLevel`` ->
``--builder-optimization-level``, ``--maxAuxStreams``, ``--timingCacheFile``
-> ``--timing-cache``, ``--memPoolSize``, ``--verbose``); ``--report`` writes
the build report of :mod:`netdsl.tensorrt.report` (JSON, atomically).
"""
from __future__ import annotations

import os
import sys

from .common import (add_model_argument, add_param_argument, add_shape_arguments, cli_profiles, load_network,
                     nonnegative_int, parse_mem_pool_size, positive_int)

PRECISIONS = ("fp32", "fp16", "bf16", "int8", "fp8")


def add_parser(sub) -> None:
    p = sub.add_parser("build", help="build a TensorRT engine (plan) from a model and HDF5 weights")
    add_model_argument(p)
    p.add_argument("--weights", required=True, help="netdsl HDF5 weight store")
    p.add_argument("--target", action="append", default=None,
                   help="TensorRT-RTX target GPU architecture, e.g. sm86 (repeatable, or comma-separated: "
                        "sm86,sm89). Default: this machine's GPU; required on a machine without one")
    p.add_argument("--workspace", type=positive_int, default=None,
                   help="builder workspace limit in MiB (default 1024); same as --mem-pool-size workspace:N")
    p.add_argument("--mem-pool-size", metavar="POOL:SIZE[,...]",
                   help="memory pool limits, trtexec's --memPoolSize syntax: sizes in MiB or with a B/K/M/G "
                        "suffix; pools workspace, tacticSharedMem, tactic_dram, dlaSRAM, dlaLocalDRAM, "
                        "dlaGlobalDRAM (e.g. workspace:512,tactic_dram:2048)")
    p.add_argument("--builder-optimization-level", type=nonnegative_int, metavar="N",
                   help="0 (fastest build) to 5 (most tactics tried); TensorRT's default is 3")
    p.add_argument("--max-aux-streams", type=nonnegative_int, metavar="N",
                   help="auxiliary CUDA streams the engine may run independent branches on (0: one stream "
                        "only); default: TensorRT decides")
    p.add_argument("--timing-cache", metavar="FILE",
                   help="timing cache file: read if present, written after the build (ignored, with a "
                        "warning, by TensorRT-RTX, whose timing cache calls are no-ops)")
    p.add_argument("--precision", choices=PRECISIONS, default="fp32",
                   help="compute precision: casts (fp16, bf16) or Q/DQ pairs (int8, fp8) placed in the network "
                        "by netdsl.quantization.apply_precision (default fp32: the network as written)")
    p.add_argument("--calibration", metavar="FILE", help="calibration file for --precision int8 / fp8")
    p.add_argument("--exclude", action="append", default=[], metavar="PATTERN",
                   help="layers (name pattern) --precision leaves in fp32 (repeatable)")
    p.add_argument("--report", metavar="FILE",
                   help="write the build report as JSON: every fused kernel with the netdsl layers it covers, "
                        "its kind, data types and stream; convolutions per precision; quantization warnings")
    p.add_argument("--verbose", nargs="?", const="-", default=None, metavar="FILE",
                   help="TensorRT's verbose log: on stderr as 'netdsl: tensorrt: ...' lines, or to FILE with "
                        "--verbose=FILE; with --report, also the report as a table on stderr")
    p.add_argument("-o", "--output", required=True, help="engine file to write")
    add_param_argument(p)
    add_shape_arguments(p)
    p.set_defaults(func=run)


def _stderr_sink(severity, message):
    for line in str(message).split("\n"):
        print(f"netdsl: tensorrt: [{severity}] {line}", file=sys.stderr)


def apply_cli_precision(args, net):
    """``--precision`` / ``--calibration`` / ``--exclude``: the network to build.

    Checks the targets first (a type a target lacks fails before TensorRT or
    the precision pass runs), then calls
    ``netdsl.quantization.apply_precision`` (imported only when needed).

    Raises:
        NetdslError: --calibration / --exclude without a reduced precision,
            and the errors of ``apply_precision``.
        EngineBuildError: a precision a target cannot run (``TensorRTModule.check_targets_support``).
    """
    from ..graph.errors import NetdslError
    if args.precision == "fp32":
        for option, value in (("--calibration", args.calibration), ("--exclude", args.exclude)):
            if value:
                raise NetdslError(f"{option} needs --precision fp16, bf16, int8 or fp8, found --precision fp32")
        return net
    from ..tensorrt import load_tensorrt
    tm = load_tensorrt()
    tm.check_targets_support(args.target or (), [args.precision], option=f"--precision {args.precision}")
    from ..quantization import apply_precision
    targets = args.target or ()
    return apply_precision(net, args.precision, calibration=args.calibration, exclude=tuple(args.exclude),
                           target=targets[0] if len(targets) == 1 else None)


def run(args) -> None:
    from ..files import check_output_path
    from ..graph.errors import NetdslError
    from ..tensorrt import save_engine
    from ..tensorrt.report import count_summary, format_table, write_report
    from .progress import build_progress
    if args.target:  # --target sm86,sm89 as --target sm86 --target sm89
        args.target = [t.strip() for value in args.target for t in value.split(",") if t.strip()]
    out = check_output_path(args.output)
    report_path = check_output_path(args.report) if args.report else None
    pools = parse_mem_pool_size(args.mem_pool_size) if args.mem_pool_size else {}
    if args.workspace is not None and any(p.lower() == "workspace" for p in pools):
        raise NetdslError("give the workspace limit once: --workspace or --mem-pool-size workspace:..., not both")
    verbose = None
    if args.verbose == "-":
        verbose = _stderr_sink
    elif args.verbose is not None:
        verbose = check_output_path(args.verbose)
    module, net = load_network(args.model, args.weights, args.param)
    net = apply_cli_precision(args, net)
    profiles = cli_profiles(args, net, module)
    options = dict(targets=tuple(args.target or ()), workspace_bytes=(args.workspace or 1024) << 20,
                   profiles=profiles, memory_pools=pools or None,
                   builder_optimization_level=args.builder_optimization_level,
                   max_aux_streams=args.max_aux_streams, timing_cache=args.timing_cache, verbose=verbose,
                   report=report_path is not None,
                   release_weights=True)  # the command needs no weights after lowering: peak memory as a raw build
    with build_progress(sys.stderr if verbose is not _stderr_sink else None) as progress:
        built = save_engine(net, out, progress=progress, **options)
    print(f"wrote {out} ({os.path.getsize(out):,} bytes)")
    if report_path is not None:
        _, report = built
        write_report(report_path, report)
        if args.verbose is not None:
            print(format_table(report), file=sys.stderr)
        print(f"wrote {report_path} ({count_summary(report)})")  # as the report's table counts them
