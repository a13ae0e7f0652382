"""A CanvasWire-protocol relay as a user would write it with `aiohttp`.

Same behaviour as python_websockets.py: hello first, the publisher's messages forwarded to every
viewer (`all` viewers awaited, `latest` viewers skipped while their write buffer is above the
high-water mark), `/echo` echoes. Prints `listening PORT` once it accepts connections.
"""
import asyncio
import json
import sys

from aiohttp import WSMsgType, web

HIGH_WATER_MARK = 4 << 20
LIMITS = {"maxWidth": 16384, "maxHeight": 16384, "maxPayloadBytes": 256 << 20}
streams: dict[str, dict] = {}


def hello(role, name, policy=None):
    message = {"type": "hello", "protocol": 1, "role": role, "stream": name, "limits": LIMITS,
               "highWaterMark": HIGH_WATER_MARK, "server": "python-aiohttp"}
    if policy:
        message["policy"] = policy
    return json.dumps(message)


async def send(ws, message):
    if message.type == WSMsgType.BINARY:
        await ws.send_bytes(message.data)
    else:
        await ws.send_str(message.data)


async def echo(request):
    ws = web.WebSocketResponse(max_msg_size=0, compress=False)
    await ws.prepare(request)
    async for message in ws:
        await send(ws, message)
    return ws


async def publish(request):
    name = request.match_info["name"]
    stream = streams.setdefault(name, {"all": set(), "latest": set()})
    ws = web.WebSocketResponse(max_msg_size=0, compress=False)
    await ws.prepare(request)
    await ws.send_str(hello("publisher", name))
    async for message in ws:
        for viewer, transport in list(stream["latest"]):
            if transport is not None and transport.get_write_buffer_size() < HIGH_WATER_MARK:
                asyncio.ensure_future(send(viewer, message))
        if stream["all"]:
            await asyncio.gather(*(send(v, message) for v, _ in list(stream["all"])), return_exceptions=True)
    return ws


async def view(request):
    name = request.match_info["name"]
    policy = request.query.get("policy", "latest")
    stream = streams.setdefault(name, {"all": set(), "latest": set()})
    ws = web.WebSocketResponse(max_msg_size=0, compress=False)
    await ws.prepare(request)
    await ws.send_str(hello("viewer", name, policy))
    entry = (ws, request.transport)
    stream[policy].add(entry)
    try:
        async for _ in ws:
            pass
    finally:
        stream[policy].discard(entry)
    return ws


async def main():
    app = web.Application(client_max_size=0)
    app.add_routes([web.get("/echo", echo), web.get("/streams/{name}/publish", publish),
                    web.get("/streams/{name}", view)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    await site.start()
    print("listening", site._server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
