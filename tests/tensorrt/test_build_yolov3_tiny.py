"""The YOLOv3-tiny engine: DSL + shipped HDF5 -> a real TensorRT-RTX AOT engine for sm86."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_cli_builds_yolov3_tiny_engine(rtx, tmp_path):
    out = tmp_path / "yolov3-tiny.engine"
    netdsl = Path(sys.executable).parent / "netdsl"
    result = subprocess.run([str(netdsl), "build", "yolov3-tiny", "--weights", str(REPO / "weights" / "yolov3-tiny.h5"),
                             "--target", "sm86", "-o", str(out)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    data = out.read_bytes()
    # fp32 weights alone are 8,858,734 floats = 35.4 MB; the plan must carry them
    assert len(data) > 35_000_000
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temp file left
    # The runtime parses the plan header; without a GPU it can only say INVALID for CUDA reasons,
    # never a malformed plan or a version mismatch (as it says for random bytes).
    trt = rtx.trt
    runtime = trt.Runtime(trt.Logger(trt.Logger.ERROR))
    header = data[:runtime.engine_header_size]
    _, diagnostics = runtime.get_engine_validity(header)
    bad = int(trt.EngineInvalidityDiagnostics.MALFORMED_ENGINE) | int(trt.EngineInvalidityDiagnostics.VERSION_MISMATCH)
    assert diagnostics & bad == 0
    _, garbage = runtime.get_engine_validity(bytes(len(header)))
    assert garbage & bad  # the check can fail


def test_lowering_gives_every_tensorrt_layer_a_unique_name(tmp_path):
    """Was: five '[ERROR] ... ILayer::setName ... already in use' lines in the verbose log (two helper layers of one
    kind under one netdsl layer, e.g. yolo16.to_rows::dim_floor_div). The only ERROR line left is the harmless
    cudaError 35 of an AOT build without a GPU."""
    netdsl = Path(sys.executable).parent / "netdsl"
    log = tmp_path / "build.log"
    result = subprocess.run([str(netdsl), "build", "yolov3-tiny", "--weights", str(REPO / "weights" / "yolov3-tiny.h5"),
                             "--target", "sm86", "-o", str(tmp_path / "x.engine"), f"--verbose={log}"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    text = log.read_text()
    assert "[VERBOSE] Original: 103 layers" in text.splitlines()   # the builder's whole log
    assert "already in use" not in text
    errors = [line for line in text.splitlines() if line.startswith("[ERROR]") and "cudaError" not in line]
    assert errors == [], errors[:3]
