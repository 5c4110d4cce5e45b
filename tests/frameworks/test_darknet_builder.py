"""The darknet cfg builder and the darknet blocks, layer by layer, against OpenCV DNN's darknet importer.

Small cfgs with seeded random weights (darknet format, converted by ``convert_darknet``) run in both;
netdsl uses OpenCV's batch-norm epsilon 1e-6 (darknet's own is 1e-5, the builder's default). Layers OpenCV
cannot read (relu6, the [activation] section) are checked against darknet's formulas (src/activations.h) or
against the equivalent cfg OpenCV can read. Errors name the file, the line and the layer.
"""
import numpy as np
import pytest

from darknet_oracle import (assert_rows_match, opencv_net, opencv_rows_as_ours, relative_error,
                            write_random_darknet_weights)
from netdsl import DataType, Network
from netdsl.frameworks.darknet import convert_darknet, export_darknet
from netdsl.frameworks.darknet.builder import DarknetCfgError, build_from_cfg, detection_spec
from netdsl.graph.errors import NetdslError, WeightsFileError
from netdsl.models import blocks
from netdsl.reference import execute
from netdsl.weights import load_weights, save_weights

NET = "[net]\nwidth=64\nheight=64\nchannels=3\n"


def conv(filters, size=3, stride=1, act="leaky", bn=1, groups=1):
    return (f"[convolutional]\nbatch_normalize={bn}\nfilters={filters}\nsize={size}\nstride={stride}\npad=1\n"
            f"groups={groups}\nactivation={act}\n")


SPP = ("[maxpool]\nstride=1\nsize=5\n[route]\nlayers=-2\n[maxpool]\nstride=1\nsize=9\n[route]\nlayers=-4\n"
       "[maxpool]\nstride=1\nsize=13\n[route]\nlayers=-1,-3,-5,-6\n")
YOLO = ("[convolutional]\nfilters=24\nsize=1\nstride=1\npad=1\nactivation={act}\n[yolo]\nmask=0,1,2\n"
        "anchors=10,14, 23,27, 37,58\nclasses=3\nnum=3\n{extra}")

CASES = {
    "leaky": NET + conv(8),
    "relu": NET + conv(8, act="relu"),
    "tanh": NET + conv(8, act="tanh"),
    "mish": NET + conv(8, act="mish"),
    "swish": NET + conv(8, act="swish"),
    "logistic": NET + conv(8, act="logistic"),
    "linear-no-bn": NET + conv(8, act="linear", bn=0),
    "stride2-size1": NET + conv(8) + conv(16, size=1, stride=2),
    "depthwise": NET + conv(8) + conv(8, groups=8),
    "groups2": NET + conv(8) + conv(6, groups=2),
    "maxpool-2x2-s2": NET + conv(8) + "[maxpool]\nsize=2\nstride=2\n",
    "maxpool-2x2-s1": NET + conv(8) + "[maxpool]\nsize=2\nstride=1\n",
    "maxpool-3x3-s2": NET + conv(8) + "[maxpool]\nsize=3\nstride=2\n",
    "spp": NET + conv(8) + SPP,
    "avgpool": NET + conv(8) + "[avgpool]\n",
    "route-two": NET + conv(8) + conv(4) + "[route]\nlayers=-1,-2\n",
    "route-groups": NET + conv(8) + "[route]\nlayers=-1\ngroups=2\ngroup_id=1\n",
    "shortcut-leaky": NET + conv(8) + conv(8) + "[shortcut]\nfrom=-2\nactivation=leaky\n",
    "shortcut-more-channels": NET + conv(16) + conv(8) + "[shortcut]\nfrom=-2\n",
    "shortcut-fewer-channels": NET + conv(8) + conv(16) + "[shortcut]\nfrom=-2\n",
    "upsample": NET + conv(8) + "[upsample]\nstride=2\n",
    "dropout": NET + conv(8) + "[dropout]\nprobability=.5\n",
    "reorg": NET + conv(8) + "[reorg]\nstride=2\n",
    "reorg-16ch": NET + conv(16, stride=2) + "[reorg]\nstride=2\n",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """name -> (cfg path, darknet .weights, netdsl .h5) for every case, written once."""
    folder = tmp_path_factory.mktemp("cfgs")
    cache = {}

    def make(name, text, head_scale=1.0):
        if name not in cache:
            cfg, weights, h5 = folder / f"{name}.cfg", folder / f"{name}.weights", folder / f"{name}.h5"
            cfg.write_text(text)
            write_random_darknet_weights(cfg, weights, seed=len(cache), head_scale=head_scale)
            convert_darknet(cfg, weights, h5)
            cache[name] = cfg, weights, h5
        return cache[name]
    return make


def netdsl_run(cfg, h5, x, **kw):
    net = build_from_cfg(cfg, eps=1e-6, **kw)
    load_weights(net, h5)
    return net, execute(net, {"images": x})


def blob(size=64, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (1, 3, size, size)).astype(np.float32)


@pytest.mark.parametrize("case", list(CASES))
def test_layer_matches_opencv(case, built):
    cfg, weights, h5 = built(case, CASES[case])
    x = blob()
    cv = opencv_net(cfg, weights)
    cv.setInput(x)
    theirs = cv.forward()
    _, ours = netdsl_run(cfg, h5, x)
    assert ours["output"].shape == theirs.shape
    assert relative_error(ours["output"], theirs) < 1e-5


def test_relu6_follows_darknet(built):
    """OpenCV's importer has no relu6: darknet's relu6_activate is min(max(x, 0), 6) of the linear conv."""
    cfg, _, h5 = built("relu6", NET + conv(8, act="relu6"))
    linear_cfg, _, _ = built("relu6-linear", NET + conv(8, act="linear"))
    x = blob() * 40  # reach past 6
    _, ours = netdsl_run(cfg, h5, x)
    _, linear = netdsl_run(linear_cfg, h5, x)
    assert linear["output"].max() > 6 and linear["output"].min() < 0
    np.testing.assert_allclose(ours["output"], np.minimum(np.maximum(linear["output"], 0), 6), rtol=0, atol=1e-6)


def test_activation_section_equals_activation_key(built):
    """[activation] after a linear conv = the conv's own activation= (OpenCV reads only the latter): the
    two cfgs hold the same weights, so the mish case's store binds the [activation] network."""
    cfg, _, _ = built("activation-mish", NET + conv(8, act="linear") + "[activation]\nactivation=mish\n")
    mish_cfg, mish_weights, mish_h5 = built("mish", CASES["mish"])
    x = blob()
    cv = opencv_net(mish_cfg, mish_weights)
    cv.setInput(x)
    theirs = cv.forward()
    _, ours = netdsl_run(cfg, mish_h5, x)
    assert ours["output"].shape == theirs.shape
    assert relative_error(ours["output"], theirs) < 1e-5


@pytest.mark.parametrize("extra, act", [("", "linear"), ("scale_x_y=1.2\n", "linear"),
                                        ("new_coords=1\nscale_x_y=2.0\n", "logistic")],
                         ids=["plain", "scale_x_y", "new_coords"])
def test_yolo_decode_matches_opencv_rows(extra, act, built):
    """Every decoded row: OpenCV's (cx, cy, w, h) fractions and its class scores above its threshold 0.2."""
    name = f"yolo-{act}-{len(extra)}"
    cfg, weights, h5 = built(name, NET + conv(8, stride=2) + YOLO.format(act=act, extra=extra), head_scale=3.0)
    x = blob()
    cv = opencv_net(cfg, weights)
    cv.setInput(x)
    rows = opencv_rows_as_ours(cv.forward(), 3, 32, 32)
    _, ours = netdsl_run(cfg, h5, x)
    kept = assert_rows_match(ours["boxes"][0], ours["scores"][0], rows, (64, 64), thresh=0.2, tol=1e-5)
    assert 50 < kept < rows[:, 5:].size - 50


def test_blocks_written_by_hand_match_opencv(built):
    """conv (mish, depthwise), spp, route groups, shortcut and yolo_decode written with the blocks = OpenCV."""
    text = (NET + conv(8, act="mish") + conv(8, groups=8, act="swish") + "[shortcut]\nfrom=-2\nactivation=leaky\n"
            + SPP + "[route]\nlayers=-1\ngroups=2\ngroup_id=1\n" + conv(8, stride=2)
            + YOLO.format(act="linear", extra="scale_x_y=1.1\n"))
    cfg, weights, h5 = built("blocks", text, head_scale=3.0)
    net = Network("blocks")
    images = net.add_input("images", DataType.FLOAT, ("batch", 3, "height", "width"))
    x0 = blocks.darknet_conv(net, images, 8, 3, scope="conv0", activation_type="mish", eps=1e-6)
    x1 = blocks.darknet_conv(net, x0, 8, 3, scope="conv1", groups=8, activation_type="swish", eps=1e-6)
    x = blocks.shortcut(net, x1, [x0], name="shortcut2", activation_type="leaky")
    x = blocks.spp(net, x, scope="spp")
    x = blocks.route(net, [x], name="route9", groups=2, group_id=1)
    x = blocks.darknet_conv(net, x, 8, 3, 2, scope="conv10", eps=1e-6)
    head = blocks.darknet_conv(net, x, 24, 1, scope="conv11", batch_normalize=False, activation_type="linear")
    boxes, scores = blocks.yolo_decode(net, head, [(10, 14), (23, 27), (37, 58)], images, scope="yolo12",
                                       mask=[0, 1, 2], scale_x_y=1.1)
    net.mark_output(boxes, name="boxes")
    net.mark_output(scores, name="scores")
    load_weights(net, h5)
    x = blob()
    ours = execute(net, {"images": x})
    cv = opencv_net(cfg, weights)
    cv.setInput(x)
    rows = opencv_rows_as_ours(cv.forward(), 3, 32, 32)
    assert assert_rows_match(ours["boxes"][0], ours["scores"][0], rows, (64, 64), thresh=0.2, tol=1e-5) > 20


def test_region_decode_matches_opencv(built):
    """[region]: softmax classes x logistic objectness, anchors in grid cells (OpenCV's rows above thresh)."""
    text = (NET + conv(8, stride=2) + "[convolutional]\nfilters=40\nsize=1\nstride=1\npad=1\nactivation=linear\n"
            "[region]\nanchors=0.5,0.7, 1.8,2.1, 3.3,5.4, 7.9,3.5, 9.7,9.1\nclasses=3\ncoords=4\nnum=5\nsoftmax=1\n"
            "thresh=.3\n")
    cfg, weights, h5 = built("region", text, head_scale=3.0)
    x = blob()
    cv = opencv_net(cfg, weights)
    cv.setInput(x)
    rows = opencv_rows_as_ours(cv.forward(), 5, 32, 32)
    _, ours = netdsl_run(cfg, h5, x)
    # OpenCV keeps the scores above thresh that survive its own per-class NMS: no check where it zeroed one
    assert assert_rows_match(ours["boxes"][0], ours["scores"][0], rows, (64, 64), thresh=None, tol=1e-5) > 20


def test_runtime_size_equals_static(built):
    cfg, _, h5 = built("spp", CASES["spp"])
    x = blob(96)
    _, dynamic = netdsl_run(cfg, h5, x)
    _, static = netdsl_run(cfg, h5, x, batch=1, height=96, width=96)
    np.testing.assert_array_equal(dynamic["output"], static["output"])


def test_eps_default_is_darknets(built):
    cfg, _, _ = built("leaky", CASES["leaky"])
    assert build_from_cfg(cfg).layer("conv0.conv").attrs["batch_norm_eps"] == 1e-5
    assert build_from_cfg(cfg, eps=1e-6).layer("conv0.conv").attrs["batch_norm_eps"] == 1e-6
    assert build_from_cfg(cfg, fold_batch_norm=False).layer("conv0.bn").attrs["batch_norm_eps"] == 1e-5


# -- errors: one line naming the file, the line and the layer ------------------------------------------------------

ERRORS = [
    ("[foo]\nx=1\n", 5, r"\[foo\] \(layer 0\): unknown section type \[foo\]"),
    ("[connected]\noutput=10\n", 5, r"\[connected\] is not supported by the cfg builder"),
    ("[convolutional]\nfilters=8\nsize=3\nwobble=2\n", 8, r"\[convolutional\] \(layer 0\): unknown key 'wobble'"),
    ("[convolutional]\nfilters=8\nsize=3\ndilation=2\n", 8, r"dilation=2 is not supported by the cfg builder"),
    ("[convolutional]\nfilters=8\nsize=3\nactivation=hard_mish\n", 8, r"activation=hard_mish is not supported"),
    ("[convolutional]\nfilters=8\nsize=3\nactivation=hard_swish\n", 8, r"activation=hard_swish is not supported"),
    ("[convolutional]\nfilters=8\nsize=x\n", 7, r"size=x is not an integer"),
    ("[route]\nlayers=-3\n", 6, r"\[route\] \(layer 0\): layers= refers to layer -3"),
    ("[maxpool]\nsize=2\nstride_x=2\nstride_y=1\n", 7, r"stride_x=2 and stride_y=1 differ"),
    ("[convolutional]\nfilters=24\nsize=1\n[yolo]\nmask=0,7\nanchors=1,2,3,4\nclasses=3\nnum=2\n", 9,
     r"\[yolo\] \(layer 1\): mask index 7 outside the num=2 anchors"),
    ("[convolutional]\nfilters=20\nsize=1\n[yolo]\nmask=0,1\nanchors=1,2,3,4\nclasses=3\nnum=2\n", 11,
     r"classes=3, but the head's input has 10 values per anchor"),
    ("[upsample]\nstride=2\nscale=0.5\n", 7, r"scale=0.5 is not supported by the cfg builder \(only scale=1\)"),
    ("[reorg]\nstride=2\nreverse=1\n", 7, r"reverse=1 is not supported"),
    ("[reorg]\nstride=0\n", 6, r"\[reorg\] \(layer 0\): stride=0 must be positive"),
    ("[convolutional]\nfilters=1\nsize=3\ngroups=3\n", 5,  # the runtime width once raised a TypeError
     r"\[convolutional\] \(layer 0\): conv0.conv: input channels \(3\) and num_output_maps \(1\) must both be "
     r"divisible by num_groups \(3\)"),
]


@pytest.mark.parametrize("body, line, message", ERRORS, ids=[e[2][:30] for e in ERRORS])
def test_errors_name_file_line_and_layer(body, line, message, tmp_path):
    cfg = tmp_path / "bad.cfg"
    cfg.write_text(NET + body)
    with pytest.raises(DarknetCfgError, match=rf"^{cfg} line {line} .*{message}") as info:
        build_from_cfg(cfg)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, NetdslError) and isinstance(info.value, WeightsFileError)


@pytest.mark.parametrize("body, line, message", ERRORS, ids=[e[2][:30] for e in ERRORS])
def test_convert_and_export_refuse_what_the_builder_refuses(body, line, message, tmp_path):
    """convert_darknet and export_darknet check the cfg with the builder's rules: the same error, nothing written."""
    cfg = tmp_path / "bad.cfg"
    cfg.write_text(NET + body)
    with pytest.raises(DarknetCfgError) as built:
        build_from_cfg(cfg)
    weights = tmp_path / "bad.weights"
    weights.write_bytes(np.array([0, 2, 0, 0, 0], "<i4").tobytes() + np.ones(1000, "<f4").tobytes())
    store = tmp_path / "bad.h5"
    save_weights(store, {"conv0.conv.kernel": np.ones((8, 3, 3, 3), np.float32)}, source="test")
    before = sorted(p.name for p in tmp_path.iterdir())
    for run in (lambda: convert_darknet(cfg, weights, tmp_path / "out.h5"),
                lambda: export_darknet(cfg, store, tmp_path / "out.weights")):
        with pytest.raises(DarknetCfgError) as refused:
            run()
        assert str(refused.value) == str(built.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_net_key_unknown(tmp_path):
    cfg = tmp_path / "bad.cfg"
    cfg.write_text("[net]\nwidth=64\nheight=64\nchannels=3\nsharpness=2\n" + conv(8))
    with pytest.raises(DarknetCfgError, match=rf"^{cfg} line 5 \[net\]: unknown key 'sharpness'"):
        build_from_cfg(cfg)


def test_training_keys_are_ignored(tmp_path):
    cfg = tmp_path / "ok.cfg"
    cfg.write_text("[net]\nbatch=64\nsubdivisions=8\nmomentum=0.9\nwidth=64\nheight=64\nchannels=3\nmosaic=1\n"
                   + conv(8) + "stopbackward=1\n")
    assert build_from_cfg(cfg).tensor("output").shape[1] == 8


def test_static_size_not_a_multiple_of_the_stride(built):
    cfg, _, _ = built("stride2-size1", CASES["stride2-size1"])
    with pytest.raises(NetdslError, match="images: the input height must be a multiple of 2, found 63"):
        build_from_cfg(cfg, height=63, width=64)


def test_detection_spec_names_must_match_classes(tmp_path):
    cfg = tmp_path / "y.cfg"
    cfg.write_text(NET + conv(8, stride=2) + YOLO.format(act="linear", extra=""))
    spec = detection_spec(cfg, ["a", "b", "c"])
    assert spec["raw_heads"] == ("conv1.conv",) and spec["stride"] == 2 and spec["input_size"] == (64, 64)
    with pytest.raises(DarknetCfgError, match=r"classes=3, the class names list holds 2 names"):
        detection_spec(cfg, ["a", "b"])


def test_a_classifiers_weightless_tail_still_converts(tmp_path):
    """darknet19.cfg / darknet53.cfg end in [softmax] and [cost]: no weights there, nothing the builder builds.
    convert_darknet checks the rest with the builder's rules and converts; a [softmax] followed by weights is
    still refused as the builder refuses it."""
    cfg = tmp_path / "classifier.cfg"
    cfg.write_text(NET + conv(8, bn=0) + "\n[avgpool]\n\n[softmax]\ngroups=1\n\n[cost]\ntype=sse\n")
    floats = np.arange(8 + 8 * 3 * 3 * 3, dtype="<f4") / 100   # conv(8): bias (8,), kernel (8, 3, 3, 3)
    weights = tmp_path / "classifier.weights"
    weights.write_bytes(np.array([0, 2, 0, 0, 0], "<i4").tobytes() + floats.tobytes())
    summary = convert_darknet(cfg, weights, tmp_path / "classifier.h5")
    assert summary["floats"] == floats.size
    from netdsl.weights import load_weights_file
    store = load_weights_file(tmp_path / "classifier.h5")
    np.testing.assert_array_equal(np.asarray(store["conv0.conv.kernel"]).ravel(), floats[8:])
    middle = tmp_path / "middle.cfg"
    middle.write_text(NET + conv(8) + "\n[softmax]\n" + conv(8))
    with pytest.raises(DarknetCfgError, match=r"\[softmax\] is not supported by the cfg builder"):
        convert_darknet(middle, weights, tmp_path / "middle.h5")
