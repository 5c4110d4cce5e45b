"""einsum: ``Network.add_einsum`` (TensorRT IEinsumLayer).

Semantics: TensorRT API reference, IEinsumLayer, and the TensorRT operator
reference "Einsum": an equation ``term1,term2,...->out`` of ASCII lowercase
letters, one term per input with one letter per dim (an empty term for a
scalar). A letter repeated across inputs multiplies those dims, a letter
absent from the output is summed over. Dims with the same letter must be
equal or 1 (broadcast). Without ``->`` (implicit mode) the output is the
letters that occur exactly once, in alphabetical order. Spaces are allowed
between elements. TensorRT restrictions, enforced here: no ellipsis
(``...``) and no repeated letter inside one term (diagonals), no uppercase
letters; every output letter occurs in some input and at most once in the
output; all inputs have one dtype.

Runtime dimensions: dims of one letter broadcast as everywhere (equal or 1,
:func:`netdsl.layers.select.broadcast_dims`); what is not decided when the
network is defined is required at run time (checked per optimization
profile and against the executor's feeds).
"""
from __future__ import annotations

import string

from ..graph.enums import LayerType
from ..graph.network import network_method
from ..graph.shapes import format_shape
from ._checks import FLOAT_TYPES, check_dtype, fail
from .select import broadcast_dims

_LETTERS = set(string.ascii_lowercase)


def _check_letters(name, term, what):
    bad = sorted(set(term) - _LETTERS)
    if bad:
        fail(name, f"equation {what} {term!r} has {bad}: TensorRT einsum takes ASCII lowercase letters only")


def parse_equation(name, equation: str, shapes, net=None) -> tuple[tuple[str, ...], str, tuple[int, ...]]:
    """Validate ``equation`` against the input shapes (``net`` records requirements on runtime dims).

    Returns:
        (input terms, output term, output shape); the output term is the
        explicit one (implicit mode resolved).
    """
    eq = equation.replace(" ", "")
    if "." in eq:
        fail(name, f"equation {equation!r}: TensorRT einsum does not support ellipsis ('...')")
    if eq.count("->") > 1:
        fail(name, f"equation {equation!r}: expected 'term,term,...' or 'term,term,...->output'")
    lhs, arrow, rhs = eq.partition("->")
    terms = tuple(lhs.split(","))
    if len(terms) != len(shapes):
        fail(name, f"equation {equation!r} has {len(terms)} input term(s), found {len(shapes)} input(s)")
    sizes: dict = {}
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        _check_letters(name, term, f"term {i}")
        if len(term) != len(shape):
            fail(name, f"equation {equation!r}: term {i} {term!r} has {len(term)} letter(s), input {i} has "
                       f"rank {len(shape)} (shape {tuple(shape)})")
        repeated = sorted({c for c in term if term.count(c) > 1})
        if repeated:
            fail(name, f"equation {equation!r}: term {i} {term!r} repeats {repeated} (a diagonal), which "
                       f"TensorRT einsum does not support")
        for letter, dim in zip(term, shape):
            seen = sizes.get(letter, 1)
            both = broadcast_dims(net, name, (seen, dim), f"einsum letter {letter!r} in input {i} and before")
            if both is None:
                fail(name, f"equation {equation!r}: letter {letter!r} is {seen} in an earlier input and {dim} in "
                           f"input {i} (shape {format_shape(shape)}); dims of one letter must be equal or 1")
            sizes[letter] = both
    if arrow:
        _check_letters(name, rhs, "output")
        repeated = sorted({c for c in rhs if rhs.count(c) > 1})
        missing = sorted(set(rhs) - set(sizes))
        if repeated or missing:
            fail(name, f"equation {equation!r}: output letters must occur once in the output and in some "
                       f"input; repeated {repeated}, not in any input {missing}")
    else:
        rhs = "".join(sorted(c for c in sizes if lhs.count(c) == 1))
    return terms, rhs, tuple(sizes[c] for c in rhs)


@network_method
def add_einsum(self, inputs, equation: str, *, name=None):
    """Add an Einstein summation of ``inputs``.

    Args:
        inputs: one or more FLOAT/HALF/BF16 tensors of one dtype (rank >= 0).
        equation: e.g. ``"bij,bjk->bik"`` (batched matmul), ``"ij->ji"``,
            ``"i,i->"``; see the module docstring for the rules.
    Returns:
        Layer with one output of the inputs' dtype, shaped by the output
        term. ``layer.equation`` holds the explicit equation
        (``"ij,jk->ik"`` for ``"ij,jk"``), without spaces.
    Raises:
        NetworkDefinitionError: no inputs, mixed or non-float dtypes, or an
            equation breaking a rule above (named in the message). Runtime
            dims of one letter that do not broadcast raise ShapeError at an
            optimization profile or ExecutionError at the executor's feeds.
    """
    inputs = list(inputs)
    name = self.begin_layer(LayerType.EINSUM, name, inputs)
    if not inputs:
        fail(name, "einsum needs at least one input")
    for i, t in enumerate(inputs):
        check_dtype(name, t, FLOAT_TYPES, f"input {i}")
        if t.dtype != inputs[0].dtype:
            fail(name, f"inputs must have one dtype: {inputs[0].name!r} is {inputs[0].dtype.name}, "
                       f"{t.name!r} is {t.dtype.name} (add a cast)")
    terms, out_term, shape = parse_equation(name, str(equation), [t.shape for t in inputs], self)
    attrs = dict(equation=f"{','.join(terms)}->{out_term}")
    return self.append_layer(LayerType.EINSUM, name, inputs, [(shape, inputs[0].dtype)], attrs)
