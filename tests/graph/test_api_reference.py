"""The API reference is generated from the docstrings (tools/build_api_docs.py, pdoc), never kept by hand."""
import importlib.util
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "tools" / "build_api_docs.py"


def test_api_reference_builds_and_documents_the_dsl(tmp_path):
    spec = importlib.util.spec_from_file_location("build_api_docs", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    index = tool.build(tmp_path)
    assert index.is_file()
    network = (tmp_path / "netdsl" / "graph" / "network.html").read_text()
    for text in ("add_convolution_nd", "add_pooling_nd", "mark_output", "Weights are declared by name"):
        assert text in network, text
    assert "OptimizationProfile" in (tmp_path / "netdsl" / "graph" / "profiles.html").read_text()
    assert "build_engine" in (tmp_path / "netdsl" / "tensorrt.html").read_text()
