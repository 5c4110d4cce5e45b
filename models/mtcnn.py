"""MTCNN (Zhang et al., "Joint Face Detection and Alignment using Multi-task Cascaded Convolutional
Networks", 2016): the P-, R- and O-Net of facenet-pytorch, written in netdsl's DSL.

Layer for layer facenet-pytorch 2.6.0 ``models/mtcnn.py`` (classes PNet, RNet,
ONet); scopes carry the torch module names (``conv1``, ``prelu1``,
``dense4`` ...), so the state dicts ``pnet.pt`` / ``rnet.pt`` / ``onet.pt``
import with the identity mapping (``netdsl.frameworks.torch_import``).
Registered models: ``mtcnn-pnet``, ``mtcnn-rnet``, ``mtcnn-onet``
(modules ``mtcnn_pnet`` ...).

Input ``images``: (N, 3, H, W) float32 NCHW, RGB, normalised as
facenet-pytorch does: ``(pixel - 127.5) * 0.0078125``. Max pooling uses
torch's ``ceil_mode=True``: TensorRT's EXPLICIT_ROUND_UP gives the same
windows here (no padding, window >= stride).
"""
from __future__ import annotations

from netdsl import DataType, Network, PaddingMode, PoolingType, Tensor

from netdsl.models.blocks import add_linear


def conv_prelu(net: Network, x: Tensor, channels: int, size: int, index) -> Tensor:
    """torch ``conv{index}`` (Conv2d, stride 1, no padding) then ``prelu{index}`` (PReLU(channels))."""
    x = net.add_convolution_nd(x, channels, (size, size), name=f"conv{index}").output
    return net.add_parametric_relu(x, name=f"prelu{index}").output


def max_pool_ceil(net: Network, x: Tensor, size: int, stride: int, name: str) -> Tensor:
    """torch ``MaxPool2d(size, stride, ceil_mode=True)``: output ``ceil((I - size) / stride) + 1``."""
    return net.add_pooling_nd(x, PoolingType.MAX, (size, size), stride_nd=stride,
                              padding_mode=PaddingMode.EXPLICIT_ROUND_UP, name=name).output


def dense_prelu(net: Network, x: Tensor, features: int, index) -> Tensor:
    """torch ``dense{index}`` (Linear) then ``prelu{index}`` (PReLU(features)) on (N, C)."""
    x = add_linear(net, x, features, name=f"dense{index}")
    return net.add_parametric_relu(x, name=f"prelu{index}").output


def flatten_whc(net: Network, x: Tensor) -> Tensor:
    """facenet-pytorch's ``x.permute(0, 3, 2, 1).contiguous().view(N, -1)``: NCHW -> (N, W*H*C)."""
    return net.add_shuffle(x, first_transpose=(0, 3, 2, 1), reshape_dims=(0, -1), name="flatten").output


def _input(net: Network, batch, height, width) -> Tensor:
    return net.add_input("images", DataType.FLOAT, ("batch" if batch is None else batch, 3,
                                                     "height" if height is None else height,
                                                     "width" if width is None else width))


def build_pnet(batch: int | None = None, height: int | None = None, width: int | None = None) -> Network:
    """P-Net, fully convolutional: outputs ``boxes`` (N, 4, H', W') box regression and ``prob`` (N, 2, H', W')
    (softmax over the channel axis: not-face, face), with ``H' = ceil((H - 2) / 2) - 4`` (H >= 12).
    Batch, height and width are runtime dimensions unless given."""
    net = Network("mtcnn-pnet")
    x = _input(net, batch, height, width)
    x = conv_prelu(net, x, 10, 3, 1)
    x = max_pool_ceil(net, x, 2, 2, "pool1")
    x = conv_prelu(net, x, 16, 3, 2)
    x = conv_prelu(net, x, 32, 3, 3)
    prob = net.add_convolution_nd(x, 2, (1, 1), name="conv4_1").output
    prob = net.add_softmax(prob, axes=(1,), name="softmax4_1").output
    boxes = net.add_convolution_nd(x, 4, (1, 1), name="conv4_2").output
    net.mark_output(boxes, "boxes")
    net.mark_output(prob, "prob")
    return net


def build_rnet(batch: int | None = None) -> Network:
    """R-Net on (N, 3, 24, 24) crops: outputs ``boxes`` (N, 4) and ``prob`` (N, 2) (softmax)."""
    net = Network("mtcnn-rnet")
    x = _input(net, batch, 24, 24)
    x = conv_prelu(net, x, 28, 3, 1)
    x = max_pool_ceil(net, x, 3, 2, "pool1")
    x = conv_prelu(net, x, 48, 3, 2)
    x = max_pool_ceil(net, x, 3, 2, "pool2")
    x = conv_prelu(net, x, 64, 2, 3)
    x = dense_prelu(net, flatten_whc(net, x), 128, 4)
    prob = net.add_softmax(add_linear(net, x, 2, name="dense5_1"), axes=(1,), name="softmax5_1").output
    boxes = add_linear(net, x, 4, name="dense5_2")
    net.mark_output(boxes, "boxes")
    net.mark_output(prob, "prob")
    return net


def build_onet(batch: int | None = None) -> Network:
    """O-Net on (N, 3, 48, 48) crops: outputs ``boxes`` (N, 4), ``landmarks`` (N, 10) (x1..x5, y1..y5)
    and ``prob`` (N, 2) (softmax)."""
    net = Network("mtcnn-onet")
    x = _input(net, batch, 48, 48)
    x = conv_prelu(net, x, 32, 3, 1)
    x = max_pool_ceil(net, x, 3, 2, "pool1")
    x = conv_prelu(net, x, 64, 3, 2)
    x = max_pool_ceil(net, x, 3, 2, "pool2")
    x = conv_prelu(net, x, 64, 3, 3)
    x = max_pool_ceil(net, x, 2, 2, "pool3")
    x = conv_prelu(net, x, 128, 2, 4)
    x = dense_prelu(net, flatten_whc(net, x), 256, 5)
    prob = net.add_softmax(add_linear(net, x, 2, name="dense6_1"), axes=(1,), name="softmax6_1").output
    boxes = add_linear(net, x, 4, name="dense6_2")
    landmarks = add_linear(net, x, 10, name="dense6_3")
    net.mark_output(boxes, "boxes")
    net.mark_output(landmarks, "landmarks")
    net.mark_output(prob, "prob")
    return net
