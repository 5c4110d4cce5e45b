"""The network drawing: DOT text (a cluster per scope, nested; every layer a node; shapes on edges) and a
rendered SVG / PNG."""
import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from netdsl import ActivationType, DataType, Network
from netdsl.files import OutputPathError
from netdsl.inspection import summarize
from netdsl.inspection.graph import GraphError, check_graph_output, graph_format, render, to_dot, write_graph
from netdsl.models import yolov3_tiny

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed "
                                                                   "(.ci/run installs it: apt install graphviz)")


def nested_net():
    net = Network("nested")
    x = net.add_input("x", DataType.FLOAT, (1, 2, 8, 8))
    with net.scope("backbone"):
        with net.scope("stage1"):
            y = net.add_convolution_nd(x, 4, (3, 3), padding_nd=1, name="conv").output
            y = net.add_activation(y, ActivationType.RELU, name="relu").output
        y = net.add_convolution_nd(y, 6, (1, 1), name="proj").output
    y = net.add_activation(y, ActivationType.SIGMOID, name="head").output
    net.mark_output(y, "probs")
    return net


def subgraph_nesting(dot: str) -> dict:
    """Each cluster's name -> its enclosing cluster's name (None at top), read from the DOT text's braces."""
    parents, stack = {}, []
    for line in dot.splitlines():
        m = re.match(r'\s*subgraph "?(cluster_[^"\s]+)"? \{', line)
        if m:
            parents[m.group(1)] = stack[-1] if stack else None
            stack.append(m.group(1))
        elif line.strip() == "}" and stack:
            stack.pop()
    return parents


def test_dot_clusters_nodes_and_edges():
    net = nested_net()
    dot = to_dot(summarize(net))
    assert subgraph_nesting(dot) == {"cluster_backbone": None, "cluster_backbone.stage1": "cluster_backbone"}
    nodes = re.findall(r"^\s*(layer\d+|input\d+|output\d+) \[", dot, flags=re.M)
    assert sorted(nodes) == sorted([f"layer{i}" for i in range(4)] + ["input0", "output0"])
    edges = re.findall(r"^\s*(\w+) -> (\w+)(?: \[label=\"([^\"]*)\"\])?", dot, flags=re.M)
    assert set(edges) == {("input0", "layer0", "1×2×8×8 FLOAT"), ("layer0", "layer1", "1×4×8×8 FLOAT"),
                          ("layer1", "layer2", "1×4×8×8 FLOAT"), ("layer2", "layer3", "1×6×8×8 FLOAT"),
                          ("layer3", "output0", "")}
    # each layer sits in its own scope's cluster, under its short name, with its full name as tooltip
    stage1 = dot[dot.index('subgraph "cluster_backbone.stage1"'):]
    assert "<b>conv</b>" in stage1[:stage1.index("}")] and 'tooltip="backbone.stage1.conv (CONVOLUTION)"' in dot
    assert "CONVOLUTION" in dot and "4 maps 3×3, stride 1, pad 1" in dot and "RELU" in dot
    # inputs and outputs are distinct shapes and colours
    assert re.search(r"input0 \[label=<<b>input x</b>.*shape=invhouse", dot)
    assert re.search(r"output0 \[label=<<b>output probs</b>.*shape=house", dot)


def test_yolov3_tiny_dot_has_every_layer_and_scope():
    summary = summarize(yolov3_tiny.build_network(batch=1, height=416, width=416))
    dot = to_dot(summary)
    assert len(re.findall(r"^\s*layer\d+ \[", dot, flags=re.M)) == len(summary.layers) == 102
    scopes = {row.name.split(".")[0] for row in summary.layers if "." in row.name}
    assert set(subgraph_nesting(dot)) == {f"cluster_{s}" for s in scopes}
    assert "1×16×416×416 FLOAT" in dot and "8,858,734 parameters" in dot


def test_names_are_escaped_in_labels():
    net = Network("esc")
    x = net.add_input("a<b>&c", DataType.FLOAT, (1, 2))
    net.mark_output(net.add_identity(x, name="x&y").output)
    dot = to_dot(summarize(net))
    assert "a&lt;b&gt;&amp;c" in dot and "x&amp;y" in dot


@needs_dot
def test_rendered_svg_parses_and_names_the_layers(tmp_path):
    net = nested_net()
    out = tmp_path / "net.svg"
    size = write_graph(summarize(net), out)
    assert size == out.stat().st_size
    root = ET.parse(out).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = out.read_text()
    for layer in net.layers:
        assert layer.name in text  # tooltips carry the full scoped names
    assert "stage1" in text and "1×4×8×8 FLOAT" in text
    assert [p.name for p in tmp_path.iterdir()] == ["net.svg"]  # no temporary file left


@needs_dot
def test_rendered_png(tmp_path):
    from PIL import Image
    out = tmp_path / "net.png"
    write_graph(summarize(nested_net()), out)
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width > 100 and image.height > 100


def test_dot_output_needs_no_executable(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot here
    out = tmp_path / "net.dot"
    write_graph(summarize(nested_net()), out)
    assert out.read_text().startswith("digraph nested {")


def test_svg_without_dot_is_one_clear_error_and_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphError, match=r"net\.svg: rendering \.svg needs Graphviz's dot executable.*"
                                         r"apt install graphviz.*\.dot, which needs nothing"):
        check_graph_output(tmp_path / "net.svg")
    with pytest.raises(GraphError, match="apt install graphviz"):
        render("digraph {}", "png")
    assert not any(tmp_path.iterdir())


def test_unknown_format_and_bad_path():
    assert [graph_format(p) for p in ("a.svg", "b.PNG", "c.dot", "d.gv")] == ["svg", "png", "dot", "dot"]
    with pytest.raises(GraphError, match=r"net\.pdf: unknown graph format '\.pdf'; use \.svg, \.png or \.dot"):
        graph_format("net.pdf")
    with pytest.raises(OutputPathError, match="does not exist"):
        check_graph_output("/no/such/dir/net.svg")


def test_missing_graphviz_package_says_which_extra(tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz -> ImportError
    for name in ("net.dot", "net.svg"):
        with pytest.raises(GraphError, match=r"net\.(dot|svg): drawing a graph needs the graphviz Python package: "
                                             r"pip install 'netdsl\[graph\]'"):
            check_graph_output(tmp_path / name)
    assert not any(tmp_path.iterdir())


def every_layer_type_net():
    """A network with at least one layer of every LayerType."""
    import numpy as np
    from netdsl import ElementWiseOperation, InterpolationMode, PoolingType, UnaryOperation
    from netdsl.graph.enums import (CumulativeOperation, GatherMode, MatrixOperation, ReduceOperation, RNNOperation,
                                    ScaleMode, ScatterMode, TopKOperation)
    net = Network("all")
    x = net.add_input("x", DataType.FLOAT, (1, 4, 6, 6))
    c = net.add_convolution_nd(x, 4, (3, 3), padding_nd=1, num_groups=2, dilation_nd=1, name="conv").output
    d = net.add_deconvolution_nd(c, 4, (2, 2), stride_nd=2, name="deconv").output
    p = net.add_pooling_nd(d, PoolingType.AVERAGE, (2, 2), stride_nd=2, name="pool").output
    a = net.add_activation(p, ActivationType.ELU, alpha=1.0, name="elu").output
    a = net.add_parametric_relu(a, name="prelu").output
    a = net.add_scale(a, ScaleMode.CHANNEL, shift=True, name="scale").output
    a = net.add_elementwise(a, x, ElementWiseOperation.SUM, name="add").output
    a = net.add_unary(a, UnaryOperation.ABS, name="abs").output
    cond = net.add_elementwise(a, x, ElementWiseOperation.GREATER, name="gt").output
    a = net.add_select(cond, a, x, name="select").output
    a = net.add_cast(net.add_identity(a, name="id").output, DataType.FLOAT, name="cast").output
    a = net.add_concatenation([a, x], axis=1, name="cat").output
    a = net.add_slice(a, (0, 0, 0, 0), (1, 4, 6, 6), (1, 1, 1, 1), name="slice").output
    a = net.add_padding_nd(a, (1, 1), (0, 0), name="pad").output
    a = net.add_resize(a, shape=(1, 4, 6, 6), resize_mode=InterpolationMode.LINEAR, name="resize").output
    a = net.add_softmax(a, axes=1, name="softmax").output
    a = net.add_lrn(a, 3, 1e-4, 0.75, 1.0, name="lrn").output
    a = net.add_normalization(a, None, None, (2, 3), name="norm").output
    a = net.add_cumulative(a, 3, CumulativeOperation.SUM, name="cumsum").output
    r = net.add_reduce(a, ReduceOperation.AVG, (2, 3), False, name="mean").output  # (1, 4)
    net.add_topk(a, TopKOperation.MAX, 2, 1 << 3, name="topk")
    m = net.add_matrix_multiply(r, MatrixOperation.NONE, net.add_constant((4, 3), np.ones((4, 3), np.float32),
                                                                          name="w").output, MatrixOperation.NONE,
                                name="mm").output  # (1, 3)
    e = net.add_einsum([m, m], "ij,ij->i", name="einsum").output
    s = net.add_shuffle(a, reshape_dims=(1, 4, 36), name="flat").output
    s = net.add_squeeze(net.add_unsqueeze(s, (0,), name="unsq").output, (0,), name="sq").output
    idx = net.add_constant((2,), np.array([0, 1], np.int32), name="idx").output
    g = net.add_gather(s, idx, 1, mode=GatherMode.DEFAULT, name="gather").output
    sc = net.add_scatter(x, net.add_constant((1, 4, 6, 6), np.zeros((1, 4, 6, 6), np.int32), name="eidx").output, x,
                         ScatterMode.ELEMENT, axis=1, name="scatter").output
    oh = net.add_one_hot(idx, net.add_constant((2,), np.array([0, 1], np.float32), name="onoff").output, 3, -1,
                         name="onehot").output
    seq = net.add_rnn(s, 1, 5, RNNOperation.GRU, name="gru").get_output(0)
    shape = net.add_shape(seq, name="shape").output
    filled = net.add_fill((2, 3), "LINSPACE", 0.0, (1.0, 2.0), name="fill").output
    nz = net.add_non_zero(x, name="nonzero").output
    boxes = net.add_shuffle(x, reshape_dims=(1, 36, 4), name="boxes").output
    scores = net.add_shuffle(x, reshape_dims=(1, 36, 4), name="scores").output
    limit = net.add_constant((), np.array(2, np.int32), name="nms_limit").output  # a tensor: no scoped constants
    nms = net.add_nms(boxes, scores, limit, name="nms")
    q = net.add_quantize(x, 0.05, DataType.INT8, name="quantize").output
    dq = net.add_dequantize(q, 0.05, DataType.FLOAT, name="dequantize").output
    rows = net.add_shuffle(dq, reshape_dims=(9, 16), name="rows").output
    nvfp4 = net.add_dynamic_quantize(rows, 1, 16, DataType.FP4, DataType.FP8, name="nvfp4")
    net.mark_output(nvfp4.get_output(1))
    for t in (e, g, sc, oh, seq, shape, filled, nz, nms.get_output(0), nms.get_output(1)):
        net.mark_output(t)
    return net


def test_every_layer_type_is_drawn_with_its_attributes():
    from netdsl import LayerType
    from netdsl.inspection.attributes import json_attributes, key_attributes
    net = every_layer_type_net()
    assert {layer.type for layer in net.layers} == set(LayerType)
    dot = to_dot(summarize(net))
    for i, layer in enumerate(net.layers):
        assert re.search(rf"^\s*layer{i} \[label=<<b>{layer.name}</b>  <font color=\"#424242\">{layer.type.name}<",
                         dot, flags=re.M), layer.name
        json_attributes(layer)
    assert key_attributes(net.layer("conv")) == "4 maps 3×3, stride 1, pad 1, groups 2"
    assert key_attributes(net.layer("pool")) == "AVERAGE 2×2, stride 2"
    assert key_attributes(net.layer("elu")) == "ELU alpha=1"
    assert key_attributes(net.layer("mean")) == "AVG axes 2, 3"
    assert key_attributes(net.layer("einsum")) == "ij,ij->i"
    assert key_attributes(net.layer("gru")) == "GRU 1 layer(s) hidden 5"
