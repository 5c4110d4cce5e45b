"""``netdsl detect``: run a detector on images and print (or draw) its detections.

Order of work:

1. check every input's header (format, pixel budget, frames, mode, complete
   structure; no pixel decoding) and the ``--out`` directory: a bad input
   stops the run before anything is printed or written;
2. load the network;
3. stream: for each image, decode -> infer -> print (text form) / stage the
   drawn image -> release it, so one decoded image is held at a time; a
   progress bar is drawn on stderr when there are more than three images and
   stderr is a terminal;
4. with ``--json``, print the collected detections as one list; with
   ``--out``, rename the staged drawn images into place — only now, so a
   failed or interrupted run writes no file (naming rule:
   :mod:`netdsl.detection.output`, ``docs/images.md``).
"""
from __future__ import annotations

import contextlib
import json
import sys

from .common import (add_model_argument, add_param_argument, checked_detection, input_size, load_network,
                     positive_int, probability)


def add_parser(sub) -> None:
    from ..detection.image_header import DEFAULT_MAX_PIXELS
    p = sub.add_parser("detect", help="run a detector on images and print detections")
    add_model_argument(p)
    p.add_argument("--weights", required=True, help="netdsl HDF5 weight store")
    p.add_argument("images", nargs="+", help="image files (JPEG, PNG, GIF, WebP, TIFF, BMP) and/or directories "
                                             "(every image directly in them, sorted by name)")
    p.add_argument("--backend", choices=("reference", "tensorrt"), default="reference",
                   help="reference (NumPy, CPU; default) or tensorrt (needs a GPU)")
    p.add_argument("--conf", type=probability, default=0.25, help="confidence threshold in [0, 1] (default 0.25)")
    p.add_argument("--nms", type=probability, default=0.45, help="NMS IoU threshold in [0, 1] (default 0.45)")
    p.add_argument("--json", action="store_true", help="print one JSON list on stdout")
    p.add_argument("--out", help="directory to write images with boxes drawn (created if missing); "
                                 "JPEG inputs give .jpg, others .png, same-named inputs get -2, -3, ...")
    p.add_argument("--max-pixels", type=positive_int, default=DEFAULT_MAX_PIXELS,
                   help=f"largest image (width x height) to decode, checked before decoding "
                        f"(default {DEFAULT_MAX_PIXELS:,})")
    p.add_argument("--size", help="network input size in pixels, SIZE or HEIGHTxWIDTH (multiples of the model's "
                                  "stride; default the model's input_size)")
    p.add_argument("--names", help="class names file, one per line (darknet .names); default: the model's own "
                                   "(a darknet .cfg with classes=80: COCO's)")
    add_param_argument(p)
    p.set_defaults(func=run)


def _runner(backend: str, net, input_name: str, size):
    """The reference executor, or an engine built for this machine's GPU at batch 1 and ``size``."""
    if backend == "reference":
        from ..reference import execute
        return lambda feeds: execute(net, feeds)
    from ..graph.errors import NetdslError
    from ..tensorrt import EngineRunner, build_engine
    from ..tensorrt.compat import has_local_gpu
    if not has_local_gpu():
        raise NetdslError("--backend tensorrt builds and runs an engine on this machine's GPU, and it has none: "
                          "use --backend reference (NumPy), or netdsl build --target smXX for another machine")
    shape = (1, 3, *size)
    profiles = [] if net.is_static else [{input_name: (shape, shape, shape)}]
    return EngineRunner(build_engine(net, profiles=profiles))


def _text(path, found) -> str:
    lines = [f"{path}: {len(found)} object{'' if len(found) == 1 else 's'}"]
    for d in found:
        box = ", ".join(f"{v:.0f}" for v in d.box)
        lines.append(f"  {d.class_name:<14} {d.confidence:.3f}  [{box}]")
    return "\n".join(lines)


def run(args) -> None:
    from ..detection import draw, image, output
    from ..detection.nms import detect_from_outputs
    from ..detection.preprocess import preprocess
    from ..graph.errors import NetdslError
    from .progress import ItemProgress

    out_dir = output.check_output_dir(args.out) if args.out else None
    args.images = image.expand_images(args.images)  # a directory: its images, sorted by name
    headers = [image.read_header(path, args.max_pixels) for path in args.images]
    names = None
    if out_dir is not None:
        names = output.output_names([(h.path, h.format) for h in headers])
        output.check_not_inputs(out_dir, names, args.images)
        formats = [output.output_format(h.format)[0] for h in headers]

    class_names = None
    if args.names:
        from ..frameworks.darknet.model import read_names
        class_names = read_names(args.names)
    module, net = load_network(args.model, args.weights, args.param, class_names)
    spec = checked_detection(args.model, module, net)
    if spec is None:
        raise NetdslError(f"model {args.model!r} is not a detector (it defines no DETECTION)")
    if class_names is not None:
        classes = net.tensor(spec["scores"]).shape[-1]
        if len(class_names) != classes:
            raise NetdslError(f"--names {args.names}: holds {len(class_names)} names, the model scores {classes} "
                              f"classes")
        spec = dict(spec, class_names=class_names)
    height, width = input_size(args.size, spec, net)
    run_net = _runner(args.backend, net, spec["input"], (height, width))

    results = []
    staging = output.StagedOutputs(out_dir) if out_dir is not None else contextlib.nullcontext()
    with ItemProgress(len(headers), sys.stderr, "detect images") as progress, staging as staged:
        for i, header in enumerate(headers):
            pixels = image.load_image(header.path, args.max_pixels)
            outputs = run_net({spec["input"]: preprocess(pixels, (height, width))})
            h, w = pixels.shape[:2]
            found = detect_from_outputs(outputs[spec["boxes"]][0], outputs[spec["scores"]][0], spec["class_names"],
                                        args.conf, args.nms, (w / width, h / height), image_size=(w, h))
            del outputs
            if staged is not None:
                staged.write(draw.render_detections(pixels, found), names[i], formats[i])
            del pixels  # one decoded image at a time
            if args.json:
                results.extend(d.as_dict(str(args.images[i])) for d in found)
            else:
                progress.echo(_text(args.images[i], found), sys.stdout)
            progress.advance()
    if args.json:
        print(json.dumps(results))
