"""apply_precision: an identical fp32 rebuild, Q/DQ placement checked against an independent NumPy
fake-quantization of the same network, autocast placement, weight-only matmuls built on sm86, and the
one-line refusals."""
import numpy as np
import pytest

from netdsl import ActivationType, DataType, ElementWiseOperation, LayerType, Network
from netdsl.quantization import Calibration, Policy, PrecisionError, apply_policy, apply_precision, weights_digest
from netdsl.reference import execute


def residual_net(seed=0):
    rng = np.random.default_rng(seed)
    net = Network("res")
    x = net.add_input("x", DataType.FLOAT, (1, 3, 8, 8))
    a = net.add_convolution_nd(x, 4, (3, 3), padding_nd=1, name="conv1").output
    a = net.add_activation(a, ActivationType.RELU, name="relu1").output
    b = net.add_convolution_nd(a, 4, (3, 3), padding_nd=1, bias=False, name="conv2").output
    s = net.add_elementwise(a, b, ElementWiseOperation.SUM, name="residual").output
    y = net.add_convolution_nd(s, 2, (1, 1), name="head").output
    y = net.add_unary(y, "exp", name="tail_exp").output  # after the last weighted layer: stays float
    net.mark_output(y)
    net.bind_weights({n: (rng.standard_normal(w.shape) * 0.5).astype(np.float32) for n, w in net.weights().items()})
    return net


def calibration_for(net, amax):
    return Calibration(amax=amax, method="max", model=net.name, weights_sha256=weights_digest(net))


AMAX = {"x": 3.0, "relu1": 2.5, "conv2": 4.0, "residual": 6.0}


def fake_quant(x, amax_or_scale, axis=None, per_channel=False):
    """Independent symmetric INT8 fake quantization: round half to even, clip to [-128, 127]."""
    s = amax_or_scale
    return np.clip(np.rint(x / s), -128, 127) * s


def conv(x, w, b):
    import torch
    out = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), None if b is None else
                                     torch.from_numpy(b), padding=w.shape[-1] // 2)
    return out.numpy()


def test_fp32_rebuild_is_identical():
    net = residual_net()
    new = apply_precision(net, "fp32")
    assert [(l.name, l.type, l.attrs) for l in new.layers] == [(l.name, l.type, l.attrs) for l in net.layers]
    assert list(new.weights()) == list(net.weights())
    assert all(new.weights()[n].value is w.value for n, w in net.weights().items())  # the same arrays
    x = np.random.default_rng(1).standard_normal((1, 3, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(execute(new, {"x": x})["tail_exp"], execute(net, {"x": x})["tail_exp"])


def test_int8_placement_and_values_match_numpy_fake_quantization():
    net = residual_net()
    q = apply_precision(net, "int8", calibration=calibration_for(net, AMAX))
    names = [l.name for l in q.layers]
    for layer in ("conv1", "conv2", "head"):
        assert f"{layer}.input_quantize" in names and f"{layer}.kernel_quantize" in names
        k = q.layer(f"{layer}.kernel_quantize")
        assert k.granularity == "channel" and k.axis == 0 and k.to_type is DataType.INT8
    assert {"residual.input0_quantize", "residual.input1_quantize"} <= set(names)
    assert q.layer("tail_exp").inputs[0].dtype is DataType.FLOAT and "tail_exp.input_quantize" not in names
    # independent NumPy simulation of the quantized network
    w = {n: v.value for n, v in net.weights().items()}

    def wq(kernel):
        s = np.abs(kernel).reshape(kernel.shape[0], -1).max(1) / 127
        return fake_quant(kernel, s.reshape(-1, 1, 1, 1).astype(np.float32))
    x = np.random.default_rng(2).standard_normal((1, 3, 8, 8)).astype(np.float32)
    sc = {k: np.float32(v / 127) for k, v in AMAX.items()}
    a = np.maximum(conv(fake_quant(x, sc["x"]), wq(w["conv1.kernel"]), w["conv1.bias"]), 0)
    b = conv(fake_quant(a, sc["relu1"]), wq(w["conv2.kernel"]), None)
    s = fake_quant(a, sc["relu1"]) + fake_quant(b, sc["conv2"])
    y = np.exp(conv(fake_quant(s, sc["residual"]), wq(w["head.kernel"]), w["head.bias"]))
    np.testing.assert_allclose(execute(q, {"x": x})["tail_exp"], y, rtol=1e-4, atol=1e-5)


def test_deterministic_rebuild():
    net = residual_net()
    cal = calibration_for(net, AMAX)
    a, b = (apply_precision(net, "int8", calibration=cal) for _ in range(2))
    assert [(l.name, l.type, str(l.attrs)) for l in a.layers] == [(l.name, l.type, str(l.attrs)) for l in b.layers]
    assert all(np.array_equal(np.asarray(a.weights()[n].value), np.asarray(w.value))
               for n, w in b.weights().items())


def test_exclude_and_force():
    net = residual_net()
    cal = calibration_for(net, AMAX)
    q = apply_precision(net, "int8", calibration=cal, exclude=("conv*",))
    names = [l.name for l in q.layers]
    assert "conv1.input_quantize" not in names and "head.input_quantize" in names
    h = apply_policy(net, Policy("int8", force={"head": "fp16"}), calibration=cal)
    assert h.layer("head").outputs[0].dtype is DataType.HALF and "head.input_quantize" not in [l.name for l in h.layers]
    assert h.outputs[0].dtype is DataType.FLOAT


def test_fp16_autocast_keeps_tail_and_outputs_in_float():
    from netdsl.models import yolov3_tiny
    net = yolov3_tiny.build_network()
    h = apply_precision(net, "fp16")  # unbound weights work: the same names are declared
    assert list(h.weights()) == list(net.weights())
    assert h.layer("conv0.conv").outputs[0].dtype is DataType.HALF
    assert h.layer("conv15.conv").outputs[0].dtype is DataType.HALF
    assert h.layer("yolo16.exp_wh").outputs[0].dtype is DataType.FLOAT  # the decode stays FLOAT
    assert [t.dtype for t in h.outputs] == [DataType.FLOAT, DataType.FLOAT]
    assert h.layer("images.to_half").type is LayerType.CAST


def fc_net():
    rng = np.random.default_rng(4)
    net = Network("fc")
    x = net.add_input("x", DataType.FLOAT, (2, 128, 1, 1))
    y = net.add_fully_connected(x, 64, kernel=rng.standard_normal((64, 128)).astype(np.float32), name="fc").output
    y = net.add_activation(y, ActivationType.RELU, name="relu").output
    net.mark_output(net.add_fully_connected(y, 10, name="out").output)
    net.bind_weights({n: (rng.standard_normal(w.shape) * 0.1).astype(np.float32)
                      for n, w in net.weights().items() if not w.is_bound})
    return net


@pytest.mark.parametrize("precision,qtype,granularity", [("int8-weight-only", DataType.INT8, "channel"),
                                                         ("int4-weight-only", DataType.INT4, "block")])
def test_weight_only_matmul(build_engine_rtx, precision, qtype, granularity):
    net = fc_net()
    q = apply_precision(net, precision)
    layer = q.layer("fc.matmul.input1_quantize")
    assert layer.to_type is qtype and layer.granularity == granularity
    if qtype is DataType.INT4:
        assert layer.block_shape == (1, 128)  # the contracted axis of the (64, 128) TRANSPOSE kernel
    assert not any(l.name.endswith("input0_quantize") for l in q.layers)  # activations stay float
    x = np.random.default_rng(5).standard_normal((2, 128, 1, 1)).astype(np.float32)
    ref, got = execute(net, {"x": x})["out"], execute(q, {"x": x})["out"]
    assert np.linalg.norm(got - ref) / np.linalg.norm(ref) < (0.02 if qtype is DataType.INT8 else 0.2)
    build_engine_rtx(q, targets=("sm86",))


@pytest.mark.parametrize("kwargs,message", [
    (dict(precision="int8"), r"^precision int8: INT8/FP8 activations need a calibration"),
    (dict(precision="fp8", calibration="OK", target="sm86"),
     r"^precision fp8: DataType.FP8 needs a GPU of compute capability 8.9 or newer \(sm89\+\), target sm86 is 8.6$"),
    (dict(precision="bf16", target="sm75"), r"^precision bf16: DataType.BF16 needs .* target sm75 is 7.5$"),
    (dict(precision="int8", calibration="OTHER"), r"^calibration: calibrated for weights sha256 "),
    (dict(precision="int8", calibration="RENAMED"), r"^calibration: calibrated for model 'other', network is 'res'$"),
    (dict(precision="int8", calibration="SHORT"),
     r"^conv1: calibration gives 3 per-channel amax values for weights 'conv1.kernel', expected 4 "),
    (dict(precision="int8", calibration="OK", exclude=("conv9*",)),
     r"^exclude pattern 'conv9\*' matches no layer of network 'res'$"),
    (dict(precision="int16"), r"^unknown precision 'int16'"),
    (dict(precision="int8-weight-only"), r"^precision int8-weight-only quantizes the constant operands"),
    (dict(precision="int8", calibration="MISSING"), r"^conv2: the calibration has no amax for its input tensor "
                                                    r"'relu1'"),
])
def test_refusals_are_one_line(kwargs, message):
    net = residual_net()
    cal = kwargs.get("calibration")
    if cal is not None:
        good = calibration_for(net, AMAX)
        kwargs["calibration"] = {
            "OK": good, "OTHER": calibration_for(residual_net(seed=9), AMAX),
            "RENAMED": Calibration(AMAX, "max", "other", good.weights_sha256),
            "SHORT": Calibration(AMAX, "max", "res", good.weights_sha256, weight_amax={"conv1.kernel": [1, 2, 3]}),
            "MISSING": Calibration({k: v for k, v in AMAX.items() if k != "relu1"}, "max", "res",
                                   good.weights_sha256)}[cal]
    precision = kwargs.pop("precision")
    with pytest.raises(PrecisionError, match=message) as err:
        apply_precision(net, precision, **kwargs)
    assert "\n" not in str(err.value)
