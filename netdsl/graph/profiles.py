"""Optimization profiles: the (min, opt, max) shapes a network with runtime dimensions is built for.

As TensorRT's ``IOptimizationProfile``: for every network input with a
runtime dimension, a profile gives the smallest, the most common and the
largest shape. An engine runs any shape within one of its profiles. netdsl
checks profiles completely before anything reaches TensorRT: every input
covered, ranks and static dimensions matching, ``min <= opt <= max``,
inputs that share a named dimension agreeing on it, and every layer's shape
requirement (:class:`netdsl.graph.shapes.ShapeConstraint`) holding at min,
opt and max.

Source: TensorRT developer guide, "Optimization Profiles";
``IOptimizationProfile.set_shape(input, min, opt, max)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from .errors import NetdslError
from .shapes import Dim, ShapeError, check_constraints, evaluate_shape, format_binding, format_shape

POINTS = ("min", "opt", "max")


class ProfileError(NetdslError, ValueError):
    """An optimization profile that does not fit the network (missing input, wrong rank, min > opt ...)."""


@dataclass(frozen=True)
class OptimizationProfile:
    """(min, opt, max) shapes per network input, as TensorRT's IOptimizationProfile.

    Args:
        shapes: input name -> ``(min_shape, opt_shape, max_shape)``, each a
            tuple of ints of the input's rank (static dimensions repeated).

    Example::

        OptimizationProfile({"images": ((1, 3, 320, 320), (1, 3, 416, 416), (8, 3, 608, 608))})
    """

    shapes: Mapping[str, tuple]

    def __post_init__(self):
        clean = {}
        for name, triple in dict(self.shapes).items():
            try:
                lo, opt, hi = triple
                clean[name] = tuple(tuple(int(d) for d in s) for s in (lo, opt, hi))
            except (TypeError, ValueError):
                raise ProfileError(f"profile for input {name!r}: expected (min, opt, max) shapes of ints, "
                                   f"found {triple!r}") from None
        object.__setattr__(self, "shapes", clean)

    @classmethod
    def fixed(cls, shapes: Mapping[str, Sequence[int]]) -> "OptimizationProfile":
        """A profile with min = opt = max (one shape per input, trtexec's ``--shapes``)."""
        return cls({name: (tuple(s), tuple(s), tuple(s)) for name, s in shapes.items()})

    def point(self, which: str) -> dict[str, tuple[int, ...]]:
        """Input name -> its ``"min"``, ``"opt"`` or ``"max"`` shape."""
        index = POINTS.index(which)
        return {name: triple[index] for name, triple in self.shapes.items()}

    def __str__(self):
        return "; ".join(f"{n}: {'/'.join('x'.join(map(str, s)) for s in t)}" for n, t in self.shapes.items())


def bind_input_shapes(network, shapes: Mapping[str, Sequence[int]], where: str) -> dict[str, int]:
    """Unify concrete input shapes with the inputs' dimensions: runtime dimension name -> value.

    Args:
        network: the Network.
        shapes: input name -> concrete shape, for every input.
        where: what the shapes are, for messages (``"profile 0 min"``, ``"the feeds"``).
    Returns:
        the binding of every runtime dimension of the inputs.
    Raises:
        ShapeError: a wrong rank, a static dimension that differs, a
            dimension < 0, or a named dimension with two different values.
    """
    binding: dict[str, int] = {}
    origin: dict[str, str] = {}
    for t in network.inputs:
        shape = tuple(shapes[t.name])
        if len(shape) != len(t.shape):
            raise ShapeError(f"input {t.name!r}: {where} has rank {len(shape)} {shape}, the input has rank "
                             f"{len(t.shape)} {format_shape(t.shape)}")
        for axis, (declared, found) in enumerate(zip(t.shape, shape)):
            if found < 0:
                raise ShapeError(f"input {t.name!r}: {where} dimension {axis} is {found}, expected >= 0")
            if isinstance(declared, Dim):
                name = next(iter(declared.names()))
                if name in binding and binding[name] != found:
                    raise ShapeError(f"input {t.name!r}: {where} gives dimension {name!r} (axis {axis}) the value "
                                     f"{found}, but {origin[name]} gives it {binding[name]}")
                binding[name] = found
                origin[name] = f"input {t.name!r} axis {axis}"
            elif declared != found:
                raise ShapeError(f"input {t.name!r}: {where} has {found} at axis {axis}, but the input's "
                                 f"dimension there is fixed at {declared} (shape {format_shape(t.shape)})")
    return binding


def check_binding(network, binding: Mapping[str, int], where: str) -> None:
    """Check every layer's shape requirement and every tensor's dimensions (>= 0) at ``binding``.

    Raises:
        ShapeError: naming the layer, what it needs, the values found and ``where``.
    """
    check_constraints(network, binding, where)
    for layer in network.layers:
        for t in layer.outputs:
            if t.is_static:
                continue
            try:
                shape = evaluate_shape(t.shape, binding)
            except NetdslError:
                continue  # a data-dependent dimension, known only when the layer runs
            if any(d < 0 for d in shape):
                raise ShapeError(f"{layer.name}: output {t.name!r} of shape {format_shape(t.shape)} would be "
                                 f"{shape} at {where} ({format_binding(binding)})")


def resolve_profiles(network, profiles) -> list[dict[str, dict[str, int]]]:
    """Validate optimization profiles against a network, before anything reaches TensorRT.

    Args:
        network: the Network.
        profiles: a sequence of :class:`OptimizationProfile` (or mappings
            accepted by its constructor); may be empty for a static network.
    Returns:
        per profile, ``{"min": binding, "opt": binding, "max": binding}``.
    Raises:
        ProfileError: a network with runtime dimensions and no profile, an
            input without a profile, an unknown input name, a wrong rank or
            static dimension, ``min > opt`` or ``opt > max``.
        ShapeError: a layer's requirement fails at a profile's min, opt or
            max (naming the layer, the profile and the shapes).
    """
    profiles = [p if isinstance(p, OptimizationProfile) else OptimizationProfile(p) for p in (profiles or ())]
    dynamic = [t for t in network.inputs if not t.is_static]
    if dynamic and not profiles:
        described = "; ".join(f"{t.name!r} {format_shape(t.shape)}" for t in dynamic)
        raise ProfileError(f"network {network.name!r} has runtime dimensions ({described}): give an optimization "
                           f"profile (min, opt, max shapes), e.g. --min-shapes/--opt-shapes/--max-shapes")
    names = [t.name for t in network.inputs]
    resolved = []
    for i, profile in enumerate(profiles):
        unknown = sorted(set(profile.shapes) - set(names))
        if unknown:
            raise ProfileError(f"profile {i}: unknown input(s) {unknown}; the network's inputs are {names}")
        missing = [t.name for t in dynamic if t.name not in profile.shapes]
        if missing:
            raise ProfileError(f"profile {i}: no shapes for input(s) {missing}, which have runtime dimensions")
        points = {}
        for t in network.inputs:
            if t.name not in profile.shapes:
                continue
            lo, opt, hi = profile.shapes[t.name]
            for which, shape in zip(POINTS, (lo, opt, hi)):
                if len(shape) != len(t.shape):
                    raise ProfileError(f"profile {i}: input {t.name!r} {which} shape {shape} has rank {len(shape)}, "
                                       f"the input has rank {len(t.shape)} {format_shape(t.shape)}")
            for axis, (a, b, c) in enumerate(zip(lo, opt, hi)):
                if not a <= b <= c:
                    raise ProfileError(f"profile {i}: input {t.name!r} axis {axis}: needs min <= opt <= max, found "
                                       f"{a}, {b}, {c} (min {lo}, opt {opt}, max {hi})")
        for which in POINTS:
            shapes = {t.name: (profile.point(which).get(t.name) or t.shape) for t in network.inputs}
            where = f"profile {i} {which}"
            try:
                binding = bind_input_shapes(network, shapes, where)
            except ShapeError as exc:
                raise ProfileError(str(exc)) from None
            check_binding(network, binding, where)
            points[which] = binding
        resolved.append(points)
    return resolved


def find_profile(network, binding: Mapping[str, int], profiles) -> int:
    """Index of the first profile whose [min, max] range holds every runtime dimension of ``binding``.

    Raises:
        ShapeError: no profile holds it; names, per profile, the first
            dimension out of range and the range.
    """
    ranges = resolve_profiles(network, profiles)
    reasons = []
    for i, points in enumerate(ranges):
        bad = [(name, value) for name, value in binding.items()
               if name in points["min"] and not points["min"][name] <= value <= points["max"][name]]
        if not bad:
            return i
        name, value = bad[0]
        reasons.append(f"profile {i} allows {name} in [{points['min'][name]}, {points['max'][name]}], found {value}")
    raise ShapeError(f"network {network.name!r}: the input shapes are outside every optimization profile: "
                     + "; ".join(reasons))
