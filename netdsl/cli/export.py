"""``netdsl export darknet``: netdsl HDF5 weight store -> darknet .weights (header 0.2)."""
from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="write a netdsl HDF5 store in another framework's format")
    fmt = p.add_subparsers(dest="format", required=True)
    d = fmt.add_parser("darknet", help="HDF5 -> darknet .weights for a .cfg")
    d.add_argument("--cfg", required=True, help="darknet .cfg of the network")
    d.add_argument("weights", help="netdsl HDF5 weight store (as netdsl convert darknet writes it)")
    d.add_argument("-o", "--output", required=True, help=".weights file to write")
    d.set_defaults(func=run)


def run(args) -> None:
    from ..files import check_output_path
    from ..frameworks.darknet import export_darknet
    out = check_output_path(args.output)
    summary = export_darknet(args.cfg, args.weights, out)
    print(f"wrote {out} ({summary['bytes']:,} bytes): {summary['floats']:,} floats of "
          f"{summary['conv_layers']} convolutional layers, darknet header "
          f"{'.'.join(map(str, summary['version']))}, seen {summary['seen']}")
