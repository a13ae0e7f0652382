"""A CanvasWire-protocol relay as a user would write it with socketify (uWebSockets for Python), the
way uWebSockets documents backpressure: `get_buffered_amount()` before a send and the `drain`
handler after it.

Same behaviour as python_websockets.py: hello first, `/streams/NAME/publish` forwards every message
to the stream's viewers, `/streams/NAME?policy=latest|all` views, `/echo` echoes. A `latest` viewer is
skipped while its buffered amount is above HIGH_WATER_MARK; an `all` viewer is always sent to, and
while any of them is above it the publisher's socket is not read, until their drain handlers see
them below LOW_WATER_MARK. Prints `listening PORT` once it accepts connections.

Three things socketify 0.0.31 needs, each done below where it is needed:
- `App.ws` builds the native behaviour with the drain callback and then overwrites it with NULL (a
  missing `else`), so a drain handler is never called: `ws_with_drain` registers it.
- It has no way to stop reading a WebSocket (its HttpResponse pause/resume both pause), so
  `set_reading` changes the socket's poll with uSockets' own us_poll_change, which is what
  uWebSockets' pause does.
- `app.run()` drives libuv from the asyncio loop with `run_nowait()` and busy-polls a core for as long
  as traffic flows (then polls every 1-10 ms when idle). All handlers here are synchronous, so the
  relay runs the libuv loop itself, blocking in epoll: no busy core and no polling delay.
"""
import json
import sys

import socketify.native
import socketify.socketify
from socketify import App, OpCode

HIGH_WATER_MARK = 4 << 20
LOW_WATER_MARK = 1 << 20
LIMITS = {"maxWidth": 16384, "maxHeight": 16384, "maxPayloadBytes": 256 << 20}
streams: dict[str, "Stream"] = {}

ffi = socketify.native.ffi
ffi.cdef("""
int us_poll_events(struct us_poll_t *p);
void us_poll_change(struct us_poll_t *p, struct us_loop_t *loop, int events);
struct us_socket_context_t *us_socket_context(int ssl, struct us_socket_t *s);
struct us_loop_t *us_socket_context_loop(int ssl, struct us_socket_context_t *context);
""")
usockets = ffi.dlopen(socketify.native.library_path)  # the library socketify already loaded
READABLE = 1  # LIBUS_SOCKET_READABLE (UV_READABLE in socketify's libuv build, EPOLLIN otherwise)


def set_reading(ws, reading):
    """Starts or stops reading `ws`'s socket, keeping its writable polling as it is."""
    poll = ffi.cast("struct us_poll_t *", ws.ws)
    socket = ffi.cast("struct us_socket_t *", ws.ws)
    loop = usockets.us_socket_context_loop(0, usockets.us_socket_context(0, socket))
    events = usockets.us_poll_events(poll)
    usockets.us_poll_change(poll, loop, events | READABLE if reading else events & ~READABLE)


def ws_with_drain(app, pattern, behavior):
    """`app.ws(pattern, behavior)`, with the drain handler that socketify 0.0.31 drops."""
    module = socketify.socketify
    native = module.lib

    class Native:
        def __getattr__(self, name):
            return getattr(native, name)

        def uws_ws(self, ssl, app_pointer, path, native_behavior, user_data):
            native_behavior.drain = module.uws_websocket_drain_handler
            native.uws_ws(ssl, app_pointer, path, native_behavior, user_data)

    module.lib = Native()
    try:
        app.ws(pattern, behavior)
    finally:
        module.lib = native


def hello(role, name, policy=None):
    message = {"type": "hello", "protocol": 1, "role": role, "stream": name, "limits": LIMITS,
               "highWaterMark": HIGH_WATER_MARK, "server": "python-socketify"}
    if policy:
        message["policy"] = policy
    return json.dumps(message)


def key(ws):
    """socketify makes a new WebSocket object for every callback; the native pointer is the identity."""
    return int(ffi.cast("uintptr_t", ws.ws))


class Stream:
    def __init__(self):
        self.publisher = None
        self.viewers = {"latest": {}, "all": {}}
        self.full_lossless = set()  # keys of `all` viewers above the high-water mark

    def forward(self, message, opcode):
        for viewer in self.viewers["latest"].values():
            if viewer.get_buffered_amount() < HIGH_WATER_MARK:
                viewer.send(message, opcode)
        for viewer_key, viewer in self.viewers["all"].items():
            viewer.send(message, opcode)
            if viewer.get_buffered_amount() > HIGH_WATER_MARK and viewer_key not in self.full_lossless:
                self.full_lossless.add(viewer_key)
                if self.publisher is not None and len(self.full_lossless) == 1:
                    set_reading(self.publisher, False)

    def lossless_drained(self, viewer_key):
        if viewer_key in self.full_lossless:
            self.full_lossless.discard(viewer_key)
            if not self.full_lossless and self.publisher is not None:
                set_reading(self.publisher, True)


def upgrade(res, req, context):
    """Keeps the stream name and policy with the connection."""
    policy = req.get_query("policy")
    res.upgrade(req.get_header("sec-websocket-key"), req.get_header("sec-websocket-protocol"),
                req.get_header("sec-websocket-extensions"), context,
                (req.get_parameter(0), "all" if policy == "all" else "latest"))


def publisher_open(ws):
    name, _ = ws.get_user_data()
    stream = streams.setdefault(name, Stream())
    stream.publisher = ws
    ws.send(hello("publisher", name), OpCode.TEXT)
    if stream.full_lossless:
        set_reading(ws, False)


def publisher_message(ws, message, opcode):
    name, _ = ws.get_user_data()
    streams[name].forward(message, opcode)


def publisher_close(ws, code, message):
    name, _ = ws.get_user_data()
    stream = streams[name]
    if stream.publisher is not None and key(stream.publisher) == key(ws):
        stream.publisher = None


def viewer_open(ws):
    name, policy = ws.get_user_data()
    stream = streams.setdefault(name, Stream())
    ws.send(hello("viewer", name, policy), OpCode.TEXT)
    stream.viewers[policy][key(ws)] = ws


def viewer_drain(ws):
    name, policy = ws.get_user_data()
    if policy == "all" and ws.get_buffered_amount() < LOW_WATER_MARK:
        streams[name].lossless_drained(key(ws))


def viewer_close(ws, code, message):
    name, policy = ws.get_user_data()
    stream = streams[name]
    stream.viewers[policy].pop(key(ws), None)
    stream.lossless_drained(key(ws))


def main():
    app = App()
    common = {"compression": 0, "max_payload_length": 512 << 20, "idle_timeout": 120,
              "max_backpressure": 0}  # 0: never drop; the relay itself decides what a viewer gets
    app.ws("/echo", {**common, "message": lambda ws, message, opcode: ws.send(message, opcode)})
    app.ws("/streams/:name/publish", {**common, "upgrade": upgrade, "open": publisher_open,
                                      "message": publisher_message, "close": publisher_close})
    ws_with_drain(app, "/streams/:name", {**common, "upgrade": upgrade, "open": viewer_open,
                                          "drain": viewer_drain, "close": viewer_close})
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    app.listen({"port": port, "host": "127.0.0.1"},
               lambda config: print("listening", config.port, flush=True))
    app.loop.uv_loop.run()


if __name__ == "__main__":
    main()
