"""Shape-tensor values (``Tensor.shape_value``) through gather, reduce, squeeze/unsqueeze, cast, identity,
constant and NMS's count: the symbolic value known when the network is defined, and (the oracle) the
values the reference executor computes for concrete shapes, which the symbolic value must evaluate to."""
import numpy as np
import pytest

from netdsl import DataType, Network
from netdsl.graph.enums import ReduceOperation
from netdsl.graph.shapes import dim, dmax, dmin, evaluate
from netdsl.reference import execute

n, h, w = dim("n"), dim("h"), dim("w")


def _shape_net():
    net = Network("values")
    x = net.add_input("x", DataType.FLOAT, ("n", 3, "h", "w"))
    return net, x, net.add_shape(x).output


def _const(net, values, dtype=np.int32):
    value = np.asarray(values, dtype)
    return net.add_constant(value.shape, value).output


def _check_against_executor(net, tensors, shapes):
    """Every tensor's shape_value, evaluated at the fed shapes, equals what the executor computes."""
    for t in tensors:
        net.mark_output(t)
    for shape in shapes:
        got = execute(net, {"x": np.zeros(shape, np.float32)})
        binding = dict(zip(("n", "h", "w"), (shape[0], shape[2], shape[3])))
        for t in tensors:
            want = np.asarray(got[t.name]).reshape(-1).tolist()
            assert [evaluate(v, binding) for v in t.shape_value] == want, (t.name, shape)


def test_reduce_prod_of_gathered_dims_is_the_element_count():
    net, x, shape = _shape_net()
    hw = net.add_gather(shape, _const(net, [0, 2, 3]), 0).output
    assert hw.shape_value == (n, h, w)
    count = net.add_reduce(hw, ReduceOperation.PROD, (0,), False).output
    assert count.shape == () and count.shape_value == (n * h * w,)
    total = net.add_reduce(shape, ReduceOperation.SUM, (0,), True).output
    assert total.shape == (1,) and total.shape_value == (n + h + w + 3,)
    biggest = net.add_reduce(shape, ReduceOperation.MAX, 1, False).output
    smallest = net.add_reduce(hw, ReduceOperation.MIN, 1, False).output
    assert biggest.shape_value == (dmax(dmax(dmax(n, 3), h), w),)
    assert smallest.shape_value == (dmin(dmin(n, h), w),)
    _check_against_executor(net, [hw, count, total, biggest, smallest], [(2, 3, 4, 5), (1, 3, 7, 2)])


def test_reduce_prod_of_a_slice_of_the_shape():
    """The issue's example: a slice of add_shape, then PROD, has a symbolic value."""
    net, x, shape = _shape_net()
    spatial = net.add_slice(shape, (2,), (2,), (1,)).output
    count = net.add_reduce(spatial, ReduceOperation.PROD, (0,), False).output
    assert count.shape_value == (h * w,)
    _check_against_executor(net, [count], [(2, 3, 4, 5)])


def test_gather_negative_index_scalar_index_and_what_is_not_known():
    net, x, shape = _shape_net()
    last = net.add_gather(shape, _const(net, -1), 0).output  # 0-D index -> 0-D value
    assert last.shape == () and last.shape_value == (w,)
    assert net.add_gather(shape, _const(net, [4]), 0).output.shape_value is None  # out of range: not a shape value
    runtime_idx = net.add_input("i", DataType.INT32, (2,))
    assert net.add_gather(shape, runtime_idx, 0).output.shape_value is None  # indices not known
    _check_against_executor_with_index(net, last)


def _check_against_executor_with_index(net, tensor):
    net.mark_output(tensor)
    got = execute(net, {"x": np.zeros((2, 3, 4, 5), np.float32), "i": np.zeros(2, np.int32)})
    assert int(got[tensor.name]) == evaluate(tensor.shape_value[0], {"n": 2, "h": 4, "w": 5})


def test_squeeze_unsqueeze_cast_identity_keep_the_value():
    net, x, shape = _shape_net()
    one = net.add_gather(shape, _const(net, [2]), 0).output
    scalar = net.add_squeeze(one, (0,)).output
    again = net.add_unsqueeze(scalar, (0,)).output
    as32 = net.add_cast(again, DataType.INT32).output
    same = net.add_identity(as32).output
    assert (one.shape_value, scalar.shape_value, again.shape_value, as32.shape_value, same.shape_value) == \
           ((h,),) * 5
    assert net.add_cast(shape, DataType.FLOAT).output.shape_value is None  # not an integer tensor
    assert net.add_unsqueeze(shape, (0,)).output.shape_value is None  # 2-D: not a shape tensor
    _check_against_executor(net, [scalar, again, as32, same], [(1, 3, 6, 2)])


def test_constants_have_their_values():
    net = Network("c")
    assert _const(net, [2, -1, 3]).shape_value == (2, -1, 3)
    assert _const(net, 7, np.int64).shape_value == (7,)
    assert _const(net, np.arange(9)).shape_value is None  # longer than any shape (8 dims)
    assert _const(net, [[1, 2]]).shape_value is None  # 2-D
    assert _const(net, [1.0, 2.0], np.float32).shape_value is None  # not an integer tensor
    assert net.add_constant((2,), dtype=DataType.INT32).output.shape_value is None  # declared, no value yet


def test_nms_count_output_holds_the_count():
    net = Network("nms")
    boxes = net.add_input("boxes", DataType.FLOAT, ("b", "m", 4))
    scores = net.add_input("scores", DataType.FLOAT, ("b", "m", 1))
    layer = net.add_nms(boxes, scores, 5)
    count = dim("nms.count")
    assert layer.get_output(0).shape == (count, 3) and layer.get_output(1).shape_value == (count,)
    assert net.layer("nms.max_output_boxes_per_class").output.shape_value == (5,)
