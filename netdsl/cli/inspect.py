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
    p.add_argument("--weights", action="store_true",
                   help="also list the weights the weight file must contain (and the constants given as arrays)")
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
    _, net = load_network(args.model, params=args.param)
    summary = summarize(net)
    written = write_graph(summary, args.graph) if args.graph is not None else None
    if args.json:
        doc = to_json(summary)
        if written is not None:
            doc["graph"] = {"path": args.graph, "bytes": written}
        print(json.dumps(doc, indent=1))
        return
    lines = text_lines(summary, weights=args.weights)
    if written is not None:
        lines.append(f"graph   {args.graph} ({written:,} bytes)")
    print("\n".join(lines))
