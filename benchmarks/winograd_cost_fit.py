"""Fit the Winograd cost model of ``netdsl.reference.winograd.choose_tile`` to this machine's timings.

For a set of detector-like 3x3 stride-1 layers (YOLOv3-tiny's and YOLOv3's
shapes, small MTCNN-like ones), times direct convolution, F(2x2, 3x3) and
F(4x4, 3x3) as the executor runs them (threads, BLAS held to one thread, a
fused leaky ReLU), batch 1, alternating the three in one process (this VM's
speed drifts by 10-30 % over seconds). Then fits, by non-negative least
squares on relative errors, the time of each term:

* direct: multiply-adds (9 K C per output pixel), floats of the im2col
  matrix (9 C per pixel), floats of the output (K per pixel);
* Winograd: multiply-adds ((m+2)^2 K C per tile), floats of transformed
  filters read ((m+2)^2 K C per image), floats through the input transform
  ((m+2)^2 C per tile), floats through the output transform ((m+2)^2 K per
  tile);

in units of one direct multiply-add (the constants ``_DIRECT_COST`` and
``_WINOGRAD_COST``), and prints, per layer, the measured times, the
algorithm the fitted model picks and how far it is from the fastest.
Needs SciPy (``pip install -e ".[bench]"``).

    python benchmarks/winograd_cost_fit.py [--runs 15]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from types import SimpleNamespace

import numpy as np

# (C, K, map size): YOLOv3-tiny's and YOLOv3's 3x3 stride-1 layers, and a few small ones
LAYERS = [
    (16, 32, 208), (32, 64, 104), (64, 128, 52), (128, 256, 26), (256, 512, 13), (512, 1024, 13),
    (384, 256, 26), (32, 64, 208), (64, 128, 104), (128, 256, 52), (256, 512, 26), (1024, 512, 13),
    (768, 256, 26), (64, 64, 104), (128, 128, 52), (3, 16, 416), (16, 32, 60), (32, 64, 48), (8, 16, 60),
    (256, 256, 26),
]
ALGORITHMS = ("direct", 2, 4)


def features(algorithm, c, k, size) -> np.ndarray:
    """The model's terms for one layer (batch 1, 'same' padding), 8 columns: direct's 3, then Winograd's 5
    (multiply-adds in products of many columns, and in narrow ones, which run unpacked)."""
    from netdsl.reference.winograd import _NARROW_TILES
    row = np.zeros(8)
    if algorithm == "direct":
        pixels = size * size
        row[:3] = (9 * k * c * pixels, 9 * c * pixels, k * pixels)
    else:
        a2, tiles = (algorithm + 2) ** 2, (-(-size // algorithm)) ** 2
        macs = a2 * tiles * k * c
        narrow = tiles < _NARROW_TILES
        row[3:] = (0 if narrow else macs, macs if narrow else 0, a2 * k * c, a2 * tiles * c, a2 * tiles * k)
    return row


def measure(runs: int) -> dict:
    from netdsl.graph.enums import ActivationType
    from netdsl.reference import buffers
    from netdsl.reference.convolution import convolve
    from netdsl.reference.fusion import epilogue
    from netdsl.reference.threads import blas_held
    from netdsl.reference.winograd import convolve_winograd

    # the executor's own fused leaky ReLU, from the attributes fusion.epilogue reads off an ACTIVATION layer
    leaky = epilogue(SimpleNamespace(activation_type=ActivationType.LEAKY_RELU, alpha=0.1, beta=0.0))
    rng = np.random.default_rng(0)
    times = {}
    with blas_held(), buffers.pass_scope():
        for c, k, size in LAYERS:
            x = rng.standard_normal((1, c, size, size), dtype=np.float32)
            w = (rng.standard_normal((k, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
            b = rng.standard_normal(k).astype(np.float32)
            calls = {"direct": lambda: convolve(x, w, b, (1, 1), (1, 1), (1, 1), (1, 1), 1, (size, size), leaky),
                     2: lambda: convolve_winograd(x, w, b, (1, 1), (size, size), 2, leaky),
                     4: lambda: convolve_winograd(x, w, b, (1, 1), (size, size), 4, leaky)}
            samples = {name: [] for name in calls}
            for call in calls.values():
                call()
                call()
            for _ in range(runs):
                for name, call in calls.items():
                    start = time.perf_counter()
                    call()
                    samples[name].append(time.perf_counter() - start)
            times[c, k, size] = {name: statistics.median(v) for name, v in samples.items()}
    return times


def fit(times: dict) -> np.ndarray:
    """Time per unit of each of the 8 terms (seconds), non-negative, minimising relative errors."""
    from scipy.optimize import nnls
    rows, targets = [], []
    for (c, k, size), by_algorithm in times.items():
        for algorithm, seconds in by_algorithm.items():
            rows.append(features(algorithm, c, k, size) / seconds)
            targets.append(1.0)
    coefficients, _ = nnls(np.array(rows), np.array(targets))
    return coefficients


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    times = measure(args.runs)
    x = fit(times)
    unit = x[0]
    print("fitted, in units of one direct multiply-add:")
    print(f"  _DIRECT_COST = ({x[0] / unit:.2f}, {x[1] / unit:.1f}, {x[2] / unit:.1f})")
    print(f"  _WINOGRAD_COST = ({x[3] / unit:.2f}, {x[4] / unit:.2f}, {x[5] / unit:.1f}, {x[6] / unit:.1f}, "
          f"{x[7] / unit:.1f})")
    print(f"  (one unit = {unit * 1e12:.1f} ps here)")
    worst = 1.0
    print("layer                 direct      F2      F4 ms   model picks  (its time / fastest)")
    for (c, k, size), by_algorithm in times.items():
        predicted = {a: float(features(a, c, k, size) @ x) for a in ALGORITHMS}
        pick = min(predicted, key=predicted.get)
        ratio = by_algorithm[pick] / min(by_algorithm.values())
        worst = max(worst, ratio)
        cells = "  ".join(f"{by_algorithm[a] * 1e3:6.2f}" for a in ALGORITHMS)
        name = "direct" if pick == "direct" else f"F{pick}"
        print(f"{c:5d}->{k:5d} @{size:4d}   {cells}   {name:6s} ({ratio:.2f})")
    print(f"worst pick: {worst:.2f}x the fastest")
    return 0


if __name__ == "__main__":
    sys.exit(main())
