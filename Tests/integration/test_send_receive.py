"""`canvaswire send` and `canvaswire receive` end to end through a real `canvaswire serve`."""
import json
import os
import pathlib
import random
import signal
import subprocess
import time

import pytest
from PIL import Image
from websockets.sync.client import connect as sync_connect

from conftest import Server, canvaswire_binary
from cw import canvaswire_send, decoded_rgba, finish_receiver, free_port, make_frame, metric, start_receiver
from deltas import sparse_frames


def make_images(folder: pathlib.Path, count: int = 12) -> list[bytes]:
    """Writes PNGs of mixed colour types and sizes; returns the RGBA bytes each must decode to."""
    rng = random.Random(7)
    modes = ["RGBA", "RGB", "L", "LA", "P"]
    expected = []
    for index in range(count):
        width, height = rng.choice([(1, 1), (7, 3), (33, 17), (64, 48), (160, 90)])
        mode = modes[index % len(modes)]
        image = Image.frombytes("RGBA", (width, height), bytes(rng.getrandbits(8) for _ in range(width * height * 4)))
        image = image.convert(mode) if mode != "P" else image.convert("RGB").quantize(16)
        path = folder / f"frame{index}.png"  # frame2 before frame10: natural order
        image.save(path, optimize=False)
        expected.append(Image.open(path).convert("RGBA").tobytes())
    return expected


def test_folder_of_mixed_pngs_arrives_exactly_in_order(server_factory, tmp_path):
    server = server_factory("--no-demo")
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir(), out.mkdir()
    expected = make_images(source)
    receiver = start_receiver(server, "e2e", out)
    sent = canvaswire_send(server.ws + "/streams/e2e/publish", str(source), timeout=120)
    summary = finish_receiver(receiver)
    assert sent["frames"] == len(expected) and sent["skipped"] == []
    assert summary["frames"] == len(expected) and summary["ended"] and summary["closeCode"] == 1000
    files = sorted(out.iterdir())
    assert [f.name for f in files] == [f"frame-{i:06d}.png" for i in range(len(expected))]
    assert [decoded_rgba(f) for f in files] == expected


def test_png_stream_and_png_wire_format_on_stdin(server_factory, tmp_path):
    server = server_factory("--no-demo")
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir(), out.mkdir()
    expected = make_images(source, 6)
    stream = b"".join((source / f"frame{i}.png").read_bytes() for i in range(6))
    receiver = start_receiver(server, "e2e", out)
    canvaswire_send(server.ws + "/streams/e2e/publish", "-", "--format", "png", stdin=stream, timeout=120)
    assert finish_receiver(receiver)["frames"] == 6
    assert [decoded_rgba(out / f"frame-{i:06d}.png") for i in range(6)] == expected


def test_raw_rgba_on_stdin_to_raw_files(server_factory, tmp_path):
    server = server_factory("--no-demo")
    out = tmp_path / "out"
    out.mkdir()
    frames = [os.urandom(5 * 3 * 4) for _ in range(9)]
    receiver = start_receiver(server, "e2e", out, "--format", "rgba")
    canvaswire_send(server.ws + "/streams/e2e/publish", "--raw", "--size", "5x3", stdin=b"".join(frames), timeout=120)
    finish_receiver(receiver)
    assert [(out / f"frame-{i:06d}.rgba").read_bytes() for i in range(9)] == frames


def test_raw_stdin_that_ends_inside_a_frame_is_an_error(server_factory):
    server = server_factory("--no-demo")
    result = subprocess.run(
        [canvaswire_binary(), "send", server.ws + "/streams/x/publish", "--raw", "--size", "2x2"],
        input=b"\x00" * 20, capture_output=True, timeout=60,
    )
    assert result.returncode != 0
    assert b"4 of 16 bytes" in result.stderr


def test_watched_folder_sends_files_as_they_are_completed(server_factory, tmp_path):
    server = server_factory("--no-demo")
    staging, watched, out = tmp_path / "staging", tmp_path / "watched", tmp_path / "out"
    for folder in (staging, watched, out):
        folder.mkdir()
    expected = make_images(staging, 5)
    receiver = start_receiver(server, "e2e", out, "--count", "5")
    sender = subprocess.Popen(
        [canvaswire_binary(), "send", server.ws + "/streams/e2e/publish", "--watch", str(watched), "--quiet"],
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_publisher(server, "e2e")
        for index in range(5):
            os.rename(staging / f"frame{index}.png", watched / f"frame{index}.png")  # moved in, like a screenshot
        summary = finish_receiver(receiver)
    finally:
        sender.terminate()
        sender.wait(timeout=20)
    assert summary["frames"] == 5
    assert [decoded_rgba(out / f"frame-{i:06d}.png") for i in range(5)] == expected


def wait_for_publisher(server: Server, stream: str, timeout: float = 20):
    import urllib.request
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = json.loads(urllib.request.urlopen(server.url + "/streams").read())
        if any(s["name"] == stream and s.get("publisher") for s in status["streams"]):
            return
        time.sleep(0.05)
    raise AssertionError(f"no publisher on {stream}")


def test_invalid_png_is_named_and_skipped_or_fatal(server_factory, tmp_path):
    server = server_factory("--no-demo")
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir(), out.mkdir()
    expected = make_images(source, 3)
    (source / "frame1.png").write_bytes(b"this is not a png")
    result = subprocess.run(
        [canvaswire_binary(), "send", server.ws + "/streams/bad/publish", str(source)],
        capture_output=True, timeout=60,
    )
    assert result.returncode != 0 and b"frame1.png" in result.stderr
    receiver = start_receiver(server, "e2e", out)
    summary = canvaswire_send(server.ws + "/streams/e2e/publish", str(source), "--on-error", "skip", timeout=120)
    assert len(summary["skipped"]) == 1 and "frame1.png" in summary["skipped"][0]
    assert finish_receiver(receiver)["frames"] == 2
    assert [decoded_rgba(out / f"frame-{i:06d}.png") for i in range(2)] == [expected[0], expected[2]]


def test_receiver_refuses_to_overwrite_and_reports_missing_folder(server_factory, tmp_path):
    server = server_factory("--no-demo")
    out = tmp_path / "out"
    out.mkdir()
    (out / "frame-000000.png").write_bytes(b"precious")
    receiver = start_receiver(server, "e2e", out)
    canvaswire_send(server.ws + "/streams/e2e/publish", "--raw", "--size", "2x2", stdin=b"\x01" * 16, timeout=120)
    _, stderr = receiver.communicate(timeout=60)
    assert receiver.returncode != 0 and "already exists" in stderr
    assert (out / "frame-000000.png").read_bytes() == b"precious"
    missing = subprocess.run(
        [canvaswire_binary(), "receive", server.ws + "/streams/x", "--out", str(tmp_path / "nope")],
        capture_output=True, timeout=60,
    )
    assert missing.returncode != 0 and b"no such folder" in missing.stderr


def test_killed_receiver_leaves_only_complete_pngs(server_factory, tmp_path):
    server = server_factory("--no-demo")
    out = tmp_path / "out"
    out.mkdir()
    receiver = start_receiver(server, "e2e", out)
    sender = subprocess.Popen(
        [canvaswire_binary(), "send", server.ws + "/streams/e2e/publish", "--raw", "--size", "640x360", "--quiet"],
        stdin=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    frame = os.urandom(640 * 360 * 4)
    try:
        while len(list(out.iterdir())) < 5:
            sender.stdin.write(frame)
            sender.stdin.flush()
        receiver.send_signal(signal.SIGKILL)
        receiver.wait(timeout=20)
    finally:
        sender.kill()
        sender.wait(timeout=20)
    names = sorted(p.name for p in out.iterdir())
    assert names and all(n.startswith("frame-") and n.endswith(".png") for n in names), names
    for name in names:
        assert decoded_rgba(out / name) == frame


def test_sender_resumes_after_the_server_restarts(tmp_path):
    """The server is killed with SIGKILL under a sender, then the receiver under a new server: the
    sender carries on where it was, and the receiver restarted with --resume keeps every file the
    killed one wrote, untouched, and adds the rest."""
    port = str(free_port())
    source = tmp_path / "in"
    source.mkdir()
    count = 120
    for index in range(count):
        Image.new("RGB", (8, 8), (index, 0, 0)).save(source / f"f{index}.png")
    first = Server("--port", port, "--no-demo")
    sender = subprocess.Popen(
        [canvaswire_binary(), "send", first.ws + "/streams/e2e/publish", str(source), "--fps", "20", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_for_publisher(first, "e2e")
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=20)
        second = Server("--port", port, "--no-demo")
        try:
            out = tmp_path / "out"
            out.mkdir()
            receiver = start_receiver(second, "e2e", out)
            deadline = time.monotonic() + 60
            while len(list(out.iterdir())) < 5 and time.monotonic() < deadline:
                time.sleep(0.02)
            receiver.send_signal(signal.SIGKILL)
            receiver.wait(timeout=20)
            kept = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.iterdir()}
            assert kept, "the first receiver wrote files before it was killed"
            receiver = start_receiver(second, "e2e", out, "--resume")
            stdout, stderr = sender.communicate(timeout=120)
            assert sender.returncode == 0, stderr
            summary = json.loads(stdout)
            assert summary["reconnects"] >= 1 and summary["frames"] == count
            received = finish_receiver(receiver)
            assert received["ended"]
            names = sorted(p.name for p in out.iterdir())
            assert names[-1] == f"frame-{count - 1:06d}.png", "the sender carried on to the last frame"
            for name, identity in kept.items():
                path = out / name
                assert (path.stat().st_ino, path.stat().st_mtime_ns) == identity, f"{name} was rewritten"
            for name in names:
                sequence = int(name[6:12])
                assert Image.open(out / name).convert("RGB").getpixel((0, 0)) == (sequence, 0, 0)
        finally:
            second.stop()
    finally:
        sender.kill()
        first.stop()


@pytest.mark.parametrize("receive_deflate", ["--deflate", "--no-deflate"])
def test_send_deflate_and_receive_with_or_without_it_keep_every_pixel(server_factory, tmp_path, receive_deflate):
    """`send --deflate` compresses its frames (the server agrees with publishers under --deflate on);
    `receive` offers deflate unless told not to; either way the files are exact."""
    server = server_factory("--no-demo", "--deflate", "on")
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir(), out.mkdir()
    expected = make_images(source, count=6)
    receiver = start_receiver(server, "e2e", out, receive_deflate)
    sent = canvaswire_send(server.ws + "/streams/e2e/publish", str(source), "--deflate", timeout=120)
    summary = finish_receiver(receiver)
    assert sent["frames"] == summary["frames"] == len(expected)
    assert [decoded_rgba(f) for f in sorted(out.iterdir())] == expected
    # `--deflate on` compresses every frame for a viewer that agreed to deflate, and none otherwise.
    compressed = metric(server.url, "canvaswire_messages_compressed_total", "e2e")
    assert compressed == (len(expected) if receive_deflate == "--deflate" else 0)


@pytest.mark.parametrize("encoding", ["delta", "raw"])
def test_receive_takes_deltas_by_default_and_writes_every_frame_byte_for_byte(server_factory, tmp_path, encoding):
    """Frames that change a little: by default only what changed crosses the wire and receive rebuilds
    each frame; --encoding raw takes them whole. The files are exactly the frames published either way."""
    server = server_factory("--no-demo")
    out = tmp_path / "out"
    out.mkdir()
    frames = sparse_frames(96, 64, 8)
    receiver = start_receiver(server, "e2e", out, "--format", "rgba", "--no-deflate", *(["--encoding", "raw"] if encoding == "raw" else []))
    with sync_connect(server.ws + "/streams/e2e/publish", open_timeout=10, close_timeout=5) as publisher:
        assert json.loads(publisher.recv(timeout=10))["role"] == "publisher"
        for sequence, frame in enumerate(frames):
            publisher.send(make_frame(96, 64, sequence, frame))
        publisher.send(json.dumps({"type": "end", "lastSequence": len(frames) - 1}))
    summary = finish_receiver(receiver)
    assert summary["frames"] == len(frames) and summary["ended"]
    assert [path.read_bytes() for path in sorted(out.iterdir())] == frames
    whole = len(frames) * (32 + 96 * 64 * 4)
    if encoding == "delta":
        assert summary["deltaFrames"] == len(frames) - 1 and summary["wireBytes"] < whole / 4, summary
    else:
        assert summary["deltaFrames"] == 0 and summary["wireBytes"] == whole, summary


def test_send_delta_sends_what_changed_and_every_viewer_gets_every_pixel(server_factory, tmp_path):
    """`send --delta`: the first frame and the one after a size change go whole, the others as the
    tiles that changed; the server applies them, so a raw receiver writes exactly the files sent."""
    server = server_factory("--no-demo")
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir(), out.mkdir()
    frames = sparse_frames(96, 64, 6) + sparse_frames(64, 48, 4)
    for index, frame in enumerate(frames):
        width, height = (96, 64) if index < 6 else (64, 48)
        Image.frombytes("RGBA", (width, height), frame).save(source / f"frame{index}.png")
    receiver = start_receiver(server, "e2e", out, "--encoding", "raw", "--format", "rgba")
    sent = canvaswire_send(server.ws + "/streams/e2e/publish", str(source), "--delta", timeout=120)
    summary = finish_receiver(receiver)
    assert sent["frames"] == summary["frames"] == len(frames)
    assert sent["deltaFrames"] == len(frames) - 2, sent
    assert sent["bytes"] < (6 * 96 * 64 * 4 + 4 * 64 * 48 * 4) / 2, sent
    assert [path.read_bytes() for path in sorted(out.iterdir())] == frames


def test_send_delta_with_png_on_the_wire_is_refused_at_once(server_factory):
    server = server_factory("--no-demo")
    result = subprocess.run(
        [canvaswire_binary(), "send", server.ws + "/streams/e2e/publish", "-", "--delta", "--format", "png"],
        input=b"", capture_output=True, text=False, timeout=30,
    )
    assert result.returncode != 0
    assert b"--delta" in result.stderr and b"--format png" in result.stderr
