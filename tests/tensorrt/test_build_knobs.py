"""Builder knobs (trtexec's names) reach IBuilderConfig through compat.py: read back from a real
TensorRT-RTX config, refused in one line where a version lacks them, and used by real sm86 builds."""
import os
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

from netdsl import DataType, Network
from netdsl.graph.errors import BackendUnavailableError
from netdsl.tensorrt import EngineBuildError, build_engine
from netdsl.tensorrt.compat import TensorRTModule

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(rtx):
    from netdsl.tensorrt.logger import make_logger
    logger = make_logger(rtx.trt)
    builder = rtx.trt.Builder(logger)
    cfg = builder.create_builder_config()
    yield cfg, logger
    del cfg, builder  # the config before its builder


def small_net(dtype=DataType.FLOAT, name="knobs"):
    """images (1, 16, 32, 32) FLOAT -> [cast to dtype] -> 3x3 conv -> leaky ReLU -> [cast back] -> output."""
    from netdsl import ActivationType
    net = Network(name)
    x = net.add_input("images", DataType.FLOAT, (1, 16, 32, 32))
    if dtype is not DataType.FLOAT:
        x = net.add_cast(x, dtype, name="to_reduced").output
    conv = net.add_convolution_nd(x, 16, (3, 3), padding_nd=(1, 1), name="conv")
    y = net.add_activation(conv.output, ActivationType.LEAKY_RELU, alpha=0.1, name="leaky").output
    if dtype is not DataType.FLOAT:
        y = net.add_cast(y, DataType.FLOAT, name="to_float").output
    net.mark_output(y)
    rng = np.random.default_rng(0)
    net.bind_weights({n: rng.standard_normal(w.shape).astype(np.float32) * 0.1 for n, w in net.weights().items()})
    return net


@pytest.fixture
def build_sm86(rtx):
    """``build_engine`` with TensorRT-RTX for sm86 (keyword arguments passed on); returns what it returns."""
    def _build(net, **kw):
        kw.setdefault("targets", ("sm86",))
        return build_engine(net, tensorrt=rtx, **kw)
    return _build


# -- read back from a real IBuilderConfig -------------------------------------------------------------------------
@pytest.mark.parametrize("level", [0, 2, 5])
def test_builder_optimization_level_read_back(rtx, config, level):
    cfg, logger = config
    assert rtx.set_builder_optimization_level(cfg, level, logger) == level
    assert cfg.builder_optimization_level == level


def test_builder_optimization_level_above_tensorrts_range_is_refused(rtx, config):
    cfg, logger = config
    # TensorRT-RTX 1.7 silently lowers 7 to its highest level; netdsl reads it back and refuses.
    with pytest.raises(EngineBuildError) as err:
        rtx.set_builder_optimization_level(cfg, 7, logger)
    assert str(err.value) == ("builder_optimization_level (--builder-optimization-level): TensorRT-RTX "
                              f"{'.'.join(map(str, rtx.version))} keeps 5, expected 7")
    with pytest.raises(EngineBuildError, match=r"expected an integer >= 0 .*found -1"):
        rtx.set_builder_optimization_level(cfg, -1, logger)


@pytest.mark.parametrize("streams", [0, 1, 3])
def test_max_aux_streams_read_back(rtx, config, streams):
    cfg, logger = config
    assert cfg.max_aux_streams == -1  # TensorRT's default: it decides
    assert rtx.set_max_aux_streams(cfg, streams, logger) == streams
    assert cfg.max_aux_streams == streams
    with pytest.raises(EngineBuildError, match=r"max_aux_streams \(--max-aux-streams\): expected an integer >= 0"):
        rtx.set_max_aux_streams(cfg, -1, logger)


def test_memory_pools_read_back(rtx, config):
    cfg, logger = config
    trt = rtx.trt
    got = rtx.set_memory_pool_limits(cfg, {"workspace": 256 << 20, "tactic_dram": 1 << 30,
                                           "tacticSharedMem": 48 << 10}, logger)
    assert cfg.get_memory_pool_limit(trt.MemoryPoolType.WORKSPACE) == 256 << 20
    assert cfg.get_memory_pool_limit(trt.MemoryPoolType.TACTIC_DRAM) == 1 << 30
    assert cfg.get_memory_pool_limit(trt.MemoryPoolType.TACTIC_SHARED_MEMORY) == 48 << 10
    assert got == {"WORKSPACE": 256 << 20, "TACTIC_DRAM": 1 << 30, "TACTIC_SHARED_MEMORY": 48 << 10}


def test_memory_pools_tensorrt_does_not_keep_are_refused_with_its_reason(rtx, config):
    cfg, logger = config
    with pytest.raises(EngineBuildError) as err:  # TensorRT-RTX has no DLA
        rtx.set_memory_pool_limits(cfg, {"dlaSRAM": 1 << 20}, logger)
    message = str(err.value)
    assert "dlaSRAM" in message and "keeps 0 bytes, expected 1048576" in message and "DLA disabled" in message
    with pytest.raises(EngineBuildError, match="unknown memory pool 'scratch'"):
        rtx.set_memory_pool_limits(cfg, {"scratch": 1}, logger)


# -- versions that lack a knob: refused in one line naming the version -------------------------------------------
def _old_tensorrt(version="8.5.3"):
    """A stand-in for a TensorRT whose IBuilderConfig and MemoryPoolType lack 8.6 / 10.0 members."""
    trt = types.SimpleNamespace(__version__=version, MemoryPoolType=types.SimpleNamespace(WORKSPACE=0))
    return TensorRTModule(trt, "tensorrt", "tensorrt")


def test_knobs_refused_where_the_version_lacks_them():
    tm = _old_tensorrt()
    old_config = types.SimpleNamespace(set_memory_pool_limit=None)
    with pytest.raises(BackendUnavailableError) as err:
        tm.set_builder_optimization_level(old_config, 3)
    assert str(err.value) == ("builder_optimization_level (--builder-optimization-level): TensorRT 8.5.3 has no "
                              "IBuilderConfig.builder_optimization_level (needs TensorRT >= 8.6)")
    with pytest.raises(BackendUnavailableError, match=r"TensorRT 8.5.3 has no IBuilderConfig.max_aux_streams "
                                                      r"\(needs TensorRT >= 8.6\)"):
        tm.set_max_aux_streams(old_config, 0)
    with pytest.raises(BackendUnavailableError, match=r"MemoryPoolType.TACTIC_SHARED_MEMORY is not available in "
                                                      r"TensorRT 8.5.3 \(needs TensorRT >= 10.0\)"):
        tm.set_memory_pool_limits(old_config, {"tacticSharedMem": 1024})


# -- precision per target ------------------------------------------------------------------------------------------
def test_target_precision_table(rtx):
    table = {(t, d): rtx.target_supports(t, d) for t in ("sm75", "sm80", "sm86", "sm89", "sm120", "sm121")
             for d in ("fp16", "bf16", "int8", "fp8", "fp4")}
    assert [t for t in ("sm75", "sm80", "sm86", "sm89", "sm120", "sm121") if table[t, "bf16"]] == \
        ["sm80", "sm86", "sm89", "sm120", "sm121"]
    assert [t for t in ("sm75", "sm80", "sm86", "sm89", "sm120", "sm121") if table[t, "fp8"]] == \
        ["sm89", "sm120", "sm121"]
    assert [t for t in ("sm75", "sm80", "sm86", "sm89", "sm120", "sm121") if table[t, "fp4"]] == ["sm120", "sm121"]
    assert all(table[t, "fp16"] and table[t, "int8"] for t in ("sm75", "sm86", "sm89", "sm120"))
    assert rtx.target_supports("current", "fp8") is None  # only the GPU can tell
    assert _old_tensorrt("10.8.0").target_supports("sm86", "fp8") is None  # full TensorRT ignores targets


def test_the_table_agrees_with_tensorrt(rtx):
    """What the table refuses, TensorRT-RTX itself cannot compile (built here with the check bypassed)."""
    from netdsl.tensorrt.builder import to_trt_network
    for target, ok in (("sm75", False), ("sm86", True)):
        builder, trt_network, ctx = to_trt_network(small_net(DataType.BF16, name=f"bf16_{target}"), rtx)
        cfg = builder.create_builder_config()
        rtx.set_targets(cfg, [target])
        built = builder.build_serialized_network(trt_network, cfg)
        assert (built is not None) == ok, ctx.logger.errors()
        assert ok == rtx.target_supports(target, "bf16")
        if not ok:
            assert "Cannot compile for target(s) sm75, because the model contains HW-specific datatypes" \
                in " ".join(ctx.logger.errors())


def test_bf16_network_for_sm75_fails_before_tensorrt(rtx):
    with pytest.raises(EngineBuildError) as err:
        build_engine(small_net(DataType.BF16), targets=("sm75",), tensorrt=rtx)
    label = rtx.label
    assert str(err.value) == (f"network 'knobs' (tensor 'to_reduced' is BF16): {label} cannot build BF16 for "
                              f"target sm75 (needs compute capability >= 8.0: sm80, sm86, sm89, sm120, sm121; "
                              f"TensorRT-RTX support matrix)")


# -- real builds ---------------------------------------------------------------------------------------------------
def test_knobs_in_a_real_build(rtx, build_sm86):
    engine, report = build_sm86(small_net(), builder_optimization_level=1, max_aux_streams=0,
                                      memory_pools={"workspace": 64 << 20, "tactic_dram": 512 << 20}, report=True)
    config = report["config"]  # read back from the IBuilderConfig after the build
    assert config["builder_optimization_level"] == 1
    assert config["max_aux_streams"] == 0
    assert config["memory_pools"]["WORKSPACE"] == 64 << 20
    assert config["memory_pools"]["TACTIC_DRAM"] == 512 << 20
    assert config["profiling_verbosity"] == "DETAILED"
    assert config["compute_capabilities"] == ["sm86"]


def test_timing_cache_is_a_noop_on_rtx(rtx, build_sm86, tmp_path):
    cache = tmp_path / "timing.cache"
    with pytest.warns(UserWarning, match=r"timing cache .*timing.cache: TensorRT-RTX .* ignores timing caches"):
        build_sm86(small_net(), timing_cache=cache)
    assert not cache.exists()


def test_timing_cache_file_flow(rtx, build_sm86, tmp_path, monkeypatch):
    """The full-TensorRT path (read if present, write atomically after the build), run through TensorRT-RTX's
    timing cache calls, which still work (as no-ops, with a DeprecationWarning)."""
    monkeypatch.setattr(TensorRTModule, "timing_cache_is_noop", property(lambda self: False))
    cache = tmp_path / "timing.cache"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        build_sm86(small_net(), timing_cache=cache)
        first = cache.read_bytes()
        assert first[:5] == b"ptrtd"  # TensorRT's serialized timing cache header
        build_sm86(small_net(), timing_cache=cache)  # reads it back, writes it again
    assert sorted(p.name for p in tmp_path.iterdir()) == ["timing.cache"]  # no temporary file left
    assert cache.read_bytes()[:5] == b"ptrtd"


def test_verbose_log_to_a_callable_a_stream_and_a_file(rtx, build_sm86, tmp_path):
    seen = []
    build_sm86(small_net(), verbose=lambda severity, message: seen.append((severity, message)))
    severities = {s for s, _ in seen}
    assert {"VERBOSE", "INFO"} <= severities
    assert any(m.startswith("Engine generation completed") for _, m in seen)

    import io
    stream = io.StringIO()
    build_sm86(small_net(), verbose=stream)
    assert "[VERBOSE] " in stream.getvalue()

    log = tmp_path / "build.log"
    build_sm86(small_net(), verbose=log, report=True)
    text = log.read_text()
    assert "[VERBOSE] Layers:" in text and "\nName: " in text
    assert sorted(os.listdir(tmp_path)) == ["build.log"]


def test_verbose_log_file_is_written_when_tensorrt_fails(rtx, tmp_path, monkeypatch):
    # BF16 for sm75, with netdsl's own check switched off: TensorRT-RTX itself refuses it.
    monkeypatch.setattr(TensorRTModule, "check_targets_support", lambda *a, **k: None)
    failed = tmp_path / "failed.log"
    with pytest.raises(EngineBuildError, match="HW-specific datatypes"):
        build_engine(small_net(DataType.BF16), targets=("sm75",), tensorrt=rtx, verbose=failed)
    text = failed.read_text()
    assert "[VERBOSE] " in text and "[ERROR] " in text and "Cannot compile for target(s) sm75" in text
    assert os.listdir(tmp_path) == ["failed.log"]
