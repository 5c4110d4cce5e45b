"""``netdsl inspect``: a model's layers, tensor shapes and dtypes, parameters and FLOPs, and a drawing.

Text output (one record per line, see ``netdsl.inspection.report``), or
``--json``; ``--weights`` lists what the weight file must contain (and the
constants given as arrays); ``--graph FILE`` (.svg, .png, .dot) draws the
network, checked before any work and written atomically.
"""
from __future__ import annotations

import json

from .common import add_model_argument, add_param_argument, load_network


def add_parser(sub) -> None:
    p = sub.add_parser("inspect", help="print a model's layers, shapes, parameters and FLOPs; draw it",
                       description="Print every layer with its output shapes and dtypes, parameters (weight-file "
                                   "elements) and FLOPs (a multiply-add counts 2), then the totals.")
    add_model_argument(p)
    p.add_argument("--weights", nargs="?", const=True, default=False, metavar="FILE",
                   help="also list the weights the weight file must contain (and the constants given as arrays); "
                        "with FILE, also bind that HDF5 store and say whether HDF5 verified it (checksummed) or "
                        "not (unverified: written before netdsl used checksums, or by another writer)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    p.add_argument("--graph", metavar="FILE",
                   help="draw the network to FILE: .svg or .png (need Graphviz's dot) or .dot")
    add_param_argument(p)
    p.set_defaults(func=run)


def run(args) -> None:
    from ..inspection.graph import check_graph_output, write_graph
    from ..inspection.report import text_lines, to_json
    from ..inspection.summary import summarize
    if args.graph is not None:
        check_graph_output(args.graph)
    from ..weights import load_weights
    weights_file = args.weights if isinstance(args.weights, str) else None
    _, net = load_network(args.model, params=args.param)
    summary = summarize(net)  # before binding the store: what it supplies counts as parameters, not constants
    store = load_weights(net, weights_file) if weights_file is not None else None
    written = write_graph(summary, args.graph) if args.graph is not None else None
    if args.json:
        doc = to_json(summary)
        if store is not None:
            doc["weights_file"] = {"path": weights_file, "checksummed": bool(store.checksummed),
                                   "unverified": sorted(n for n, d in store.datasets.items() if d.checksum is None)}
        if written is not None:
            doc["graph"] = {"path": args.graph, "bytes": written}
        print(json.dumps(doc, indent=1))
        return
    lines = text_lines(summary, weights=bool(args.weights))
    if weights_file is not None:
        lines.append(_store_line(store))
    if written is not None:
        lines.append(f"graph   {args.graph} ({written:,} bytes)")
    print("\n".join(lines))


def _store_line(store) -> str:
    """``store   W.h5: 59 tensors bound, checksummed (...)`` or ``..., unverified (...)``."""
    bound = len(store)
    if store.checksummed:
        return (f"store   {store.path}: {bound} tensors bound, checksummed (HDF5 verified every dataset and "
                f"object header read)")
    unverified = sum(1 for n in store if store.datasets[n].checksum is None)
    return (f"store   {store.path}: {bound} tensors bound, unverified ({unverified} without checksums: a flipped "
            f"byte in their values would go unnoticed; rewrite the file with netdsl to add them)")
