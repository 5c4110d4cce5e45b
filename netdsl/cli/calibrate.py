"""``netdsl calibrate``: per-tensor amax of a model over a calibration set, as a JSON calibration file.

The reference executor runs the fp32 network over the images (``netdsl detect``'s preprocessing
at the model's input size, or ``--size``) or the ``.npz`` (or, for one input, ``.npy``) inputs, fed
in the input's dtype as they are; ``--method`` picks how amax is chosen from each tensor's
histogram (``netdsl.quantization.calibration``), with a warning per tensor whose amax clips more
than 1 % of its values. ``--cache`` also writes TensorRT's calibration-cache text for TensorRT <= 10's
legacy INT8 path.
"""
from __future__ import annotations

from .common import add_model_argument, add_param_argument, load_network


def add_inputs_arguments(p) -> None:
    """--images (directories and/or image files) or --inputs (.npz, or .npy for one input), and --size."""
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--images", nargs="+", metavar="DIR_OR_IMAGE",
                       help="image directories (every image in them, sorted by name) and/or image files")
    group.add_argument("--inputs", help=".npz with one array per network input (by input name), samples along axis "
                                        "0, in the input's dtype; or a .npy of a network's only input")
    p.add_argument("--size", help="network input size for images, SIZE or HEIGHTxWIDTH (default the model's "
                                  "input_size, or the input's static shape)")


def feeds_from_args(args, module, net) -> list:
    """The feeds ``--images`` / ``--inputs`` name, preprocessed for ``net``."""
    from ..detection.image import expand_images
    from ..graph.errors import NetdslError
    from ..quantization.calibration import image_feeds, npz_feeds
    from .common import checked_detection, input_size
    spec = checked_detection(args.model, module, net, images=not args.inputs)
    if args.inputs:
        return npz_feeds(args.inputs, net)
    paths = expand_images(args.images)
    if spec is not None:
        name, size = spec["input"], input_size(args.size, spec, net)
    else:
        if len(net.inputs) != 1 or net.inputs[0].ndim != 4:
            raise NetdslError(f"--images feeds one NCHW image input; network {net.name!r} has inputs "
                              f"{[t.name for t in net.inputs]} (use --inputs FILE.npz)")
        t = net.inputs[0]
        if args.size:
            size = input_size(args.size, {"input_size": tuple(t.shape[2:]), "input": t.name}, net)
        elif not all(isinstance(d, int) for d in t.shape[2:]):
            raise NetdslError(f"input {t.name!r} {t.shape} has a runtime size: give --size")
        else:
            size = tuple(t.shape[2:])
        name = t.name
    return image_feeds(paths, name, size)


def add_parser(sub) -> None:
    from ..quantization.calibration import METHODS
    p = sub.add_parser("calibrate", help="compute per-tensor amax over a calibration set (JSON calibration file)")
    add_model_argument(p)
    p.add_argument("--weights", required=True, help="netdsl HDF5 weight store")
    add_inputs_arguments(p)
    p.add_argument("--method", choices=METHODS, default="entropy",
                   help="how amax is chosen from each histogram (default entropy, TensorRT's)")
    p.add_argument("--percentile", type=float, default=99.99, help="for --method percentile (default 99.99)")
    p.add_argument("-o", "--output", required=True, help="calibration JSON file to write")
    p.add_argument("--cache", help="also write TensorRT's calibration cache (TRT-<version>-EntropyCalibration2)")
    p.add_argument("--cache-version", default="8.6.1", help="TensorRT version named in the cache header "
                                                               "(default 8.6.1)")
    add_param_argument(p)
    p.set_defaults(func=run)


def run(args) -> None:
    from ..files import check_output_path
    from ..quantization.calibration import calibrate, write_calibration_cache
    out = check_output_path(args.output)
    if args.cache:
        check_output_path(args.cache)
    module, net = load_network(args.model, args.weights, args.param)
    feeds = feeds_from_args(args, module, net)
    calibration = calibrate(net, feeds, args.method, percentile=args.percentile)
    calibration.save(out)
    print(f"wrote {out} ({len(calibration.amax)} tensors, {args.method}, {len(feeds)} samples)")
    if args.cache:
        write_calibration_cache(calibration, args.cache, args.cache_version)
        print(f"wrote {args.cache} (TensorRT calibration cache)")
