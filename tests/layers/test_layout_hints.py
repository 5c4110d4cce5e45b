"""A convolution kernel of the wrong shape says why when the cause is a layout: a channels-last (NHWC) input,
which TensorRT convolutions read as NCHW, or a kernel in another framework's layout (TFLite KRSC/OHWI,
TensorFlow/Keras RSCK/HWIO). The suggested fixes are checked to give the right values against NumPy."""
import re

import numpy as np
import pytest

from netdsl import DataType, Network
from netdsl.graph.errors import NetworkDefinitionError, WeightsError
from netdsl.reference import execute
from netdsl.weights import load_weights
from netdsl.weights.hdf5 import save_weights

NHWC_HINT = ("input 'images' (1, 416, 416, 3) looks NHWC; TensorRT convolutions read NCHW: "
             "add_shuffle(x, first_transpose=(0, 3, 1, 2)) first")


def nhwc_net():
    """The TFLite porter's mistake: a 416x416 RGB NHWC input fed straight to a convolution."""
    net = Network("tflite_port")
    x = net.add_input("images", DataType.FLOAT, (1, 416, 416, 3))
    net.add_convolution_nd(x, 16, (3, 3), padding_nd=(1, 1), name="conv")  # reads C = 416: no error yet
    return net


def test_binding_an_nchw_kernel_to_an_nhwc_input_says_nhwc():
    net = nhwc_net()
    arrays = {"conv.kernel": np.zeros((16, 3, 3, 3), np.float32), "conv.bias": np.zeros(16, np.float32)}
    with pytest.raises(WeightsError) as err:
        net.bind_weights(arrays, source="yolo.h5")
    message = str(err.value)
    assert "\n" not in message
    assert ("conv.kernel: expected shape (16, 416, 3, 3), found (16, 3, 3, 3); " + NHWC_HINT) in message


def test_loading_from_hdf5_says_nhwc(tmp_path):
    path = tmp_path / "w.h5"
    save_weights(path, {"conv.kernel": np.zeros((16, 3, 3, 3), np.float32), "conv.bias": np.zeros(16, np.float32)},
                 source="test")
    with pytest.raises(WeightsError, match=re.escape(NHWC_HINT)):
        load_weights(nhwc_net(), path)


def test_declaring_a_kernel_array_for_an_nhwc_input_says_nhwc():
    net = Network("tflite_port")
    x = net.add_input("images", DataType.FLOAT, (1, 416, 416, 3))
    with pytest.raises(NetworkDefinitionError) as err:
        net.add_convolution_nd(x, 16, (3, 3), np.zeros((16, 3, 3, 3), np.float32), name="conv")
    assert str(err.value) == ("conv: kernel weights must have shape (16, 416, 3, 3), found (16, 3, 3, 3); "
                              + NHWC_HINT)


def test_nhwc_depthwise_group_error_says_nhwc():
    net = Network("tflite_port")
    x = net.add_input("images", DataType.FLOAT, (1, 416, 416, 3))
    with pytest.raises(NetworkDefinitionError, match=re.escape(NHWC_HINT) + "$"):
        net.add_convolution_nd(x, 3, (3, 3), num_groups=3, name="dw")


def test_nhwc_3d_input_names_the_ndhwc_transpose():
    net = Network("t")
    x = net.add_input("clip", DataType.FLOAT, (1, 8, 32, 32, 3))
    net.add_convolution_nd(x, 4, (3, 3, 3), name="conv3d")
    with pytest.raises(WeightsError, match=re.escape("input 'clip' (1, 8, 32, 32, 3) looks NDHWC; TensorRT "
                                                     "convolutions read NCDHW: add_shuffle(x, first_transpose="
                                                     "(0, 4, 1, 2, 3)) first")):
        net.bind_weights({"conv3d.kernel": np.zeros((4, 3, 3, 3, 3), np.float32),
                          "conv3d.bias": np.zeros(4, np.float32)})


def _hwio_conv(x, w_hwio):
    """Reference semantics of a TensorFlow HWIO kernel (stride 1, no padding) on NCHW x, by explicit sums."""
    n, c, h, w = x.shape
    r, s, ci, k = w_hwio.shape
    out = np.zeros((n, k, h - r + 1, w - s + 1))
    for i in range(r):
        for j in range(s):
            out += np.einsum("nchw,ck->nkhw", x[:, :, i:i + h - r + 1, j:j + w - s + 1], w_hwio[i, j])
    return out


def _suggested_transpose(message):
    return tuple(int(v) for v in re.search(r"kernel\.transpose\(([\d, ]+)\)", message).group(1).split(","))


@pytest.mark.parametrize("label, from_kcrs", [
    ("RSCK (HWIO, TensorFlow/Keras)", (2, 3, 1, 0)),  # KCRS -> RSCK
    ("KRSC (OHWI, TFLite)", (0, 2, 3, 1)),            # KCRS -> KRSC
])
def test_foreign_kernel_layout_is_named_and_its_transpose_is_right(label, from_kcrs):
    rng = np.random.default_rng(0)
    kcrs = rng.standard_normal((5, 3, 3, 2)).astype(np.float32)
    foreign = np.ascontiguousarray(kcrs.transpose(from_kcrs))
    net = Network("t")
    x = net.add_input("x", DataType.FLOAT, (1, 3, 6, 7))
    with pytest.raises(NetworkDefinitionError) as err:
        net.add_convolution_nd(x, 5, (3, 2), foreign, bias=False, name="conv")
    message = str(err.value)
    assert "\n" not in message and f"kernel {foreign.shape} looks {label}: kernel.transpose(" in message
    assert "gives TensorRT's KCRS (5, 3, 3, 2)" in message and "NHWC" not in message
    fixed = net.add_convolution_nd(x, 5, (3, 2), foreign.transpose(_suggested_transpose(message)), bias=False,
                                   name="conv")
    net.mark_output(fixed.output)
    xv = rng.standard_normal((1, 3, 6, 7)).astype(np.float32)
    got = execute(net, {"x": xv})["conv"]
    np.testing.assert_allclose(got, _hwio_conv(xv.astype(np.float64), kcrs.transpose(2, 3, 1, 0)), rtol=1e-5,
                               atol=1e-5)


def test_deconvolution_tflite_kernel_is_named():
    net = Network("t")
    x = net.add_input("x", DataType.FLOAT, (1, 3, 8, 8))
    with pytest.raises(NetworkDefinitionError, match=re.escape(
            "kernel (8, 4, 4, 3) looks KRSC (OHWI, TFLite TRANSPOSE_CONV): kernel.transpose(3, 0, 1, 2) gives "
            "TensorRT's CKRS (3, 8, 4, 4)") + "$"):
        net.add_deconvolution_nd(x, 8, (4, 4), np.zeros((8, 4, 4, 3), np.float32), name="up")


def test_keras_kernel_bound_later_is_named():
    net = Network("t")
    x = net.add_input("x", DataType.FLOAT, (1, 3, 16, 16))
    net.add_convolution_nd(x, 8, (3, 3), name="conv")
    with pytest.raises(WeightsError, match=re.escape(
            "conv.kernel: expected shape (8, 3, 3, 3), found (3, 3, 3, 8); kernel (3, 3, 3, 8) looks RSCK "
            "(HWIO, TensorFlow/Keras): kernel.transpose(3, 2, 0, 1) gives TensorRT's KCRS (8, 3, 3, 3)")):
        net.bind_weights({"conv.kernel": np.zeros((3, 3, 3, 8), np.float32), "conv.bias": np.zeros(8, np.float32)})


def test_unrelated_shape_errors_get_no_hint():
    net = Network("t")
    x = net.add_input("x", DataType.FLOAT, (1, 3, 16, 16))
    with pytest.raises(NetworkDefinitionError) as err:
        net.add_convolution_nd(x, 8, (3, 3), np.zeros((8, 4, 3, 3), np.float32), name="conv")
    assert str(err.value) == "conv: kernel weights must have shape (8, 3, 3, 3), found (8, 4, 3, 3)"
    net.add_convolution_nd(x, 8, (3, 3), name="conv2")
    with pytest.raises(WeightsError) as err:
        net.bind_weights({"conv2.kernel": np.zeros((8, 3, 3, 3), np.float64), "conv2.bias": np.zeros(8, np.float32)})
    assert str(err.value).endswith("conv2.kernel: expected dtype float32, found float64")


def test_a_grouped_kernel_without_num_groups_suggests_it():
    net = Network("g")
    x = net.add_input("x", DataType.FLOAT, (1, 8, 6, 6))
    with pytest.raises(NetworkDefinitionError) as err:
        net.add_convolution_nd(x, 8, (3, 3), np.zeros((8, 1, 3, 3), np.float32), name="dw")
    assert str(err.value) == ("dw: kernel weights must have shape (8, 8, 3, 3), found (8, 1, 3, 3); a kernel of 1 input "
                              "channels of 8 is a grouped convolution's: pass num_groups=8")
    layer = net.add_convolution_nd(x, 8, (3, 3), np.zeros((8, 1, 3, 3), np.float32), num_groups=8, name="dw")
    assert layer.output.shape == (1, 8, 4, 4)


def test_a_foreign_weights_object_is_named():
    class Weights:  # what TensorRT's Python bindings call their weight holder
        pass
    net = Network("w")
    x = net.add_input("x", DataType.FLOAT, (1, 8, 6, 6))
    with pytest.raises(NetworkDefinitionError) as err:
        net.add_convolution_nd(x, 4, (3, 3), Weights(), name="c")
    assert str(err.value) == (f"c: kernel weights: expected a NumPy array (or None, to bind from a weight file), found "
                              f"{__name__}.Weights")
