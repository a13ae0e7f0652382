#!/usr/bin/env python3
"""Writes the seed corpora under Tests/Fuzz/corpus/<target>/: a few valid inputs per fuzz target.

    python3 Tests/Fuzz/make_corpus.py      # from the repository root; needs tools/pngcases.py

Deterministic, so re-running it changes nothing. The corpora are checked in; libFuzzer grows its own
copies under .build-fuzz (see tools/fuzz).
"""
import pathlib
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "Tests" / "Fuzz" / "corpus"


def frame(fmt, width, height, sequence, payload, header_length=32, flags=0):
    head = struct.pack("<4sBBHIIQQ", b"CWF1", fmt, flags, header_length, width, height, sequence, 1_700_000_000_000_000)
    return head + b"\0" * (header_length - 32) + payload


def write(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def main():
    shutil.rmtree(CORPUS, ignore_errors=True)
    png = (ROOT / "samples" / "palette-256x64.png").read_bytes()
    # frame-reader: 4 control bytes (limits, split pattern), then the message.
    small_limits, split = b"\x00\x00\x00", bytes([5])
    write("frame-reader", "rgba-2x2", small_limits + split + frame(1, 2, 2, 7, bytes(range(16))))
    write("frame-reader", "rgba-1x1-long-header", small_limits + bytes([11]) + frame(1, 1, 1, 0, b"\1\2\3\4", header_length=48))
    write("frame-reader", "png-payload", b"\x01\x01\x01" + split + frame(2, 256, 64, 3, png))
    write("frame-reader", "huge-claim", b"\x11\x11\x01" + bytes([2]) + frame(1, 50000, 50000, 0, b""))
    write("frame-reader", "truncated", small_limits + split + frame(1, 4, 4, 1, b"\xff" * 10))

    # control-message: JSON text.
    messages = {
        "hello": '{"type":"hello","protocol":1,"role":"viewer","stream":"demo","width":640,"height":360,'
                 '"policy":"latest","limits":{"maxWidth":16384,"maxHeight":16384,"maxPayloadBytes":268435456},'
                 '"highWaterMark":4194304,"server":"canvaswire/0.1.0"}',
        "end": '{"type":"end","lastSequence":299}',
        "end-empty": '{"type":"end"}',
        "dropped": '{"type":"dropped","count":3,"total":10}',
        "publisher": '{"type":"publisher","connected":true}',
        "unknown": '{"type":"later","extra":[1,2,{"a":null}]}',
    }
    for name, text in messages.items():
        write("control-message", name, text.encode())

    # png: the samples and a spread of colour types, depths and broken files from tools/pngcases.py.
    for sample in sorted((ROOT / "samples").glob("*.png")):
        write("png", sample.name, sample.read_bytes())
    with tempfile.TemporaryDirectory() as cases:
        subprocess.run([sys.executable, str(ROOT / "tools" / "pngcases.py"), cases], check=True, stdout=subprocess.DEVNULL)
        picks = ["ct0_d1_flat_7x3", "ct0_d16_adam7_trns_7x3", "ct2_d8_flat_7x3", "ct2_d16_adam7_7x3",
                 "ct3_d2_flat_7x3", "ct3_d8_adam7_trns_7x3", "ct4_d8_flat_7x3", "ct6_d16_adam7_7x3",
                 "ct6_d8_flat_33x17", "bomb_50000x50000", "broken_zlib", "bad_filter_type"]
        for pick in picks:
            path = pathlib.Path(cases) / f"{pick}.png"
            if path.exists():
                write("png", path.name, path.read_bytes())
    two = (ROOT / "samples" / "palette-256x64.png").read_bytes() + (ROOT / "samples" / "interlaced-97x61.png").read_bytes()
    write("png", "two-files-stream", two)

    # request: the URI, then header lines.
    requests = {
        "publish": "/streams/cam/publish?token=fuzz-token\nHost: 127.0.0.1:8080",
        "bare": "/streams/cam/publish?width=640&height=360\nAuthorization: Bearer fuzz-token",
        "view-all": "/streams/demo?policy=all&token=fuzz%2Dtoken\nOrigin: http://allowed.example\nHost: x",
        "view-own-origin": "/streams/a.b_c-d?policy=latest\nOrigin: http://127.0.0.1:8080\nHost: 127.0.0.1:8080\nAuthorization: Bearer fuzz-token",
        "echo": "/echo",
        "bad-name": "/streams/%2e%2e%2Fetc?policy=all",
        "client-url": "ws://127.0.0.1:8080/streams/cam?policy=all",
        "client-url-ipv6": "wss://[::1]:8443/streams/cam/publish?width=2&height=2",
        "page": "/?stream=demo",
    }
    for name, text in requests.items():
        write("request", name, text.encode())

    # frame-decoder: read sizes up to a zero byte, then client frames (masked, as browsers send them).
    def ws(opcode, payload, fin=True, mask=b"\x12\x34\x56\x78"):
        length = len(payload)
        head = bytes([(0x80 if fin else 0) | opcode])
        size = length if length < 126 else 126 if length < 65536 else 127
        head += bytes([(0x80 if mask else 0) | size])
        if size == 126:
            head += struct.pack("!H", length)
        elif size == 127:
            head += struct.pack("!Q", length)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if mask else payload
        return head + (mask or b"") + body

    streams = {
        "one-binary": (b"\x07\x03", ws(2, frame(1, 1, 1, 0, b"\x00\x00\x00\xff"))),
        "fragments-and-ping": (b"\x01\x02\x05", ws(2, b"abc" * 20, fin=False) + ws(9, b"hi") + ws(0, b"def" * 30)),
        "text-close": (b"\x0e", ws(1, b'{"type":"end"}') + ws(8, b"\x03\xe8bye")),
        "length-16-bit": (b"\xff", ws(2, bytes(range(256)))),
        "too-large": (b"\x04", ws(2, bytes(400))),
        "unmasked-empty": (b"\x01", ws(2, b"", mask=b"") + ws(10, b"")),
    }
    for name, (cuts, data) in streams.items():
        write("frame-decoder", name, cuts + b"\x00" + data)

    # delta: the frame's width and height (byte % 16 + 1), then a delta payload (pixel format 3).
    def delta(rects, trailing=b"", count=None):
        out = struct.pack("<I", len(rects) if count is None else count)
        for x, y, w, h in rects:
            out += struct.pack("<HHHH", x, y, w, h) + bytes((x + y + i) % 251 for i in range(w * h * 4))
        return out + trailing

    deltas = {
        "empty": (3, 3, delta([])),
        "one-rect": (7, 4, delta([(2, 1, 3, 2)])),
        "touching": (15, 15, delta([(0, 0, 8, 8), (8, 0, 8, 8), (0, 8, 16, 8)])),
        "one-pixel-flood": (2, 2, delta([(x, y, 1, 1) for y in range(3) for x in range(3)])),
        "full-frame": (15, 0, delta([(0, 0, 16, 1)])),
        "overlap": (7, 7, delta([(0, 0, 4, 4), (3, 3, 2, 2)])),
        "past-the-edge": (4, 4, delta([(3, 0, 3, 1)])),
        "trailing-byte": (3, 3, delta([(0, 0, 1, 1)], trailing=b"\0")),
        "count-too-large": (3, 3, delta([(0, 0, 1, 1)], count=1000)),
    }
    for name, (width, height, payload) in deltas.items():
        write("delta", name, bytes([width, height]) + payload)

    # nats-parser: read sizes up to a zero byte, then what nats-server 2.9 sends (max_payload 300 in the target).
    info = b'INFO {"server_id":"NDDG","version":"2.9.10","proto":1,"headers":true,"max_payload":300} \r\n'
    nats = {
        "session": (b"\x07\x03", info + b"PING\r\nMSG frames.cam 1 5\r\nhello\r\nPONG\r\n+OK\r\n"),
        "reply-and-empty": (b"\x01", b"MSG _INBOX.x.3 1  26\r\n{\"stream\":\"KV_b\", \"seq\":1}\r\nMSG a.b 7 reply.to 0\r\n\r\n"),
        "statuses": (b"\x05\x0b", b"HMSG _INBOX.x.1 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n"
                     b"HMSG _INBOX.x.6 1  34 34\r\nNATS/1.0 404 Message Not Found\r\n\r\n\r\n"),
        "kv-headers": (b"\x02", b"HMSG $KV.b.k 2 $JS.ACK.KV_b.c.1.3.2.17.0 70 72\r\nNATS/1.0\r\n"
                       b"Nats-Expected-Last-Subject-Sequence: 0\r\nNats-Msg-Size: 2\r\n\r\nv2\r\n"),
        "error": (b"\x03", b"-ERR 'Slow Consumer'\r\n"),
        "too-large": (b"\x04", b"MSG big 1 301\r\n" + bytes(301) + b"\r\n"),
    }
    for name, (cuts, data) in nats.items():
        write("nats-parser", name, cuts + b"\x00" + data)


if __name__ == "__main__":
    main()
