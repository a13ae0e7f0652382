"""What a standard RFC 6455 conformance run checks beyond well-formed traffic, against `WS /echo` and
the stream endpoints: nothing is acted on after a frame that fails the connection, close frames are
checked (codes and reasons), the server hangs up by itself after failing a connection, and /echo takes
large text messages like binary ones.

The server runs with a long --close-timeout, so a connection that ends while the test is still
reading was ended by the server's own decision, not by its deadline.
"""
import os
import struct

import pytest

from rawws import BINARY, CLOSE, CONT, PING, PONG, TEXT, RawWebSocket, is_server_control, raw_connections, raw_frame


@pytest.fixture
def patient(server_factory):
    """One server that waits 60 s for close frames; opens raw connections to it."""
    with raw_connections(server_factory("--no-demo", "--close-timeout", "60")) as open_:
        yield open_


def frames_until_close(ws: RawWebSocket):
    """Every frame up to and including the server's close frame: [(opcode, payload)]."""
    frames = []
    while True:
        fin, rsv, opcode, payload = ws.recv_frame()
        if opcode == TEXT and is_server_control(payload):
            continue
        frames.append((opcode, payload))
        if opcode == CLOSE:
            return frames


def close_code(payload: bytes) -> int:
    assert len(payload) >= 2, f"close frame without a code: {payload!r}"
    return struct.unpack("!H", payload[:2])[0]


def expect_hang_up(ws: RawWebSocket):
    """The server ends the TCP connection without waiting for our close frame (RFC 6455 7.1.7)."""
    ws.expect_eof()


# --- nothing after a failing frame -----------------------------------------------------------------

FAILING_FRAMES = {
    "rsv-2": lambda: raw_frame(TEXT, b"x", rsv=2),
    "rsv-7": lambda: raw_frame(BINARY, b"x", rsv=7),
    **{f"opcode-{op:X}": (lambda op=op: raw_frame(op, b"x")) for op in (3, 4, 5, 0xB, 0xC, 0xD)},
}


@pytest.mark.parametrize("failing", list(FAILING_FRAMES))
def test_nothing_after_a_failing_frame_in_the_same_write_is_acted_on(patient, failing):
    ws = patient("/echo")
    # Text, the failing frame and a ping, all in one write: the server reads them in one buffer.
    ws.sock.sendall(raw_frame(TEXT, b"Hello, world!") + FAILING_FRAMES[failing]() + raw_frame(PING, b"after"))
    frames = frames_until_close(ws)
    assert frames[0] == (TEXT, b"Hello, world!"), "what came before the failing frame is answered"
    assert [opcode for opcode, _ in frames[1:]] == [CLOSE], f"the ping after it was acted on: {frames}"
    assert close_code(frames[-1][1]) == 1002
    expect_hang_up(ws)


@pytest.mark.parametrize("path", ["/echo", "/streams/x/publish", "/streams/x"])
def test_a_pong_is_not_sent_after_a_protocol_error_on_any_endpoint(patient, path):
    ws = patient(path)
    ws.sock.sendall(raw_frame(PING, b"before") + raw_frame(CONT, b"x") + raw_frame(PING, b"after"))
    frames = frames_until_close(ws)
    assert frames == [(PONG, b"before"), frames[-1]] and close_code(frames[-1][1]) == 1002, frames
    expect_hang_up(ws)


# --- close frames are checked ----------------------------------------------------------------------

@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000])
def test_a_close_code_that_may_not_be_sent_is_answered_with_1002(patient, code):
    ws = patient("/echo")
    ws.send_raw_frame(CLOSE, struct.pack("!H", code) + b"bad code")
    frames = frames_until_close(ws)
    assert close_code(frames[-1][1]) == 1002, f"code {code} was answered with {frames[-1][1]!r}"
    expect_hang_up(ws)


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999])
def test_a_valid_close_code_is_echoed(patient, code):
    ws = patient("/echo")
    ws.send_raw_frame(CLOSE, struct.pack("!H", code))
    frames = frames_until_close(ws)
    assert close_code(frames[-1][1]) == code
    expect_hang_up(ws)


def test_a_close_reason_that_is_not_utf8_is_answered_with_1007(patient):
    ws = patient("/echo")
    invalid = "κόσμε".encode() + b"\xed\xa0\x80" + b"edited"  # a UTF-16 surrogate, never valid in UTF-8
    ws.send_raw_frame(CLOSE, struct.pack("!H", 1000) + invalid)
    frames = frames_until_close(ws)
    assert close_code(frames[-1][1]) == 1007
    expect_hang_up(ws)


def test_a_close_body_of_one_byte_is_answered_with_1002(patient):
    ws = patient("/echo")
    ws.send_raw_frame(CLOSE, b"\x03")
    assert close_code(frames_until_close(ws)[-1][1]) == 1002
    expect_hang_up(ws)


# --- after failing, the server hangs up ------------------------------------------------------------

FAILURES = {
    "ping-over-125-bytes": lambda ws: ws.send_raw_frame(PING, b"p" * 126),
    "continuation-without-a-message": lambda ws: ws.send_raw_frame(CONT, b"x"),
    "fragmented-ping": lambda ws: ws.send_raw_frame(PING, b"x", fin=False),
    "unmasked-frame": lambda ws: ws.send_raw_frame(BINARY, b"x", mask=False),
    "invalid-utf8-text": lambda ws: ws.send_raw_frame(TEXT, b"\xce\xba\xe1\xbd"),
}


@pytest.mark.parametrize("failure", list(FAILURES))
def test_after_its_close_frame_for_a_protocol_error_the_server_hangs_up(patient, failure):
    ws = patient("/echo")
    FAILURES[failure](ws)
    frames = frames_until_close(ws)
    assert close_code(frames[-1][1]) in (1002, 1007)
    expect_hang_up(ws)  # we never answer its close frame


def test_the_server_reads_what_is_still_arriving_after_it_failed(patient):
    """The hang-up is a half-close after the close frame: bytes already on their way (the rest of a
    large message) are read and discarded, so they do not turn into a reset that could destroy the
    close frame before the peer reads it."""
    ws = patient("/echo")
    ws.sock.sendall(raw_frame(CONT, b"x") + raw_frame(BINARY, os.urandom(4 << 20)))
    frames = frames_until_close(ws)
    assert close_code(frames[-1][1]) == 1002
    expect_hang_up(ws)


# --- /echo takes large text messages ---------------------------------------------------------------

def utf8_text(size: int) -> bytes:
    """`size` bytes of valid UTF-8 with characters of every length, cut on a character boundary."""
    unit = "aé€🎨".encode()  # 1 + 2 + 3 + 4 bytes
    return (unit * (size // len(unit) + 1))[:size - size % len(unit)]


@pytest.mark.parametrize("size", [256 << 10, 1 << 20, 16 << 20], ids=["256KiB", "1MiB", "16MiB"])
def test_echo_takes_a_large_text_message_whole(patient, size):
    ws = patient("/echo")
    text = utf8_text(size)
    ws.send_frame(TEXT, text)
    assert ws.recv_message() == (TEXT, text)


@pytest.mark.parametrize("fragment", [64, 4 << 10, 1 << 20, 4 << 20], ids=["64B", "4KiB", "1MiB", "4MiB"])
def test_echo_takes_a_4_mib_text_message_in_fragments(patient, fragment):
    """65,536 fragments of 64 bytes is exactly the per-message fragment limit."""
    ws = patient("/echo")
    text = utf8_text((4 << 20) - 4) + b"abcd"  # 4 MiB exactly
    pieces = [text[i:i + fragment] for i in range(0, len(text), fragment)]
    data = b"".join(
        raw_frame(TEXT if i == 0 else CONT, piece, fin=i == len(pieces) - 1) for i, piece in enumerate(pieces)
    )
    ws.sock.sendall(data)
    assert ws.recv_message() == (TEXT, text)


def test_invalid_utf8_in_a_later_fragment_fails_before_the_message_ends(patient):
    ws = patient("/echo")
    ws.send_raw_frame(TEXT, "κόσμε".encode(), fin=False)
    ws.send_raw_frame(CONT, b"\xf4\x90\x80\x80", fin=False)  # above U+10FFFF: invalid at once
    frames = frames_until_close(ws)  # the message is never finished; the close comes anyway
    assert close_code(frames[-1][1]) == 1007
    expect_hang_up(ws)
