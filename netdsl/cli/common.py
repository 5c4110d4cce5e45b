"""Helpers shared by the CLI commands: typed arguments, loading a model with its weights."""
from __future__ import annotations

import argparse
import math
import re


def probability(text: str) -> float:
    """argparse type: a float in [0, 1] (NaN refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], found {text!r}") from None
    if not 0.0 <= value <= 1.0:  # also False for NaN
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], found {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer > 0."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {text!r}")
    return value


def nonnegative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, found {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, found {text!r}")
    return value


_SIZE_UNITS = {"": 1 << 20, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_mem_pool_size(text: str, option: str = "--mem-pool-size") -> dict:
    """trtexec's ``--memPoolSize`` syntax ``pool:size[,pool:size...]`` -> {pool: bytes}.

    Sizes are MiB unless suffixed with a base-2 unit ``B``, ``K``, ``M`` or
    ``G`` (KiB, MiB, GiB); decimals are rounded down to whole bytes, as
    trtexec does (trtexec --help, TensorRT 10.x). Pools: trtexec's
    ``workspace``, ``dlaSRAM``, ``dlaLocalDRAM``, ``dlaGlobalDRAM``,
    ``tacticSharedMem``, or a ``trt.MemoryPoolType`` name in lower case
    (``tactic_dram``).

    Raises:
        NetdslError: malformed text, an unknown pool or a pool given twice, naming the option.
    """
    from ..graph.errors import NetdslError
    from ..tensorrt.compat import MEMORY_POOLS
    out = {}
    for item in (text or "").split(","):
        pool, colon, size = item.strip().partition(":")
        match = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)\s*([BKMG]?)(?:i?B)?", size.strip(), flags=re.I)
        if not colon or not pool or match is None:
            raise NetdslError(f"{option} {item.strip()!r}: expected POOL:SIZE (MiB, or with a B/K/M/G suffix), "
                              f"e.g. workspace:1024,tacticSharedMem:0.5")
        if pool.lower() not in MEMORY_POOLS:
            raise NetdslError(f"{option} {item.strip()!r}: unknown pool {pool!r}; expected workspace, dlaSRAM, "
                              f"dlaLocalDRAM, dlaGlobalDRAM, tacticSharedMem or tactic_dram")
        key = MEMORY_POOLS[pool.lower()]
        if any(MEMORY_POOLS[p.lower()] == key for p in out):
            raise NetdslError(f"{option}: pool {pool!r} given more than once")
        out[pool] = int(float(match.group(1)) * _SIZE_UNITS[match.group(2).upper()])
    return out


def add_model_argument(parser) -> None:
    parser.add_argument("model", help="model name (e.g. yolov3-tiny), path to a DSL .py file or to a darknet .cfg "
                                      "(weights: an .h5 from 'netdsl convert darknet')")


def load_network(model: str, weights: str | None = None, params=(), class_names=None):
    """Load a model module, build its network (with ``--param`` pairs) and bind ``weights`` if given.

    ``class_names`` (from ``--names``) name a darknet ``.cfg`` model's classes.

    Returns:
        (module, Network).
    Raises:
        UnknownModelError, ModelFileError, WeightsFileError, WeightsError,
        NetworkDefinitionError, NetdslError (a bad --param), DarknetCfgError: as their sources.
    """
    from ..models import load_model
    from ..weights import load_weights
    module = load_model(model, class_names) if str(model).endswith(".cfg") else load_model(model)
    net = module.build_network(**model_params(module, params))
    if weights is not None:
        load_weights(net, weights)
    return module, net


def is_finite_number(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def add_param_argument(parser) -> None:
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="a build_network() parameter of the model (repeatable; typed from its signature), "
                             "e.g. --param height=416")


def model_params(module, pairs) -> dict:
    """``--param KEY=VALUE`` pairs as keyword arguments of ``module.build_network``, typed from its signature.

    A parameter annotated (or defaulting to) int, float, bool or str gets that
    type; ``int | None`` also takes ``none``; bool takes true/false/1/0/yes/no.

    Raises:
        NetdslError: a malformed pair, a key the function does not take
            (the message lists the known ones) or a value of the wrong type.
    """
    import difflib
    import inspect
    import typing

    from ..graph.errors import NetdslError
    signature = inspect.signature(module.build_network)
    known = {name: p for name, p in signature.parameters.items()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    out = {}
    for pair in pairs:
        key, eq, text = pair.partition("=")
        key = key.strip()
        if not eq or not key:
            raise NetdslError(f"--param {pair!r}: expected KEY=VALUE")
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            raise NetdslError(f"--param {key}: build_network() of {_where(module)} takes no parameter {key!r}"
                              f"{f' (did you mean {close[0]!r}?)' if close else ''}; known: {', '.join(known) or 'none'}")
        out[key] = _typed(key, text.strip(), known[key], typing, NetdslError)
    return out


def _where(module) -> str:
    """The model as the user named it: its file for a user's .py (imported under a generated module name), else
    the module's name (``netdsl.models.yolov3_tiny``)."""
    path = getattr(module, "__file__", None)
    if path and not module.__name__.startswith("netdsl."):
        return path
    return module.__name__


def _typed(key, text, param, typing, error):
    import inspect
    annotation = param.annotation
    if isinstance(annotation, str):  # from __future__ import annotations
        names = [a.strip() for a in annotation.split("|")]
    else:
        args = typing.get_args(annotation) or (annotation,)
        names = [getattr(a, "__name__", str(a)) for a in args]
    if annotation is inspect.Parameter.empty:
        default = param.default
        names = [type(default).__name__] if default not in (inspect.Parameter.empty, None) else ["str"]
    if "None" in names and text.lower() == "none":
        return None
    for name in [n for n in names if n != "None"]:
        if name == "bool":
            lowered = text.lower()
            if lowered in ("true", "1", "yes"):
                return True
            if lowered in ("false", "0", "no"):
                return False
            continue
        if name in ("int", "float", "str"):
            try:
                return {"int": lambda t: int(t, 10), "float": float, "str": str}[name](text)
            except ValueError:
                continue
    raise error(f"--param {key}={text}: expected {' or '.join(names)}")


def parse_shapes(text: str | None, option: str) -> dict:
    """trtexec's shape syntax ``input:1x3x416x416[,other:...]`` -> {input: (1, 3, 416, 416)}.

    Raises:
        NetdslError: malformed text, naming the option.
    """
    from ..graph.errors import NetdslError
    if not text:
        return {}
    out = {}
    for item in text.split(","):
        name, colon, dims = item.strip().rpartition(":")
        try:
            shape = tuple(int(d, 10) for d in dims.split("x"))
        except ValueError:
            shape = None
        if not colon or not name or not shape or any(d < 0 for d in shape):
            raise NetdslError(f"{option} {item!r}: expected INPUT:DxDx... (e.g. images:1x3x416x416)")
        out[name] = shape
    return out


def cli_profiles(args, network, module) -> list:
    """The optimization profile from --shapes / --min-shapes / --opt-shapes / --max-shapes, else the model's.

    Raises:
        NetdslError: a shape option naming an unknown input, an input given in
            some of min/opt/max but not all, or --shapes mixed with the others.
    """
    from ..graph.errors import NetdslError
    fixed = parse_shapes(args.shapes, "--shapes")
    lo, opt, hi = (parse_shapes(getattr(args, f"{k}_shapes"), f"--{k}-shapes") for k in ("min", "opt", "max"))
    if fixed and (lo or opt or hi):
        raise NetdslError("give either --shapes or --min-shapes/--opt-shapes/--max-shapes, not both")
    names = [t.name for t in network.inputs]
    for option, given in (("--shapes", fixed), ("--min-shapes", lo), ("--opt-shapes", opt), ("--max-shapes", hi)):
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise NetdslError(f"{option}: unknown input(s) {unknown}; the network's inputs are {names}")
        for name, shape in given.items():
            rank = len(network.tensor(name).shape)
            if len(shape) != rank:
                raise NetdslError(f"{option}: input {name!r} has rank {rank}, found {len(shape)} dims "
                                  f"{'x'.join(map(str, shape))}")
    if fixed:
        return [{name: (shape, shape, shape) for name, shape in fixed.items()}]
    if lo or opt or hi:
        if not (set(lo) == set(opt) == set(hi)):
            raise NetdslError("--min-shapes, --opt-shapes and --max-shapes must name the same inputs")
        return [{name: (lo[name], opt[name], hi[name]) for name in lo}]
    return list(getattr(module, "PROFILES", None) or []) if not network.is_static else []


def add_shape_arguments(parser) -> None:
    parser.add_argument("--shapes", help="one fixed shape per runtime input, trtexec syntax: images:1x3x416x416")
    for k in ("min", "opt", "max"):
        parser.add_argument(f"--{k}-shapes", help=f"optimization profile {k} shapes, trtexec syntax "
                                                   f"(e.g. images:1x3x320x320); comma-separated for several inputs")


def checked_detection(model, module, net, images: bool = True) -> dict | None:
    """The model module's ``DETECTION`` (None when it defines none), checked against its network before any
    input is read (``detect``, ``calibrate``, ``quantize``): the tensors it names exist, ``class_names`` (if
    given) has one name per class, and with ``images`` (the command feeds image files, as RGB) the input takes
    3-channel NCHW images.

    Raises:
        NetdslError: naming the key, the value and what the network has.
    """
    from ..graph.errors import NetdslError
    spec = getattr(module, "DETECTION", None)
    if spec is None:
        return None
    for key in ("input", "boxes", "scores"):
        if key not in spec:
            raise NetdslError(f"model {model!r}: DETECTION has no {key!r} (docs/model_files.md lists its keys)")
        try:
            net.tensor(spec[key])
        except KeyError as exc:
            raise NetdslError(f"model {model!r}: DETECTION[{key!r}]: {exc.args[0]}") from None
    image = net.tensor(spec["input"])
    if images and (image.ndim != 4 or image.shape[1] != 3):
        raise NetdslError(f"model {model!r}: the commands feed RGB images as (N, 3, H, W); DETECTION['input'] "
                          f"{image.name!r} is {tuple(image.shape)} (a grayscale model: take 3 channels and reduce "
                          f"them in the graph, e.g. a 1x1 convolution with a constant kernel)")
    names, classes = spec.get("class_names"), net.tensor(spec["scores"]).shape[-1]
    if names is not None and isinstance(classes, int) and len(names) != classes:
        raise NetdslError(f"model {model!r}: DETECTION['class_names'] holds {len(names)} names, the model scores "
                          f"{classes} classes")
    return spec


def input_size(text: str | None, spec: dict, network) -> tuple[int, int]:
    """The detector input (height, width) from ``--size`` (``608`` or ``608x416``), else ``DETECTION["input_size"]``.

    Raises:
        NetdslError: malformed text, a size that is not a positive multiple
            of the model's ``DETECTION["stride"]``, or a size other than a
            static network's own.
    """
    from ..graph.errors import NetdslError
    from ..graph.shapes import is_static
    if text is None:
        size = tuple(spec["input_size"])
    else:
        parts = text.lower().split("x")
        try:
            size = tuple(int(p, 10) for p in parts)
        except ValueError:
            size = ()
        if len(size) == 1:
            size = size * 2
        if len(size) != 2 or min(size) <= 0:
            raise NetdslError(f"--size {text!r}: expected SIZE or HEIGHTxWIDTH in pixels, e.g. 608 or 416x608")
    stride = spec.get("stride", 1)
    if any(d % stride for d in size):
        where = f"--size {text}" if text is not None else f"the model's DETECTION['input_size'] {list(size)}"
        raise NetdslError(f"{where}: height and width must be multiples of {stride} for this model "
                          f"(DETECTION['stride']), found {size[0]}x{size[1]}")
    image = network.tensor(spec["input"])
    fixed = tuple(image.shape[-2:])
    if all(is_static(d) for d in fixed) and fixed != size:
        raise NetdslError(f"--size {size[0]}x{size[1]}: this network's input is fixed at {fixed[0]}x{fixed[1]} "
                          f"(build it with runtime dimensions to change the size)")
    return size
