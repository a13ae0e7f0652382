"""Acknowledged viewers (`?ack=N`, docs/PROTOCOL.md "Acknowledged viewers") against the real binary,
with `websockets` as an independent client: the window, the newest frame on an ack, a lossless viewer
held to its acks and cut by the stall timeout, bad acks closed with clear codes, and `receive --live`
acknowledging what it writes."""
import asyncio
import json
import subprocess

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from conftest import canvaswire_binary
from cw import make_frame, next_frame, parse_frame, read_control, run, stream_status, viewer_entry, wait_until


async def polled(server, stream: str, condition, message: str):
    """The viewer's entry in GET /streams once `condition` holds for it."""
    return await asyncio.to_thread(
        wait_until, lambda: (entry := viewer_entry(server, stream)) and condition(entry) and entry, message=message)


async def publisher_for(server, stream: str):
    publisher = await websockets.connect(f"{server.ws}/streams/{stream}/publish", open_timeout=10)
    await read_control(publisher, "hello")
    return publisher


def ack(sequence: int) -> str:
    return json.dumps({"type": "ack", "sequence": sequence})


def test_a_latest_viewer_has_at_most_n_frames_in_flight_and_gets_the_newest_on_an_ack(server_factory):
    server = server_factory("--no-demo")

    async def scenario():
        publisher = await publisher_for(server, "window")
        async with websockets.connect(f"{server.ws}/streams/window?ack=3", open_timeout=10) as viewer:
            hello, _ = await read_control(viewer, "hello")
            assert hello["ack"] == 3
            for sequence in range(10):
                await publisher.send(make_frame(2, 2, sequence, bytes(16)))
            # Every frame has been offered (3-8 dropped for 9) while only the window went out,
            # though the socket buffers could hold all ten many times over.
            entry = await polled(server, "window", lambda e: e["dropped"] == 6, "frames 3-8 dropped for frame 9")
            assert (entry["framesSent"], entry["framesInFlight"]) == (3, 3)
            assert [(await next_frame(viewer))["sequence"] for _ in range(3)] == [0, 1, 2]

            await viewer.send(ack(1))  # covers frame 0 too
            dropped, _ = await read_control(viewer, "dropped")
            assert (dropped["count"], dropped["total"]) == (6, 6)
            assert (await next_frame(viewer))["sequence"] == 9, "the newest frame, at once"
            entry = await polled(server, "window", lambda e: e["framesSent"] == 4, "frame 9 sent")
            assert entry["framesInFlight"] == 2
            await viewer.send(ack(9))
            await polled(server, "window", lambda e: e["framesInFlight"] == 0, "frames 2 and 9 acknowledged")
        await publisher.close()

    run(scenario(), timeout=60)


def test_a_lossless_viewer_that_acks_gets_every_frame_in_order_then_the_end(server_factory):
    server = server_factory("--no-demo")

    async def scenario():
        publisher = await publisher_for(server, "lossless")
        async with websockets.connect(f"{server.ws}/streams/lossless?policy=all&ack=2", open_timeout=10) as viewer:
            await read_control(viewer, "hello")
            for sequence in range(30):
                await publisher.send(make_frame(4, 4, sequence, bytes([sequence]) * 64))
            await publisher.send(json.dumps({"type": "end", "lastSequence": 29}))
            received = []
            while True:
                message = await asyncio.wait_for(viewer.recv(), 10)
                if isinstance(message, str):
                    if json.loads(message)["type"] == "end":
                        break
                    continue
                frame = parse_frame(message)
                assert (frame["sequence"], frame["payload"]) == (len(received), bytes([len(received)]) * 64), \
                    f"frame {len(received)} arrived changed or out of order"
                received.append(len(received))
                await viewer.send(ack(received[-1]))
            assert received == list(range(30))
        await publisher.close()

    run(scenario(), timeout=60)


def test_a_lossless_viewer_that_never_acks_is_cut_by_the_stall_timeout(server_factory):
    server = server_factory("--no-demo", "--stall-timeout", "1")

    async def scenario():
        publisher = await publisher_for(server, "stuck")
        async with websockets.connect(f"{server.ws}/streams/stuck?policy=all&ack=1", open_timeout=10) as viewer:
            await read_control(viewer, "hello")
            for sequence in range(3):
                await publisher.send(make_frame(2, 2, sequence, bytes(16)))
            frames = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    message = await asyncio.wait_for(viewer.recv(), 30)
                    if isinstance(message, bytes):
                        frames.append(parse_frame(message)["sequence"])
            assert closed.value.rcvd.code == 1008
            assert "lossless viewer stalled" in closed.value.rcvd.reason
            assert frames == [0], "frames 1 and 2 waited for an ack that never came"
        await publisher.close()

    run(scenario(), timeout=60)


@pytest.mark.parametrize("query, messages, code, reason", [
    ("?ack=1", ['{"type":"ack"}'], 1007, '"ack" message has missing or mistyped fields'),
    ("?ack=1", ['{"type":"ack","sequence":-1}'], 1007, '"ack" message has missing or mistyped fields'),
    ("?ack=1", [ack(12345)], 1008, "ack for frame 12345, which is not in flight (only 0 is)"),
    ("?ack=1", [ack(0), ack(0)], 1008, "ack for frame 0, which is not in flight (none is)"),
    ("", [ack(0)], 1008, "ack messages need a viewer connection opened with ?ack=N"),
])
def test_bad_acks_close_the_connection_with_a_clear_code(server_factory, query, messages, code, reason):
    server = server_factory("--no-demo")

    async def scenario():
        publisher = await publisher_for(server, "bad")
        await publisher.send(make_frame(2, 2, 0, bytes(16)))
        await asyncio.to_thread(
            wait_until, lambda: (s := stream_status(server.url, "bad")) and s["lastSequence"] == 0, message="the frame")
        async with websockets.connect(f"{server.ws}/streams/bad{query}", open_timeout=10) as viewer:
            assert (await next_frame(viewer))["sequence"] == 0
            for message in messages:
                await viewer.send(message)
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(viewer.recv(), 10)
            assert closed.value.rcvd.code == code
            assert reason in closed.value.rcvd.reason, closed.value.rcvd.reason
        await publisher.close()

    run(scenario(), timeout=60)


def test_receive_live_acknowledges_each_frame_it_writes(server_factory, tmp_path):
    """`receive --live` asks for one frame in flight per writer and acks each once written: frames
    published one at a time, each after the last was acknowledged, all arrive; without acks the
    window would fill after the first few and nothing more would come."""
    server = server_factory("--no-demo")
    out = tmp_path / "out"
    out.mkdir()
    receiver = subprocess.Popen(
        [canvaswire_binary(), "receive", f"{server.ws}/streams/live", "--live", "--count", "8", "--out", str(out),
         "--format", "rgba", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        async def scenario():
            entry = await polled(server, "live", lambda e: True, "the receiver")
            window = entry["ack"]
            assert entry["policy"] == "latest" and window >= 1
            publisher = await publisher_for(server, "live")
            for sequence in range(8):
                await publisher.send(make_frame(4, 4, sequence, bytes([sequence]) * 64))
                if sequence < 7:  # after the 8th frame the receiver closes
                    await polled(server, "live", lambda e, n=sequence + 1: e["framesSent"] == n and e["framesInFlight"] == 0,
                                 f"frame {sequence} written and acknowledged")
            await publisher.close()
            return window

        window = run(scenario(), timeout=60)
        stdout, stderr = receiver.communicate(timeout=60)
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait()
    assert receiver.returncode == 0, stderr
    assert json.loads(stdout)["frames"] == 8 > window
    assert sorted(path.read_bytes() for path in out.iterdir()) == [bytes([n]) * 64 for n in range(8)]
