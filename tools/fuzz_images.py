#!/usr/bin/env python3
"""Fuzz netdsl's image reader for a while (not part of CI; the suite runs a short property test).

    python tools/fuzz_images.py --minutes 10 [--workers 4] [--seed 1] [--findings DIR]

Inputs: JPEG, MPO, PNG, APNG, GIF, WebP, TIFF and BMP files encoded from a
darknet test image, plus files whose headers declare huge sizes
(``tests/detection/image_corpus.py``), mutated by random byte flips,
truncations, insertions and repeated spans. Each input is read by
``netdsl.detection.load_image`` in a worker process (address space capped
at 4 GiB) and must give a valid (H, W, 3) uint8 array within the pixel
budget, or a ``NetdslError`` — never another exception, a Python warning
other than netdsl's ``ImageWarning``, or text on file descriptor 2. An
input taking over 10 s kills its worker and is reported as slow.

Prints inputs tried, rate, outcome counts, and each escaped exception, raw
warning, stray stderr output, crash or slow input, saving the input as a
reproducer in ``--findings`` (default: a netdsl-fuzz-findings folder in the
system temp directory). Exit status 1 if anything was found.
"""
from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "detection"))

SLOW_SECONDS = 10.0
MAX_PIXELS = 4_000_000  # a small budget so that "huge" is cheap to reach


def _classify_error(message: str) -> str:
    for key in ("pixel budget", "truncated", "damaged", "not a readable image", "pixel mode", "frames",
                "no pixels", "are not read", "WebP header", "EXIF"):
        if key in message:
            return key
    return "other NetdslError"


def _read_one(data: bytes, workdir: str) -> tuple[str, str]:
    """(outcome, detail) of reading ``data`` as an image file, in this (worker) process."""
    import warnings

    import numpy as np

    from netdsl.detection.image import ImageWarning, load_image
    from netdsl.graph.errors import NetdslError
    path = os.path.join(workdir, "input")
    with open(path, "wb") as f:
        f.write(data)
    # everything written to fd 2 during the read is a finding (the reader must capture decoder output)
    saved = os.dup(2)
    with tempfile.TemporaryFile() as err:
        os.dup2(err.fileno(), 2)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    image = load_image(path, MAX_PIXELS)
                    outcome = ("decoded", f"{image.shape}")
                    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3
                            and image.shape[2] == 3 and 0 < image.shape[0] * image.shape[1] <= MAX_PIXELS):
                        outcome = ("BAD ARRAY", f"{type(image).__name__} {getattr(image, 'shape', '')} "
                                                f"{getattr(image, 'dtype', '')}")
                except NetdslError as exc:
                    message = str(exc)
                    outcome = (f"refused: {_classify_error(message)}", message)
                    if "\n" in message or not message.startswith(path):
                        outcome = ("BAD ERROR MESSAGE", repr(message))
                except Exception as exc:  # noqa: BLE001 - that is what we are looking for
                    outcome = ("ESCAPED EXCEPTION", f"{exc.__class__.__module__}.{exc.__class__.__name__}: {exc}")
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        err.seek(0)
        stray = err.read().decode("utf-8", "replace").strip()
    raw = [w for w in caught if not issubclass(w.category, ImageWarning)]
    if raw:
        return "RAW WARNING", f"{raw[0].category.__name__}: {raw[0].message}"
    if stray:
        return "STRAY STDERR", stray[:300]
    if outcome[0].startswith("decoded") and caught:
        return "decoded with ImageWarning", str(caught[0].message)
    return outcome


def _worker(conn) -> None:
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    except (ImportError, ValueError, OSError):
        pass
    workdir = tempfile.mkdtemp(prefix="netdsl-fuzz-worker-")
    while True:
        data = conn.recv_bytes()
        conn.send(_read_one(data, workdir))


class Worker:
    def __init__(self, ctx):
        self.ctx = ctx
        self.start()

    def start(self):
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child,), daemon=True)
        self.proc.start()
        self.data = None
        self.started = 0.0

    def submit(self, data: bytes):
        self.data, self.started = data, time.monotonic()
        self.conn.send_bytes(data)

    def kill_and_restart(self):
        self.proc.kill()
        self.proc.join()
        self.start()


def seeds() -> dict[str, bytes]:
    import image_corpus as corpus
    img = corpus.source("dog.jpg", size=(64, 48))
    files = dict(corpus.valid_files(img))
    files["gray16.png"] = corpus.gray16_png(img)
    files["rgba.png"] = corpus.encode(img.convert("RGBA"), "PNG")
    files["cmyk.jpg"] = corpus.encode(img.convert("CMYK"), "JPEG")
    files.update(corpus.hostile_files(img))
    return files


def random_input(rng: random.Random, seed_files: dict[str, bytes]) -> tuple[str, bytes]:
    import image_corpus as corpus
    name = rng.choice(sorted(seed_files))
    data = seed_files[name]
    if rng.random() < 0.1:
        data = corpus.declare_size(data, rng.choice([0, 1, 2**14, 2**16 - 1, rng.randrange(1, 2**20)]),
                                   rng.choice([0, 1, 72, 2**15, rng.randrange(1, 2**20)]))
    ops = []
    for _ in range(rng.choice([1, 1, 2, 3, 5, 10])):
        kind = rng.choice(["flip", "flip", "flip", "cut", "insert", "repeat"])
        pos = rng.randrange(max(len(data), 1))
        if kind == "flip":
            ops.append(("flip", pos, rng.randrange(1, 256)))
        elif kind == "cut":
            ops.append(("cut", pos))
        elif kind == "insert":
            ops.append(("insert", pos, bytes(rng.randrange(256) for _ in range(rng.choice([1, 2, 4, 16])))))
        else:
            ops.append(("repeat", pos, rng.choice([1, 4, 64, 1024])))
    return name, corpus.mutate(data, ops)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1), help="worker processes")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: time-based, printed)")
    parser.add_argument("--findings", default=os.path.join(tempfile.gettempdir(), "netdsl-fuzz-findings"),
                        help="folder for reproducers")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    seed_files = seeds()
    findings = Path(args.findings)
    print(f"fuzzing netdsl.detection.load_image for {args.minutes} min with {args.workers} workers, seed {seed}, "
          f"{len(seed_files)} seed files, pixel budget {MAX_PIXELS:,}", flush=True)
    ctx = mp.get_context("spawn")
    workers = [Worker(ctx) for _ in range(args.workers)]
    counts: Counter[str] = Counter()
    problems: list[str] = []
    tried = 0
    start = time.monotonic()
    deadline = start + args.minutes * 60
    next_report = start + 60

    def record(kind: str, detail: str, data: bytes, origin: str) -> None:
        counts[kind] += 1
        if kind.isupper():
            findings.mkdir(parents=True, exist_ok=True)
            path = findings / f"{kind.lower().replace(' ', '-')}-{hashlib.sha1(data).hexdigest()[:12]}.bin"
            path.write_bytes(data)
            problems.append(f"{kind} ({origin}): {detail} -> reproducer {path}")
            print(problems[-1], flush=True)

    origins = {}
    for w in workers:
        origins[id(w)], data = random_input(rng, seed_files)
        w.submit(data)
    try:
        while workers:
            now = time.monotonic()
            for w in list(workers):
                if w.conn.poll(0.01):
                    try:
                        kind, detail = w.conn.recv()
                    except EOFError:
                        kind, detail = "CRASHED WORKER", f"exit code {w.proc.exitcode}"
                        record(kind, detail, w.data, origins[id(w)])
                        w.kill_and_restart()
                    else:
                        record(kind, detail, w.data, origins[id(w)])
                    tried += 1
                elif not w.proc.is_alive():
                    record("CRASHED WORKER", f"exit code {w.proc.exitcode}", w.data, origins[id(w)])
                    tried += 1
                    w.kill_and_restart()
                elif now - w.started > SLOW_SECONDS:
                    record("SLOW INPUT", f"over {SLOW_SECONDS:.0f} s", w.data, origins[id(w)])
                    tried += 1
                    w.kill_and_restart()
                else:
                    continue
                if time.monotonic() >= deadline:
                    w.proc.kill()
                    workers.remove(w)
                    continue
                origins[id(w)], data = random_input(rng, seed_files)
                w.submit(data)
            if time.monotonic() >= next_report:
                next_report += 60
                elapsed = time.monotonic() - start
                print(f"  {elapsed / 60:4.1f} min: {tried:,} inputs, {tried / elapsed:,.0f}/s", flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        for w in workers:
            w.proc.kill()
    elapsed = time.monotonic() - start
    print(f"\n{tried:,} inputs in {elapsed:,.0f} s ({tried / max(elapsed, 1e-9):,.0f} inputs/s), seed {seed}")
    for kind, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        print(f"  {n:>9,}  {kind}")
    bad = sum(n for kind, n in counts.items() if kind.isupper())
    print(f"findings: {bad}" + (f" (reproducers in {findings})" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
