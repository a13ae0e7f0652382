"""Delta frames (pixel format 3, docs/PROTOCOL.md 1.1) for the live tests, written from the protocol
alone: content that changes a little from frame to frame, and delta messages of it, made with the
independent encoder of cw.py (whose apply_delta is the decoder), so that what a client rebuilds is
checked against the frames that were published, not against code under test."""
import os

from cw import HEADER, delta_payload

TILE = 16


def sparse_frames(width: int, height: int, count: int, first: int = 0, side: int = 8):
    """Frames `first`..`first+count-1` of opaque content where each frame changes a small square of
    the one before: a random opaque background, and a square of `side` pixels (at most the frame's)
    that moves 5 pixels right and 3 down a frame (wrapping), painted in a colour of its own each frame."""
    background = bytearray(os.urandom(width * height * 4))
    background[3::4] = b"\xff" * (width * height)
    frames = []
    frame = bytearray(background)
    side = min(side, width, height)
    for n in range(first + count):
        x0, y0 = (5 * n) % (width - side + 1), (3 * n) % (height - side + 1)
        colour = bytes((n * 37 & 255, n * 91 & 255, 255 - (n & 255), 255))
        for y in range(y0, y0 + side):
            frame[(y * width + x0) * 4:(y * width + x0 + side) * 4] = colour * side
        if n >= first:
            frames.append(bytes(frame))
    return frames


def changed_tiles(previous: bytes, current: bytes, width: int, height: int):
    """(x, y, w, h) of every 16-pixel tile, clipped to the frame, whose pixels differ."""
    tiles = []
    for ty in range(0, height, TILE):
        for tx in range(0, width, TILE):
            w, h = min(TILE, width - tx), min(TILE, height - ty)
            rows = ((ty + row) * width + tx for row in range(h))
            if any(previous[p * 4:(p + w) * 4] != current[p * 4:(p + w) * 4] for p in rows):
                tiles.append((tx, ty, w, h))
    return tiles


def pixels_of(frame: bytes, width: int):
    """For cw.delta_payload: a rectangle's w*h*4 bytes of `frame`, rows top first."""
    def pixels(rect) -> bytes:
        x, y, w, h = rect
        return b"".join(frame[(row * width + x) * 4:(row * width + x + w) * 4] for row in range(y, y + h))
    return pixels


def delta_message(rects, frame: bytes, width: int, height: int, sequence: int, micros: int = 1) -> bytes:
    return HEADER.pack(b"CWF1", 3, 0, 32, width, height, sequence, micros) + delta_payload(rects, pixels_of(frame, width))
