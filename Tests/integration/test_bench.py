"""`canvaswire bench`: self-contained and against a running server. Figures are checked for
consistency (every byte verified, percentiles ordered), never for speed."""
import asyncio
import json
import subprocess

import pytest
from websockets.asyncio.server import serve

from conftest import canvaswire_binary
from cw import flip_one_byte, swap_payloads, tampering_relay


def bench(*args: str) -> dict:
    result = subprocess.run([canvaswire_binary(), "bench", "--json", *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_latency(latency: dict):
    assert latency["count"] > 0
    assert 0 <= latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]


def test_self_contained_lossless_viewers_verify_every_byte():
    report = bench("--size", "64x48", "--frames", "40", "--viewers", "3", "--policy", "all")
    (run,) = report["runs"]
    publisher = run["publisher"]
    assert publisher["frames"] == 40
    assert publisher["bytes"] == 40 * 64 * 48 * 4
    assert run["aggregate"]["verifiedBytes"] == publisher["bytes"] * 3
    assert run["aggregate"]["corruptFrames"] == 0
    for viewer in run["viewers"]:
        assert viewer["verifiedBytes"] == publisher["bytes"]
        assert viewer["missed"] == 0 and viewer["outOfOrder"] == 0 and viewer["sawEnd"]
        assert_latency(viewer["latency"])
    assert_latency(run["aggregate"]["latency"])
    # The bench started the server as a child process, so the server's own cost is reported.
    assert run["server"]["cpuSeconds"] >= 0
    assert run["server"]["peakResidentBytes"] > 0
    assert run["loadGenerator"]["cpuSeconds"] > 0


def test_delta_viewers_of_screen_content_verify_every_byte_for_a_fraction_of_the_wire():
    # 1280x720: the screen's moving parts keep their size, so smaller frames change a larger share.
    frames, frame_bytes = 30, 1280 * 720 * 4
    report = bench("--size", "1280x720", "--frames", str(frames), "--viewers", "2", "--policy", "all",
                   "--content", "screen", "--encoding", "delta")
    (run,) = report["runs"]
    assert (run["content"], run["encoding"]) == ("screen", "delta")
    for viewer in run["viewers"]:
        assert viewer["throughput"]["frames"] == frames and viewer["missed"] == 0 and viewer["corruptFrames"] == 0
        assert viewer["verifiedBytes"] == frames * frame_bytes, "every rebuilt frame is checked whole"
        wire = viewer["wire"]
        assert wire["deltaFrames"] == frames - 1, "a whole frame first, then deltas"
        assert wire["bytesPerFrame"] * frames == pytest.approx(wire["bytes"])
        assert wire["ratioToRaw"] == pytest.approx(wire["bytes"] / (frames * (32 + frame_bytes)))
        assert wire["ratioToRaw"] < 0.15, wire
    aggregate = run["aggregate"]["wire"]
    assert aggregate["bytes"] == sum(v["wire"]["bytes"] for v in run["viewers"]) and aggregate["ratioToRaw"] < 0.15


@pytest.mark.parametrize("content", ["video", "noise"])
def test_delta_viewers_of_full_motion_get_whole_frames(content):
    report = bench("--size", "64x48", "--frames", "20", "--content", content, "--encoding", "delta")
    (viewer,) = report["runs"][0]["viewers"]
    assert viewer["corruptFrames"] == 0 and viewer["verifiedBytes"] == 20 * 64 * 48 * 4
    assert viewer["wire"]["deltaFrames"] == 0 and viewer["wire"]["ratioToRaw"] == 1


def test_size_list_runs_each_size():
    report = bench("--size", "32x32,16x8", "--frames", "5")
    assert [(run["width"], run["height"]) for run in report["runs"]] == [(32, 32), (16, 8)]
    for run in report["runs"]:
        assert run["aggregate"]["verifiedBytes"] == run["publisher"]["bytes"]


def test_echo_round_trips_are_verified():
    report = bench("--echo", "--size", "100x10", "--frames", "30")
    (run,) = report["runs"]
    echo = run["echo"]
    assert echo["messages"] == 30 and echo["mismatched"] == 0
    assert echo["bytes"] == 30 * 100 * 10 * 4
    assert_latency(echo["roundTrip"])


def test_against_a_running_server_with_a_slow_viewer(server):
    report = bench(f"{server.ws}/streams/benchtest", "--size", "80x60", "--frames", "30",
                   "--viewers", "2", "--slow-viewers", "1", "--slow-rate", "50",
                   "--server-pid", str(server.process.pid))
    (run,) = report["runs"]
    fast = [v for v in run["viewers"] if v.get("slowRateMegabytesPerSecond") is None]
    slow = [v for v in run["viewers"] if v.get("slowRateMegabytesPerSecond") is not None]
    assert len(fast) == 2 and len(slow) == 1
    for viewer in fast:
        assert viewer["verifiedBytes"] == run["publisher"]["bytes"]
    assert slow[0]["corruptFrames"] == 0 and slow[0]["policy"] == "latest"
    assert run["server"]["pid"] == server.process.pid


def test_echo_against_a_running_server(server):
    report = bench("--echo", f"{server.ws}/echo", "--size", "64x64", "--duration", "0.3")
    echo = report["runs"][0]["echo"]
    assert echo["messages"] > 0 and echo["mismatched"] == 0


def test_idle_viewers_report_memory_per_connection():
    report = bench("--idle-viewers", "20")
    idle = report["runs"][0]["idle"]
    assert idle["connections"] == 20
    assert idle["residentBytesAfter"] > 0


def test_many_lossless_viewers_on_both_event_loops_never_leave_the_publisher_paused(server_factory):
    # With a high-water mark below one frame every frame stalls and releases every viewer, from both
    # of the server's event loops at once. Their stop and resume notices once reached the publisher
    # out of order and left it paused for good with every viewer idle (the bench then timed out
    # waiting for frames that sat unread in the server's socket). Every frame must now arrive.
    server = server_factory("--no-demo", "--high-water-mark", "262144", "--low-water-mark", "65536")
    for attempt in range(6):
        report = bench(f"{server.ws}/streams/race{attempt}", "--size", "640x360", "--frames", "1000",
                       "--viewers", "10", "--policy", "all", "--drain-timeout", "20", "--quiet")
        (run,) = report["runs"]
        assert run["publisher"]["frames"] == 1000
        for viewer in run["viewers"]:
            assert viewer["throughput"]["frames"] == 1000 and viewer["missed"] == 0 and viewer["sawEnd"]


@pytest.mark.parametrize("content", ["generated", "screen"])
@pytest.mark.parametrize("tamper", [flip_one_byte, swap_payloads], ids=["flipped-byte", "swapped-payloads"])
def test_bench_catches_a_relay_that_alters_payloads(tamper, content):
    # A relay that speaks the protocol but alters what it forwards: the bench must notice, or its
    # "verified" column would prove nothing.
    async def scenario():
        handler = tampering_relay(tamper, held=5, policy="all")
        async with serve(handler, "127.0.0.1", 0, max_size=None) as server:
            port = server.sockets[0].getsockname()[1]
            process = await asyncio.create_subprocess_exec(
                canvaswire_binary(), "bench", f"ws://127.0.0.1:{port}/streams/x", "--json", "--quiet",
                "--size", "64x48", "--frames", "8", "--viewers", "1", "--drain-timeout", "10", "--content", content,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
            return process.returncode, stdout.decode(), stderr.decode()

    returncode, stdout, stderr = asyncio.run(scenario())
    assert returncode != 0, "a bench that saw altered payloads must fail"
    assert stdout, stderr
    (run,) = json.loads(stdout)["runs"]
    (viewer,) = run["viewers"]
    assert viewer["corruptFrames"] >= 1, viewer
    assert viewer["verifiedBytes"] < run["publisher"]["bytes"]
    assert "corrupt" in stderr, stderr
