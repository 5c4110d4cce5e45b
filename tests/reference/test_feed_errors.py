"""What ``execute`` says about feeds that do not fit the inputs: names, shape (with a channels-last hint), dtype."""
import numpy as np
import pytest

from netdsl import ActivationType, DataType, ExecutionError, Network
from netdsl.reference import execute


def relu_net():
    net = Network("relu")
    x = net.add_input("images", DataType.FLOAT, (1, 3, 8, 5))
    net.mark_output(net.add_activation(x, ActivationType.RELU).output)
    return net


def message(net, feeds):
    with pytest.raises(ExecutionError) as err:
        execute(net, feeds)
    return str(err.value)


def test_misnamed_feed_names_both_sides():
    text = message(relu_net(), {"image": np.zeros((1, 3, 8, 5), np.float32)})
    assert text == "network 'relu': feeds do not match its inputs ['images']: no feed for 'images'; no input named 'image'"


def test_extra_feed_only():
    feeds = {"images": np.zeros((1, 3, 8, 5), np.float32), "extra": np.zeros(1, np.float32)}
    assert message(relu_net(), feeds).endswith(": no input named 'extra'")


def test_channels_last_feed_gets_a_transpose_hint():
    nhwc = np.zeros((1, 8, 5, 3), np.float32)
    assert message(relu_net(), {"images": nhwc}) == ("input 'images': expected shape (1, 3, 8, 5), found (1, 8, 5, 3) "
                                                     "(NHWC? the input is NCHW: pass x.transpose(0, 3, 1, 2))")
    # the hint's fix works
    out = execute(relu_net(), {"images": nhwc.transpose(0, 3, 1, 2)})
    assert next(iter(out.values())).shape == (1, 3, 8, 5)


def test_other_wrong_shape_has_no_hint():
    assert message(relu_net(), {"images": np.zeros((1, 3, 5, 8), np.float32)}) == (
        "input 'images': expected shape (1, 3, 8, 5), found (1, 3, 5, 8)")


def test_python_list_feed_says_how_to_convert():
    value = np.arange(120, dtype=np.float32).reshape(1, 3, 8, 5)
    text = message(relu_net(), {"images": value.tolist()})
    assert text == ("input 'images': expected dtype float32, found float64 (a list becomes a float64 array: "
                    "pass np.asarray(value, dtype='float32'))")
    out = execute(relu_net(), {"images": np.asarray(value.tolist(), dtype="float32")})
    np.testing.assert_array_equal(next(iter(out.values())), value)


def test_float64_array_feed_has_no_list_hint():
    text = message(relu_net(), {"images": np.zeros((1, 3, 8, 5))})
    assert text == "input 'images': expected dtype float32, found float64"


def test_unknown_output_name_suggests_close_names():
    with pytest.raises(ExecutionError) as err:
        execute(relu_net(), {"images": np.zeros((1, 3, 8, 5), np.float32)}, outputs=["activaton"])
    assert [t.name for layer in relu_net().layers for t in layer.outputs] == ["activation"]
    assert str(err.value) == "network 'relu' has no tensor 'activaton' (did you mean 'activation'?)"
    with pytest.raises(ExecutionError) as err:
        execute(relu_net(), {"images": np.zeros((1, 3, 8, 5), np.float32)}, outputs=["zzz"])
    assert str(err.value) == "network 'relu' has no tensor 'zzz'"
