"""A raw RFC 6455 client for conformance tests: it writes whatever bytes it is told to, valid or not.

The interesting cases (unmasked frames, reserved bits and opcodes, oversized or fragmented control
frames, broken fragmentation) are exactly what a WebSocket library refuses to produce, so the
handshake and every frame are written by hand. Valid frames are built with `websockets.frames.Frame`,
so the two encoders cross-check each other. Every read has a timeout.
"""
import base64
import contextlib
import hashlib
import json
import os
import socket
import struct
import urllib.parse

from websockets.frames import Frame, Opcode

TIMEOUT = 10
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

TEXT, BINARY, CONT, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


class RawWebSocket:
    """A WebSocket client that writes whatever bytes it is told to, valid or not."""

    def __init__(self, ws_url: str, extensions: str | None = None):
        """Connects and completes the handshake; `extensions` is offered as Sec-WebSocket-Extensions and
        the server's response headers are kept in `self.headers` (names lower-cased)."""
        url = urllib.parse.urlsplit(ws_url)
        assert url.hostname == "127.0.0.1"
        self.sock = socket.create_connection((url.hostname, url.port), timeout=TIMEOUT)
        self.sock.settimeout(TIMEOUT)
        key = base64.b64encode(os.urandom(16)).decode()
        target = url.path + (f"?{url.query}" if url.query else "")
        self.sock.sendall((
            f"GET {target} HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            + (f"Sec-WebSocket-Extensions: {extensions}\r\n" if extensions else "") + "\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv_some()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        assert lines[0].startswith("HTTP/1.1 101"), lines[0]
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        assert headers["sec-websocket-accept"] == accept
        self.headers = headers

    def _recv_some(self) -> bytes:
        data = self.sock.recv(1 << 20)
        if not data:
            raise EOFError("connection closed by the server")
        return data

    def _read_exactly(self, n: int) -> bytes:
        if len(self.buffer) < n:  # gathered in a bytearray: a 16 MiB message is not copied per read
            pending = bytearray(self.buffer)
            while len(pending) < n:
                pending += self._recv_some()
            self.buffer = bytes(pending)
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    # --- writing

    def send_raw_frame(self, opcode: int, payload: bytes = b"", fin: bool = True, rsv: int = 0,
                       mask: bool = True) -> None:
        """Any frame at all: `rsv` is the three RSV bits (0..7), `mask=False` leaves it unmasked."""
        self.sock.sendall(raw_frame(opcode, payload, fin, rsv, mask))

    def send_frame(self, opcode: int, payload: bytes = b"", fin: bool = True) -> None:
        """A valid, masked frame, encoded by the websockets library."""
        frame = Frame(Opcode(opcode), payload, fin=fin)
        self.sock.sendall(frame.serialize(mask=True))

    def close_frame_payload(self, code: int, reason: str = "") -> bytes:
        return struct.pack("!H", code) + reason.encode()

    # --- reading

    def recv_frame(self):
        """One frame from the server: (fin, rsv, opcode, payload). Server frames must not be masked."""
        b0, b1 = self._read_exactly(2)
        assert not b1 & 0x80, "the server masked a frame"
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read_exactly(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read_exactly(8))[0]
        return bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F, self._read_exactly(n)

    def recv_message(self, skip_control_text: bool = True):
        """The next data message (opcode, payload), reassembled; pongs are collected in self.pongs."""
        self.pongs = getattr(self, "pongs", [])
        parts, opcode = [], None
        while True:
            fin, rsv, op, payload = self.recv_frame()
            assert rsv == 0
            if op == PONG:
                self.pongs.append(payload)
                continue
            if op == PING:
                continue
            assert op != CLOSE, f"unexpected close {payload!r}"
            if op != CONT:
                opcode = op
            parts.append(payload)
            if fin:
                message = b"".join(parts)
                if skip_control_text and opcode == TEXT and is_server_control(message):
                    parts, opcode = [], None
                    continue
                return opcode, message

    def expect_close(self, expected_code: int):
        """Reads until the server's close frame, answers it, and checks the server then ends the TCP connection."""
        while True:
            fin, rsv, opcode, payload = self.recv_frame()
            if opcode == CLOSE:
                break
        assert len(payload) >= 2, f"close frame without a code: {payload!r}"
        code = struct.unpack("!H", payload[:2])[0]
        reason = payload[2:].decode("utf-8")
        assert code == expected_code, f"close code {code} ({reason!r}), expected {expected_code}"
        try:
            self.send_raw_frame(CLOSE, payload[:2])
        except OSError:
            pass  # the server may already have closed the socket; the close code is what matters
        self.expect_eof()
        return code, reason

    def expect_eof(self):
        try:
            while True:
                self._recv_some()
        except (EOFError, ConnectionResetError):
            return

    def close(self):
        self.sock.close()


def raw_frame(opcode: int, payload: bytes = b"", fin: bool = True, rsv: int = 0, mask: bool = True) -> bytes:
    """The bytes of any frame, so that several can go out in one write."""
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    mask_bit = 0x80 if mask else 0
    if n < 126:
        header = struct.pack("!BB", first, mask_bit | n)
    elif n < 1 << 16:
        header = struct.pack("!BBH", first, mask_bit | 126, n)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, n)
    if mask:
        key = os.urandom(4)
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload)) if n < 4096 else _mask(payload, key)
        header += key
    return header + payload


def _mask(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    repeated = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")


def is_server_control(message: bytes) -> bool:
    """hello and publisher messages the stream endpoints send on their own."""
    try:
        return json.loads(message).get("type") in ("hello", "publisher")
    except ValueError:
        return False


@contextlib.contextmanager
def raw_connections(server):
    """Yields `open(path)`, which opens a raw connection to `server` and, on a stream endpoint, reads
    its hello; every connection opened is closed at the end."""
    opened = []

    def open_(path: str) -> RawWebSocket:
        ws = RawWebSocket(server.ws + path)
        opened.append(ws)
        if path != "/echo":
            frame = ws.recv_frame()
            assert frame[2] == TEXT and json.loads(frame[3])["type"] == "hello"
        return ws

    try:
        yield open_
    finally:
        for ws in opened:
            ws.close()
