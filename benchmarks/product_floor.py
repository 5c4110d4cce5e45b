"""How much of a YOLO forward pass is matrix products, on one thread: netdsl's products alone vs whole passes.

Records every ``np.matmul`` of one netdsl reference-executor pass, then in
one process, alternating round by round (this VM's speed drifts by 10-30 %
over seconds, so only alternation makes the figures comparable):

* **products alone**: every recorded product of the network's layers
  (the im2col and Winograd GEMMs; the Winograd transforms' small (a x a)
  products are left out), replayed on fresh contiguous float32 operands of
  the same shapes into preallocated outputs: what the pass would cost if
  everything but the products were free;
* **netdsl pass**: ``netdsl.reference.execute``;
* **OpenCV DNN pass**: ``cv2.dnn.readNetFromDarknet`` with Winograd on;

all on one thread (``NETDSL_NUM_THREADS=1`` and BLAS held to one thread;
``cv2.setNumThreads(1)``), so the comparison is of work, not of how each
framework uses a second core. Then a table of the product shapes by time
with their GFLOP/s. Inputs and weights as in ``yolo_speed.py``.

    python benchmarks/product_floor.py [--model yolov3-tiny] [--batch 1] [--rounds 15] [--cache DIR]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

os.environ["NETDSL_NUM_THREADS"] = "1"   # before netdsl reads it (read per call, but be plain about it)
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import numpy as np  # noqa: E402
import yolo_common as yc  # noqa: E402


def _is_transform(a, b) -> bool:
    """A Winograd transform product: an (a x a) or (m x a) matrix of at most 6 x 6 on the left."""
    return np.ndim(a) == 2 and a.shape[0] <= 6 and a.shape[1] <= 6


def _flops(a_shape, b_shape) -> int:
    batch = np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    return 2 * int(np.prod(batch, dtype=np.int64)) * a_shape[-2] * a_shape[-1] * b_shape[-1]


def record_products(net, feeds, execute) -> list[tuple[tuple, tuple]]:
    """(left shape, right shape) of every non-transform ``np.matmul`` in one pass."""
    shapes = []
    matmul = np.matmul

    def recording(a, b, *args, **kwargs):
        if not _is_transform(a, b):
            shapes.append((np.shape(a), np.shape(b)))
        return matmul(a, b, *args, **kwargs)

    np.matmul = recording
    try:
        execute(net, feeds)
    finally:
        np.matmul = matmul
    return shapes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="yolov3-tiny", choices=sorted(yc.MODELS))
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--cache", help="directory for generated weight files (default: a temporary one)")
    parser.add_argument("--top", type=int, default=12, help="product shapes listed (default 12)")
    args = parser.parse_args(argv)

    import cv2
    from threadpoolctl import threadpool_limits

    from netdsl.reference import execute

    cache = args.cache or tempfile.mkdtemp(prefix="netdsl-floor-")
    h5, darknet = yc.weight_files(args.model, cache)
    net = yc.build_network(args.model, args.batch, h5)
    blob = yc.input_blob(args.batch)
    feeds = {net.inputs[0].name: blob}
    cv2.setNumThreads(1)
    cvnet = cv2.dnn.readNetFromDarknet(str(yc.MODELS[args.model]["cfg"]), str(darknet))
    cvnet.enableWinograd(True)
    names = cvnet.getUnconnectedOutLayersNames()

    shapes = record_products(net, feeds, execute)
    rng = np.random.default_rng(0)
    operands = [(rng.random(a, dtype=np.float32), rng.random(b, dtype=np.float32)) for a, b in shapes]
    outputs = [np.matmul(a, b) for a, b in operands]
    total_flops = sum(_flops(a.shape, b.shape) for a, b in operands)

    def products():
        for (a, b), out in zip(operands, outputs):
            np.matmul(a, b, out=out)

    def netdsl_pass():
        execute(net, feeds)

    def opencv_pass():
        cvnet.setInput(blob)
        cvnet.forward(names)

    jobs = {"products alone": products, "netdsl pass": netdsl_pass, "OpenCV DNN pass": opencv_pass}
    times = defaultdict(list)
    with threadpool_limits(1, "blas"):
        for fn in jobs.values():  # warm-up
            fn()
            fn()
        for r in range(args.rounds):
            order = list(jobs.items())
            for name, fn in order[r % len(order):] + order[:r % len(order)]:
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
        per_shape = defaultdict(lambda: [0, 0.0, 0])
        for (a, b), out in zip(operands, outputs):
            np.matmul(a, b, out=out)
            start = time.perf_counter()
            for _ in range(5):
                np.matmul(a, b, out=out)
            entry = per_shape[(a.shape, b.shape)]
            entry[0] += 1
            entry[1] += (time.perf_counter() - start) / 5
            entry[2] += _flops(a.shape, b.shape)

    print(f"{args.model}, 416 x 416, batch {args.batch}, one thread; load average {os.getloadavg()[0]:.2f}; "
          f"medians of {args.rounds} alternating rounds")
    print(f"  {len(shapes)} products, {total_flops / 1e9:.2f} GFLOP")
    medians = {name: statistics.median(v) for name, v in times.items()}
    for name, value in medians.items():
        extra = f" ({total_flops / value / 1e9:.0f} GFLOP/s)" if name == "products alone" else ""
        print(f"  {name:16s} {value * 1e3:8.1f} ms{extra}")
    print(f"  netdsl pass / OpenCV pass        {medians['netdsl pass'] / medians['OpenCV DNN pass']:.2f}x")
    print(f"  products alone / OpenCV pass     {medians['products alone'] / medians['OpenCV DNN pass']:.2f}x")
    print(f"  netdsl outside the products      {(medians['netdsl pass'] - medians['products alone']) * 1e3:.1f} ms")
    print(f"product shapes by time (left @ right, count, ms, GFLOP/s), top {args.top}:")
    rows = sorted(per_shape.items(), key=lambda kv: -kv[1][1])
    for (a, b), (count, seconds, flops) in rows[:args.top]:
        print(f"  {str(a):>18s} @ {str(b):<18s} x{count:<3d} {seconds * 1e3:7.2f} {flops / seconds / 1e9:6.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
