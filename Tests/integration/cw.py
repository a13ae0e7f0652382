"""Helpers the Python tests share (Tests/browser imports them too): the v1 frame layout from
docs/PROTOCOL.md, the one encoder and strict decoder of delta frames (section 1.1), and the one copy of
each way to connect, run, wait and drive the CLI, so that every test file means the same by them."""
import asyncio
import contextlib
import functools
import json
import os
import pathlib
import re
import shutil
import socket
import struct
import subprocess
import time
import urllib.request

import pytest
import websockets
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as sync_connect

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


# --- clients and waiting -------------------------------------------------------------------------

MAX_MESSAGE = 64 * 1024 * 1024  # what a test client accepts: large frames, not the 1 MiB websockets allows


def run(coroutine, timeout: float = 120):
    """Runs a test's async scenario under a deadline, so a lost message fails the test instead of hanging it."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


def connect(url: str, max_size: int | None = MAX_MESSAGE, **kwargs):
    """A `websockets` client whose opening and closing handshakes are bounded."""
    return websockets.connect(url, max_size=max_size, open_timeout=10, close_timeout=5, **kwargs)


async def expect_close(ws, code: int, reason_part: str, timeout: float = 10, max_messages: int = 1000):
    """Reads until the server closes `ws`, which it must do with a close frame of `code` whose reason
    contains `reason_part`."""
    with pytest.raises(ConnectionClosed) as closed:
        for _ in range(max_messages):
            await asyncio.wait_for(ws.recv(), timeout)
    assert closed.value.rcvd is not None, "server closed without a close frame"
    assert closed.value.rcvd.code == code, closed.value.rcvd
    assert reason_part in closed.value.rcvd.reason, closed.value.rcvd.reason


@contextlib.contextmanager
def publisher_connection(server, stream: str, max_size: int | None = None):
    """A synchronous publisher of `stream`, yielded once the server's hello has named it publisher."""
    url = f"{server.ws}/streams/{stream}/publish"
    with sync_connect(url, max_size=max_size, open_timeout=10, close_timeout=5) as publisher:
        assert json.loads(publisher.recv(timeout=10))["role"] == "publisher"
        yield publisher


def viewer_entry(server, stream: str):
    """The first viewer's entry in GET /streams for `stream`, or None while it has none."""
    status = stream_status(server.url, stream)
    return status["viewers"][0] if status and status["viewers"] else None


def free_port() -> int:
    """A port nothing listens on now, for a server that must come back on the same port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- the send and receive commands ---------------------------------------------------------------

def _binary() -> str:
    # Imported here: the browser suite imports cw too but loads conftest under another name.
    from conftest import canvaswire_binary
    return canvaswire_binary()


def canvaswire_send(url: str, *args: str, stdin: bytes | None = None, timeout: float = 60) -> dict:
    """Runs `canvaswire send url --json ...` to the end; it must succeed. Returns its JSON summary."""
    result = subprocess.run([_binary(), "send", url, "--json", *args],
                            input=stdin, capture_output=True, timeout=timeout)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def start_receiver(server, stream: str, out: pathlib.Path, *args: str) -> subprocess.Popen:
    """`canvaswire receive` of `stream` into `out`, returned once the server counts it as a viewer, so
    that nothing sent afterwards can be missed."""
    process = subprocess.Popen(
        [_binary(), "receive", f"{server.ws}/streams/{stream}", "--out", str(out), "--json", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    wait_for_viewers(server.url, stream, 1)
    return process


def finish_receiver(receiver: subprocess.Popen) -> dict:
    """Waits for a receiver to end, which it must do successfully; returns its JSON summary."""
    stdout, stderr = receiver.communicate(timeout=60)
    assert receiver.returncode == 0, stderr
    return json.loads(stdout)


def decoded_rgba(path: pathlib.Path) -> bytes:
    """The RGBA bytes an image file decodes to, by Pillow: an independent decoder."""
    from PIL import Image  # here, not at the top: only the tests of image files need Pillow
    return Image.open(path).convert("RGBA").tobytes()


# --- node ----------------------------------------------------------------------------------------

NODE_PATH = "/usr/share/nodejs"  # where Debian's node-ws puts the `ws` package


def node(needs_ws: bool = False) -> str:
    """The node binary; fails the test with what to install when it (or, if `needs_ws`, ws) is missing."""
    binary = shutil.which("node")
    if binary is None:
        pytest.fail("node is not installed (apt-get install nodejs node-ws)")
    if needs_ws and not (pathlib.Path(NODE_PATH) / "ws").is_dir():
        pytest.fail(f"the ws package is not in {NODE_PATH} (apt-get install node-ws)")
    return binary


def node_env() -> dict:
    """The environment in which node's require finds Debian's ws."""
    return {**os.environ, "NODE_PATH": NODE_PATH}


# --- a relay that alters what it forwards --------------------------------------------------------

TAMPERING_HELLO = {"type": "hello", "protocol": 1, "stream": "x", "highWaterMark": 1 << 20, "server": "tampering",
                   "limits": {"maxWidth": 4096, "maxHeight": 4096, "maxPayloadBytes": 1 << 26}}


def tampering_relay(tamper, held: int, policy: str, forward=None):
    """The handler of a `websockets` server that speaks the protocol but holds the first `held` frames
    and forwards them as `tamper(frames)` left them, so a tool that measures relays can be shown to
    notice. `forward(viewer, message)` sends one message on (default: as it is)."""
    viewers = set()

    async def send_as_is(viewer, message):
        await viewer.send(message)

    forward = forward or send_as_is

    async def handler(ws):
        if ws.request.path.endswith("/publish"):
            await ws.send(json.dumps({**TAMPERING_HELLO, "role": "publisher"}))
            frames = []  # the first frames, altered together once they have all arrived
            async for message in ws:
                if frames is not None and isinstance(message, bytes):
                    frames.append(message)
                    if len(frames) < held:
                        continue
                    tamper(frames)
                    outgoing, frames = frames, None
                else:
                    outgoing = [message]
                for out in outgoing:
                    for viewer in list(viewers):
                        await forward(viewer, out)
            return
        await ws.send(json.dumps({**TAMPERING_HELLO, "role": "viewer", "policy": policy}))
        viewers.add(ws)
        await ws.wait_closed()

    return handler


def flip_one_byte(frames):
    """Frame 3 arrives with one payload byte changed, deep inside the payload."""
    message = bytearray(frames[3])
    message[32 + 5000] ^= 0x01
    frames[3] = bytes(message)


def swap_payloads(frames):
    """Frames 3 and 4 arrive under their own headers, each with the other's payload."""
    a, b = frames[3], frames[4]
    frames[3], frames[4] = a[:32] + b[32:], b[:32] + a[32:]
