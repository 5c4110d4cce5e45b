"""``netdsl quantize``: simulate a quantized model against fp32 before building an engine.

The network is rebuilt for ``--precision`` (``netdsl.quantization.apply_precision``) and both run
in the reference executor on held-out inputs; per output the error against fp32 is printed, and
for a detector the detection agreement. ``--sweep`` quantizes all but one layer at a time, and all
but the layers reading each shared quantized tensor (a residual block's input), and names the most
sensitive layers and tensors; ``--target-agreement`` excludes them one by one until the agreement is
reached and prints the ``--exclude`` options that got there (or says that it took every quantized
layer).
"""
from __future__ import annotations

from .calibrate import add_inputs_arguments, feeds_from_args
from .common import add_model_argument, add_param_argument, load_network, probability


def add_parser(sub) -> None:
    from ..quantization.passes import PRECISIONS
    p = sub.add_parser("quantize", help="simulate a quantized model against fp32 on held-out inputs")
    add_model_argument(p)
    p.add_argument("--weights", required=True, help="netdsl HDF5 weight store")
    p.add_argument("--calibration", help="calibration JSON (netdsl calibrate); required for int8 and fp8")
    add_inputs_arguments(p)
    p.add_argument("--precision", choices=PRECISIONS, default="int8", help="precision to simulate (default int8)")
    p.add_argument("--exclude", action="append", default=[], metavar="PATTERN",
                   help="layer name glob kept in float (repeatable)")
    p.add_argument("--target", help="GPU architecture the engine is for (e.g. sm86), to refuse what it cannot run")
    p.add_argument("--sweep", action="store_true",
                   help="rank layers by sensitivity (all but one quantized), and shared tensors (all but their "
                        "readers quantized)")
    p.add_argument("--target-agreement", type=probability, default=None,
                   help="with --sweep: exclude the most sensitive layers (or a shared tensor's readers) until "
                        "this agreement is reached")
    p.add_argument("--conf", type=probability, default=0.25, help="detection confidence threshold (default 0.25)")
    p.add_argument("--nms", type=probability, default=0.45, help="NMS IoU threshold (default 0.45)")
    add_param_argument(p)
    p.set_defaults(func=run)


def run(args) -> None:
    from ..graph.errors import NetdslError
    from ..quantization import apply_precision, evaluate, load_calibration, sensitivity_sweep
    if args.target_agreement is not None and not args.sweep:
        raise NetdslError("--target-agreement needs --sweep")
    calibration = load_calibration(args.calibration) if args.calibration else None
    module, net = load_network(args.model, args.weights, args.param)
    feeds = feeds_from_args(args, module, net)
    detection = getattr(module, "DETECTION", None)  # checked by feeds_from_args (common.checked_detection)
    quantized = apply_precision(net, args.precision, calibration=calibration, exclude=tuple(args.exclude),
                                target=args.target)
    report = evaluate(net, quantized, feeds, detection, conf=args.conf, nms=args.nms)
    print(f"{args.precision} vs fp32:")
    print("\n".join(f"  {line}" for line in report.lines()))
    if args.sweep:
        if args.precision not in ("int8", "fp8"):
            raise NetdslError(f"--sweep quantizes layers one at a time: use --precision int8 or fp8, "
                              f"found {args.precision}")
        result = sensitivity_sweep(net, args.precision, calibration, feeds, detection,
                                   target_agreement=args.target_agreement, exclude=tuple(args.exclude),
                                   target=args.target, conf=args.conf, nms=args.nms)
        print("\n".join(result.lines()))
        if args.target_agreement is not None:
            options = " ".join(f"--exclude {name}" for name in list(args.exclude) + result.excluded)
            reached = result.final.agreement.f1 >= args.target_agreement
            if result.excluded_everything:
                print(f"{'reached' if reached else 'did not reach'} agreement {args.target_agreement:g} only with "
                      f"every quantized layer excluded: nothing is left in {args.precision} (try another "
                      f"calibration --method, or a lower --target-agreement)")
            else:
                print(f"{'reached' if reached else 'did not reach'} agreement {args.target_agreement:g}"
                      + (f": {options}" if options else ""))
