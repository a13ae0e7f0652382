"""Helpers a test client needs: the v1 frame layout from docs/PROTOCOL.md."""
import json
import os
import struct
import time

HEADER = struct.Struct("<4sBBHIIQQ")


def make_frame(width: int, height: int, sequence: int, payload: bytes, fmt: int = 1) -> bytes:
    micros = int(time.time() * 1_000_000)
    return HEADER.pack(b"CWF1", fmt, 0, 32, width, height, sequence, micros) + payload


def parse_frame(message: bytes):
    magic, fmt, flags, header_len, width, height, sequence, micros = HEADER.unpack_from(message)
    assert magic == b"CWF1" and flags == 0 and header_len >= 32, message[:32]
    return {"format": fmt, "width": width, "height": height, "sequence": sequence,
            "micros": micros, "payload": message[header_len:]}


def random_rgba(width: int, height: int) -> bytes:
    return os.urandom(width * height * 4)


async def read_control(ws, wanted: str, timeout: float = 10):
    """Reads messages until a control message of type `wanted`; returns it and the frames seen before it."""
    import asyncio
    frames = []
    while True:
        message = await asyncio.wait_for(ws.recv(), timeout)
        if isinstance(message, str):
            control = json.loads(message)
            if control["type"] == wanted:
                return control, frames
        else:
            frames.append(parse_frame(message))


async def next_frame(ws, timeout: float = 10):
    import asyncio
    while True:
        message = await asyncio.wait_for(ws.recv(), timeout)
        if isinstance(message, bytes):
            return parse_frame(message)
