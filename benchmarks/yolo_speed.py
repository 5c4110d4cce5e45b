"""YOLOv3-tiny and YOLOv3 at 416 x 416: netdsl's NumPy reference executor vs OpenCV DNN vs onnxruntime.

Each framework runs in its own process (so thread pools, caches and peak
memory do not mix), on the same preprocessed blob (batch 1: samples/dog.jpg;
batch 4: dog, eagle, giraffe, horses from tests/data/darknet/images):
3 warm-up runs, then N timed runs (default 20). That is repeated in R rounds
(default 3), each a fresh process per framework, the frameworks in rotating
order; the figures are over all rounds' runs. This VM's speed drifts by
10-30 % over seconds, so one process per framework can land a framework in
a slow stretch; rounds spread every framework over the whole run.

* netdsl: the zoo network built at the static shape (batch, 3, 416, 416)
  (``--netdsl-dynamic``: runtime dimensions, as ``build_network()``),
  weights from HDF5, ``netdsl.reference.execute`` -> boxes, scores.
* OpenCV DNN: ``cv2.dnn.readNetFromDarknet(cfg, .weights)`` with
  ``enableWinograd(True)``, forward of the [yolo] output layers.
* onnxruntime: the same netdsl network exported by benchmarks/export_onnx.py
  (verified there against the reference executor), default SessionOptions,
  CPUExecutionProvider, run for boxes and scores.

Weights: YOLOv3-tiny the shipped weights/yolov3-tiny.h5 (exported to darknet
.weights for OpenCV); YOLOv3 seeded random weights (yolo_common.py), written
as darknet .weights and converted to HDF5 by netdsl's converter. Generated
files live in a temp dir for the run (``--cache DIR`` to keep and reuse them).

Peak memory: the worker's own peak resident set (VmHWM; ru_maxrss of a
fork+exec child would include this driver's memory); "before load" is the
peak right before the model is loaded (interpreter, libraries, input blob).

Agreement (so the timing is honest): after timing, every worker runs once more
and returns its raw YOLO head outputs (the last convolutions, before decoding),
compared by max abs difference; netdsl vs onnxruntime also on boxes and
scores, netdsl vs OpenCV on the decoded [yolo] rows (boxes in pixels, and the
class scores OpenCV keeps: it zeroes those below its threshold).

Targets (issue 11): netdsl / OpenCV <= 1.0x, netdsl / onnxruntime <= 1.5x
(ratios of the medians; the ratio of the minima is printed too, as it
suffers less from other processes' load), peak memory netdsl / OpenCV <= 1.5x.

    python benchmarks/yolo_speed.py [--models yolov3-tiny,yolov3] [--batches 1,4] [--runs 20] [--rounds 3]
                                    [--frameworks netdsl,opencv,onnxruntime] [--json results.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from yolo_common import peak_rss_mib  # noqa: E402  (yolo_common imports only NumPy at module level)

FRAMEWORKS = ("netdsl", "opencv", "onnxruntime")
WARMUP = 3
TARGETS = {"opencv": 1.0, "onnxruntime": 1.5, "memory_opencv": 1.5}


# -- workers (each in its own process) --------------------------------------------------------------------------

def _time(fn, runs):
    warm = []
    for _ in range(WARMUP):
        start = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - start)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return warm, times


def worker(spec):
    """Time one framework on one case. ``spec`` holds every path and name, so a worker imports only NumPy and
    its own framework (netdsl's worker also netdsl): the "before load" memory is that framework's own."""
    import numpy as np
    framework, batch, runs = spec["framework"], spec["batch"], spec["runs"]
    info = {}
    if framework == "netdsl":
        from netdsl.reference import execute
        from netdsl.weights import load_weights
        import importlib
        module = importlib.import_module(spec["module"])
    elif framework == "opencv":
        import cv2
        info["threads"] = cv2.getNumThreads()
        info["version"] = cv2.__version__
    else:
        import onnxruntime as ort
        info["version"] = ort.__version__
    blob = np.load(spec["blob"])
    baseline = peak_rss_mib()
    start = time.perf_counter()
    if framework == "netdsl":
        size = blob.shape[2]
        net = module.build_network() if spec["dynamic"] else module.build_network(batch=batch, height=size,
                                                                                    width=size)
        load_weights(net, spec["h5"])
        feeds = {net.inputs[0].name: blob}
        heads = spec["heads"]

        def forward():
            return execute(net, feeds)

        def outputs():
            r = execute(net, feeds, outputs=["boxes", "scores", *heads])
            return {"boxes": r["boxes"], "scores": r["scores"], **{f"head{i}": r[h] for i, h in enumerate(heads)}}
    elif framework == "opencv":
        net = cv2.dnn.readNetFromDarknet(spec["cfg"], spec["darknet"])
        net.enableWinograd(True)
        names = net.getUnconnectedOutLayersNames()

        def forward():
            net.setInput(blob)
            return net.forward(names)

        def outputs():
            rows = forward()
            net.setInput(blob)
            heads = net.forward(spec["opencv_heads"])
            return {**{f"rows{i}": r.reshape(batch, -1, r.shape[-1]) for i, r in enumerate(rows)},
                    **{f"head{i}": h for i, h in enumerate(heads)}}
    else:
        options = ort.SessionOptions()
        info["intra_op_num_threads"] = options.intra_op_num_threads
        info["inter_op_num_threads"] = options.inter_op_num_threads
        sess = ort.InferenceSession(spec["onnx"], options, providers=["CPUExecutionProvider"])
        feeds = {sess.get_inputs()[0].name: blob}
        graph_outputs = [o.name for o in sess.get_outputs()]  # boxes, scores, then the raw heads

        def forward():
            return sess.run(["boxes", "scores"], feeds)

        def outputs():
            r = dict(zip(graph_outputs, sess.run(None, feeds)))
            return {"boxes": r["boxes"], "scores": r["scores"],
                    **{f"head{i}": r[h] for i, h in enumerate(graph_outputs[2:])}}
    load = time.perf_counter() - start
    after_load = peak_rss_mib()
    warm, times = _time(forward, runs)
    peak = peak_rss_mib()  # before the agreement run below, which keeps more tensors alive
    np.savez(spec["npz"], **{k: np.asarray(v) for k, v in outputs().items()})
    return {"framework": framework, "model": spec["model"], "batch": batch, "times": times, "warmup": warm,
            "load_s": load, "mem_baseline_mib": baseline, "mem_after_load_mib": after_load, "mem_peak_mib": peak,
            **info}


# -- driver -------------------------------------------------------------------------------------------------

def run_worker(framework, model, batch, args, cache, files, onnx_path):
    import yolo_common as yc
    h5, darknet = files
    spec = {"framework": framework, "model": model, "batch": batch, "runs": args.runs,
            "module": yc.MODELS[model]["module"], "dynamic": args.netdsl_dynamic, "h5": str(h5),
            "cfg": str(yc.MODELS[model]["cfg"]), "darknet": str(darknet), "onnx": str(onnx_path or ""),
            "blob": str(Path(cache) / f"blob-b{batch}.npy"), "heads": list(yc.raw_heads(model)),
            "opencv_heads": yc.opencv_head_names(model),
            "npz": str(Path(cache) / f"out-{framework}-{model}-b{batch}.npz")}
    proc = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{framework} worker failed ({model}, batch {batch}):\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["npz"] = spec["npz"]
    return result


def export_onnx(model, batch, cache):
    path = Path(cache) / f"{model}-b{batch}.onnx"
    report = Path(cache) / f"{model}-b{batch}.onnx.json"
    if not path.exists():
        proc = subprocess.run([sys.executable, str(HERE / "export_onnx.py"), "--model", model, "--batch", str(batch),
                               "--cache", str(cache), "-o", str(path), "--json", str(report)],
                              capture_output=True, text=True)
        print("  " + proc.stdout.strip().replace("\n", "\n  "))
        if proc.returncode:
            raise RuntimeError(f"ONNX export failed:\n{proc.stderr[-3000:]}")
    return path, json.loads(report.read_text())


def _max_abs(a, b):
    import numpy as np
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a - b)))


def agreement(results, model, batch):
    """Max abs differences of every framework's outputs against netdsl's (None where not run)."""
    import numpy as np
    out = {}
    if "netdsl" not in results:
        return out
    ref = dict(np.load(results["netdsl"]["npz"]))
    heads = sorted(k for k in ref if k.startswith("head"))
    out["head_max_abs"] = max(float(np.max(np.abs(ref[h]))) for h in heads)
    for fw in ("opencv", "onnxruntime"):
        if fw not in results:
            continue
        got = dict(np.load(results[fw]["npz"]))
        out[f"{fw}_heads"] = max(_max_abs(got[h], ref[h]) for h in heads)
        if fw == "onnxruntime":
            out["onnxruntime_boxes"] = _max_abs(got["boxes"], ref["boxes"])
            out["onnxruntime_scores"] = _max_abs(got["scores"], ref["scores"])
            continue
        # OpenCV rows: per head (batch, cells * anchors, 85): cx, cy, w, h (fractions of the input), objectness,
        # objectness * class probability (0 below OpenCV's threshold); netdsl rows per head run anchor-major.
        box_diff, score_diff, row = 0.0, 0.0, 0
        missed = 0
        for i in range(len(heads)):
            rows = got[f"rows{i}"]
            n = rows.shape[1]
            hw = n // 3
            nd_boxes = ref["boxes"][:, row:row + n].reshape(batch, 3, hw, 4).transpose(0, 2, 1, 3).reshape(batch, n, 4)
            nd_scores = ref["scores"][:, row:row + n].reshape(batch, 3, hw, -1).transpose(0, 2, 1, 3).reshape(
                batch, n, -1)
            c = rows[..., :4].astype(np.float64) * 416
            cv_boxes = np.concatenate([c[..., :2] - c[..., 2:] / 2, c[..., :2] + c[..., 2:] / 2], axis=-1)
            box_diff = max(box_diff, _max_abs(cv_boxes, nd_boxes))
            cv_scores = rows[..., 5:]
            kept = cv_scores > 0
            if kept.any():
                score_diff = max(score_diff, float(np.max(np.abs(cv_scores[kept] - nd_scores[kept]))))
            threshold = float(cv_scores[kept].min()) if kept.any() else 1.0
            missed += int(np.sum((nd_scores > threshold + 1e-3) & ~kept))
            row += n
        out.update(opencv_boxes_px=box_diff, opencv_kept_scores=score_diff, opencv_missed_scores=missed)
    return out


def _fmt_times(r):
    t = sorted(r["times"])
    return (f"median {statistics.median(t) * 1e3:8.1f} ms  min {t[0] * 1e3:8.1f}  max {t[-1] * 1e3:8.1f}  "
            f"(n={len(t)}; first warm-up {r['warmup'][0] * 1e3:.0f} ms)")


def _verdict(ratio, target):
    return f"{ratio:.2f}x (target <= {target:.2f}x: {'met' if ratio <= target else 'NOT met'})"


def machine():
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {"cpu": cpu, "cpus": os.cpu_count(), "python": platform.python_version(), "load_avg": load,
            "date": time.strftime("%Y-%m-%d %H:%M")}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="yolov3-tiny,yolov3")
    parser.add_argument("--batches", default="1,4")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per framework (>= 15 for the issue's "
                                                             "figures; after 3 warm-up runs)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="fresh processes per framework, run in rotating order (the VM's speed drifts over "
                             "seconds; rounds spread each framework over the run); times are pooled")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--netdsl-dynamic", action="store_true",
                        help="netdsl network with runtime batch/height/width (default: built at the static shape)")
    parser.add_argument("--cache", help="directory for generated weights and ONNX files (kept; default: a temp "
                                        "dir removed at the end)")
    parser.add_argument("--json", help="write all results here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # a JSON spec: run one framework, print JSON
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0

    import numpy as np
    import yolo_common as yc
    models = [m for m in args.models.split(",") if m]
    batches = [int(b) for b in args.batches.split(",") if b]
    frameworks = [f for f in args.frameworks.split(",") if f]
    for name, known in (("model", yc.MODELS), ("framework", FRAMEWORKS)):
        bad = [x for x in (models if name == "model" else frameworks) if x not in known]
        if bad:
            parser.error(f"unknown {name} {', '.join(bad)} (choose from {', '.join(known)})")
    if args.runs < 1 or args.rounds < 1:
        parser.error("--runs and --rounds must be >= 1")
    cache = Path(args.cache) if args.cache else Path(tempfile.mkdtemp(prefix="netdsl-yolo-bench-"))
    cache.mkdir(parents=True, exist_ok=True)
    info = machine()
    print(f"{info['date']}  {info['cpu']}, {info['cpus']} logical CPUs, Python {info['python']}, "
          f"load average {', '.join(f'{x:.2f}' for x in info['load_avg'] or ())}")
    print(f"{WARMUP} warm-up runs, then {args.runs} timed runs, in each of {args.rounds} rounds (a fresh process per "
          f"framework and round, frameworks in rotating order); medians over all rounds' runs; cache {cache}")
    print("note: on a shared machine (load average above the core count) the timings are noisy, netdsl's most "
          "(OpenBLAS threads wait on busy cores); the ratio of the minima is less sensitive to others' load")
    all_results = {"machine": info, "runs": args.runs, "rounds": args.rounds, "netdsl_dynamic": args.netdsl_dynamic, "cases": []}
    try:
        for model in models:
            start = time.perf_counter()
            files = yc.weight_files(model, cache)
            print(f"\n{model}: weights ready ({time.perf_counter() - start:.1f} s"
                  f"{'; seeded random weights, seed %d' % yc.SEED if yc.MODELS[model]['h5'] is None else ''})")
            for batch in batches:
                print(f"\n== {model}, 416 x 416, batch {batch} (load average {os.getloadavg()[0]:.2f}) ==")
                blob_path = cache / f"blob-b{batch}.npy"
                if not blob_path.exists():
                    np.save(blob_path, yc.input_blob(batch))
                onnx_path, export_report = None, None
                if "onnxruntime" in frameworks:
                    onnx_path, export_report = export_onnx(model, batch, cache)
                results = {}
                for rnd in range(args.rounds):  # each round starts with the next framework
                    shift = rnd % len(frameworks)
                    for fw in frameworks[shift:] + frameworks[:shift]:
                        r = run_worker(fw, model, batch, args, cache, files, onnx_path)
                        r["round_medians"] = [statistics.median(r["times"])]
                        if fw in results:
                            kept = results[fw]
                            kept["times"] += r["times"]
                            kept["round_medians"] += r["round_medians"]
                            kept["mem_peak_mib"] = max(kept["mem_peak_mib"], r["mem_peak_mib"])
                        else:
                            results[fw] = r
                for fw in frameworks:
                    r = results[fw]
                    extra = ""
                    if fw == "opencv":
                        extra = f"  [OpenCV {r['version']}, {r['threads']} threads, Winograd on]"
                    elif fw == "onnxruntime":
                        extra = (f"  [onnxruntime {r['version']}, intra-op threads {r['intra_op_num_threads']} "
                                 f"(0 = default: one per physical core), inter-op {r['inter_op_num_threads']}]")
                    print(f"{fw:<12} {_fmt_times(r)}{extra}")
                    if args.rounds > 1:
                        print(f"{'':<12} medians of the {args.rounds} rounds (one process each): "
                              + ", ".join(f"{m * 1e3:.1f}" for m in r["round_medians"]) + " ms")
                    print(f"{'':<12} memory: before load {r['mem_baseline_mib']:.0f} MiB, after load "
                          f"{r['mem_after_load_mib']:.0f} MiB, peak {r['mem_peak_mib']:.0f} MiB "
                          f"(+{r['mem_peak_mib'] - r['mem_baseline_mib']:.0f} MiB over before-load); "
                          f"load {r['load_s']:.2f} s")
                med = {fw: statistics.median(r["times"]) for fw, r in results.items()}
                best = {fw: min(r["times"]) for fw, r in results.items()}
                ratios = {}
                if "netdsl" in med:
                    for fw in ("opencv", "onnxruntime"):
                        if fw in med:
                            ratios[fw] = med["netdsl"] / med[fw]
                            ratios[f"{fw}_min"] = best["netdsl"] / best[fw]
                            print(f"netdsl / {fw:<12} time   {_verdict(ratios[fw], TARGETS[fw])}; ratio of the "
                                  f"minima {ratios[f'{fw}_min']:.2f}x")
                    if "opencv" in results:
                        ratios["memory_opencv"] = results["netdsl"]["mem_peak_mib"] / results["opencv"]["mem_peak_mib"]
                        print(f"netdsl / opencv       memory {_verdict(ratios['memory_opencv'], TARGETS['memory_opencv'])}")
                load_after = os.getloadavg()[0]
                print(f"load average now {load_after:.2f}")
                agree = agreement(results, model, batch)
                if agree:
                    print(f"agreement with netdsl (max abs difference; raw heads = the last convolutions' outputs, "
                          f"max |netdsl| {agree['head_max_abs']:.3g}):")
                    if "opencv_heads" in agree:
                        print(f"  OpenCV:      raw heads {agree['opencv_heads']:.3g}; decoded boxes "
                              f"{agree['opencv_boxes_px']:.3g} px; class scores OpenCV keeps "
                              f"{agree['opencv_kept_scores']:.3g} ({agree['opencv_missed_scores']} netdsl scores "
                              f"above OpenCV's threshold that OpenCV zeroed)")
                    if "onnxruntime_heads" in agree:
                        print(f"  onnxruntime: raw heads {agree['onnxruntime_heads']:.3g}; boxes "
                              f"{agree['onnxruntime_boxes']:.3g} px; scores {agree['onnxruntime_scores']:.3g}")
                for r in results.values():
                    r.pop("npz", None)
                all_results["cases"].append({"model": model, "batch": batch, "results": results, "load_after": load_after,
                                             "median_s": med, "ratios": ratios, "agreement": agree,
                                             "onnx_export": export_report and {
                                                 "worst_rel": export_report["worst_rel"],
                                                 "verification": export_report["verification"]}})
    finally:
        if not args.cache:
            shutil.rmtree(cache, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(all_results, indent=1))
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
