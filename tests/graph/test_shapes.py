"""Runtime dimensions (netdsl.graph.shapes): every simplification agrees with integer arithmetic."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.shapes import (Dim, ceil_div, dim, dmax, dmin, evaluate, exact_div, floor_div, format_shape,
                                 is_static, prod)

NAMES = ["n", "h", "w"]


def _tree():
    """Random expression trees: ('sym', name) | ('int', k) | (op, left, right)."""
    leaves = st.one_of(st.tuples(st.just("sym"), st.sampled_from(NAMES)),
                       st.tuples(st.just("int"), st.integers(-7, 40)))

    def extend(children):
        return st.one_of(
            st.tuples(st.sampled_from(["add", "sub", "mul", "max", "min"]), children, children),
            st.tuples(st.sampled_from(["floordiv", "ceildiv", "mod"]), children, st.integers(1, 9)))
    return st.recursive(leaves, extend, max_leaves=8)


def build(tree, values):
    """(Dim-or-int expression, plain-int value) of a tree."""
    kind = tree[0]
    if kind == "sym":
        return dim(tree[1]), values[tree[1]]
    if kind == "int":
        return tree[1], tree[1]
    a, va = build(tree[1], values)
    if kind in ("floordiv", "ceildiv", "mod"):
        k = tree[2]
        return {"floordiv": (floor_div(a, k), va // k), "ceildiv": (ceil_div(a, k), -(-va // k)),
                "mod": (a % k, va % k)}[kind]
    b, vb = build(tree[2], values)
    return {"add": (a + b, va + vb), "sub": (a - b, va - vb), "mul": (a * b, va * vb),
            "max": (dmax(a, b), max(va, vb)), "min": (dmin(a, b), min(va, vb))}[kind]


@settings(max_examples=400, deadline=None)
@given(_tree(), st.fixed_dictionaries({n: st.integers(0, 700) for n in NAMES}))
def test_expression_value_equals_integer_arithmetic(tree, values):
    expr, expected = build(tree, values)
    assert evaluate(expr, values) == expected
    if is_static(expr):  # constant-folded: no runtime dimension left
        assert isinstance(expr, int)


def test_convolution_and_pooling_chains_simplify():
    h = dim("h")
    same = (h + 1 + 1 - 3) // 1 + 1                       # 3x3 conv, pad 1, stride 1
    assert same == h
    pooled = (h - 2) // 2 + 1                              # 2x2 max pool, stride 2
    assert pooled == h // 2
    four = h
    for _ in range(4):
        four = (four - 2) // 2 + 1
    assert four == h // 16 and str(four) == "h//16"
    assert (h // 32) * 2 != h // 16                        # not equal for every h (h = 48)
    assert floor_div(2 * h + 6, 2) == h + 3 and ceil_div(h, 1) == h


def test_exact_division_for_reshape_inference():
    n, h, w = dim("n"), dim("h"), dim("w")
    assert exact_div(n * 3 * h * w, n * 3) == h * w
    assert exact_div(n * 255 * h * w, 85 * n * h * w) == 3
    assert exact_div(n * h, w) is None and exact_div(n * 3 + 1, 3) is None and exact_div(12, 5) is None
    assert prod([n, 3, h]) == 3 * n * h and prod([]) == 1


def test_no_truth_value_or_order():
    h = dim("h")
    for op in (lambda: h < 3, lambda: h >= h, lambda: bool(h), lambda: int(h), lambda: range(h)):
        with pytest.raises(TypeError, match="runtime dimension h"):
            op()
    assert (h == 3) is False and hash(h + 1) == hash(1 + h)


def test_names_and_text():
    n, h = dim("batch"), dim("height")
    assert (n * (h // 32) + 2).names() == {"batch", "height"}
    assert format_shape((n, 3, h // 32 * 2, 416)) == "(batch, 3, 2*(height//32), 416)"
    assert str(h // 32) == "height//32" and str(3 * (h // 32) * (n // 2)) == "3*(batch//2)*(height//32)"
    assert str(h - 1) == "height - 1" and str(-h + 2) == "-height + 2"
    with pytest.raises(NetworkDefinitionError):
        dim("")
    assert isinstance(dim("x"), Dim)
