"""Every CLI failure is one line on stderr with a non-zero status and no output file; Ctrl-C stops the
work with status 130; numeric options are validated; a closed pipe is not an error."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from cli_run import DATA, NETDSL, REPO, WEIGHTS, assert_one_line_error, run

from netdsl.cli import main

IMAGE = REPO / "samples" / "dog.jpg"


@pytest.mark.parametrize("args, fragment", [
    (["build", "yolov3-tiny", "-o", "x.engine"], "the following arguments are required: --weights"),
    (["detect", "yolov3-tiny", "--weights", "w.h5", "--bogus", "a.jpg"], "unrecognized arguments: --bogus"),
    (["detect", "yolov3-tiny", "--weights", "w.h5", "--backend", "cuda", "a.jpg"], "invalid choice: 'cuda'"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "the following arguments are required: command"),
])
def test_usage_errors_are_one_line(tmp_path, args, fragment):
    result = run(*args, cwd=tmp_path)
    assert_one_line_error(result, fragment, "--help", status=2)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option, value", [
    ("--conf", "-1"), ("--conf", "nan"), ("--conf", "1.5"), ("--conf", "inf"), ("--conf", "x"),
    ("--nms", "-0.1"), ("--nms", "nan"), ("--nms", "2"),
])
def test_detect_thresholds_must_be_probabilities(tmp_path, option, value):
    result = run("detect", "yolov3-tiny", "--weights", WEIGHTS, IMAGE, option, value)
    assert_one_line_error(result, f"argument {option}", "expected a number in [0, 1]", status=2)
    assert result.stdout == ""


@pytest.mark.parametrize("value", ["-5", "0", "1.5", "many"])
def test_workspace_must_be_a_positive_integer(tmp_path, value):
    out = tmp_path / "x.engine"
    result = run("build", "yolov3-tiny", "--weights", WEIGHTS, "--target", "sm86", "--workspace", value, "-o", out)
    assert_one_line_error(result, "argument --workspace", "expected a positive integer", status=2)
    assert not out.exists()


def test_workspace_checked_in_the_python_api_too():
    from netdsl.models.yolov3_tiny import build_network
    from netdsl.tensorrt import EngineBuildError, build_engine
    for bad in (0, -5, 1.5):
        with pytest.raises(EngineBuildError, match="workspace must be a positive number of bytes"):
            build_engine(build_network(batch=1, height=416, width=416), targets=("sm86",), workspace_bytes=bad)


def test_output_path_that_is_a_directory_fails_before_any_work(tmp_path):
    result = run("build", "yolov3-tiny", "--weights", tmp_path / "missing.h5", "--target", "sm86", "-o", tmp_path)
    # the output path is checked first: the missing weights file is not even reached
    assert_one_line_error(result, str(tmp_path), "is a directory")
    assert list(tmp_path.iterdir()) == []


def test_no_target_without_a_gpu_is_one_line_listing_targets(tmp_path):
    result = run("build", "yolov3-tiny", "--weights", WEIGHTS, "-o", tmp_path / "x.engine")
    assert_one_line_error(result, "no GPU on this machine", "--target sm86", "sm75", "sm120")
    assert list(tmp_path.iterdir()) == []


def test_duplicate_targets_refused(tmp_path):
    result = run("build", "yolov3-tiny", "--weights", WEIGHTS, "--target", "sm86", "--target", "SM_86",
                 "-o", tmp_path / "x.engine")
    assert_one_line_error(result, "given more than once")
    assert list(tmp_path.iterdir()) == []


def test_version():
    from netdsl import __version__
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"netdsl {__version__}"


def test_closed_pipe_is_not_an_error():
    """``netdsl inspect ... | head``: the reader goes away; no message, status 0."""
    proc = subprocess.Popen([NETDSL, "inspect", "yolov3-tiny", "--weights"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before netdsl writes a line
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, stderr
    assert stderr == ""


# -- user model files -----------------------------------------------------------------------------------

BLOCKS = '''
from netdsl import ActivationType

def conv_relu(net, x, k, name):
    with net.scope(name):
        x = net.add_convolution_nd(x, k, (1, 1), name="conv").output
        return net.add_activation(x, ActivationType.RELU, name="relu").output
'''

MODEL = '''
from netdsl import DataType, Network
{import_line}

def build_network():
    net = Network("user")
    x = net.add_input("x", DataType.FLOAT, (1, 2, 4, 4))
    net.mark_output(conv_relu(net, x, 3, "block"))
    return net
'''


@pytest.mark.parametrize("import_line", ["from .myblocks import conv_relu", "from myblocks import conv_relu",
                                         "import myblocks\nconv_relu = myblocks.conv_relu"])
def test_model_file_imports_modules_beside_it(tmp_path, import_line):
    (tmp_path / "myblocks.py").write_text(BLOCKS)
    (tmp_path / "my_model.py").write_text(MODEL.format(import_line=import_line))
    result = run("inspect", tmp_path / "my_model.py", cwd="/")
    assert result.returncode == 0, result.stderr
    assert "layer   block.relu ACTIVATION -> block.relu [1, 3, 4, 4] FLOAT" in result.stdout


@pytest.mark.parametrize("body, fragments", [
    ("from .nosuchblocks import conv\n", ["ModuleNotFoundError", "my_model.py:1"]),
    ("import numpy\n\n\ndef build_network(:\n    pass\n", ["SyntaxError", "my_model.py:4"]),
    ("x = 1 / 0\n", ["ZeroDivisionError: division by zero", "my_model.py:1"]),
])
def test_model_file_that_fails_to_import_is_one_line(tmp_path, body, fragments):
    model = tmp_path / "my_model.py"
    model.write_text(body)
    result = run("inspect", model)
    assert_one_line_error(result, "model file", "failed to import", *fragments)


def test_model_file_without_build_network(tmp_path):
    model = tmp_path / "empty.py"
    model.write_text("X = 1\n")
    assert_one_line_error(run("inspect", model), "defines no build_network()")


def test_folder_named_models_in_working_directory_is_harmless(tmp_path):
    """The zoo installs as netdsl.models: a user's own ``models`` package does not shadow it."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("raise RuntimeError('user package imported')\n")
    result = run("inspect", "yolov3-tiny", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    result = subprocess.run([sys.executable, "-m", "netdsl.cli", "inspect", "yolov3-tiny"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_no_top_level_models_package_installed():
    import importlib.util
    assert importlib.util.find_spec("netdsl.models") is not None
    result = subprocess.run([sys.executable, "-c", "import models"], cwd="/", capture_output=True, text=True)
    assert result.returncode != 0 and "No module named 'models'" in result.stderr


# -- Ctrl-C --------------------------------------------------------------------------------------------

def _interrupt_at_step(monkeypatch, step_to_interrupt):
    """Make the CLI's build progress reporter press Ctrl-C (a real SIGINT) at a given TensorRT build step."""
    import contextlib

    import netdsl.cli.progress as progress
    seen = []

    class Reporter:
        def phase_start(self, name, parent, num_steps):
            pass

        def step(self, name, step):
            seen.append(name)
            if len(seen) == step_to_interrupt:
                signal.raise_signal(signal.SIGINT)

        def phase_finish(self, name):
            pass

    monkeypatch.setattr(progress, "build_progress", lambda stream: contextlib.nullcontext(Reporter()))
    return seen


@pytest.mark.parametrize("step", [1, 20])
def test_ctrl_c_during_tensorrt_build_cancels_it(tmp_path, monkeypatch, capsys, step):
    seen = _interrupt_at_step(monkeypatch, step)
    out = tmp_path / "x.engine"
    status = main(["build", "yolov3-tiny", "--weights", str(WEIGHTS), "--target", "sm86", "-o", str(out)])
    captured = capsys.readouterr()
    assert status == 130
    assert captured.err == "netdsl: interrupted\n" and captured.out == ""
    assert len(seen) == step  # TensorRT stopped at the next step: the build was cancelled, not finished
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_in_python_api_build_raises_keyboard_interrupt(monkeypatch):
    from netdsl.models.yolov3_tiny import build_network
    from netdsl.tensorrt import build_engine
    from netdsl.weights import load_weights
    net = build_network(batch=1, height=416, width=416)
    load_weights(net, WEIGHTS)

    class Reporter:
        def phase_start(self, *a):
            pass

        def step(self, name, step):
            signal.raise_signal(signal.SIGINT)

        def phase_finish(self, *a):
            pass

    with pytest.raises(KeyboardInterrupt):
        build_engine(net, targets=("sm86",), progress=Reporter())
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


def test_ctrl_c_during_convert_leaves_no_file(tmp_path, monkeypatch, capsys, yolov3_tiny_darknet_weights):
    import h5py
    calls = []
    original = h5py.Group.create_dataset

    def create_dataset(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 10:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", create_dataset)
    status = main(["convert", "darknet", "--cfg", str(DATA / "darknet" / "cfg" / "yolov3-tiny.cfg"),
                   "--weights", str(yolov3_tiny_darknet_weights), "-o", str(tmp_path / "w.h5")])
    assert status == 130 and capsys.readouterr().err == "netdsl: interrupted\n"
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_during_detect(tmp_path, monkeypatch, capsys):
    import netdsl.reference.executor as executor
    monkeypatch.setattr(executor, "lookup", lambda layer: (_ for _ in ()).throw(KeyboardInterrupt))
    (tmp_path / "o").mkdir()
    status = main(["detect", "yolov3-tiny", "--weights", str(WEIGHTS), str(IMAGE), "--out", str(tmp_path / "o")])
    assert status == 130 and capsys.readouterr().err == "netdsl: interrupted\n"
    assert list((tmp_path / "o").iterdir()) == []


MARKED_MODEL = '''
import time
from pathlib import Path
from netdsl import DataType, Network

def build_network():
    Path({marker!r}).write_text("started")
    time.sleep(60)
'''


def test_ctrl_c_signal_to_the_process_is_one_line_and_status_130(tmp_path):
    marker = tmp_path / "started"
    model = tmp_path / "slow_model.py"
    model.write_text(MARKED_MODEL.format(marker=str(marker)))
    out = tmp_path / "x.engine"
    proc = subprocess.Popen([NETDSL, "build", str(model), "--weights", str(WEIGHTS), "--target", "sm86",
                             "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert stderr == "netdsl: interrupted\n" and stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slow_model.py", "started"]


@pytest.mark.parametrize("delay", [0.3, 0.6, 0.9])
def test_ctrl_c_at_any_moment_of_a_build_never_leaves_a_partial_engine(tmp_path, delay):
    """Whenever Ctrl-C lands, the run either finished (complete engine, status 0) or stopped cleanly.

    (Not before 0.3 s: in the interpreter's own first ~30 ms — site-packages processing, before any
    netdsl code runs — CPython prints its own KeyboardInterrupt traceback; nothing a program can change.)
    """
    out = tmp_path / "x.engine"
    proc = subprocess.Popen([NETDSL, "build", "yolov3-tiny", "--weights", str(WEIGHTS), "--target", "sm86",
                             "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    names = sorted(p.name for p in tmp_path.iterdir())
    if proc.returncode == 0:
        assert names == ["x.engine"] and stdout.startswith(f"wrote {out}"), (names, stdout, stderr)
        assert f"({out.stat().st_size:,} bytes)" in stdout
    else:
        assert (proc.returncode, stderr, names) == (130, "netdsl: interrupted\n", [])


class _Terminal:
    """A text stream that says it is a terminal (as stderr in an interactive shell)."""

    def __init__(self):
        import io
        self.buffer = io.StringIO()

    def isatty(self):
        return True

    def write(self, text):
        return self.buffer.write(text)

    def flush(self):
        pass


def test_build_progress_bar_follows_tensorrt_phases():
    """On a terminal, the build draws TensorRT's phases and steps (IProgressMonitor); elsewhere nothing."""
    import io

    from netdsl.cli.progress import build_progress
    from netdsl.models.yolov3_tiny import build_network
    from netdsl.tensorrt import build_engine
    from netdsl.weights import load_weights
    with build_progress(io.StringIO()) as reporter:
        assert reporter is None
    net = build_network(batch=1, height=416, width=416)
    load_weights(net, WEIGHTS)
    terminal = _Terminal()
    phases, steps = [], []
    with build_progress(terminal) as reporter:
        phase_start, step = reporter.phase_start, reporter.step
        reporter.phase_start = lambda name, parent, n: (phases.append((name, parent, n)), phase_start(name, parent, n))
        reporter.step = lambda name, i: (steps.append((name, i)), step(name, i))
        build_engine(net, targets=("sm86",), progress=reporter)
    assert phases[0][:2] == ("Building engine", None) and len(phases) >= 5 and len(steps) >= 50
    drawn = terminal.buffer.getvalue()
    assert "Building engine" in drawn and "step" in drawn


def test_a_copied_zoo_model_runs_and_a_relative_import_says_where_blocks_come_from(tmp_path):
    """The zoo models import the shipped blocks absolutely, so a copy runs anywhere; a file that imports
    ``from .blocks`` with no blocks.py beside it is told where the shipped ones are."""
    copy = tmp_path / "my_yolo.py"
    copy.write_text((REPO / "models" / "yolov3_tiny.py").read_text())
    assert run("inspect", copy).returncode == 0
    relative = tmp_path / "relative.py"
    relative.write_text(copy.read_text().replace("from netdsl.models.blocks import", "from .blocks import"))
    result = run("inspect", relative)
    assert_one_line_error(result, f"model file {relative} failed to import at {relative}:",
                          "ModuleNotFoundError: no blocks.py beside relative.py for its relative import (from .blocks "
                          "import ...); the shipped blocks are imported as 'from netdsl.models.blocks import ...'")
