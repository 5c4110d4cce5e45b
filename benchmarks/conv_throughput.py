"""Where a reference-executor forward pass of YOLOv3-tiny / YOLOv3 spends its time, and how fast its
convolutions run compared with NumPy's own float32 matmul on the same GEMM shapes, in the same process.

Each kernel in ``netdsl.reference.registry.KERNELS`` is wrapped by a timer
(the executor looks the kernel up per layer); a forward pass is then run R
times (after one warm-up) and each layer's median time taken.

Convolutions: direct-convolution FLOPs ``2 * K * C/groups * R * S * OH * OW * N``
per layer, over the layer's median time = its effective GFLOP/s. The matmul
reference: ``np.matmul(W, X, out=Y)`` with W (K/groups, C/groups*R*S), X
(C/groups*R*S, OH*OW) float32 — the im2col GEMM of one image and group —
timed right after each forward pass (so both see the same machine load),
median of R, times N * groups. Ratio = conv GFLOP/s / matmul GFLOP/s over
all the network's convolutions (target >= 0.70, issue 11); per layer too.
The same ratio from per-layer minima is printed alongside: on a shared
machine it is the steadier figure.

Also prints the time per layer type of one forward pass (sum of per-layer
medians) and what is left for the executor itself (per pass, wall minus
the kernels' time; median).

    python benchmarks/conv_throughput.py [--models yolov3-tiny,yolov3] [--batch 1] [--runs 5] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import yolo_common as yc  # noqa: E402

TARGET = 0.70


class KernelTimer:
    """Wraps every registered reference kernel with a timer; ``calls`` collects (layer name, type, seconds)."""

    def __init__(self):
        from netdsl.reference import registry
        self.registry = registry
        self.saved = dict(registry.KERNELS)
        self.calls = []

    def __enter__(self):
        for layer_type, fn in self.saved.items():
            self.registry.KERNELS[layer_type] = self._wrap(fn, layer_type.name)
        return self

    def __exit__(self, *exc):
        self.registry.KERNELS.clear()
        self.registry.KERNELS.update(self.saved)

    def _wrap(self, fn, type_name):
        calls = self.calls

        def timed(layer, *args, **kwargs):
            start = time.perf_counter()
            result = fn(layer, *args, **kwargs)
            calls.append((layer.name, type_name, time.perf_counter() - start))
            return result
        timed.__wrapped__ = fn
        return timed


def conv_shapes(net):
    """Per CONVOLUTION layer: name, N, C, K, groups, R, S, stride, OH, OW, FLOPs, GEMM (M, K, N) per image/group."""
    rows = []
    for layer in net.layers:
        if layer.type.name != "CONVOLUTION":
            continue
        x, y = layer.inputs[0], layer.outputs[0]
        n, c = int(np.prod(x.shape[:-3])), x.shape[-3]
        k, g = y.shape[-3], layer.num_groups
        r, s = layer.kernel_size_nd
        oh, ow = y.shape[-2:]
        flops = 2 * k * (c // g) * r * s * oh * ow * n
        rows.append(dict(name=layer.name, n=n, c=c, k=k, groups=g, r=r, s=s, stride=tuple(layer.stride_nd),
                         oh=oh, ow=ow, flops=flops, gemm=(k // g, (c // g) * r * s, oh * ow)))
    return rows


def matmul_seconds(gemm, cache):
    """One timed ``np.matmul(W, X, out=Y)`` of the GEMM (M, K, N) in float32 (operands made once per shape)."""
    if gemm not in cache:
        m, kk, n = gemm
        rng = np.random.default_rng(0)
        cache[gemm] = (rng.standard_normal((m, kk), dtype=np.float32), rng.standard_normal((kk, n), dtype=np.float32),
                       np.empty((m, n), np.float32))
        np.matmul(*cache[gemm][:2], out=cache[gemm][2])  # warm-up
    w, x, y = cache[gemm]
    start = time.perf_counter()
    np.matmul(w, x, out=y)
    return time.perf_counter() - start


def measure(model, batch, runs, cache_dir):
    from netdsl.reference import execute
    h5, _ = yc.weight_files(model, cache_dir)
    net = yc.build_network(model, batch, h5)
    feeds = {net.inputs[0].name: yc.input_blob(batch)}
    convs = conv_shapes(net)
    gemm_cache = {}
    per_layer = defaultdict(list)
    layer_type = {}
    walls, outside = [], []  # per pass: wall time, and wall time minus the kernels' time
    mm = defaultdict(list)
    with KernelTimer() as timer:
        execute(net, feeds)  # warm-up
        timer.calls.clear()
        for _ in range(runs):
            start = time.perf_counter()
            execute(net, feeds)
            walls.append(time.perf_counter() - start)
            outside.append(walls[-1] - sum(seconds for _, _, seconds in timer.calls))
            for name, kind, seconds in timer.calls:
                per_layer[name].append(seconds)
                layer_type[name] = kind
            timer.calls.clear()
    # the matmul references after all passes, not between them: BLAS's threads keep spinning for a while
    # after a product and would slow the executor's own threads in the next pass
    for _ in range(runs):
        for conv in convs:
            mm[conv["name"]].append(matmul_seconds(conv["gemm"], gemm_cache) * conv["n"] * conv["groups"])
    counted = {name: len(v) for name, v in per_layer.items()}
    missing = [c["name"] for c in convs if counted.get(c["name"], 0) != runs]
    if missing:
        raise RuntimeError(f"the kernel timer saw {len(convs) - len(missing)} of {len(convs)} convolutions "
                           f"(e.g. {missing[0]} not timed): the executor no longer calls each layer's kernel through "
                           f"netdsl.reference.registry.KERNELS; update KernelTimer")
    median = {name: statistics.median(v) for name, v in per_layer.items()}
    by_type = defaultdict(float)
    for name, seconds in median.items():
        by_type[layer_type[name]] += seconds
    layers = []
    for conv in convs:
        t, tm = median[conv["name"]], statistics.median(mm[conv["name"]])
        layers.append({**conv, "conv_s": t, "matmul_s": tm, "conv_gflops": conv["flops"] / t / 1e9,
                       "matmul_gflops": conv["flops"] / tm / 1e9})
    flops = sum(c["flops"] for c in convs)
    conv_s, matmul_s = sum(x["conv_s"] for x in layers), sum(x["matmul_s"] for x in layers)
    conv_min = sum(min(per_layer[c["name"]]) for c in convs)
    matmul_min = sum(min(mm[c["name"]]) for c in convs)
    return {"conv_min_s": conv_min, "matmul_min_s": matmul_min, "ratio_min": matmul_min / conv_min,"model": model, "batch": batch, "runs": runs, "wall_s": statistics.median(walls),
            "kernels_s": sum(median.values()), "outside_kernels_s": statistics.median(outside), "by_type_s": dict(by_type), "layers": layers, "gflop": flops / 1e9,
            "conv_s": conv_s, "matmul_s": matmul_s, "conv_gflops": flops / conv_s / 1e9,
            "matmul_gflops": flops / matmul_s / 1e9, "ratio": (flops / conv_s) / (flops / matmul_s)}


def report(r, verbose=True):
    print(f"\n== {r['model']}, 416 x 416, batch {r['batch']}: median of {r['runs']} forward passes ==")
    if verbose:
        print(f"{'layer':<14} {'C->K':>11} {'RxS/s':>7} {'OHxOW':>9} {'GEMM M x K x N':>20} {'GFLOP':>6} "
              f"{'conv ms':>8} {'GFLOP/s':>8} {'matmul ms':>9} {'GFLOP/s':>8} {'ratio':>6}")
        for x in r["layers"]:
            m, k, n = x["gemm"]
            print(f"{x['name']:<14} {x['c']:>5}->{x['k']:<5} {x['r']}x{x['s']}/{x['stride'][0]:<3} "
                  f"{x['oh']:>4}x{x['ow']:<4} {m:>6} x {k:>5} x {n:>6} {x['flops'] / 1e9:6.2f} {x['conv_s'] * 1e3:8.2f} "
                  f"{x['conv_gflops']:8.1f} {x['matmul_s'] * 1e3:9.2f} {x['matmul_gflops']:8.1f} "
                  f"{x['conv_gflops'] / x['matmul_gflops']:6.2f}")
    print(f"convolutions: {len(r['layers'])} layers, {r['gflop']:.2f} GFLOP in {r['conv_s'] * 1e3:.1f} ms = "
          f"{r['conv_gflops']:.1f} GFLOP/s; np.matmul on the same GEMMs {r['matmul_s'] * 1e3:.1f} ms = "
          f"{r['matmul_gflops']:.1f} GFLOP/s")
    print(f"conv / matmul throughput {r['ratio']:.3f} (target >= {TARGET:.2f}: "
          f"{'met' if r['ratio'] >= TARGET else 'NOT met'}); from per-layer minima instead of medians "
          f"{r['ratio_min']:.3f} ({r['gflop'] / r['conv_min_s']:.1f} vs {r['gflop'] / r['matmul_min_s']:.1f} "
          f"GFLOP/s; less sensitive to other processes' load)")
    print(f"time per layer type (sum of per-layer medians), forward pass {r['wall_s'] * 1e3:.1f} ms (median):")
    for kind, seconds in sorted(r["by_type_s"].items(), key=lambda kv: -kv[1]):
        print(f"  {kind:<14} {seconds * 1e3:9.1f} ms  {100 * seconds / r['wall_s']:5.1f} %")
    rest = r["outside_kernels_s"]
    print(f"  {'(executor)':<14} {rest * 1e3:9.1f} ms  {100 * rest / r['wall_s']:5.1f} %   "
          f"median over passes of wall minus kernels: dtype conversion, freeing, bookkeeping")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="yolov3-tiny,yolov3")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quiet", action="store_true", help="no per-layer table")
    parser.add_argument("--cache", help="directory for generated weights (default: a temp dir removed at the end)")
    parser.add_argument("--json")
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if m]
    bad = [m for m in models if m not in yc.MODELS]
    if bad:
        parser.error(f"unknown model {', '.join(bad)} (choose from {', '.join(yc.MODELS)})")
    cache = Path(args.cache) if args.cache else Path(tempfile.mkdtemp(prefix="netdsl-conv-"))
    print("note: timings on a shared machine are noisy; the matmul reference is timed after each pass, under the "
          "same load")
    results = []
    try:
        for model in models:
            r = measure(model, args.batch, args.runs, cache)
            report(r, not args.quiet)
            results.append(r)
    finally:
        if not args.cache:
            shutil.rmtree(cache, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
