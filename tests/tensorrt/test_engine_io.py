"""TensorRT backend plumbing: compat helpers, names, errors, save_engine, EngineRunner (real TensorRT-RTX, no mocks)."""
import importlib.util
import os

import numpy as np
import pytest

from netdsl.files import OutputPathError

import netdsl as nd
from netdsl import DataType, LayerType
from netdsl.graph.errors import BackendUnavailableError, NetworkDefinitionError, WeightsError
from netdsl.tensorrt import (EngineBuildError, EngineRunner, UnsupportedLayerError, build_engine, load_tensorrt,
                             save_engine, to_trt_network)
from netdsl.tensorrt.compat import _parse_version


def small_net(name="small", kernel=None):
    net = nd.Network(name)
    x = net.add_input("images", DataType.FLOAT, (1, 3, 8, 8))
    with net.scope("backbone"):
        y = net.add_convolution_nd(x, 4, (3, 3), kernel, np.zeros(4, np.float32), padding_nd=1, name="conv").output
        y = net.add_activation(y, nd.ActivationType.RELU, name="act").output
    net.mark_output(y, name="features")
    return net


# -- compat ---------------------------------------------------------------------------------
def test_load_tensorrt(rtx):
    assert rtx.flavor == "rtx" and rtx.version >= (1,)
    assert rtx.supports_strong_typing
    assert load_tensorrt("rtx") is rtx  # cached
    with pytest.raises(ValueError):
        load_tensorrt("onnx")


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="full TensorRT is installed")
def test_load_full_tensorrt_missing_says_what_to_install():
    with pytest.raises(BackendUnavailableError) as info:
        load_tensorrt("tensorrt")
    message = str(info.value)
    assert "\n" not in message and 'pip install "netdsl[tensorrt]"' in message


def test_parse_version():
    assert _parse_version("10.8.0.43") == (10, 8, 0, 43)
    assert _parse_version("8.6.1.post1") == (8, 6, 1)


def test_every_netdsl_enum_member_maps(rtx):
    """Names are TensorRT's: every member of every netdsl enum exists in TensorRT-RTX, except RNN
    (netdsl's own) and the CAFFE_* padding modes (full TensorRT only; see TensorRTModule.padding_mode)."""
    from netdsl.graph import enums
    for enum_name in ("ActivationType", "PoolingType", "PaddingMode", "ElementWiseOperation", "UnaryOperation",
                      "ScaleMode", "InterpolationMode", "ResizeCoordinateTransformation", "ResizeSelector",
                      "ResizeRoundMode", "SampleMode", "LayerType"):
        for member in getattr(enums, enum_name):
            if member.name == "RNN" or member.name.startswith("CAFFE"):
                with pytest.raises(BackendUnavailableError):
                    rtx.enum(member)
                continue
            assert rtx.enum(member).name == member.name
    for dtype in DataType:
        assert rtx.datatype(dtype).name == dtype.name


def test_create_network_and_targets(rtx):
    builder = rtx.trt.Builder(rtx.trt.Logger())
    network = rtx.create_network(builder)
    assert network.get_flag(rtx.trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    config = builder.create_builder_config()
    assert rtx.set_targets(config, ["sm86", "SM_89", "sm120"]) == ["SM86", "SM89", "SM120"]
    assert config.num_compute_capabilities == 3
    with pytest.raises(EngineBuildError, match="sm87"):
        rtx.set_targets(config, ["sm87"])
    rtx.set_workspace(config, 1 << 20)
    assert config.get_memory_pool_limit(rtx.trt.MemoryPoolType.WORKSPACE) == 1 << 20


def test_weak_typing_flags_need_full_tensorrt(rtx):
    """RTX has no BuilderFlag.FP16: weak typing of HALF layers is refused; all-FLOAT needs no flag."""
    net = small_net(kernel=np.ones((4, 3, 3, 3), np.float32))
    builder, _, keep = to_trt_network(net, rtx)
    config = builder.create_builder_config()
    assert rtx.weak_typing_flags(config, keep.layers, keep.outputs) == []
    half = nd.Network("half")
    h = half.add_cast(half.add_input("x", DataType.FLOAT, (2, 2)), DataType.HALF).output
    half.mark_output(h)
    builder, _, keep = to_trt_network(half, rtx)
    with pytest.raises(BackendUnavailableError, match="FP16"):
        rtx.weak_typing_flags(builder.create_builder_config(), keep.layers, keep.outputs)


# -- lowering ---------------------------------------------------------------------------------
def test_names_are_preserved(rtx):
    net = small_net(kernel=np.ones((4, 3, 3, 3), np.float32))
    _, trt_net, keep = to_trt_network(net, rtx)
    assert [layer.name for layer, _ in keep.layers] == ["backbone.conv", "backbone.act"]
    assert trt_net.get_input(0).name == "images"
    assert trt_net.num_outputs == 1 and trt_net.get_output(0).name == "features"
    assert trt_net.get_layer(0).get_output(0).name == "backbone.conv"


def test_unbound_weights_are_listed(rtx):
    net = small_net(kernel=None)  # declares backbone.conv.kernel, unbound
    with net.scope("head"):
        net.add_batch_norm(net.tensor("features"), name="bn")
    with pytest.raises(WeightsError) as info:
        build_engine(net, tensorrt=rtx, targets=("sm86",))
    message = str(info.value)
    for name in ("backbone.conv.kernel", "head.bn.scale", "head.bn.bias", "head.bn.mean", "head.bn.variance"):
        assert name in message


def test_every_layer_type_has_a_kernel_and_a_lowering():
    from netdsl.reference.registry import KERNELS
    from netdsl.tensorrt.lowering import LOWERINGS
    assert [t.name for t in LayerType if t not in KERNELS] == []
    assert [t.name for t in LayerType if t not in LOWERINGS] == []


def test_unsupported_layer_type_names_the_layer(rtx, monkeypatch):
    from netdsl.tensorrt.lowering import LOWERINGS
    monkeypatch.delitem(LOWERINGS, LayerType.IDENTITY)  # as for a layer type a backend lacks
    net = nd.Network("odd")
    x = net.add_input("x", DataType.FLOAT, (2, 3))
    net.mark_output(net.add_identity(x, name="odd_layer").output)
    with pytest.raises(UnsupportedLayerError, match="odd_layer: LayerType.IDENTITY has no TensorRT lowering"):
        to_trt_network(net, rtx)


def test_no_outputs(rtx):
    net = nd.Network("empty")
    net.add_input("x", DataType.FLOAT, (2, 3))
    with pytest.raises(NetworkDefinitionError, match="no outputs"):
        build_engine(net, tensorrt=rtx, targets=("sm86",))


def test_build_failure_carries_tensorrt_errors(rtx):
    """A network input marked as output: TensorRT refuses; its logged error is in the message."""
    net = nd.Network("io")
    net.mark_output(net.add_input("x", DataType.FLOAT, (2, 3)))
    with pytest.raises(EngineBuildError) as info:
        build_engine(net, tensorrt=rtx, targets=("sm86",))
    message = str(info.value)
    assert "could not build network 'io'" in message and "both input and output" in message
    assert "cudaError 35" not in message


# -- save_engine ---------------------------------------------------------------------------------
def test_save_engine_writes_atomically(rtx, tmp_path):
    net = small_net(kernel=np.ones((4, 3, 3, 3), np.float32))
    path = save_engine(net, tmp_path / "small.engine", tensorrt=rtx, targets=("sm86",))
    assert path == str(tmp_path / "small.engine")
    assert os.path.getsize(path) > 1000
    assert os.listdir(tmp_path) == ["small.engine"]  # no temporary file left


def test_save_engine_writes_the_engine_build_engine_returns(rtx, tmp_path):
    """save_engine writes TensorRT's plan straight from its buffer (no bytes copy): the same bytes."""
    net = small_net(kernel=np.arange(108, dtype=np.float32).reshape(4, 3, 3, 3) / 100)
    engine = build_engine(net, tensorrt=rtx, targets=("sm86",))
    path = save_engine(net, tmp_path / "small.engine", tensorrt=rtx, targets=("sm86",))
    assert open(path, "rb").read() == engine
    detailed, report = build_engine(net, tensorrt=rtx, targets=("sm86",), report=True)
    assert save_engine(net, path, tensorrt=rtx, targets=("sm86",), report=True) == (path, report)
    assert open(path, "rb").read() == detailed
    with pytest.raises(TypeError, match="save_engine.*'target'"):
        save_engine(net, tmp_path / "x.engine", tensorrt=rtx, target=("sm86",))
    assert os.listdir(tmp_path) == ["small.engine"]


def _folded_net():
    net = nd.Network("folded")
    x = net.add_input("images", DataType.FLOAT, (1, 3, 8, 8))
    y = net.add_conv_batch_norm(x, 4, (3, 3), padding_nd=1, fold=True, conv_name="conv", bn_name="bn").output
    net.mark_output(net.add_activation(y, nd.ActivationType.RELU, name="act").output, name="features")
    rng = np.random.default_rng(1)
    arrays = {"conv.kernel": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
              **{f"bn.{r}": rng.uniform(0.5, 1.5, 4).astype(np.float32) for r in ("scale", "bias", "mean", "variance")}}
    net.bind_weights(arrays, source="arrays")
    return net, arrays


def test_release_weights_builds_the_same_engine_and_unbinds_the_network(rtx):
    """release_weights=True (netdsl build's memory saver): the engine is the same; the network's weights are
    dropped once lowered, so a second build says they are unbound until bound again."""
    net, arrays = _folded_net()
    engine = build_engine(net, tensorrt=rtx, targets=("sm86",))
    assert build_engine(net, tensorrt=rtx, targets=("sm86",), release_weights=True) == engine
    assert sorted(net.unbound_weights()) == sorted(arrays)
    with pytest.raises(WeightsError, match="unbound weights: conv.kernel"):
        build_engine(net, tensorrt=rtx, targets=("sm86",))
    net.bind_weights(arrays, source="arrays")
    assert build_engine(net, tensorrt=rtx, targets=("sm86",)) == engine


def test_save_engine_missing_directory(rtx, tmp_path):
    net = small_net(kernel=np.ones((4, 3, 3, 3), np.float32))
    target = tmp_path / "no" / "such" / "dir" / "small.engine"
    with pytest.raises(OutputPathError) as info:
        save_engine(net, target, tensorrt=rtx, targets=("sm86",))
    assert str(target) in str(info.value) and "does not exist" in str(info.value)
    assert not (tmp_path / "no").exists() and os.listdir(tmp_path) == []


# -- EngineRunner ------------------------------------------------------------------------------
def _gpu_runtime_available() -> bool:
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        try:
            from cuda import cudart
        except ImportError:
            return False
    err, count = cudart.cudaGetDeviceCount()
    return err == cudart.cudaError_t.cudaSuccess and count > 0


@pytest.mark.skipif(_gpu_runtime_available(), reason="a GPU and cuda-python are present: the runner can run")
def test_runner_fails_with_one_line_here(rtx, tmp_path):
    net = small_net(kernel=np.ones((4, 3, 3, 3), np.float32))
    engine = build_engine(net, tensorrt=rtx, targets=("sm86",))
    path = tmp_path / "small.engine"
    path.write_bytes(engine)
    for source in (engine, path, str(path)):
        with pytest.raises(BackendUnavailableError) as info:
            EngineRunner(source, prefer="rtx")
        message = str(info.value)
        assert message and "\n" not in message
        assert info.value.__cause__ is None  # raised on its own, not chained to an ImportError traceback
    with pytest.raises(FileNotFoundError, match="missing.engine"):
        EngineRunner(tmp_path / "missing.engine", prefer="rtx")
