"""HALF and BF16 layers compute with the weights the engine holds: rounded to fp16 / bf16.

The TensorRT lowering converts every weight to the layer's input dtype (``LoweringContext.weights`` /
``constant``), so the reference must too. For each weighted layer the kernel's result (before the
executor rounds the output) must equal a float64 torch computation with weights pre-rounded by torch
(``.half()`` / ``.bfloat16()``, round to nearest even), and differ measurably from the same computation
with unrounded weights. The executor's output must be that result rounded to the output dtype.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from netdsl import DataType, Network
from netdsl.graph.enums import RNNDirection, RNNOperation, ScaleMode
from netdsl.reference import execute
from netdsl.reference.registry import lookup

TORCH_DTYPE = {DataType.HALF: torch.float16, DataType.BF16: torch.bfloat16}


def rounded(a, dtype):
    """float64 tensor of ``a`` rounded to ``dtype`` by torch (the oracle's own rounding)."""
    t = torch.as_tensor(np.asarray(a, np.float32))
    return t.to(TORCH_DTYPE[dtype]).double() if dtype in TORCH_DTYPE else t.double()


def plain(a):
    return torch.as_tensor(np.asarray(a, np.float32)).double()


def build(shape, dtype, body, seed=0):
    """input (FLOAT) -> cast to dtype -> body(net, x) -> Layer; weights bound with random normals."""
    net = Network("precision")
    x = net.add_cast(net.add_input("x", DataType.FLOAT, shape), dtype, name="cast").output
    layer = body(net, x)
    net.mark_output(layer.get_output(0))
    rng = np.random.default_rng(seed)
    weights = {n: rng.standard_normal(w.shape).astype(np.float32) for n, w in net.weights().items()
               if not w.is_bound}
    for name in weights:
        if name.endswith(".variance"):
            weights[name] = np.abs(weights[name]) + 0.5
    net.bind_weights(weights)
    return net, layer, {n: w.value for n, w in net.weights().items()}


def kernel_result(layer, x32, dtype):
    """The reference kernel's float32 result on the dtype-rounded input (before output rounding)."""
    xin = rounded(x32, dtype).float().numpy()
    out = lookup(layer)(layer, xin)
    return np.asarray(out[0] if isinstance(out, (list, tuple)) else out, np.float64)


def conv_oracle(w, x, dtype, r):
    return F.conv2d(r(x, dtype), r(w["conv.kernel"], dtype), r(w["conv.bias"], dtype), padding=1)


def deconv_oracle(w, x, dtype, r):
    return F.conv_transpose2d(r(x, dtype), r(w["up.kernel"], dtype), r(w["up.bias"], dtype), stride=2)


def scale_oracle(w, x, dtype, r):
    return r(x, dtype) * r(w["sc.scale"], dtype).reshape(1, -1, 1, 1) + r(w["sc.shift"], dtype).reshape(1, -1, 1, 1)


def _bn_coefficients(w, prefix, eps=1e-5):
    """The batch-norm scale and shift as netdsl derives them: float64, then stored as float32."""
    g, b, m, v = (w[f"{prefix}.{k}"].astype(np.float64) for k in ("scale", "bias", "mean", "variance"))
    s = g / np.sqrt(v + eps)
    return s.astype(np.float32), (b - m * s).astype(np.float32)


def bn_oracle(w, x, dtype, r):
    s, shift = _bn_coefficients(w, "bn")
    return r(x, dtype) * r(s, dtype).reshape(1, -1, 1, 1) + r(shift, dtype).reshape(1, -1, 1, 1)


def folded_oracle(w, x, dtype, r):
    s, _ = _bn_coefficients(w, "bn")
    g, b, m = (w[f"bn.{k}"].astype(np.float64) for k in ("scale", "bias", "mean"))
    kernel = (w["conv.kernel"].astype(np.float64) * s.astype(np.float64).reshape(-1, 1, 1, 1)).astype(np.float32)
    bias = ((0.0 - m) * (g / np.sqrt(w["bn.variance"].astype(np.float64) + 1e-5)) + b).astype(np.float32)
    return F.conv2d(r(x, dtype), r(kernel, dtype), r(bias, dtype), padding=1)


def prelu_oracle(w, x, dtype, r):
    xr = r(x, dtype)
    return torch.where(xr >= 0, xr, r(w["pr.slopes"], dtype) * xr)


def layer_norm_oracle(w, x, dtype, r):
    return F.layer_norm(r(x, dtype), (4, 6), r(w["ln.scale"], dtype), r(w["ln.bias"], dtype), eps=1e-5)


def group_norm_oracle(w, x, dtype, r):
    return F.group_norm(r(x, dtype), 2, r(w["gn.scale"], dtype), r(w["gn.bias"], dtype), eps=1e-5)


def _rnn_oracle(kind, w, x, dtype, r, name, bidirectional=False, lbr=True):
    """torch.nn.LSTM / GRU / RNN in float64 with the loop's weights: biases folded in float32 (b_ih + b_hh,
    except the GRU's b_hn, which stays in the recurrent bias with linear_before_reset), then rounded."""
    cls = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU, "TANH": torch.nn.RNN}[kind]
    net = cls(3, 5, batch_first=False, bidirectional=bidirectional).double()
    hidden = 5
    for suffix in ([""] + (["_reverse"] if bidirectional else [])):
        b_ih, b_hh = w[f"{name}.l0{suffix}.bias_ih"], w[f"{name}.l0{suffix}.bias_hh"]
        if kind == "GRU":
            folded = b_ih.copy()
            folded[:2 * hidden] += b_hh[:2 * hidden]
            recurrent = np.zeros_like(b_hh)
            recurrent[2 * hidden:] = b_hh[2 * hidden:]
        else:
            folded, recurrent = b_ih + b_hh, np.zeros_like(b_hh)
        with torch.no_grad():
            getattr(net, f"weight_ih_l0{suffix}").copy_(r(w[f"{name}.l0{suffix}.weight_ih"], dtype))
            getattr(net, f"weight_hh_l0{suffix}").copy_(r(w[f"{name}.l0{suffix}.weight_hh"], dtype))
            getattr(net, f"bias_ih_l0{suffix}").copy_(r(folded, dtype))
            getattr(net, f"bias_hh_l0{suffix}").copy_(r(recurrent, dtype))
    with torch.no_grad():
        return net(r(x, dtype))[0]


def fc_oracle(w, x, dtype, r):
    """Two layers, as built: the matmul's output is rounded to dtype, then the bias add's."""
    flat = r(x, dtype).reshape(2, -1)
    product = rounded((flat @ r(w["fc.kernel"], dtype).T).numpy(), dtype)
    return (product + r(w["fc.bias"], dtype)).reshape(2, 7, 1, 1)


CASES = {
    "convolution": ((2, 3, 8, 8), lambda n, x: n.add_convolution_nd(x, 6, (3, 3), padding_nd=(1, 1), name="conv"),
                    conv_oracle),
    "deconvolution": ((1, 3, 5, 5), lambda n, x: n.add_deconvolution_nd(x, 4, (3, 3), stride_nd=2, name="up"),
                      deconv_oracle),
    "scale": ((2, 4, 5, 5), lambda n, x: n.add_scale_nd(x, ScaleMode.CHANNEL, True, True, name="sc"), scale_oracle),
    "batch_norm": ((2, 4, 5, 5), lambda n, x: n.add_batch_norm(x, name="bn"), bn_oracle),
    "conv_batch_norm_folded": ((1, 3, 6, 6), lambda n, x: n.add_conv_batch_norm(x, 5, (3, 3), padding_nd=(1, 1),
                                                                                fold=True), folded_oracle),
    "parametric_relu": ((2, 4, 5, 5), lambda n, x: n.add_parametric_relu(x, name="pr"), prelu_oracle),
    "layer_norm": ((3, 4, 6), lambda n, x: n.add_layer_norm(x, (4, 6), name="ln"), layer_norm_oracle),
    "group_norm": ((2, 4, 3, 3), lambda n, x: n.add_group_norm(x, 2, name="gn"), group_norm_oracle),
    "lstm": ((6, 2, 3), lambda n, x: n.add_rnn(x, 1, 5, RNNOperation.LSTM, name="lstm"),
             lambda w, x, d, r: _rnn_oracle("LSTM", w, x, d, r, "lstm")),
    "gru": ((6, 2, 3), lambda n, x: n.add_rnn(x, 1, 5, RNNOperation.GRU, name="gru"),
            lambda w, x, d, r: _rnn_oracle("GRU", w, x, d, r, "gru")),
    "rnn_tanh_bidirectional": ((6, 2, 3), lambda n, x: n.add_rnn(x, 1, 5, RNNOperation.TANH,
                                                                  direction=RNNDirection.BIDIRECTION, name="rnn"),
                               lambda w, x, d, r: _rnn_oracle("TANH", w, x, d, r, "rnn", bidirectional=True)),
}
FULLY_CONNECTED = ((2, 3, 2, 2), lambda n, x: n.add_fully_connected(x, 7, name="fc"), fc_oracle)


@pytest.mark.parametrize("dtype", [DataType.HALF, DataType.BF16], ids=["fp16", "bf16"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_kernel_uses_engine_rounded_weights(case, dtype):
    if case == "deconvolution" and dtype is DataType.BF16:
        pytest.skip("TensorRT's deconvolution takes no BF16 (add_deconvolution_nd refuses it)")
    shape, body, oracle = CASES[case]
    net, layer, w = build(shape, dtype, body)
    x = (np.random.default_rng(1).standard_normal(shape) * 2).astype(np.float32)
    got = kernel_result(layer, x, dtype)
    want = oracle(w, x, dtype, rounded).numpy()
    unrounded = oracle(w, x, dtype, lambda a, d: plain(a) if a is not x else rounded(a, d)).numpy()
    scale = np.abs(want).max()
    error, effect = np.abs(got - want).max() / scale, np.abs(unrounded - want).max() / scale
    assert error < 2e-6, f"{case} {dtype.name}: reference differs from the rounded-weights oracle by {error:.2e}"
    assert effect > 20 * max(error, 1e-7), f"{case} {dtype.name}: weight rounding is not measurable ({effect:.2e})"
    # and the executor's output is that result rounded to the output dtype (fp16: NumPy's rounding)
    out = execute(net, {"x": x})[layer.get_output(0).name].astype(np.float64)
    np.testing.assert_array_equal(out, rounded(got, dtype).numpy())


@pytest.mark.parametrize("dtype", [DataType.HALF, DataType.BF16], ids=["fp16", "bf16"])
def test_fully_connected_constants_are_rounded_by_their_cast(dtype):
    """add_fully_connected's kernel and bias are FLOAT constants cast to the input's dtype: rounded the same way."""
    shape, body, oracle = FULLY_CONNECTED
    net, layer, w = build(shape, dtype, body)
    x = (np.random.default_rng(1).standard_normal(shape) * 2).astype(np.float32)
    out = execute(net, {"x": x})["fc"].astype(np.float64)
    want = rounded(oracle(w, x, dtype, rounded).numpy(), dtype).numpy()
    unrounded = rounded(oracle(w, x, dtype, lambda a, d: plain(a) if a is not x else rounded(a, d)).numpy(),
                        dtype).numpy()
    step = 2.0 ** -10 if dtype is DataType.HALF else 2.0 ** -7  # relative spacing of the dtype
    product = np.abs(want) + np.abs(w["fc.bias"]).reshape(1, -1, 1, 1)
    assert np.all(np.abs(out - want) <= product * step)  # one step of the matmul's rounding (summation order)
    assert np.mean(out == want) > np.mean(out == unrounded)


@pytest.mark.parametrize("dtype", [DataType.HALF, DataType.BF16], ids=["fp16", "bf16"])
def test_constant_holds_dtype_values(dtype):
    values = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)
    net = Network("const")
    layer = net.add_constant((3, 4), values, dtype=dtype, name="c")
    net.mark_output(layer.output)
    out = execute(net, {})["c"].astype(np.float64)
    np.testing.assert_array_equal(out, rounded(values, dtype).numpy())
    assert np.any(out != values)
