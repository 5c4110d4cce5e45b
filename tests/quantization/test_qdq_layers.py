"""Q/DQ layers against ONNX QuantizeLinear / DequantizeLinear (onnx.reference, onnxruntime for INT8) and
ml_dtypes casts; NVFP4 dynamic quantization against an independent per-block transcription; TensorRT-RTX
builds on the targets that take each type, and the refusal before TensorRT on the others."""
import ml_dtypes
import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from netdsl import DataType, Network
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.reference import execute
from netdsl.tensorrt.compat import check_target_datatypes, unsupported_datatype
from netdsl.tensorrt.errors import EngineBuildError

D = DataType
ONNX_TYPE = {D.INT8: TensorProto.INT8, D.FP8: TensorProto.FLOAT8E4M3FN, D.INT4: TensorProto.INT4,
             D.FP4: TensorProto.FLOAT4E2M1}
ML = {D.INT8: np.int8, D.FP8: ml_dtypes.float8_e4m3fn, D.INT4: ml_dtypes.int4, D.FP4: ml_dtypes.float4_e2m1fn}


def onnx_qdq(op, x, scale, qtype, axis=None, block=None, opset=23):
    """QuantizeLinear (x float32 -> qtype) or DequantizeLinear (x qtype -> float32) by onnx.reference."""
    attrs = {k: v for k, v in (("axis", axis), ("block_size", block)) if v is not None}
    node = helper.make_node(op, ["x", "s", "z"], ["y"], **attrs)
    in_type = TensorProto.FLOAT if op == "QuantizeLinear" else ONNX_TYPE[qtype]
    out_type = ONNX_TYPE[qtype] if op == "QuantizeLinear" else TensorProto.FLOAT
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", in_type, None),
                                            helper.make_tensor_value_info("s", TensorProto.FLOAT, None),
                                            helper.make_tensor_value_info("z", ONNX_TYPE[qtype], None)],
                              [helper.make_tensor_value_info("y", out_type, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    zero = np.zeros(np.shape(scale), ML[qtype])
    return ReferenceEvaluator(model).run(None, {"x": x, "s": np.asarray(scale, np.float32), "z": zero})[0]


def qdq_net(x_shape, scale, qtype, axis=None, dtype=D.FLOAT):
    net = Network("qdq")
    x = net.add_input("x", dtype, x_shape)
    q = net.add_quantize(x, scale, qtype, axis=axis, name="q").output
    net.mark_output(q)
    net.mark_output(net.add_dequantize(q, scale, dtype, axis=axis, name="dq").output)
    return net


def values(shape, seed=0, spread=4.0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * spread).astype(np.float32)
    flat = x.reshape(-1)
    flat[:8] = [0.5, 1.5, 2.5, -2.5, 1e6, -1e6, 0.0, -0.0][:flat.size]  # ties and saturation
    return x


@pytest.mark.parametrize("qtype", [D.INT8, D.FP8])
def test_per_tensor_matches_onnx(qtype):
    x = values((3, 5, 7))
    got = execute(qdq_net(x.shape, 0.5, qtype), {"x": x})
    want_q = onnx_qdq("QuantizeLinear", x, np.float32(0.5), qtype)
    np.testing.assert_array_equal(got["q"].astype(np.float32), want_q.astype(np.float32))
    assert got["q"].dtype == qtype.to_numpy()
    np.testing.assert_array_equal(got["dq"], onnx_qdq("DequantizeLinear", want_q, np.float32(0.5), qtype))


def test_int8_per_channel_matches_onnxruntime():
    x = values((4, 6, 5), seed=1)
    scale = np.array([0.1, 0.02, 0.5, 1.0, 0.03, 0.25], np.float32)
    got = execute(qdq_net(x.shape, scale, D.INT8, axis=1), {"x": x})
    node = helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"], axis=1)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                              [helper.make_tensor_value_info("y", TensorProto.INT8, x.shape)],
                              [helper.make_tensor("s", TensorProto.FLOAT, (6,), scale),
                               helper.make_tensor("z", TensorProto.INT8, (6,), np.zeros(6, np.int8))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 9
    want = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_array_equal(got["q"], want)
    np.testing.assert_array_equal(got["dq"], want.astype(np.float32) * scale[None, :, None])


@pytest.mark.parametrize("qtype,block", [(D.INT4, 4), (D.FP4, 4), (D.INT8, 8), (D.FP8, 2)])
def test_block_quantization_matches_onnx(qtype, block):
    x = values((6, 16), seed=2, spread=3.0)
    rng = np.random.default_rng(3)
    scale = rng.uniform(0.05, 1.0, (6, 16 // block)).astype(np.float32)
    net = qdq_net(x.shape, scale, qtype)
    assert net.layer("q").granularity == "block" and net.layer("q").block_shape == (1, block)
    got = execute(net, {"x": x})
    want_q = onnx_qdq("QuantizeLinear", x, scale, qtype, axis=1, block=block)
    np.testing.assert_array_equal(got["q"].astype(np.float32), want_q.astype(np.float32))
    np.testing.assert_array_equal(got["dq"], onnx_qdq("DequantizeLinear", want_q, scale, qtype, axis=1, block=block))


def test_half_input_scale_held_in_half():
    """A HALF quantize holds its scale in float16 (as the engine): 0.1 becomes 0.0999755859375."""
    x = np.array([[1.0, -3.0, 12.7]], np.float16)
    got = execute(qdq_net(x.shape, 0.1, D.INT8, dtype=D.HALF), {"x": x})
    s16 = np.float32(np.float16(0.1))
    np.testing.assert_array_equal(got["q"], np.clip(np.rint(x.astype(np.float32) / s16), -128, 127).astype(np.int8))
    assert got["dq"].dtype == np.float16


def transcribe_nvfp4(x, block, d):
    """Independent per-block loop of the NVFP4 formula (TensorRT IDynamicQuantizeLayer / Quantization Schemes)."""
    data = np.zeros_like(x, dtype=np.float32)
    scales = np.zeros((x.shape[0], x.shape[1] // block), np.float32)
    for r in range(x.shape[0]):
        for b in range(x.shape[1] // block):
            chunk = x[r, b * block:(b + 1) * block].astype(np.float32)
            s = np.float32(np.abs(chunk).max() / np.float32(6.0) / np.float32(d))
            s = np.float32(np.array(min(s, 448.0), np.float32).astype(ml_dtypes.float8_e4m3fn))
            scales[r, b] = s
            for k, v in enumerate(chunk):
                q = v / (s * np.float32(d)) if s > 0 else 0.0
                data[r, b * block + k] = np.float32(np.array(np.clip(q, -6, 6), np.float32).astype(ml_dtypes.float4_e2m1fn))
    return data, scales


def test_dynamic_quantize_nvfp4_matches_transcription_and_dequantizes():
    x = values((4, 48), seed=4, spread=2.0)
    net = Network("nvfp4")
    t = net.add_input("x", D.FLOAT, x.shape)
    layer = net.add_dynamic_quantize(t, -1, 16, "FP4", "FP8", double_quant_scale=0.01, name="dq")
    scale = net.add_dequantize(layer.get_output(1), 0.01, D.FLOAT, name="scale").output
    net.mark_output(net.add_dequantize(layer.get_output(0), scale, D.FLOAT, name="x_hat").output)
    net.mark_output(layer.get_output(0))
    net.mark_output(layer.get_output(1))
    assert layer.get_output(0).dtype is D.FP4 and layer.get_output(1).shape == (4, 3)
    got = execute(net, {"x": x})
    data, scales = transcribe_nvfp4(x, 16, 0.01)
    np.testing.assert_array_equal(got["dq"].astype(np.float32), data)
    np.testing.assert_array_equal(got["dq:1"].astype(np.float32), scales)
    np.testing.assert_allclose(got["x_hat"], data * np.repeat(scales * np.float32(0.01), 16, axis=1), rtol=1e-6)


@pytest.mark.parametrize("call,message", [
    (lambda n, x: n.add_quantize(x, np.ones(3, np.float32), D.INT8, axis=1, name="L"),
     r"^L: per-channel scale has 3 values, expected 4 \(input 'x' \(2, 4, 6\) axis 1\)$"),
    (lambda n, x: n.add_quantize(x, np.ones(4, np.float32), D.INT8, name="L"), r"^L: a 1-D \(per-channel\) scale"),
    (lambda n, x: n.add_quantize(x, 0.5, D.INT4, name="L"), r"^L: INT4 quantization takes block scales only"),
    (lambda n, x: n.add_quantize(x, -0.5, D.INT8, name="L"), r"^L: every scale must be finite and > 0"),
    (lambda n, x: n.add_quantize(x, 0.5, D.INT8, zero_point=1, name="L"), r"^L: zero_point must be all zeros"),
    (lambda n, x: n.add_quantize(x, 0.5, D.HALF, name="L"), r"^L: output_type must be one of INT8, FP8, INT4, FP4"),
    (lambda n, x: n.add_dequantize(x, 0.5, D.FLOAT, name="L"), r"^L: input 'x' must be INT8, FP8, INT4, FP4"),
    (lambda n, x: n.add_quantize(x, np.ones((2, 4, 4), np.float32), D.INT4, name="L"),
     r"^L: block scale shape \(2, 4, 4\) does not divide"),
    (lambda n, x: n.add_cast(x, D.FP8, name="L"), r"^L: to_type FP8 is a quantized type"),
])
def test_errors_are_one_line_naming_the_layer(call, message):
    net = Network("errors")
    x = net.add_input("x", D.FLOAT, (2, 4, 6))
    with pytest.raises(NetworkDefinitionError, match=message):
        call(net, x)


def test_zero_point_of_zeros_is_accepted():
    net = Network("zp")
    x = net.add_input("x", D.FLOAT, (2, 3))
    assert net.add_quantize(x, np.ones(3, np.float32), D.INT8, axis=1, zero_point=np.zeros(3, np.int8)).zero_point


def test_packed_4bit_weights_follow_tensorrt_layout():
    """TensorRT "Explicit Quantization": two 4-bit elements per byte, the first in the low nibble."""
    from netdsl.tensorrt.lowering.context import low_precision_bytes
    packed = low_precision_bytes(np.array([1, -2, 7], np.float32), D.INT4)
    assert packed.tolist() == [0x1 | (0xE << 4), 0x7]
    packed = low_precision_bytes(np.array([0.5, -6.0], np.float32), D.FP4)  # E2M1 codes 0b0001, 0b1111
    assert packed.tolist() == [0x1 | (0xF << 4)]


def test_target_datatype_questions():
    assert unsupported_datatype(D.FP8, "sm89") is None and unsupported_datatype(D.FP4, "sm120") is None
    assert "sm89+" in unsupported_datatype(D.FP8, "sm86")
    assert unsupported_datatype(D.FP4, "SM_89") and unsupported_datatype(D.BF16, "sm75")
    assert unsupported_datatype(D.BF16, "sm80") is None and unsupported_datatype(D.INT4, "sm75") is None
    net = qdq_net((2, 3), 0.5, D.FP8)
    check_target_datatypes(net, ["sm89", "sm120"])
    with pytest.raises(EngineBuildError, match=r"^tensor 'q' \(layer q\): DataType.FP8 needs .* target sm86 is 8.6$"):
        check_target_datatypes(net, ["sm89", "sm86"])


# -- TensorRT-RTX builds (ahead of time, no GPU) ------------------------------------------------------

def conv_qdq_net(qtype, act, per_channel=True, seed=0):
    rng = np.random.default_rng(seed)
    qmax = 127.0 if qtype is D.INT8 else 448.0
    net = Network(f"conv_{qtype.name.lower()}")
    x = net.add_input("x", D.FLOAT, (1, 8, 16, 16))
    h = net.add_cast(x, act, name="x_cast").output if act is not D.FLOAT else x
    h = net.add_dequantize(net.add_quantize(h, 4.0 / qmax, qtype, name="xq").output, 4.0 / qmax, act,
                           name="xdq").output
    w = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    scale = (np.abs(w).reshape(16, -1).max(1) / qmax).astype(np.float32) if per_channel \
        else np.float32(np.abs(w).max() / qmax)
    k = net.add_constant(w.shape, w, name="k").output
    if act is not D.FLOAT:
        k = net.add_cast(k, act, name="k_cast").output
    axis = 0 if per_channel else None
    k = net.add_dequantize(net.add_quantize(k, scale, qtype, axis=axis, name="kq").output, scale, act, axis=axis,
                           name="kdq").output
    net.mark_output(net.add_convolution_nd(h, 16, (3, 3), kernel=k, bias=np.zeros(16, np.float32), padding_nd=1,
                                           name="conv").output)
    return net


@pytest.mark.parametrize("act,per_channel", [(D.FLOAT, True), (D.HALF, False)])
def test_int8_convolution_builds_on_sm86(build_engine_rtx, act, per_channel):
    build_engine_rtx(conv_qdq_net(D.INT8, act, per_channel), targets=("sm86",))


def test_fp8_convolution_builds_on_sm89_and_is_refused_for_sm86(build_engine_rtx, rtx):
    net = conv_qdq_net(D.FP8, D.HALF)
    build_engine_rtx(net, targets=("sm89",))
    with pytest.raises(EngineBuildError, match="DataType.FP8 needs .*sm89"):
        check_target_datatypes(net, ("sm86",))
    from netdsl.tensorrt import build_engine
    # build_engine refuses it before TensorRT is called (TensorRT itself would say "HW-specific datatypes: fp8_e4m3")
    with pytest.raises(EngineBuildError, match="cannot build FP8 for target sm86 .needs compute capability >= 8.9"):
        build_engine(net, tensorrt=rtx, targets=("sm86",), workspace_bytes=1 << 28)


def weight_only_net(qtype, block, act=D.HALF, k=128):
    rng = np.random.default_rng(5)
    qmax = {D.INT4: 7.0, D.FP4: 6.0, D.INT8: 127.0}[qtype]
    w = rng.standard_normal((32, k)).astype(np.float32)
    scale = (np.abs(w).reshape(32, k // block, block).max(-1) / qmax).astype(np.float32)
    net = Network(f"wo_{qtype.name.lower()}")
    x = net.add_input("x", act, (4, k))
    c = net.add_cast(net.add_constant(w.shape, w, name="w").output, act, name="w_cast").output
    c = net.add_dequantize(net.add_quantize(c, scale, qtype, name="wq").output, scale, act, name="wdq").output
    net.mark_output(net.add_matrix_multiply(x, "none", c, "transpose", name="mm").output)
    return net, w, scale


@pytest.mark.parametrize("block", [32, 64, 128])
def test_int4_weight_only_matmul_builds_on_sm86(build_engine_rtx, block):
    net, w, scale = weight_only_net(D.INT4, block)
    build_engine_rtx(net, targets=("sm86",))
    x = np.random.default_rng(6).standard_normal((4, 128)).astype(np.float16)
    w16 = w.astype(np.float16).astype(np.float32)  # the constant is cast to HALF before it is quantized
    wq = np.clip(np.rint(w16 / np.repeat(np.float16(scale).astype(np.float32), block, 1)), -8, 7)
    want = x.astype(np.float32) @ (wq * np.repeat(np.float16(scale).astype(np.float32), block, 1)).T
    np.testing.assert_allclose(execute(net, {"x": x})["mm"].astype(np.float32), want, rtol=2e-3, atol=2e-2)


def test_fp4_weight_only_and_nvfp4_build_only_on_sm120(build_engine_rtx, rtx):
    net, _, _ = weight_only_net(D.FP4, 16)
    build_engine_rtx(net, targets=("sm120",))
    with pytest.raises(EngineBuildError, match="DataType.FP4 needs"):
        check_target_datatypes(net, ("sm89",))
    nv = Network("nvfp4")
    x = nv.add_input("x", D.HALF, (16, 64))
    dyn = nv.add_dynamic_quantize(x, 1, 16, D.FP4, D.FP8, double_quant_scale=0.01, name="dq")
    s = nv.add_dequantize(dyn.get_output(1), 0.01, D.HALF, name="scale_dq").output
    xd = nv.add_dequantize(dyn.get_output(0), s, D.HALF, name="x_dq").output
    w = nv.add_cast(nv.add_constant((32, 64), np.ones((32, 64), np.float32), name="w").output, D.HALF,
                    name="w_cast").output
    ws = np.full((32, 4), 1 / 6, np.float32)
    w = nv.add_dequantize(nv.add_quantize(w, ws, D.FP4, name="wq").output, ws, D.HALF, name="wdq").output
    nv.mark_output(nv.add_matrix_multiply(xd, "none", w, "transpose", name="mm").output)
    build_engine_rtx(nv, targets=("sm120",))
