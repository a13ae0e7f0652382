"""The PNG-folder-to-PNG-folder pipeline a user could write instead of `canvaswire send/receive`:
Python `websockets` and Pillow (compress_level=1), speaking docs/PROTOCOL.md to the same server.

    python3 py_pipeline.py send ws://127.0.0.1:PORT/streams/x/publish IN_DIR
    python3 py_pipeline.py receive ws://127.0.0.1:PORT/streams/x?policy=all OUT_DIR
"""
import asyncio
import json
import os
import struct
import sys
import time

import websockets
from PIL import Image

HEADER = struct.Struct("<4sBBHIIQQ")


async def send(url, folder):
    files = sorted(f for f in os.listdir(folder) if f.endswith(".png"))
    async with websockets.connect(url, max_size=None) as ws:
        await ws.recv()  # hello
        for sequence, name in enumerate(files):
            image = Image.open(os.path.join(folder, name)).convert("RGBA")
            header = HEADER.pack(b"CWF1", 1, 0, 32, image.width, image.height, sequence, int(time.time() * 1e6))
            await ws.send(header + image.tobytes())  # websockets waits for its write buffer to drain
        await ws.send(json.dumps({"type": "end", "lastSequence": len(files) - 1}))


async def receive(url, folder):
    async with websockets.connect(url, max_size=None) as ws:
        async for message in ws:
            if isinstance(message, str):
                if json.loads(message)["type"] == "end":
                    return
                continue
            _, _, _, header_length, width, height, sequence, _ = HEADER.unpack_from(message)
            image = Image.frombuffer("RGBA", (width, height), message[header_length:], "raw", "RGBA", 0, 1)
            image.save(os.path.join(folder, f"frame-{sequence:06d}.png"), compress_level=1)


if __name__ == "__main__":
    command, url, folder = sys.argv[1:4]
    asyncio.run(send(url, folder) if command == "send" else receive(url, folder))
