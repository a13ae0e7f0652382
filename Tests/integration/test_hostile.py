"""Hostile and broken peers against a real `canvaswire serve` on loopback.

Each test is bounded in time (every wait has a deadline) and in connections, and asserts outcomes
(who keeps being served, who is cut off, how much memory the server holds), never how fast anything
happened. Cases already covered elsewhere are not repeated here: single silent connections
(test_server.py), the 1002/1007/1009 close codes for single messages (test_conformance.py).
"""
import asyncio
import json
import os
import resource
import selectors
import socket
import struct
import time

import pytest
import websockets

from cw import MAX_MESSAGE, make_frame, parse_frame, random_rgba, run, start_receiver, wait_for_viewers, wait_until
from rawws import BINARY, CONT, PING, PONG, TEXT, RawWebSocket

MiB = 1024 * 1024


def raise_open_file_limit(wanted: int) -> None:
    """The server inherits this process's limits, so raise them before starting it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < wanted:
        pytest.skip(f"needs {wanted} open files; the hard limit is {hard}")


def address(server):
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


def wait_for_eof(sockets: list[socket.socket], timeout: float) -> list[socket.socket]:
    """Waits until every socket has reached EOF (or a reset); returns the ones still open at the deadline."""
    selector = selectors.DefaultSelector()
    for sock in sockets:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    open_ = set(sockets)
    deadline = time.monotonic() + timeout
    while open_ and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.5):
            try:
                data = key.fileobj.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            except BlockingIOError:
                continue
            if not data:  # anything else (an HTTP 408, say) is read and ignored until the EOF
                selector.unregister(key.fileobj)
                open_.discard(key.fileobj)
    selector.close()
    return list(open_)


async def count_frames(ws, stop: asyncio.Event) -> int:
    frames = 0
    while not stop.is_set():
        try:
            message = await asyncio.wait_for(ws.recv(), 0.5)
        except (asyncio.TimeoutError, TimeoutError):
            continue
        if isinstance(message, bytes):
            frames += 1
    return frames


def test_hundreds_of_unfinished_handshakes_are_cut_off_while_a_viewer_keeps_watching(server_factory):
    raise_open_file_limit(2048)
    server = server_factory("--handshake-timeout", "1")
    host, port = address(server)
    stuck_kinds = {
        "silent": b"",
        "half a request head": b"GET /streams/demo HTTP/1.1\r\nHost: x\r\nUpgrade: websock",
        "head promising a body it never sends": b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n",
        "idle keep-alive after one request": b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    }

    async def scenario():
        async with websockets.connect(server.ws + "/streams/demo", max_size=MAX_MESSAGE, open_timeout=10) as viewer:
            stop = asyncio.Event()
            counter = asyncio.create_task(count_frames(viewer, stop))
            stuck = []
            for index in range(300):
                sock = socket.create_connection((host, port), timeout=10)
                request = list(stuck_kinds.values())[index % len(stuck_kinds)]
                if request:
                    sock.sendall(request)
                stuck.append(sock)
            left_open = await asyncio.to_thread(wait_for_eof, stuck, 60)
            stop.set()
            frames = await counter
            for sock in stuck:
                sock.close()
            return len(left_open), frames

    left_open, frames = run(scenario(), timeout=180)
    assert left_open == 0, f"{left_open} of 300 unfinished connections were never cut off"
    assert frames > 0, "the viewer stopped receiving demo frames while the stuck connections were open"

    async def still_serving():  # and the server takes new viewers afterwards
        async with websockets.connect(server.ws + "/streams/demo", max_size=MAX_MESSAGE, open_timeout=10) as viewer:
            while not isinstance(await asyncio.wait_for(viewer.recv(), 10), bytes):
                pass
    run(still_serving(), timeout=180)


def test_viewers_that_never_read_keep_server_memory_bounded(server_factory):
    server = server_factory("--no-demo", "--high-water-mark", "1000000", "--low-water-mark", "500000")
    width, height = 512, 512  # 1 MiB frames
    count = 120
    stalled = []
    for _ in range(20):  # raw viewers with tiny receive buffers that never read a byte
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(10)
        sock.connect(address(server))
        sock.sendall(b"GET /streams/wall?policy=latest HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     b"Sec-WebSocket-Version: 13\r\n\r\n")
        stalled.append(sock)
    wait_for_viewers(server.url, "wall", 20)
    baseline = server.rss_bytes()

    async def scenario():
        async with websockets.connect(server.ws + "/streams/wall", max_size=MAX_MESSAGE) as fast:
            async with websockets.connect(server.ws + "/streams/wall/publish", max_size=MAX_MESSAGE) as publisher:
                await publisher.recv()
                payload = random_rgba(width, height)
                for sequence in range(count):
                    await publisher.send(make_frame(width, height, sequence, payload))
                latest = -1
                while latest != count - 1:
                    message = await asyncio.wait_for(fast.recv(), 20)
                    if isinstance(message, bytes):
                        latest = parse_frame(message)["sequence"]
                return server.rss_bytes()

    peak = run(scenario(), timeout=180)
    for sock in stalled:
        sock.close()
    # 120 MiB passed 21 viewers. Frames are shared between viewers, and each stalled viewer holds at
    # most its 1 MB window plus one frame, so growth stays far below what buffering would take (2.5 GB).
    assert peak - baseline < 100 * MiB, f"server grew by {(peak - baseline) / MiB:.0f} MiB"


@pytest.mark.parametrize("shape", ["inside-a-websocket-frame", "between-fragments"])
def test_publisher_that_stops_mid_message_is_closed_and_harms_no_one(server_factory, shape):
    server = server_factory("--ping-interval", "0.5", "--dead-peer-timeout", "2")
    stuck = RawWebSocket(server.ws + "/streams/stuck/publish")
    try:
        assert json.loads(stuck.recv_frame()[3])["type"] == "hello"
        message = make_frame(64, 64, 0, random_rgba(64, 64))
        if shape == "inside-a-websocket-frame":
            # A masked binary frame whose length field promises the whole message; half of it is sent.
            key = os.urandom(4)
            header = struct.pack("!BBH", 0x80 | BINARY, 0x80 | 126, len(message)) + key
            stuck.sock.sendall(header + bytes(b ^ key[i % 4] for i, b in enumerate(message[: len(message) // 2])))
        else:
            stuck.send_frame(BINARY, message[:1000], fin=False)  # the first fragment, then nothing

        async def others_unaffected():
            async with websockets.connect(server.ws + "/streams/demo", max_size=MAX_MESSAGE) as viewer:
                frames = 0
                while frames < 5:
                    if isinstance(await asyncio.wait_for(viewer.recv(), 10), bytes):
                        frames += 1
            async with websockets.connect(server.ws + "/echo", max_size=MAX_MESSAGE) as echo:
                await echo.send(b"still here")
                assert await asyncio.wait_for(echo.recv(), 10) == b"still here"
        run(others_unaffected(), timeout=180)
        # The stuck publisher answers no ping, so the dead-peer timeout ends it (the server pings
        # it, then closes the socket).
        assert not wait_for_eof([stuck.sock], 30), "the silent publisher was never closed"
    finally:
        stuck.close()
    wait_until(lambda: "peer silent" in server.log_text(), 10, message="the dead-peer log line")


def test_publisher_that_answers_pings_but_never_finishes_a_message_is_closed(server_factory):
    server = server_factory("--no-demo", "--ping-interval", "0.3", "--dead-peer-timeout", "1.5")
    message = make_frame(64, 64, 0, random_rgba(64, 64))

    async def scenario():
        async with websockets.connect(server.ws + "/streams/stall/publish", max_size=MAX_MESSAGE) as publisher:
            await publisher.recv()
            never = asyncio.Event()

            async def first_fragment_then_nothing():
                yield message[:1000]
                await never.wait()

            sending = asyncio.create_task(publisher.send(first_fragment_then_nothing()))
            # websockets keeps answering the server's pings meanwhile, so only the unfinished
            # message can end this connection.
            await asyncio.wait_for(publisher.wait_closed(), 30)
            sending.cancel()
            assert publisher.close_code == 1008, publisher.close_code
            assert "unfinished" in publisher.close_reason
    run(scenario(), timeout=180)


def test_fragment_flood_is_reassembled_within_bounds_and_refused_beyond_the_limit(server_factory):
    server = server_factory("--no-demo")
    baseline = server.rss_bytes()
    ws = RawWebSocket(server.ws + "/echo")
    try:
        blob = os.urandom(5001)
        frames = [_masked(BINARY, blob[:1], fin=False)]
        frames += [_masked(CONT, blob[i:i + 1], fin=False) for i in range(1, 5000)]
        frames.append(_masked(CONT, blob[5000:], fin=True))
        ws.sock.sendall(b"".join(frames))
        assert ws.recv_message() == (BINARY, blob), "5,001 one-byte fragments make one message"
    finally:
        ws.close()

    # Empty continuation frames add no bytes; past 65,536 fragments the message is refused with 1009.
    ws = RawWebSocket(server.ws + "/echo")
    try:
        flood = _masked(BINARY, b"x", fin=False) + _masked(CONT, b"", fin=False) * 70_000
        try:
            ws.sock.sendall(flood)
        except (BrokenPipeError, ConnectionResetError):
            pass
        ws.expect_close(1009)
    finally:
        ws.close()
    assert server.rss_bytes() - baseline < 64 * MiB
    ws = RawWebSocket(server.ws + "/echo")
    ws.send_frame(TEXT, b"ok")
    assert ws.recv_message() == (TEXT, b"ok")
    ws.close()


def test_ping_flood_from_a_peer_that_never_reads_keeps_memory_bounded(server_factory):
    server = server_factory("--no-demo")
    baseline = server.rss_bytes()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the flooder reads nothing back
    sock.settimeout(30)
    sock.connect(address(server))
    flooder = RawWebSocket.__new__(RawWebSocket)
    flooder.sock, flooder.buffer = sock, b""
    _handshake(flooder, "/echo")
    ping = _masked(PING, b"p" * 125)
    for _ in range(40):  # 200,000 pings, 26 MB of them, asking for 25 MB of pongs
        sock.sendall(ping * 5000)
        status = _http_status(server, "/healthz")
        assert status == 200, "the server keeps answering others during the flood"
    grown = server.rss_bytes() - baseline
    # Now read: the pongs that were queued arrive, then the answer to a fresh ping.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    flooder.send_raw_frame(PING, b"last")
    pongs = 0
    while True:
        fin, rsv, opcode, payload = flooder.recv_frame()
        if opcode == PONG:
            pongs += 1
            if payload == b"last":
                break
    flooder.close()
    assert grown < 32 * MiB, f"server grew by {grown / MiB:.0f} MiB during the ping flood"
    assert pongs < 200_000, "pongs are coalesced while the peer does not read"


def test_frame_length_field_claiming_a_huge_size_is_refused_before_any_payload(server_factory):
    server = server_factory("--no-demo")
    for path in ("/streams/big/publish", "/echo"):
        ws = RawWebSocket(server.ws + path)
        if path != "/echo":
            ws.recv_frame()  # hello
        # 2^40 bytes promised by the 64-bit length field; not one byte of payload follows.
        ws.sock.sendall(struct.pack("!BBQ", 0x80 | BINARY, 0x80 | 127, 1 << 40) + os.urandom(4))
        ws.expect_close(1009)
        ws.close()


def test_a_thousand_idle_viewers(server_factory):
    raise_open_file_limit(4096)
    server = server_factory("--no-demo")
    viewers_wanted = 1000

    async def scenario():
        first = await websockets.connect(server.ws + "/streams/idle", max_size=MAX_MESSAGE, open_timeout=30)
        await first.recv()
        before = server.rss_bytes()
        viewers = [first]
        for _ in range(viewers_wanted // 100):
            batch = await asyncio.gather(*(
                websockets.connect(server.ws + "/streams/idle", max_size=MAX_MESSAGE, open_timeout=60, ping_interval=None)
                for _ in range(100)
            ))
            viewers += batch
        await asyncio.to_thread(wait_for_viewers, server.url, "idle", len(viewers), 60)
        after = server.rss_bytes()
        # Every viewer is live: a frame published now reaches each one.
        async with websockets.connect(server.ws + "/streams/idle/publish", max_size=MAX_MESSAGE) as publisher:
            await publisher.recv()
            await publisher.send(make_frame(4, 4, 9, bytes(64)))

            async def frame_of(viewer):
                while True:
                    message = await asyncio.wait_for(viewer.recv(), 60)
                    if isinstance(message, bytes):
                        return parse_frame(message)["sequence"]
            sequences = await asyncio.gather(*(frame_of(v) for v in viewers))
        await asyncio.gather(*(v.close() for v in viewers))
        return before, after, len(viewers), sequences

    before, after, connected, sequences = run(scenario(), timeout=300)
    per_connection = (after - before) / (connected - 1)
    print(f"\n{connected} idle viewers: server RSS {before / MiB:.1f} -> {after / MiB:.1f} MiB, "
          f"{per_connection / 1024:.1f} KiB per idle connection")
    assert connected == viewers_wanted + 1
    assert set(sequences) == {9}
    assert per_connection < 256 * 1024, f"{per_connection / 1024:.0f} KiB per idle connection"


# --- helpers ---------------------------------------------------------------------------------------

def _masked(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """One masked client frame (payloads under 64 KiB)."""
    key = os.urandom(4)
    n = len(payload)
    first = (0x80 if fin else 0) | opcode
    header = struct.pack("!BB", first, 0x80 | n) if n < 126 else struct.pack("!BBH", first, 0x80 | 126, n)
    return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def _handshake(ws: RawWebSocket, path: str) -> None:
    import base64
    key = base64.b64encode(os.urandom(16)).decode()
    ws.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    while b"\r\n\r\n" not in ws.buffer:
        ws.buffer += ws._recv_some()
    head, ws.buffer = ws.buffer.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 101"), head


def _http_status(server, path: str) -> int:
    import urllib.request
    with urllib.request.urlopen(server.url + path, timeout=20) as response:
        return response.status


# --- faults: the disk, the signals, restarts --------------------------------------------------------

import pathlib  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402

from PIL import Image  # noqa: E402

from conftest import canvaswire_binary  # noqa: E402


def noise_pngs(folder: pathlib.Path, count: int, size: int = 256) -> list[bytes]:
    """PNGs of random pixels (they do not compress: about size*size*4 bytes each); returns their RGBA."""
    folder.mkdir(parents=True, exist_ok=True)
    pixels = []
    for index in range(count):
        rgba = os.urandom(size * size * 4)
        Image.frombytes("RGBA", (size, size), rgba).save(folder / f"f{index:03d}.png", compress_level=0)
        pixels.append(rgba)
    return pixels


def sender(server, *args: str, stream: str = "faults") -> subprocess.Popen:
    return subprocess.Popen(
        [canvaswire_binary(), "send", f"{server.ws}/streams/{stream}/publish", "--json", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def assert_only_complete_frames(out: pathlib.Path, expected: list[bytes]) -> list[int]:
    """Every file is a complete frame-NNNNNN.png holding exactly frame NNNNNN; no temporaries anywhere."""
    names = sorted(p.name for p in out.iterdir())
    sequences = []
    for name in names:
        assert name.startswith("frame-") and name.endswith(".png"), f"stray file {name}"
        sequence = int(name[6:12])
        assert Image.open(out / name).convert("RGBA").tobytes() == expected[sequence], name
        sequences.append(sequence)
    return sequences


@pytest.fixture
def tmpfs(tmp_path):
    """Mounts small tmpfs file systems (root only); unmounts them at the end."""
    mounted = []

    def mount(name: str, options: str) -> pathlib.Path:
        target = tmp_path / name
        target.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
        mounted.append(target)
        return target

    yield mount
    for target in reversed(mounted):
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


def test_receiver_on_a_full_disk_names_it_exits_non_zero_and_leaves_no_partial_file(server_factory, tmp_path, tmpfs):
    server = server_factory("--no-demo")
    expected = noise_pngs(tmp_path / "in", 16)  # 16 x 256 KiB into 2 MiB
    out = tmpfs("out", "size=2m")
    receiving = start_receiver(server, "faults", out)
    sending = sender(server, str(tmp_path / "in"))
    _, stderr = receiving.communicate(timeout=120)
    sending.communicate(timeout=120)
    assert receiving.returncode != 0
    assert "disk is full" in stderr, stderr
    written = assert_only_complete_frames(out, expected)
    assert 0 < len(written) < 16


def test_receiver_refuses_a_read_only_folder_and_stops_when_it_becomes_read_only(server_factory, tmp_path, tmpfs):
    server = server_factory("--no-demo")
    read_only = tmpfs("ro", "size=1m,ro")
    refused = subprocess.run(
        [canvaswire_binary(), "receive", server.ws + "/streams/faults", "--out", str(read_only)],
        capture_output=True, text=True, timeout=60,
    )
    assert refused.returncode != 0 and "not writable" in refused.stderr, refused.stderr

    expected = noise_pngs(tmp_path / "in", 40, size=64)
    out = tmpfs("out", "size=8m")
    receiving = start_receiver(server, "faults", out)
    sending = sender(server, str(tmp_path / "in"), "--fps", "20")
    wait_until(lambda: len(list(out.iterdir())) >= 5, 60, message="the first files")
    subprocess.run(["mount", "-o", "remount,ro", str(out)], check=True)
    _, stderr = receiving.communicate(timeout=120)
    sending.communicate(timeout=120)
    assert receiving.returncode != 0
    assert "Read-only file system" in stderr, stderr
    assert len(assert_only_complete_frames(out, expected)) >= 5


def test_sigterm_stops_a_receiver_cleanly_after_writing_what_it_received(server_factory, tmp_path):
    server = server_factory("--no-demo")
    expected = noise_pngs(tmp_path / "in", 200, size=64)
    out = tmp_path / "out"
    out.mkdir()
    receiving = start_receiver(server, "faults", out)
    sending = sender(server, str(tmp_path / "in"), "--fps", "40")
    wait_until(lambda: len(list(out.iterdir())) >= 5, 60, message="the first files")
    receiving.send_signal(signal.SIGTERM)
    stdout, stderr = receiving.communicate(timeout=60)
    assert receiving.returncode == 128 + signal.SIGTERM, stderr
    summary = json.loads(stdout)
    assert summary["stoppedBy"] == "SIGTERM" and summary["closeCode"] == 1001 and not summary["ended"]
    written = assert_only_complete_frames(out, expected)
    assert len(written) == summary["frames"], "every frame it counted is on disk, and nothing else"
    sending.kill()
    sending.wait(timeout=20)


def test_sigterm_stops_a_sender_with_1001_and_no_end_message(server_factory, tmp_path):
    server = server_factory("--no-demo")
    noise_pngs(tmp_path / "in", 200, size=32)

    async def scenario():
        async with websockets.connect(server.ws + "/streams/faults?policy=all", max_size=MAX_MESSAGE) as viewer:
            sending = sender(server, str(tmp_path / "in"), "--fps", "40")
            frames, control = 0, []
            while frames < 5:
                message = await asyncio.wait_for(viewer.recv(), 30)
                frames += isinstance(message, bytes)
            sending.send_signal(signal.SIGTERM)
            stdout, stderr = await asyncio.to_thread(sending.communicate, timeout=60)
            while True:  # what the viewer hears after that: the publisher leaves, the stream does not end
                message = await asyncio.wait_for(viewer.recv(), 30)
                if isinstance(message, str):
                    control.append(json.loads(message))
                    if control[-1]["type"] == "publisher" and not control[-1]["connected"]:
                        assert control[-1]["runState"] == "interrupted"  # left without end: may continue
                        break
            return sending.returncode, stdout, stderr, control

    returncode, stdout, stderr, control = run(scenario(), timeout=180)
    assert returncode == 128 + signal.SIGTERM, stderr
    assert json.loads(stdout)["stoppedBy"] == "SIGTERM"
    assert "the stream was not ended" in stderr
    assert not any(c["type"] == "end" for c in control)


def test_server_sigterm_during_a_lossless_transfer_ends_the_receiver_cleanly(server_factory, tmp_path):
    server = server_factory("--no-demo")
    expected = noise_pngs(tmp_path / "in", 200, size=64)
    out = tmp_path / "out"
    out.mkdir()
    receiving = start_receiver(server, "faults", out)
    sending = sender(server, str(tmp_path / "in"), "--fps", "40", "--no-reconnect")
    wait_until(lambda: len(list(out.iterdir())) >= 5, 60, message="the first files")
    assert server.stop() == 0
    stdout, stderr = receiving.communicate(timeout=60)
    assert receiving.returncode == 0, stderr
    summary = json.loads(stdout)
    assert summary["closeCode"] == 1001
    assert len(assert_only_complete_frames(out, expected)) == summary["frames"]
    sending.communicate(timeout=60)
    assert sending.returncode != 0, "without --no-reconnect it would wait for the server to come back"
