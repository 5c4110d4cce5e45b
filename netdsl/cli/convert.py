"""``netdsl convert``: trained weights -> a netdsl HDF5 weight store.

* ``darknet``: a darknet .cfg + .weights (the cfg is the network).
* ``torch`` (``.pt``/``.pth``/``.bin`` state dicts, ``.safetensors``), ``wts`` (tensorrtx) and ``onnx``
  (initializers): into the declared weights of MODEL (a zoo name or a DSL .py file, built with
  ``--param``), by the importers' rules (docs/porting_pytorch.md, docs/porting_onnx.md); ``--map`` is a
  JSON object {netdsl scope (glob): source module path or ONNX node name}.
"""
from __future__ import annotations

from .common import add_model_argument, add_param_argument


def add_parser(sub) -> None:
    p = sub.add_parser("convert", help="convert trained weights to a netdsl HDF5 store")
    fmt = p.add_subparsers(dest="format", required=True)
    d = fmt.add_parser("darknet", help="darknet .cfg + .weights -> HDF5")
    d.add_argument("--cfg", required=True, help="darknet .cfg of the network")
    d.add_argument("--weights", required=True, help="darknet .weights file")
    d.add_argument("-o", "--output", required=True, help="HDF5 file to write")
    d.set_defaults(func=run)
    for name, what in (("torch", "a PyTorch state dict (.pt, .pth, .bin) or .safetensors"),
                       ("wts", "a tensorrtx .wts file (torch state-dict names)"),
                       ("onnx", "an ONNX model's initializers")):
        f = fmt.add_parser(name, help=f"{what} -> HDF5, into MODEL's declared weights",
                           description=f"Import {what} into the weights MODEL declares (strict: every source "
                                       "tensor taken, every weight filled, shapes checked; one error listing all "
                                       "problems) and write them as a netdsl HDF5 store.")
        add_model_argument(f)
        f.add_argument("--weights", required=True, help=f"the {name} file")
        f.add_argument("-o", "--output", required=True, help="HDF5 file to write")
        f.add_argument("--map", help="JSON object {netdsl scope, '*'/'**' globs allowed: source module path} for "
                                     "scopes named differently from the source's modules")
        f.add_argument("--ignore", action="append", default=[], metavar="PATTERN",
                       help="source tensor names to skip on purpose (glob, repeatable)")
        if name == "torch":
            f.add_argument("--key", help="the checkpoint entry holding the state dict (e.g. state_dict)")
        if name == "onnx":
            f.add_argument("--by", choices=("name", "order"), default="name",
                           help="match netdsl scopes to ONNX nodes by name (with --map) or by order of the "
                                "weight-bearing nodes (docs/porting_onnx.md)")
        add_param_argument(f)
        f.set_defaults(func=run_framework)


def run(args) -> None:
    from ..files import check_output_path
    from ..frameworks.darknet import convert_darknet
    out = check_output_path(args.output)
    summary = convert_darknet(args.cfg, args.weights, out)
    print(f"wrote {out}: {summary['tensors']} tensors of {summary['conv_layers']} convolutional layers, "
          f"{summary['floats']:,} floats (darknet {'.'.join(map(str, summary['version']))}, md5 {summary['md5']})")


def run_framework(args) -> None:
    from ..files import check_output_path, load_str_map
    from .common import load_network
    out = check_output_path(args.output)
    mapping = None
    if args.map:
        mapping = load_str_map(args.map, "--map", "netdsl scopes to source module paths or node names")
    _, net = load_network(args.model, params=args.param)
    if args.format == "torch":
        from ..frameworks.torch_import import convert_torch
        arrays = convert_torch(args.weights, net, out, mapping, key=args.key, ignore=args.ignore)
    elif args.format == "onnx":
        from ..frameworks.onnx_import import convert_onnx
        if args.ignore:
            from ..graph.errors import NetdslError
            raise NetdslError("--ignore: the ONNX importer takes every float initializer of a weight-bearing node")
        arrays = convert_onnx(args.weights, net, out, mapping, by=args.by)
    else:
        from ..frameworks.wts import convert_wts
        arrays = convert_wts(args.weights, net, out, mapping, ignore=args.ignore)
    floats = sum(a.size for a in arrays.values())
    print(f"wrote {out}: {len(arrays)} tensors, {floats:,} values, from {args.weights} into network {net.name!r}")
