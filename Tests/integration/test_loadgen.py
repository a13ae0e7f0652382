"""tools/bench/loadgen.js, the independent load generator, and the peer relays it measures
(tools/bench/relays/): every relay must be byte-exact for both policies, and the generator must
fail a relay that alters, reorders or drops what it forwards. Figures are checked for
consistency, never for speed."""
import asyncio
import json
import pathlib
import subprocess
import sys

import pytest
from websockets.asyncio.server import serve

from cw import flip_one_byte, node, node_env, swap_payloads, tampering_relay

ROOT = pathlib.Path(__file__).resolve().parents[2]
LOADGEN = ROOT / "tools" / "bench" / "loadgen.js"
RELAYS = ROOT / "tools" / "bench" / "relays"
SMALL = ["--size", "64x48", "--duration", "1.2", "--warmup", "0.2", "--grace", "10"]


def loadgen(url: str, *args: str) -> tuple[int, dict, str]:
    result = subprocess.run([node(), str(LOADGEN), url, *args], capture_output=True, text=True, timeout=120)
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout), result.stderr


def assert_consistent(report: dict, viewers: int):
    assert report["ok"], report["failures"]
    assert report["failures"] == []
    details = report["viewerDetails"]
    assert len(details) == viewers
    assert report["publisher"]["frames"] > 0
    for viewer in details:
        assert viewer["frames"] > 0 and viewer["corruptFrames"] == 0 and viewer["outOfOrder"] == 0
        assert viewer["error"] is None
        assert 0 < viewer["delivered"] <= 1
        figures = viewer["lag" if viewer["kind"] == "slow" else "latency"]
        assert 0 <= figures["p50"] <= figures["p99"] <= figures["max"]
    latency = report["aggregate"]["latency"]
    assert 0 <= latency["p50"] <= latency["p99"] <= latency["max"]
    assert report["loadGenerator"]["cpuSeconds"] > 0


class Relay:
    """A peer relay from tools/bench/relays/ on a kernel-chosen port."""

    def __init__(self, name: str):
        script = RELAYS / (name + (".js" if name.startswith("node_") else ".py"))
        command = [node(), str(script)] if name.startswith("node_") else [sys.executable, str(script)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env=node_env())
        line = self.process.stdout.readline()
        if not line.startswith("listening "):
            self.process.kill()
            raise RuntimeError(f"{name} did not start: {line!r} {self.process.stderr.read()}")
        self.url = f"ws://127.0.0.1:{line.split()[1]}/streams/bench"

    def stop(self):
        self.process.kill()
        self.process.wait()


@pytest.fixture
def relay_factory():
    relays = []

    def start(name: str) -> Relay:
        relay = Relay(name)
        relays.append(relay)
        return relay

    yield start
    for relay in relays:
        relay.stop()


def test_every_scenario_against_canvaswire_checks_every_viewer(server_factory):
    server = server_factory("--no-demo")
    for scenario, viewers in [("n1", 1), ("n10", 10), ("n10paced", 10), ("nslow", 3)]:
        code, report, stderr = loadgen(f"{server.ws}/streams/{scenario}", "--scenario", scenario, *SMALL,
                                       "--server-pid", str(server.process.pid))
        assert code == 0, stderr
        assert report["scenario"] == scenario and report["policy"] == "latest"
        assert_consistent(report, viewers)
        assert report["server"]["pid"] == server.process.pid
        assert report["server"]["peakResidentBytes"] >= report["server"]["residentBytesAtEnd"] > 0
        assert report["server"]["cpuSeconds"] >= 0


def test_the_slow_viewer_really_stops_reading(server_factory):
    server = server_factory("--no-demo")
    # 640x360 frames at 30 fps: a viewer that stops reading for 100 ms after each frame falls behind
    # the two normal viewers, and the relay skips frames for it.
    code, report, stderr = loadgen(f"{server.ws}/streams/slow", "--scenario", "nslow", "--duration", "2",
                                   "--warmup", "0.2", "--grace", "10")
    assert code == 0, stderr
    assert_consistent(report, 3)
    normal = [v for v in report["viewerDetails"] if v["kind"] == "normal"]
    (slow,) = [v for v in report["viewerDetails"] if v["kind"] == "slow"]
    assert slow["missed"] > 0 and all(v["missed"] == 0 for v in normal)
    assert 0 < slow["framesReceivedInAll"] < min(v["framesReceivedInAll"] for v in normal)
    # The frames it missed were skipped by the relay, which says so before the next frame it sends.
    assert slow["controlMessages"].get("dropped", 0) > 0, slow["controlMessages"]
    # It takes one frame, stops reading, and acks that frame once its pause is over (?ack=1: the
    # relay sends the next frame only after that ack): every frame it got but perhaps the last,
    # still in its pause when the run ended, was acked, and none twice.
    assert slow["framesReceivedInAll"] - 1 <= slow["acksSent"] <= slow["framesReceivedInAll"], slow
    assert report["slow"]["lag"] == slow["lag"]
    # nslow's slow viewer asks for ?ack=1 and CanvasWire agrees: it acked every frame it got.
    assert report["slowAck"] == 1 and report["slow"]["acked"]
    assert slow["acksSent"] > 0 and all(v["acksSent"] == 0 for v in normal)


def test_viewers_that_ack_get_frames_beyond_their_window(server_factory):
    server = server_factory("--no-demo")
    code, report, stderr = loadgen(f"{server.ws}/streams/acks", "--scenario", "n10", *SMALL, "--viewers", "3",
                                   "--ack", "2")
    assert code == 0, stderr
    assert_consistent(report, 3)
    for viewer in report["viewerDetails"]:
        # Without acks a viewer with a window of 2 would get 2 frames in all.
        assert viewer["frames"] > 2 and viewer["acksSent"] >= viewer["frames"] - 2, viewer


PEERS = ["python_websockets", "python_aiohttp", "node_ws", "python_picows", "python_socketify"]


@pytest.mark.parametrize("name", PEERS)
def test_peer_relay_is_byte_exact_for_live_viewers(relay_factory, name):
    relay = relay_factory(name)
    code, report, stderr = loadgen(relay.url, "--scenario", "n10", *SMALL, "--viewers", "4",
                                   "--server-pid", str(relay.process.pid))
    assert code == 0, stderr
    assert_consistent(report, 4)
    assert report["server"]["cpuSeconds"] > 0


@pytest.mark.parametrize("name", PEERS)
def test_a_slow_viewer_sends_no_acks_to_a_relay_that_does_not_agree(relay_factory, name):
    relay = relay_factory(name)
    code, report, stderr = loadgen(relay.url, "--scenario", "nslow", "--duration", "1.2", "--warmup", "0.2",
                                   "--grace", "10")
    assert code == 0, stderr
    assert_consistent(report, 3)
    assert not report["slow"]["acked"] and all(v["acksSent"] == 0 for v in report["viewerDetails"])


@pytest.mark.parametrize("name", PEERS)
def test_peer_relay_gives_lossless_viewers_every_frame(relay_factory, name):
    # 256 KiB frames unpaced: far more than a viewer's 4 MiB high-water mark is in flight, so the
    # relay must stop reading its publisher for these viewers to get every frame.
    relay = relay_factory(name)
    code, report, stderr = loadgen(relay.url, "--scenario", "n10", "--size", "256x256", "--duration", "1.5",
                                   "--warmup", "0.2", "--grace", "20", "--viewers", "3", "--policy", "all")
    assert code == 0, stderr
    assert_consistent(report, 3)
    for viewer in report["viewerDetails"]:
        assert viewer["missed"] == 0 and viewer["delivered"] == 1


def swap_order(held):
    held[3], held[4] = held[4], held[3]


def repeat_one(held):
    held[4] = held[3]


def truncate_one(held):
    held[3] = held[3][:-4]


def fragment_all(held):
    """Not an alteration: every message in 1000-byte fragments, which the generator must reassemble."""


TAMPERS = {
    "flipped-byte": (flip_one_byte, "corrupt"),
    "swapped-payloads": (swap_payloads, "corrupt"),
    "swapped-order": (swap_order, "out of order"),
    "repeated-frame": (repeat_one, "out of order"),
    "truncated": (truncate_one, "corrupt"),
    "fragmented": (fragment_all, None),
}


@pytest.mark.parametrize("case", TAMPERS, ids=list(TAMPERS))
def test_generator_fails_a_relay_that_alters_frames(case):
    tamper, failure = TAMPERS[case]

    async def scenario():
        async def send(viewer, message):
            if case == "fragmented" and isinstance(message, bytes):
                await viewer.send([message[i:i + 1000] for i in range(0, len(message), 1000)])
            else:
                await viewer.send(message)

        handler = tampering_relay(tamper, held=6, policy="latest", forward=send)
        async with serve(handler, "127.0.0.1", 0, max_size=None) as server:
            port = server.sockets[0].getsockname()[1]
            # Paced, so that the tampered frames (the first six) fall inside the measured window too.
            process = await asyncio.create_subprocess_exec(
                node(), str(LOADGEN), f"ws://127.0.0.1:{port}/streams/x", "--scenario", "n1", "--size", "64x48",
                "--fps", "100", "--duration", "0.6", "--warmup", "0.01", "--grace", "10",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
            return process.returncode, stdout.decode(), stderr.decode()

    code, stdout, stderr = asyncio.run(scenario())
    assert stdout, stderr
    report = json.loads(stdout)
    (viewer,) = report["viewerDetails"]
    if failure is None:
        assert code == 0, report["failures"]
        assert viewer["corruptFrames"] == 0 and viewer["frames"] > 0
        return
    assert code == 1 and not report["ok"], "a generator that saw altered frames must fail"
    assert any(failure in message for message in report["failures"]), report["failures"]


def test_generator_reports_a_relay_that_refuses_the_handshake_as_failed():
    async def scenario():
        async def hang_up(reader, writer):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            writer.close()

        server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            process = await asyncio.create_subprocess_exec(
                node(), str(LOADGEN), f"ws://127.0.0.1:{port}/streams/x", "--scenario", "n10", *SMALL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            stdout, _ = await asyncio.wait_for(process.communicate(), 120)
            return process.returncode, json.loads(stdout)

    code, report = asyncio.run(scenario())
    assert code == 1 and report["ok"] is False and report["scenario"] == "n10"
    assert "404" in report["failures"][0], report
