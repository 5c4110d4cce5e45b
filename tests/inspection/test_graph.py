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
    summary = summarize(yolov3_tiny.build_network())
    dot = to_dot(summary)
    assert len(re.findall(r"^\s*layer\d+ \[", dot, flags=re.M)) == len(summary.layers) == 78
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
