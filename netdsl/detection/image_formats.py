"""Byte-level structure checks of the image formats netdsl reads, done before any pixel decoding.

Pillow decodes what it can of a damaged file and does not always say so: a
PNG missing its IEND chunk, a GIF missing its trailer or later frames, a
compressed TIFF whose strips run past the end of the file, an RLE BMP all
decode without an error. These functions read only container structure
(chunk headers, block lengths, strip offsets) and return a one-phrase
description of the problem, or None when the structure is complete.

Sources: PNG specification (W3C, 3rd ed.) section 5 (chunk layout); GIF89a
specification (W3C/CompuServe 1990) sections 17-27 (block layout); WebP
container specification (Google, RFC 9649 section 2.7 "Extended file
format", 2.5/2.6 simple formats) for the canvas size; TIFF 6.0 section 3
(StripOffsets/StripByteCounts) and section 15 (TileOffsets/TileByteCounts);
CIPA DC-007 (Multi-Picture Format) section 5.2.3 (MP Entry: size, offset).
"""
from __future__ import annotations

import os
import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def sniff_format(head: bytes) -> str | None:
    """The format a file's first bytes announce ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP"), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(PNG_SIGNATURE):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[:2] == b"BM":
        return "BMP"
    return None


def png_problem(f, file_size: int) -> str | None:
    """Walk a PNG's chunks from the signature to IEND, seeking over chunk data.

    Args:
        f: binary file object positioned anywhere (it is rewound).
        file_size: size of the file in bytes.
    Returns:
        None if the chunks reach a complete IEND chunk (with its CRC), else
        the problem, e.g. ``"truncated: ends inside chunk IDAT at byte 39,622"``.
    """
    f.seek(0)
    if f.read(8) != PNG_SIGNATURE:
        return "no PNG signature"
    pos = 8
    while True:
        head = f.read(8)
        if len(head) < 8:
            return f"truncated: no IEND chunk before the end of the file at byte {file_size:,}"
        length, kind = struct.unpack(">I4s", head)
        if length > 0x7FFFFFFF:  # PNG spec 5.3: a chunk length is at most 2^31 - 1
            return f"chunk at byte {pos:,} declares length {length:,} (at most 2^31-1)"
        end = pos + 8 + length + 4
        if end > file_size:
            name = kind.decode("latin-1", "replace")
            return f"truncated: chunk {name!r} at byte {pos:,} needs {end:,} bytes, the file has {file_size:,}"
        if kind == b"IEND":
            return None
        f.seek(length + 4, os.SEEK_CUR)
        pos = end


_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def png_data_problem(f) -> str | None:
    """Check that a PNG's IDAT stream inflates to at least the bytes its IHDR requires.

    Pillow fills the rest of the image silently when the zlib stream ends
    early (a file cut inside IDAT and re-terminated, or a tiny file declaring
    a huge image). Required bytes: per row 1 filter byte + ceil(width * bits
    per pixel / 8), over all rows, or over the 7 Adam7 passes when
    interlaced (PNG spec sections 7.2, 8.2). Inflates in 1 MiB pieces,
    discarding the output.
    """
    f.seek(8)
    head = f.read(8)
    if head[4:] != b"IHDR":
        return "first chunk is not IHDR"
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", f.read(13))
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour)
    if channels is None:
        return f"colour type {colour} (expected 0, 2, 3, 4 or 6)"
    bits = channels * depth
    passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
    need = 0
    for x0, y0, dx, dy in passes:
        pw, ph = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if pw > 0 and ph > 0:
            need += ph * (1 + -(-pw * bits // 8))
    f.seek(8 + 8 + 13 + 4)
    inflate, got = zlib.decompressobj(), 0
    while got < need:
        head = f.read(8)
        if len(head) < 8:
            break
        length, kind = struct.unpack(">I4s", head)
        if kind == b"IEND":
            break
        if kind != b"IDAT":
            f.seek(length + 4, os.SEEK_CUR)
            continue
        data = f.read(length)
        f.seek(4, os.SEEK_CUR)
        while data and got < need and not inflate.eof:
            got += len(inflate.decompress(data, 1 << 20))
            data = inflate.unconsumed_tail
    if got < need:
        return f"image data inflates to {got:,} bytes, the {width} x {height} header needs {need:,}"
    return None


def _gif_skip_sub_blocks(f) -> bool:
    """Skip a GIF data sub-block chain (length byte, data, ..., 0). False on EOF."""
    while True:
        n = f.read(1)
        if not n:
            return False
        if n[0] == 0:
            return True
        if len(f.read(n[0])) < n[0]:
            return False


def gif_frames(f) -> tuple[int, str | None]:
    """Walk a GIF's blocks from the header to the trailer (0x3B), skipping pixel data.

    Bytes that start no known block are skipped one at a time, as Pillow's
    GIF reader does.

    Returns:
        (number of image descriptors = frames, problem or None); the
        problem is e.g. ``"truncated: ends before the GIF trailer (2 frames seen)"``.
    """
    f.seek(0)
    header = f.read(13)
    if len(header) < 13 or header[:6] not in (b"GIF87a", b"GIF89a"):
        return 0, "no GIF header"
    if header[10] & 0x80:  # global colour table: 3 * 2^(N+1) bytes
        size = 3 << ((header[10] & 7) + 1)
        if len(f.read(size)) < size:
            return 0, "truncated: ends inside the global colour table"
    frames = 0
    while True:
        kind = f.read(1)
        if not kind:
            return frames, f"truncated: ends before the GIF trailer ({frames} frames seen)"
        if kind == b";":
            return frames, None
        if kind == b"!":
            if not f.read(1) or not _gif_skip_sub_blocks(f):
                return frames, f"truncated: ends inside an extension block ({frames} frames seen)"
        elif kind == b",":
            desc = f.read(9)
            if len(desc) < 9:
                return frames, f"truncated: ends inside an image descriptor ({frames} frames seen)"
            if desc[8] & 0x80:  # local colour table
                size = 3 << ((desc[8] & 7) + 1)
                if len(f.read(size)) < size:
                    return frames, "truncated: ends inside a local colour table"
            if not f.read(1) or not _gif_skip_sub_blocks(f):  # LZW minimum code size, then data
                return frames, f"truncated: ends inside the pixel data of frame {frames + 1}"
            frames += 1


def webp_canvas(head: bytes) -> tuple[int, int] | None:
    """(width, height) a WebP declares in its first 30 bytes, or None if it declares none.

    ``VP8X`` (extended, incl. animation): 24-bit canvas width-1 and height-1;
    ``VP8 `` (lossy): 14-bit sizes in the key frame header after the start
    code 9D 01 2A; ``VP8L`` (lossless): 14-bit width-1 and height-1 after
    the signature byte 0x2F. libwebp allocates the canvas when the file is
    opened, so this is checked before Pillow sees the file.
    """
    if len(head) < 30 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return None
    chunk = head[12:16]
    if chunk == b"VP8X":
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        return int.from_bytes(head[26:28], "little") & 0x3FFF, int.from_bytes(head[28:30], "little") & 0x3FFF
    if chunk == b"VP8L" and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def tiff_problem(img, file_size: int) -> str | None:
    """Check that every strip (or tile) of a TIFF's first image lies inside the file.

    Args:
        img: an opened (not loaded) ``PIL.TiffImagePlugin.TiffImageFile``.
        file_size: size of the file in bytes.
    Returns:
        None, or e.g. ``"truncated: strip 0 ends at byte 60,232, the file has 60,000"``.
        A file without byte counts (allowed by old writers, required by
        TIFF 6.0 baseline) is refused: its truncation cannot be detected.
    """
    tags = img.tag_v2
    for what, offsets_tag, counts_tag in (("strip", 273, 279), ("tile", 324, 325)):
        offsets = tags.get(offsets_tag)
        if offsets is None:
            continue
        counts = tags.get(counts_tag)
        if counts is None:
            return f"{what}s have no byte counts (tag {counts_tag}), so truncation cannot be detected"
        offsets = (offsets,) if isinstance(offsets, int) else tuple(offsets)
        counts = (counts,) if isinstance(counts, int) else tuple(counts)
        if len(offsets) != len(counts) or not offsets:
            return f"{len(offsets)} {what} offsets but {len(counts)} {what} byte counts"
        for i, (offset, count) in enumerate(zip(offsets, counts)):
            if offset + count > file_size:
                return (f"truncated: {what} {i} ends at byte {offset + count:,}, "
                        f"the file has {file_size:,}")
        return None
    return "no strip or tile offsets"


def _mpf_offset(f) -> int | None:
    """File offset of the MP header (the TIFF header after ``MPF\\0`` in the APP2 segment), or None."""
    f.seek(0)
    if f.read(2) != b"\xff\xd8":
        return None
    while True:
        marker = f.read(4)
        if len(marker) < 4 or marker[0] != 0xFF or marker[1] in (0xDA, 0xD9):  # start of scan / end: no MPF
            return None
        length = struct.unpack(">H", marker[2:])[0]
        payload_at = f.tell()
        if marker[1] == 0xE2 and f.read(4) == b"MPF\0":
            return payload_at + 4
        f.seek(payload_at + length - 2)


def mpo_problem(img, f, file_size: int) -> str | None:
    """Check that every picture listed in a Multi-Picture (MPO) index lies inside the file.

    Args:
        img: an opened ``PIL.MpoImagePlugin.MpoImageFile``.
        f: the same file opened for reading (its position is changed).
        file_size: bytes.
    """
    base = _mpf_offset(f)
    try:
        entries = img.mpinfo[0xB002]
    except (AttributeError, KeyError, TypeError):
        entries = None
    if base is None or not entries:
        return "multi-picture index unreadable"
    for i, entry in enumerate(entries):
        offset = 0 if i == 0 else entry["DataOffset"] + base
        if offset + entry["Size"] > file_size:
            return (f"truncated: picture {i + 1} of {len(entries)} ends at byte {offset + entry['Size']:,}, "
                    f"the file has {file_size:,}")
    return None


def bmp_problem(img) -> str | None:
    """Refuse run-length encoded BMPs: Pillow pads a truncated RLE stream silently."""
    compression = img.info.get("compression", 0)
    if compression in (1, 2):
        return f"RLE{8 if compression == 1 else 4}-compressed BMP is not read (truncation cannot be detected)"
    return None
