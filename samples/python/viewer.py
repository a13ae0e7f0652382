#!/usr/bin/env python3
"""A CanvasWire viewer that saves the frames it receives (protocol: docs/PROTOCOL.md).

usage: viewer.py URL OUT_DIR COUNT [--raw] [--ack N]

  URL      ws://HOST:PORT/streams/NAME?policy=all  (every frame, in order; policy=latest may skip)
  OUT_DIR  frames are saved there as SEQUENCE_WxH.png, or with --raw (or without Pillow) as
           SEQUENCE_WxH.rgba: width*height*4 bytes R, G, B, A, top row first
  COUNT    stop after this many frames; 0 = until the publisher sends {"type":"end"}
  --ack N  ask for acknowledged delivery (?ack=N) and ack each frame once saved: N in flight at most
Needs `pip install websockets`; PNG output needs `pip install pillow`.
"""
import argparse
import asyncio
import json
import os
import struct

from websockets.asyncio.client import connect

try:
    from PIL import Image
except ImportError:
    Image = None

# magic "CWF1", pixel format, flags, header length, width, height, sequence, capture time in µs
HEADER = struct.Struct("<4sBBHIIQQ")


def save(message: bytes, out_dir: str, raw: bool) -> str:
    magic, fmt, flags, header_len, width, height, seq, _micros = HEADER.unpack_from(message)
    if magic != b"CWF1" or flags != 0 or header_len < 32 or fmt not in (1, 2):
        raise ValueError("not a CanvasWire v1 frame")
    payload = message[header_len:]  # header_len > 32 leaves room for later versions: skip the rest
    name = os.path.join(out_dir, f"{seq:06d}_{width}x{height}")
    if fmt == 2:  # the payload is already a complete PNG file
        name, data = name + ".png", payload
    elif len(payload) != width * height * 4:
        raise ValueError("payload length does not match width*height*4")
    elif Image is not None and not raw:
        Image.frombytes("RGBA", (width, height), payload).save(name + ".png")
        return name + ".png"
    else:
        name, data = name + ".rgba", payload
    with open(name, "wb") as file:
        file.write(data)
    return name


async def view(url: str, out_dir: str, count: int, raw: bool, ack: int) -> int:
    saved, acks = 0, False
    url += f"{'&' if '?' in url else '?'}ack={ack}" if ack else ""
    # Frames can be large: allow what the server allows by default (256 MiB + header).
    async with connect(url, max_size=(256 << 20) + 32) as ws:
        async for message in ws:
            if isinstance(message, str):  # JSON control message: hello, publisher, dropped, end
                print("control", message, flush=True)
                control = json.loads(message)
                acks = acks or bool(control.get("ack"))  # the hello agreed: older servers do not
                if control.get("type") == "end":
                    break
                continue
            print("saved", save(message, out_dir, raw), flush=True)
            if acks:  # this frame and every one before it are done: the server may send the next
                await ws.send(json.dumps({"type": "ack", "sequence": HEADER.unpack_from(message)[6]}))
            saved += 1
            if saved == count:
                break
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description="Save CanvasWire frames to files.")
    parser.add_argument("url")
    parser.add_argument("out_dir")
    parser.add_argument("count", type=int)
    parser.add_argument("--raw", action="store_true", help="save .rgba even when Pillow is installed")
    parser.add_argument("--ack", type=int, default=0, metavar="N", help="acknowledge frames, N in flight")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    saved = asyncio.run(view(args.url, args.out_dir, args.count, args.raw, args.ack))
    raise SystemExit(0 if saved == args.count or args.count == 0 else 1)


if __name__ == "__main__":
    main()
