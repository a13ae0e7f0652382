"""`canvaswire send` and `receive` over a stream's lifetime, as a user meets it (issue 11): a reused
stream name, an interrupted send, a sender whose connection drops, the stream limit, failures that
heal and failures that cannot, exact counts, and raw output whose frame size changes."""
import asyncio
import json
import os
import pathlib
import signal
import subprocess
import threading

from PIL import Image

from conftest import canvaswire_binary
from cw import (canvaswire_send, decoded_rgba, finish_receiver, free_port, start_receiver, stream_status,
                wait_for_viewers, wait_until)

TYPE_NAMES = ("NIO", "Failure(", "Error(", "errno", "IOError", "SocketAddress", "Optional(")


def make_images(folder: pathlib.Path, count: int, size=(8, 6), first: int = 0) -> list[bytes]:
    """`count` PNGs whose pixels name their index; returns the RGBA bytes each decodes to."""
    folder.mkdir(exist_ok=True)
    expected = []
    for index in range(first, first + count):
        image = Image.new("RGBA", size, (index % 256, index // 256, 200, 255))
        image.putpixel((0, 0), (1, 2, 3, 4))
        image.save(folder / f"frame{index}.png")
        expected.append(image.tobytes())
    return expected


def run_cli(*args: str, stdin: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([canvaswire_binary(), *args], input=stdin, capture_output=True, timeout=timeout)


def files(folder: pathlib.Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def one_line(stderr: bytes | str) -> str:
    """The whole of stderr, which must be a single line a person can read."""
    text = stderr.decode() if isinstance(stderr, bytes) else stderr
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert not any(name in lines[0] for name in TYPE_NAMES), lines[0]
    return lines[0]


# --- runs: a reused name, an interrupted send, a dropped connection -------------------------------

def test_receive_then_send_on_a_reused_name_writes_exactly_the_new_run(server_factory, tmp_path):
    """The issue's scenario: send 30 frames to cam; then receive & and the same send again."""
    server = server_factory("--no-demo")
    source, out = tmp_path / "in", tmp_path / "out"
    expected = make_images(source, 30)
    out.mkdir()
    canvaswire_send(f"{server.ws}/streams/cam", str(source))
    first_run = stream_status(server.url, "cam")["run"]

    receiver = start_receiver(server, "cam", out)
    sent = canvaswire_send(f"{server.ws}/streams/cam", str(source))
    summary = finish_receiver(receiver)

    second_run = stream_status(server.url, "cam")["run"]
    assert sent["frames"] == 30 and second_run != first_run
    assert summary["frames"] == 30 and summary["ended"] and not summary["newRun"]
    assert summary["run"] == second_run and summary["skippedLeftovers"] == 1, summary
    assert files(out) == [f"frame-{i:06d}.png" for i in range(30)]
    assert [decoded_rgba(out / f"frame-{i:06d}.png") for i in range(30)] == expected


def test_receive_then_send_after_an_interrupted_send_writes_exactly_the_new_run(server_factory, tmp_path):
    server = server_factory("--no-demo")
    source, out = tmp_path / "in", tmp_path / "out"
    expected = make_images(source, 30)
    out.mkdir()
    interrupted = subprocess.Popen(
        [canvaswire_binary(), "send", f"{server.ws}/streams/cam", str(source), "--fps", "10", "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    wait_until(lambda: (stream_status(server.url, "cam") or {}).get("framesIn", 0) >= 3, message="3 frames in")
    interrupted.send_signal(signal.SIGTERM)
    assert interrupted.wait(timeout=20) == 128 + signal.SIGTERM
    wait_until(lambda: stream_status(server.url, "cam")["runState"] == "interrupted", message="the run interrupted")

    receiver = start_receiver(server, "cam", out)
    canvaswire_send(f"{server.ws}/streams/cam", str(source))
    summary = finish_receiver(receiver)

    assert summary["frames"] == 30 and summary["ended"] and summary["skippedLeftovers"] == 1, summary
    assert files(out) == [f"frame-{i:06d}.png" for i in range(30)]
    assert [decoded_rgba(out / f"frame-{i:06d}.png") for i in range(30)] == expected


def test_a_new_run_ends_a_receiver_cleanly_instead_of_mixing_in(server_factory, tmp_path):
    """A receiver saving a run whose sender was stopped: the next send is a new run, so the receiver
    ends (exit 0) with what it has, and none of the new run's frames is written or refused."""
    server = server_factory("--no-demo")
    first, second, out = tmp_path / "first", tmp_path / "second", tmp_path / "out"
    expected = make_images(first, 30)
    make_images(second, 30, first=100)
    out.mkdir()
    receiver = start_receiver(server, "cam", out)
    stopped = subprocess.Popen(
        [canvaswire_binary(), "send", f"{server.ws}/streams/cam", str(first), "--fps", "10", "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    wait_until(lambda: len(os.listdir(out)) >= 3, message="3 files written")
    stopped.send_signal(signal.SIGTERM)
    stopped.wait(timeout=20)
    canvaswire_send(f"{server.ws}/streams/cam", str(second))
    summary = finish_receiver(receiver)
    names = files(out)
    assert summary["newRun"] and not summary["ended"] and summary["frames"] == len(names) < 30, summary
    assert names == [f"frame-{i:06d}.png" for i in range(len(names))]
    assert [decoded_rgba(out / name) for name in names] == expected[:len(names)], "only the first run's frames"


class Relay:
    """A TCP relay on 127.0.0.1 in front of the server that can cut every connection through it at
    once: the network failing under a sender while the server keeps running."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.writers: list[asyncio.StreamWriter] = []
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve():
            asyncio.set_event_loop(self.loop)
            server = self.loop.run_until_complete(asyncio.start_server(self._relay, "127.0.0.1", 0))
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()
        assert ready.wait(10)

    async def _relay(self, reader, writer):
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self.writers += [writer, upstream_writer]

        async def pipe(source, destination):
            try:
                while data := await source.read(1 << 16):
                    destination.write(data)
                    await destination.drain()
            except ConnectionError:
                pass
            finally:
                destination.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    def cut(self):
        def abort_all():
            for writer in self.writers:
                writer.transport.abort()
            self.writers.clear()
        self.loop.call_soon_threadsafe(abort_all)

    def stop(self):
        self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def test_a_sender_whose_connection_drops_continues_its_run_and_the_receiver_keeps_saving(server_factory, tmp_path):
    server = server_factory("--no-demo")
    relay = Relay(int(server.url.rsplit(":", 1)[1]))
    source, out = tmp_path / "in", tmp_path / "out"
    expected = make_images(source, 40)
    out.mkdir()
    try:
        receiver = start_receiver(server, "cam", out)
        sender = subprocess.Popen(
            [canvaswire_binary(), "send", f"ws://127.0.0.1:{relay.port}/streams/cam", str(source), "--fps", "20", "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        wait_until(lambda: len(os.listdir(out)) >= 5, message="5 files written")
        run = stream_status(server.url, "cam")["run"]
        relay.cut()
        stdout, stderr = sender.communicate(timeout=60)
        assert sender.returncode == 0, stderr
        summary = finish_receiver(receiver)
    finally:
        relay.stop()
    sent = json.loads(stdout)
    assert sent["frames"] == 40 and sent["reconnects"] >= 1
    assert "; reconnecting for up to 60 s" in one_line(stderr), "one line for the lost connection"
    # The same run throughout: the receiver followed it across the reconnect to its end.
    assert summary["ended"] and not summary["newRun"] and summary["run"] == run, summary
    names = files(out)
    assert names[-1] == "frame-000039.png", "the receiver saved on to the run's last frame"
    for name in names:
        assert decoded_rgba(out / name) == expected[int(name[6:12])]


# --- the stream limit ------------------------------------------------------------------------------

def test_three_short_sends_then_a_fourth_stream_works(server_factory, tmp_path):
    server = server_factory("--no-demo", "--max-streams", "3", "--stream-idle-timeout", "0")
    source = tmp_path / "in"
    make_images(source, 2)
    for name in ("a", "b", "c", "d"):
        result = run_cli("send", f"{server.ws}/streams/{name}", str(source), "--quiet")
        assert result.returncode == 0, (name, result.stderr.decode())
        assert result.stderr == b"", result.stderr.decode()


# --- failures: one line, exit status 1, retried only when they can heal ---------------------------

def test_nothing_listening_is_retried_for_retry_for_then_one_line(tmp_path):
    make_images(tmp_path / "in", 1)
    port = free_port()
    result = run_cli("send", f"ws://127.0.0.1:{port}/streams/cam", str(tmp_path / "in"), "--retry-for", "1")
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert f"nothing is listening on port {port}" in line and "gave up after retrying for" in line, line
    received = run_cli("receive", f"ws://127.0.0.1:{port}/streams/cam", "--out", str(tmp_path))
    assert received.returncode == 1
    assert f"nothing is listening on port {port}" in one_line(received.stderr)


def test_a_space_in_the_stream_name_fails_at_once_in_one_line(server, tmp_path):
    make_images(tmp_path / "in", 1)
    for command in (["send", f"{server.ws}/streams/my cam", str(tmp_path / "in")],
                    ["receive", f"{server.ws}/streams/my cam", "--out", str(tmp_path)]):
        result = run_cli(*command, timeout=30)
        assert result.returncode == 1
        line = one_line(result.stderr)
        assert "contains a space" in line and "gave up" not in line, line


def test_dot_dot_is_not_a_stream_name(server, tmp_path):
    make_images(tmp_path / "in", 1)
    result = run_cli("send", f"{server.ws}/streams/..", str(tmp_path / "in"), timeout=30)
    assert result.returncode == 1
    assert "is not a stream name" in one_line(result.stderr)


def test_a_wrong_token_fails_at_once_in_one_line(server_factory, tmp_path):
    server = server_factory("--no-demo", "--token", "secret")
    make_images(tmp_path / "in", 1)
    # The default --retry-for is 60 s: a 401 retried would outlast this timeout.
    result = run_cli("send", f"{server.ws}/streams/cam", str(tmp_path / "in"), "--token", "wrong", timeout=30)
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert "HTTP 401" in line and "wrong token" in line and "gave up" not in line, line


def test_a_full_server_is_retried_for_retry_for_then_one_line(server_factory, tmp_path):
    server = server_factory("--no-demo", "--max-streams", "1")
    make_images(tmp_path / "in", 1)
    holder = subprocess.Popen(
        [canvaswire_binary(), "receive", f"{server.ws}/streams/a", "--out", str(tmp_path), "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_viewers(server.url, "a", 1)
        result = run_cli("send", f"{server.ws}/streams/b", str(tmp_path / "in"), "--retry-for", "1")
    finally:
        holder.terminate()
        holder.wait(timeout=20)
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert "HTTP 503" in line and "gave up after retrying for" in line, line


# --- exact counts, nothing after a failure ---------------------------------------------------------

def test_count_5_with_a_fast_sender_writes_exactly_5_files(server_factory, tmp_path):
    server = server_factory("--no-demo")
    out = tmp_path / "out"
    out.mkdir()
    # Noise takes long enough to encode that several frames are in flight when the fifth is written
    # (the receiver used to leave 6 of these).
    frames = [os.urandom(640 * 360 * 4) for _ in range(60)]
    receiver = start_receiver(server, "cam", out, "--count", "5")
    canvaswire_send(f"{server.ws}/streams/cam", "--raw", "--size", "640x360", stdin=b"".join(frames))
    summary = finish_receiver(receiver)
    assert summary["frames"] == 5
    assert files(out) == [f"frame-{i:06d}.png" for i in range(5)]
    assert [decoded_rgba(out / f"frame-{i:06d}.png") for i in range(5)] == frames[:5]


def test_nothing_is_written_after_a_failed_write(server_factory, tmp_path):
    server = server_factory("--no-demo")
    out = tmp_path / "out"
    out.mkdir()
    (out / "frame-000003.png").write_bytes(b"precious")
    receiver = start_receiver(server, "cam", out)
    canvaswire_send(f"{server.ws}/streams/cam", "--raw", "--size", "64x48", stdin=os.urandom(64 * 48 * 4) * 40)
    _, stderr = receiver.communicate(timeout=60)
    assert receiver.returncode == 1
    assert "frame-000003.png: already exists" in one_line(stderr)
    assert files(out) == ["frame-000000.png", "frame-000001.png", "frame-000002.png", "frame-000003.png"]
    assert (out / "frame-000003.png").read_bytes() == b"precious"


# --- small ones ------------------------------------------------------------------------------------

def test_a_size_change_in_a_raw_stdout_stream_is_an_error_unless_allowed(server_factory, tmp_path):
    server = server_factory("--no-demo")
    source = tmp_path / "in"
    expected = make_images(source, 3, size=(8, 6)) + make_images(source, 2, size=(4, 4), first=3)
    for allow, returncode, frames in (([], 1, 3), (["--allow-size-change"], 0, 5)):
        receiver = subprocess.Popen(
            [canvaswire_binary(), "receive", f"{server.ws}/streams/raw", "-o", "-", "--format", "rgba", *allow],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        wait_for_viewers(server.url, "raw", 1)
        canvaswire_send(f"{server.ws}/streams/raw", str(source))
        stdout, stderr = receiver.communicate(timeout=60)
        assert receiver.returncode == returncode, stderr.decode()
        assert stdout == b"".join(expected[:frames])
        if returncode:
            line = one_line(stderr)
            assert "frame 3 is 4x4 but the frames before it are 8x6" in line and "--allow-size-change" in line, line


def test_send_without_images_fails(server, tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_cli("send", f"{server.ws}/streams/cam", str(tmp_path / "empty"))
    assert result.returncode == 1
    assert f"no images found in {tmp_path / 'empty'}" in one_line(result.stderr)
    piped = run_cli("send", f"{server.ws}/streams/cam", "-", stdin=b"")
    assert piped.returncode == 1
    assert "no images found in the input" in one_line(piped.stderr)


def test_a_zero_size_is_named_invalid(server):
    result = run_cli("send", f"{server.ws}/streams/cam", "--raw", "--size", "0x0")
    assert result.returncode != 0
    assert b"--size 0x0 is not a valid size" in result.stderr


def test_receive_help_says_o_takes_stdout_only():
    help_text = " ".join(run_cli("receive", "--help").stdout.decode().split())
    assert "-o - (stdout only; for files use --out DIR)" in help_text
    refused = run_cli("receive", "ws://127.0.0.1:9/streams/cam", "-o", "frames.png")
    assert refused.returncode != 0 and b"-o takes - (stdout) only" in refused.stderr


def test_send_help_says_what_is_retried_and_for_how_long():
    help_text = " ".join(run_cli("send", "--help").stdout.decode().split())
    assert "--retry-for" in help_text and "(60 by default)" in help_text
    assert "HTTP 503" in help_text and "HTTP 400, 401" in help_text
