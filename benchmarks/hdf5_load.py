"""Loading YOLOv3's weights from a netdsl HDF5 store: ``load_weights(network, path)`` against plain h5py.

    python benchmarks/hdf5_load.py [--runs 20]

Writes deterministic random YOLOv3 weights once (seed 0, the declared shapes
of ``netdsl.models.yolov3``: 366 datasets, 62,001,757 parameters, 248 MB,
Fletcher-32 checksummed as netdsl writes them) into a temporary directory.
Then, each in its own process, with the file in the page cache:

* netdsl: ``load_weights(net, path)`` on a freshly built network each run
  (building the network and collecting the previous one are not timed):
  every header judged, every chunk's checksum verified, every value checked
  finite (and variances >= 0), then bound;
* h5py (the peer): ``h5py.File(path)`` and every dataset read into NumPy
  (``dataset[()]``), no checks beyond HDF5's own (the checksums are
  verified there too: they are part of the file's filter pipeline).

3 warm-up runs, then the median of N (default 20) of wall time and of CPU
time (process time: less sensitive to other load on the machine). Target
(project issue 11): load_weights <= 0.3 s.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 0.3
WARMUP = 3


def write_weights(path: Path, seed: int = 0) -> int:
    """Random YOLOv3 weights of the declared shapes (variances in [0.5, 1.5]); returns the parameter count."""
    import numpy as np
    from netdsl.models import load_model
    from netdsl.weights import save_weights
    net = load_model("yolov3").build_network(batch=1, height=416, width=416)
    rng = np.random.default_rng(seed)
    arrays, layouts = {}, {}
    for name, w in net.weights().items():
        if w.is_bound:  # constants given with the network definition, not read from a store
            continue
        if name.endswith(".variance"):
            value = rng.uniform(0.5, 1.5, w.shape)
        elif name.endswith(".kernel"):
            value = rng.standard_normal(w.shape) * 0.05
            layouts[name] = "KCRS"
        else:
            value = rng.standard_normal(w.shape) * 0.1
        arrays[name] = value.astype(np.float32)
    save_weights(path, arrays, source=f"random, numpy default_rng({seed})", network="yolov3", layouts=layouts)
    return sum(a.size for a in arrays.values())


def _time(prepare, run, runs: int) -> list[tuple[float, float]]:
    """[(wall, cpu)] of ``run(prepare())`` after WARMUP untimed runs; ``prepare`` and gc are not timed."""
    import gc
    out = []
    for i in range(WARMUP + runs):
        arg = prepare()
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        run(arg)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if i >= WARMUP:
            out.append((wall, cpu))
    return out


def worker_netdsl(path: str, runs: int):
    from netdsl.models import load_model
    from netdsl.weights import load_weights
    model = load_model("yolov3")
    state = {}

    def prepare():
        state.clear()  # drop the previous network (and its 248 MB) before the next is built
        return model.build_network(batch=1, height=416, width=416)

    def run(net):
        load_weights(net, path)
        state["net"] = net
    return _time(prepare, run, runs)


def worker_h5py(path: str, runs: int):
    import h5py
    state = {}

    def run(_):
        arrays = {}

        def take(name, obj):
            if isinstance(obj, h5py.Dataset):
                arrays[name] = obj[()]
        with h5py.File(path, "r") as f:
            f.visititems(take)
        state["arrays"] = arrays
    return _time(lambda: state.clear(), run, runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs after 3 warm-up runs (default 20)")
    parser.add_argument("--worker", choices=("netdsl", "h5py"), help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        work = {"netdsl": worker_netdsl, "h5py": worker_h5py}[args.worker]
        print(json.dumps(work(args.path, max(15, args.runs))))
        return
    with tempfile.TemporaryDirectory(prefix="netdsl-hdf5-load-") as tmp:
        path = Path(tmp) / "yolov3-random.h5"
        count = write_weights(path)
        print(f"weights: {count:,} parameters, {path.stat().st_size:,} bytes")
        medians = {}
        for worker in ("netdsl", "h5py"):
            out = subprocess.run([sys.executable, __file__, "--worker", worker, "--path", str(path),
                                  "--runs", str(args.runs)], check=True, capture_output=True, text=True).stdout
            times = json.loads(out.strip().splitlines()[-1])
            walls, cpus = [w for w, _ in times], [c for _, c in times]
            medians[worker] = statistics.median(walls)
            label = "netdsl load_weights" if worker == "netdsl" else "h5py, every dataset"
            print(f"{label:<20} median {medians[worker]:.3f} s wall (min {min(walls):.3f}, max {max(walls):.3f}), "
                  f"{statistics.median(cpus):.3f} s CPU, n={len(times)}")
        verdict = "met" if medians["netdsl"] <= TARGET_SECONDS else "NOT met"
        print(f"load_weights: {medians['netdsl']:.3f} s = {medians['netdsl'] / TARGET_SECONDS:.2f}x the target "
              f"of {TARGET_SECONDS} s ({verdict}); {medians['netdsl'] / medians['h5py']:.2f}x plain h5py")


if __name__ == "__main__":
    main()
