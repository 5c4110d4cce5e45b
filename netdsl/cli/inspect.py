"""``netdsl inspect``: a model's layers, tensor shapes and dtypes, and the weights it declares."""
from __future__ import annotations

from .common import add_model_argument, add_param_argument, load_network


def add_parser(sub) -> None:
    p = sub.add_parser("inspect", help="print a model's layers, tensors and weights")
    add_model_argument(p)
    p.add_argument("--weights", action="store_true", help="also list declared weights")
    add_param_argument(p)
    p.set_defaults(func=run)


def run(args) -> None:
    _, net = load_network(args.model, params=args.param)
    print(net)
    for t in net.inputs:
        print(f"input   {t.name} {_dims(t.shape)} {t.dtype.name}")
    for layer in net.layers:
        outs = ", ".join(f"{t.name} {_dims(t.shape)} {t.dtype.name}" for t in layer.outputs)
        print(f"layer   {layer.name} {layer.type.name} -> {outs}")
        if args.weights:
            for role, w in layer.weights.items():
                print(f"weights {w.name} {list(w.shape)} {w.dtype.name}")
    for t in net.outputs:
        print(f"output  {t.name} {_dims(t.shape)} {t.dtype.name}")


def _dims(shape) -> str:
    """``[1, 3, 416, 416]``, runtime dimensions as their expressions: ``[batch, 3, height, width]``."""
    return "[" + ", ".join(str(d) for d in shape) + "]"
