"""Stacked LSTM and GRU forward time: netdsl's NumPy reference executor vs PyTorch CPU (torch.nn.LSTM / GRU).

The case of issue 11: 3 layers, input 256, hidden 256, batch 8, 160 steps, sequence-major (T, N, C),
float32, unidirectional, zero initial states. The parent draws one set of weights (torch's default
init, uniform in +-1/sqrt(H), in torch's state_dict layout) and one input per cell type and writes
them to a temporary .npz; each framework then runs in its own process (so thread pools, allocators
and imports do not interfere; the netdsl worker never imports torch) on that same data: 3 warm-up
runs, then the median of N timed runs of one forward pass (netdsl: ``netdsl.reference.execute`` of
the whole network, torch: ``module(x)`` under ``torch.no_grad()``). Each worker also reports its
peak resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``: imports, weights, buffers) and
saves its outputs, which the parent compares (max abs difference of the sequence output and the
final states) so the two did the same work. Torch uses its default thread count (printed); NumPy's
BLAS (OpenBLAS) its own default. The load average before and after is printed too: on a busy machine
(other processes on the cores) the figures, torch's above all, are not meaningful.

Target (issue 11): netdsl reference <= 3x PyTorch CPU on the 3-layer LSTM(256).

    python benchmarks/lstm_speed.py [--runs 20] [--ops LSTM GRU] [--steps 160 --batch 8 --hidden 256 --layers 3]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET = 3.0
AGREE = 1e-4  # max abs difference of float32 outputs of two float32 implementations (typically ~1e-7)
GATES = {"LSTM": 4, "GRU": 3}


def make_data(path: Path, op: str, steps: int, batch: int, features: int, hidden: int, layers: int, seed=0):
    """torch-layout weights ``weight_ih_l{k}`` ... (torch's default init) and the input ``x`` (T, N, C)."""
    rng = np.random.default_rng(seed)
    bound = 1 / np.sqrt(hidden)
    arrays = {}
    for k in range(layers):
        shapes = {"weight_ih": (GATES[op] * hidden, features if k == 0 else hidden),
                  "weight_hh": (GATES[op] * hidden, hidden), "bias_ih": (GATES[op] * hidden,),
                  "bias_hh": (GATES[op] * hidden,)}
        for kind, shape in shapes.items():
            arrays[f"{kind}_l{k}"] = rng.uniform(-bound, bound, shape).astype(np.float32)
    arrays["x"] = rng.standard_normal((steps, batch, features)).astype(np.float32)
    np.savez(path, **arrays)


def load(path):
    with np.load(path) as f:
        arrays = dict(f)
    return arrays.pop("x"), arrays


def run_netdsl(op, x, state_dict, layers, hidden):
    """A function running the network once, returning [sequence, h_n(, c_n)]."""
    from netdsl import DataType, Network
    from netdsl.frameworks.recurrent import from_torch
    from netdsl.reference import execute

    net = Network(f"{op.lower()}_speed")
    layer = net.add_rnn(net.add_input("x", DataType.FLOAT, x.shape), layers, hidden, op, name="rnn")
    for t in layer.outputs:
        net.mark_output(t)
    net.bind_weights(from_torch("rnn", state_dict, op))
    names = [t.name for t in layer.outputs]
    feeds = {"x": x}

    def forward():
        out = execute(net, feeds)
        return [out[n] for n in names]
    return forward, {}


def run_torch(op, x, state_dict, layers, hidden):
    import torch
    module = getattr(torch.nn, op)(x.shape[2], hidden, num_layers=layers)
    module.load_state_dict({k: torch.from_numpy(v) for k, v in state_dict.items()})
    module.eval()
    inp = torch.from_numpy(x)

    def forward():
        with torch.no_grad():
            y, state = module(inp)
        return [y.numpy()] + ([s.numpy() for s in state] if op == "LSTM" else [state.numpy()])
    return forward, {"torch threads": torch.get_num_threads(), "torch": torch.__version__}


def worker(framework, op, data, out, runs, layers, hidden):
    x, state_dict = load(data)
    forward, info = {"netdsl": run_netdsl, "torch": run_torch}[framework](op, x, state_dict, layers, hidden)
    for _ in range(3):
        result = forward()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = forward()
        times.append(time.perf_counter() - start)
    np.savez(out, *result)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"times": times, "peak_mib": peak, **info}))


def spawn(framework, op, data, out, args):
    cmd = [sys.executable, __file__, "--worker", framework, "--op", op, "--data", str(data), "--out", str(out),
           "--runs", str(args.runs), "--layers", str(args.layers), "--hidden", str(args.hidden)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{framework} worker failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per framework (at least 15)")
    parser.add_argument("--ops", nargs="+", default=["LSTM", "GRU"], choices=sorted(GATES))
    parser.add_argument("--steps", type=int, default=160)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--features", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--worker", choices=("netdsl", "torch"), help=argparse.SUPPRESS)
    parser.add_argument("--op", choices=sorted(GATES), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.op, args.data, args.out, args.runs, args.layers, args.hidden)
        return
    args.runs = max(15, args.runs)
    print(f"{args.layers}-layer, input {args.features}, hidden {args.hidden}, batch {args.batch}, "
          f"{args.steps} steps, float32; 3 warm-up runs, median of {args.runs}; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    ratios = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for op in args.ops:
            data = tmp / f"{op}.npz"
            make_data(data, op, args.steps, args.batch, args.features, args.hidden, args.layers)
            medians, outputs = {}, {}
            for framework in ("netdsl", "torch"):
                out = tmp / f"{op}-{framework}.npz"
                report = spawn(framework, op, data, out, args)
                times = report["times"]
                medians[framework] = statistics.median(times)
                with np.load(out) as f:
                    outputs[framework] = [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]
                extra = f"  torch {report['torch']}, {report['torch threads']} threads" if framework == "torch" else ""
                print(f"{op:<5} {framework:<7} median {medians[framework] * 1e3:7.1f} ms  (min {min(times) * 1e3:.1f}, "
                      f"max {max(times) * 1e3:.1f}, n={len(times)})  peak {report['peak_mib']:.0f} MiB{extra}")
            diffs = [float(np.abs(a - b).max()) for a, b in zip(outputs["netdsl"], outputs["torch"], strict=True)]
            agree = max(diffs) <= AGREE
            print(f"{op:<5} outputs agree: max abs diff {max(diffs):.1e} (sequence {diffs[0]:.1e}, final states "
                  f"{', '.join(f'{d:.1e}' for d in diffs[1:])}){'' if agree else f'  MISMATCH (> {AGREE:g})'}")
            ratios[op] = medians["netdsl"] / medians["torch"]
            if not agree:
                sys.exit(1)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    for op, ratio in ratios.items():
        print(f"{op}: netdsl reference / PyTorch CPU = {ratio:.2f}x  (target <= {TARGET:.2f}x: "
              f"{'met' if ratio <= TARGET else 'NOT met'})")


if __name__ == "__main__":
    main()
