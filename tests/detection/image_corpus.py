"""Image files made from a real test image, for the reader's tests and ``tools/fuzz_images.py``.

Every builder returns bytes. Valid variants are encoded by Pillow from
``tests/data/darknet/images/*.jpg``; hostile files are assembled by hand
from the format specifications (PNG: W3C PNG spec section 5/11; WebP: RFC 9649;
TIFF 6.0 section 2) so that their headers declare what a decoder would
allocate, while the files stay tiny.
"""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "tests" / "data" / "darknet" / "images"


def source(name: str = "dog.jpg", size: tuple[int, int] | None = None):
    """A darknet test image as an RGB ``PIL.Image``, optionally resized to (width, height)."""
    from PIL import Image
    with Image.open(IMAGES / name) as img:
        img = img.convert("RGB")
    return img.resize(size, Image.BILINEAR) if size else img


def encode(img, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()


def valid_files(img) -> dict[str, bytes]:
    """One file per format/encoding netdsl reads, all showing ``img`` (an RGB PIL image)."""
    moved = img.rotate(3)
    return {
        "jpeg.jpg": encode(img, "JPEG", quality=90),
        "progressive.jpg": encode(img, "JPEG", quality=90, progressive=True),
        "mpo.jpg": encode(img, "MPO", save_all=True, append_images=[moved]),
        "rgb.png": encode(img, "PNG"),
        "palette.png": encode(img.convert("P"), "PNG"),
        "apng.png": encode(img, "PNG", save_all=True, append_images=[moved]),
        "still.gif": encode(img, "GIF"),
        "animated.gif": encode(img, "GIF", save_all=True, append_images=[moved]),
        "lossy.webp": encode(img, "WEBP", quality=90),
        "lossless.webp": encode(img, "WEBP", lossless=True),
        "animated.webp": encode(img, "WEBP", save_all=True, append_images=[moved], quality=90),
        "raw.tif": encode(img, "TIFF"),
        "lzw.tif": encode(img, "TIFF", compression="tiff_lzw"),
        "deflate.tif": encode(img, "TIFF", compression="tiff_adobe_deflate"),
        "jpeg.tif": encode(img, "TIFF", compression="jpeg"),
        "lzw-ifd-first.tif": tiff_ifd_first(img),
        "rgb.bmp": encode(img, "BMP"),
    }


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_declaring(width: int, height: int, bit_depth: int = 8, colour_type: int = 2, rows=None) -> bytes:
    """A PNG whose IHDR declares ``width`` x ``height``; IDAT holds ``rows`` zero rows (default: one)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour_type]
    row = 1 + (width * channels * bit_depth + 7) // 8
    comp = zlib.compressobj(9)
    data = b"".join(comp.compress(bytes(row)) for _ in range(rows if rows is not None else 1)) + comp.flush()
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def png_bomb() -> bytes:
    """A ~95-byte PNG declaring 20000 x 20000 RGB (400 Mpx; Pillow's DecompressionBombError territory)."""
    return png_declaring(20000, 20000, 1, 0)


def png_100mpx() -> bytes:
    """A complete 10000 x 10000 1-bit black PNG: 100 Mpx in about 12 KB."""
    return png_declaring(10000, 10000, 1, 0, rows=10000)


def webp_animated_canvas(width: int = 2_359_392, height: int = 72) -> bytes:
    """A small animated WebP (two 1x1 frames) whose VP8X header declares a ``width`` x ``height`` canvas."""
    from PIL import Image
    frames = [Image.new("RGB", (1, 1), c) for c in ((255, 0, 0), (0, 0, 255))]
    data = bytearray(encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True))
    assert data[12:16] == b"VP8X"
    data[24:27] = (width - 1).to_bytes(3, "little")
    data[27:30] = (height - 1).to_bytes(3, "little")
    return bytes(data)


def tiff_ifd_first(img, declared: tuple[int, int] | None = None) -> bytes:
    """An LZW RGB TIFF (one strip) with its IFD before the pixel data, as libtiff-based writers lay it out.

    Cut a few bytes off the end and the strip, not the IFD, is truncated:
    Pillow then decodes the rest without an error or a warning.
    """
    from PIL import Image
    pillow_file = encode(img, "TIFF", compression="tiff_lzw")
    with Image.open(io.BytesIO(pillow_file)) as tif:
        offsets, counts, rows = tif.tag_v2[273], tif.tag_v2[279], tif.tag_v2[278]
    strips = [pillow_file[o:o + n] for o, n in zip(offsets, counts)]
    w, h = declared or img.size
    n = len(strips)
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 3, "bits"), (259, 3, 1, 5), (262, 3, 1, 2),
               (273, 4, n, "offsets"), (277, 3, 1, 3), (278, 4, 1, rows), (279, 4, n, "counts"), (284, 3, 1, 1)]
    at = 8 + 2 + 12 * len(entries) + 4
    extra = {"bits": struct.pack("<3H", 8, 8, 8)}
    data_at = at + 6 + (8 * n if n > 1 else 0)  # 4-byte arrays sit in the entry itself
    starts = np.cumsum([0] + [len(s) for s in strips[:-1]]) + data_at
    extra["offsets"] = struct.pack(f"<{n}I", *starts)
    extra["counts"] = struct.pack(f"<{n}I", *(len(s) for s in strips))
    out = bytearray(b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries)))
    blob = bytearray()
    for tag, kind, count, value in entries:
        if isinstance(value, str):
            payload = extra[value]
            if len(payload) <= 4:
                out += struct.pack("<HHI", tag, kind, count) + payload.ljust(4, b"\0")
                continue
            out += struct.pack("<HHII", tag, kind, count, at + len(blob))
            blob += payload
        elif kind == 3:
            out += struct.pack("<HHIHH", tag, kind, count, value, 0)
        else:
            out += struct.pack("<HHII", tag, kind, count, value)
    out += struct.pack("<I", 0)
    out += blob
    assert len(out) == data_at, (len(out), data_at)
    return bytes(out + b"".join(strips))


def gray16_png(img) -> bytes:
    """16-bit greyscale PNG (Pillow mode I;16) holding ``img``'s 8-bit grey values times 257."""
    from PIL import Image
    grey = np.asarray(img.convert("L")).astype(np.uint16) * 257
    return encode(Image.fromarray(grey), "PNG")


def declare_size(data: bytes, width: int, height: int) -> bytes:
    """``data`` (a PNG, GIF, BMP, JPEG, WebP or little-endian TIFF from :func:`valid_files`) with its
    header's image size overwritten by ``width`` x ``height`` (clamped to what the field can hold)."""
    out = bytearray(data)
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        out[16:24] = struct.pack(">II", min(width, 2**31 - 1), min(height, 2**31 - 1))
        out[29:33] = struct.pack(">I", zlib.crc32(bytes(out[12:29])) & 0xFFFFFFFF)
    elif data[:3] == b"GIF":
        out[6:10] = struct.pack("<HH", min(width, 65535), min(height, 65535))
    elif data[:2] == b"BM":
        out[18:26] = struct.pack("<ii", min(width, 2**31 - 1), min(height, 2**31 - 1))
    elif data[:2] == b"\xff\xd8":
        for marker in (b"\xff\xc0", b"\xff\xc2"):
            at = data.find(marker)
            if at > 0:
                out[at + 5:at + 9] = struct.pack(">HH", min(height, 65535), min(width, 65535))
                break
    elif data[:4] == b"RIFF" and data[12:16] == b"VP8X":
        w, h = min(max(width, 1), 2**24), min(max(height, 1), 2**24)
        out[24:30] = (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
    elif data[:4] == b"II*\x00":
        ifd = struct.unpack_from("<I", data, 4)[0]
        count = struct.unpack_from("<H", data, ifd)[0] if ifd + 2 <= len(data) else 0
        for i in range(count):
            at = ifd + 2 + 12 * i
            if at + 12 > len(data):
                break
            tag, kind = struct.unpack_from("<HH", data, at)
            value = min(width if tag == 256 else height, 2**32 - 1)
            if tag in (256, 257) and kind == 4:
                struct.pack_into("<I", out, at + 8, value)
            elif tag in (256, 257) and kind == 3:
                struct.pack_into("<H", out, at + 8, min(value, 65535))
    return bytes(out)


def mutate(data: bytes, ops) -> bytes:
    """Apply edit operations to ``data``: ("flip", position, xor byte), ("cut", position),
    ("insert", position, bytes), ("repeat", position, length). Positions wrap round the length."""
    out = bytearray(data)
    for op in ops:
        if not out:
            break
        at = op[1] % len(out)
        if op[0] == "flip":
            out[at] ^= op[2] or 1
        elif op[0] == "cut":
            del out[at:]
        elif op[0] == "insert":
            out[at:at] = op[2]
        elif op[0] == "repeat":
            out[at:at] = out[at:at + op[2]]
    return bytes(out)


def hostile_files(img) -> dict[str, bytes]:
    """Small files declaring huge images, and truncated files Pillow alone would decode."""
    valid = valid_files(img)
    files = {"bomb-20000x20000.png": png_bomb(), "100mpx-12kb.png": png_100mpx(),
             "animated-canvas-2359392x72.webp": webp_animated_canvas(),
             "lzw-ifd-first-cut16.tif": valid["lzw-ifd-first.tif"][:-16],
             "rgb-no-iend.png": valid["rgb.png"][:-12], "gif-no-trailer.gif": valid["still.gif"][:-1],
             "apng-cut.png": valid["apng.png"][:-200], "animated-cut.gif": valid["animated.gif"][:-200]}
    for name in ("rgb.png", "still.gif", "rgb.bmp", "jpeg.jpg", "animated.webp", "lzw-ifd-first.tif"):
        files[f"huge-{name}"] = declare_size(valid[name], 60000, 60000)
    return files
