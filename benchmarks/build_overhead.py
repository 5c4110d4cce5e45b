"""`netdsl build` against a raw TensorRT-RTX API build of the same YOLOv3: whole-process wall time and peak RSS.

    python benchmarks/build_overhead.py [--runs 5] [--target sm86] [--keep DIR]

Writes deterministic random YOLOv3 weights (seed 0, the shapes of
``netdsl.models.yolov3``, 62,001,757 parameters; ``benchmarks/hdf5_load.py``)
as a netdsl HDF5 store into a temporary directory, then builds YOLOv3
416x416, batch 1, for one target (sm86, ahead of time: no GPU needed), each
build in its own process:

* netdsl-cli: ``netdsl.cli.main(["build", "yolov3", "--weights", W,
  "--target", "sm86", "--param", "batch=1", "--param", "height=416",
  "--param", "width=416", "-o", OUT])`` — the command line, in process, with
  its defaults (1 GiB workspace, TensorRT's optimization level, the engine
  written atomically: temporary file, fsync, rename);
* netdsl-api: the same through the Python API with the same knobs —
  ``load_weights`` then ``save_engine(net, OUT, targets=("sm86",),
  workspace_bytes=1 << 30, release_weights=True)``: the network's own
  weights are dropped once TensorRT holds its folded copies;
* raw: ``benchmarks/yolov3_rtx_raw.py`` — the same network (290 layers, the
  same names, parameters and bit-identical weights) defined with
  ``tensorrt_rtx_bindings`` calls from the cfg, weights read with h5py,
  engine written with one ``write`` (no fsync).

Wall time is the child's whole life as the parent sees it (interpreter
start to exit, engine written); peak memory is the child's ``ru_maxrss``
(``os.wait4``). Runs alternate between the variants, their order rotating
each round (after one warm-up round, not counted), so load from other
processes and the after-effects of one run on the next hit all alike; before
each, the variant's previous engine file is deleted and ``os.sync()`` called,
so no child waits for another's dirty pages or frees its blocks. The figures
are medians (peak RSS is bimodal: a run sometimes touches one more 64 MiB
glibc thread arena, so the ratio of the minima is printed too). All children
get the same environment, bytecode caches in a temporary
``PYTHONPYCACHEPREFIX`` (warmed by the first round) as for an installed
package; user + system CPU time is printed too, as the machine may be shared.
Targets (project issue 11): netdsl / raw <= 1.1x wall and
<= 1.2x peak memory.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CFG = REPO / "models" / "cfg" / "yolov3.cfg"
RAW = Path(__file__).resolve().with_name("yolov3_rtx_raw.py")
WALL_TARGET, MEMORY_TARGET = 1.1, 1.2


def commands(weights: Path, out_dir: Path, target: str) -> dict:
    cli_args = ["build", "yolov3", "--weights", str(weights), "--target", target, "--param", "batch=1",
                "--param", "height=416", "--param", "width=416", "-o", str(out_dir / "netdsl-cli.engine")]
    api = (f"from netdsl.models import load_model\n"
           f"from netdsl.weights import load_weights\n"
           f"from netdsl.tensorrt import save_engine\n"
           f"net = load_model('yolov3').build_network(batch=1, height=416, width=416)\n"
           f"load_weights(net, {str(weights)!r})\n"
           f"save_engine(net, {str(out_dir / 'netdsl-api.engine')!r}, targets=({target!r},), "
           f"workspace_bytes=1 << 30, release_weights=True)\n")
    return {
        "netdsl-cli": [sys.executable, "-c", f"import sys; from netdsl.cli import main; sys.exit(main({cli_args!r}))"],
        "netdsl-api": [sys.executable, "-c", api],
        "raw": [sys.executable, str(RAW), str(CFG), str(weights), str(out_dir / "raw.engine"), "--target", target],
    }


def netdsl_layer_count(weights: Path) -> int:
    """Layers of netdsl's TensorRT-RTX network for YOLOv3 416x416 batch 1 (lowered here, not built)."""
    from netdsl.models import load_model
    from netdsl.tensorrt import load_tensorrt, to_trt_network
    from netdsl.weights import load_weights
    net = load_model("yolov3").build_network(batch=1, height=416, width=416)
    load_weights(net, weights)
    _, trt_network, _ = to_trt_network(net, load_tensorrt("rtx"))
    return trt_network.num_layers


def run_child(command, env, scratch: Path) -> tuple[float, int, float, str]:
    """(wall s, peak RSS bytes, CPU s (user + system), stdout) of one child, reaped with ``os.wait4`` for its rusage."""
    with open(scratch / "stdout", "w+b") as out, open(scratch / "stderr", "w+b") as err:
        start = time.perf_counter()
        pid = os.posix_spawn(command[0], command, env, file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, out.fileno(), 1), (os.POSIX_SPAWN_DUP2, err.fileno(), 2)])
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code:
        raise SystemExit(f"{' '.join(command[:3])} ... failed (exit {code}): {stderr[-2000:]}")
    return wall, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime, stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each (default 5)")
    parser.add_argument("--target", default="sm86")
    parser.add_argument("--keep", type=Path, help="write the weights and engines here instead of a temp dir")
    parser.add_argument("--variants", default="netdsl-cli,netdsl-api,raw",
                        help="comma-separated subset of netdsl-cli, netdsl-api, raw (raw is always run)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from hdf5_load import write_weights
    with tempfile.TemporaryDirectory(prefix="netdsl-build-overhead-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        weights = work / "yolov3-random.h5"
        count = write_weights(weights)
        print(f"weights: {weights.name}, {count:,} parameters, {weights.stat().st_size:,} bytes")
        layers = netdsl_layer_count(weights)
        env = dict(os.environ)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        wanted = set(args.variants.split(",")) | {"raw"}
        cmds = {name: c for name, c in commands(weights, work, args.target).items() if name in wanted}
        results = {k: [] for k in cmds}
        raw_info = None
        names = list(cmds)
        for i in range(args.runs + 1):
            for name in names[i % len(names):] + names[:i % len(names)]:  # each variant in each position in turn
                command = cmds[name]
                (work / f"{name}.engine").unlink(missing_ok=True)  # no child pays for freeing another's file
                os.sync()
                wall, rss, cpu, out = run_child(command, env, Path(tmp))
                if name == "raw":
                    raw_info = json.loads(out.strip().splitlines()[-1])
                if i:  # the first run of each warms the file cache and the bytecode cache
                    results[name].append((wall, rss, cpu))
                    print(f"  run {i} {name:<10} {wall:6.2f} s wall  {cpu:5.2f} s CPU  {rss / 2**20:6.0f} MiB peak",
                          flush=True)
        sizes = {name: (work / f"{name}.engine").stat().st_size for name in cmds}
        print(f"layers: netdsl {layers}, raw {raw_info['layers']}; engine bytes: "
              + ", ".join(f"{name} {size:,}" for name, size in sizes.items()))
        raw_phases = ", ".join(f"{k} {v:.2f} s" for k, v in raw_info["seconds"].items())
        print(f"raw phases (last run): {raw_phases}")
        medians = {name: [statistics.median(run[k] for run in r) for k in range(3)] for name, r in results.items()}
        for name, (wall, rss, cpu) in medians.items():
            fastest, smallest = (min(run[k] for run in results[name]) for k in (0, 1))
            print(f"{name:<10} median wall {wall:5.2f} s (min {fastest:.2f}), CPU {cpu:5.2f} s, "
                  f"peak RSS {rss / 2**20:5.0f} MiB (min {smallest / 2**20:.0f})  (n={len(results[name])})")
        for name in [n for n in cmds if n != "raw"]:
            wall_ratio, mem_ratio, cpu_ratio = (medians[name][k] / medians["raw"][k] for k in range(3))
            min_mem_ratio = min(run[1] for run in results[name]) / min(run[1] for run in results["raw"])
            print(f"{name} / raw TensorRT-RTX: wall {wall_ratio:.2f}x (target <= {WALL_TARGET}x: "
                  f"{'met' if wall_ratio <= WALL_TARGET else 'NOT met'}), peak memory {mem_ratio:.2f}x "
                  f"(target <= {MEMORY_TARGET}x: {'met' if mem_ratio <= MEMORY_TARGET else 'NOT met'}; "
                  f"{min_mem_ratio:.2f}x of the minima); CPU {cpu_ratio:.2f}x")


if __name__ == "__main__":
    main()
