"""Build a netdsl Network from a darknet ``.cfg``, layer by layer through the DSL (no darknet, no ONNX).

:func:`build_from_cfg` walks the cfg's sections (parsed by
:func:`netdsl.frameworks.darknet.parse_cfg`) and adds, per darknet layer i,
the blocks of ``netdsl.models.blocks`` under darknet's names:

==================  =========================================================================
section             netdsl (scope / layer name)
==================  =========================================================================
[convolutional]     ``conv{i}``: ``conv{i}.conv`` (+ ``conv{i}.bn``) + activation (``darknet_conv``)
[maxpool]           ``maxpool{i}`` (``darknet_maxpool``: padding ``size-1``, ``padding//2`` first)
[avgpool]           ``avgpool{i}``: global average pooling
[route]             ``route{i}``: channel concatenation (slices for ``groups``/``group_id``);
                    one input without groups is that tensor (no layer)
[shortcut]          ``shortcut{i}``: elementwise sum (+ ``shortcut{i}.<activation>``)
[upsample]          ``upsample{i}``: nearest resize by ``stride``
[dropout]           none: identity at inference (the input tensor itself)
[reorg]             ``reorg{i}``: darknet's REORG_OLD layout (``reorg``)
[activation]        ``activation{i}``
[yolo]              ``yolo{i}``: decode (``yolo_decode``; masks, ``scale_x_y``, ``new_coords``)
[region]            ``region{i}``: YOLOv2 decode (``region_decode``)
==================  =========================================================================

Weight names are the ones ``netdsl convert darknet`` writes
(``conv{i}.conv.kernel``, ``conv{i}.bn.scale`` ...), so a converted HDF5
store binds with :func:`netdsl.weights.load_weights`.

Input ``images``: (N, C, H, W) FLOAT NCHW, C = [net] ``channels``; N, H, W
are runtime dimensions ``batch``, ``height``, ``width`` unless fixed ([net]
``width``/``height`` are only the defaults of :func:`detection_spec`). H and
W must be multiples of the network's total stride (32 for YOLO). A detector's
outputs are ``boxes`` (N, R, 4) x1, y1, x2, y2 in input pixels and ``scores``
(N, R, classes), R summed over the heads in cfg order; any other network
marks its last layer's output as ``output``.

Batch norm epsilon: darknet uses 1e-5 (src/batchnorm_layer.c, ``.00001``),
the default here; OpenCV's darknet importer uses 1e-6, so comparisons with
OpenCV pass ``eps=1e-6``.

Keys and sections: see :mod:`netdsl.frameworks.darknet.keys`; anything else
raises :class:`DarknetCfgError` naming the file, the line and the layer.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from fractions import Fraction

from ...graph.errors import NetworkDefinitionError, WeightsFileError
from . import keys as _keys
from .cfg import Section, parse_cfg


class DarknetCfgError(WeightsFileError):
    """A darknet cfg the builder cannot build: an unknown or unsupported section or key, or a bad value.

    The message is one line: ``<file> line <n> [<type>] (layer <i>): <what>``.
    """


@dataclass
class Head:
    """One [yolo] or [region] layer: its index, type, input tensor name, anchors (as used), classes."""

    index: int
    kind: str
    raw: str
    anchors: list
    classes: int


@dataclass
class CfgInfo:
    """What :func:`read_cfg_info` learns from a cfg without building: input, stride, heads."""

    path: str
    name: str
    channels: int
    height: int
    width: int
    stride: int
    classes: int | None
    letter_box: bool
    heads: list = field(default_factory=list)


# -- option helpers ----------------------------------------------------------------------------------------------

def _key_line(section: Section, key: str) -> int:
    """1-based line of ``key=`` inside ``section`` (its header line if not found)."""
    try:
        with open(section.path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return section.line
    for number in range(section.line, len(lines)):  # lines after the header (0-based index = number)
        text = "".join(lines[number].split())
        if text.startswith("["):
            break
        if text.partition("=")[0] == key:
            return number + 1
    return section.line


def _fail(section: Section, message: str, key: str | None = None):
    line = _key_line(section, key) if key else section.line
    layer = "" if section.index is None else f" (layer {section.index})"
    raise DarknetCfgError(f"{section.path} line {line} [{section.type}]{layer}: {message}")


def _int(section: Section, key: str, default: int | None = None) -> int:
    try:
        return section.get_int(key, default)
    except WeightsFileError as exc:
        _fail(section, str(exc).split(": ", 1)[-1], key)


def _ints(section: Section, key: str) -> list[int]:
    try:
        return section.get_ints(key)
    except WeightsFileError as exc:
        _fail(section, str(exc).split(": ", 1)[-1], key)


def _float(section: Section, key: str, default: float) -> float:
    text = section.get(key)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        _fail(section, f"{key}={text} is not a number", key)
    if not math.isfinite(value):
        _fail(section, f"{key}={text} is not a finite number", key)
    return value


def _floats(section: Section, key: str) -> list[float]:
    text = section.get(key) or ""
    try:
        values = [float(v) for v in text.split(",") if v != ""]
    except ValueError:
        _fail(section, f"{key}={text} is not a list of numbers", key)
    if not values:
        _fail(section, f"missing option {key}=", key)
    return values


def _check_keys(section: Section) -> None:
    """Refuse keys darknet does not know for this section, and forward-changing keys at non-neutral values."""
    kind = section.type
    built, ignored, neutral = _keys.BUILT[kind], _keys.IGNORED[kind], _keys.NEUTRAL[kind]
    for key, value in section.options.items():
        if key in built or key in ignored:
            continue
        if key in neutral:
            if value in neutral[key]:
                continue
            _fail(section, f"{key}={value} is not supported by the cfg builder"
                           + (f" (only {key}={neutral[key][0]})" if neutral[key] else ""), key)
        _fail(section, f"unknown key {key!r} for [{kind}]; darknet (src/parser.c) reads "
                       f"{', '.join(sorted(built | ignored | set(neutral)))}", key)


def _check_section_type(section: Section) -> None:
    if section.type in _keys.SECTIONS:
        return
    if section.type in _keys.UNSUPPORTED_SECTIONS:
        _fail(section, f"darknet layer type [{section.type}] is not supported by the cfg builder (supported: "
                       f"{', '.join('[' + s + ']' for s in _keys.SECTIONS if s != 'net')})")
    _fail(section, f"unknown section type [{section.type}]")


def _activation(section: Section, default: str) -> str:
    from netdsl.models.blocks import DARKNET_ACTIVATIONS
    name = section.get("activation", default)
    if name not in DARKNET_ACTIVATIONS:
        _fail(section, f"activation={name} is not supported (supported: {', '.join(DARKNET_ACTIVATIONS)}; "
                       f"darknet itself replaces an unknown activation by relu)", "activation")
    return name


def _stride(section: Section, default: int) -> int:
    stride = _int(section, "stride", default)
    sx, sy = _int(section, "stride_x", stride), _int(section, "stride_y", stride)
    if sx != sy:
        _fail(section, f"stride_x={sx} and stride_y={sy} differ; only square strides are supported", "stride_x")
    if sx < 1:
        _fail(section, f"stride={sx} must be positive", "stride")
    return sx


def _refs(section: Section, key: str, count: int) -> list[int]:
    out = []
    for value in _ints(section, key):
        target = section.index + value if value < 0 else value
        if not 0 <= target < count:
            _fail(section, f"{key}= refers to layer {value} (absolute {target}), but only layers 0..{count - 1} "
                           f"precede it", key)
        out.append(target)
    return out


def _anchors(section: Section, count: int) -> list[tuple[float, float]]:
    values = _floats(section, "anchors")
    if len(values) < 2 * count:
        _fail(section, f"anchors= holds {len(values)} numbers, expected {2 * count} (num={count} pairs)", "anchors")
    return [(values[2 * i], values[2 * i + 1]) for i in range(count)]


# -- the walk ----------------------------------------------------------------------------------------------------

def _sections(cfg_path) -> list[Section]:
    return _checked(parse_cfg(cfg_path))


def _checked(sections: list[Section]) -> list[Section]:
    """``sections`` after the checks every built cfg passes (one [net], known section types and keys)."""
    for section in sections[1:]:
        if section.type == "net":
            _fail(section, "a second [net] section")
    for section in sections:
        _check_section_type(section)
        _check_keys(section)
    return sections


def build_from_cfg(cfg_path, *, batch: int | None = None, height: int | None = None, width: int | None = None,
                   eps: float = 1e-5, fold_batch_norm: bool = True):
    """Build the Network a darknet cfg describes (weights declared, unbound).

    Args:
        cfg_path: darknet ``.cfg`` file.
        batch: N of the NCHW input, or None for a runtime dimension ``batch``.
        height, width: input size in pixels (multiples of the network's
            stride), or None for runtime dimensions ``height`` / ``width``.
        eps: batch-norm epsilon; darknet's is 1e-5, OpenCV's importer uses 1e-6.
        fold_batch_norm: fold each batch norm into its convolution (same weight names).
    Returns:
        Network named after the cfg file (``yolov4`` for ``yolov4.cfg``) with
        input ``images`` (batch, channels, height, width) FLOAT and outputs
        ``boxes`` and ``scores`` (detectors) or ``output`` (module docstring).
    Raises:
        DarknetCfgError: unreadable or malformed cfg (as parse_cfg), an unknown
            or unsupported section or key, a bad value, a reference out of
            range — one line naming the file, line and layer.
        NetworkDefinitionError: a layer that does not fit its input (e.g. a
            static input size not a multiple of the stride), naming the layer.
    """
    path = os.fspath(cfg_path)
    return _build(path, _sections(path), batch=batch, height=height, width=width, eps=eps,
                  fold_batch_norm=fold_batch_norm)


def check_cfg(cfg_path) -> list[Section]:
    """Check a cfg exactly as :func:`build_from_cfg` does, by building it (runtime dims) and dropping the Network.

    :func:`netdsl.frameworks.darknet.convert_darknet` and
    :func:`~netdsl.frameworks.darknet.export_darknet` call this first, so
    ``netdsl convert darknet`` and ``netdsl export darknet`` refuse what
    ``netdsl inspect``, ``build`` and ``detect`` refuse, with the same
    message: the builder's rules are the only copy.

    A classifier's trailing [softmax] and [cost] sections (no weights; not
    built) are left out of the check, so its weights still convert.

    Returns:
        the cfg's sections, as :func:`netdsl.frameworks.darknet.parse_cfg` gives them.
    Raises:
        DarknetCfgError, NetworkDefinitionError: as :func:`build_from_cfg`.
    """
    path = os.fspath(cfg_path)
    sections = parse_cfg(path)
    end = len(sections)
    while end > 1 and sections[end - 1].type in _WEIGHTLESS_TAIL:
        end -= 1
    _build(path, _checked(sections[:end]))
    return sections


# A classifier cfg's last sections, which hold no weights and which the builder does not build: check_cfg checks
# and builds the cfg without them, so their weights still convert (darknet19.cfg, darknet53.cfg end so).
_WEIGHTLESS_TAIL = ("softmax", "cost")


def _build(path: str, sections: list[Section], *, batch=None, height=None, width=None, eps=1e-5,
           fold_batch_norm=True):
    """:func:`build_from_cfg` on the sections :func:`_sections` gave for ``path``."""
    from netdsl import DataType, Network
    from netdsl.graph.shapes import require

    info = _info(path, sections)
    net = Network(info.name)
    dims = ("batch" if batch is None else batch, info.channels, "height" if height is None else height,
            "width" if width is None else width)
    images = net.add_input("images", DataType.FLOAT, dims)
    for axis, what in ((2, "height"), (3, "width")):
        require(net, "images", lambda d: d % info.stride == 0, (images.shape[axis],),
                f"the input {what} to be a multiple of {info.stride}",
                error=lambda v, what=what: f"the input {what} must be a multiple of {info.stride}, found {v[0]}")
    outputs: list = []
    heads: list = []
    x = images
    for section in sections[1:]:
        if section.type in ("route", "shortcut"):
            key = "layers" if section.type == "route" else "from"
            for r in _refs(section, key, len(outputs)):
                if sections[r + 1].type in ("yolo", "region"):
                    _fail(section, f"{key}= refers to layer {r}, a [{sections[r + 1].type}] layer, whose decoded "
                                   f"output the cfg builder does not provide", key)
        try:
            x = _layer(net, section, x, outputs, images, heads, eps, fold_batch_norm)
        except (NetworkDefinitionError, ValueError) as exc:
            if isinstance(exc, DarknetCfgError):
                raise
            _fail(section, str(exc))
        outputs.append(x)
    if heads:
        boxes = [b for b, _ in heads]
        scores = [s for _, s in heads]
        net.mark_output(net.add_concatenation(boxes, axis=1, name="boxes").output)
        net.mark_output(net.add_concatenation(scores, axis=1, name="scores").output)
    else:
        net.mark_output(x, name="output")
    return net


def _layer(net, section, x, outputs, images, heads, eps, fold):
    """Add darknet layer ``section`` on input ``x``; return its output tensor (a head's input for yolo/region)."""
    from netdsl.models import blocks

    i, kind = section.index, section.type
    if kind == "convolutional":
        size = _int(section, "size", 1)
        filters = _int(section, "filters", 1)
        groups = _int(section, "groups", 1)
        if size < 1 or filters < 1 or groups < 1:
            _fail(section, f"filters={filters}, size={size}, groups={groups} must all be positive")
        padding = size // 2 if _int(section, "pad", 0) else _int(section, "padding", 0)
        return blocks.darknet_conv(net, x, filters, size, _stride(section, 1), scope=f"conv{i}", padding=padding,
                                   groups=groups, batch_normalize=_int(section, "batch_normalize", 0) != 0,
                                   activation_type=_activation(section, "logistic"), eps=eps, fold_batch_norm=fold)
    if kind == "maxpool":
        stride = _stride(section, 1)
        size = _int(section, "size", stride)
        return blocks.darknet_maxpool(net, x, size, stride, name=f"maxpool{i}",
                                      padding=_int(section, "padding", size - 1))
    if kind == "avgpool":
        from netdsl import PoolingType
        return net.add_global_pooling(x, PoolingType.AVERAGE, name=f"avgpool{i}").output
    if kind == "route":
        refs = _refs(section, "layers", len(outputs))
        return blocks.route(net, [outputs[r] for r in refs], name=f"route{i}", groups=_int(section, "groups", 1),
                            group_id=_int(section, "group_id", 0))
    if kind == "shortcut":
        refs = _refs(section, "from", len(outputs))
        return blocks.shortcut(net, x, [outputs[r] for r in refs], name=f"shortcut{i}",
                               activation_type=_activation(section, "linear"))
    if kind == "upsample":
        stride = _int(section, "stride", 2)
        if stride < 1:
            _fail(section, f"stride={stride}: only upsampling (stride >= 1) is supported", "stride")
        return net.add_resize(x, scales=(1, 1, stride, stride), name=f"upsample{i}").output
    if kind == "dropout":
        return x
    if kind == "reorg":
        stride = _int(section, "stride", 1)
        if stride < 1:
            _fail(section, f"stride={stride} must be positive", "stride")
        return blocks.reorg(net, x, stride, name=f"reorg{i}")
    if kind == "activation":
        return blocks.activation(net, x, _activation(section, "linear"), name=f"activation{i}")
    if kind == "yolo":
        head = _yolo_head(section)
        boxes, scores = blocks.yolo_decode(net, x, head["anchors"], images, scope=f"yolo{i}",
                                           scale_x_y=head["scale_x_y"], new_coords=head["new_coords"])
        _check_classes(section, boxes, scores, head["classes"])
        heads.append((boxes, scores))
        return x
    if kind == "region":
        head = _region_head(section)
        boxes, scores = blocks.region_decode(net, x, head["anchors"], images, scope=f"region{i}")
        _check_classes(section, boxes, scores, head["classes"])
        heads.append((boxes, scores))
        return x
    raise AssertionError(kind)  # _check_section_type refused everything else


def _check_classes(section, boxes, scores, classes):
    if scores.shape[-1] != classes:
        _fail(section, f"classes={classes}, but the head's input has {scores.shape[-1] + 5} values per anchor "
                       f"(expected 5 + {classes}): filters= of the convolution before it does not match", "classes")


def _yolo_head(section: Section) -> dict:
    classes = _int(section, "classes", 20)
    total = _int(section, "num", 1)
    anchors = _anchors(section, total)
    mask = _ints(section, "mask") if section.get("mask") else list(range(total))
    for m in mask:
        if not 0 <= m < total:
            _fail(section, f"mask index {m} outside the num={total} anchors", "mask")
    new_coords = _int(section, "new_coords", 0)
    if new_coords not in (0, 1):
        _fail(section, f"new_coords={new_coords} must be 0 or 1", "new_coords")
    return dict(classes=classes, anchors=[anchors[m] for m in mask], scale_x_y=_float(section, "scale_x_y", 1.0),
                new_coords=bool(new_coords))


def _region_head(section: Section) -> dict:
    classes = _int(section, "classes", 20)
    num = _int(section, "num", 1)
    if _int(section, "coords", 4) != 4:
        _fail(section, f"coords={section.get('coords')}: only coords=4 is supported", "coords")
    if _int(section, "softmax", 0) != 1:
        _fail(section, "only softmax=1 is supported (darknet leaves class logits unactivated otherwise)",
              "softmax" if "softmax" in section.options else None)
    return dict(classes=classes, anchors=_anchors(section, num))


# -- what a cfg is, without building it ---------------------------------------------------------------------------

def _info(path: str, sections: list[Section]) -> CfgInfo:
    """Input channels/size, total stride and heads: a walk of spatial scale factors (no layers built)."""
    net = sections[0]
    channels = _int(net, "channels", 3)
    if channels < 1:
        _fail(net, f"channels={channels} must be positive", "channels")
    height, width = _int(net, "height", 416), _int(net, "width", 416)
    scales: list[Fraction] = []  # per layer: input pixels per output cell
    scale = Fraction(1)
    heads = []
    for section in sections[1:]:
        kind = section.type
        if kind == "convolutional":
            scale = scale * _stride(section, 1)
        elif kind == "maxpool":
            scale = scale * _stride(section, 1)
        elif kind == "upsample":
            stride = _int(section, "stride", 2)
            scale = scale / max(stride, 1)
        elif kind == "reorg":
            scale = scale * max(_int(section, "stride", 1), 1)
        elif kind == "route":
            refs = _refs(section, "layers", len(scales))
            scale = scales[refs[0]]
        elif kind == "shortcut":
            _refs(section, "from", len(scales))
        elif kind == "avgpool":
            scale = Fraction(0)
        elif kind in ("yolo", "region"):
            head = _yolo_head(section) if kind == "yolo" else _region_head(section)
            heads.append(Head(section.index, kind, "", head["anchors"], head["classes"]))
        scales.append(scale)
    stride = 1
    for s in scales:
        if s > 1:
            stride = math.lcm(stride, math.ceil(s))
    classes = {h.classes for h in heads}
    if len(classes) > 1:
        _fail(sections[0], f"the detection heads disagree on classes= ({sorted(classes)})")
    name = os.path.splitext(os.path.basename(path))[0]
    return CfgInfo(path, name, channels, height, width, stride, classes.pop() if classes else None,
                   _int(net, "letter_box", 0) != 0, heads)


def read_cfg_info(cfg_path) -> CfgInfo:
    """Parse and check a cfg; return its input, stride and heads (no Network built).

    Raises:
        DarknetCfgError: as :func:`build_from_cfg`.
    """
    path = os.fspath(cfg_path)
    return _info(path, _sections(path))


def detection_spec(cfg_path, class_names=None) -> dict | None:
    """The ``DETECTION`` dict of a cfg-built detector (None when the cfg has no [yolo]/[region] layer).

    Keys: ``input`` ("images"), ``boxes``, ``scores``, ``input_size`` ([net]
    (height, width)), ``stride``, ``class_names`` (given, else
    ``class{i}``), ``raw_heads`` (names of the tensors feeding the heads, as
    :func:`build_from_cfg` names them), ``letter_box`` ([net] letter_box:
    darknet letterboxes the image then; ``netdsl detect`` always resizes).

    Raises:
        DarknetCfgError: as :func:`build_from_cfg`, or class_names whose count
            differs from the cfg's ``classes=`` (naming both).
    """
    info = read_cfg_info(cfg_path)
    if not info.heads:
        return None
    if class_names is None:
        class_names = [f"class{i}" for i in range(info.classes)]
    class_names = list(class_names)
    if len(class_names) != info.classes:
        raise DarknetCfgError(f"{info.path}: the cfg has classes={info.classes}, the class names list holds "
                              f"{len(class_names)} names")
    net = build_from_cfg(cfg_path, batch=1, height=info.height, width=info.width)
    raw = tuple(_head_input(net, f"{h.kind}{h.index}") for h in info.heads)
    return dict(input="images", boxes="boxes", scores="scores", input_size=(info.height, info.width),
                stride=info.stride, class_names=class_names, raw_heads=raw, letter_box=info.letter_box)


def _head_input(net, scope: str) -> str:
    return net.layer(f"{scope}.to_rows").inputs[0].name


def default_profiles(cfg_path) -> list:
    """One optimization profile for ``images``: min (1, C, ~0.75 size), opt (1, C, [net] size), max (8, C, ~1.5 size).

    Sizes are rounded to the stride (min up, max down), as the hand-written
    YOLOv3-tiny's 320 / 416 / 608.
    """
    info = read_cfg_info(cfg_path)
    s = info.stride

    def up(v):
        return max(s, -(-v // s) * s)

    def down(v):
        return max(s, (v // s) * s)

    lo = (1, info.channels, up(info.height * 3 // 4), up(info.width * 3 // 4))
    opt = (1, info.channels, info.height, info.width)
    hi = (8, info.channels, down(info.height * 3 // 2), down(info.width * 3 // 2))
    return [{"images": (lo, opt, hi)}]
