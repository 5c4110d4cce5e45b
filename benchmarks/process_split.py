"""What netdsl's reference executor would gain from a second core without the GIL: the same pieces split over
two processes instead of two threads.

An experiment, not a mode of netdsl (Linux only: it forks). The process
forks a twin after warm-up; both then run every pass together, as one
program on two processes:

* every parallel region (``netdsl.reference.threads.parallel``) gives the
  first half of its pieces to this process and the second half to the twin,
  exactly the halves two threads get, then both wait at a barrier (a byte
  each way through pipes);
* arrays the kernels take from the buffer pool outside a piece (layer
  outputs, Winograd's transformed tiles, stride phases) come from one shared
  mapping instead, at the same offsets in both processes (both allocate in
  the same order), so each sees what the other wrote. Arrays made inside a
  piece, and all other work (the executor, small layers, the YOLO heads),
  stay private: both processes compute them, the same values twice;
* a region of a single piece runs in this process only, so no in-place
  update (bias, activation) is applied twice.

The outputs are checked bit for bit against a one-thread pass. Then passes
alternate in one run between the process split, two threads and one thread
(this VM's speed drifts by 10-30 % over seconds; only alternation makes the
figures comparable), with OpenCV DNN (``yolo_speed.py``'s worker, Winograd on,
its own threads) timed in rounds before, between and after the blocks. Printed:
medians, the paired ratio process split / threads, the time the split pass
spends outside regions and waiting at barriers, and the ratio to OpenCV.

What it says: how much of the gap to OpenCV is the GIL (threads.py, "Why
YOLOv3-tiny is still behind" in docs/reference_executor.md). It is not a way
to run netdsl: a forked twin only stays right while nothing changes between
passes (the network, its weights, the kernels, even a monkeypatch), which a
library cannot promise.

    python benchmarks/process_split.py [--model yolov3-tiny] [--batch 1] [--passes 30] [--blocks 3] [--cache DIR]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import mmap
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import yolo_common as yc  # noqa: E402


class ProcessSplit:
    """Installs the split into netdsl's kernel modules; ``run`` executes one pass split with the forked twin."""

    def __init__(self, arena_bytes: int):
        from netdsl.reference import buffers, convolution, pooling, threads, winograd
        self.threads, self.buffers = threads, buffers
        self.modules = (threads, convolution, pooling, winograd)
        self.parallel, self.empty, self.scope = threads.parallel, buffers.empty, buffers.pass_scope
        self.arena = np.frombuffer(mmap.mmap(-1, arena_bytes, flags=mmap.MAP_SHARED), np.uint8)
        self.active = None      # (rank, barrier) while a split pass runs in this process
        self.offset = 0
        self.depth = 0
        self.regions = 0.0      # this pass: wall time in regions, barrier waits, barrier count
        self.waits = 0.0
        self.barriers = 0
        self.twin = None

    def install(self):
        for module in self.modules:
            module.parallel = self._parallel
        self.buffers.empty = self._empty
        self.buffers.pass_scope = self._pass_scope

    def _inside(self) -> bool:
        return getattr(self.threads._state, "inside", False)

    def _barrier(self):
        start = time.perf_counter()
        self.active[1]()
        self.waits += time.perf_counter() - start
        self.barriers += 1

    def _parallel(self, fn, pieces):
        if self.active is None or self._inside():
            return self.parallel(fn, pieces)
        start = time.perf_counter()
        pieces = list(pieces)
        halves = self.threads.split(len(pieces), 2)
        rank = self.active[0]
        self.threads._state.inside = True
        try:
            if rank < len(halves):
                for piece in pieces[halves[rank][0]:halves[rank][1]]:
                    fn(piece)
        finally:
            self.threads._state.inside = False
        self._barrier()
        self.regions += time.perf_counter() - start

    def _empty(self, shape, dtype=np.float32):
        if self.active is None or self._inside():
            return self.empty(shape, dtype)
        dtype = np.dtype(dtype)
        shape = tuple(np.atleast_1d(shape).tolist())
        start = -(-self.offset // 64) * 64
        self.offset = start + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if self.offset > self.arena.size:
            raise MemoryError(f"the shared arena ({self.arena.size >> 20} MiB) is too small: use --arena-gib")
        return np.ndarray(shape, dtype, buffer=self.arena, offset=start)

    @contextlib.contextmanager
    def _pass_scope(self):
        outermost = self.active is not None and self.depth == 0
        if outermost:
            self.offset = 0
        self.depth += 1
        try:
            with self.scope():
                yield
        finally:
            self.depth -= 1
            if outermost:  # neither process starts its next pass while the other still reads this one's arrays
                self._barrier()

    def fork(self, execute, net, feeds):
        """Fork the twin: it runs split passes (rank 1) until the pipes close."""
        down_r, down_w = os.pipe()
        up_r, up_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(down_w)
            os.close(up_r)
            self.active = (1, _barrier(up_w, down_r))
            try:
                while True:
                    execute(net, feeds)
            finally:
                os._exit(0)
        os.close(down_r)
        os.close(up_w)
        self.twin = (pid, down_w, up_r)
        self.barrier = _barrier(down_w, up_r)

    def run(self, execute, net, feeds):
        self.regions = self.waits = 0.0
        self.barriers = 0
        self.active = (0, self.barrier)
        try:
            return execute(net, feeds)
        finally:
            self.active = None

    def close(self):
        pid, down_w, up_r = self.twin
        os.close(down_w)
        os.close(up_r)
        os.waitpid(pid, 0)


def _barrier(write_fd, read_fd):
    def barrier():
        os.write(write_fd, b"x")
        if os.read(read_fd, 1) != b"x":
            if os.getpid() != _PARENT:
                os._exit(0)  # the twin: the parent closed the pipes
            raise RuntimeError("the forked twin died")
    return barrier


_PARENT = os.getpid()


def opencv_round(args) -> list[float]:
    """One round of ``yolo_speed.py``'s OpenCV worker (its own process): the run times in ms."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([sys.executable, str(HERE / "yolo_speed.py"), "--models", args.model, "--batches",
                        str(args.batch), "--frameworks", "opencv", "--rounds", "1", "--runs", "15",
                        "--cache", args.cache, "--json", out.name], check=True, capture_output=True)
        results = json.loads(Path(out.name).read_text())
    return [t * 1e3 for case in results["cases"] for t in case["results"]["opencv"]["times"]]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="yolov3-tiny", choices=sorted(yc.MODELS))
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--passes", type=int, default=30, help="passes of each kind per block")
    parser.add_argument("--blocks", type=int, default=3, help="blocks of alternating passes, OpenCV between")
    parser.add_argument("--arena-gib", type=float, default=4.0, help="size of the shared mapping (virtual)")
    parser.add_argument("--cache", help="directory for generated files (default: a temporary one)")
    args = parser.parse_args(argv)
    if not hasattr(os, "fork"):
        print("needs os.fork (Linux or another POSIX system)")
        return 1
    args.cache = args.cache or tempfile.mkdtemp(prefix="netdsl-split-")
    print(f"{os.cpu_count()} logical CPUs, load average {os.getloadavg()[0]:.2f}")
    opencv = opencv_round(args)  # also writes the weight files and the blob into the cache

    os.environ["NETDSL_NUM_THREADS"] = "1"  # no thread pool before the fork
    from netdsl.reference import execute
    h5, _ = yc.weight_files(args.model, args.cache)
    net = yc.build_network(args.model, args.batch, h5)
    feeds = {net.inputs[0].name: yc.input_blob(args.batch)}
    for _ in range(3):
        expected = execute(net, feeds)
    expected = {name: value.copy() for name, value in expected.items()}
    split = ProcessSplit(int(args.arena_gib * (1 << 30)))
    split.install()
    split.fork(execute, net, feeds)

    def on_threads(count):
        os.environ["NETDSL_NUM_THREADS"] = str(count)
        return execute(net, feeds)

    got = split.run(execute, net, feeds)
    same = all(np.array_equal(got[name], value) for name, value in expected.items())
    print(f"{args.model}, batch {args.batch}: process split outputs bit-identical to one thread's: {same}")
    kinds = {"split": lambda: split.run(execute, net, feeds), "threads": lambda: on_threads(2),
             "one": lambda: on_threads(1)}
    times = {kind: [] for kind in kinds}
    serial, waits, barriers = [], [], []
    for block in range(args.blocks):
        for kind in kinds.values():  # warm-up of the block
            kind()
        for _ in range(args.passes):
            for kind, run in kinds.items():
                start = time.perf_counter()
                run()
                times[kind].append((time.perf_counter() - start) * 1e3)
                if kind == "split":
                    serial.append(times[kind][-1] - split.regions * 1e3)
                    waits.append(split.waits * 1e3)
                    barriers.append(split.barriers)
        opencv += opencv_round(args)
    split.close()
    med = {kind: statistics.median(t) for kind, t in times.items()}
    paired = statistics.median(s / t for s, t in zip(times["split"], times["threads"]))
    cv = statistics.median(opencv)
    print(f"{args.blocks} blocks of {args.passes} passes of each kind, alternating; OpenCV in {args.blocks + 1} rounds"
          " of 15 runs between them (own process, 2 threads, Winograd on)")
    print(f"  one thread        {med['one']:6.1f} ms")
    print(f"  two threads       {med['threads']:6.1f} ms   {med['threads'] / cv:.2f}x OpenCV")
    print(f"  two processes     {med['split']:6.1f} ms   {med['split'] / cv:.2f}x OpenCV;"
          f" paired ratio to two threads {paired:.3f}")
    print(f"                    outside regions {statistics.median(serial):.1f} ms (both processes do it),"
          f" barrier waits {statistics.median(waits):.1f} ms at {statistics.median(barriers):.0f} barriers")
    print(f"  OpenCV DNN        {cv:6.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
