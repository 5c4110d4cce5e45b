"""Numbers in darknet ``.cfg`` options, read as darknet reads them — or refused where darknet would misread them.

darknet reads option values with C's ``atoi`` / ``atof`` (src/option_list.c
``option_find_int`` / ``option_find_float``; lists in src/parser.c, e.g.
``parse_route``: the count of ',' plus one entries, each ``atoi`` of the text
after the previous ','). C semantics (C11 7.22.1.2, 7.22.1.3): skip leading
white space, an optional sign, then ASCII digits, stopping silently at the
first other character; no digits read as 0. So ``1_6`` reads as 1, ``٣``
(an Arabic-Indic digit) as 0, ``16x`` as 16 and an empty list entry as 0 —
where Python's ``int()`` gives 16, 3, an error and an error.

netdsl accepts exactly the texts on which darknet's reading is unambiguous
(a whole-string match of ASCII digits with an optional sign, for floats the
decimal forms ``strtod`` reads completely) and raises ValueError, saying what
darknet would read, for the rest. Values outside C ``int`` (int32) are
refused too: darknet's ``atoi`` has undefined behaviour there.
"""
from __future__ import annotations

import math
import re

INT_MIN, INT_MAX = -2 ** 31, 2 ** 31 - 1
_INT = re.compile(r"[+-]?[0-9]+\Z", re.ASCII)
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z", re.ASCII)
_C_SPACE = " \t\n\v\f\r"  # isspace() in the C locale


def c_atoi(text: str) -> int:
    """What C's ``atoi`` returns for ``text`` (within int32; the undefined overflow is clamped)."""
    s = text.lstrip(_C_SPACE)
    sign = -1 if s[:1] == "-" else 1
    if s[:1] in "+-":
        s = s[1:]
    digits = re.match(r"[0-9]*", s, re.ASCII).group()
    value = sign * int(digits) if digits else 0
    return max(INT_MIN, min(INT_MAX, value))


def parse_int(text: str) -> int:
    """An option value as darknet's ``atoi`` reads it, when that reading is unambiguous.

    Returns:
        the int (within int32).
    Raises:
        ValueError: the text is not an optional sign and ASCII digits only
            (the message says what ``atoi`` would read instead), or is
            outside int32.
    """
    if not _INT.match(text):
        raise ValueError(f"is not an integer as darknet reads it (C atoi would read {c_atoi(text)})")
    value = int(text)
    if not INT_MIN <= value <= INT_MAX:
        raise ValueError(f"is outside darknet's int range [{INT_MIN}, {INT_MAX}]")
    return value


def parse_float(text: str) -> float:
    """An option value as darknet's ``atof`` reads it, when that reading is unambiguous.

    Accepted: ``[+-]`` digits with an optional '.' and fraction (or '.'
    and digits), an optional exponent; the result must be finite (``atof``
    also reads "inf", "nan" and hexadecimal floats, which no darknet cfg
    needs: refused).

    Raises:
        ValueError: any other text, or a value that overflows to infinity.
    """
    if not _FLOAT.match(text):
        raise ValueError("is not a decimal number as darknet reads it (C atof stops at the first other character)")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("overflows a double")
    return value


def parse_int_list(text: str) -> list[int]:
    """A comma-separated option (``layers=-1,8``) as darknet reads it: every entry :func:`parse_int`.

    Raises:
        ValueError: an empty entry (darknet's ``atoi`` would read it as 0,
            i.e. layer 0), or an entry :func:`parse_int` refuses.
    """
    values = []
    for i, entry in enumerate(text.split(",")):
        if entry == "":
            raise ValueError(f"has an empty entry {i + 1} (darknet would read it as 0)")
        try:
            values.append(parse_int(entry))
        except ValueError as exc:
            raise ValueError(f"entry {i + 1} {entry!r} {exc}") from None
    return values
