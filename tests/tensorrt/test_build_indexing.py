"""Gather, scatter, topk, one-hot, cumulative, select, squeeze/unsqueeze and padding build real
TensorRT-RTX engines (AOT, sm86); lowering checks TensorRT's shapes and dtypes against netdsl's."""
import numpy as np
import pytest

import netdsl as nd
from netdsl import DataType
from netdsl.graph.enums import CumulativeOperation, GatherMode, ScatterMode, TopKOperation
from netdsl.tensorrt import to_trt_network

HALF = pytest.mark.parametrize("half", [False, True], ids=["fp32", "fp16"])


def data_input(net, shape, half, name="x"):
    """A FLOAT input, cast to HALF when ``half`` (RTX networks are strongly typed)."""
    x = net.add_input(name, DataType.FLOAT, shape)
    return net.add_cast(x, DataType.HALF, name=f"{name}_half").output if half else x


def mark(net, *layers):
    for layer in layers:
        for t in layer.outputs:
            net.mark_output(t)


@HALF
@pytest.mark.parametrize("mode,dshape,ishape,axis,batch", [
    (GatherMode.DEFAULT, (3, 4, 5), (2, 6), 1, 0),
    (GatherMode.DEFAULT, (3, 4, 5), (1, 6), 2, 1),
    (GatherMode.DEFAULT, (3, 4, 5), (), -1, 0),
    (GatherMode.ELEMENT, (3, 4, 5), (3, 7, 5), 1, 0),
    (GatherMode.ND, (3, 4, 5), (6, 2), 0, 0),
    (GatherMode.ND, (3, 4, 5), (3, 6, 1), 0, 1),
], ids=["default", "default-elementwise", "default-scalar", "element", "nd", "nd-batch"])
@pytest.mark.parametrize("index_type", [DataType.INT32, DataType.INT64])
def test_gather(build, half, mode, dshape, ishape, axis, batch, index_type):
    net = nd.Network("gather")
    x = data_input(net, dshape, half)
    i = net.add_input("i", index_type, ishape)
    with net.scope("head"):
        mark(net, net.add_gather(x, i, axis, mode=mode, num_elementwise_dims=batch, name="pick"))
    build(net)


def test_gather_integer_and_bool_data(build):
    net = nd.Network("gather_ints")
    i = net.add_input("i", DataType.INT32, (2,))
    for dtype in (DataType.INT32, DataType.INT64, DataType.INT8, DataType.BOOL):
        x = net.add_input(f"x_{dtype.name}", dtype, (3, 4))
        mark(net, net.add_gather(x, i, 1, name=f"g_{dtype.name}"))
    build(net)


@HALF
@pytest.mark.parametrize("mode,ishape,ushape,axis", [
    (ScatterMode.ELEMENT, (3, 2, 5), (3, 2, 5), 1),
    (ScatterMode.ELEMENT, (2, 2, 3), (2, 2, 3), -1),
    (ScatterMode.ND, (6, 2), (6, 5), 0),
    (ScatterMode.ND, (2, 3, 1), (2, 3, 4, 5), 0),
], ids=["element", "element-smaller", "nd", "nd-rows"])
def test_scatter(build, half, mode, ishape, ushape, axis):
    net = nd.Network("scatter")
    data = data_input(net, (3, 4, 5), half)
    updates = data_input(net, ushape, half, name="u")
    indices = net.add_input("i", DataType.INT64 if mode is ScatterMode.ND else DataType.INT32, ishape)
    mark(net, net.add_scatter(data, indices, updates, mode, axis=axis, name="put"))
    build(net)


@HALF
@pytest.mark.parametrize("op,shape,k,axis", [
    (TopKOperation.MAX, (2, 3, 8), 3, 2),
    (TopKOperation.MIN, (2, 7, 4), 7, 1),
    (TopKOperation.MAX, (4, 2, 3, 4, 5), 2, 1),
], ids=["max-last", "min-all", "max-5d"])
def test_topk_values_and_int32_indices(build, half, op, shape, k, axis):
    net = nd.Network("topk")
    layer = net.add_topk(data_input(net, shape, half), op, k, 1 << axis, name="best")
    mark(net, layer)
    build(net)


def test_topk_integer_input(build):
    net = nd.Network("topk_int")
    mark(net, net.add_topk(net.add_input("x", DataType.INT32, (2, 9)), TopKOperation.MIN, 4, 2))
    build(net)


@HALF
@pytest.mark.parametrize("ishape,axis,index_type", [((2, 3), -1, DataType.INT32), ((2, 3), 0, DataType.INT64),
                                                    ((), 0, DataType.INT32)], ids=["last", "first-int64", "scalar"])
def test_one_hot(build, half, ishape, axis, index_type):
    net = nd.Network("one_hot")
    values = net.add_constant((2,), np.array([-1.0, 2.5], np.float32), name="values").output
    if half:
        values = net.add_cast(values, DataType.HALF, name="values_half").output
    mark(net, net.add_one_hot(net.add_input("i", index_type, ishape), values, 5, axis, name="enc"))
    build(net)


@HALF
@pytest.mark.parametrize("axis,exclusive,reverse", [(1, False, False), (-1, True, True), (0, True, False)])
def test_cumulative(build, half, axis, exclusive, reverse):
    net = nd.Network("cumulative")
    x = data_input(net, (3, 4, 5), half)
    mark(net, net.add_cumulative(x, axis, CumulativeOperation.SUM, exclusive=exclusive, reverse=reverse, name="sum"))
    build(net)


def test_cumulative_integers(build):
    net = nd.Network("cumulative_int")
    for dtype in (DataType.INT32, DataType.INT64):
        mark(net, net.add_cumulative(net.add_input(f"x_{dtype.name}", dtype, (6,)), 0, name=f"sum_{dtype.name}"))
    build(net)


@HALF
def test_select(build, half):
    net = nd.Network("select")
    cond = net.add_input("c", DataType.BOOL, (2, 1, 4))
    mark(net, net.add_select(cond, data_input(net, (1, 3, 4), half, "t"), data_input(net, (2, 3, 1), half, "e")))
    build(net)


def test_select_integers_and_bools(build):
    net = nd.Network("select_int")
    cond = net.add_input("c", DataType.BOOL, (2, 3))
    for dtype in (DataType.INT32, DataType.INT64, DataType.BOOL):
        a, b = (net.add_input(f"{n}_{dtype.name}", dtype, (2, 3)) for n in "ab")
        mark(net, net.add_select(cond, a, b, name=f"where_{dtype.name}"))
    build(net)


@HALF
def test_squeeze_and_unsqueeze(build, rtx, half):
    net = nd.Network("squeeze")
    x = data_input(net, (1, 3, 1, 4), half)
    down = net.add_squeeze(x, [0, -2], name="down")
    up = net.add_unsqueeze(down.output, [-1, 0], name="up")
    mark(net, up)
    assert up.output.shape == (1, 3, 4, 1)
    build(net)
    _, _, keep = to_trt_network(net, rtx)
    kinds = {trt_layer.name: trt_layer.type.name for trt_layer, _ in keep.layers}
    assert kinds["down"] == "SQUEEZE" and kinds["up"] == "UNSQUEEZE"


@HALF
@pytest.mark.parametrize("shape,pre,post", [
    ((1, 2, 5, 6), (1, 2), (2, 1)),
    ((1, 2, 5, 6), (-1, 3), (3, -2)),
    ((1, 2, 3, 4, 5), (1, 0, -1), (0, 2, 1)),
], ids=["pad", "pad-crop", "3d-slice"])
def test_padding_nd(build, rtx, half, shape, pre, post):
    net = nd.Network("padding")
    layer = net.add_padding_nd(data_input(net, shape, half), pre, post, name="border")
    mark(net, layer)
    build(net)
    _, _, keep = to_trt_network(net, rtx)
    kind = {trt_layer.name: trt_layer.type.name for trt_layer, _ in keep.layers}["border"]
    assert kind == ("PADDING" if len(pre) == 2 else "SLICE")


def test_padding_nd_int8(build):
    net = nd.Network("padding_int8")
    x = net.add_cast(net.add_input("x", DataType.FLOAT, (1, 1, 3, 3)), DataType.INT8).output
    mark(net, net.add_padding_nd(x, (1, 1), (1, 1)))
    build(net)
