"""ONNX initializer importer (netdsl.frameworks.onnx_import) against onnxruntime.

The ONNX graphs are built with onnx.helper; onnxruntime runs them, and the
same network written in netdsl's DSL runs on the reference executor with the
imported weights.
"""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from netdsl import ActivationType, DataType, Network
from netdsl.frameworks._importing import WeightImportError
from netdsl.frameworks.onnx_import import convert_onnx, import_onnx
from netdsl.graph.enums import RNNOperation
from netdsl.models.blocks import add_conv1d, add_linear
from netdsl.reference import execute
from netdsl.weights import WeightStore


def _model(nodes, inputs, outputs, inits):
    graph = helper.make_graph(nodes, "g", inputs, outputs, [numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _run(model, feeds):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def _weights(rng):
    def r(*shape, scale=0.5):
        return (rng.standard_normal(shape) * scale).astype(np.float32)
    return {"W": r(6, 3, 3), "B": r(6), "s": r(6), "b": r(6), "m": r(6), "v": np.abs(r(6)) + 0.5, "slope": r(6, 1),
            "G": r(4, 6), "C": r(4), "M": r(4, 5), "A": r(5), "LW": r(1, 12, 5), "LR": r(1, 12, 3), "LB": r(1, 24)}


def _graph(w):
    """x (1, 3, 8) -> Conv1d -> BN -> PRelu -> Transpose (1, 8, 6) -> Gemm-like MatMul? no: Gemm on rows ->
    MatMul + Add -> (8, 1, 5) -> LSTM (8 steps)."""
    nodes = [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], name="/conv/Conv", pads=[1, 1]),
        helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"], name="/bn/BN", epsilon=1e-3),
        helper.make_node("PRelu", ["n", "slope"], ["p"], name="/act/PRelu"),
        helper.make_node("Transpose", ["p"], ["t"], name="/T", perm=[0, 2, 1]),
        helper.make_node("Squeeze", ["t", "axis0"], ["rows"], name="/sq"),
        helper.make_node("Gemm", ["rows", "G", "C"], ["g"], name="/fc/Gemm", transB=1, alpha=0.5, beta=2.0),
        helper.make_node("MatMul", ["g", "M"], ["mm"], name="/proj/MatMul"),
        helper.make_node("Add", ["mm", "A"], ["pa"], name="/proj/Add"),
        helper.make_node("Unsqueeze", ["pa", "axis1"], ["seq"], name="/unsq"),
        helper.make_node("LSTM", ["seq", "LW", "LR", "LB"], ["Y", "Y_h"], name="/lstm/LSTM", hidden_size=3),
    ]
    inits = dict(w, axis0=np.array([0], np.int64), axis1=np.array([1], np.int64))
    return _model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, (1, 3, 8))],
                  [helper.make_tensor_value_info("Y", TensorProto.FLOAT, (8, 1, 1, 3))], inits)


def _netdsl():
    net = Network("ported")
    x = net.add_input("x", DataType.FLOAT, (1, 3, 8))
    y = add_conv1d(net, x, 6, 3, padding=1, name="conv")
    y = net.add_unsqueeze(y, (3,), name="to4d").output
    y = net.add_batch_norm(y, 1e-3, name="bn").output
    y = net.add_parametric_relu(y, name="act").output                    # slopes (1, 6, 1, 1)
    y = net.add_shuffle(y, reshape_dims=(6, 8), second_transpose=(1, 0), name="rows").output  # (8, 6)
    y = add_linear(net, y, 4, name="fc")
    y = add_linear(net, y, 5, name="proj")
    y = net.add_unsqueeze(y, (1,), name="seq").output                      # (8, 1, 5)
    y = net.add_rnn(y, 1, 3, RNNOperation.LSTM, name="lstm").get_output(0)
    net.mark_output(y)
    return net


MAPPING = {"conv": "/conv/Conv", "bn": "/bn/BN", "act": "/act/PRelu", "fc": "/fc/Gemm",
           "proj": ("/proj/MatMul", "/proj/Add"), "lstm": "/lstm/LSTM"}


@pytest.mark.parametrize("by", ["name", "order"])
def test_matches_onnxruntime(by, tmp_path):
    rng = np.random.default_rng(0)
    model = _graph(_weights(rng))
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    net = _netdsl()
    arrays = import_onnx(path, net, MAPPING if by == "name" else None, by=by, batch_norm_eps=1e-3)
    net.bind_weights(arrays)
    x = rng.standard_normal((1, 3, 8)).astype(np.float32)
    expected = _run(model, {"x": x})[0][:, 0]                              # (8, 1, 3)
    np.testing.assert_allclose(execute(net, {"x": x})["lstm"], expected, atol=1e-5)


def test_model_object_and_hdf5_output(tmp_path):
    model = _graph(_weights(np.random.default_rng(1)))
    arrays = convert_onnx(model, _netdsl(), tmp_path / "w.h5", MAPPING)
    store = WeightStore.open(tmp_path / "w.h5")
    assert list(store) == list(arrays) and store.layouts["fc.kernel"] == "KC"


def test_missing_initializer_is_one_line(tmp_path):
    w = _weights(np.random.default_rng(2))
    model = _graph(w)
    graph = model.graph
    kept = [t for t in graph.initializer if t.name not in ("m", "C")]   # BN mean and the Gemm bias
    del graph.initializer[:]
    graph.initializer.extend(kept)
    graph.input.extend([helper.make_tensor_value_info(n, TensorProto.FLOAT, w[n].shape) for n in ("m", "C")])
    path = tmp_path / "missing.onnx"
    onnx.save(model, path)
    with pytest.raises(WeightImportError) as info:
        import_onnx(path, _netdsl(), MAPPING, batch_norm_eps=1e-5)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    assert "unfilled netdsl weights: bn.mean, fc.bias" in message
    assert "bn: BatchNormalization '/bn/BN' epsilon 0.0010000000474974513 but the netdsl batch norm uses 1e-05" \
           in message


def test_order_count_mismatch_and_unknown_op(tmp_path):
    rng = np.random.default_rng(3)
    model = _model([helper.make_node("Mul", ["x", "k"], ["y"], name="scale")],
                   [helper.make_tensor_value_info("x", TensorProto.FLOAT, (2,))],
                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, (2,))], {"k": rng.random(2, np.float32)})
    net = Network("n")
    x = net.add_input("x", DataType.FLOAT, (1, 2))
    net.mark_output(add_linear(net, x, 2, name="a"))
    net.mark_output(add_linear(net, x, 2, name="b"))
    with pytest.raises(WeightImportError) as info:
        import_onnx(model, net, by="order")
    message = str(info.value)
    assert "declares weights for 2 scopes, the graph has 1 weight-bearing nodes" in message
    assert "no layout rule for ONNX Mul 'scale' (initializers k)" in message


def test_external_data_and_inconsistent_dims_are_refused(tmp_path):
    t = numpy_helper.from_array(np.ones((2, 3), np.float32), "w")
    t.dims[:] = [1000, 1000]                                          # claims 4 MB, holds 24 bytes
    model = _model([helper.make_node("Relu", ["x"], ["y"])],
                   [helper.make_tensor_value_info("x", TensorProto.FLOAT, (2,))],
                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, (2,))], {})
    model.graph.initializer.append(t)
    with pytest.raises(WeightImportError, match="dims \\[1000, 1000\\] need 4000000 bytes, raw_data holds 24"):
        import_onnx(model, {})
    (tmp_path / "bad.onnx").write_bytes(b"\x08\x07garbage\xff\xff")
    with pytest.raises(WeightImportError, match="bad.onnx"):
        import_onnx(tmp_path / "bad.onnx", {})


def _batch_norm_model(path, eps):
    rng = np.random.default_rng(0)
    arrays = [rng.random(4).astype(np.float32) + 0.1 for _ in range(4)]
    graph = helper.make_graph([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], name="bn",
                                                epsilon=eps)], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 2, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(a, n) for a, n in zip(arrays, "sbmv")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def _batch_norm_net(eps):
    net = Network("n")
    x = net.add_input("x", DataType.FLOAT, (1, 4, 2, 2))
    net.mark_output(net.add_batch_norm(x, eps, name="bn").output)
    return net


def test_batch_norm_epsilon_is_checked_against_the_network_by_default(tmp_path):
    """Was: checked only when batch_norm_eps= was passed, so eps 0.1 against the file's 1e-5 gave wrong numbers."""
    path = tmp_path / "bn.onnx"
    _batch_norm_model(path, 1e-5)
    with pytest.raises(WeightImportError) as err:
        import_onnx(path, _batch_norm_net(0.1))
    assert str(err.value) == (f"{path}: cannot import into network 'n': problems: bn: BatchNormalization 'bn' "
                              f"epsilon {float(np.float32(1e-5))!r} but the netdsl batch norm uses 0.1")
    net = _batch_norm_net(1e-5)
    net.bind_weights(import_onnx(path, net))
    x = np.random.default_rng(1).standard_normal((1, 4, 2, 2)).astype(np.float32)
    want = _run(onnx.load(path), {"x": x})[0]
    np.testing.assert_allclose(execute(net, {"x": x})["bn"], want, rtol=1e-5, atol=1e-6)
    shapes = {n: w.shape for n, w in _batch_norm_net(0.1).weights().items()}   # no network, so no eps to check
    assert sorted(import_onnx(path, shapes)) == sorted(shapes)


def test_glob_mapping_with_more_wildcards_than_captures_is_refused():
    with pytest.raises(WeightImportError) as err:
        import_onnx(_model([], [], [], {}), _netdsl(), {"*": "/*/*.0/Conv"})
    assert str(err.value) == ("mapping entry '*': '/*/*.0/Conv': the value has 2 wildcards, the key captures 1: each "
                              "'*', '**' or '?' of the value is filled by the key's, in order")


@pytest.mark.parametrize("content, message", [(b"", "not an ONNX model: the file is empty"),
                                              (b"\x08\x07", "not an ONNX model: no graph in it")])  # ir_version 7 only
def test_empty_or_graphless_file_says_so(tmp_path, content, message):
    """Was: 'unfilled netdsl weights ... the graph has 0 weight-bearing nodes' (protobuf parses these as a model)."""
    path = tmp_path / "m.onnx"
    path.write_bytes(content)
    with pytest.raises(WeightImportError) as err:
        import_onnx(path, _netdsl())
    assert str(err.value) == f"{path}: {message}"
