"""The ``netdsl`` command line: convert, build, detect, inspect.

Every failure prints one line ``netdsl: error: ...`` on stderr and exits
with status 1 (2 for usage errors); no partial output file is left behind.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .graph.errors import NetdslError


def _output_path(path: str) -> Path:
    out = Path(path)
    if not out.parent.is_dir():
        raise NetdslError(f"{out}: output directory {out.parent} does not exist")
    return out


def cmd_convert(args) -> None:
    from .weights import convert_darknet
    out = _output_path(args.output)
    summary = convert_darknet(args.cfg, args.weights, out)
    print(f"wrote {out}: {summary}")


def _network_with_weights(model_spec: str, weights: str):
    from models import load_model
    from .weights import load_weights
    module = load_model(model_spec)
    net = module.build_network()
    load_weights(net, weights)
    return module, net


def cmd_build(args) -> None:
    from .tensorrt import save_engine
    out = _output_path(args.output)
    _, net = _network_with_weights(args.model, args.weights)
    size = save_engine(net, out, targets=tuple(args.target), workspace_bytes=args.workspace << 20)
    print(f"wrote {out} ({size} bytes)" if isinstance(size, int) else f"wrote {out}")


def _runner(backend: str, net):
    if backend == "reference":
        from .reference import execute
        return lambda feeds: execute(net, feeds)
    from .tensorrt import EngineRunner, build_engine
    runner = EngineRunner(build_engine(net))
    return runner


def cmd_detect(args) -> None:
    from .detection import detect_from_outputs, load_image, preprocess
    module, net = _network_with_weights(args.model, args.weights)
    spec = getattr(module, "DETECTION", None)
    if spec is None:
        raise NetdslError(f"model {args.model!r} is not a detector (it defines no DETECTION)")
    out_dir = Path(args.out) if args.out else None
    if out_dir is not None and not out_dir.is_dir():
        raise NetdslError(f"{out_dir}: output directory does not exist")
    images = [(path, load_image(path)) for path in args.images]  # every image decodes before any output
    run = _runner(args.backend, net)
    height, width = spec["input_size"]
    results = []
    for path, image in images:
        outputs = run({spec["input"]: preprocess(image, (height, width))})
        scale = (image.shape[1] / width, image.shape[0] / height)
        found = detect_from_outputs(outputs[spec["boxes"]][0], outputs[spec["scores"]][0], spec["class_names"],
                                    args.conf, args.nms, scale)
        results.append((path, image, found))
    if out_dir is not None:
        from .detection.draw import draw_detections
        for path, image, found in results:
            draw_detections(image, found, out_dir / Path(path).name)
    if args.json:
        print(json.dumps([d.as_dict(str(path)) for path, _, found in results for d in found]))
        return
    for path, _, found in results:
        print(f"{path}: {len(found)} objects")
        for d in found:
            box = ", ".join(f"{v:.0f}" for v in d.box)
            print(f"  {d.class_name:<14} {d.confidence:.3f}  [{box}]")


def cmd_inspect(args) -> None:
    from models import load_model
    net = load_model(args.model).build_network()
    print(net)
    for t in net.inputs:
        print(f"input   {t.name} {list(t.shape)} {t.dtype.name}")
    for layer in net.layers:
        outs = ", ".join(f"{t.name} {list(t.shape)} {t.dtype.name}" for t in layer.outputs)
        print(f"layer   {layer.name} {layer.type.name} -> {outs}")
        if args.weights:
            for role, w in layer.weights.items():
                print(f"weights {w.name} {list(w.shape)} {w.dtype.name}")
    for t in net.outputs:
        print(f"output  {t.name} {list(t.shape)} {t.dtype.name}")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="netdsl", description="TensorRT networks written as Python code.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("convert", help="convert trained weights to netdsl HDF5")
    fmt = p.add_subparsers(dest="format", required=True)
    d = fmt.add_parser("darknet", help="darknet .cfg + .weights -> HDF5")
    d.add_argument("--cfg", required=True)
    d.add_argument("--weights", required=True)
    d.add_argument("-o", "--output", required=True)
    d.set_defaults(func=cmd_convert)

    p = sub.add_parser("build", help="build a TensorRT engine (plan) from a model and HDF5 weights")
    p.add_argument("model", help="model name (e.g. yolov3-tiny) or path to a DSL .py file")
    p.add_argument("--weights", required=True)
    p.add_argument("--target", action="append", default=None,
                   help="TensorRT-RTX target compute capability, e.g. sm86 (repeatable; default sm86)")
    p.add_argument("--workspace", type=int, default=1024, help="workspace limit in MiB (default 1024)")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("detect", help="run a detector on images and print detections")
    p.add_argument("model")
    p.add_argument("--weights", required=True)
    p.add_argument("images", nargs="+")
    p.add_argument("--backend", choices=("reference", "tensorrt"), default="reference")
    p.add_argument("--conf", type=float, default=0.25, help="confidence threshold (default 0.25)")
    p.add_argument("--nms", type=float, default=0.45, help="NMS IoU threshold (default 0.45)")
    p.add_argument("--json", action="store_true", help="print one JSON list on stdout")
    p.add_argument("--out", help="directory to write images with boxes drawn")
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser("inspect", help="print a model's layers, tensors and weights")
    p.add_argument("model")
    p.add_argument("--weights", action="store_true", help="also list declared weights")
    p.set_defaults(func=cmd_inspect)
    return parser


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    if getattr(args, "target", None) is None and args.command == "build":
        args.target = ["sm86"]
    try:
        args.func(args)
    except NetdslError as exc:
        print(f"netdsl: error: {exc}".replace("\n", " "), file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"netdsl: error: {exc}".replace("\n", " "), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
