"""Pointwise families build real TensorRT-RTX engines (AOT, sm86): every op and type, fp32, fp16 and bf16.

Many ops share one network per dtype (a build takes a fraction of a second).
Lowering checks that TensorRT infers the same output shapes and, strongly
typed, dtypes as netdsl; names of helper layers are checked where they matter.
"""
import numpy as np
import pytest

import netdsl as nd
from netdsl import ActivationType, DataType, ElementWiseOperation, ScaleMode, UnaryOperation
from netdsl.layers.elementwise import ELEMENTWISE_TYPES, UNARY_TYPES
from netdsl.tensorrt import to_trt_network

FLOATS = [DataType.FLOAT, DataType.HALF, DataType.BF16]
FLOAT_IDS = ["fp32", "fp16", "bf16"]
PARAMS = {ActivationType.LEAKY_RELU: (0.1, 0.0), ActivationType.ELU: (1.0, 0.0),
          ActivationType.SELU: (1.6732632, 1.0507010), ActivationType.SOFTPLUS: (1.0, 1.0),
          ActivationType.CLIP: (0.0, 6.0), ActivationType.HARD_SIGMOID: (1 / 6, 0.5),
          ActivationType.SCALED_TANH: (1.7159, 2 / 3), ActivationType.THRESHOLDED_RELU: (0.5, 0.0)}


def typed_input(net, name, dtype, shape):
    """A network input of ``dtype``; HALF and BF16 come from a FLOAT input through a cast (as deployed)."""
    if dtype in (DataType.HALF, DataType.BF16):
        return net.add_cast(net.add_input(name, DataType.FLOAT, shape), dtype, name=f"{name}_to_{dtype.name}").output
    return net.add_input(name, dtype, shape)


def mark_all(net, tensors):
    for t in tensors:
        net.mark_output(t)


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_activations_prelu_and_composites(build, rtx, dtype):
    net = nd.Network("act")
    x = typed_input(net, "x", dtype, (1, 3, 4, 4))
    outs = [net.add_activation(x, t, *PARAMS.get(t, (0.0, 0.0)), name=t.name.lower()).output for t in ActivationType]
    outs.append(net.add_parametric_relu(x, np.array([0.1, -0.2, 0.3], np.float32).reshape(1, 3, 1, 1),
                                        name="prelu_const").output)
    slopes = typed_input(net, "slopes", dtype, (1, 3, 1, 4))
    outs.append(net.add_parametric_relu(x, slopes, name="prelu_tensor").output)
    outs += [net.add_mish(x).output, net.add_swish(x).output, net.add_silu(x).output, net.add_hard_swish(x).output]
    mark_all(net, outs)
    build(net)
    _, _, ctx = to_trt_network(net, rtx)
    names = [trt_layer.name for trt_layer, _ in ctx.layers]
    assert "prelu_const" in names and "mish" in names and "mish.tanh" in names


@pytest.mark.parametrize("dtype", [DataType.INT32, DataType.INT64], ids=lambda d: d.name)
def test_relu_on_integers(build, dtype):
    net = nd.Network("irelu")
    net.mark_output(net.add_activation(net.add_input("x", dtype, (2, 5)), ActivationType.RELU).output)
    build(net)


@pytest.mark.parametrize("dtype", FLOATS + [DataType.INT32, DataType.INT64, DataType.BOOL],
                         ids=FLOAT_IDS + ["int32", "int64", "bool"])
def test_every_elementwise_op(build, dtype):
    """Every op the dtype allows, on broadcast shapes (1, 3, 1, 5) x (2, 1, 4, 5)."""
    net = nd.Network("ew")
    a = typed_input(net, "a", dtype, (1, 3, 1, 5))
    b = typed_input(net, "b", dtype, (2, 1, 4, 5))
    ops = [op for op in ElementWiseOperation if dtype in ELEMENTWISE_TYPES[op.name]]
    assert ops
    outs = [net.add_elementwise(a, b, op, name=op.name.lower()).output for op in ops]
    assert all(t.shape == (2, 3, 4, 5) for t in outs)
    mark_all(net, outs)
    build(net)


@pytest.mark.parametrize("dtype", FLOATS + [DataType.INT32, DataType.INT64, DataType.BOOL],
                         ids=FLOAT_IDS + ["int32", "int64", "bool"])
def test_every_unary_op(build, dtype):
    net = nd.Network("unary")
    x = typed_input(net, "x", dtype, (2, 3, 4))
    ops = [op for op in UnaryOperation if dtype in UNARY_TYPES[op.name]]
    assert ops
    mark_all(net, [net.add_unary(x, op, name=op.name.lower()).output for op in ops])
    build(net)


@pytest.mark.parametrize("dtype", FLOATS, ids=FLOAT_IDS)
def test_scale_modes_and_batch_norm(build, rng, dtype):
    net = nd.Network("scale")
    x = typed_input(net, "x", dtype, (1, 3, 4, 5))
    outs = []
    for mode, shape in ((ScaleMode.UNIFORM, (1,)), (ScaleMode.CHANNEL, (3,)), (ScaleMode.ELEMENTWISE, (3, 4, 5))):
        coeffs = {r: rng.uniform(0.5, 1.5, shape).astype(np.float32) for r in ("shift", "scale", "power")}
        outs.append(net.add_scale_nd(x, mode, **coeffs, name=f"all_{mode.name.lower()}").output)
    outs.append(net.add_scale_nd(x, ScaleMode.CHANNEL, scale=np.ones(5, np.float32), channel_axis=3,
                                 name="last_axis").output)
    outs.append(net.add_scale_nd(x, ScaleMode.ELEMENTWISE, shift=np.ones((4, 5), np.float32), channel_axis=2,
                                 name="elementwise_axis2").output)
    outs.append(net.add_batch_norm(x, name="bn").output)
    with net.scope("folded"):
        outs.append(net.add_conv_batch_norm(x, 4, (3, 3), padding_nd=1, fold=True).output)
    with net.scope("unfolded"):
        outs.append(net.add_conv_batch_norm(x, 4, (3, 3), padding_nd=1, fold=False).output)
    mark_all(net, outs)
    net.bind_weights({name: (rng.uniform(0.1, 1.0, w.shape)).astype(np.float32)
                      for name, w in net.weights().items() if not w.is_bound})
    build(net)


def test_cast_every_pair(build):
    """All 64 (from, to) pairs of netdsl's DataTypes in one network."""
    net = nd.Network("cast")
    plain = [d for d in DataType if not d.is_quantized or d is DataType.INT8]  # FP8/INT4/FP4: Q/DQ only
    inputs = {d: net.add_input(f"in_{d.name.lower()}", d, (2, 3)) for d in plain if d is not DataType.BF16}
    inputs[DataType.BF16] = net.add_cast(inputs[DataType.FLOAT], DataType.BF16, name="make_bf16").output
    for src, x in inputs.items():
        for dst in plain:
            net.mark_output(net.add_cast(x, dst, name=f"{src.name.lower()}_to_{dst.name.lower()}").output)
    assert len(net.outputs) == 64
    build(net)


def test_identity_and_constants_of_every_dtype(build):
    net = nd.Network("const")
    values = np.arange(6).reshape(2, 3)
    for d in (d for d in DataType if not d.is_quantized or d is DataType.INT8):  # FP8/INT4/FP4: tests/quantization
        c = net.add_constant((2, 3), values, dtype=d, name=f"const_{d.name.lower()}").output
        assert c.dtype is d
        # TensorRT allows UINT8 only on network inputs and outputs: that constant is an output itself.
        net.mark_output(c if d is DataType.UINT8 else net.add_identity(c, name=f"copy_{d.name.lower()}").output)
    net.mark_output(net.add_constant((), np.float32(2.5), name="scalar").output)
    x = typed_input(net, "x", DataType.HALF, (2, 3))
    net.mark_output(net.add_identity(x, name="copy_input").output)
    build(net)
