"""`canvaswire serve` driven by an independent client: Python `websockets`."""
import asyncio
import io
import json
import os
import urllib.error
import urllib.request

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from cw import MAX_MESSAGE, connect, expect_close, make_frame, next_frame, parse_frame, random_rgba, read_control, run


def http_get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_http_endpoints(server):
    status, headers, body = http_get(server.url + "/healthz")
    assert (status, body) == (200, b"ok\n")
    status, headers, body = http_get(server.url + "/")
    assert status == 200 and b"<canvas" in body and headers["content-type"].startswith("text/html")
    status, _, body = http_get(server.url + "/send")
    assert status == 200 and b'<script src="send.js">' in body
    status, headers, body = http_get(server.url + "/send.js")
    assert status == 200 and b"bufferedAmount" in body and "javascript" in headers["content-type"]
    status, _, body = http_get(server.url + "/frame-source.js")
    assert status == 200 and b"getImageData" in body
    status, _, body = http_get(server.url + "/streams")
    streams = json.loads(body)["streams"]
    assert [s["name"] for s in streams] == ["demo"]
    assert streams[0]["publisher"] is not None
    status, _, _ = http_get(server.url + "/nothing-here")
    assert status == 404
    status, _, body = http_get(server.url + "/streams/demo")
    assert status == 426, "a WebSocket endpoint fetched over plain HTTP says so"


def test_demo_stream_moves_and_hello_describes_it(server):
    async def scenario():
        async with connect(server.ws + "/streams/demo") as ws:
            hello = json.loads(await ws.recv())
            assert hello["type"] == "hello" and hello["protocol"] == 1
            assert hello["role"] == "viewer" and hello["policy"] == "latest"
            assert hello["limits"]["maxWidth"] == 16384
            first = await next_frame(ws)
            second = await next_frame(ws)
            assert (first["width"], first["height"]) == (640, 360)
            assert len(first["payload"]) == 640 * 360 * 4
            assert second["sequence"] > first["sequence"]
            assert first["payload"] != second["payload"], "the demo pattern moves"
    run(scenario())


def test_fan_out_delivers_identical_bytes_in_order_to_every_viewer(server):
    frames = [random_rgba(33, 17) for _ in range(20)]

    async def scenario():
        viewers = [await connect(server.ws + "/streams/fan?policy=all").__aenter__() for _ in range(3)]
        for viewer in viewers:
            assert json.loads(await viewer.recv())["type"] == "hello"
        async with connect(server.ws + "/streams/fan/publish") as publisher:
            assert json.loads(await publisher.recv())["role"] == "publisher"
            for sequence, payload in enumerate(frames):
                await publisher.send(make_frame(33, 17, sequence, payload))
            await publisher.send(json.dumps({"type": "end"}))
            for viewer in viewers:
                end, received = await read_control(viewer, "end")
                assert end["lastSequence"] == 19
                assert [f["sequence"] for f in received] == list(range(20))
                assert [f["payload"] for f in received] == frames
                await viewer.close()
    run(scenario())


def test_late_joiner_gets_the_latest_frame_at_once(server):
    async def scenario():
        async with connect(server.ws + "/streams/late/publish") as publisher:
            await publisher.recv()
            for sequence in range(3):
                await publisher.send(make_frame(4, 4, sequence, bytes([sequence]) * 64))
            await (await publisher.ping())  # the pong follows the frames: the server has them all
            async with connect(server.ws + "/streams/late") as viewer:
                hello = json.loads(await viewer.recv())
                assert (hello["width"], hello["height"]) == (4, 4)
                frame = await next_frame(viewer)
                assert frame["sequence"] == 2 and frame["payload"] == bytes([2]) * 64
    run(scenario())


def test_viewer_may_connect_before_the_publisher(server):
    async def scenario():
        async with connect(server.ws + "/streams/early?policy=all") as viewer:
            hello = json.loads(await viewer.recv())
            assert "width" not in hello or hello["width"] is None
            state = json.loads(await viewer.recv())
            assert state == {"type": "publisher", "connected": False}
            async with connect(server.ws + "/streams/early/publish") as publisher:
                await publisher.recv()
                await publisher.send(make_frame(2, 2, 0, b"\x01" * 16))
                control, _ = await read_control(viewer, "publisher")
                assert control["connected"] is True
                frame = await next_frame(viewer)
                assert frame["payload"] == b"\x01" * 16
    run(scenario())


def test_bare_mode_stamps_sequence_and_time(server):
    frames = [random_rgba(5, 3) for _ in range(4)]

    async def scenario():
        async with connect(server.ws + "/streams/bare?policy=all") as viewer:
            await viewer.recv()
            async with connect(server.ws + "/streams/bare/publish?width=5&height=3") as publisher:
                await publisher.recv()
                for payload in frames:
                    await publisher.send(payload)
                received = [await next_frame(viewer) for _ in frames]
                assert [f["sequence"] for f in received] == [0, 1, 2, 3]
                assert [f["payload"] for f in received] == frames
                assert all((f["width"], f["height"], f["format"]) == (5, 3, 1) for f in received)
                assert all(f["micros"] > 1_600_000_000_000_000 for f in received)
                await publisher.send(b"\x00" * 7)
                await expect_close(publisher, 1008, "payload is 7 bytes")
    run(scenario())


def test_fragmented_messages_are_reassembled(server):
    payload = random_rgba(64, 64)
    message = make_frame(64, 64, 0, payload)

    async def scenario():
        async with connect(server.ws + "/streams/frag?policy=all") as viewer:
            await viewer.recv()
            async with connect(server.ws + "/streams/frag/publish") as publisher:
                await publisher.recv()
                chunks = [message[i:i + 1000] for i in range(0, len(message), 1000)]
                await publisher.send(iter(chunks))
                frame = await next_frame(viewer)
                assert frame["payload"] == payload
    run(scenario())


@pytest.mark.parametrize("name, message, code, reason", [
    ("magic", b"XXXX" + b"\x00" * 60, 1008, "magic"),
    ("format", make_frame(2, 2, 0, b"\x00" * 16, fmt=9), 1003, "pixel format 9 is reserved"),
    ("size", make_frame(2, 2, 0, b"\x00" * 15), 1008, "header promises 16"),
    ("huge", make_frame(50000, 50000, 0, b""), 1009, "exceeds the limit"),
    ("garbage text", "hello there", 1007, "control message"),
])
def test_bad_input_closes_only_that_connection(server, name, message, code, reason):
    async def scenario():
        async with connect(server.ws + "/streams/demo") as bystander:
            await bystander.recv()
            async with connect(server.ws + f"/streams/bad-{name.replace(' ', '-')}/publish") as publisher:
                await publisher.recv()
                await publisher.send(message)
                await expect_close(publisher, code, reason)
            before = (await next_frame(bystander))["sequence"]
            after = (await next_frame(bystander))["sequence"]
            assert after > before, "other connections keep being served"
    run(scenario())


def test_invalid_utf8_text_closes_with_1007(server):
    async def scenario():
        async with connect(server.ws + "/streams/utf/publish") as publisher:
            await publisher.recv()
            # websockets refuses to send invalid UTF-8 as text, so write the frame by hand.
            from websockets.frames import Frame, Opcode
            publisher.protocol.send_frame(Frame(Opcode.TEXT, b"\xff\xfe"))
            publisher.send_data()
            await expect_close(publisher, 1007, "UTF-8")
    run(scenario())


def test_message_over_the_payload_limit_is_1009(server_factory):
    server = server_factory("--max-payload", "1000", "--no-demo")

    async def scenario():
        async with connect(server.ws + "/streams/x/publish") as publisher:
            await publisher.recv()
            await publisher.send(make_frame(20, 20, 0, b"\x00" * 1600))
            await expect_close(publisher, 1009, "exceeds the limit of 1000 bytes")
    run(scenario())


def test_second_publisher_and_binary_from_a_viewer_are_refused(server):
    async def scenario():
        async with connect(server.ws + "/streams/one/publish") as first:
            await first.recv()
            async with connect(server.ws + "/streams/one/publish") as second:
                await expect_close(second, 1008, "already has a publisher")
            await first.send(make_frame(1, 1, 0, b"\x00" * 4))
        async with connect(server.ws + "/streams/one") as viewer:
            await viewer.recv()
            await viewer.send(b"\x00")
            await expect_close(viewer, 1003, "viewers do not send binary")
    run(scenario())


def test_refusals_before_the_upgrade(server_factory):
    server = server_factory("--token", "s3cret", "--allow-origin", "http://allowed.example")

    async def scenario():
        with pytest.raises(InvalidStatus) as bad_name:
            async with connect(server.ws + "/streams/bad%20name"):
                pass
        assert bad_name.value.response.status_code == 400
        assert b"invalid stream name" in bad_name.value.response.body
        with pytest.raises(InvalidStatus) as no_token:
            async with connect(server.ws + "/streams/x/publish"):
                pass
        assert no_token.value.response.status_code == 401
        with pytest.raises(InvalidStatus) as wrong_token:
            async with connect(server.ws + "/streams/x/publish?token=nope"):
                pass
        assert wrong_token.value.response.status_code == 401
        async with connect(server.ws + "/streams/x/publish?token=s3cret") as publisher:
            assert json.loads(await publisher.recv())["role"] == "publisher"
        async with connect(server.ws + "/streams/y/publish", additional_headers={"Authorization": "Bearer s3cret"}) as p:
            assert json.loads(await p.recv())["role"] == "publisher"
        with pytest.raises(InvalidStatus) as foreign:
            async with connect(server.ws + "/streams/x", origin="http://evil.example"):
                pass
        assert foreign.value.response.status_code == 403
        async with connect(server.ws + "/streams/x", origin="http://allowed.example") as viewer:
            assert json.loads(await viewer.recv())["role"] == "viewer"
        with pytest.raises(InvalidStatus) as policy:
            async with connect(server.ws + "/streams/x?policy=sometimes"):
                pass
        assert policy.value.response.status_code == 400
    run(scenario())


async def drain_available(ws, latest):
    """Reads whatever frames have arrived without waiting for more; returns the newest sequence."""
    while True:
        try:
            message = await asyncio.wait_for(ws.recv(), 0.001)
        except (asyncio.TimeoutError, TimeoutError):
            return latest
        if isinstance(message, bytes):
            latest = parse_frame(message)["sequence"]


def test_slow_latest_viewer_does_not_hold_back_a_fast_one_or_grow_memory(server_factory):
    server = server_factory("--no-demo", "--high-water-mark", "2000000")
    width, height = 512, 512  # 1 MiB frames
    count = 150

    async def scenario():
        slow = await connect(server.ws + "/streams/slow", max_queue=1).__aenter__()
        slow.transport.pause_reading()  # the slow viewer never reads
        async with connect(server.ws + "/streams/slow") as fast:
            await fast.recv()
            async with connect(server.ws + "/streams/slow/publish") as publisher:
                await publisher.recv()
                payload = random_rgba(width, height)
                latest = None
                for sequence in range(count):
                    await publisher.send(make_frame(width, height, sequence, payload))
                    latest = await drain_available(fast, latest)
                while latest != count - 1:
                    message = await asyncio.wait_for(fast.recv(), 20)
                    if isinstance(message, bytes):
                        latest = parse_frame(message)["sequence"]
                status = json.loads(urllib.request.urlopen(server.url + "/streams").read())
                stream = next(s for s in status["streams"] if s["name"] == "slow")
                slow_view = max(stream["viewers"], key=lambda v: v["bufferedAmount"])
                assert slow_view["bufferedAmount"] <= 2_000_000 + (width * height * 4 + 32)
                assert slow_view["dropped"] > 0 or slow_view["framesSent"] < count
                # 150 MiB went through; the server holds the latest frame and the slow viewer's window.
                assert server.rss_bytes() < 120 * 1024 * 1024, server.rss_bytes()
        slow.transport.close()
    run(scenario())


def test_lossless_viewer_gets_every_frame_and_pushes_back_on_the_publisher(server_factory):
    server = server_factory("--no-demo", "--high-water-mark", "1000000", "--low-water-mark", "200000")
    width, height = 256, 256  # 256 KiB frames
    count = 400  # 100 MiB in all

    async def scenario():
        viewer = await connect(server.ws + "/streams/lossless?policy=all", max_queue=1).__aenter__()
        await viewer.recv()
        viewer.transport.pause_reading()
        # Uncompressed, so that the publisher's bytes fill its socket: these frames compress 250-fold.
        async with connect(server.ws + "/streams/lossless/publish", write_limit=2 ** 20, compression=None) as publisher:
            await publisher.recv()
            sent = 0

            async def publish():
                nonlocal sent
                for sequence in range(count):
                    await publisher.send(make_frame(width, height, sequence, sequence.to_bytes(4, "little") * (width * height)))
                    sent += 1
            task = asyncio.create_task(publish())
            # Wait until the publisher is held back: its own buffer fills up because the server stopped reading.
            while publisher.transport.get_write_buffer_size() < 2 ** 20 and not task.done():
                await asyncio.sleep(0.05)
            assert not task.done(), "the publisher was never slowed down"
            assert sent < count
            assert server.rss_bytes() < 150 * 1024 * 1024, server.rss_bytes()
            viewer.transport.resume_reading()
            received = []
            while len(received) < count:
                message = await asyncio.wait_for(viewer.recv(), 30)
                if isinstance(message, bytes):
                    frame = parse_frame(message)
                    assert frame["payload"][:4] == frame["sequence"].to_bytes(4, "little")
                    received.append(frame["sequence"])
            await task
            assert received == list(range(count))
        await viewer.close()
    run(scenario())


def test_stuck_lossless_viewer_is_disconnected_after_the_stall_timeout(server_factory):
    server = server_factory("--no-demo", "--high-water-mark", "100000", "--low-water-mark", "10000", "--stall-timeout", "1")
    side = 256

    async def scenario():
        # Uncompressed: these frames would compress a thousand-fold and never fill the viewer's socket.
        viewer = await connect(server.ws + "/streams/stuck?policy=all", max_queue=1, ping_interval=None, compression=None).__aenter__()
        await viewer.recv()
        viewer.transport.pause_reading()
        async with connect(server.ws + "/streams/stuck/publish") as publisher:
            await publisher.recv()

            async def publish():
                # 50 MiB: far more than the socket buffers between the server and the stuck viewer hold.
                for sequence in range(200):
                    await publisher.send(make_frame(side, side, sequence, b"\x07" * (side * side * 4)))
            task = asyncio.create_task(publish())
            while True:
                status = json.loads(urllib.request.urlopen(server.url + "/streams").read())
                stream = next(s for s in status["streams"] if s["name"] == "stuck")
                if not stream["viewers"]:
                    break
                await asyncio.sleep(0.1)
            await asyncio.wait_for(task, 60)  # the publisher is read again once the stuck viewer is gone
        viewer.transport.abort()
    run(scenario())
    server.stop()
    assert "lossless viewer stalled" in server.log_text()


def test_latest_png_and_metrics(server):
    from PIL import Image

    async def scenario():
        payload = random_rgba(7, 5)
        async with connect(server.ws + "/streams/png/publish") as publisher:
            await publisher.recv()
            await publisher.send(make_frame(7, 5, 0, payload))
            await (await publisher.ping())
            status, headers, body = http_get(server.url + "/streams/png/latest.png")
            assert status == 200 and headers["content-type"] == "image/png"
            image = Image.open(io.BytesIO(body))
            assert image.size == (7, 5) and image.convert("RGBA").tobytes() == payload
        status, _, body = http_get(server.url + "/streams/never/latest.png")
        assert status == 404
        status, _, body = http_get(server.url + "/metrics")
        text = body.decode()
        assert 'canvaswire_frames_in_total{stream="png"} 1' in text
        assert "canvaswire_stream_buffered_amount_bytes" in text
    run(scenario())


def test_echo_round_trips_text_and_binary(server):
    async def scenario():
        async with connect(server.ws + "/echo") as ws:
            await ws.send("héllo")
            assert await ws.recv() == "héllo"
            blob = os.urandom(300_000)
            await ws.send(blob)
            assert await ws.recv() == blob
            pong = await ws.ping(b"x")
            await asyncio.wait_for(pong, 10)
    run(scenario())


def test_sigterm_closes_clients_with_1001_and_exits_0(server):
    async def scenario():
        async with connect(server.ws + "/streams/demo") as viewer:
            await viewer.recv()
            server.process.send_signal(__import__("signal").SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(viewer.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    run(scenario())
    assert server.process.wait(timeout=20) == 0


def test_tls_serves_https_and_wss(server_factory, tmp_path):
    import ssl
    import subprocess
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    server = server_factory("--tls-cert", str(cert), "--tls-key", str(key))
    assert server.url.startswith("https://")
    context = ssl.create_default_context(cafile=str(cert))
    with urllib.request.urlopen(server.url + "/healthz", context=context, timeout=10) as response:
        assert response.read() == b"ok\n"

    async def scenario():
        async with websockets.connect(server.ws.replace("ws://", "wss://").replace("https://", "wss://") + "/streams/demo",
                                      ssl=context, max_size=MAX_MESSAGE) as viewer:
            assert json.loads(await viewer.recv())["type"] == "hello"
            frame = await next_frame(viewer)
            assert (frame["width"], frame["height"]) == (640, 360)
    run(scenario())


def test_silent_connections_are_cut_off_after_the_handshake_timeout(server_factory):
    import socket
    server = server_factory("--handshake-timeout", "0.5", "--no-demo")
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as silent:
        assert silent.recv(1) == b"", "the server closes a connection that never sends a request"
    status, _, _ = http_get(server.url + "/healthz")
    assert status == 200, "and keeps serving everyone else"


def test_connection_and_stream_limits_refuse_clearly(server_factory):
    server = server_factory("--max-streams", "2", "--max-connections", "3")

    async def scenario():
        async with connect(server.ws + "/streams/one") as first:  # demo is the first stream
            await first.recv()
            with pytest.raises(InvalidStatus) as refused:
                async with connect(server.ws + "/streams/two"):
                    pass
            assert refused.value.response.status_code == 503
            assert b"maximum of 2 streams" in refused.value.response.body
            async with connect(server.ws + "/streams/one") as second:
                await second.recv()
                async with connect(server.ws + "/streams/one") as third:
                    await third.recv()
                    with pytest.raises((ConnectionClosed, OSError, EOFError, websockets.exceptions.InvalidHandshake)):
                        async with connect(server.ws + "/streams/one") as fourth:
                            await fourth.recv()
    run(scenario())
    assert "refusing connection" in server.log_text()
