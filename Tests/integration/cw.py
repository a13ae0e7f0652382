"""Helpers a test client needs: the v1 frame layout from docs/PROTOCOL.md, and the one encoder and
strict decoder of delta frames (section 1.1) every test uses."""
import functools
import json
import os
import re
import struct
import time
import urllib.request

HEADER = struct.Struct("<4sBBHIIQQ")


def make_frame(width: int, height: int, sequence: int, payload: bytes, fmt: int = 1) -> bytes:
    micros = int(time.time() * 1_000_000)
    return HEADER.pack(b"CWF1", fmt, 0, 32, width, height, sequence, micros) + payload


def parse_frame(message: bytes):
    magic, fmt, flags, header_len, width, height, sequence, micros = HEADER.unpack_from(message)
    assert magic == b"CWF1" and flags == 0 and header_len >= 32, message[:32]
    return {"format": fmt, "width": width, "height": height, "sequence": sequence,
            "micros": micros, "payload": message[header_len:]}


def random_rgba(width: int, height: int) -> bytes:
    return os.urandom(width * height * 4)


async def read_control(ws, wanted: str, timeout: float = 10):
    """Reads messages until a control message of type `wanted`; returns it and the frames seen before it."""
    import asyncio
    frames = []
    while True:
        message = await asyncio.wait_for(ws.recv(), timeout)
        if isinstance(message, str):
            control = json.loads(message)
            if control["type"] == wanted:
                return control, frames
        else:
            frames.append(parse_frame(message))


async def next_frame(ws, timeout: float = 10):
    import asyncio
    while True:
        message = await asyncio.wait_for(ws.recv(), timeout)
        if isinstance(message, bytes):
            return parse_frame(message)


def expected_pattern(width: int, height: int, n: int) -> bytes:
    """Frame n of the documented test pattern (send.html and the samples): R = (x + n) & 255,
    G = (y * 2 + n) & 255, B = (x ^ y) & 255, A = 255. Written out pixel by pixel on purpose, as an
    independent check of the faster versions in the code under test."""
    return _pattern(width, height, n & 255)  # every channel is taken mod 256, so n repeats every 256


@functools.lru_cache(maxsize=600)
def _pattern(width: int, height: int, n: int) -> bytes:
    out = bytearray()
    for y in range(height):
        for x in range(width):
            out += bytes(((x + n) & 255, (y * 2 + n) & 255, (x ^ y) & 255, 255))
    return bytes(out)


def stream_status(http_url: str, name: str):
    """The stream's entry in GET /streams, or None while it does not exist."""
    import urllib.request
    with urllib.request.urlopen(http_url + "/streams", timeout=10) as response:
        streams = json.loads(response.read())["streams"]
    return next((s for s in streams if s["name"] == name), None)


def wait_until(condition, timeout: float = 20, interval: float = 0.05, message: str = "condition"):
    """Polls `condition` until it returns something truthy; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


def wait_for_viewers(http_url: str, name: str, count: int, timeout: float = 20):
    """Waits until stream `name` has at least `count` viewers connected (GET /streams)."""
    def ready():
        stream = stream_status(http_url, name)
        return stream if stream and len(stream["viewers"]) >= count else None
    return wait_until(ready, timeout, message=f"{count} viewer(s) on stream {name!r}")


def apply_message(held, message: bytes) -> bytes:
    """The frame a viewer holds after `message` (docs/PROTOCOL.md 1.1): a full RGBA8 frame replaces it,
    a delta (format 3) patches it through apply_delta, which checks every rule of the delta format."""
    frame = parse_frame(message)
    if frame["format"] == 1:
        return frame["payload"]
    assert frame["format"] == 3, frame["format"]
    assert held is not None and len(held) == frame["width"] * frame["height"] * 4, "a delta needs the full frame first"
    return apply_delta(held, frame["payload"], frame["width"], frame["height"])


def apply_delta(frame: bytes, payload: bytes, width: int, height: int) -> bytes:
    """The frame a delta payload (pixel format 3) gives applied to `frame`, the width x height frame the
    receiver holds. Written from docs/PROTOCOL.md 1.1, row by row, and asserts every rule on the way:
    each rectangle has w, h >= 1, lies inside the frame, overlaps no earlier one and carries all its
    w*h*4 bytes, and nothing follows the last (rectCount may be 0)."""
    assert frame is not None and len(frame) == width * height * 4, "a delta applies to a frame of its own size"
    assert len(payload) >= 4, "a delta without its rectangle count"
    (count,) = struct.unpack_from("<I", payload)
    result, offset = bytearray(frame), 4
    covered = bytearray(width * height)  # 1 for every pixel an earlier rectangle wrote
    for index in range(count):
        assert offset + 8 <= len(payload), f"rectangle {index} is cut short"
        x, y, w, h = struct.unpack_from("<HHHH", payload, offset)
        offset += 8
        assert w >= 1 and h >= 1 and x + w <= width and y + h <= height, f"rectangle {index} ({x},{y} {w}x{h})"
        assert offset + w * h * 4 <= len(payload), f"rectangle {index}'s pixels are cut short"
        for row in range(y, y + h):
            start = row * width + x
            assert covered.find(1, start, start + w) == -1, f"rectangle {index} overlaps an earlier one"
            covered[start:start + w] = b"\x01" * w
            result[start * 4:(start + w) * 4] = payload[offset:offset + w * 4]
            offset += w * 4
    assert offset == len(payload), "bytes after the last rectangle"
    return bytes(result)


def delta_payload(rects, pixels_of) -> bytes:
    """A format-3 payload: u32 count, then for each rectangle (x, y, w, h) its four u16 and the bytes
    `pixels_of(rect)` gives (its w*h*4 bytes of RGBA, rows top first, for a valid delta). It writes
    whatever it is given, so a test can build a malformed delta too."""
    out = bytearray(struct.pack("<I", len(rects)))
    for rect in rects:
        out += struct.pack("<HHHH", *rect) + pixels_of(rect)
    return bytes(out)


def metric(http_url: str, name: str, stream: str) -> float:
    """A per-stream counter or gauge from GET /metrics (0 when the stream has none)."""
    with urllib.request.urlopen(http_url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    match = re.search(rf'^{name}\{{stream="{stream}"\}} (\S+)$', text, re.M)
    return float(match.group(1)) if match else 0.0
