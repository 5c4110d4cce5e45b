"""``netdsl compare``: every tensor of a network against tensors computed elsewhere; names the first divergence."""
from __future__ import annotations

from .common import add_model_argument, add_param_argument, load_network


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="compare every tensor against a reference (.npz) and name the first "
                                       "diverging layer; exit status 1 when any differs",
                       description="Run MODEL on the reference executor with INPUTS and compare, in network "
                                   "order, every tensor the REFERENCE .npz also holds (names mapped by --map). "
                                   "A tensor passes when max |ours - theirs| <= atol + rtol * max |theirs|.")
    add_model_argument(p)
    p.add_argument("--weights", required=True, help="netdsl HDF5 weight store")
    p.add_argument("--inputs", required=True, help=".npz with one array per network input (a .npy for a network "
                                                    "with one input)")
    p.add_argument("--reference", required=True, help=".npz of tensors computed elsewhere (PyTorch hooks, "
                                                       "onnxruntime, OpenCV DNN: see docs/compare.md)")
    p.add_argument("--map", help="JSON object {reference name: netdsl tensor name} for names that differ")
    p.add_argument("--atol", type=float, default=1e-5, help="absolute tolerance (default 1e-5)")
    p.add_argument("--rtol", type=float, default=1e-4, help="relative tolerance (default 1e-4)")
    add_param_argument(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..compare import compare, first_divergence, format_table, load_arrays, load_name_map, not_compared
    reference = load_arrays(args.reference, "reference")
    name_map = load_name_map(args.map) if args.map else None
    _, net = load_network(args.model, args.weights, args.param)
    feeds = load_arrays(args.inputs, "inputs", [t.name for t in net.inputs])  # a .npy: the only input's
    rows = compare(net, feeds, reference, name_map, atol=args.atol, rtol=args.rtol)
    print("\n".join(format_table(rows)))
    first = first_divergence(rows)
    failed = sum(not r.passed for r in rows)
    if first is None:
        print(f"all {len(rows)} compared tensors match (atol {args.atol:g}, rtol {args.rtol:g})")
    else:
        where = f"layer {first.layer}" if first.layer else "network input"
        print(f"{failed} of {len(rows)} tensors differ; first divergence: {first.tensor} ({where}), "
              f"max abs {first.max_abs:.3g}, max rel {first.max_rel:.3g}")
    unmatched, outputs = not_compared(net, reference, name_map)
    if unmatched:
        print(f"not compared: {len(unmatched)} reference tensor{'s' if len(unmatched) > 1 else ''} named like no "
              f"netdsl tensor ({_names(unmatched)}); map them with --map")
    if outputs:
        print(f"warning: the network's output{'s' if len(outputs) > 1 else ''} {_names(outputs)} "
              f"{'were' if len(outputs) > 1 else 'was'} not compared (the reference has no tensor of that name)")
    return 0 if first is None else 1

def _names(names, limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")
