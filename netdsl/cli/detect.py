"""``netdsl detect``: run a detector on images and print (or draw) its detections."""
from __future__ import annotations

import json
from pathlib import Path

from .common import add_model_argument, add_param_argument, input_size, load_network, probability


def add_parser(sub) -> None:
    p = sub.add_parser("detect", help="run a detector on images and print detections")
    add_model_argument(p)
    p.add_argument("--weights", required=True, help="netdsl HDF5 weight store")
    p.add_argument("images", nargs="+", help="image files")
    p.add_argument("--backend", choices=("reference", "tensorrt"), default="reference",
                   help="reference (NumPy, CPU; default) or tensorrt (needs a GPU)")
    p.add_argument("--conf", type=probability, default=0.25, help="confidence threshold in [0, 1] (default 0.25)")
    p.add_argument("--nms", type=probability, default=0.45, help="NMS IoU threshold in [0, 1] (default 0.45)")
    p.add_argument("--json", action="store_true", help="print one JSON list on stdout")
    p.add_argument("--out", help="directory to write images with boxes drawn (created if missing)")
    p.add_argument("--size", help="network input size in pixels, SIZE or HEIGHTxWIDTH (multiples of the model's "
                                  "stride; default the model's input_size)")
    add_param_argument(p)
    p.set_defaults(func=run)


def _runner(backend: str, net):
    if backend == "reference":
        from ..reference import execute
        return lambda feeds: execute(net, feeds)
    from ..tensorrt import EngineRunner, build_engine
    return EngineRunner(build_engine(net))


def run(args) -> None:
    from ..detection import detect_from_outputs, load_image, preprocess
    from ..graph.errors import NetdslError
    module, net = load_network(args.model, args.weights, args.param)
    spec = getattr(module, "DETECTION", None)
    if spec is None:
        raise NetdslError(f"model {args.model!r} is not a detector (it defines no DETECTION)")
    out_dir = Path(args.out) if args.out else None
    if out_dir is not None and not out_dir.is_dir():
        raise NetdslError(f"{out_dir}: output directory does not exist")
    images = [(path, load_image(path)) for path in args.images]  # every image decodes before any output
    run_net = _runner(args.backend, net)
    height, width = input_size(args.size, spec, net)
    results = []
    for path, image in images:
        outputs = run_net({spec["input"]: preprocess(image, (height, width))})
        scale = (image.shape[1] / width, image.shape[0] / height)
        found = detect_from_outputs(outputs[spec["boxes"]][0], outputs[spec["scores"]][0], spec["class_names"],
                                    args.conf, args.nms, scale)
        results.append((path, image, found))
    if out_dir is not None:
        from ..detection.draw import draw_detections
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
