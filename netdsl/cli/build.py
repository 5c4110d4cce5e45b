"""``netdsl build``: a model and its HDF5 weights -> a TensorRT engine (plan) file."""
from __future__ import annotations

import os
import sys

from .common import (add_model_argument, add_param_argument, add_shape_arguments, cli_profiles, load_network,
                     positive_int)


def add_parser(sub) -> None:
    p = sub.add_parser("build", help="build a TensorRT engine (plan) from a model and HDF5 weights")
    add_model_argument(p)
    p.add_argument("--weights", required=True, help="netdsl HDF5 weight store")
    p.add_argument("--target", action="append", default=None,
                   help="TensorRT-RTX target GPU architecture, e.g. sm86 (repeatable). Default: this "
                        "machine's GPU; required on a machine without one")
    p.add_argument("--workspace", type=positive_int, default=1024,
                   help="builder workspace limit in MiB (default 1024)")
    p.add_argument("-o", "--output", required=True, help="engine file to write")
    add_param_argument(p)
    add_shape_arguments(p)
    p.set_defaults(func=run)


def run(args) -> None:
    from ..files import check_output_path
    from ..tensorrt import save_engine
    from .progress import build_progress
    out = check_output_path(args.output)
    module, net = load_network(args.model, args.weights, args.param)
    profiles = cli_profiles(args, net, module)
    with build_progress(sys.stderr) as progress:
        save_engine(net, out, targets=tuple(args.target or ()), workspace_bytes=args.workspace << 20,
                    progress=progress, profiles=profiles)
    print(f"wrote {out} ({os.path.getsize(out):,} bytes)")
