"""Runtime dimensions in real TensorRT-RTX builds: every layer case of tests/support/runtime_dims_cases.py
builds with one optimization profile spanning its concrete shapes, and profiles are checked first."""
import numpy as np
import pytest
from runtime_dims_cases import CASES, NO_RTX_RUNNER
from runtime_dims_cases import build as build_case

from netdsl import DataType, Network, PoolingType
from netdsl.graph.profiles import OptimizationProfile, ProfileError
from netdsl.graph.shapes import ShapeError
from netdsl.tensorrt.errors import UnsupportedLayerError


def _profile(shapes):
    lo = tuple(min(s[i] for s in shapes) for i in range(len(shapes[0])))
    hi = tuple(max(s[i] for s in shapes) for i in range(len(shapes[0])))
    return OptimizationProfile({"x": (lo, shapes[0], hi)})


@pytest.mark.parametrize("case", sorted(CASES))
def test_case_builds_with_a_profile(case, build):
    dims, shapes, builder = CASES[case]
    net = build_case(dims, builder)
    if case in NO_RTX_RUNNER:  # TensorRT-RTX cannot build it: refused before TensorRT builds, one line
        with pytest.raises(UnsupportedLayerError, match="has no runner for LayerType") as info:
            build(net, profiles=[_profile(shapes)])
        assert "\n" not in str(info.value)
        return
    build(net, profiles=[_profile(shapes)])


def test_two_profiles_in_one_engine(build):
    dims, shapes, builder = CASES["conv_pad1"]
    net = build_case(dims, builder)
    build(net, profiles=[{"x": ((1, 3, 4, 4), (1, 3, 8, 8), (1, 3, 16, 16))},
                                    {"x": ((2, 3, 32, 32), (4, 3, 64, 64), (8, 3, 96, 96))}])


def _pool_net():
    net = Network("pool")
    x = net.add_input("x", DataType.FLOAT, ("batch", 3, "height", "width"))
    net.mark_output(net.add_pooling_nd(x, PoolingType.MAX, (4, 4), stride_nd=4).output)
    return net


@pytest.mark.parametrize("profiles, message", [
    ([], "has runtime dimensions ('x' (batch, 3, height, width)): give an optimization profile"),
    ([{"y": ((1,), (1,), (1,))}], "profile 0: unknown input(s) ['y']"),
    ([{"x": ((1, 3, 8, 8), (1, 3, 4, 8), (1, 3, 16, 16))}], "axis 2: needs min <= opt <= max, found 8, 4, 16"),
    ([{"x": ((1, 3, 8), (1, 3, 8), (1, 3, 8))}], "min shape (1, 3, 8) has rank 3, the input has rank 4"),
    ([{"x": ((1, 4, 8, 8), (1, 4, 8, 8), (1, 4, 8, 8))}], "has 4 at axis 1, but the input's dimension there is fixed at 3"),
])
def test_bad_profiles_fail_before_tensorrt(profiles, message, build):
    with pytest.raises(ProfileError) as info:
        build(_pool_net(), profiles=profiles)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_layer_requirement_checked_at_profile_min(build):
    """A 4x4 pooling window with stride 4 needs height >= 4: min 2 fails naming the layer and the profile."""
    with pytest.raises(ShapeError) as info:
        build(_pool_net(), profiles=[{"x": ((1, 3, 2, 8), (1, 3, 8, 8), (1, 3, 16, 16))}])
    message = str(info.value)
    assert message.startswith("pooling: needs output spatial dimension 0") and "profile 0 min" in message
    assert "height=2" in message
