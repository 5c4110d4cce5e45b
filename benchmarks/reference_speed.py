"""YOLOv3-tiny 416x416 forward time: netdsl's NumPy reference executor vs OpenCV DNN.

Each framework runs in its own process (so thread pools and caches do not
interfere), on the same preprocessed dog.jpg blob: 3 warm-up runs, then the
median of N timed runs. OpenCV runs with Winograd on (its fast path).
Target (issue 2): reference within 2x of OpenCV DNN.

    python benchmarks/reference_speed.py [--runs 20]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CFG = REPO / "tests" / "data" / "darknet" / "cfg" / "yolov3-tiny.cfg"


def darknet_weights() -> str:
    """The official yolov3-tiny.weights, regenerated from the shipped HDF5 (netdsl export darknet)."""
    import tempfile
    from netdsl.frameworks.darknet import export_darknet
    out = Path(tempfile.mkdtemp()) / "yolov3-tiny.weights"
    export_darknet(CFG, REPO / "weights" / "yolov3-tiny.h5", out)
    return str(out)


def blob():
    from netdsl.detection import load_image, preprocess
    return preprocess(load_image(REPO / "samples" / "dog.jpg"), (416, 416))


def time_netdsl(runs: int) -> list[float]:
    from netdsl.models.yolov3_tiny import build_network
    from netdsl.reference import execute
    from netdsl.weights import load_weights
    net = build_network()
    load_weights(net, REPO / "weights" / "yolov3-tiny.h5")
    feeds = {"images": blob()}
    return _time(lambda: execute(net, feeds), runs)


def time_opencv(runs: int) -> list[float]:
    import cv2
    net = cv2.dnn.readNetFromDarknet(str(CFG), darknet_weights())
    net.enableWinograd(True)
    names = net.getUnconnectedOutLayersNames()
    data = blob()

    def forward():
        net.setInput(data)
        return net.forward(names)
    return _time(forward, runs)


def _time(fn, runs):
    for _ in range(3):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--worker", choices=("netdsl", "opencv"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        times = {"netdsl": time_netdsl, "opencv": time_opencv}[args.worker](max(10, args.runs))
        print(json.dumps(times))
        return
    medians = {}
    for worker in ("netdsl", "opencv"):
        out = subprocess.run([sys.executable, __file__, "--worker", worker, "--runs", str(args.runs)],
                             check=True, capture_output=True, text=True).stdout
        times = json.loads(out.strip().splitlines()[-1])
        medians[worker] = statistics.median(times)
        print(f"{worker:<22} median {medians[worker] * 1e3:8.1f} ms  (min {min(times) * 1e3:.1f}, "
              f"max {max(times) * 1e3:.1f}, n={len(times)})")
    ratio = medians["netdsl"] / medians["opencv"]
    print(f"netdsl reference / OpenCV DNN (Winograd on): {ratio:.2f}x  (target <= 2.00x: "
          f"{'met' if ratio <= 2 else 'NOT met'})")


if __name__ == "__main__":
    main()
