"""Every layer with runtime dimensions agrees with the same layer built at static shapes (the oracle).

For each case, one network is defined with runtime dimensions and, for several concrete shapes, one
with those static shapes; both get the same weights. At every shape, the symbolic output shapes must
evaluate to the static ones and the reference executor must give identical outputs. Static inference
is the oracle here: it is checked against PyTorch/onnxruntime per layer in tests/layers/. A data-dependent
dimension (NonZero's, NMS's count) is the same fresh name in both networks; the executor learns it.
"""
import numpy as np
import pytest
from runtime_dims_cases import CASES, build

from netdsl.graph.shapes import evaluate_shape, shape_names
from netdsl.reference import execute


@pytest.mark.parametrize("case", sorted(CASES))
def test_runtime_dims_match_staticbuild(case):
    dims, shapes, builder = CASES[case]
    dynamic = build(dims, builder)
    assert not dynamic.is_static
    rng = np.random.default_rng(1)
    for shape in shapes:
        static = build(shape, builder)
        binding = {d: v for d, v in zip(dims, shape) if isinstance(d, str)}
        for sym_layer, st_layer in zip(dynamic.layers, static.layers):
            for a, b in zip(sym_layer.outputs, st_layer.outputs):
                if shape_names(a.shape) - set(binding):  # a data-dependent dim: the same fresh name in both
                    assert a.shape == b.shape, (sym_layer.name, a.shape, b.shape)
                    continue
                assert evaluate_shape(a.shape, binding) == b.shape, (sym_layer.name, a.shape, b.shape)
        feeds = {"x": rng.standard_normal(shape).astype(np.float32)}
        got, want = execute(dynamic, feeds), execute(static, feeds)
        for key in want:
            np.testing.assert_array_equal(got[key], want[key], err_msg=f"{case} at {shape}")
