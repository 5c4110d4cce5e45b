"""``netdsl convert darknet``: darknet .cfg + .weights -> netdsl HDF5 weight store."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("convert", help="convert trained weights to a netdsl HDF5 store")
    fmt = p.add_subparsers(dest="format", required=True)
    d = fmt.add_parser("darknet", help="darknet .cfg + .weights -> HDF5")
    d.add_argument("--cfg", required=True, help="darknet .cfg of the network")
    d.add_argument("--weights", required=True, help="darknet .weights file")
    d.add_argument("-o", "--output", required=True, help="HDF5 file to write")
    d.set_defaults(func=run)


def run(args) -> None:
    from ..files import check_output_path
    from ..frameworks.darknet import convert_darknet
    out = check_output_path(args.output)
    summary = convert_darknet(args.cfg, args.weights, out)
    print(f"wrote {out}: {summary['tensors']} tensors of {summary['conv_layers']} convolutional layers, "
          f"{summary['floats']:,} floats (darknet {'.'.join(map(str, summary['version']))}, md5 {summary['md5']})")
