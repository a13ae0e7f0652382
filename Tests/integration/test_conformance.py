"""RFC 6455 conformance of `canvaswire serve`'s WebSocket endpoints, at the frame level, with the raw
client of rawws.py (every byte and every write under the test's control)."""
import json
import os
import struct

import pytest

from cw import make_frame, parse_frame, random_rgba
from rawws import BINARY, CLOSE, CONT, PING, PONG, TEXT, is_server_control, raw_connections

@pytest.fixture
def raw(server_factory):
    """`raw(path)` opens a raw connection to one server, its hello read so tests start clean; every one
    is closed at the end."""
    with raw_connections(server_factory("--no-demo")) as open_:
        yield open_


ENDPOINTS = ["/echo", "/streams/x/publish", "/streams/x"]


# --- valid traffic -------------------------------------------------------------------------------

def test_fragmented_text_with_interleaved_pings_is_echoed_whole(raw):
    ws = raw("/echo")
    text = "héllo wörld, ünïcödé 🎨".encode()
    cut = text.index("🎨".encode()) + 2  # splits the 4-byte character across fragments: valid per RFC 6455
    ws.send_frame(TEXT, text[:5], fin=False)
    ws.send_frame(PING, b"first")
    ws.send_frame(CONT, text[5:cut], fin=False)
    ws.send_frame(CONT, b"", fin=False)          # empty fragments are legal
    ws.send_frame(PING, b"second")
    ws.send_frame(CONT, text[cut:], fin=True)
    opcode, message = ws.recv_message()
    assert (opcode, message) == (TEXT, text)
    assert ws.pongs == [b"first", b"second"], "each ping is answered, in order, in the middle of the message"


def test_fragmented_binary_with_interleaved_pings_is_echoed_whole(raw):
    ws = raw("/echo")
    blob = os.urandom(200_000)
    cuts = [0, 1, 1000, 65535, 65536 + 70000, len(blob)]  # 1-byte, 7-bit, 16-bit and 64-bit lengths
    for i, (start, end) in enumerate(zip(cuts, cuts[1:])):
        ws.send_frame(BINARY if i == 0 else CONT, blob[start:end], fin=end == len(blob))
        if end != len(blob):
            ws.send_frame(PING, str(i).encode())
    opcode, message = ws.recv_message()
    assert opcode == BINARY and message == blob
    assert ws.pongs == [str(i).encode() for i in range(len(cuts) - 2)]
    # A second message on the same connection: the reassembly state was reset.
    ws.send_frame(BINARY, b"\x00\x01")
    assert ws.recv_message() == (BINARY, b"\x00\x01")


def test_fragmented_frame_from_a_publisher_reaches_a_viewer_intact(raw):
    viewer = raw("/streams/frag?policy=all")
    publisher = raw("/streams/frag/publish")
    payload = random_rgba(33, 17)
    message = make_frame(33, 17, 7, payload)
    # Split inside the 32-byte header too, and ping between fragments.
    cuts = [0, 3, 20, 32, 33, 1000, len(message)]
    for i, (start, end) in enumerate(zip(cuts, cuts[1:])):
        publisher.send_frame(BINARY if i == 0 else CONT, message[start:end], fin=end == len(message))
        publisher.send_frame(PING, b"p%d" % i)
    end = json.dumps({"type": "end"}).encode()
    publisher.send_frame(TEXT, end[:4], fin=False)
    publisher.send_frame(CONT, end[4:], fin=True)
    opcode, received = viewer.recv_message()
    assert opcode == BINARY
    frame = parse_frame(received)
    assert (frame["width"], frame["height"], frame["sequence"], frame["payload"]) == (33, 17, 7, payload)
    opcode, control = viewer.recv_message()
    end = json.loads(control)
    assert opcode == TEXT and (end["type"], end["lastSequence"]) == ("end", 7)
    # Pongs carry the pings' payloads, in order, on the publisher's connection.
    for i in range(len(cuts) - 1):
        fin, rsv, op, data = publisher.recv_frame()
        assert (op, data) == (PONG, b"p%d" % i)


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("payload", [b"", b"ping!", bytes(range(125))], ids=["empty", "short", "125-bytes"])
def test_ping_is_answered_with_a_pong_carrying_the_same_payload(raw, path, payload):
    ws = raw(path)
    ws.send_frame(PING, payload)
    while True:
        fin, rsv, opcode, data = ws.recv_frame()
        if opcode == TEXT and is_server_control(data):
            continue
        break
    assert (fin, rsv, opcode, data) == (True, 0, PONG, payload)


def test_unsolicited_pong_is_ignored(raw):
    ws = raw("/echo")
    ws.send_frame(PONG, b"unsolicited")
    ws.send_frame(TEXT, b"still here")
    assert ws.recv_message() == (TEXT, b"still here")


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("code", [1000, 1001, 3000, 4999])
def test_close_is_answered_with_the_same_code(raw, path, code):
    ws = raw(path)
    ws.send_frame(CLOSE, ws.close_frame_payload(code, "bye"))
    while True:
        fin, rsv, opcode, payload = ws.recv_frame()
        if opcode == CLOSE:
            break
        assert opcode == TEXT and is_server_control(payload), (opcode, payload)
    assert struct.unpack("!H", payload[:2])[0] == code
    ws.expect_eof()  # the server ends the TCP connection after the handshake


def test_close_without_a_code_is_answered_and_the_connection_ends(raw):
    ws = raw("/echo")
    ws.send_frame(CLOSE, b"")
    fin, rsv, opcode, payload = ws.recv_frame()
    assert opcode == CLOSE and payload in (b"", struct.pack("!H", 1000))
    ws.expect_eof()


# --- broken traffic ------------------------------------------------------------------------------

def data_opcode(path: str) -> int:
    """A data frame each endpoint accepts: viewers take no binary messages, so they get text."""
    return TEXT if path.startswith("/streams/x") and not path.endswith("publish") else BINARY


def harmless(path: str) -> bytes:
    """A complete message the endpoint accepts; its first bytes are a valid start of one too."""
    if data_opcode(path) == TEXT:
        return b'{"type":"nothing"}'
    return make_frame(1, 1, 0, b"\x00\x00\x00\xff")  # a publisher checks the header as it arrives


VIOLATIONS = {
    "reserved-data-opcode-3": lambda ws, path: ws.send_raw_frame(0x3, b"x"),
    "reserved-control-opcode-B": lambda ws, path: ws.send_raw_frame(0xB, b"x"),
    "rsv1-set": lambda ws, path: ws.send_raw_frame(data_opcode(path), harmless(path), rsv=4),
    "rsv2-set": lambda ws, path: ws.send_raw_frame(data_opcode(path), harmless(path), rsv=2),
    "rsv3-set-on-ping": lambda ws, path: ws.send_raw_frame(PING, b"x", rsv=1),
    "unmasked-data-frame": lambda ws, path: ws.send_raw_frame(data_opcode(path), harmless(path), mask=False),
    "unmasked-ping": lambda ws, path: ws.send_raw_frame(PING, b"x", mask=False),
    "ping-over-125-bytes": lambda ws, path: ws.send_raw_frame(PING, b"p" * 126),
    "close-over-125-bytes": lambda ws, path: ws.send_raw_frame(CLOSE, struct.pack("!H", 1000) + b"r" * 124),
    "fragmented-ping": lambda ws, path: ws.send_raw_frame(PING, b"x", fin=False),
    "continuation-without-start": lambda ws, path: ws.send_raw_frame(CONT, b"x"),
    "new-message-inside-a-fragmented-one": lambda ws, path: (
        ws.send_raw_frame(data_opcode(path), harmless(path)[:2], fin=False),
        ws.send_raw_frame(data_opcode(path), harmless(path)),
    ),
    "text-inside-a-fragmented-binary": lambda ws, path: (
        ws.send_raw_frame(data_opcode(path), harmless(path)[:2], fin=False),
        ws.send_raw_frame(TEXT, b"{}"),
    ),
}


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("violation", list(VIOLATIONS))
def test_protocol_violation_closes_with_1002(raw, path, violation):
    ws = raw(path)
    VIOLATIONS[violation](ws, path)
    ws.expect_close(1002)


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("fragmented", [False, True], ids=["whole", "fragmented"])
def test_invalid_utf8_text_closes_with_1007(raw, path, fragmented):
    ws = raw(path)
    bad = b'{"type":"end","x":"\xc3\x28"}'  # 0xC3 followed by a non-continuation byte
    if fragmented:
        ws.send_frame(TEXT, bad[:10], fin=False)
        ws.send_frame(CONT, bad[10:], fin=True)
    else:
        ws.send_raw_frame(TEXT, bad)
    ws.expect_close(1007)


@pytest.fixture
def small(server_factory):
    """A server that takes messages up to 1000 bytes."""
    with raw_connections(server_factory("--no-demo", "--max-payload", "1000")) as open_:
        yield open_


def test_echo_message_at_the_limit_passes(small):
    ws = small("/echo")
    blob = os.urandom(1000)
    ws.send_frame(BINARY, blob[:400], fin=False)
    ws.send_frame(CONT, blob[400:], fin=True)
    assert ws.recv_message() == (BINARY, blob)


@pytest.mark.parametrize("shape", ["one-frame", "fragments", "frame-over-the-decoder-limit"])
def test_echo_message_over_the_limit_closes_with_1009(small, shape):
    ws = small("/echo")
    if shape == "one-frame":
        ws.send_frame(BINARY, os.urandom(1001))
    elif shape == "fragments":
        ws.send_frame(BINARY, os.urandom(600), fin=False)
        ws.send_frame(CONT, os.urandom(600), fin=True)
    else:
        # Larger than any frame the server decodes at all (max payload + 64 KiB): refused from the length field.
        ws.send_frame(BINARY, os.urandom(1000 + (64 << 10) + 1))
    ws.expect_close(1009)


def test_publisher_frame_over_the_limit_closes_with_1009_even_in_fragments(small):
    ws = small("/streams/x/publish")
    message = make_frame(20, 20, 0, b"\x00" * 1600)  # the header promises 1600 bytes > 1000
    ws.send_frame(BINARY, message[:32], fin=False)    # refused from the header, before the payload arrives
    ws.expect_close(1009)


def test_text_message_over_64_kib_closes_with_1009(raw):
    ws = raw("/streams/x/publish")
    ws.send_frame(TEXT, b" " * (64 << 10), fin=False)
    ws.send_frame(CONT, b" ", fin=True)
    ws.expect_close(1009)
