#!/usr/bin/env python3
"""Test PNGs with independently computed RGBA8, for the CanvasWirePNG tests.

Contains a small pure-Python PNG writer (zlib + struct, every colour type and bit depth, Adam7,
all five row filters, split IDATs, extra chunks) so the tests control every bit that libpng sees,
and computes the expected RGBA8 straight from the sample values, not from any decoder:
sub-8-bit gray is bit-replicated (v * 255 / (2^d - 1)), 16-bit samples keep the high byte, tRNS
matches the raw stored value, and images without alpha get 255. No gamma, no colour management.

    python3 tools/pngcases.py OUTDIR

writes OUTDIR/NAME.png, OUTDIR/NAME.rgba (the expected pixels) and OUTDIR/manifest.json. When
Pillow is installed, each case is also decoded with Pillow and the manifest records whether Pillow
agrees with the expected pixels (where Pillow's conversions are known to keep stored values).
"""
import json
import os
import random
import struct
import sys
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
# (x0, y0, dx, dy) for the seven Adam7 passes.
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def chunk(kind, data):
    """One PNG chunk: length, type, data, CRC over type and data."""
    kind = kind.encode("ascii") if isinstance(kind, str) else kind
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_row(pixels, bit_depth):
    """Packs a row of sample tuples at the given depth, MSB first, padded to a whole byte."""
    if bit_depth == 8:
        return bytes(s for p in pixels for s in p)
    if bit_depth == 16:
        return b"".join(struct.pack(">H", s) for p in pixels for s in p)
    out = bytearray()
    acc = 0
    bits = 0
    for p in pixels:
        for s in p:
            acc = (acc << bit_depth) | s
            bits += bit_depth
            if bits == 8:
                out.append(acc)
                acc = 0
                bits = 0
    if bits:
        out.append(acc << (8 - bits))
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_row(ftype, row, prev, bpp):
    out = bytearray([ftype])
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i] if prev is not None else 0
        c = prev[i - bpp] if prev is not None and i >= bpp else 0
        if ftype == 0:
            pred = 0
        elif ftype == 1:
            pred = a
        elif ftype == 2:
            pred = b
        elif ftype == 3:
            pred = (a + b) // 2
        else:
            pred = paeth(a, b, c)
        out.append((x - pred) & 0xFF)
    return bytes(out)


def image_data(pixels, width, height, color_type, bit_depth, interlace, filters):
    """The uncompressed IDAT stream: filtered scanlines, per Adam7 pass when interlaced."""
    bpp = max(1, CHANNELS[color_type] * bit_depth // 8)
    passes = ADAM7 if interlace else ((0, 0, 1, 1),)
    out = bytearray()
    row_index = 0
    for x0, y0, dx, dy in passes:
        xs = range(x0, width, dx)
        if len(xs) == 0:
            continue
        prev = None
        for y in range(y0, height, dy):
            row = pack_row([pixels[y][x] for x in xs], bit_depth)
            out += filter_row(filters[row_index % len(filters)], row, prev, bpp)
            prev = row
            row_index += 1
    return bytes(out)


def write_png(pixels, width, height, color_type, bit_depth, *, interlace=False, palette=None, trns=None,
              filters=(0, 1, 2, 3, 4), level=6, idat_pieces=1, before_idat=(), after_idat=(), ihdr=None,
              compressed=None):
    """Builds a PNG file. `pixels[y][x]` is a tuple of stored sample values (palette index for type 3)."""
    if ihdr is None:
        ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 1 if interlace else 0)
    out = SIGNATURE + chunk("IHDR", ihdr)
    for kind, data in before_idat:
        out += chunk(kind, data)
    if palette is not None:
        out += chunk("PLTE", bytes(c for rgb in palette for c in rgb))
    if trns is not None:
        if color_type == 3:
            out += chunk("tRNS", bytes(trns))
        elif color_type == 0:
            out += chunk("tRNS", struct.pack(">H", trns))
        else:
            out += chunk("tRNS", struct.pack(">HHH", *trns))
    if compressed is None:
        compressed = zlib.compress(image_data(pixels, width, height, color_type, bit_depth, interlace, filters), level)
    step = max(1, -(-len(compressed) // idat_pieces))
    for start in range(0, len(compressed), step):
        out += chunk("IDAT", compressed[start:start + step])
    for kind, data in after_idat:
        out += chunk(kind, data)
    return out + chunk("IEND", b"")


def to8(value, bit_depth):
    if bit_depth == 16:
        return value >> 8
    if bit_depth == 8:
        return value
    return value * 255 // ((1 << bit_depth) - 1)


def expected_rgba(pixels, color_type, bit_depth, palette=None, trns=None):
    out = bytearray()
    for row in pixels:
        for p in row:
            if color_type == 0:
                g = to8(p[0], bit_depth)
                out += bytes((g, g, g, 0 if trns is not None and p[0] == trns else 255))
            elif color_type == 2:
                alpha = 0 if trns is not None and tuple(p) == tuple(trns) else 255
                out += bytes([to8(s, bit_depth) for s in p] + [alpha])
            elif color_type == 3:
                r, g, b = palette[p[0]]
                alpha = trns[p[0]] if trns is not None and p[0] < len(trns) else 255
                out += bytes((r, g, b, alpha))
            elif color_type == 4:
                g = to8(p[0], bit_depth)
                out += bytes((g, g, g, to8(p[1], bit_depth)))
            else:
                out += bytes(to8(s, bit_depth) for s in p)
    return bytes(out)


def random_pixels(rng, width, height, channels, maximum):
    return [[tuple(rng.randint(0, maximum) for _ in range(channels)) for _ in range(width)] for _ in range(height)]


def make_case(rng, width, height, color_type, bit_depth, interlace, with_trns=False, **extra):
    maximum = (1 << bit_depth) - 1
    palette = trns = None
    if color_type == 3:
        count = rng.randint(1, 1 << bit_depth)
        palette = [tuple(rng.randint(0, 255) for _ in range(3)) for _ in range(count)]
        pixels = random_pixels(rng, width, height, 1, count - 1)
        if with_trns:
            trns = [rng.randint(0, 255) for _ in range(rng.randint(1, count))]
    else:
        pixels = random_pixels(rng, width, height, CHANNELS[color_type], maximum)
        if with_trns:
            # Use a stored value that occurs, so some pixels really become transparent.
            first = pixels[0][0]
            trns = first[0] if color_type == 0 else tuple(first)
    png = write_png(pixels, width, height, color_type, bit_depth, interlace=interlace, palette=palette, trns=trns,
                    **extra)
    return png, expected_rgba(pixels, color_type, bit_depth, palette, trns)


def valid_cases():
    """Yields (name, png, rgba, width, height, pillow_comparable)."""
    rng = random.Random(20240611)
    sizes = ((1, 1), (7, 3), (3, 7), (33, 17), (64, 5))
    for color_type, depths in DEPTHS.items():
        for bit_depth in depths:
            for interlace in (False, True):
                trns_options = (False, True) if color_type in (0, 2, 3) else (False,)
                for with_trns in trns_options:
                    for width, height in sizes:
                        name = "ct%d_d%d_%s%s_%dx%d" % (color_type, bit_depth, "adam7" if interlace else "flat",
                                                        "_trns" if with_trns else "", width, height)
                        png, rgba = make_case(rng, width, height, color_type, bit_depth, interlace, with_trns)
                        yield name, png, rgba, width, height, pillow_keeps_values(color_type, bit_depth, with_trns)
    # Chunk layouts: ancillary chunks before and after IDAT, many IDATs, an empty IDAT, a private chunk.
    ancillary = (("gAMA", struct.pack(">I", 45455)), ("sRGB", b"\x00"), ("tEXt", b"Comment\x00hello"),
                 ("pHYs", struct.pack(">IIB", 2835, 2835, 1)), ("prVt", b"private data"))
    png, rgba = make_case(rng, 19, 11, 6, 8, False, before_idat=ancillary, after_idat=(("tEXt", b"k\x00v"),))
    yield "layout_ancillary_chunks", png, rgba, 19, 11, True
    png, rgba = make_case(rng, 23, 9, 2, 8, True, idat_pieces=10_000)
    yield "layout_one_byte_idats", png, rgba, 23, 9, True
    png, rgba = make_case(rng, 17, 13, 3, 8, False, with_trns=True, idat_pieces=7,
                          before_idat=(("gAMA", struct.pack(">I", 100000)),))
    yield "layout_palette_many_idats_gama", png, rgba, 17, 13, True
    # An iCCP with a garbage profile must be ignored: no colour management.
    png, rgba = make_case(rng, 9, 9, 2, 8, False,
                          before_idat=(("iCCP", b"junk\x00\x00" + zlib.compress(b"not a profile")),))
    yield "layout_iccp_ignored", png, rgba, 9, 9, True
    for level in (0, 9):
        png, rgba = make_case(rng, 40, 20, 6, 16, True, level=level)
        yield "zlib_level%d" % level, png, rgba, 40, 20, True
    for ftype in range(5):
        png, rgba = make_case(rng, 31, 7, 2, 8, False, filters=(ftype,))
        yield "filter%d_only" % ftype, png, rgba, 31, 7, True


def pillow_keeps_values(color_type, bit_depth, with_trns):
    """Whether Pillow's convert('RGBA') keeps stored values exactly, so it can vouch for our expectation."""
    if bit_depth == 16 and color_type in (0, 4):
        return False  # Pillow reads 16-bit gray as I;16 and clips instead of keeping the high byte.
    if color_type == 0 and bit_depth in (2, 4) and with_trns:
        return False  # Pillow compares the raw tRNS value against the already scaled 8-bit gray.
    if bit_depth == 16 and with_trns:
        return False  # Pillow compares the 16-bit tRNS colour against the reduced 8-bit pixels.
    return True


def corrupt_cases():
    """Yields (name, png, expected error code)."""
    rng = random.Random(7)
    pixels = random_pixels(rng, 8, 8, 3, 255)

    def bad_ihdr(width, height, bit_depth, color_type):
        ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
        return write_png(pixels, 8, 8, 2, 8, ihdr=ihdr)

    yield "ihdr_zero_width", bad_ihdr(0, 8, 8, 2), "malformed"
    yield "ihdr_zero_height", bad_ihdr(8, 0, 8, 2), "malformed"
    yield "ihdr_bit_depth_3", bad_ihdr(8, 8, 3, 2), "malformed"
    yield "ihdr_color_type_5", bad_ihdr(8, 8, 8, 5), "malformed"
    yield "ihdr_palette_depth_16", bad_ihdr(8, 8, 16, 3), "malformed"
    ihdr = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 2)
    yield "ihdr_interlace_2", write_png(pixels, 8, 8, 2, 8, ihdr=ihdr), "malformed"
    yield "broken_zlib", write_png(pixels, 8, 8, 2, 8, compressed=b"\x78\x9c" + bytes(rng.randrange(256) for _ in range(60))), "malformed"
    good = zlib.compress(image_data(pixels, 8, 8, 2, 8, False, (0,)))
    yield "zlib_stream_cut_short", write_png(pixels, 8, 8, 2, 8, compressed=good[: len(good) // 2]), "malformed"
    yield "bad_filter_type", write_png(pixels, 8, 8, 2, 8, compressed=zlib.compress(b"\x07" * (8 * 25))), "malformed"
    yield "palette_missing", write_png([[(0,)] * 8] * 8, 8, 8, 3, 8), "malformed"
    # A decompression bomb: 50000x50000 RGBA declared, a few bytes of IDAT.
    ihdr = struct.pack(">IIBBBBB", 50000, 50000, 8, 6, 0, 0, 0)
    yield "bomb_50000x50000", write_png(None, 0, 0, 6, 8, ihdr=ihdr, compressed=zlib.compress(b"\x00" * 4096)), "tooLarge"
    ihdr = struct.pack(">IIBBBBB", 16000, 16000, 8, 6, 0, 0, 0)
    yield "bomb_over_payload", write_png(None, 0, 0, 6, 8, ihdr=ihdr, compressed=zlib.compress(b"\x00" * 4096)), "tooLarge"


def pillow_rgba(path):
    from PIL import Image
    with Image.open(path) as image:
        image.load()
        return image.convert("RGBA").tobytes()


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: pngcases.py OUTDIR\n")
        return 2
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)
    try:
        import PIL  # noqa: F401
        pillow = True
    except ImportError:
        pillow = False
    manifest = {"pillow": pillow, "valid": [], "corrupt": []}
    for name, png, rgba, width, height, comparable in valid_cases():
        with open(os.path.join(outdir, name + ".png"), "wb") as f:
            f.write(png)
        with open(os.path.join(outdir, name + ".rgba"), "wb") as f:
            f.write(rgba)
        entry = {"name": name, "width": width, "height": height, "pillow": "not installed"}
        if pillow:
            if not comparable:
                entry["pillow"] = "not comparable"
            else:
                try:
                    got = pillow_rgba(os.path.join(outdir, name + ".png"))
                    entry["pillow"] = "match" if got == rgba else "mismatch"
                except Exception as error:  # Pillow cannot read it: record, do not fail here.
                    entry["pillow"] = "unreadable: %s" % error
        manifest["valid"].append(entry)
    for name, png, code in corrupt_cases():
        with open(os.path.join(outdir, name + ".png"), "wb") as f:
            f.write(png)
        manifest["corrupt"].append({"name": name, "code": code})
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
