"""Long fuzz runs of netdsl's framework importers (not in CI; the test suite runs short hypothesis versions).

    python tools/fuzz_importers.py FORMAT --minutes N [--seed S]

FORMAT: torch, safetensors, keras, onnx, wts, or all. Each case mutates a
seed file (real files from tests/data where the format has one — MTCNN's
pnet.pt — plus small generated ones: a zip-format torch.save, safetensors,
a Keras weights file, an ONNX model, a tensorrtx .wts) with random bit
flips, byte / 32-bit overwrites, insertions, deletions and truncations, and
imports it. The invariant: a valid result or a NetdslError — never another
exception. Cases run in this process; a case slower than --slow seconds is
reported (a hang shows as a run that never finishes). Prints, per format:
cases, results, NetdslErrors, slowest case, and any violation with the
mutated file saved for reproduction.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "support"))

from importer_fuzz import FORMATS, mutate, run_case, seeds  # noqa: E402


def fuzz(fmt: str, seconds: float, seed: int, slow: float, out: Path) -> int:
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = seeds(fmt, folder)
        counts = {"cases": 0, "ok": 0, "error": 0}
        slowest, failures = 0.0, 0
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            i = int(rng.integers(len(files)))
            data = mutate(files[i], rng)
            t0 = time.monotonic()
            try:
                result = run_case(fmt, data, folder, i)
            except BaseException as exc:  # noqa: BLE001 - the invariant under test
                if isinstance(exc, KeyboardInterrupt):
                    raise
                failures += 1
                dump = out / f"fuzz-{fmt}-{counts['cases']}.bin"
                dump.write_bytes(data)
                print(f"{fmt}: VIOLATION {type(exc).__name__}: {exc} (saved {dump})")
                traceback.print_exc(limit=3)
                result = None
            elapsed = time.monotonic() - t0
            slowest = max(slowest, elapsed)
            if elapsed > slow:
                print(f"{fmt}: slow case {elapsed:.2f} s")
            counts["cases"] += 1
            if isinstance(result, dict):
                counts["ok"] += 1
            elif result is not None:
                counts["error"] += 1
        print(f"{fmt}: {counts['cases']} cases in {seconds / 60:.1f} min: {counts['ok']} imported, "
              f"{counts['error']} NetdslError, {failures} violations; slowest case {slowest * 1000:.0f} ms")
    return failures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("format", choices=FORMATS + ("all",))
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--slow", type=float, default=5.0, help="report cases slower than this (seconds)")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for files that broke the invariant")
    args = parser.parse_args(argv)
    formats = FORMATS if args.format == "all" else (args.format,)
    failures = sum(fuzz(f, args.minutes * 60, args.seed, args.slow, args.out) for f in formats)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
