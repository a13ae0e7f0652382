"""A CanvasWire-protocol relay as a user would write it with Python `websockets` (asyncio API).

Speaks docs/PROTOCOL.md's endpoints, minimally: a hello first, `/streams/NAME/publish` forwards every
message to the stream's viewers, `/streams/NAME?policy=latest|all` views, `/echo` echoes. Lossless
(`all`) viewers are awaited, which slows the publisher down; live (`latest`) viewers get the message
through `broadcast()` unless their write buffer is above the high-water mark, in which case the frame
is dropped for them. No validation: this is the thirty-line relay CanvasWire is compared against.
Prints `listening PORT` once it accepts connections.
"""
import asyncio
import json
import sys
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import broadcast, serve

HIGH_WATER_MARK = 4 << 20
LIMITS = {"maxWidth": 16384, "maxHeight": 16384, "maxPayloadBytes": 256 << 20}
streams: dict[str, dict] = {}  # name -> {"all": set(), "latest": set()}


def hello(role, name, policy=None):
    message = {"type": "hello", "protocol": 1, "role": role, "stream": name, "limits": LIMITS,
               "highWaterMark": HIGH_WATER_MARK, "server": "python-websockets"}
    if policy:
        message["policy"] = policy
    return json.dumps(message)


async def handler(ws):
    url = urlsplit(ws.request.path)
    parts = url.path.strip("/").split("/")
    if url.path == "/echo":
        async for message in ws:
            await ws.send(message)
        return
    if len(parts) < 2 or parts[0] != "streams":
        await ws.close(1008, "unknown endpoint")
        return
    stream = streams.setdefault(parts[1], {"all": set(), "latest": set()})
    if len(parts) == 3 and parts[2] == "publish":
        await ws.send(hello("publisher", parts[1]))
        async for message in ws:
            live = [v for v in stream["latest"] if v.transport.get_write_buffer_size() < HIGH_WATER_MARK]
            broadcast(live, message)
            if stream["all"]:
                await asyncio.gather(*(v.send(message) for v in list(stream["all"])), return_exceptions=True)
        return
    policy = parse_qs(url.query).get("policy", ["latest"])[0]
    await ws.send(hello("viewer", parts[1], policy))
    stream[policy].add(ws)
    try:
        await ws.wait_closed()
    finally:
        stream[policy].discard(ws)


async def main():
    async with serve(handler, "127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0,
                     max_size=None, compression=None) as server:
        print("listening", server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
