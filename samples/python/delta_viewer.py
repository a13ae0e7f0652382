#!/usr/bin/env python3
"""A CanvasWire viewer that takes delta frames and saves whole ones (protocol: docs/PROTOCOL.md 1.1).

usage: delta_viewer.py URL OUT_DIR COUNT

  URL      ws://HOST:PORT/streams/NAME?policy=all; encoding=delta is added: only changed rectangles come
  OUT_DIR  every frame is saved there whole as SEQUENCE_WxH.rgba: width*height*4 bytes R, G, B, A
  COUNT    stop after this many frames; 0 = until the publisher sends {"type":"end"}
Needs `pip install websockets`.
"""
import asyncio
import json
import os
import struct
import sys

from websockets.asyncio.client import connect

HEADER = struct.Struct("<4sBBHIIQQ")  # magic, format, flags, header length, width, height, sequence, µs
RECT = struct.Struct("<HHHH")  # x, y, w, h; then w*h*4 bytes of RGBA, rows top first


def apply_delta(frame: bytearray, width: int, height: int, payload: bytes) -> int:
    """Copies every rectangle of a delta payload over `frame`, row by row; returns how many there were."""
    (count,) = struct.unpack_from("<I", payload)
    offset = 4
    for _ in range(count):
        x, y, w, h = RECT.unpack_from(payload, offset)
        offset += RECT.size
        if w < 1 or h < 1 or x + w > width or y + h > height or offset + w * h * 4 > len(payload):
            raise ValueError(f"delta rectangle {x},{y} {w}x{h} is outside the frame or cut short")
        for row in range(y, y + h):
            frame[(row * width + x) * 4:(row * width + x + w) * 4] = payload[offset:offset + w * 4]
            offset += w * 4
    if offset != len(payload):
        raise ValueError("delta payload has bytes after its last rectangle")
    return count


async def view(url: str, out_dir: str, count: int) -> int:
    frame, size, saved = None, None, 0  # the frame held: what the next delta applies to
    async with connect(url + ("&" if "?" in url else "?") + "encoding=delta", max_size=(256 << 20) + 32) as ws:
        async for message in ws:
            if isinstance(message, str):  # JSON control message: hello, publisher, dropped, end
                print("control", message, flush=True)
                if json.loads(message).get("type") == "end":
                    break
                continue
            magic, fmt, flags, header_len, width, height, seq, _micros = HEADER.unpack_from(message)
            payload = message[header_len:]  # header_len > 32 leaves room for later versions
            try:
                if magic != b"CWF1" or flags != 0 or header_len < 32 or fmt not in (1, 3) \
                        or fmt == 1 and len(payload) != width * height * 4:
                    raise ValueError("not an RGBA8 frame of width*height*4 bytes or a delta, v1")
                if fmt == 1:
                    frame, size, how = bytearray(payload), (width, height), "full"
                elif size != (width, height):
                    raise ValueError("a delta came before any whole frame of its size")
                else:
                    how = f"delta of {apply_delta(frame, width, height, payload)} rectangles"
            except ValueError as error:  # say why, as the protocol asks, then stop
                await ws.close(1008, str(error))
                raise SystemExit(f"error: {error}")
            name = os.path.join(out_dir, f"{seq:06d}_{width}x{height}.rgba")
            with open(name, "wb") as file:
                file.write(frame)
            print("saved", name, f"({how}, {len(message)} bytes)", flush=True)
            saved += 1
            if saved == count:
                break
    return saved


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    os.makedirs(sys.argv[2], exist_ok=True)
    done = asyncio.run(view(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    raise SystemExit(0 if done == int(sys.argv[3]) or int(sys.argv[3]) == 0 else 1)
