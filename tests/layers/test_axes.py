"""Axis conventions are TensorRT's, one per parameter, and checked by one helper (``_checks.axes_arg``):

* ``axes`` of reduce, top-k, softmax and normalization is TensorRT's bitmask when an int (bit i = axis i)
  and axis indices when a tuple/list; a bool, a negative int, a bit past the rank and an empty mask are refused.
* ``axes`` of squeeze / unsqueeze is TensorRT's tensor of indices: a tuple/list, never a bare int.
* ``axis`` / ``channel_axis`` parameters are single indices (a bool is refused).

Values are checked against NumPy; every axis-like parameter of every ``add_*`` must have a row below.
"""
import inspect

import numpy as np
import pytest

from netdsl import DataType, Network
from netdsl.graph.enums import ReduceOperation, ScatterMode, TopKOperation
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.reference import execute

SHAPE = (2, 3, 4, 5)


def rng_input(shape=SHAPE, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def run(build, x):
    """``build(net, tensor) -> Layer`` on input x; returns (layer, output 0 from the reference executor)."""
    net = Network("axes")
    layer = build(net, net.add_input("x", DataType.FLOAT, x.shape))
    net.mark_output(layer.get_output(0))
    return layer, execute(net, {"x": x})[layer.get_output(0).name]


def test_reduce_bitmask_trap_reduces_axis_1():
    """``add_reduce(x, SUM, 1 << 1, True)`` is TensorRT's bitmask 0b10: axis 1 (it used to reduce axis 2)."""
    x = rng_input()
    layer, got = run(lambda n, t: n.add_reduce(t, ReduceOperation.SUM, 1 << 1, True, name="r"), x)
    want = x.astype(np.float64).sum(axis=1, keepdims=True)
    assert got.shape == (2, 1, 4, 5) and layer.axes == 0b10 and layer.axis_indices == (1,)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


# ---- the four layers whose ``axes`` is TensorRT's bitmask: build and NumPy oracle per axis tuple ----------------

def _numpy_softmax(x, axes):
    e = np.exp(x - x.max(axis=axes[0], keepdims=True))
    return e / e.sum(axis=axes[0], keepdims=True)


def _numpy_topk(x, axes):
    return -np.take(np.sort(-x, axis=axes[0]), np.arange(2), axis=axes[0])


def _numpy_normalization(x, axes):
    mean = x.mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(((x - mean) ** 2).mean(axis=axes, keepdims=True) + 1e-5)


BITMASK_LAYERS = {
    "add_reduce": (lambda n, t, axes: n.add_reduce(t, ReduceOperation.SUM, axes, False, name="L"),
                   lambda x, axes: x.sum(axis=axes), None),
    "add_topk": (lambda n, t, axes: n.add_topk(t, TopKOperation.MAX, 2, axes, name="L"), _numpy_topk, 1),
    "add_softmax": (lambda n, t, axes: n.add_softmax(t, axes=axes, name="L"), _numpy_softmax, 1),
    "add_normalization": (lambda n, t, axes: n.add_normalization(t, False, False, axes, name="L"),
                          _numpy_normalization, None),
}
MASKS = {None: [0b10, 0b1100, 0b1001, 0b1111, 1], 1: [1, 0b10, 0b100, 0b1000]}


@pytest.mark.parametrize("method", sorted(BITMASK_LAYERS))
def test_int_is_bitmask_and_tuple_is_indices(method):
    """Each int mask and the equivalent tuple of indices (also negative) give NumPy's result over those axes."""
    build, oracle, count = BITMASK_LAYERS[method]
    x = rng_input().astype(np.float64).astype(np.float32)
    for mask in MASKS[count]:
        axes = tuple(i for i in range(4) if mask >> i & 1)
        want = oracle(x.astype(np.float64), axes)
        for spelling in (mask, np.int64(mask), axes, list(axes), tuple(a - 4 for a in axes)):
            layer, got = run(lambda n, t: build(n, t, spelling), x)
            assert layer.axes == mask and layer.axis_indices == axes, (method, spelling)
            np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5, err_msg=f"{method} axes={spelling!r}")


@pytest.mark.parametrize("method", sorted(BITMASK_LAYERS))
@pytest.mark.parametrize("axes, message", [
    (True, r"axes must be an int bitmask \(bit i = axis i\) or a tuple/list of axis indices, found bool True"),
    (-1, r"axes bitmask must be >= 0 \(bit i = axis i\), found -1; for axis indices counted from the end pass "
         r"a tuple, e.g. \(-1,\)"),
    (1 << 4, r"axes bitmask 16 \(0b10000\) sets bit\(s\) \[4\], past the last axis of input 'x' \(2, 3, 4, 5\)"),
    (0b110000, r"axes bitmask 48 \(0b110000\) sets bit\(s\) \[4, 5\], past the last axis"),
    (0, r"axes bitmask 0 names no axis"),
    ((), r"axes must name at least one axis"),
    ((4,), r"axes index 4 is out of range for rank 4"),
    ((1, -3), r"axes \(1, -3\) repeats an axis"),
    ((True,), r"axes index must be an int axis index, found bool True"),
    (2.0, r"axes must be an int bitmask .* found float 2.0"),
    ("1", r"axes must be an int bitmask .* found str '1'"),
    ({1}, r"axes must be an int bitmask .* found set \{1\}"),
    (np.array([1]), r"axes must be an int bitmask .* found ndarray"),
])
def test_bitmask_axes_refuse_junk_in_one_line(method, axes, message):
    build = BITMASK_LAYERS[method][0]
    net = Network("axes")
    x = net.add_input("x", DataType.FLOAT, SHAPE)
    with pytest.raises(NetworkDefinitionError, match=rf"^L: {message}") as err:
        build(net, x, axes)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("method", ["add_topk", "add_softmax"])
def test_single_axis_layers_refuse_several_bits(method):
    net = Network("axes")
    x = net.add_input("x", DataType.FLOAT, SHAPE)
    with pytest.raises(NetworkDefinitionError, match=r"^L: axes must name exactly 1 axis, found 2 \(1, 2\) "
                                                     r"\(from 6\) for input 'x' \(2, 3, 4, 5\)$"):
        BITMASK_LAYERS[method][0](net, x, 0b110)


def test_normalization_bitmask_matches_layer_norm_helper():
    """add_normalization(x, s, b, 0b1100) is what add_layer_norm((4, 5)) builds: same TensorRT axes."""
    net = Network("ln")
    x = net.add_input("x", DataType.FLOAT, SHAPE)
    a = net.add_normalization(x, False, False, 0b1100, name="a")
    b = net.add_layer_norm(x, (4, 5), scale=False, bias=False, name="b")
    assert a.axes == b.axes == 0b1100 and a.axis_indices == b.axis_indices == (2, 3)


# ---- every axis-like parameter of every add_* has a documented convention ----------------------------------------

CONVENTIONS = {
    ("add_reduce", "axes"): "bitmask", ("add_topk", "axes"): "bitmask", ("add_softmax", "axes"): "bitmask",
    ("add_normalization", "axes"): "bitmask",
    ("add_squeeze", "axes"): "indices", ("add_unsqueeze", "axes"): "indices",
    ("add_concatenation", "axis"): "index", ("add_gather", "axis"): "index", ("add_scatter", "axis"): "index",
    ("add_cumulative", "axis"): "index", ("add_one_hot", "axis"): "index",
    ("add_scale_nd", "channel_axis"): "index", ("add_batch_norm", "channel_axis"): "index",
    ("add_quantize", "axis"): "index", ("add_dequantize", "axis"): "index", ("add_dynamic_quantize", "axis"): "index",
}
DOC_WORDS = {"bitmask": ("bitmask", "bit i = axis i", "tuple/list"), "indices": ("tuple or list", "indices"),
             "index": ("index",)}


def axis_parameters():
    found = set()
    for method in (m for m in dir(Network) if m.startswith("add_")):
        for p in inspect.signature(getattr(Network, method)).parameters:
            if p in ("axis", "axes") or p.endswith("_axis") or p.endswith("_axes"):
                found.add((method, p))
    return found


def test_every_axis_parameter_has_a_convention():
    assert axis_parameters() == set(CONVENTIONS)


@pytest.mark.parametrize("key", sorted(CONVENTIONS), ids=lambda k: f"{k[0]}.{k[1]}")
def test_docstring_states_the_convention(key):
    method, parameter = key
    lines = inspect.getdoc(getattr(Network, method)).splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{parameter}:"))
    indent = len(lines[start]) - len(lines[start].lstrip())
    section = [lines[start]]
    for line in lines[start + 1:]:
        if not line.strip() or len(line) - len(line.lstrip()) <= indent:
            break
        section.append(line)
    text = " ".join(" ".join(section).split())
    for word in DOC_WORDS[CONVENTIONS[key]]:
        assert word in text, f"Network.{method} documents {parameter} without {word!r}: {text!r}"


def test_squeeze_axes_are_indices_never_a_bitmask():
    net = Network("sq")
    x = net.add_input("x", DataType.FLOAT, (1, 3, 1))
    for method in ("add_squeeze", "add_unsqueeze"):
        with pytest.raises(NetworkDefinitionError, match=r"^s: axes.* must be a tuple or list of axis indices "
                                                         r"\(TensorRT's axes tensor\), such as \(1,\), found int 2$"):
            getattr(net, method)(x, 2, name="s")
    out = np.random.default_rng(0).standard_normal((1, 3, 1)).astype(np.float32)
    layer, got = run(lambda n, t: n.add_squeeze(t, (0, 2), name="s"), out)
    np.testing.assert_array_equal(got, np.squeeze(out, axis=(0, 2)))
    layer, got = run(lambda n, t: n.add_unsqueeze(t, [1, -1], name="u"), out)
    np.testing.assert_array_equal(got, np.expand_dims(out, (1, 4)))
    assert layer.axes == (1, 4)  # TensorRT's axes tensor values, not a bitmask


INDEX_CALLS = {
    ("add_concatenation", "axis"): lambda n, x, a: n.add_concatenation([x, x], axis=a, name="L"),
    ("add_gather", "axis"): lambda n, x, a: n.add_gather(x, n.add_input("i", DataType.INT32, (2,)), a, name="L"),
    ("add_scatter", "axis"): lambda n, x, a: n.add_scatter(x, n.add_input("i", DataType.INT32, SHAPE), x,
                                                           ScatterMode.ELEMENT, axis=a, name="L"),
    ("add_cumulative", "axis"): lambda n, x, a: n.add_cumulative(x, a, name="L"),
    ("add_one_hot", "axis"): lambda n, x, a: n.add_one_hot(n.add_input("i", DataType.INT32, (2, 3)),
                                                           n.add_constant((2,), np.array([0.0, 1.0]), name="v").output,
                                                           4, a, name="L"),
    ("add_scale_nd", "channel_axis"): lambda n, x, a: n.add_scale_nd(x, "CHANNEL", True, channel_axis=a, name="L"),
    ("add_batch_norm", "channel_axis"): lambda n, x, a: n.add_batch_norm(x, channel_axis=a, name="L"),
}


@pytest.mark.parametrize("key", sorted(INDEX_CALLS), ids=lambda k: f"{k[0]}.{k[1]}")
def test_index_axes_are_indices_and_refuse_bools(key):
    assert CONVENTIONS[key] == "index"
    call = INDEX_CALLS[key]
    net = Network("idx")
    x = net.add_input("x", DataType.FLOAT, SHAPE)
    layer = call(net, x, 2)
    assert getattr(layer, "channel_axis", None) == 2 or getattr(layer, "axis", None) == 2
    for junk in (True, 1.0, "1"):
        net = Network("idx")
        x = net.add_input("x", DataType.FLOAT, SHAPE)
        with pytest.raises(NetworkDefinitionError, match=rf"^L: .*{key[1]}") as err:
            call(net, x, junk)
        assert "\n" not in str(err.value)


def test_concatenation_axis_index_matches_numpy():
    x = rng_input()
    layer, got = run(lambda n, t: n.add_concatenation([t, t], axis=-2, name="c"), x)
    np.testing.assert_array_equal(got, np.concatenate([x, x], axis=-2))
    assert layer.axis == 2
