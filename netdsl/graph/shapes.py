"""Runtime (symbolic) dimensions: the one shape system of netdsl.

A tensor dimension is a plain ``int`` when it is known when the network is
defined, and a :class:`Dim` when it is only known at run time (TensorRT's
``-1`` dimensions). A Dim is an integer-valued expression of named runtime
dimensions (``batch``, ``height`` ...): sums, products, floor and ceiling
divisions, minimum and maximum. Layer shape rules compute with Dims as with
ints (``(h + 2 - 3) // 2 + 1``), so a convolution's output height is an
expression of the input height, as TensorRT's ``IDimensionExpr`` is.

Arithmetic keeps a canonical form, a polynomial with integer coefficients
whose variables are named dimensions and non-polynomial terms
(``floor(x / k)``, ``max(a, b)`` ...), and applies identities valid for all
integers: ``floor((k*q + r) / k) = q + floor(r / k)`` for integer-valued
``q``, ``floor(floor(x / a) / b) = floor(x / (a*b))`` for positive ``a, b``,
``max(a, a) = a``. So equal expressions usually compare equal, and a result
that is constant is a plain int again.

A Dim has no truth value and no order: code that must decide ``a < b`` for
symbolic dims asks :func:`require` instead, which decides it now when it
can and otherwise records a :class:`ShapeConstraint` on the network, checked
against every optimization profile before a build and against the actual
shapes when the reference executor runs.

Source: TensorRT developer guide, "Working with Dynamic Shapes" (runtime
dimensions, shape tensors, ``IExprBuilder`` operations SUM, PROD, MAX, MIN,
SUB, EQUAL, LESS, FLOOR_DIV, CEIL_DIV).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from .errors import NetworkDefinitionError, NetdslError


class ShapeError(NetdslError, ValueError):
    """Concrete shapes violate what a layer needs (a profile's min/opt/max, or executor feeds)."""


class UnboundDimensionError(NetdslError, KeyError):
    """A runtime dimension has no value in a binding (an input dimension not fed, say)."""


# -- atoms: the variables of the polynomial ------------------------------------------------------------

class _Atom:
    """A variable of a Dim's polynomial: a named dimension or a non-polynomial function of Dims."""

    __slots__ = ("key", "_hash")

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        return isinstance(other, _Atom) and self.key == other.key

    def __lt__(self, other):
        return self.key < other.key


class _Symbol(_Atom):
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name
        self.key = name
        self._hash = hash(("sym", name))

    def evaluate(self, binding, memo):
        try:
            return binding[self.name]
        except KeyError:
            raise UnboundDimensionError(f"runtime dimension {self.name!r} has no value here") from None

    def names(self):
        return {self.name}

    def __str__(self):
        return self.name


_OPS = {"floordiv": lambda a, b: a // b, "max": max, "min": min}


class _Apply(_Atom):
    __slots__ = ("op", "args")

    def __init__(self, op: str, args: tuple):
        self.op = op
        self.args = args
        self.key = f"{op}({', '.join(_key(a) for a in args)})"
        self._hash = hash(self.key)

    def evaluate(self, binding, memo):
        values = [_evaluate(a, binding, memo) for a in self.args]
        if self.op == "floordiv" and values[1] == 0:
            raise ShapeError(f"division by zero evaluating {self}")
        return _OPS[self.op](*values)

    def names(self):
        out = set()
        for a in self.args:
            if isinstance(a, Dim):
                out |= a.names()
        return out

    def __str__(self):
        if self.op == "floordiv":
            return f"{_paren(self.args[0])}//{_paren(self.args[1])}"
        return f"{self.op}({', '.join(str(a) for a in self.args)})"


def _key(x) -> str:
    return x.key if isinstance(x, Dim) else str(x)


def _paren(x) -> str:
    text = str(x)
    return f"({text})" if isinstance(x, Dim) and (len(x.terms) > 1 or x.terms[0][1] != 1) else text


# -- Dim ------------------------------------------------------------------------------------------------

class Dim:
    """A runtime dimension: an integer expression of named dimensions (see the module docstring).

    Create named dimensions with :func:`dim` (``dim("batch")``); compute with
    ``+ - * // %`` and :func:`dmax`, :func:`dmin`, :func:`ceil_div`. A
    result whose value does not depend on any runtime dimension is an int.

    Attributes:
        terms: the canonical polynomial, ``((monomial, coefficient), ...)``;
            a monomial is a sorted tuple of atoms (``()`` for the constant).
        key: a canonical string; equal keys mean equal expressions.
    """

    __slots__ = ("terms", "key", "_hash")

    def __init__(self, terms):
        self.terms = terms
        self.key = " + ".join(f"{c}*{'*'.join(a.key for a in m) or '1'}" for m, c in terms)
        self._hash = hash(self.key)

    # -- comparisons: structural only ------------------------------------------------------------------
    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        """Structural equality: True when the expressions are the same (so equal for every binding)."""
        return isinstance(other, Dim) and self.key == other.key

    def __ne__(self, other):
        return not self.__eq__(other)

    def _no_order(self, *_):
        raise TypeError(f"runtime dimension {self} has no value until run time: compare it with "
                        f"netdsl.graph.shapes.require(...) instead of <, <=, >, >=")

    __lt__ = __le__ = __gt__ = __ge__ = _no_order

    def __bool__(self):
        raise TypeError(f"runtime dimension {self} has no truth value until run time")

    def __int__(self):
        raise TypeError(f"runtime dimension {self} has no static value; use is_static()/evaluate()")

    __index__ = __int__

    # -- arithmetic ------------------------------------------------------------------------------------
    def __add__(self, other):
        return _from_poly(_add(_poly(self), _poly(other)))

    __radd__ = __add__

    def __neg__(self):
        return _from_poly({m: -c for m, c in _poly(self).items()})

    def __pos__(self):
        return self

    def __sub__(self, other):
        return self + (-_as_expr(other))

    def __rsub__(self, other):
        return _as_expr(other) + (-self)

    def __mul__(self, other):
        return _from_poly(_mul(_poly(self), _poly(other)))

    __rmul__ = __mul__

    def __floordiv__(self, other):
        return floor_div(self, other)

    def __rfloordiv__(self, other):
        return floor_div(other, self)

    def __mod__(self, other):
        return self - other * floor_div(self, other)

    def __rmod__(self, other):
        return other - self * floor_div(other, self)

    # -- inspection ------------------------------------------------------------------------------------
    def names(self) -> set[str]:
        """The named runtime dimensions this expression depends on."""
        out = set()
        for monomial, _ in self.terms:
            for atom in monomial:
                out |= atom.names()
        return out

    def evaluate(self, binding: Mapping[str, int]) -> int:
        """The value for ``binding`` (name -> int). Raises UnboundDimensionError for a missing name."""
        return _evaluate(self, binding, {})

    def __str__(self):
        parts = []
        for monomial, coeff in sorted(self.terms, key=lambda mc: not mc[0]):  # the constant last
            alone = len(monomial) == 1 and abs(coeff) == 1
            body = "*".join(str(a) if alone or not (isinstance(a, _Apply) and a.op == "floordiv") else f"({a})"
                            for a in monomial)
            if not body:
                text = str(abs(coeff))
            elif abs(coeff) == 1:
                text = body
            else:
                text = f"{abs(coeff)}*{body}"
            sign = "-" if coeff < 0 else "+"
            parts.append((sign, text))
        first_sign, first = parts[0]
        out = ("-" if first_sign == "-" else "") + first
        for sign, text in parts[1:]:
            out += f" {sign} {text}"
        return out

    def __repr__(self):
        return f"Dim({self})"


def _evaluate(x, binding, memo) -> int:
    if isinstance(x, int):
        return x
    found = memo.get(x.key)
    if found is not None:
        return found
    total = 0
    for monomial, coeff in x.terms:
        value = coeff
        for atom in monomial:
            value *= atom.evaluate(binding, memo)
        total += value
    memo[x.key] = total
    return total


# -- polynomial helpers ---------------------------------------------------------------------------------

def _poly(x) -> dict:
    if isinstance(x, Dim):
        return dict(x.terms)
    if isinstance(x, bool) or not isinstance(x, int):
        x = _as_int(x)
    return {(): x} if x else {}


def _as_int(x) -> int:
    try:
        import numpy as np
        if isinstance(x, np.integer):
            return int(x)
    except ImportError:  # pragma: no cover
        pass
    raise TypeError(f"a dimension must be an int or a runtime Dim, found {type(x).__name__} {x!r}")


def _add(a: dict, b: dict) -> dict:
    out = dict(a)
    for m, c in b.items():
        out[m] = out.get(m, 0) + c
    return {m: c for m, c in out.items() if c}


def _mul(a: dict, b: dict) -> dict:
    out: dict = {}
    for ma, ca in a.items():
        for mb, cb in b.items():
            m = tuple(sorted(ma + mb))
            out[m] = out.get(m, 0) + ca * cb
    return {m: c for m, c in out.items() if c}


def _from_poly(poly: dict):
    """A canonical Dim, or an int when only the constant term is left."""
    poly = {m: c for m, c in poly.items() if c}
    if not poly:
        return 0
    if list(poly) == [()]:
        return poly[()]
    return Dim(tuple(sorted(poly.items(), key=lambda mc: tuple(a.key for a in mc[0]))))


def _as_expr(x):
    return x if isinstance(x, Dim) else _from_poly(_poly(x))


def _atom_dim(atom: _Atom):
    return Dim((((atom,), 1),))


# -- public constructors and functions -------------------------------------------------------------------

def dim(name: str) -> Dim:
    """A named runtime dimension, e.g. ``dim("batch")``. Names are identifiers (``images[0]`` is used for unnamed -1)."""
    if not isinstance(name, str) or not name:
        raise NetworkDefinitionError(f"a runtime dimension name must be a non-empty str, found {name!r}")
    return _atom_dim(_Symbol(name))


def is_static(x) -> bool:
    """True for an int (a dimension known at definition time), False for a runtime Dim."""
    return not isinstance(x, Dim)


def is_static_shape(shape: Sequence) -> bool:
    """True when every dimension of ``shape`` is an int."""
    return all(not isinstance(d, Dim) for d in shape)


def normalize_dim(x):
    """An int (from int or NumPy integer) or a Dim; anything else raises TypeError."""
    if isinstance(x, Dim):
        return x
    if isinstance(x, bool):
        raise TypeError(f"a dimension must be an int or a runtime Dim, found bool {x!r}")
    if isinstance(x, int):
        return x
    return _as_int(x)


def floor_div(a, b):
    """``floor(a / b)`` for an integer ``b > 0`` or a Dim ``b`` (TensorRT's FLOOR_DIV).

    Identities used (valid for all integer-valued ``q``, ``r`` and ``k > 0``):
    ``floor((k*q + r) / k) = q + floor(r / k)``; ``floor(floor(x / a) / b) =
    floor(x / (a*b))`` for ``a, b > 0``.
    """
    a, b = normalize_dim(a), normalize_dim(b)
    if not isinstance(a, Dim) and not isinstance(b, Dim):
        if b == 0:
            raise ZeroDivisionError("floor division of dimensions by 0")
        return a // b
    if isinstance(b, Dim):
        if isinstance(a, Dim) and a == b:
            return 1
        return _atom_dim(_Apply("floordiv", (_as_expr(a), b)))
    if b == 1:
        return a
    if b < 0:
        return floor_div(-a, -b)
    if b == 0:
        raise ZeroDivisionError("floor division of a runtime dimension by 0")
    poly = _poly(a)
    quotient, rest = {}, {}
    for m, c in poly.items():
        q, r = divmod(c, b) if m else (0, c)
        if m and q:
            quotient[m] = q
        if m and r:
            rest[m] = r
    const = poly.get((), 0)
    q_const, r_const = divmod(const, b)
    if not rest:
        return _from_poly(_add(quotient, {(): q_const}))
    if r_const:
        rest[()] = r_const
    if len(rest) == 1 and r_const == 0:  # floor(floor(x / a) / b) = floor(x / (a*b))
        (m, c), = rest.items()
        if c == 1 and len(m) == 1 and isinstance(m[0], _Apply) and m[0].op == "floordiv" \
                and not isinstance(m[0].args[1], Dim) and m[0].args[1] > 0:
            inner = floor_div(m[0].args[0], m[0].args[1] * b)
            return _from_poly(_add(quotient, _add(_poly(inner), {(): q_const})))
    inner = _atom_dim(_Apply("floordiv", (_from_poly(rest), b)))
    return _from_poly(_add(quotient, _add(_poly(inner), {(): q_const})))


def ceil_div(a, b):
    """``ceil(a / b)`` for ``b > 0`` (TensorRT's CEIL_DIV) = ``-floor(-a / b)``."""
    return -floor_div(-normalize_dim(a), b)


def _minmax(op, a, b):
    a, b = normalize_dim(a), normalize_dim(b)
    if not isinstance(a, Dim) and not isinstance(b, Dim):
        return _OPS[op](a, b)
    if isinstance(a, Dim) and isinstance(b, Dim) and a == b:
        return a
    diff = a - b
    if not isinstance(diff, Dim):  # a and b differ by a constant
        return a if (diff >= 0) == (op == "max") else b
    first, second = sorted((_as_expr(a), _as_expr(b)), key=_key)
    return _atom_dim(_Apply(op, (first, second)))


def dmax(a, b):
    """``max(a, b)`` of dimensions (TensorRT's MAX)."""
    return _minmax("max", a, b)


def dmin(a, b):
    """``min(a, b)`` of dimensions (TensorRT's MIN)."""
    return _minmax("min", a, b)


def prod(dims) -> int | Dim:
    """The product of dimensions (1 for none)."""
    out = 1
    for d in dims:
        out = out * normalize_dim(d)
    return out


def exact_div(a, b):
    """``a / b`` when it is known to divide exactly (polynomial division by a monomial divisor), else None.

    Used to infer a reshape's ``-1``: ``(N*3*H*W) / (N*3) = H*W``.
    """
    a, b = normalize_dim(a), normalize_dim(b)
    if not isinstance(b, Dim):
        if b == 0:
            return None
        if not isinstance(a, Dim):
            return a // b if a % b == 0 else None
        poly = _poly(a)
        if all(c % b == 0 for c in poly.values()):
            return _from_poly({m: c // b for m, c in poly.items()})
        return None
    terms = b.terms
    if len(terms) != 1:
        return a // b if isinstance(a, Dim) and a == b else None
    (bm, bc), = terms
    out = {}
    for m, c in _poly(a).items():
        rest = list(m)
        for atom in bm:
            if atom in rest:
                rest.remove(atom)
            else:
                return None
        if c % bc:
            return None
        out[tuple(sorted(rest))] = c // bc
    return _from_poly(out)


def evaluate(x, binding: Mapping[str, int]) -> int:
    """The value of an int or Dim for ``binding``."""
    return x.evaluate(binding) if isinstance(x, Dim) else int(x)


def evaluate_shape(shape: Sequence, binding: Mapping[str, int]) -> tuple[int, ...]:
    """Every dimension of ``shape`` evaluated for ``binding``."""
    memo: dict = {}
    return tuple(_evaluate(d, binding, memo) if isinstance(d, Dim) else int(d) for d in shape)


def evaluate_value(value, binding: Mapping[str, int]):
    """A layer attribute with Dims inside (an int, Dim, tuple or list of them, nested) evaluated for ``binding``."""
    if isinstance(value, Dim):
        return value.evaluate(binding)
    if isinstance(value, tuple):
        return tuple(evaluate_value(v, binding) for v in value)
    if isinstance(value, list):
        return [evaluate_value(v, binding) for v in value]
    return value


def contains_dim(value) -> bool:
    """Whether a layer attribute (possibly nested tuples/lists) holds a runtime Dim."""
    if isinstance(value, Dim):
        return True
    if isinstance(value, (tuple, list)):
        return any(contains_dim(v) for v in value)
    return False


def shape_names(shape: Sequence) -> set[str]:
    """The named runtime dimensions a shape depends on."""
    out: set[str] = set()
    for d in shape:
        if isinstance(d, Dim):
            out |= d.names()
    return out


def format_shape(shape: Sequence) -> str:
    """``(batch, 3, height, width)`` style text of a shape (ints and expressions)."""
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


# -- constraints -----------------------------------------------------------------------------------------

@dataclass
class ShapeConstraint:
    """A condition on runtime dimensions that a layer needs, checked once values are known.

    Attributes:
        layer: scoped name of the layer that needs it.
        description: what must hold, in words with the expressions, e.g.
            ``"input dims 2 of 'a' and 'b' are equal: h//16 == 2*(h//32)"``.
        exprs: the ints/Dims the predicate reads.
        predicate: ``predicate(*values) -> bool`` on the evaluated ``exprs``.
    """

    layer: str
    description: str
    exprs: tuple
    predicate: Callable[..., bool] = field(repr=False)

    def holds(self, binding: Mapping[str, int]) -> tuple[bool, tuple[int, ...]]:
        values = tuple(evaluate(e, binding) for e in self.exprs)
        return bool(self.predicate(*values)), values


def _decided(exprs) -> bool:
    return all(not isinstance(e, Dim) for e in exprs)


def require(network, layer: str, predicate: Callable[..., bool], exprs: Sequence, description: str,
            error: Callable[[tuple], str] | None = None) -> None:
    """Require ``predicate(*exprs)`` of a layer's dimensions.

    Decided now when every expression is an int (NetworkDefinitionError,
    whose message is ``error(values)`` or ``"<layer>: <description>"``);
    otherwise recorded on ``network`` as a :class:`ShapeConstraint`, checked
    for every optimization profile before a build and for the actual shapes
    by the reference executor.
    """
    exprs = tuple(normalize_dim(e) for e in exprs)
    if _decided(exprs):
        if not predicate(*exprs):
            message = error(exprs) if error is not None else description
            raise NetworkDefinitionError(f"{layer}: {message}")
        return
    network.shape_constraints.append(ShapeConstraint(layer, description, exprs, predicate))


def require_equal(network, layer: str, a, b, what: str, error: Callable[[tuple], str] | None = None) -> None:
    """Require two dimensions to be equal (decided now when both are ints or the same expression).

    ``error(values)`` gives the message when two ints differ (default ``"<what>: a != b"``).
    """
    a, b = normalize_dim(a), normalize_dim(b)
    if isinstance(a, Dim) and isinstance(b, Dim) and a == b:
        return
    require(network, layer, lambda x, y: x == y, (a, b), f"{what}: {a} == {b}",
            error=error or (lambda v: f"{what}: {v[0]} != {v[1]}"))


def require_at_least(network, layer: str, a, minimum: int, what: str) -> None:
    """Require ``a >= minimum``."""
    require(network, layer, lambda x: x >= minimum, (a,), f"{what}: {a} >= {minimum}",
            error=lambda v: f"{what} is {v[0]}, expected >= {minimum}")


def broadcast_dim(network, layer: str, a, b, what: str):
    """The broadcast of two dimensions (TensorRT elementwise rule: equal, or one of them is 1).

    A static 1 broadcasts to the other; equal expressions stay; a runtime
    dimension against a different one needs (at run time) equality or a 1,
    and the result is their maximum.
    """
    a, b = normalize_dim(a), normalize_dim(b)
    if isinstance(a, int) and a == 1:
        return b
    if isinstance(b, int) and b == 1:
        return a
    if isinstance(a, int) and isinstance(b, int):
        if a != b:
            raise NetworkDefinitionError(f"{layer}: {what}: {a} and {b} do not broadcast (equal, or one is 1)")
        return a
    if isinstance(a, Dim) and isinstance(b, Dim) and a == b:
        return a
    require(network, layer, lambda x, y: x == y or x == 1 or y == 1, (a, b),
            f"{what}: {a} and {b} broadcast (equal, or one is 1)")
    return dmax(a, b)


def check_constraints(network, binding: Mapping[str, int], where: str) -> None:
    """Raise ShapeError for the first constraint of ``network`` that ``binding`` violates.

    Args:
        network: the Network.
        binding: runtime dimension name -> value.
        where: what the binding is, for the message (``"profile 0 max"``, ``"the feeds"``).
    Raises:
        ShapeError: naming the layer, what must hold, the values found and ``where``.
    """
    inputs = {t.name for t in network.inputs}
    for c in network.shape_constraints:
        if not network.has_layer(c.layer) and c.layer not in inputs:
            continue  # the layer's constructor failed after recording it
        try:
            ok, values = c.holds(binding)
        except UnboundDimensionError:
            continue  # depends on a data-dependent dimension not known yet
        if not ok:
            found = ", ".join(f"{e} = {v}" for e, v in zip(c.exprs, values) if isinstance(e, Dim))
            raise ShapeError(f"{c.layer}: needs {c.description}, but at {where} {found} "
                             f"({format_binding(binding)})")


def format_binding(binding: Mapping[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(binding.items()))

