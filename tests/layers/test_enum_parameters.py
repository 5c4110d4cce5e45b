"""Every enum parameter of every ``Network.add_*`` takes the member or its name (any case), and refuses
anything else with a one-line NetworkDefinitionError naming the layer, the parameter and the allowed names.

The parameters are found by introspection (annotation naming a netdsl enum, an enum default, or an
enum-like parameter name); the table below says how to call each one. A new enum parameter without a
table row fails ``test_table_covers_every_enum_parameter``.
"""
import enum
import inspect

import numpy as np
import pytest

from netdsl import DataType, Network
from netdsl.graph import enums
from netdsl.graph.errors import NetworkDefinitionError

ENUM_CLASSES = {name: obj for name, obj in vars(enums).items() if isinstance(obj, type) and issubclass(obj, enum.Enum)}
ENUM_CLASSES["DataType"] = DataType
ENUM_LIKE_NAMES = {"op", "op0", "op1", "type", "mode", "direction", "to_type", "dtype"}

# add_input lives in netdsl/graph/network.py and takes its dtype through graph.dtypes.as_datatype, which
# raises TypeError for junk; it is not a layer constructor.
NOT_LAYERS = {"add_input"}


def discovered():
    """(method, parameter) for every add_* parameter that takes an enum."""
    found = set()
    for method in sorted(m for m in dir(Network) if m.startswith("add_") and m not in NOT_LAYERS):
        for p in inspect.signature(getattr(Network, method)).parameters.values():
            annotation = p.annotation if isinstance(p.annotation, str) else getattr(p.annotation, "__name__", "")
            if (any(name in annotation.replace("|", " ").split() for name in ENUM_CLASSES)
                    or isinstance(p.default, enum.Enum) or p.name in ENUM_LIKE_NAMES or p.name.endswith("_mode")):
                found.add((method, p.name))
    return found


def t(net, shape=(1, 2, 4, 4), dtype=DataType.FLOAT, name="x"):
    return net.add_input(name, dtype, shape)


def idx(net, shape, name="i"):
    return net.add_input(name, DataType.INT32, shape)


# (method, parameter) -> (enum class, a non-default member valid for the call, call(net, value) -> Layer,
#                         the layer attribute holding it, or get(net, layer) -> the value it took)
E = enums
TABLE = {
    ("add_quantize", "output_type"): (DataType, DataType.FP8, lambda n, v: n.add_quantize(t(n), 0.5, v, name="L"),
                                  "to_type"),
    ("add_dequantize", "output_type"): (DataType, DataType.HALF,
                                    lambda n, v: n.add_dequantize(t(n, dtype=DataType.INT8), 0.5, v, name="L"),
                                    "to_type"),
    ("add_dynamic_quantize", "output_type"): (DataType, DataType.FP4,
                                          lambda n, v: n.add_dynamic_quantize(t(n, (2, 32)), 1, 16, v, "FP8",
                                                                              name="L"), "to_type"),
    ("add_dynamic_quantize", "scale_type"): (DataType, DataType.FP8,
                                             lambda n, v: n.add_dynamic_quantize(t(n, (2, 32)), 1, 16, "FP4", v,
                                                                                 name="L"), "scale_type"),
    ("add_activation", "type"): (E.ActivationType, E.ActivationType.LEAKY_RELU,
                                 lambda n, v: n.add_activation(t(n), v, 0.1, name="L"), "activation_type"),
    ("add_cast", "to_type"): (DataType, DataType.HALF, lambda n, v: n.add_cast(t(n), v, name="L"), "to_type"),
    ("add_constant", "dtype"): (DataType, DataType.HALF,
                                lambda n, v: n.add_constant((2,), np.ones(2), dtype=v, name="L"),
                                lambda net, layer: layer.output.dtype),
    ("add_convolution_nd", "padding_mode"): (E.PaddingMode, E.PaddingMode.SAME_UPPER,
                                             lambda n, v: n.add_convolution_nd(t(n), 3, (3, 3), padding_mode=v,
                                                                               name="L"), "padding_mode"),
    ("add_conv_batch_norm", "padding_mode"): (E.PaddingMode, E.PaddingMode.SAME_LOWER,
                                              lambda n, v: n.add_conv_batch_norm(t(n), 3, (3, 3), padding_mode=v,
                                                                                 conv_name="L"),
                                              lambda net, layer: net.layer("L").padding_mode),  # via **conv_kwargs
    ("add_fill", "op"): (E.FillOperation, E.FillOperation.RANDOM_UNIFORM,
                         lambda n, v: n.add_fill((2, 3), v, 0.0, 1.0, name="L"), "operation"),
    ("add_fill", "dtype"): (DataType, DataType.INT32,
                            lambda n, v: n.add_fill((2, 3), E.FillOperation.LINSPACE, 0, (1, 2), dtype=v, name="L"),
                            lambda net, layer: layer.output.dtype),
    ("add_cumulative", "op"): (E.CumulativeOperation, E.CumulativeOperation.SUM,
                               lambda n, v: n.add_cumulative(t(n), 1, v, name="L"), "op"),
    ("add_deconvolution_nd", "padding_mode"): (E.PaddingMode, E.PaddingMode.CAFFE_ROUND_UP,
                                               lambda n, v: n.add_deconvolution_nd(t(n), 3, (3, 3), padding_mode=v,
                                                                                   name="L"), "padding_mode"),
    ("add_elementwise", "op"): (E.ElementWiseOperation, E.ElementWiseOperation.MAX,
                                lambda n, v: n.add_elementwise(t(n), t(n, name="y"), v, name="L"), "op"),
    ("add_gather", "mode"): (E.GatherMode, E.GatherMode.ELEMENT,
                             lambda n, v: n.add_gather(t(n), idx(n, (1, 2, 4, 4)), 1, mode=v, name="L"), "mode"),
    ("add_global_pooling", "type"): (E.PoolingType, E.PoolingType.AVERAGE,
                                     lambda n, v: n.add_global_pooling(t(n), v, name="L"), "pooling_type"),
    ("add_matrix_multiply", "op0"): (E.MatrixOperation, E.MatrixOperation.TRANSPOSE,
                                     lambda n, v: n.add_matrix_multiply(t(n, (3, 3)), v, t(n, (3, 3), name="y"),
                                                                        E.MatrixOperation.NONE, name="L"), "op0"),
    ("add_matrix_multiply", "op1"): (E.MatrixOperation, E.MatrixOperation.VECTOR,
                                     lambda n, v: n.add_matrix_multiply(t(n, (3, 3)), E.MatrixOperation.NONE,
                                                                        t(n, (3,), name="y"), v, name="L"), "op1"),
    ("add_nms", "bounding_box_format"): (E.BoundingBoxFormat, E.BoundingBoxFormat.CENTER_SIZES,
                                         lambda n, v: n.add_nms(t(n, (1, 5, 4)), t(n, (1, 5, 2), name="s"), 3,
                                                                bounding_box_format=v, name="L"),
                                         "bounding_box_format"),
    ("add_pooling_nd", "type"): (E.PoolingType, E.PoolingType.MAX_AVERAGE_BLEND,
                                 lambda n, v: n.add_pooling_nd(t(n), v, (2, 2), name="L"), "pooling_type"),
    ("add_pooling_nd", "padding_mode"): (E.PaddingMode, E.PaddingMode.EXPLICIT_ROUND_UP,
                                         lambda n, v: n.add_pooling_nd(t(n), E.PoolingType.MAX, (2, 2), stride_nd=2,
                                                                       padding_mode=v, name="L"), "padding_mode"),
    ("add_reduce", "op"): (E.ReduceOperation, E.ReduceOperation.AVG,
                           lambda n, v: n.add_reduce(t(n), v, (1,), True, name="L"), "op"),
    ("add_resize", "resize_mode"): (E.InterpolationMode, E.InterpolationMode.LINEAR,
                                    lambda n, v: n.add_resize(t(n), scales=(1, 1, 2, 2), resize_mode=v, name="L"),
                                    "resize_mode"),
    ("add_resize", "coordinate_transformation"): (
        E.ResizeCoordinateTransformation, E.ResizeCoordinateTransformation.HALF_PIXEL,
        lambda n, v: n.add_resize(t(n), scales=(1, 1, 2, 2), coordinate_transformation=v, name="L"),
        "coordinate_transformation"),
    ("add_resize", "nearest_rounding"): (E.ResizeRoundMode, E.ResizeRoundMode.HALF_DOWN,
                                         lambda n, v: n.add_resize(t(n), scales=(1, 1, 2, 2), nearest_rounding=v,
                                                                   name="L"), "nearest_rounding"),
    ("add_resize", "selector_for_single_pixel"): (E.ResizeSelector, E.ResizeSelector.UPPER,
                                                  lambda n, v: n.add_resize(t(n), shape=(1, 2, 1, 1),
                                                                            selector_for_single_pixel=v, name="L"),
                                                  "selector_for_single_pixel"),
    ("add_rnn", "op"): (E.RNNOperation, E.RNNOperation.GRU,
                        lambda n, v: n.add_rnn(t(n, (5, 2, 3)), 1, 4, v, name="L"), "op"),
    ("add_rnn", "direction"): (E.RNNDirection, E.RNNDirection.BIDIRECTION,
                               lambda n, v: n.add_rnn(t(n, (5, 2, 3)), 1, 4, E.RNNOperation.TANH, direction=v,
                                                      name="L"), "direction"),
    ("add_scale", "mode"): (E.ScaleMode, E.ScaleMode.ELEMENTWISE, lambda n, v: n.add_scale(t(n), v, True, name="L"),
                            "mode"),
    ("add_scale_nd", "mode"): (E.ScaleMode, E.ScaleMode.UNIFORM, lambda n, v: n.add_scale_nd(t(n), v, 1.5, name="L"),
                               "mode"),
    ("add_scatter", "mode"): (E.ScatterMode, E.ScatterMode.ND,
                              lambda n, v: n.add_scatter(t(n, (4, 3)), idx(n, (2, 1)), t(n, (2, 3), name="u"), v,
                                                         name="L"), "mode"),
    ("add_slice", "mode"): (E.SampleMode, E.SampleMode.WRAP,
                            lambda n, v: n.add_slice(t(n), (0, 0, -1, 0), (1, 2, 6, 4), 1, mode=v, name="L"), "mode"),
    ("add_topk", "op"): (E.TopKOperation, E.TopKOperation.MIN, lambda n, v: n.add_topk(t(n), v, 2, (3,), name="L"),
                         "op"),
    ("add_unary", "op"): (E.UnaryOperation, E.UnaryOperation.ABS, lambda n, v: n.add_unary(t(n), v, name="L"), "op"),
}


def test_table_covers_every_enum_parameter():
    missing = discovered() - set(TABLE)
    assert not missing, f"enum parameters without a row in TABLE: {sorted(missing)}"
    assert set(TABLE) - discovered() == {("add_conv_batch_norm", "padding_mode")}  # the one **kwargs row


def _resolved(net, layer, attr, value):
    """The enum value the layer holds for the parameter."""
    return attr(net, layer) if callable(attr) else getattr(layer, attr)


def _spellings(member):
    name = member.name
    return [member, name, name.lower(), name.title(), f" {name.lower()} "]


@pytest.mark.parametrize("key", sorted(TABLE), ids=lambda k: f"{k[0]}.{k[1]}")
def test_member_and_name_in_any_case(key):
    enum_cls, member, call, attr = TABLE[key]
    for value in _spellings(member):
        net = Network("enums")
        layer = call(net, value)
        assert _resolved(net, layer, attr, value) is member, (key, value)


@pytest.mark.parametrize("key", sorted(TABLE), ids=lambda k: f"{k[0]}.{k[1]}")
def test_junk_is_refused_in_one_line(key):
    enum_cls, member, call, attr = TABLE[key]
    other = enums.PoolingType.MAX if enum_cls is not enums.PoolingType else enums.TopKOperation.MAX
    for junk in ("NOT_A_MEMBER", 3.5, 7, other):
        net = Network("enums")
        with pytest.raises(NetworkDefinitionError) as err:
            call(net, junk)
        message = str(err.value)
        assert "\n" not in message
        assert message.startswith("L: "), message
        assert key[1] in message, message
        allowed = ", ".join(enum_cls.__members__)
        assert f"must be a {enum_cls.__name__} member or one of its names ({allowed})" in message
        assert message.endswith(f"found {junk!r}"), message


def test_activation_by_name_no_longer_raises_attribute_error():
    """The reported bug: ``add_activation(x, "RELU")`` raised a raw AttributeError."""
    net = Network("act")
    layer = net.add_activation(t(net), "RELU")
    assert layer.activation_type is enums.ActivationType.RELU


@pytest.mark.parametrize("key", sorted(TABLE), ids=lambda k: f"{k[0]}.{k[1]}")
def test_tensorrt_enum_values_are_accepted(key, rtx):
    """``trt.ActivationType.LEAKY_RELU`` and the like (TensorRT-RTX's enums) map to the netdsl member by name."""
    enum_cls, member, call, attr = TABLE[key]
    trt_enum = getattr(rtx.trt, enum_cls.__name__, None)
    if trt_enum is None:
        pytest.skip(f"TensorRT-RTX has no {enum_cls.__name__} (TensorRT 8's RNNv2 enums, removed in TensorRT 10)")
    if not hasattr(trt_enum, member.name):
        pytest.skip(f"TensorRT-RTX has no {enum_cls.__name__}.{member.name}")
    net = Network("enums")
    assert _resolved(net, call(net, getattr(trt_enum, member.name)), attr, None) is member

