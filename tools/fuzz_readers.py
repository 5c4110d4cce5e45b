#!/usr/bin/env python3
"""Long fuzz runs of netdsl's readers (not run in CI; the test suite runs the same targets with small budgets).

Usage (from the repository root, virtual environment active)::

    python tools/fuzz_readers.py hdf5 --minutes 10      # WeightStore.open + load_weights
    python tools/fuzz_readers.py cfg --minutes 10       # parse_cfg + conv_parameter_shapes
    python tools/fuzz_readers.py darknet --minutes 10   # convert_darknet (.cfg + .weights -> HDF5)
    python tools/fuzz_readers.py hdf5 --seed 1 --only 4711   # rerun one input in this process, with its traceback

Each input is made from ``random.Random(f"{seed}-{index}")`` (so ``--seed S
--only I`` reproduces input I exactly) by ``tools/fuzzing/targets.py``:
mutated real files (the shipped ``weights/yolov3-tiny.h5``, a small
checksummed store, the old-format fixture, ``tests/data/darknet/cfg/*.cfg``,
a small generated ``.weights``) and structured generators. Inputs run one at a
time in a worker process (its own process group, address space limited to
``--memory-gib``); an input that takes longer than ``--timeout`` seconds
(default 10) is a hang: the worker is killed and restarted, as after a crash.

Printed: inputs tried, rate, outcome counts (per input origin too), and every
failure — an exception other than NetdslError ("escaped"), a checksummed
file read back changed ("changed"), bad values bound or converted
("bad-values"), files left by a failed conversion ("leftover"), "hang",
"crash". Each failure's input files and a README with the reproducing command
are saved under ``--findings`` (default ``$TMPDIR/netdsl-fuzz-findings/<reader>/``).
Exit status 1 if there was any failure.
"""
from __future__ import annotations

import argparse
import collections
import multiprocessing as mp
import os
import random
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))

from fuzzing.targets import FAILURES, READERS, Seeds, run_one  # noqa: E402


def _worker(conn, reader: str, seed: str, workdir: str, memory_gib: float) -> None:
    """Run inputs by index until the pipe closes; reply (kind, detail, origin, steps, seconds)."""
    os.setpgid(0, 0)  # so the parent can kill this worker and any child it started (h5probe) together
    limit = int(memory_gib * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    seeds = Seeds(Path(workdir) / "seeds")
    while True:
        try:
            index = conn.recv()
        except EOFError:
            return
        start = time.monotonic()
        case_dir = Path(workdir) / "case"
        shutil.rmtree(case_dir, ignore_errors=True)
        try:
            case, outcome = run_one(reader, random.Random(f"{seed}-{index}"), case_dir, seeds)
            reply = (outcome.kind, outcome.detail, case.origin, " ".join(outcome.steps))
        except Exception as exc:  # noqa: BLE001 - a failure of the target itself is reported, not hidden
            reply = ("escaped", f"{type(exc).__name__}: {exc} | {traceback.format_exc(limit=-3)!r}", "?", "")
        conn.send(reply + (time.monotonic() - start,))


class Runner:
    def __init__(self, args):
        self.args = args
        self.ctx = mp.get_context("spawn")
        self.workdir = Path(tempfile.mkdtemp(prefix=f"netdsl-fuzz-{args.reader}-"))
        self.findings = Path(args.findings or Path(tempfile.gettempdir()) / "netdsl-fuzz-findings" / args.reader)
        self.proc = self.conn = None
        self.counts = collections.Counter()
        self.by_origin = collections.Counter()
        self.failures: list[tuple[int, str, str]] = []
        self.slowest = (0.0, -1)

    def start(self):
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child, self.args.reader, self.args.seed,
                                                          str(self.workdir), self.args.memory_gib), daemon=True)
        self.proc.start()
        child.close()

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the worker's own process group (set in _worker)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.join(5)
        self.conn.close()

    def save(self, index: int, kind: str, detail: str):
        folder = self.findings / f"{kind}-{index}"
        if folder.exists():
            shutil.rmtree(folder)
        case = self.workdir / "case"
        if case.is_dir():
            shutil.copytree(case, folder, symlinks=True)
        else:
            folder.mkdir(parents=True)
        (folder / "README.txt").write_text(
            f"{kind}: {detail}\n\nreproduce (from the repository root):\n"
            f"  python tools/fuzz_readers.py {self.args.reader} --seed {self.args.seed} --only {index}\n")
        return folder

    def run(self):
        args = self.args
        deadline = time.monotonic() + 60 * args.minutes
        started = time.monotonic()
        next_report = started + 60
        self.start()
        index = args.start
        while time.monotonic() < deadline and (args.inputs is None or index < args.start + args.inputs):
            self.conn.send(index)
            if self.conn.poll(args.timeout):
                try:
                    kind, detail, origin, steps, seconds = self.conn.recv()
                except EOFError:
                    kind, detail, origin, steps, seconds = self.crashed(index)
            elif self.proc.is_alive():
                kind, detail, origin, steps, seconds = "hang", f"no result within {args.timeout} s", "?", "", \
                    args.timeout
                self.kill()
                self.start()
            else:
                kind, detail, origin, steps, seconds = self.crashed(index)
            self.counts[kind] += 1
            self.by_origin[(origin, steps or kind)] += 1
            self.slowest = max(self.slowest, (seconds, index))
            if kind in FAILURES:
                folder = self.save(index, kind, detail)
                self.failures.append((index, kind, f"{detail} [{folder}]"))
                print(f"FAILURE input {index} ({origin}): {kind}: {detail[:400]}", flush=True)
            index += 1
            if time.monotonic() > next_report:
                next_report += 60
                self.report(index - args.start, time.monotonic() - started, final=False)
        self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.report(index - args.start, time.monotonic() - started, final=True)
        return 1 if self.failures else 0

    def crashed(self, index):
        self.proc.join(5)
        code = self.proc.exitcode
        self.kill()
        self.start()
        return "crash", f"worker died (exit code {code})", "?", "", 0.0

    def report(self, tried: int, seconds: float, final: bool):
        a = self.args
        print(f"{'FINAL ' if final else ''}{a.reader}: {tried:,} inputs in {seconds:.0f} s "
              f"({tried / max(seconds, 1e-9):.1f}/s), seed {a.seed!r}; outcomes "
              + ", ".join(f"{k} {v:,}" for k, v in sorted(self.counts.items()))
              + f"; escaped {self.counts['escaped']}, hangs > {a.timeout:g} s {self.counts['hang']}, "
                f"crashes {self.counts['crash']}; slowest input {self.slowest[1]} ({self.slowest[0]:.1f} s)",
              flush=True)
        if final:
            for (origin, steps), n in sorted(self.by_origin.items()):
                print(f"  {origin:40s} {steps:32s} {n:,}")
            for index, kind, detail in self.failures:
                print(f"  failure {index}: {kind}: {detail[:300]}")


def replay(args) -> int:
    """Run one input in this process and show the full outcome (and any traceback)."""
    from fuzzing.targets import Seeds
    workdir = Path(tempfile.mkdtemp(prefix="netdsl-fuzz-replay-"))
    seeds = Seeds(workdir / "seeds")
    make, run = READERS[args.reader]
    case = make(random.Random(f"{args.seed}-{args.only}"), workdir / "case", seeds)
    print(f"input {args.only} ({case.origin}): files {sorted(str(p) for p in case.files.values())}")
    outcome = run(case, seeds)
    print(f"outcome: {outcome.kind} {' '.join(outcome.steps)}\n{outcome.detail}")
    return 1 if outcome.failed else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("reader", choices=sorted(READERS))
    p.add_argument("--minutes", type=float, default=10.0, help="run time (default 10)")
    p.add_argument("--inputs", type=int, default=None, help="stop after this many inputs")
    p.add_argument("--seed", default="0", help="seed: input i is made from Random(f'{seed}-{i}')")
    p.add_argument("--start", type=int, default=0, help="first input index")
    p.add_argument("--only", type=int, default=None, help="replay one input index in this process")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per input before it counts as a hang")
    p.add_argument("--memory-gib", type=float, default=6.0, help="address-space limit of the worker")
    p.add_argument("--findings", default=None,
                   help="folder for failing inputs (default $TMPDIR/netdsl-fuzz-findings/<reader>)")
    args = p.parse_args(argv)
    if args.only is not None:
        return replay(args)
    return Runner(args).run()


if __name__ == "__main__":
    sys.exit(main())
