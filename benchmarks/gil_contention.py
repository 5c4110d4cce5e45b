"""Why a second core speeds netdsl's reference executor up by only 1.2-1.4x: what the threads cost each other.

Two measurements, each alternating its variants within one process run
(this VM's speed drifts by 10-30 % over seconds, so only alternation makes
figures comparable):

1. **Pieces on one thread and on two.** Passes alternate between
   ``NETDSL_NUM_THREADS=1`` and ``2``. Every piece of work that
   ``netdsl.reference.threads.parallel`` runs is timed. Printed:
   * the pass times and the speed-up;
   * the summed time of all pieces on one thread and on two. The pieces are
     the same computations, so the ratio says how much slower each piece ran
     beside the other thread; then the same per kind of piece (the kernel
     function that runs it, e.g. the Winograd input transform);
   * the pass time spent outside parallel regions (one thread works there),
     and the thread time left idle inside the regions (a thread that
     finished its share waiting for the other, or not yet started).
2. **Two one-thread passes at once.** Per-pass medians of one-thread passes
   run alone, as two threads of one process (they share the GIL), and as two
   processes (they share only the hardware: caches, memory bandwidth).

The processes' figure is the cost of sharing the machine. The threads' extra
cost over it is what the GIL adds: NumPy releases it inside its loops and
products, but every call's argument handling, every view and every line of
Python between calls needs it, so the threads wait on each other's glue.

    python benchmarks/gil_contention.py [--model yolov3-tiny] [--batch 1] [--passes 15] [--cache DIR]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import yolo_common as yc  # noqa: E402


def _network(args):
    """(network, feeds) of ``args.model`` at ``args.batch``, weights made once into ``args.cache``."""
    h5, _ = yc.weight_files(args.model, args.cache)
    net = yc.build_network(args.model, args.batch, h5)
    return net, {net.inputs[0].name: yc.input_blob(args.batch)}


def _timed_passes(execute, net, feeds, count) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        execute(net, feeds)
        times.append(time.perf_counter() - start)
    return times


class PieceClock:
    """Wraps ``parallel`` in the kernel modules: per pass, the pieces' summed duration (in all and per kind
    of piece, named by the function the kernel hands to ``parallel``) and the regions' wall time."""

    def __init__(self):
        from netdsl.reference import convolution, pooling, threads, winograd
        self.modules = (threads, convolution, pooling, winograd)
        self.original = threads.parallel
        self.threads = threads
        self.pieces = 0.0
        self.regions = 0.0
        self.kinds = defaultdict(float)
        self.lock = threading.Lock()

    def __enter__(self):
        original, threads = self.original, self.threads

        def parallel(fn, pieces):
            if getattr(threads._state, "inside", False):  # nested: inline, timed by the outer piece
                return original(fn, pieces)

            kind = getattr(fn, "__qualname__", "?").replace("<locals>.", "")

            def timed(piece):
                start = time.perf_counter()
                try:
                    fn(piece)
                finally:
                    with self.lock:
                        spent = time.perf_counter() - start
                        self.pieces += spent
                        self.kinds[kind] += spent

            start = time.perf_counter()
            try:
                original(timed, pieces)
            finally:
                self.regions += time.perf_counter() - start

        for module in self.modules:
            module.parallel = parallel
        return self

    def __exit__(self, *exc):
        for module in self.modules:
            module.parallel = self.original

    def reset(self):
        self.pieces = self.regions = 0.0
        self.kinds.clear()


def pieces_on_one_and_two_threads(args) -> None:
    from netdsl.reference import execute
    net, feeds = _network(args)
    rows = {n: {"pass": [], "pieces": [], "serial": [], "idle": []} for n in (1, 2)}
    kinds = {n: defaultdict(float) for n in (1, 2)}   # kind of piece -> summed time over all passes
    with PieceClock() as clock:
        for _ in range(3):
            execute(net, feeds)
        for _ in range(args.passes):
            for n in (1, 2):
                os.environ["NETDSL_NUM_THREADS"] = str(n)
                clock.reset()
                (wall,) = _timed_passes(execute, net, feeds, 1)
                rows[n]["pass"].append(wall)
                rows[n]["pieces"].append(clock.pieces)
                rows[n]["serial"].append(wall - clock.regions)
                rows[n]["idle"].append(n * clock.regions - clock.pieces)
                for kind, spent in clock.kinds.items():
                    kinds[n][kind] += spent
    med = {n: {k: statistics.median(v) * 1e3 for k, v in r.items()} for n, r in rows.items()}
    print(f"1. {args.model}, batch {args.batch}: {args.passes} passes on each thread count, alternating")
    print(f"   pass:                         1 thread {med[1]['pass']:6.1f} ms   2 threads {med[2]['pass']:6.1f} ms"
          f"   speed-up {med[1]['pass'] / med[2]['pass']:.2f}x")
    print(f"   all pieces' time, summed:     1 thread {med[1]['pieces']:6.1f} ms   2 threads {med[2]['pieces']:6.1f} ms"
          f"   each piece {med[2]['pieces'] / med[1]['pieces']:.2f}x slower beside the other thread")
    print(f"   outside parallel regions:     {med[2]['serial']:6.1f} ms of the 2-thread pass (one thread works)")
    print(f"   idle thread time in regions:  {med[2]['idle']:6.1f} ms (summed over both threads)")
    print("   per kind of piece (ms per pass, mean):  1 thread  2 threads  ratio")
    for kind in sorted(kinds[1], key=kinds[1].get, reverse=True):
        one, two = (kinds[n][kind] / args.passes * 1e3 for n in (1, 2))
        print(f"     {kind:38s} {one:8.2f} {two:10.2f}  {two / one:5.2f}x")


def _worker(args) -> None:
    """One process of measurement 2: one-thread passes, prints the median in ms."""
    os.environ["NETDSL_NUM_THREADS"] = "1"
    from netdsl.reference import execute
    net, feeds = _network(args)
    _timed_passes(execute, net, feeds, 3)
    print(statistics.median(_timed_passes(execute, net, feeds, args.passes)) * 1e3)


def two_passes_at_once(args) -> None:
    os.environ["NETDSL_NUM_THREADS"] = "1"
    from netdsl.reference import execute
    net, feeds = _network(args)
    _timed_passes(execute, net, feeds, 3)
    alone = statistics.median(_timed_passes(execute, net, feeds, args.passes)) * 1e3

    medians = []

    def run():
        medians.append(statistics.median(_timed_passes(execute, net, feeds, args.passes)) * 1e3)

    workers = [threading.Thread(target=run) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    command = [sys.executable, __file__, "--worker", "--model", args.model, "--batch", str(args.batch),
               "--passes", str(args.passes), "--cache", args.cache]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    processes = [float(p.communicate()[0].split()[-1]) for p in procs]
    print(f"2. two one-thread passes at once (per-pass medians of {args.passes})")
    print(f"   alone:                        {alone:6.1f} ms")
    print(f"   two threads of one process:   {', '.join(f'{m:6.1f}' for m in medians)} ms"
          f"   {statistics.mean(medians) / alone:.2f}x alone")
    print(f"   two processes:                {', '.join(f'{m:6.1f}' for m in processes)} ms"
          f"   {statistics.mean(processes) / alone:.2f}x alone")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="yolov3-tiny", choices=sorted(yc.MODELS))
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--passes", type=int, default=15)
    parser.add_argument("--cache", help="directory for generated weight files (default: a temporary one)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.cache = args.cache or tempfile.mkdtemp(prefix="netdsl-gil-")
    if args.worker:
        _worker(args)
        return 0
    print(f"{os.cpu_count()} logical CPUs, load average {os.getloadavg()[0]:.2f}")
    pieces_on_one_and_two_threads(args)
    two_passes_at_once(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
