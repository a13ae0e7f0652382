"""A CanvasWire-protocol relay as a user would write it with picows, the way picows documents for
speed: its core API (a WSListener per connection, a non-async data path) on aiofastnet's
transports (picows uses them by default when aiofastnet is installed; asked for explicitly here, so
that a missing aiofastnet fails instead of measuring something else). uvloop on top of it made no
difference in tools/bench/README-peers.md's runs; uvloop *instead of* aiofastnet corrupts frames:
uvloop's transport keeps the memoryview that picows forwards instead of copying it, and picows
reuses that read buffer.

Same behaviour as python_websockets.py: hello first, `/streams/NAME/publish` forwards every message
to the stream's viewers, `/streams/NAME?policy=latest|all` views, `/echo` echoes. Each viewer's
transport has its write-buffer high-water mark at HIGH_WATER_MARK, so picows's pause_writing() /
resume_writing() callbacks say when it is full: a `latest` viewer is only written to while it is not
full (the frame is skipped for it otherwise); an `all` viewer is always written to, and while any of
them is full the publisher's transport stops reading until they drain. picows hands over frames,
not messages: a message in one frame (what every publisher here sends) is forwarded straight from
picows's read buffer, a fragmented one is joined first. Prints `listening PORT` once it accepts
connections.
"""
import asyncio
import json
import sys
from urllib.parse import parse_qs, urlsplit

from picows import WSListener, WSMsgType, ws_create_server

HIGH_WATER_MARK = 4 << 20
LIMITS = {"maxWidth": 16384, "maxHeight": 16384, "maxPayloadBytes": 256 << 20}
streams: dict[str, "Stream"] = {}


def hello(role, name, policy=None):
    message = {"type": "hello", "protocol": 1, "role": role, "stream": name, "limits": LIMITS,
               "highWaterMark": HIGH_WATER_MARK, "server": "python-picows"}
    if policy:
        message["policy"] = policy
    return json.dumps(message).encode()


class Stream:
    def __init__(self):
        self.publisher = None
        self.latest = set()
        self.all = set()
        self.full_lossless = set()  # `all` viewers above their high-water mark

    def forward(self, msg_type, payload):
        for viewer in self.latest:
            if not viewer.full:
                viewer.transport.send(msg_type, payload)
        for viewer in self.all:
            viewer.transport.send(msg_type, payload)

    def lossless_full(self, viewer):
        self.full_lossless.add(viewer)
        if self.publisher is not None:
            self.publisher.transport.underlying_transport.pause_reading()

    def lossless_drained(self, viewer):
        self.full_lossless.discard(viewer)
        if not self.full_lossless and self.publisher is not None:
            self.publisher.transport.underlying_transport.resume_reading()


class Connection(WSListener):
    """Answers close frames and joins fragmented messages; subclasses say what a message does."""

    def __init__(self):
        super().__init__()
        self.transport = None
        self.fragments = None  # (msg_type, bytearray) of a message that arrives in pieces

    def on_ws_frame(self, transport, frame):
        msg_type = frame.msg_type
        if msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()
        elif msg_type == WSMsgType.CONTINUATION:
            self.fragments[1] += frame.get_payload_as_memoryview()
            if frame.fin:
                msg_type, payload = self.fragments
                self.fragments = None
                self.on_message(msg_type, payload)
        elif msg_type in (WSMsgType.BINARY, WSMsgType.TEXT):
            if frame.fin:
                self.on_message(msg_type, frame.get_payload_as_memoryview())
            else:
                self.fragments = [msg_type, bytearray(frame.get_payload_as_memoryview())]

    def on_message(self, msg_type, payload):
        pass


class Echo(Connection):
    def on_ws_connected(self, transport):
        self.transport = transport

    def on_message(self, msg_type, payload):
        self.transport.send(msg_type, payload)


class Publisher(Connection):
    def __init__(self, name, stream):
        super().__init__()
        self.name = name
        self.stream = stream

    def on_ws_connected(self, transport):
        self.transport = transport
        self.stream.publisher = self
        transport.send(WSMsgType.TEXT, hello("publisher", self.name))
        if self.stream.full_lossless:
            transport.underlying_transport.pause_reading()

    def on_message(self, msg_type, payload):
        self.stream.forward(msg_type, payload)

    def on_ws_disconnected(self, transport):
        if self.stream.publisher is self:
            self.stream.publisher = None


class Viewer(Connection):
    def __init__(self, name, stream, policy):
        super().__init__()
        self.name = name
        self.stream = stream
        self.policy = policy
        self.full = False

    def on_ws_connected(self, transport):
        self.transport = transport
        transport.underlying_transport.set_write_buffer_limits(high=HIGH_WATER_MARK)
        transport.send(WSMsgType.TEXT, hello("viewer", self.name, self.policy))
        (self.stream.all if self.policy == "all" else self.stream.latest).add(self)

    def pause_writing(self):
        self.full = True
        if self.policy == "all":
            self.stream.lossless_full(self)

    def resume_writing(self):
        self.full = False
        if self.policy == "all":
            self.stream.lossless_drained(self)

    def on_ws_disconnected(self, transport):
        self.stream.latest.discard(self)
        self.stream.all.discard(self)
        if self in self.stream.full_lossless:
            self.stream.lossless_drained(self)


def route(request):
    url = urlsplit(request.path.decode())
    parts = url.path.strip("/").split("/")
    if url.path == "/echo":
        return Echo()
    if len(parts) < 2 or parts[0] != "streams":
        return None  # picows answers 404
    stream = streams.setdefault(parts[1], Stream())
    if len(parts) == 3 and parts[2] == "publish":
        return Publisher(parts[1], stream)
    policy = parse_qs(url.query).get("policy", ["latest"])[0]
    return Viewer(parts[1], stream, "all" if policy == "all" else "latest")


async def main():
    server = await ws_create_server(route, "127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0,
                                    max_frame_size=512 << 20, websocket_handshake_timeout=10,
                                    use_aiofastnet=True)
    print("listening", server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
