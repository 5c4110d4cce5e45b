"""Real TensorRT-RTX engines (AOT, sm86) for matrix multiply, fully connected, softmax, LRN, reduce,
einsum and normalization, in fp32 and fp16; and the TensorRT attributes the lowerings set."""
import numpy as np
import pytest

from netdsl.graph.dtypes import DataType
from netdsl.graph.enums import MatrixOperation as MO
from netdsl.graph.enums import ReduceOperation as RO
from netdsl.graph.network import Network


def network(shapes, dtype, body):
    """Inputs ``x0, x1, ...`` (FLOAT, cast to ``dtype``), ``body(net, *inputs)`` -> outputs to mark."""
    net = Network(f"math_{dtype.name.lower()}")
    xs = [net.add_input(f"x{i}", DataType.FLOAT, s) for i, s in enumerate(shapes)]
    if dtype is not DataType.FLOAT:
        xs = [net.add_cast(x, dtype, name=f"cast{i}").output for i, x in enumerate(xs)]
    for out in body(net, *xs):
        net.mark_output(out)
    rng = np.random.default_rng(0)
    net.bind_weights({n: rng.uniform(0.5, 1.5, w.shape).astype(np.float32) for n, w in net.weights().items()})
    return net


def matmuls(net, a, b):
    yield net.add_matrix_multiply(a, MO.NONE, b, MO.NONE, name="mm").output
    yield net.add_matrix_multiply(a, MO.TRANSPOSE, a, MO.NONE, name="mm_t").output
    v = net.add_reduce(b, RO.SUM, 1 << 2, False, name="vec").output  # (2, 4): bitmask 0b100 is axis 2
    yield net.add_matrix_multiply(a, MO.NONE, v, MO.VECTOR, name="mv").output
    yield net.add_matrix_multiply(v, MO.VECTOR, v, MO.VECTOR, name="vv").output


def fully_connected(net, x):
    yield net.add_fully_connected(x, 10, name="fc").output
    yield net.add_fully_connected(x, 3, bias=False, name="fc_nobias").output


def softmaxes(net, x):
    yield net.add_softmax(x, axes=1 << 1, name="sm_c").output
    yield net.add_softmax(x, axes=(-1,), name="sm_w").output


def reductions(net, x):
    for op in RO:
        yield net.add_reduce(x, op, (2, 3), True, name=f"r_{op.name.lower()}").output
    yield net.add_reduce(x, RO.SUM, (0, 1, 2, 3), False, name="r_all").output
    yield net.add_reduce(x, RO.SUM, 1 << 1, True, name="r_mask").output  # bitmask: axis 1


def einsums(net, a, b):
    yield net.add_einsum([a, b], "bij,bjk->bik", name="bmm").output
    yield net.add_einsum([a], "bij->jb", name="sum_t").output
    yield net.add_einsum([a, a], "bij,bij", name="dot").output


def normalizations(net, x):
    yield net.add_layer_norm(x, (4, 4), name="ln").output
    yield net.add_instance_norm(x, name="inorm").output
    yield net.add_group_norm(x, 3, name="gn").output
    yield net.add_group_norm(x, 1, name="gn1").output
    yield net.add_normalization(x, None, False, 1 << 1, epsilon=1e-3, name="nrm").output


FAMILIES = {
    "matrix_multiply": ([(2, 3, 4), (2, 4, 5)], matmuls),
    "fully_connected": ([(2, 3, 4, 4)], fully_connected),
    "softmax": ([(2, 5, 3, 3)], softmaxes),
    "lrn": ([(1, 8, 4, 4)], lambda net, x: [net.add_lrn(x, 5, 1e-4, 0.75, 2.0, name="lrn").output]),
    "reduce": ([(2, 3, 4, 4)], reductions),
    "einsum": ([(2, 3, 4), (2, 4, 5)], einsums),
    "normalization": ([(2, 6, 4, 4)], normalizations),
}


@pytest.mark.parametrize("dtype", [DataType.FLOAT, DataType.HALF], ids=["fp32", "fp16"])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_builds(build, family, dtype):
    shapes, body = FAMILIES[family]
    build(network(shapes, dtype, body))


@pytest.mark.parametrize("dtype", [DataType.FLOAT, DataType.HALF], ids=["fp32", "fp16"])
def test_group_norm_on_per_group_api_builds(build, dtype, monkeypatch):
    """Where only add_normalization (per-group coefficients) exists: identity groups + per-channel PROD/SUM."""
    from netdsl.tensorrt import to_trt_network

    from netdsl.tensorrt.compat import TensorRTModule
    monkeypatch.setattr(TensorRTModule, "has_per_channel_group_norm", lambda self, network: False)
    net = network([(2, 6, 4, 4)], dtype, lambda n, x: [n.add_group_norm(x, 3, name="gn").output])
    build(net)
    _, trt_net, _ = to_trt_network(net, "rtx")
    names = [trt_net.get_layer(i).name for i in range(trt_net.num_layers)]
    assert "gn::scale_mul" in names and "gn::bias_add" in names


def test_lowered_attributes(rtx):
    """The TensorRT layers carry netdsl's attributes: bitmasks, operations, equation, epsilon, groups."""
    from netdsl.tensorrt import to_trt_network

    def body(net, x, a, b):
        yield net.add_softmax(x, axes=(-2,), name="sm").output
        yield net.add_reduce(x, RO.MAX, (1, -1), False, name="rd").output
        yield net.add_reduce(x, RO.SUM, 1 << 1, True, name="rd_mask").output
        yield net.add_normalization(x, None, False, 0b1100, name="nrm").output
        yield net.add_group_norm(x, 2, epsilon=1e-3, name="gn").output
        yield net.add_lrn(x, 3, 0.5, 0.25, 1.5, name="lrn").output
        yield net.add_einsum([a, b], "ij,jk", name="es").output
        yield net.add_matrix_multiply(a, MO.TRANSPOSE, a, MO.NONE, name="mm").output

    net = network([(1, 4, 3, 5), (3, 4), (4, 2)], DataType.FLOAT, body)
    _, _, ctx = to_trt_network(net, rtx)
    layers = {layer.name: trt_layer for trt_layer, layer in ctx.layers}  # the typed I*Layer objects
    assert layers["sm"].axes == 1 << 2
    assert layers["rd"].axes == 0b1010 and layers["rd"].op == rtx.trt.ReduceOperation.MAX
    assert layers["rd"].keep_dims is False
    assert layers["rd_mask"].axes == 0b10 and layers["rd_mask"].keep_dims is True  # axis 1, TensorRT's meaning
    assert tuple(layers["rd_mask"].get_output(0).shape) == (1, 1, 3, 5)
    assert layers["nrm"].axes == 0b1100
    assert layers["gn"].axes == 0b1100 and layers["gn"].num_groups == 2
    assert layers["gn"].epsilon == pytest.approx(1e-3)
    assert (layers["lrn"].window_size, layers["lrn"].alpha, layers["lrn"].beta, layers["lrn"].k) == (3, 0.5, 0.25, 1.5)
    assert layers["es"].equation == "ij,jk->ik"
    assert layers["mm"].op0 == rtx.trt.MatrixOperation.TRANSPOSE and layers["mm"].op1 == rtx.trt.MatrixOperation.NONE
