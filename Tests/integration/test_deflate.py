"""permessage-deflate (RFC 7692) against independent peers: handshakes written by hand and every
window size, messages inflated with Python's zlib, Python `websockets` with compression on as
publisher and viewer, a deflate bomb, a compressed control frame, and one compression per frame
however many viewers share it."""
import asyncio
import json
import os
import struct
import zlib

import pytest
import websockets

from cw import apply_message, make_frame, metric, parse_frame, run
from rawws import BINARY, CLOSE, PING, TEXT, RawWebSocket, raw_frame


def deflate(data: bytes, bits: int = 15) -> bytes:
    """RFC 7692 7.2.1 compression, done by zlib: raw deflate, sync flush, the 00 00 ff ff taken off."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -bits)
    out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def inflate(data: bytes, bits: int = 15) -> bytes:
    return zlib.decompressobj(-bits).decompress(data + b"\x00\x00\xff\xff")


def next_data_frame(ws: RawWebSocket):
    """The next text or binary frame (fin, rsv, opcode, payload), skipping pings."""
    while True:
        frame = ws.recv_frame()
        if frame[2] in (TEXT, BINARY):
            return frame


def next_binary_frame(ws: RawWebSocket):
    """The next binary frame, skipping control messages (hello, publisher, ...) and pings."""
    while True:
        frame = next_data_frame(ws)
        if frame[2] == BINARY:
            return frame


async def next_binary(ws):
    while isinstance(message := await asyncio.wait_for(ws.recv(), 10), str):
        pass
    return message


# --- the handshake -------------------------------------------------------------------------------

OFFERS = [
    ("permessage-deflate", None),
    ("permessage-deflate; client_max_window_bits", None),
    ("permessage-deflate; client_max_window_bits=10", None),
    ("permessage-deflate; server_no_context_takeover", None),
    ("permessage-deflate; client_no_context_takeover; server_no_context_takeover", None),
] + [(f"permessage-deflate; server_max_window_bits={bits}", bits) for bits in range(8, 16)] \
  + [(f"permessage-deflate; server_max_window_bits={bits}; client_max_window_bits={bits}", bits) for bits in (9, 15)]


@pytest.mark.parametrize("offer,window", OFFERS, ids=[offer for offer, _ in OFFERS])
def test_every_window_size_is_agreed_as_rfc_7692_says_and_honoured(server_factory, offer, window):
    server = server_factory("--no-demo")
    ws = RawWebSocket(server.ws + "/echo", extensions=offer)
    answer = [part.strip() for part in ws.headers["sec-websocket-extensions"].split(";")]
    assert answer[0] == "permessage-deflate"
    assert "server_no_context_takeover" in answer and "client_no_context_takeover" in answer
    assert not any(part.startswith("client_max_window_bits") for part in answer), "we never limit the client"
    if window is not None:
        assert f"server_max_window_bits={window}" in answer
    text = ("a canvas frame, " * 4000).encode()
    ws.send_raw_frame(TEXT, deflate(text), rsv=4)
    fin, rsv, opcode, payload = next_data_frame(ws)
    if window == 8:
        assert rsv == 0 and payload == text, "zlib cannot honour an 8-bit window: the answer goes uncompressed"
    else:
        assert rsv == 4, "the echo comes back compressed"
        assert inflate(payload, window or 15) == text, "and inflates within the window the client allowed"
        assert len(payload) < len(text) / 10
    ws.close()


@pytest.mark.parametrize("offer", [
    "permessage-deflate; server_max_window_bits=7",
    "permessage-deflate; server_max_window_bits=16",
    "permessage-deflate; client_max_window_bits=08",
    "permessage-deflate; mystery_parameter",
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    "x-webkit-deflate-frame",
])
def test_an_offer_the_rfc_forbids_is_declined(server_factory, offer):
    server = server_factory("--no-demo")
    ws = RawWebSocket(server.ws + "/echo", extensions=offer)
    assert "sec-websocket-extensions" not in ws.headers
    ws.send_raw_frame(TEXT, b"plain")
    assert next_data_frame(ws)[1:] == (0, TEXT, b"plain")
    ws.close()


def test_auto_agrees_with_viewers_but_not_publishers(server_factory):
    server = server_factory("--no-demo")
    assert "sec-websocket-extensions" not in RawWebSocket(server.ws + "/streams/x/publish", extensions="permessage-deflate").headers
    assert "sec-websocket-extensions" in RawWebSocket(server.ws + "/streams/x", extensions="permessage-deflate").headers
    on = server_factory("--no-demo", "--deflate", "on")
    assert "sec-websocket-extensions" in RawWebSocket(on.ws + "/streams/x/publish", extensions="permessage-deflate").headers


def test_deflate_off_never_agrees(server_factory):
    server = server_factory("--no-demo", "--deflate", "off")
    ws = RawWebSocket(server.ws + "/echo", extensions="permessage-deflate")
    assert "sec-websocket-extensions" not in ws.headers
    ws.close()


# --- what crosses the wire -------------------------------------------------------------------------

def test_a_compressed_control_frame_fails_the_connection_with_1002(server_factory):
    server = server_factory("--no-demo")
    ws = RawWebSocket(server.ws + "/echo", extensions="permessage-deflate")
    ws.sock.sendall(raw_frame(PING, deflate(b"ping"), rsv=4))
    while True:
        fin, rsv, opcode, payload = ws.recv_frame()
        if opcode == CLOSE:
            break
    assert struct.unpack("!H", payload[:2])[0] == 1002
    ws.expect_eof()


def test_a_message_that_is_not_deflate_data_fails_with_1007(server_factory):
    server = server_factory("--no-demo")
    ws = RawWebSocket(server.ws + "/echo", extensions="permessage-deflate")
    ws.send_raw_frame(BINARY, b"\xff\xff\xff\xff not deflate", rsv=4)
    while True:
        fin, rsv, opcode, payload = ws.recv_frame()
        if opcode == CLOSE:
            break
    assert struct.unpack("!H", payload[:2])[0] == 1007
    ws.expect_eof()


@pytest.mark.parametrize("path", ["/echo", "/streams/bomb/publish"])
def test_a_deflate_bomb_is_refused_at_the_limit_without_inflating_it(server_factory, path):
    server = server_factory("--no-demo", "--max-payload", str(1 << 20), "--deflate", "on")  # on: publishers too
    before = server.rss_bytes()
    bomb = deflate(b"\x00" * (256 << 20), 15)  # 256 MiB of zeros in about 250 KB
    assert len(bomb) < 300_000
    ws = RawWebSocket(server.ws + path, extensions="permessage-deflate")
    if path != "/echo":
        ws.recv_frame()  # the hello
        bomb = deflate(make_frame(1024, 256, 0, b"\x00" * (1024 * 256 * 4))[:32] + b"\x00" * (256 << 20))
    ws.send_raw_frame(BINARY, bomb, rsv=4)
    while True:
        fin, rsv, opcode, payload = ws.recv_frame()
        if opcode == CLOSE:
            break
    assert struct.unpack("!H", payload[:2])[0] == 1009, payload
    assert server.rss_bytes() - before < 64 << 20, "the server inflated no more than the limit and a chunk"


def test_python_websockets_with_compression_as_publisher_and_viewers(server_factory):
    """Independent peers that compress: every frame arrives exactly, raw and as deltas."""
    server = server_factory("--no-demo", "--deflate", "on")
    width, height = 160, 90
    base = bytearray(os.urandom(width * height * 4))
    frames = []
    for sequence in range(10):
        base[sequence * 400:sequence * 400 + 400] = bytes(400)
        frames.append(bytes(base))

    async def scenario():
        connect = lambda url: websockets.connect(url, max_size=None, compression="deflate")
        async with connect(server.ws + "/streams/z?policy=all") as raw, \
                connect(server.ws + "/streams/z?policy=all&encoding=delta") as delta:
            for viewer in (raw, delta):
                assert viewer.response.headers["Sec-WebSocket-Extensions"].startswith("permessage-deflate")
                await viewer.recv(), await viewer.recv()
            async with connect(server.ws + "/streams/z/publish") as publisher:
                await publisher.recv()
                for sequence, pixels in enumerate(frames):
                    await publisher.send(make_frame(width, height, sequence, pixels))
                held = None
                for sequence, pixels in enumerate(frames):
                    message = await next_binary(raw)
                    assert parse_frame(message)["payload"] == pixels
                    message = await next_binary(delta)
                    held = apply_message(held, message)
                    assert bytes(held) == pixels

    run(scenario())


def test_each_frame_is_compressed_once_however_many_viewers_share_it(server_factory):
    server = server_factory("--no-demo", "--deflate", "on")
    viewers = [RawWebSocket(server.ws + "/streams/shared?policy=all", extensions="permessage-deflate") for _ in range(5)]
    for viewer in viewers:
        assert next_data_frame(viewer)[2] == TEXT  # hello
        assert next_data_frame(viewer)[2] == TEXT  # publisher
    publisher = RawWebSocket(server.ws + "/streams/shared/publish")
    next_data_frame(publisher)
    frames = [make_frame(64, 64, sequence, bytes([sequence]) * (64 * 64 * 4)) for sequence in range(8)]
    for message in frames:
        publisher.send_frame(BINARY, message)
    payloads = set()
    for viewer in viewers:
        for message in frames:
            fin, rsv, opcode, payload = next_binary_frame(viewer)
            assert rsv == 4 and inflate(payload) == message
            payloads.add(payload)
    assert len(payloads) == len(frames), "every viewer got the same compressed bytes"
    assert metric(server.url, "canvaswire_messages_compressed_total", "shared") == len(frames)
    for ws in viewers + [publisher]:
        ws.close()


def test_auto_compresses_deltas_and_small_frames_that_shrink_but_not_noise(server_factory):
    server = server_factory("--no-demo")  # --deflate auto
    viewer = RawWebSocket(server.ws + "/streams/auto?policy=all&encoding=delta", extensions="permessage-deflate")
    next_data_frame(viewer), next_data_frame(viewer)
    publisher = RawWebSocket(server.ws + "/streams/auto/publish")
    next_data_frame(publisher)
    smooth = bytes(range(256)) * (64 * 64 * 4 // 256)
    publisher.send_frame(BINARY, make_frame(64, 64, 0, smooth))
    fin, rsv, opcode, first = next_binary_frame(viewer)
    assert rsv == 4, "a small frame that shrinks is compressed"
    noise = os.urandom(64 * 64 * 4)
    publisher.send_frame(BINARY, make_frame(64, 64, 1, noise))
    publisher.send_frame(BINARY, make_frame(64, 64, 2, os.urandom(64 * 64 * 4)))
    second, third = next_binary_frame(viewer), next_binary_frame(viewer)
    assert second[1] == 0 and third[1] == 0, "noise that does not shrink goes uncompressed"
    assert second[3][32:] == noise, "and whole"
    assert metric(server.url, "canvaswire_messages_compressed_total", "auto") == 2, \
        "the second frame was compressed to judge it; on that verdict the third was not even tried"
    for ws in (viewer, publisher):
        ws.close()


VERDICT_LASTS = 32  # messages of a kind, the one judged included (CompressionAdvisor.verdictLasts; PROTOCOL.md)


@pytest.mark.parametrize("width,height,judged_by", [(64, 64, "compressing it"), (512, 256, "a sample")],
                         ids=["small-16KiB", "large-512KiB"])
def test_auto_lets_a_verdict_stand_for_32_messages_then_judges_again(server_factory, width, height, judged_by):
    """A verdict of `--deflate auto` is seen from outside: screen-like frames sent uncompressed for as
    long as a verdict on noise stands, and compressed again from the first message judged afresh. A
    small message is judged by compressing it (counted in canvaswire_messages_compressed_total), a
    large one by deflating a sample (not counted)."""
    server = server_factory("--no-demo")  # --deflate auto
    viewer = RawWebSocket(server.ws + "/streams/verdict?policy=all", extensions="permessage-deflate")
    next_data_frame(viewer), next_data_frame(viewer)
    publisher = RawWebSocket(server.ws + "/streams/verdict/publish")
    next_data_frame(publisher)
    size = width * height * 4
    judging_compresses = judged_by == "compressing it"

    def smooth(n: int) -> bytes:
        row = bytes((i + n) & 255 for i in range(256))
        return row * (size // 256)

    def relay(sequence: int, pixels: bytes):
        """Publishes one frame; the viewer's copy of it: (compressed, pixels), and the counter after it."""
        message = make_frame(width, height, sequence, pixels)
        publisher.send_frame(BINARY, message)
        fin, rsv, opcode, payload = next_binary_frame(viewer)
        assert fin and rsv in (0, 4), rsv
        received = inflate(payload) if rsv == 4 else payload
        assert received == message, f"frame {sequence} arrived altered"
        return rsv == 4, metric(server.url, "canvaswire_messages_compressed_total", "verdict")

    sequence = 0
    # Noise: not worth compressing; the verdict for its kind stands for the next 31 messages.
    compressed, count = relay(sequence, os.urandom(size))
    assert not compressed and count == (1 if judging_compresses else 0), (compressed, count)
    for sequence in range(1, VERDICT_LASTS):
        compressed, count = relay(sequence, smooth(sequence))
        assert not compressed, f"frame {sequence} was compressed while the verdict on noise stood"
        assert count == (1 if judging_compresses else 0), f"frame {sequence}: {count} compressions"
    # The 32nd message after the noise is judged afresh: screen content is compressed again ...
    sequence = VERDICT_LASTS
    compressed, count = relay(sequence, smooth(sequence))
    assert compressed, "the verdict was not renewed after 32 messages"
    assert count == (2 if judging_compresses else 1), count
    compressed, count = relay(sequence + 1, smooth(sequence + 1))
    assert compressed and count == (3 if judging_compresses else 2), (compressed, count)
    # ... and the verdict turns with the first message that does not shrink (compressed to judge it,
    # sent whole), which then stands for the next ones however well they would compress.
    compressed, count = relay(sequence + 2, os.urandom(size))
    assert not compressed and count == (4 if judging_compresses else 3), (compressed, count)
    compressed, count = relay(sequence + 3, smooth(sequence + 3))
    assert not compressed and count == (4 if judging_compresses else 3), (compressed, count)
    for ws in (viewer, publisher):
        ws.close()


def test_the_client_library_inflates_a_server_that_keeps_its_context(tmp_path):
    """Python websockets keeps its compression context between messages unless asked not to; the
    client library (here through `canvaswire bench --echo`, which checks every byte) must keep its
    inflate window too. The bench payloads repeat a 32 KiB table, so later messages refer back into
    earlier ones."""
    import subprocess
    import sys
    from conftest import canvaswire_binary
    script = tmp_path / "echo.py"
    script.write_text(
        "import asyncio\n"
        "from websockets.asyncio.server import serve\n"
        "async def echo(ws):\n"
        "    async for message in ws:\n"
        "        await ws.send(message)\n"
        "async def main():\n"
        "    async with serve(echo, '127.0.0.1', 0, max_size=None) as server:\n"
        "        print(server.sockets[0].getsockname()[1], flush=True)\n"
        "        await server.serve_forever()\n"
        "asyncio.run(main())\n")
    server = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        bench = subprocess.run(
            [canvaswire_binary(), "bench", f"ws://127.0.0.1:{port}/echo", "--echo", "--frames", "40", "--size", "64x64", "--json"],
            capture_output=True, text=True, timeout=120)
        assert bench.returncode == 0, bench.stderr
        echo = json.loads(bench.stdout)["runs"][0]["echo"]
        assert echo["mismatched"] == 0 and echo["messages"] == 40, echo
    finally:
        server.kill()
        server.wait()
