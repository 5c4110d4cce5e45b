"""Byte- and text-level mutations of real files, driven by a ``random.Random`` (so hypothesis can drive them too).

Every function is deterministic given the Random's state: a (seed, input
number) pair reproduces an input.
"""
from __future__ import annotations

import random
import struct

# Values that make length, offset and count fields interesting (little-endian when packed).
INTERESTING = [0, 1, 2, 3, 7, 8, 16, 255, 256, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 2 ** 31 - 1, 2 ** 31,
               2 ** 32 - 1, 2 ** 40, 2 ** 63 - 1, 2 ** 64 - 1]


def _position(rng: random.Random, size: int, hot: int | None) -> int:
    """A byte offset; with ``hot`` given, half the time within the first ``hot`` bytes (metadata, headers)."""
    if hot and rng.random() < 0.5:
        return rng.randrange(min(hot, size))
    return rng.randrange(size)


def mutate_bytes(data: bytes, rng: random.Random, *, hot: int | None = None, max_ops: int = 3) -> bytes:
    """Apply 1..max_ops random edits: bit/byte flips, interesting 1/2/4/8-byte values, truncation,
    insertion, deletion or duplication of a range."""
    out = bytearray(data)
    for _ in range(rng.randint(1, max_ops)):
        if not out:
            out += bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
            continue
        op = rng.choice(["flip", "flip", "byte", "field", "truncate", "insert", "delete", "duplicate"])
        pos = _position(rng, len(out), hot)
        if op == "flip":
            out[pos] ^= 1 << rng.randrange(8) if rng.random() < 0.5 else rng.randrange(1, 256)
        elif op == "byte":
            out[pos] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)])
        elif op == "field":
            width = rng.choice([1, 2, 4, 8])
            value = rng.choice(INTERESTING) % (1 << (8 * width))
            out[pos:pos + width] = value.to_bytes(width, "little")
        elif op == "truncate":
            del out[pos:]
        elif op == "insert":
            out[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        elif op == "delete":
            del out[pos:pos + rng.randint(1, 64)]
        else:
            start = _position(rng, len(out), hot)
            out[pos:pos] = out[start:start + rng.randint(1, 256)]
    return bytes(out)


# Texts darknet's atoi/atof read differently from Python's int()/float(), or that are just odd.
ODD_NUMBERS = ["1_6", "\u0663", "\uff11\uff16", "16x", "", "-", "+", "0", "-1", "-0", "00016", "+16",
               "99999999999", "2147483648", "-2147483649", "1e3", "0x10", "1.5", " 16", "1\u30006", "1\x0c6",
               "nan", "inf", "1,", ",1", ",", "-1,,8", "\u00a016", "１"]


def mutate_cfg_text(text: str, rng: random.Random) -> str:
    """Line-level edits of a darknet cfg: odd numbers for option values, dropped/duplicated/swapped lines."""
    lines = text.split("\n")
    for _ in range(rng.randint(1, 3)):
        if not lines:
            lines = ["[net]"]
        i = rng.randrange(len(lines))
        op = rng.choice(["number", "number", "drop", "duplicate", "swap", "header"])
        if op == "number" and "=" in lines[i]:
            key = lines[i].split("=", 1)[0]
            lines[i] = f"{key}={rng.choice(ODD_NUMBERS + [str(rng.randint(-5, 600))])}"
        elif op == "drop":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines.insert(i, rng.choice(["[route]", "[reorg]", "[shortcut]", "[convolutional]", "[maxpool]",
                                        "[upsample]", "[net]", "[yolo]", "[", "[]", "layers=,", "stride=0",
                                        "reverse=1", "groups=2", "from=-1", "layers=-1,-3"]))
    return "\n".join(lines)


def pack_floats(values) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)
