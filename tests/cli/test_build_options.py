"""``netdsl build`` builder options (trtexec's names), --report / --verbose, and --precision wiring:
real TensorRT-RTX sm86 builds through the installed console script."""
import json

import pytest

from cli_run import REPO, WEIGHTS, assert_one_line_error, run

STATIC = ("--param", "batch=1", "--param", "height=416", "--param", "width=416")


def build(tmp_path, *options, target="sm86"):
    return run("build", "yolov3-tiny", "--weights", WEIGHTS, "--target", target, "-o", tmp_path / "y.engine",
               *STATIC, *options)


def test_knobs_report_and_verbose_file(tmp_path):
    result = build(tmp_path, "--builder-optimization-level", "1", "--max-aux-streams", "0",
                   "--mem-pool-size", "workspace:256,tactic_dram:1G", "--report", tmp_path / "report.json",
                   f"--verbose={tmp_path / 'build.log'}")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    config = report["config"]  # read back from TensorRT's IBuilderConfig
    assert config["builder_optimization_level"] == 1 and config["max_aux_streams"] == 0
    assert config["memory_pools"]["WORKSPACE"] == 256 << 20 and config["memory_pools"]["TACTIC_DRAM"] == 1 << 30
    assert report["streams"] == [0] and report["precision_summary"] == {"CONVOLUTION": {"FLOAT": 13}}
    assert "[VERBOSE] Layers:" in (tmp_path / "build.log").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build.log", "report.json", "y.engine"]
    assert result.stdout.splitlines()[-1] == f"wrote {tmp_path / 'report.json'} (22 kernels)"


def test_verbose_on_stderr_with_the_report_table(tmp_path):
    result = build(tmp_path, "--report", tmp_path / "report.json", "--verbose", "--workspace", "256")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert any(line.startswith("netdsl: tensorrt: [VERBOSE] ") for line in lines)
    assert "netdsl: tensorrt: [VERBOSE] Layers:" in lines
    assert "convolution: 13 in FLOAT" in lines
    assert any(line.startswith("auxiliary streams (*): kernels") and "conv15.conv" in line for line in lines)
    assert "Traceback" not in result.stderr
    # the CLI counts kernels as the report's table does (26 listing entries: 22 kernels, 4 signal/wait)
    assert any(line.endswith(": 22 kernels, 4 stream signal/wait entries, streams 0, 1") for line in lines)
    assert result.stdout.splitlines()[-1] == (f"wrote {tmp_path / 'report.json'} (22 kernels, 4 stream signal/wait "
                                              f"entries)")


def test_timing_cache_warns_on_rtx(tmp_path):
    result = build(tmp_path, "--timing-cache", tmp_path / "timing.cache")
    assert result.returncode == 0, result.stderr
    assert "netdsl: warning: timing cache" in result.stderr and "ignores timing caches" in result.stderr
    assert not (tmp_path / "timing.cache").exists()


@pytest.mark.parametrize("options, fragments", [
    (("--builder-optimization-level", "7"), ("--builder-optimization-level", "TensorRT-RTX 1.7", "keeps 5",
                                             "expected 7")),
    (("--mem-pool-size", "dlaSRAM:1"), ("--mem-pool-size", "dlaSRAM", "keeps 0 bytes, expected 1048576",
                                        "DLA disabled")),
    (("--mem-pool-size", "scratch:1"), ("--mem-pool-size", "unknown pool 'scratch'")),
    (("--mem-pool-size", "workspace"), ("--mem-pool-size 'workspace'", "expected POOL:SIZE")),
    (("--workspace", "64", "--mem-pool-size", "workspace:64"), ("--workspace", "--mem-pool-size", "not both")),
    (("--calibration", "calib.json"), ("--calibration needs --precision", "found --precision fp32")),
    (("--exclude", "conv0.*"), ("--exclude needs --precision",)),
])
def test_bad_options_fail_in_one_line(tmp_path, options, fragments):
    result = build(tmp_path, *options)
    assert_one_line_error(result, *fragments, status=1)
    assert list(tmp_path.iterdir()) == []


def test_negative_counts_are_usage_errors(tmp_path):
    result = build(tmp_path, "--max-aux-streams", "-1")
    assert_one_line_error(result, "--max-aux-streams", "expected an integer >= 0", status=2)


@pytest.mark.parametrize("precision, target, needs", [
    ("fp8", "sm86", "needs compute capability >= 8.9: sm89, sm120, sm121"),
    ("bf16", "sm75", "needs compute capability >= 8.0: sm80, sm86, sm89, sm120, sm121"),
])
def test_precision_a_target_lacks_fails_before_tensorrt(tmp_path, precision, target, needs):
    result = build(tmp_path, "--precision", precision, "--calibration", tmp_path / "calib.json", target=target)
    assert_one_line_error(result, f"--precision {precision}: TensorRT-RTX 1.7", f"for target {target}", needs,
                          status=1)
    assert list(tmp_path.iterdir()) == []


# -- through netdsl.quantization (apply_precision places the casts and Q/DQ pairs) -----------------------------------
def test_fp16_build_reports_half_convolutions(tmp_path):
    result = build(tmp_path, "--precision", "fp16", "--report", tmp_path / "report.json")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["precision_summary"]["CONVOLUTION"].get("HALF", 0) > 0
    assert report["warnings"] == []


def test_fp16_exclude_keeps_a_layer_in_float(tmp_path):
    result = build(tmp_path, "--precision", "fp16", "--exclude", "conv0.*", "--report", tmp_path / "report.json")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["layers"]["conv0.conv"]["precision"] == "FLOAT"
    assert report["layers"]["conv2.conv"]["precision"] == "HALF"


def test_bf16_build_on_sm86(tmp_path):
    result = build(tmp_path, "--precision", "bf16", "--report", tmp_path / "report.json")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["precision_summary"]["CONVOLUTION"].get("BF16", 0) > 0


@pytest.mark.parametrize("precision, target", [("int8", "sm86"), ("fp8", "sm89")])
def test_quantized_precision_without_calibration_fails_in_one_line(tmp_path, precision, target):
    result = build(tmp_path, "--precision", precision, target=target)
    assert_one_line_error(result, status=1)
    assert list(tmp_path.iterdir()) == []


def test_mem_pool_size_syntax_is_trtexecs():
    """trtexec --memPoolSize: MiB by default, base-2 B/K/M/G suffixes, decimals rounded down to bytes."""
    from netdsl.cli.common import parse_mem_pool_size
    assert parse_mem_pool_size("workspace:1024") == {"workspace": 1 << 30}
    assert parse_mem_pool_size("workspace:0.5,tacticSharedMem:48K,tactic_dram:2G,dlaSRAM:100B") == {
        "workspace": 1 << 19, "tacticSharedMem": 48 << 10, "tactic_dram": 2 << 30, "dlaSRAM": 100}
    assert parse_mem_pool_size("workspace:0.3M") == {"workspace": int(0.3 * (1 << 20))}


def test_comma_separated_targets_are_two_targets(tmp_path):
    """Was: unknown target(s) ['sm86,sm89']."""
    report = tmp_path / "r.json"
    result = run("build", "lenet5", "--weights", REPO / "weights" / "lenet5.h5", "--target", "sm86,sm89",
                 "-o", tmp_path / "l.engine", "--report", report)
    assert result.returncode == 0, result.stderr
    assert json.loads(report.read_text())["targets"] == ["sm86", "sm89"]
