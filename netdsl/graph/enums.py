"""Enumerations mirroring TensorRT's, member for member by name.

The TensorRT backend maps each member to ``getattr(trt.<Enum>, member.name)``,
so names must stay exactly TensorRT's. Source: TensorRT Python API reference
(``tensorrt.LayerType``, ``tensorrt.ActivationType``, ...).
"""
import enum


class _Named(enum.Enum):
    def __repr__(self):
        return f"{type(self).__name__}.{self.name}"


def _members(cls_name, names):
    return _Named(cls_name, [(n, n) for n in names])


LayerType = _members("LayerType", [
    "CONVOLUTION", "DECONVOLUTION", "POOLING", "ACTIVATION", "PARAMETRIC_RELU", "SCALE",
    "ELEMENTWISE", "UNARY", "SHUFFLE", "CONCATENATION", "SLICE", "RESIZE", "CONSTANT",
    "IDENTITY", "CAST", "PADDING", "MATRIX_MULTIPLY", "SOFTMAX", "LRN", "REDUCE", "TOPK",
    "GATHER", "SCATTER", "SELECT", "EINSUM", "NORMALIZATION", "CUMULATIVE", "ONE_HOT",
    "SQUEEZE", "UNSQUEEZE", "RNN", "SHAPE", "FILL", "NON_ZERO", "NMS", "QUANTIZE", "DEQUANTIZE",
    "DYNAMIC_QUANTIZE",
])
LayerType.__doc__ = "Kind of a layer, as ``trt.LayerType`` (RNN is netdsl's: lowered to a loop)."

ActivationType = _members("ActivationType", [
    "RELU", "SIGMOID", "TANH", "LEAKY_RELU", "ELU", "SELU", "SOFTSIGN", "SOFTPLUS", "CLIP",
    "HARD_SIGMOID", "SCALED_TANH", "THRESHOLDED_RELU", "GELU_ERF", "GELU_TANH",
])
ActivationType.__doc__ = "``trt.ActivationType``; GELU_ERF/GELU_TANH need TensorRT >= 10."

PoolingType = _members("PoolingType", ["MAX", "AVERAGE", "MAX_AVERAGE_BLEND"])

PaddingMode = _members("PaddingMode", [
    "EXPLICIT_ROUND_DOWN", "EXPLICIT_ROUND_UP", "SAME_UPPER", "SAME_LOWER",
    "CAFFE_ROUND_DOWN", "CAFFE_ROUND_UP",
])

ElementWiseOperation = _members("ElementWiseOperation", [
    "SUM", "PROD", "MAX", "MIN", "SUB", "DIV", "POW", "FLOOR_DIV", "AND", "OR", "XOR",
    "EQUAL", "GREATER", "LESS",
])

UnaryOperation = _members("UnaryOperation", [
    "EXP", "LOG", "SQRT", "RECIP", "ABS", "NEG", "SIN", "COS", "TAN", "SINH", "COSH",
    "ASIN", "ACOS", "ATAN", "ASINH", "ACOSH", "ATANH", "CEIL", "FLOOR", "ERF", "NOT",
    "SIGN", "ROUND", "ISINF", "ISNAN",
])

ScaleMode = _members("ScaleMode", ["UNIFORM", "CHANNEL", "ELEMENTWISE"])

InterpolationMode = _members("InterpolationMode", ["NEAREST", "LINEAR", "CUBIC"])

ResizeCoordinateTransformation = _members(
    "ResizeCoordinateTransformation", ["ALIGN_CORNERS", "ASYMMETRIC", "HALF_PIXEL"])

ResizeSelector = _members("ResizeSelector", ["FORMULA", "UPPER"])

ResizeRoundMode = _members("ResizeRoundMode", ["HALF_UP", "HALF_DOWN", "FLOOR", "CEIL"])

SampleMode = _members("SampleMode", ["STRICT_BOUNDS", "WRAP", "CLAMP", "FILL", "REFLECT"])
SampleMode.__doc__ = "``trt.SampleMode`` (slice out-of-bounds modes)."

ReduceOperation = _members("ReduceOperation", ["SUM", "PROD", "MAX", "MIN", "AVG"])

TopKOperation = _members("TopKOperation", ["MAX", "MIN"])

GatherMode = _members("GatherMode", ["DEFAULT", "ELEMENT", "ND"])

ScatterMode = _members("ScatterMode", ["ELEMENT", "ND"])

MatrixOperation = _members("MatrixOperation", ["NONE", "TRANSPOSE", "VECTOR"])

CumulativeOperation = _members("CumulativeOperation", ["SUM"])

RNNOperation = _members("RNNOperation", ["RELU", "TANH", "LSTM", "GRU"])
RNNOperation.__doc__ = "Cell type of a recurrent layer, as TensorRT 8's ``trt.RNNOperation``."

RNNDirection = _members("RNNDirection", ["UNIDIRECTION", "BIDIRECTION"])
RNNDirection.__doc__ = "As TensorRT 8's ``trt.RNNDirection``."

FillOperation = _members("FillOperation", ["LINSPACE", "RANDOM_UNIFORM", "RANDOM_NORMAL"])
FillOperation.__doc__ = "``trt.FillOperation`` (IFillLayer); RANDOM_NORMAL needs TensorRT >= 10.0."

BoundingBoxFormat = _members("BoundingBoxFormat", ["CORNER_PAIRS", "CENTER_SIZES"])
BoundingBoxFormat.__doc__ = ("``trt.BoundingBoxFormat`` (INMSLayer): CORNER_PAIRS (x1, y1, x2, y2), any pair of "
                             "diagonal corners; CENTER_SIZES (x_center, y_center, width, height).")
