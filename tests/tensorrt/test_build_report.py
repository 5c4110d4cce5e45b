"""The build report: TensorRT's own kernel listing (fixtures in tests/data/tensorrt, and live TensorRT-RTX sm86
builds) joined with the netdsl network — fusions, precisions, auxiliary streams, quantization fallbacks."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from netdsl import DataType
from netdsl.files import OutputPathError
from netdsl.tensorrt import build_engine
from netdsl.tensorrt.report import (build_report, find_listing, format_table, parse_listing, report_from_log,
                                    write_report)
from netdsl.weights import load_weights

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "data" / "tensorrt"
WEIGHTS = REPO / "weights" / "yolov3-tiny.h5"
CONVS = ["conv0", "conv2", "conv4", "conv6", "conv8", "conv10", "conv12", "conv13", "conv14", "conv15", "conv18",
         "conv21", "conv22"]


def yolo(fold_batch_norm=True):
    from netdsl.models import load_model
    net = load_model("yolov3-tiny").build_network(batch=1, height=416, width=416, fold_batch_norm=fold_batch_norm)
    load_weights(net, WEIGHTS)
    return net


def fixture_kernels(name):
    return parse_listing(find_listing((FIXTURES / name).read_text()))


def by_layer(report):
    """netdsl layer -> the kernels (JSON dicts) naming it."""
    out = {}
    for k in report["kernels"]:
        for name in k["layers"]:
            out.setdefault(name, []).append(k)
    return out


@pytest.fixture(scope="module")
def yolo_reports(rtx):
    """Live fp32 YOLOv3-tiny (static 416) sm86 build reports: batch norm folded, kept as a SCALE layer, and
    folded with --max-aux-streams 0."""
    out = {}
    for key, fold, aux in (("folded", True, None), ("scale", False, None), ("one_stream", True, 0)):
        net = yolo(fold)
        engine, report = build_engine(net, targets=("sm86",), tensorrt=rtx, report=True, max_aux_streams=aux)
        assert len(engine) > 35_000_000
        out[key] = (net, report)
    return out


# -- the parser, on a real log ---------------------------------------------------------------------------------
def test_fixture_listing_parses():
    kernels = fixture_kernels("yolov3_tiny_fp32_sm86.log")
    assert len(kernels) == 26
    assert [k.kind for k in kernels].count("runtime_fusion") == 10
    assert [k.kind for k in kernels].count("correlation") == 3
    assert [k.kind for k in kernels].count("maxpool") == 6
    assert sorted(k.kind for k in kernels if k.is_sync) == ["signal", "signal", "wait", "wait"]
    first = kernels[1]
    assert first.name == "__myl_CorrMulMax_myl0_1"
    assert first.layers == ["conv0.leaky", "conv0.conv"]  # TensorRT's order; the report sorts by network order
    assert first.inputs[0].dims == [1, 3, 416, 416] and first.inputs[0].dtype == "FLOAT"
    assert first.inputs[0].format == "(NHWC) Channel major format"
    assert [w.dims for w in first.weights] == [[16, 3, 3, 3], [1, 16, 1, 1]]  # kernel and bias
    assert first.outputs[0].dims == [1, 16, 416, 416]
    assert kernels[0].layers == [] and kernels[0].kind == "kgen"  # TensorRT's own input reformat
    decode = kernels[-1]
    assert {o.name for o in decode.outputs} == {"boxes", "scores"}
    assert "yolo16.sigmoid_xy" in decode.layers and "yolo23.exp_wh" in decode.layers


def test_fixture_report_names_each_fusion():
    report = build_report(fixture_kernels("yolov3_tiny_fp32_sm86.log"), yolo())
    layers = by_layer(report)
    for conv in CONVS:
        (kernel,) = layers[f"{conv}.conv"]
        if conv in ("conv15", "conv22"):  # linear heads: the convolution alone (bias inside)
            assert kernel["kind"] == "correlation" and kernel["layers"] == [f"{conv}.conv"]
        elif conv == "conv18":  # its leaky ReLU goes into the upsample + concatenation kernel instead
            assert kernel["kind"] == "correlation" and kernel["layers"] == ["conv18.conv"]
            (fused,) = layers["conv18.leaky"]
            assert fused["kind"] == "kgen" and fused["layers"] == ["conv18.leaky", "upsample19", "route20"]
        else:
            assert kernel["kind"] == "runtime_fusion" and kernel["layers"] == [f"{conv}.conv", f"{conv}.leaky"]
            assert kernel["name"].startswith("__myl_CorrMulMax")
    assert report["precision_summary"] == {"CONVOLUTION": {"FLOAT": 13}}
    aux = [report["kernels"][i] for i in report["aux_stream_kernels"]]
    assert [k["layers"] for k in aux] == [["conv14.conv", "conv14.leaky"], ["conv15.conv"]]
    assert report["streams"] == [0, 1]
    events = [(k["kind"], k["stream"], k["event"]) for k in report["kernels"] if "event" in k]
    assert events == [("signal", 0, 1), ("wait", 1, 1), ("signal", 1, 2), ("wait", 0, 2)]
    assert report["warnings"] == []


def test_fixture_quantized_convolution_int8_on_sm86():
    report = build_report(fixture_kernels("qdq_conv_int8_sm86.log"), quantized={"c0.conv": "INT8"})
    conv = report["layers"]["c0.conv"]
    kernel = report["kernels"][conv["kernel"]]
    assert kernel["kind"] == "correlation" and conv["precision"] == "INT8"
    assert [w["dtype"] for w in kernel["weights"]][:1] == ["INT8"]
    assert [o["dtype"] for o in kernel["outputs"]] == ["FLOAT"]
    # the Q/DQ pairs are folded into the convolution kernel and its neighbours
    assert {"c0.in.dq", "c0.wq.dq", "c0.wq.q"} <= set(kernel["layers"])
    assert report["warnings"] == []


def test_fixture_quantized_convolution_falls_back_to_float_on_sm75():
    report = build_report(fixture_kernels("qdq_conv_int8_sm75.log"), quantized={"c0.conv": "INT8"})
    conv = report["layers"]["c0.conv"]
    kernel = report["kernels"][conv["kernel"]]
    assert kernel["kind"] == "correlation" and conv["precision"] == "FLOAT"
    assert kernel["layers"] == ["c0.conv", "c0.relu"]
    assert report["warnings"] == ["c0.conv: asked to run in INT8 (inside a Q/DQ pair), TensorRT runs it in FLOAT "
                                  "(kernel 2 c0.conv_myl0_2, correlation)"]


def test_a_log_without_listing_gives_a_warning_and_no_kernels():
    report = report_from_log([("VERBOSE", "Engine generation completed in 0.1 seconds.")])
    assert report["kernels"] == [] and "no 'Layers:' listing" in report["warnings"][0]


# -- live builds: the same answers from TensorRT itself ------------------------------------------------------------
def test_live_report_matches_the_fixture(yolo_reports):
    _, live = yolo_reports["folded"]
    fixture = build_report(fixture_kernels("yolov3_tiny_fp32_sm86.log"), yolo())
    summary = [(k["kind"], k["layers"], k["stream"], k["precision"]) for k in live["kernels"]]
    assert summary == [(k["kind"], k["layers"], k["stream"], k["precision"]) for k in fixture["kernels"]]


@pytest.mark.parametrize("form", ["folded", "scale"])
def test_no_leaky_relu_or_batch_norm_runs_alone(yolo_reports, form):
    net, report = yolo_reports[form]
    types = {layer.name: layer.type.name for layer in net.layers}
    pointwise = {n for n, t in types.items() if t in ("ACTIVATION", "SCALE")}
    assert len([n for n in pointwise if n.endswith(".leaky")]) == 11
    assert len([n for n in pointwise if n.endswith(".bn")]) == (0 if form == "folded" else 11)
    layers = by_layer(report)
    for name in pointwise:
        assert layers.get(name), f"{name} is in no kernel"
        for kernel in layers[name]:
            others = [n for n in kernel["layers"] if types[n] not in ("ACTIVATION", "SCALE")]
            assert others, f"{name} runs as a kernel of its own: {kernel['name']}"
    if form == "scale":  # the batch norm sits in its convolution's kernel
        for i in CONVS:
            if f"{i}.bn" in types:
                assert by_layer(report)[f"{i}.bn"] == by_layer(report)[f"{i}.conv"] or i == "conv18"
    assert report["precision_summary"] == {"CONVOLUTION": {"FLOAT": 13}}


def test_aux_streams(yolo_reports):
    _, default = yolo_reports["folded"]
    aux = [default["kernels"][i] for i in default["aux_stream_kernels"]]
    assert aux and all(k["stream"] > 0 for k in aux)
    assert {n for k in aux for n in k["layers"]} == {"conv14.conv", "conv14.leaky", "conv15.conv"}
    _, single = yolo_reports["one_stream"]
    assert single["config"]["max_aux_streams"] == 0
    assert single["streams"] == [0] and single["aux_stream_kernels"] == []
    assert not [k for k in single["kernels"] if k["kind"] in ("signal", "wait")]


def test_every_lowered_layer_carries_its_netdsl_name_as_metadata(rtx):
    from netdsl.tensorrt.builder import to_trt_network
    net = yolo()
    names = {layer.name for layer in net.layers}
    _, trt_network, _ = to_trt_network(net, rtx)
    helpers = 0
    for i in range(trt_network.num_layers):
        layer = trt_network.get_layer(i)
        assert layer.metadata in names, (layer.name, layer.metadata)
        assert layer.name.split("::")[0] == layer.metadata
        helpers += "::" in layer.name
    assert helpers > 0  # e.g. yolo16.to_rows::shape_of_images


def test_fp16_network_reports_half_convolutions(rtx):
    from netdsl import ActivationType, Network
    net = Network("half")
    x = net.add_input("images", DataType.FLOAT, (1, 16, 64, 64))
    h = net.add_cast(x, DataType.HALF, name="to_half").output
    for i in range(2):
        h = net.add_convolution_nd(h, 32, (3, 3), padding_nd=(1, 1), name=f"conv{i}").output
        h = net.add_activation(h, ActivationType.LEAKY_RELU, alpha=0.1, name=f"leaky{i}").output
    net.mark_output(net.add_cast(h, DataType.FLOAT, name="to_float").output)
    rng = np.random.default_rng(0)
    net.bind_weights({n: rng.standard_normal(w.shape).astype(np.float32) * 0.1 for n, w in net.weights().items()})
    _, report = build_engine(net, targets=("sm86",), tensorrt=rtx, report=True)
    assert report["precision_summary"] == {"CONVOLUTION": {"HALF": 2}}
    for i in range(2):
        kernel = report["kernels"][report["layers"][f"conv{i}"]["kernel"]]
        assert kernel["weights"][0]["dtype"] == "HALF"  # the convolution kernel (filter) weights
        assert [o["dtype"] for o in kernel["outputs"]] == ["HALF"]
    # measured: the first leaky ReLU fuses into its convolution, the last one into the cast back to FLOAT
    assert [(k["kind"], k["layers"]) for k in report["kernels"]] == [
        ("kgen", ["to_half"]), ("runtime_fusion", ["conv0", "leaky0"]), ("correlation", ["conv1"]),
        ("kgen", ["leaky1", "to_float"])]


def test_live_quantized_convolution(rtx):
    """The fixture's Q/DQ network built live: INT8 on sm86, the FLOAT fallback (and its warning) on sm75."""
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    make_fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_fixtures)
    from netdsl.tensorrt.logger import NO_GPU_PROBE, make_logger
    found = {}
    for target in ("sm86", "sm75"):
        logger = make_logger(rtx.trt, NO_GPU_PROBE)
        builder, network, keep = make_fixtures.build_qdq_network(rtx, logger)
        config = builder.create_builder_config()
        rtx.set_profiling_verbosity(config, "DETAILED")
        rtx.set_targets(config, [target])
        assert builder.build_serialized_network(network, config) is not None
        found[target] = report_from_log(logger.messages, quantized={"c0.conv": "INT8"})
    assert found["sm86"]["layers"]["c0.conv"]["precision"] == "INT8" and found["sm86"]["warnings"] == []
    assert found["sm75"]["layers"]["c0.conv"]["precision"] == "FLOAT"
    assert found["sm75"]["warnings"][0].startswith("c0.conv: asked to run in INT8 (inside a Q/DQ pair), "
                                                   "TensorRT runs it in FLOAT")


# -- output ------------------------------------------------------------------------------------------------------
def test_table_and_json(yolo_reports, tmp_path):
    _, report = yolo_reports["folded"]
    table = format_table(report)
    lines = table.splitlines()
    assert lines[0].startswith("TensorRT-RTX 1.7") and "22 kernels, 4 stream signal/wait entries" in lines[0]
    assert any(line.split()[:2] == ["1", "runtime_fusion"] and line.endswith("conv0.conv + conv0.leaky")
               for line in lines)
    assert "convolution: 13 in FLOAT" in lines
    path = write_report(tmp_path / "report.json", report)
    assert json.loads(Path(path).read_text()) == json.loads(json.dumps(report))
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
    with pytest.raises(OutputPathError):
        write_report(tmp_path / "missing" / "report.json", report)


def test_report_records_the_optimization_profiles(rtx):
    """Was: only -1 dimensions in the report; the profile's ranges were in the verbose log alone."""
    from netdsl import ActivationType, Network
    net = Network("dyn")
    x = net.add_input("x", DataType.FLOAT, ("batch", 3, "height", 32))
    net.mark_output(net.add_activation(x, ActivationType.RELU, name="relu").output)
    profiles = [{"x": ((1, 3, 8, 32), (2, 3, 16, 32), (4, 3, 64, 32))}]
    _, report = build_engine(net, targets=("sm86",), tensorrt=rtx, report=True, profiles=profiles)
    assert report["config"]["profiles"] == [{"min": {"batch": 1, "height": 8}, "opt": {"batch": 2, "height": 16},
                                             "max": {"batch": 4, "height": 64}}]
    json.dumps(report)   # still one JSON document
