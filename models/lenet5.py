"""LeNet-5 (LeCun et al., "Gradient-Based Learning Applied to Document Recognition", 1998), the common
modern variant (ReLU, max pooling), written in netdsl's DSL. Registered as ``lenet5``.

conv1 5x5 (6 maps, padding 2) -> ReLU -> 2x2 max pool -> conv2 5x5 (16 maps)
-> ReLU -> 2x2 max pool -> flatten (400) -> fc1 120 -> ReLU -> fc2 84 ->
ReLU -> fc3 10. Scopes carry the names of the torch module trained by
``tools/train_lenet5.py`` (``conv1``, ``fc1`` ...), so its state dict imports
with the identity mapping.

Input ``images``: (N, 1, 28, 28) float32, MNIST grey levels / 255 (white
digit on black). Output ``logits`` (N, 10), digits 0-9.
Weights: ``weights/lenet5.h5`` (weights/README.md).
"""
from __future__ import annotations

from netdsl import ActivationType, DataType, Network, PoolingType, Tensor

from netdsl.models.blocks import add_linear

PROFILES = [{"images": ((1, 1, 28, 28), (32, 1, 28, 28), (256, 1, 28, 28))}]


def conv_relu_pool(net: Network, x: Tensor, filters: int, *, name: str, padding: int) -> Tensor:
    """``name`` = torch Conv2d(5x5) -> ReLU -> MaxPool2d(2)."""
    x = net.add_convolution_nd(x, filters, (5, 5), padding_nd=padding, name=name).output
    x = net.add_activation(x, ActivationType.RELU, name=f"{name}_relu").output
    return net.add_pooling_nd(x, PoolingType.MAX, (2, 2), stride_nd=2, name=f"{name}_pool").output


def build_network(batch: int | None = None) -> Network:
    """LeNet-5 on (batch, 1, 28, 28); ``batch`` fixed when given, else a runtime dimension."""
    net = Network("lenet5")
    x = net.add_input("images", DataType.FLOAT, ("batch" if batch is None else batch, 1, 28, 28))
    x = conv_relu_pool(net, x, 6, name="conv1", padding=2)                      # (N, 6, 14, 14)
    x = conv_relu_pool(net, x, 16, name="conv2", padding=0)                     # (N, 16, 5, 5)
    x = net.add_shuffle(x, reshape_dims=(0, -1), name="flatten").output        # (N, 400), torch's flatten(1)
    for i, features in enumerate((120, 84), 1):
        x = add_linear(net, x, features, name=f"fc{i}")
        x = net.add_activation(x, ActivationType.RELU, name=f"fc{i}_relu").output
    net.mark_output(add_linear(net, x, 10, name="fc3"), "logits")
    return net
