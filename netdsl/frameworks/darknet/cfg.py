"""Darknet ``.cfg`` files: the parser and the walk that gives each convolution's parameter shapes.

Semantics follow darknet (AlexeyAB/darknet src/parser.c, pjreddie/darknet
src/parser.c):

* ``read_cfg``: the file is split at '\n' (``fgetl``); ``strip`` (src/utils.c)
  removes every ' ', '\t', '\r' and '\n' from a line; lines that are then
  empty or start with '#' or ';' are skipped; ``[type]`` starts a section;
  any other line must be ``key=value`` (split at the first '='). The first section must be
  ``[net]`` (or ``[network]``). When a key repeats in a section, darknet's
  ``option_find`` returns the first value; so does :meth:`Section.get`.
* Layer indices count sections after ``[net]`` from 0; ``route`` ``layers``
  and ``shortcut`` ``from`` entries that are negative are relative to the
  section's own index.
* A convolutional layer of ``filters`` K, ``size`` k and ``groups`` g on C
  input channels stores, in file order (``load_convolutional_weights``):
  biases (K,); if ``batch_normalize``: scales (K,), rolling_mean (K,),
  rolling_variance (K,); then weights (K, C/g, k, k).
* Numbers are read with C's ``atoi`` (``option_find_int``); values darknet
  would misread (``1_6``, non-ASCII digits, trailing characters, empty list
  entries) are refused: see ``numbers.py``.
* Every channel count the walk derives must be a positive C ``int``, and so
  must every parameter count (darknet keeps ``nweights`` in an ``int``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from ...graph.errors import WeightsFileError
from .numbers import INT_MAX, parse_int, parse_int_list, parse_float

_STRIPPED = " \t\r\n"  # darknet src/utils.c strip()

# Section-name aliases darknet accepts (parser.c string_to_layer_type).
_ALIASES = {"network": "net", "conv": "convolutional", "max": "maxpool", "avg": "avgpool",
            "soft": "softmax"}
# Layer types that carry no weights and keep their input's channel count.
_SAME_CHANNELS = {"maxpool", "avgpool", "upsample", "yolo", "Gaussian_yolo", "region", "detection",
                  "dropout", "softmax", "cost", "activation"}
# Layer types darknet loads weights for that this walk does not support.
_WEIGHTED = {"connected", "local", "batchnorm", "deconvolutional", "rnn", "gru", "lstm", "crnn",
             "conv_lstm", "history", "implicit_add", "implicit_mul"}


@dataclass
class Section:
    """One ``[type]`` section of a cfg file.

    Attributes:
        type: section type with darknet's aliases resolved ("net",
            "convolutional", "maxpool", "route", "upsample", "yolo", "shortcut" ...).
        options: key -> value, both str, whitespace removed (first value of a
            repeated key).
        index: darknet layer index (0 for the first section after [net]); None for [net].
        line: 1-based line number of the ``[type]`` header.
        path: the cfg file, for messages.
        lines: key -> 1-based line number of the option (its first occurrence).
    """

    type: str
    options: dict[str, str]
    index: int | None
    line: int
    path: str = ""
    lines: dict[str, int] = field(default_factory=dict)

    def where(self, key: str | None = None) -> str:
        """``file line N [type] (layer i)`` for error messages; N is ``key``'s line if given, else the header's."""
        layer = "" if self.index is None else f" (layer {self.index})"
        return f"{self.path} line {self.lines.get(key, self.line)} [{self.type}]{layer}"

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.options.get(key, default)

    def _number(self, key: str, default, parse):
        text = self.options.get(key)
        if text is None:
            if default is None:
                raise WeightsFileError(f"{self.where()}: missing option {key}=")
            return default
        try:
            return parse(text)
        except ValueError as exc:
            raise WeightsFileError(f"{self.where(key)}: {key}={text} {exc}") from None

    def get_int(self, key: str, default: int | None = None) -> int:
        """Option ``key`` as darknet's ``atoi`` reads it (``numbers.parse_int``).

        Raises:
            WeightsFileError: absent without a default, or a value darknet
                would misread (naming the file, the option's line and key).
        """
        return self._number(key, default, parse_int)

    def get_float(self, key: str, default: float | None = None) -> float:
        """Option ``key`` as darknet's ``atof`` reads it (``numbers.parse_float``); errors as :meth:`get_int`."""
        return self._number(key, default, parse_float)

    def get_ints(self, key: str) -> list[int]:
        """Comma-separated option ``key`` (required, at least one entry) as darknet reads it."""
        text = self.options.get(key)
        if not text:
            raise WeightsFileError(f"{self.where()}: missing option {key}=")
        try:
            return parse_int_list(text)
        except ValueError as exc:
            raise WeightsFileError(f"{self.where(key)}: {key}={text} {exc}") from None


def parse_cfg(path) -> list[Section]:
    """Parse a darknet cfg file into its sections, [net] first.

    Returns:
        list of Section; element 0 is [net] (index None), element i+1 has index i.
    Raises:
        WeightsFileError: file missing, unreadable or not a regular file, an option before any
            section, a malformed line (no '=' / empty key / unclosed '['), or
            a first section other than [net]; the one-line message names the
            file and line.
    """
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isfile(path):
        raise WeightsFileError(f"darknet cfg {path} is not a regular file")
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            lines = f.read().split("\n")
    except OSError as exc:
        raise WeightsFileError(f"cannot read darknet cfg {path}: {exc.strerror or exc}") from None
    sections: list[Section] = []
    strip = str.maketrans("", "", _STRIPPED)
    for number, raw in enumerate(lines, 1):
        line = raw.translate(strip)
        if not line or line[0] in "#;":
            continue
        if line[0] == "[":
            if not line.endswith("]") or len(line) < 3:
                raise WeightsFileError(f"{path} line {number}: malformed section header {raw.strip()!r}")
            kind = line[1:-1]
            kind = _ALIASES.get(kind, kind)
            if not sections and kind != "net":
                raise WeightsFileError(f"{path} line {number}: first section must be [net], found [{kind}]")
            index = None if kind == "net" and not sections else len(sections) - 1
            sections.append(Section(kind, {}, index, number, path))
            continue
        key, eq, value = line.partition("=")
        if not eq or not key:
            raise WeightsFileError(f"{path} line {number}: expected key=value or [section], found {raw.strip()!r}")
        if not sections:
            raise WeightsFileError(f"{path} line {number}: option {key!r} appears before any [section]")
        if key not in sections[-1].options:
            sections[-1].options[key] = value
            sections[-1].lines[key] = number
    if not sections:
        raise WeightsFileError(f"{path}: no sections; a darknet cfg starts with [net]")
    return sections


@dataclass
class ConvParams:
    """The parameters darknet stores for one convolutional section.

    Attributes:
        section: the [convolutional] Section.
        in_channels, filters, size, groups, batch_normalize: as darknet reads them.
        params: (darknet role, shape) in file order; roles are "biases",
            "scales", "rolling_mean", "rolling_variance" (those three only
            with batch_normalize) and "weights" (K, C/groups, size, size).
    """

    section: Section
    in_channels: int
    filters: int
    size: int
    groups: int
    batch_normalize: bool
    params: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Number of float32 values this layer reads from a .weights file."""
        total = 0
        for _, shape in self.params:
            n = 1
            for d in shape:
                n *= d
            total += n
        return total


def _layer_ref(section: Section, value: int, known: list[int], key: str) -> int:
    """Resolve a route/shortcut layer reference (negative = relative) to an absolute index."""
    target = section.index + value if value < 0 else value
    if not 0 <= target < len(known):
        raise WeightsFileError(f"{section.where(key)}: refers to layer {value} (absolute {target}), "
                               f"but only layers 0..{len(known) - 1} precede it")
    return target


def _checked_count(section: Section, what: str, value: int) -> int:
    """A channel or parameter count derived from the cfg: a positive C int, as darknet stores it."""
    if value < 1:
        raise WeightsFileError(f"{section.where()}: gives {value} {what}; a tensor needs at least 1")
    if value > INT_MAX:
        raise WeightsFileError(f"{section.where()}: gives {value:,} {what}, more than darknet's int holds "
                               f"({INT_MAX:,})")
    return value


def _conv(section: Section, channels: int) -> ConvParams:
    filters = section.get_int("filters", 1)
    size = section.get_int("size", 1)
    groups = section.get_int("groups", 1)
    bn = section.get_int("batch_normalize", 0) != 0
    if filters < 1 or size < 1 or groups < 1:
        raise WeightsFileError(f"{section.where()}: filters={filters}, size={size}, groups={groups} "
                               f"must all be positive")
    if channels % groups:
        raise WeightsFileError(f"{section.where('groups')}: input channels {channels} not divisible by "
                               f"groups={groups}")
    if "share_index" in section.options:
        raise WeightsFileError(f"{section.where('share_index')}: share_index (shared weights) is not supported")
    params = [("biases", (filters,))]
    if bn:
        params += [("scales", (filters,)), ("rolling_mean", (filters,)), ("rolling_variance", (filters,))]
    params.append(("weights", (filters, channels // groups, size, size)))
    _checked_count(section, "kernel values (filters x channels/groups x size x size)",
                   filters * (channels // groups) * size * size)
    return ConvParams(section, channels, filters, size, groups, bn, params)


def _out_channels(section: Section, channels: int, known: list[int]) -> int:
    """Output channels of a weightless section given its input channels and earlier outputs (not yet checked)."""
    kind = section.type
    if kind in _SAME_CHANNELS:
        if kind == "maxpool" and section.get_int("maxpool_depth", 0):
            raise WeightsFileError(f"{section.where('maxpool_depth')}: maxpool_depth is not supported")
        return channels
    if kind == "route":
        refs = [_layer_ref(section, v, known, "layers") for v in section.get_ints("layers")]
        total = sum(known[r] for r in refs)
        groups = section.get_int("groups", 1)
        group_id = section.get_int("group_id", 0)
        if groups < 1 or total % groups or not 0 <= group_id < groups:
            raise WeightsFileError(f"{section.where('groups')}: {total} channels cannot be split into "
                                   f"groups={groups} (group_id={group_id})")
        return total // groups
    if kind == "shortcut":
        for v in section.get_ints("from"):
            _layer_ref(section, v, known, "from")
        if section.get("weights_type", "none") != "none":
            raise WeightsFileError(f"{section.where('weights_type')}: weighted shortcut (weights_type) is not "
                                   f"supported")
        return channels
    if kind == "reorg":
        # darknet src/reorg_layer.c make_reorg_layer: out_c = c / (stride*stride) reversed, else c * stride*stride
        stride = section.get_int("stride", 1)
        if stride < 1:
            raise WeightsFileError(f"{section.where('stride')}: reorg stride={stride} must be positive")
        if section.get_int("reverse", 0):
            if channels % (stride * stride):
                raise WeightsFileError(f"{section.where('stride')}: reverse reorg of {channels} channels needs a "
                                       f"multiple of stride*stride={stride * stride}")
            return channels // (stride * stride)
        return channels * stride * stride
    if kind in _WEIGHTED:
        raise WeightsFileError(f"{section.where()}: layer type [{kind}] carries weights and is not supported")
    raise WeightsFileError(f"{section.where()}: unknown section type [{kind}]")


def conv_parameter_shapes(sections: list[Section], in_channels: int | None = None) -> list[ConvParams]:
    """Walk the layers, tracking channel counts, and list each convolution's parameters.

    Args:
        sections: from :func:`parse_cfg` ([net] first).
        in_channels: input channels; default: [net] ``channels``.
    Returns:
        one ConvParams per [convolutional] section, in layer (= file) order.
    Raises:
        WeightsFileError: missing [net] channels, a bad option value (see
            :meth:`Section.get_int`), a route or shortcut reference out of
            range or an empty reference list, channels not divisible by groups
            (convolution, route) or by stride*stride (reverse reorg), a
            reorg stride below 1, a layer giving 0 channels, a channel or
            kernel count beyond darknet's int, or a layer type that is unknown
            or carries unsupported weights; the message names the file, line
            and layer.
    """
    if not sections or sections[0].type != "net":
        raise WeightsFileError("darknet cfg sections must start with [net]")
    net = sections[0]
    channels = in_channels if in_channels is not None else net.get_int("channels")
    if channels < 1:
        raise WeightsFileError(f"{net.where('channels')}: channels={channels} must be positive")
    known: list[int] = []  # output channels per layer index
    convs: list[ConvParams] = []
    for section in sections[1:]:
        if section.type == "net":
            raise WeightsFileError(f"{section.where()}: a second [net] section")
        if section.type == "convolutional":
            conv = _conv(section, channels)
            convs.append(conv)
            channels = conv.filters
        else:
            channels = _checked_count(section, "output channels", _out_channels(section, channels, known))
        known.append(channels)
    return convs
