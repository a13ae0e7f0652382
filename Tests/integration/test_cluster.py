"""Relay nodes joined through NATS: real `nats-server`, real `canvaswire serve --nats` nodes on
127.0.0.1, Python `websockets` clients. Every promise of docs/PROTOCOL.md, kept across nodes."""
import asyncio
import json
import os
import signal
import socket
import urllib.error
import urllib.request

import pytest
from websockets.exceptions import ConnectionClosed

from cw import (connect, expect_close, make_frame, next_frame, parse_frame, random_rgba, read_control, run,
                stream_status, wait_until)


def http_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def metric(server, name: str) -> float:
    """The value of one Prometheus sample line of the server's /metrics (0 when absent)."""
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.split(" ")[0] == name:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def numbered(width: int, height: int, sequence: int) -> bytes:
    """A payload that says which frame it is: the sequence number, repeated."""
    return sequence.to_bytes(4, "little") * (width * height)


def test_lossless_viewers_on_every_node_get_exactly_the_frames_sent_on_one(cluster):
    a, b, c = cluster("a"), cluster("b"), cluster("c")
    frames = [random_rgba(97, 61) for _ in range(60)]

    async def scenario():
        viewers = [await connect(node.ws + "/streams/cam?policy=all").__aenter__() for node in (b, c, a)]
        for viewer in viewers:
            assert json.loads(await viewer.recv())["type"] == "hello"
            assert json.loads(await viewer.recv()) == {"type": "publisher", "connected": False}
        async with connect(a.ws + "/streams/cam/publish") as publisher:
            run_id = json.loads(await publisher.recv())["run"]
            for sequence, payload in enumerate(frames):
                await publisher.send(make_frame(97, 61, sequence, payload))
            await publisher.send(json.dumps({"type": "end"}))
            for viewer in viewers:
                joined, before = await read_control(viewer, "publisher", timeout=30)
                assert before == [] and joined["connected"] is True and joined["run"] == run_id
                end, received = await read_control(viewer, "end", timeout=30)
                assert end == {"type": "end", "lastSequence": 59, "run": run_id}
                assert [f["sequence"] for f in received] == list(range(60))
                assert [f["payload"] for f in received] == frames
                await viewer.close()
    run(scenario(), timeout=180)
    # One publish per frame for the whole cluster, whatever the number of nodes and viewers.
    assert metric(a, 'canvaswire_cluster_frames_published_total{node="a"}') == 60
    assert metric(b, 'canvaswire_cluster_frames_received_total{node="b"}') == 60


def test_a_1080p_frame_crosses_nodes_in_chunks_byte_for_byte(cluster):
    a, b = cluster("a"), cluster("b")
    frames = [random_rgba(1920, 1080) for _ in range(2)]

    async def scenario():
        async with connect(b.ws + "/streams/big?policy=all") as viewer:
            await viewer.recv()
            async with connect(a.ws + "/streams/big/publish") as publisher:
                await publisher.recv()
                for sequence, payload in enumerate(frames):
                    await publisher.send(make_frame(1920, 1080, sequence, payload))
                received = [await next_frame(viewer, timeout=30) for _ in frames]
                assert [f["payload"] == payload for f, payload in zip(received, frames)] == [True, True]
                assert [(f["width"], f["height"], f["sequence"]) for f in received] == [(1920, 1080, 0), (1920, 1080, 1)]
    run(scenario(), timeout=180)
    # nats-server's default max_payload is 1 MiB: each 8,294,432-byte frame took eight messages.
    assert metric(a, 'canvaswire_nats_messages_out_total{node="a"}') >= 16


def test_a_late_viewer_on_another_node_gets_the_latest_frame_then_only_newer_ones(cluster):
    a, b = cluster("a"), cluster("b")

    async def scenario():
        async with connect(a.ws + "/streams/late/publish") as publisher:
            run_id = json.loads(await publisher.recv())["run"]
            for sequence in range(3):
                await publisher.send(make_frame(8, 8, sequence, numbered(8, 8, sequence)))
            await (await publisher.ping())
            async with connect(b.ws + "/streams/late") as viewer:
                assert json.loads(await viewer.recv())["policy"] == "latest"
                joined, _ = await read_control(viewer, "publisher", timeout=30)
                if not joined["connected"]:  # the hello came before this node heard from node a
                    joined, _ = await read_control(viewer, "publisher", timeout=30)
                assert joined["connected"] is True and joined["run"] == run_id
                latest = await next_frame(viewer, timeout=30)
                assert latest["sequence"] == 2 and latest["payload"] == numbered(8, 8, 2)
                with urllib.request.urlopen(b.url + "/streams/late/latest.png", timeout=10) as response:
                    assert response.status == 200 and response.headers["content-type"] == "image/png"
                for sequence in range(3, 200):
                    await publisher.send(make_frame(8, 8, sequence, numbered(8, 8, sequence)))
                seen = [2]
                while seen[-1] != 199:
                    frame = await next_frame(viewer, timeout=30)
                    assert frame["payload"] == numbered(8, 8, frame["sequence"])
                    seen.append(frame["sequence"])
                assert seen == sorted(set(seen)), "a live viewer never gets an older frame after a newer one"
            assert http_json(b.url + "/streams")["node"] == "b"
            # The claim names its run from the node's next renewal on.
            entry = {"name": "late", "node": "a", "publisher": True, "run": run_id}
            wait_until(lambda: entry in http_json(b.url + "/streams")["cluster"], message="the stream listed with its node")
    run(scenario(), timeout=180)


def test_a_slow_lossless_viewer_on_node_c_pauses_the_publisher_on_a_and_loses_nothing(cluster):
    high_water_mark = 1_000_000
    marks = ("--high-water-mark", str(high_water_mark), "--low-water-mark", "200000")
    a, c = cluster("a", *marks), cluster("c", *marks)
    width, height, count = 256, 256, 400  # 100 MiB in 256 KiB frames
    frame_bytes = 32 + width * height * 4

    def frames(size: int) -> int:
        return -(-size // frame_bytes)

    async def scenario():
        # No permessage-deflate for the viewer: a numbered frame deflates a thousandfold, and all 400
        # would fit in the kernel's socket buffers without ever stalling it.
        viewer = await connect(c.ws + "/streams/slow?policy=all", max_queue=1, compression=None).__aenter__()
        await viewer.recv()
        viewer.transport.pause_reading()
        baseline = {node: node.rss_bytes() for node in (a, c)}
        async with connect(a.ws + "/streams/slow/publish", write_limit=2 ** 20, compression=None) as publisher:
            await publisher.recv()
            sent = 0

            async def publish():
                nonlocal sent
                for sequence in range(count):
                    await publisher.send(make_frame(width, height, sequence, numbered(width, height, sequence)))
                    sent += 1
            task = asyncio.create_task(publish())
            while publisher.transport.get_write_buffer_size() < 2 ** 20 and not task.done():
                await asyncio.sleep(0.05)
            assert not task.done(), "the publisher on node a was never slowed down"
            # The publisher stays held while the viewer on c reads nothing: watch node a for 3 s.
            frames_in, growth = [], {a: 0, c: 0}
            for _ in range(12):
                await asyncio.sleep(0.25)
                frames_in.append(stream_status(a.url, "slow")["framesIn"])
                for node in growth:
                    growth[node] = max(growth[node], node.rss_bytes() - baseline[node])
            # What node a may take from the publisher before it stops reading it, in frames:
            # - what the kernel takes between node c and the paused viewer: c's unsent bytes (its
            #   TCP_NOTSENT_LOWAT, 2 MiB) and the viewer's receive buffer;
            # - what node c's outbox holds once the viewer counts as stalled: the high-water mark (4);
            # - the credit window c granted before it stalled: 8 MiB (ClusterConfiguration.creditBytes)
            #   in whole frames, CreditWindow.items (31);
            # - what node a had read from the publisher when its link to the cluster stalled: one read
            #   of at most 1 MiB (maxMessagesPerRead 1), a frame cut by it and the frame queued (6).
            # About 50 frames; unheld, node a takes all 400 within the window.
            notsent = stream_status(c.url, "slow")["viewers"][0]["socket"]["notSentLowWaterMark"]
            receive_buffer = viewer.transport.get_extra_info("socket").getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
            assert notsent is not None, "node c's viewer socket has no TCP_NOTSENT_LOWAT"
            held = (frames(notsent + receive_buffer) + frames(high_water_mark) + max(2, (8 << 20) // frame_bytes)
                    + frames(2 ** 20) + 2)
            assert max(frames_in) <= held, (frames_in, held)
            assert not task.done() and sent < count, "the publisher went on while the viewer on c read nothing"
            # Memory stays bounded on both nodes: each frame of the window above is held at most twice
            # on a node (as received, and as queued to NATS or to the viewer's socket), plus 16 MiB for
            # the publisher's connection and the allocator: about 42 MB. Unheld, node c's outbox would
            # keep every frame its viewer's socket did not take: some 390 frames, 100 MB.
            bound = 2 * held * frame_bytes + (16 << 20)
            assert growth[a] <= bound and growth[c] <= bound, (growth, bound)
            viewer.transport.resume_reading()
            received = []
            while len(received) < count:
                message = await asyncio.wait_for(viewer.recv(), 60)
                if isinstance(message, bytes):
                    frame = parse_frame(message)
                    assert frame["payload"] == numbered(width, height, frame["sequence"])
                    received.append(frame["sequence"])
            await task
            assert received == list(range(count))
        await viewer.close()
    run(scenario(), timeout=180)


def test_killing_the_node_of_a_stalled_lossless_viewer_frees_the_publisher(cluster):
    marks = ("--high-water-mark", "1000000", "--low-water-mark", "200000")
    a, c = cluster("a", *marks), cluster("c", *marks)
    width, height, count = 256, 256, 300

    async def scenario():
        stuck = await connect(c.ws + "/streams/kill?policy=all", max_queue=1, ping_interval=None).__aenter__()
        await stuck.recv()
        stuck.transport.pause_reading()
        async with connect(a.ws + "/streams/kill?policy=all") as local:
            await local.recv()
            received = []

            async def read_local():
                while len(received) < count:
                    received.append((await next_frame(local, timeout=60))["sequence"])
            reader = asyncio.create_task(read_local())
            async with connect(a.ws + "/streams/kill/publish", write_limit=2 ** 20, compression=None) as publisher:
                await publisher.recv()

                async def publish():
                    for sequence in range(count):
                        await publisher.send(make_frame(width, height, sequence, numbered(width, height, sequence)))
                task = asyncio.create_task(publish())
                while publisher.transport.get_write_buffer_size() < 2 ** 20 and not task.done():
                    await asyncio.sleep(0.05)
                assert not task.done(), "the viewer on node c never held the publisher back"
                c.process.send_signal(signal.SIGKILL)
                c.process.wait()
                await asyncio.wait_for(task, 60)  # node a lets go of the dead node within a few seconds
                await reader
                assert received == list(range(count)), "the viewer on node a lost nothing meanwhile"
        stuck.transport.abort()
    run(scenario(), timeout=180)


def test_a_second_publisher_on_another_node_is_refused_naming_the_node_and_may_take_over_later(cluster):
    a, b = cluster("a"), cluster("b")

    async def scenario():
        async with connect(a.ws + "/streams/one?policy=all") as viewer:
            await viewer.recv()
            async with connect(a.ws + "/streams/one/publish") as first:
                assert json.loads(await first.recv())["role"] == "publisher"
                async with connect(b.ws + "/streams/one/publish") as second:
                    await expect_close(second, 1008, "already has a publisher on node a", timeout=30, max_messages=100000)
                await first.send(make_frame(2, 2, 0, b"\x01" * 16))
                assert (await next_frame(viewer))["payload"] == b"\x01" * 16
            # The first publisher left: a publisher on node b takes the stream over, and the viewer
            # on node a follows it.
            async with connect(b.ws + "/streams/one/publish") as taker:
                run_id = json.loads(await taker.recv())["run"]
                await taker.send(make_frame(2, 2, 0, b"\x02" * 16))
                joined = None
                while joined is None or not joined["connected"]:
                    joined, _ = await read_control(viewer, "publisher", timeout=30)
                assert joined["run"] == run_id
                assert (await next_frame(viewer, timeout=30))["payload"] == b"\x02" * 16
    run(scenario(), timeout=180)


async def lossless_until(viewer, received: list, done):
    """Reads a lossless viewer's 16x16 numbered frames into `received` until `done(received, control)`;
    returns how it was closed if it is closed first. Whatever happens, it never skips a frame."""
    try:
        while True:
            message = await asyncio.wait_for(viewer.recv(), 60)
            control = json.loads(message) if isinstance(message, str) else None
            if control is None:
                frame = parse_frame(message)
                assert frame["payload"] == numbered(16, 16, frame["sequence"])
                assert not received or frame["sequence"] == received[-1] + 1, (received[-1], frame["sequence"])
                received.append(frame["sequence"])
            if done(received, control):
                return None
    except ConnectionClosed as closed:
        return closed


class NumberedFrames:
    """Publishes 16x16 numbered frames on `publisher`, one every 10 ms, until stopped; `sequence` is
    the number of the next one."""

    def __init__(self, publisher):
        self.publisher, self.sequence = publisher, 0
        self.stopping = asyncio.Event()
        self.task = asyncio.create_task(self.publish())

    async def publish(self):
        while not self.stopping.is_set():
            await self.publisher.send(make_frame(16, 16, self.sequence, numbered(16, 16, self.sequence)))
            self.sequence += 1
            await asyncio.sleep(0.01)

    async def stop(self):
        """Stops publishing; fails if publishing failed (the publisher was closed)."""
        self.stopping.set()
        await self.task


async def live_and_lossless_viewers(node, stream: str):
    """A `latest` and a `policy=all` viewer of `stream` on `node`, past their hello."""
    live = await connect(node.ws + f"/streams/{stream}").__aenter__()
    lossless = await connect(node.ws + f"/streams/{stream}?policy=all").__aenter__()
    await live.recv()
    await lossless.recv()
    return live, lossless


def test_nats_server_restarting_mid_stream_the_nodes_reconnect_and_the_stream_goes_on(cluster, nats):
    a, b = cluster("a"), cluster("b")

    async def scenario():
        live, lossless = await live_and_lossless_viewers(b, "restart")
        async with connect(a.ws + "/streams/restart/publish") as publisher:
            run_id = json.loads(await publisher.recv())["run"]
            frames = NumberedFrames(publisher)
            seen = [(await next_frame(live, timeout=30))["sequence"]]
            while seen[-1] < 10:  # mid-stream: frames have crossed from node a to node b
                seen.append((await next_frame(live, timeout=30))["sequence"])
            # Down for half a second, then back on the same port: the nodes' reconnect attempts (0.1,
            # 0.2, 0.4, 0.8 s apart) find it well within the 3 s after which nodes give each other up.
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, nats.stop)
            await asyncio.sleep(0.5)
            await loop.run_in_executor(None, nats.restart)
            back = frames.sequence  # every frame from this one on was published with nats-server back
            # The live viewer keeps its connection and gets frames published after the restart, never
            # an older one after a newer one.
            while seen[-1] <= back + 20:
                frame = await next_frame(live, timeout=60)
                assert frame["payload"] == numbered(16, 16, frame["sequence"])
                seen.append(frame["sequence"])
            assert seen == sorted(set(seen)), "never an older frame"
            # The lossless viewer gets every frame, through the restart and after it; or, if its node
            # lost frames that could not be sent again, it is closed with 1011 (having skipped none),
            # and a lossless viewer that connects again gets every frame from then on.
            received = []
            closed = await lossless_until(lossless, received, lambda got, _: got and got[-1] > back + 20)
            if closed is not None:
                assert closed.rcvd is not None and closed.rcvd.code == 1011, closed
                assert "lost between nodes" in closed.rcvd.reason, closed.rcvd
                lossless = await connect(b.ws + "/streams/restart?policy=all").__aenter__()
                assert json.loads(await lossless.recv())["type"] == "hello"
                rejoined, received = frames.sequence, []
                closed = await lossless_until(lossless, received, lambda got, _: got and got[-1] > rejoined + 20)
                assert closed is None, closed
            await frames.stop()  # the publisher on node a was never closed meanwhile
            # The run goes on to its end, the same on node b: the lossless viewer got every frame to it.
            await publisher.send(json.dumps({"type": "end"}))
            end, _ = await read_control(live, "end", timeout=30)
            assert end == {"type": "end", "lastSequence": frames.sequence - 1, "run": run_id}
            closed = await lossless_until(lossless, received, lambda _, control: control and control["type"] == "end")
            assert closed is None and received[-1] == frames.sequence - 1, (closed, received[-1], frames.sequence)
        await live.close()
        await lossless.close()
    run(scenario(), timeout=180)
    assert metric(a, 'canvaswire_nats_reconnects_total{node="a"}') >= 1
    assert metric(b, 'canvaswire_nats_reconnects_total{node="b"}') >= 1


def test_an_outage_longer_than_the_node_timeout_closes_remote_lossless_viewers_and_live_ones_go_on(cluster, nats):
    """nats-server down for longer than the 3 s after which nodes give each other up: the frames
    published on node a meanwhile never reach node b, so its lossless viewer is closed with 1011
    (having skipped nothing), while its live viewer is told the publisher is gone, then back in the
    same run, and goes on with frames published after the outage."""
    a, b = cluster("a"), cluster("b")

    async def scenario():
        live, lossless = await live_and_lossless_viewers(b, "outage")
        async with connect(a.ws + "/streams/outage/publish") as publisher:
            run_id = json.loads(await publisher.recv())["run"]
            frames = NumberedFrames(publisher)
            received = []
            closed = await lossless_until(lossless, received, lambda got, _: len(got) >= 10)
            assert closed is None, closed
            started = {"connected": False}
            while not started["connected"]:  # the viewer came before the publisher: "none yet", then the run
                started, _ = await read_control(live, "publisher", timeout=30)
            assert started["run"] == run_id, started
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, nats.stop)
            # Until both sides gave each other up (the 3 s node timeout): node b stops following the
            # publisher, node a's link to the cluster lets the stream go (its next welcome is a new one).
            await loop.run_in_executor(None, lambda: wait_until(
                lambda: stream_status(b.url, "outage")["publisher"] is None
                and stream_status(a.url, "outage")["viewers"] == [], timeout=30,
                message="nodes a and b giving each other up"))
            await loop.run_in_executor(None, nats.restart)
            back = frames.sequence  # published with nats-server back
            closed = await lossless_until(lossless, received, lambda got, _: False)
            assert closed.rcvd is not None and closed.rcvd.code == 1011, closed
            assert "lost between nodes" in closed.rcvd.reason, closed.rcvd
            # The live viewer: the publisher gone while node a could not be heard, then back in the
            # same run, then frames published after the outage.
            left, _ = await read_control(live, "publisher", timeout=30)
            assert left["connected"] is False, left
            again, _ = await read_control(live, "publisher", timeout=60)
            assert again["connected"] is True and again["run"] == run_id and again["continued"] is True, again
            frame = await next_frame(live, timeout=60)
            while frame["sequence"] < back:
                frame = await next_frame(live, timeout=60)
            assert frame["payload"] == numbered(16, 16, frame["sequence"])
            await frames.stop()  # the publisher on node a was never closed
        await live.close()
    run(scenario(), timeout=180)


def test_nodes_fail_clearly_without_nats_and_serve_alone_without_the_option(server_factory, nats):
    import subprocess
    from conftest import canvaswire_binary
    dead = nats.url
    nats.stop()
    result = subprocess.run(
        [canvaswire_binary(), "serve", "--port", "0", "--no-demo", "--nats", dead, "--node-name", "x"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "cannot join the cluster" in result.stderr and "nats-server" in result.stderr
    alone = server_factory("--no-demo")
    assert "node" not in http_json(alone.url + "/streams")


def test_latest_png_is_the_same_on_a_node_without_viewers_and_after_the_publisher_left(cluster):
    import io
    from PIL import Image
    a, b = cluster("a"), cluster("b")
    payload = random_rgba(7, 5)

    def latest_png(node, name):
        try:
            with urllib.request.urlopen(f"{node.url}/streams/{name}/latest.png", timeout=10) as response:
                return response.status, Image.open(io.BytesIO(response.read())).convert("RGBA").tobytes()
        except urllib.error.HTTPError as error:
            return error.code, None

    async def scenario():
        async with connect(a.ws + "/streams/png/publish") as publisher:
            await publisher.recv()
            await publisher.send(make_frame(7, 5, 0, payload))
            await (await publisher.ping())
            assert latest_png(b, "png") == (200, payload)
        assert latest_png(b, "png") == (200, payload), "node a still holds the stream's latest frame"
    run(scenario(), timeout=180)
    assert latest_png(b, "never")[0] == 404


def test_the_haproxy_sample_routes_each_stream_to_one_node_and_relays_it(cluster):
    """samples/cluster/haproxy.cfg in front of three nodes: publisher and viewers through HAProxy meet
    on the node the stream's name hashes to; viewers connected to the other nodes get every frame too."""
    import shutil
    import subprocess
    from conftest import ROOT
    if shutil.which("haproxy") is None:
        pytest.fail("haproxy is not installed (tools/test installs it: apt-get install haproxy)")
    nodes = {name: cluster(name) for name in ("a", "b", "c")}
    # HAProxy cannot bind port 0: it inherits a socket the kernel gave a free port to.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    environment = dict(os.environ, CW_LISTEN=f"fd@{listener.fileno()}",
                       **{f"CW_NODE_{name.upper()}": node.url.removeprefix("http://") for name, node in nodes.items()})
    proxy = subprocess.Popen(["haproxy", "-db", "-f", str(ROOT / "samples/cluster/haproxy.cfg")],
                             env=environment, pass_fds=[listener.fileno()],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    listener.close()
    base = f"ws://127.0.0.1:{port}"
    frames = [random_rgba(40, 30) for _ in range(30)]
    try:
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/healthz"), message="HAProxy answering")

        async def scenario():
            through = await connect(base + "/streams/routed?policy=all").__aenter__()
            direct = [await connect(node.ws + "/streams/routed?policy=all").__aenter__() for node in nodes.values()]
            for viewer in [through, *direct]:
                await viewer.recv()
            async with connect(base + "/streams/routed/publish") as publisher:
                await publisher.recv()
                for sequence, payload in enumerate(frames):
                    await publisher.send(make_frame(40, 30, sequence, payload))
                await publisher.send(json.dumps({"type": "end"}))
                for viewer in [through, *direct]:
                    _, received = await read_control(viewer, "end", timeout=30)
                    assert [f["payload"] for f in received] == frames
                holder = next(s for s in http_json(f"http://127.0.0.1:{port}/streams")["cluster"] if s["name"] == "routed")["node"]
                # The viewer that came through HAProxy is on the publisher's node: two local viewers there.
                local = stream_status(nodes[holder].url, "routed")
                assert local["publisher"] is not None and len(local["viewers"]) >= 2
            for viewer in [through, *direct]:
                await viewer.close()
        run(scenario(), timeout=180)
    finally:
        proxy.terminate()
        proxy.wait(timeout=20)


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False

