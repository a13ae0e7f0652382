"""The samples under samples/ run as a user would run them, against a real server, with their bytes checked.

Publishers generate the documented pattern (R = (x + n) & 255, G = (y * 2 + n) & 255, B = (x ^ y) & 255,
A = 255 for frame n); viewers save files. Each test recomputes the pattern here, independently of the
samples' own code, and compares every byte of every saved or received frame with it.
"""
import asyncio
import json
import pathlib
import subprocess
import sys
import time

import pytest
import websockets
from websockets.asyncio.server import serve
from websockets.sync.client import connect as sync_connect

from cw import expected_pattern, make_frame, node, node_env, parse_frame, viewer_entry, wait_for_viewers
from deltas import delta_message, sparse_frames

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
TIMEOUT = 60


def publisher_command(kind: str, url: str, count: int, width: int, height: int):
    if kind == "python":
        return [sys.executable, str(SAMPLES / "python" / "publisher.py"), url, str(count), "--size", f"{width}x{height}"]
    return [node(needs_ws=True), str(SAMPLES / "node" / "publisher.js"), url, str(count), f"{width}x{height}"]


def viewer_command(kind: str, url: str, out_dir: pathlib.Path, count: int):
    if kind == "python-png":
        return [sys.executable, str(SAMPLES / "python" / "viewer.py"), url, str(out_dir), str(count)]
    if kind == "python-raw":
        return [sys.executable, str(SAMPLES / "python" / "viewer.py"), url, str(out_dir), str(count), "--raw"]
    return [node(needs_ws=True), str(SAMPLES / "node" / "viewer.js"), url, str(out_dir), str(count)]


def finish(process: subprocess.Popen, what: str) -> str:
    """Waits for a sample with a timeout and requires exit status 0; returns its output."""
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"{what} did not finish within {TIMEOUT} s\nstdout: {out}\nstderr: {err}")
    assert process.returncode == 0, f"{what} exited {process.returncode}\nstdout: {out}\nstderr: {err}"
    return out


def read_saved(path: pathlib.Path):
    """(sequence, width, height, rgba) from a file the viewer samples write."""
    sequence, size = path.stem.split("_")
    width, height = (int(v) for v in size.split("x"))
    if path.suffix == ".png":
        from PIL import Image
        with Image.open(path) as image:
            assert image.size == (width, height) and image.mode == "RGBA", (image.size, image.mode)
            data = image.tobytes()
    else:
        data = path.read_bytes()
    return int(sequence), width, height, data


def run_pair(server, tmp_path, publisher: str, viewer: str, count: int, width: int, height: int, viewer_count=None,
             viewer_args=(), ack=None):
    stream = f"{publisher}-to-{viewer}"
    out_dir = tmp_path / "frames"
    env = node_env()
    command = viewer_command(viewer, f"{server.ws}/streams/{stream}?policy=all", out_dir, count if viewer_count is None else viewer_count)
    viewing = subprocess.Popen(command + list(viewer_args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        wait_for_viewers(server.url, stream, 1)  # a lossless viewer that joins late would miss frames
        assert viewer_entry(server, stream).get("ack") == ack, "the ack window the sample asked the server for"
        publishing = subprocess.Popen(
            publisher_command(publisher, f"{server.ws}/streams/{stream}/publish", count, width, height),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        finish(publishing, f"{publisher} publisher")
        finish(viewing, f"{viewer} viewer")
    finally:
        for process in (viewing,):
            if process.poll() is None:
                process.kill()
                process.wait()
    files = sorted(out_dir.iterdir())
    suffix = ".png" if viewer == "python-png" else ".rgba"
    assert [f.name for f in files] == [f"{n:06d}_{width}x{height}{suffix}" for n in range(count)]
    for path in files:
        sequence, w, h, data = read_saved(path)
        assert (w, h) == (width, height)
        assert len(data) == width * height * 4
        assert data == expected_pattern(width, height, sequence), f"{path.name} differs from the pattern"


@pytest.mark.parametrize("viewer", ["python-png", "python-raw", "node"])
@pytest.mark.parametrize("publisher", ["python", "node"])
def test_publisher_sample_to_viewer_sample(server_factory, tmp_path, publisher, viewer):
    server = server_factory("--no-demo")
    # 33x17: odd sizes catch stride and row-order mistakes; 6 frames make the pattern move.
    run_pair(server, tmp_path, publisher, viewer, count=6, width=33, height=17)


@pytest.mark.parametrize("viewer", ["python-raw", "node"])
def test_viewer_samples_stop_at_end_and_take_frames_over_a_mebibyte(server_factory, tmp_path, viewer):
    """COUNT 0 means "until end"; 800x600 frames (1.9 MB) exceed websockets' default 1 MiB message limit."""
    server = server_factory("--no-demo")
    run_pair(server, tmp_path, "python", viewer, count=2, width=800, height=600, viewer_count=0)


@pytest.mark.parametrize("viewer", ["python-raw", "node"])
def test_viewer_samples_acknowledge_every_frame(server_factory, tmp_path, viewer):
    """With --ack 1 a lossless viewer gets its next frame only after acknowledging the last: a sample
    that did not ack would hold its publisher back until the 5 s stall timeout closed it (1008)."""
    server = server_factory("--no-demo", "--stall-timeout", "5")
    run_pair(server, tmp_path, "python", viewer, count=8, width=33, height=17, viewer_args=("--ack", "1"), ack=1)


def test_node_publisher_checked_by_an_independent_python_viewer(server_factory):
    server = server_factory("--no-demo")
    width, height, count = 64, 48, 10

    async def scenario():
        async with websockets.connect(f"{server.ws}/streams/nodepub?policy=all", open_timeout=10) as ws:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert hello["role"] == "viewer"
            process = await asyncio.create_subprocess_exec(
                *publisher_command("node", f"{server.ws}/streams/nodepub/publish", count, width, height),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=node_env())
            frames, end = [], None
            while end is None:
                message = await asyncio.wait_for(ws.recv(), 20)
                if isinstance(message, bytes):
                    frames.append(parse_frame(message))
                elif json.loads(message)["type"] == "end":
                    end = json.loads(message)
            out, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
            assert process.returncode == 0, (out, err)
            assert (end["type"], end["lastSequence"]) == ("end", count - 1)
            assert [f["sequence"] for f in frames] == list(range(count))
            now = time.time() * 1e6
            for f in frames:
                assert (f["format"], f["width"], f["height"]) == (1, width, height)
                assert f["payload"] == expected_pattern(width, height, f["sequence"])
                assert now - 600e6 < f["micros"] <= now, "capture time is microseconds since the epoch"
    asyncio.run(asyncio.wait_for(scenario(), 120))


def test_samples_stay_short():
    for path in [*SAMPLES.glob("python/*.py"), *SAMPLES.glob("node/*.js")]:
        lines = path.read_text().count("\n")
        assert lines < 90, f"{path.relative_to(ROOT)} has {lines} lines"


# --- delta viewers ---------------------------------------------------------------------------------

def delta_viewer_command(kind: str, url: str, out_dir: pathlib.Path, count: int):
    if kind == "python":
        return [sys.executable, str(SAMPLES / "python" / "delta_viewer.py"), url, str(out_dir), str(count)]
    return [node(needs_ws=True), str(SAMPLES / "node" / "delta_viewer.js"), url, str(out_dir), str(count)]


@pytest.mark.parametrize("viewer", ["python", "node"])
def test_delta_viewer_samples_rebuild_every_frame_from_deltas(server_factory, tmp_path, viewer):
    """A publisher sends frames that change a little each time, with a size change midway; the sample
    asks for encoding=delta, gets a whole frame first and after the size change and deltas in between,
    and saves every frame exactly as it was published."""
    server = server_factory("--no-demo")
    stream, out_dir = f"delta-{viewer}", tmp_path / "frames"
    published = [(96, 64, f) for f in sparse_frames(96, 64, 6)] + [(80, 48, f) for f in sparse_frames(80, 48, 4)]
    viewing = subprocess.Popen(
        delta_viewer_command(viewer, f"{server.ws}/streams/{stream}?policy=all", out_dir, 0),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=node_env())
    try:
        wait_for_viewers(server.url, stream, 1)
        with sync_connect(f"{server.ws}/streams/{stream}/publish", open_timeout=10, close_timeout=5) as publisher:
            assert json.loads(publisher.recv(timeout=10))["role"] == "publisher"
            for sequence, (width, height, frame) in enumerate(published):
                publisher.send(make_frame(width, height, sequence, frame))
            publisher.send(json.dumps({"type": "end", "lastSequence": len(published) - 1}))
        out = finish(viewing, f"{viewer} delta viewer")
    finally:
        if viewing.poll() is None:
            viewing.kill()
            viewing.wait()
    names = [f"{n:06d}_{w}x{h}.rgba" for n, (w, h, _) in enumerate(published)]
    assert sorted(path.name for path in out_dir.iterdir()) == names
    for name, (_, _, frame) in zip(names, published):
        assert (out_dir / name).read_bytes() == frame, f"{name} differs from the frame published"
    how = [line.split("(", 1)[1] for line in out.splitlines() if line.startswith("saved")]
    assert [h.startswith("full,") for h in how] == [n in (0, 6) for n in range(len(published))], how


@pytest.mark.parametrize("viewer", ["python", "node"])
def test_delta_viewer_samples_close_with_1008_on_a_delta_without_its_frame(tmp_path, viewer):
    """A server that sends a delta first: the sample says why (close 1008) and exits non-zero."""
    hello = {"type": "hello", "protocol": 1, "role": "viewer", "stream": "x", "policy": "all", "encoding": "delta",
             "highWaterMark": 1 << 20, "server": "scripted",
             "limits": {"maxWidth": 4096, "maxHeight": 4096, "maxPayloadBytes": 1 << 26}}
    seen = {}

    async def handler(ws):
        seen["path"] = ws.request.path
        await ws.send(json.dumps(hello))
        await ws.send(delta_message([(0, 0, 1, 1)], bytes(4 * 4 * 4), 4, 4, sequence=0))
        await ws.wait_closed()
        seen["code"] = ws.close_code

    async def scenario():
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            process = await asyncio.create_subprocess_exec(
                *delta_viewer_command(viewer, f"ws://127.0.0.1:{port}/streams/x?policy=all", tmp_path, 0),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=node_env())
            out, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
            return process.returncode, err.decode()

    returncode, err = asyncio.run(scenario())
    assert returncode != 0
    assert "a delta came before any whole frame of its size" in err, err
    assert seen == {"path": "/streams/x?policy=all&encoding=delta", "code": 1008}
    assert list(tmp_path.iterdir()) == [], "nothing is saved from a delta that cannot be applied"
