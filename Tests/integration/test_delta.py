"""Delta frames (docs/PROTOCOL.md 1.1) from the outside: viewers with encoding=delta rebuild exactly
the published frames with an independent Python decoder (cw.apply_message), publishers' deltas are
applied by the server, and malformed deltas are refused with the right close codes."""
import asyncio
import json
import os
import struct

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from cw import apply_message, connect, delta_payload, make_frame, parse_frame, run, stream_status, wait_until

W, H = 320, 180


def screen_frames(count: int, width: int = W, height: int = H, seed: int = 1):
    """Frames of 'screen content': a fixed background with a few small regions changing each frame."""
    import random
    rng = random.Random(seed)
    image = bytearray(rng.randbytes(width * height * 4))
    frames = []
    for _ in range(count):
        for _ in range(3):
            x, y = rng.randrange(width - 8), rng.randrange(height - 8)
            for row in range(8):
                start = ((y + row) * width + x) * 4
                image[start:start + 32] = rng.randbytes(32)
        frames.append(bytes(image))
    return frames


async def frames_of(viewer, count: int):
    """The next `count` binary messages, with the control messages between them."""
    messages, controls = [], []
    while len(messages) < count:
        message = await asyncio.wait_for(viewer.recv(), 20)
        (controls if isinstance(message, str) else messages).append(message)
    return messages, controls


def test_a_delta_viewer_rebuilds_every_frame_exactly_and_gets_deltas(server_factory):
    server = server_factory("--no-demo")
    frames = screen_frames(30)

    async def scenario():
        async with connect(server.ws + "/streams/d?policy=all&encoding=delta") as viewer:
            hello = json.loads(await viewer.recv())
            assert hello["encoding"] == "delta"
            async with connect(server.ws + "/streams/d/publish", compression=None) as publisher:
                await publisher.recv()
                for sequence, pixels in enumerate(frames):
                    await publisher.send(make_frame(W, H, sequence, pixels))
                messages, _ = await frames_of(viewer, len(frames))
        held = None
        formats = []
        for sequence, message in enumerate(messages):
            formats.append(message[4])
            held = apply_message(held, message)
            assert bytes(held) == frames[sequence], f"frame {sequence} differs"
            assert parse_frame(message)["sequence"] == sequence
        assert formats[0] == 1, "the first frame is sent whole"
        assert formats[1:] == [3] * (len(frames) - 1), "then only deltas"
        assert max(len(m) for m in messages[1:]) < len(messages[0]) / 10, "three 8x8 changes cost at most 12 tiles"

    run(scenario())


def test_size_changes_and_png_frames_are_sent_whole_and_a_raw_viewer_sees_no_delta(server_factory):
    server = server_factory("--no-demo")
    small, large = screen_frames(3, 64, 32), screen_frames(3, 96, 48)
    png = open(os.path.join(os.path.dirname(__file__), "../../samples/palette-256x64.png"), "rb").read()

    async def scenario():
        async with connect(server.ws + "/streams/s?policy=all&encoding=delta") as delta, \
                connect(server.ws + "/streams/s?policy=all") as raw:
            for ws in (delta, raw):
                await ws.recv(), await ws.recv()
            async with connect(server.ws + "/streams/s/publish", compression=None) as publisher:
                await publisher.recv()
                sent = [make_frame(64, 32, 0, small[0]), make_frame(64, 32, 1, small[1]), make_frame(96, 48, 2, large[0]),
                        make_frame(96, 48, 3, large[1]), make_frame(256, 64, 4, png, fmt=2), make_frame(96, 48, 5, large[2])]
                for message in sent:
                    await publisher.send(message)
                delta_messages, _ = await frames_of(delta, len(sent))
                raw_messages, _ = await frames_of(raw, len(sent))
        assert [m[4] for m in delta_messages] == [1, 3, 1, 3, 2, 1]
        assert raw_messages == sent, "a raw viewer gets the publisher's bytes unchanged"
        held = None
        for message, expected in zip(delta_messages, [small[0], small[1], large[0], large[1], None, large[2]]):
            if message[4] == 2:
                held = None
                continue
            held = apply_message(held, message)
            assert bytes(held) == expected

    run(scenario())


async def publish_past_a_paused_viewer(server, stream: str, publisher, viewer, messages: list):
    """Publishes `messages` to the only, paused, viewer of `stream` until the server drops frames for
    it (checked at the 101st), then `end`, and lets the viewer read again."""
    for count, message in enumerate(messages, start=1):
        await publisher.send(message)
        if count == 101:
            wait_until(lambda: stream_status(server.url, stream)["viewers"][0]["dropped"] > 0,
                       message="frames dropped for the paused viewer")
    await publisher.send(json.dumps({"type": "end"}))
    viewer.transport.resume_reading()


async def rebuild_until_end(viewer, held, frames):
    """Reads a delta viewer's messages until `end`, rebuilding each frame from `held` and checking it
    against the published one. Returns (sequence, message length, frames dropped just before) each."""
    received, dropped = [], 0
    while True:
        message = await asyncio.wait_for(viewer.recv(), 20)
        if isinstance(message, str):
            control = json.loads(message)
            if control["type"] == "end":
                return received
            dropped += control.get("count", 0) if control["type"] == "dropped" else 0
            continue
        held = apply_message(held, message)
        sequence = parse_frame(message)["sequence"]
        assert bytes(held) == frames[sequence], f"frame {sequence} differs"
        received.append((sequence, len(message), dropped))
        dropped = 0


def test_a_slow_latest_delta_viewer_catches_up_with_exact_frames(server_factory):
    """A viewer that stops reading falls behind; each frame it then gets must equal the published frame
    of the same sequence number, and it must have skipped some (one catch-up delta for many frames)."""
    server = server_factory("--no-demo", "--high-water-mark", "20000", "--low-water-mark", "5000")
    # A band of 40 rows changes in each frame (100 KB deltas), so that the kernel's socket buffers
    # fill within the first hundred frames and the server starts holding frames back.
    import random
    rng = random.Random(7)
    image = bytearray(rng.randbytes(640 * 360 * 4))
    frames = []
    for sequence in range(200):
        top = (sequence * 40) % 320
        image[top * 640 * 4:(top + 40) * 640 * 4] = rng.randbytes(40 * 640 * 4)
        frames.append(bytes(image))

    async def scenario():
        viewer = await connect(server.ws + "/streams/slow?encoding=delta&policy=latest", max_queue=1).__aenter__()
        await viewer.recv()
        await viewer.recv()
        viewer.transport.pause_reading()
        async with connect(server.ws + "/streams/slow/publish", compression=None) as publisher:
            await publisher.recv()
            await publish_past_a_paused_viewer(server, "slow", publisher, viewer,
                                               [make_frame(640, 360, n, pixels) for n, pixels in enumerate(frames)])
            received = await rebuild_until_end(viewer, None, frames)
            shown = [sequence for sequence, _, _ in received]
            assert shown[-1] == len(frames) - 1, "the last frame shown is the newest"
            assert sum(dropped for _, _, dropped in received) > 0 and len(shown) < len(frames)
        await viewer.close()

    run(scenario())


def test_a_publishers_deltas_are_applied_by_the_server(server_factory):
    server = server_factory("--no-demo")
    base = bytearray(os.urandom(W * H * 4))
    expected = [bytes(base)]
    deltas = []
    for step in range(5):
        rect = (10 * step, 5 * step, 16, 8)
        patch = os.urandom(16 * 8 * 4)
        image = bytearray(expected[-1])
        x, y, w, h = rect
        for row in range(h):
            start = ((y + row) * W + x) * 4
            image[start:start + w * 4] = patch[row * w * 4:(row + 1) * w * 4]
        expected.append(bytes(image))
        deltas.append(delta_payload([rect], lambda r, p=patch: p))

    async def scenario():
        async with connect(server.ws + "/streams/p?policy=all") as raw, \
                connect(server.ws + "/streams/p?policy=all&encoding=delta") as delta:
            for ws in (raw, delta):
                await ws.recv(), await ws.recv()
            async with connect(server.ws + "/streams/p/publish", compression=None) as publisher:
                await publisher.recv()
                await publisher.send(make_frame(W, H, 0, expected[0]))
                for sequence, payload in enumerate(deltas, start=1):
                    await publisher.send(make_frame(W, H, sequence, payload, fmt=3))
                raw_messages, _ = await frames_of(raw, len(expected))
                delta_messages, _ = await frames_of(delta, len(expected))
        for sequence, message in enumerate(raw_messages):
            frame = parse_frame(message)
            assert (frame["format"], frame["sequence"], frame["payload"]) == (1, sequence, expected[sequence])
        held = None
        for sequence, message in enumerate(delta_messages):
            held = apply_message(held, message)
            assert bytes(held) == expected[sequence]
        assert [m[4] for m in delta_messages] == [1, 3, 3, 3, 3, 3]

    run(scenario())


BAD_DELTAS = {
    "overlap": (delta_payload([(0, 0, 4, 4), (2, 2, 4, 4)], lambda r: bytes(r[2] * r[3] * 4)), 1008, "overlaps"),
    "out-of-bounds": (delta_payload([(W - 2, 0, 4, 1)], lambda r: bytes(16)), 1008, "past the frame's width"),
    "short": (delta_payload([(0, 0, 4, 4)], lambda r: bytes(60)), 1008, "delta"),
    "empty-rectangle": (struct.pack("<IHHHH", 1, 0, 0, 0, 4) + bytes(4), 1008, "delta rectangle 0"),
}


@pytest.mark.parametrize("bad", list(BAD_DELTAS))
def test_malformed_deltas_are_refused(server_factory, bad):
    server = server_factory("--no-demo")
    payload, code, reason = BAD_DELTAS[bad]

    async def scenario():
        async with connect(server.ws + "/streams/bad/publish", compression=None) as publisher:
            await publisher.recv()
            await publisher.send(make_frame(W, H, 0, bytes(W * H * 4)))
            await publisher.send(make_frame(W, H, 1, payload, fmt=3))
            with pytest.raises(ConnectionClosed) as closed:
                for _ in range(10):
                    await asyncio.wait_for(publisher.recv(), 10)
            assert closed.value.rcvd.code == code, closed.value.rcvd
            assert reason in closed.value.rcvd.reason, closed.value.rcvd.reason

    run(scenario())


def test_a_delta_before_any_full_frame_is_refused(server_factory):
    server = server_factory("--no-demo")

    async def scenario():
        async with connect(server.ws + "/streams/first/publish", compression=None) as publisher:
            await publisher.recv()
            await publisher.send(make_frame(W, H, 0, delta_payload([], None), fmt=3))
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(publisher.recv(), 10)
            assert closed.value.rcvd.code == 1008
            assert "send a full frame first" in closed.value.rcvd.reason

    run(scenario())


def test_an_unknown_encoding_is_refused_before_the_upgrade(server):
    async def scenario():
        with pytest.raises(InvalidStatus) as refused:
            async with connect(server.ws + "/streams/demo?encoding=jpeg"):
                pass
        assert refused.value.response.status_code == 400
        assert b"encoding must be raw or delta" in refused.value.response.body

    run(scenario())


def test_a_catching_up_viewer_gets_only_the_tiles_that_changed_inside_a_publishers_rectangles(server_factory):
    """A publisher's delta may cover pixels that did not change: here each frame's rectangle is a band
    of 40 full rows, but only one 8x8 block inside one 16-pixel tile changes. A viewer in step gets the
    publisher's own delta; one that fell behind gets a catch-up delta the server makes from the tiles
    that really changed: that one tile, not the band, and exact. (That the server compares only inside
    the rectangles is seen by RelayStreamDeltaOriginTests, not from the outside.)"""
    server = server_factory("--no-demo", "--high-water-mark", "20000", "--low-water-mark", "5000")
    width, height, band = 640, 360, 40
    import random
    rng = random.Random(11)
    image = bytearray(rng.randbytes(width * height * 4))
    frames, deltas = [bytes(image)], []
    for _ in range(200):
        for row in range(16, 24):
            start = (row * width + 16) * 4
            image[start:start + 32] = rng.randbytes(32)
        frames.append(bytes(image))
        deltas.append(delta_payload([(0, 0, width, band)], lambda r, frame=frames[-1]: frame[:width * band * 4]))
    own_delta = 32 + 4 + 8 + width * band * 4
    one_tile = 32 + 4 + 8 + 16 * 16 * 4

    async def scenario():
        viewer = await connect(server.ws + "/streams/band?encoding=delta&policy=latest", max_queue=1).__aenter__()
        await viewer.recv()
        await viewer.recv()
        async with connect(server.ws + "/streams/band/publish", compression=None) as publisher:
            await publisher.recv()
            await publisher.send(make_frame(width, height, 0, frames[0]))
            (first,), _ = await frames_of(viewer, 1)
            held = apply_message(None, first)
            assert bytes(held) == frames[0]
            viewer.transport.pause_reading()
            await publish_past_a_paused_viewer(server, "band", publisher, viewer, [
                make_frame(width, height, n, payload, fmt=3) for n, payload in enumerate(deltas, start=1)])
            received = await rebuild_until_end(viewer, held, frames)
        sizes = {"in step": set(), "catching up": set()}
        for _, length, dropped in received:
            sizes["catching up" if dropped else "in step"].add(length)
        assert sizes["catching up"] == {one_tile}, sizes
        assert sizes["in step"] <= {own_delta}, sizes
        await viewer.close()

    run(scenario())
