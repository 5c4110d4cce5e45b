"""Run the installed ``netdsl`` console script and check its one-line errors."""
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = REPO / "weights" / "yolov3-tiny.h5"
DATA = REPO / "tests" / "data"
NETDSL = shutil.which("netdsl", path=str(Path(sys.executable).parent)) or "netdsl"


def run(*args, cwd=None, timeout=600, **kwargs):
    """``netdsl <args>`` as a subprocess; returns the CompletedProcess (text mode)."""
    return subprocess.run([NETDSL, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          **kwargs)


def assert_one_line_error(result, *fragments, status=None):
    """A failed run: non-zero (or the given) status, exactly one stderr line ``netdsl: error: ...`` holding each fragment."""
    assert result.returncode != 0 if status is None else result.returncode == status, (result.returncode,
                                                                                      result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("netdsl: error:"), lines[0]
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    assert "Traceback" not in result.stderr
