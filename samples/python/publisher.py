#!/usr/bin/env python3
"""A CanvasWire publisher: sends COUNT generated frames, then {"type":"end"} (protocol: docs/PROTOCOL.md).

usage: publisher.py URL COUNT [--size WxH] [--token T]

  URL    ws://HOST:PORT/streams/NAME/publish
  COUNT  frames to send, sequence 0 .. COUNT-1

Frame n is the pattern the browser sender draws, so any viewer can check it pixel by pixel:
pixel (x, y) is R = (x + n) & 255, G = (y * 2 + n) & 255, B = (x ^ y) & 255, A = 255.
Needs `pip install websockets`.
"""
import argparse
import asyncio
import json
import struct
import time

from websockets.asyncio.client import connect

HEADER = struct.Struct("<4sBBHIIQQ")  # little-endian, 32 bytes
RGBA8 = 1


def pattern(width: int, height: int, n: int) -> bytes:
    reds = bytes((x + n) & 255 for x in range(width))
    rows = []
    for y in range(height):
        row = bytearray(width * 4)
        row[0::4] = reds
        row[1::4] = bytes([(y * 2 + n) & 255]) * width
        row[2::4] = bytes((x ^ y) & 255 for x in range(width))
        row[3::4] = b"\xff" * width
        rows.append(bytes(row))
    return b"".join(rows)


def frame(width: int, height: int, sequence: int) -> bytes:
    micros = time.time_ns() // 1000  # capture time: microseconds since the Unix epoch
    header = HEADER.pack(b"CWF1", RGBA8, 0, HEADER.size, width, height, sequence, micros)
    return header + pattern(width, height, sequence)


async def publish(url: str, count: int, width: int, height: int, token: str | None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    async with connect(url, additional_headers=headers) as ws:
        hello = json.loads(await ws.recv())  # the server accepts us with a hello first
        if hello.get("type") != "hello" or hello.get("role") != "publisher":
            raise RuntimeError(f"unexpected first message {hello}")
        for sequence in range(count):
            await ws.send(frame(width, height, sequence))  # waits while the socket is backed up
        await ws.send(json.dumps({"type": "end", "lastSequence": count - 1}))
    # Leaving the block runs the closing handshake, after every queued frame has gone out.


def main() -> None:
    parser = argparse.ArgumentParser(description="Publish generated CanvasWire frames.")
    parser.add_argument("url")
    parser.add_argument("count", type=int)
    parser.add_argument("--size", default="320x240", help="WxH (default 320x240)")
    parser.add_argument("--token", help="sent as Authorization: Bearer TOKEN")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    asyncio.run(publish(args.url, args.count, width, height, args.token))


if __name__ == "__main__":
    main()
