"""Fixtures that run a real `canvaswire serve` on 127.0.0.1 with a kernel-chosen port."""
import os
import pathlib
import signal
import subprocess
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def canvaswire_binary() -> str:
    binary = os.environ.get("CANVASWIRE_BIN", str(ROOT / ".build" / "debug" / "canvaswire"))
    if not os.path.exists(binary):
        pytest.fail(f"canvaswire binary not found at {binary}; run `swift build` or set CANVASWIRE_BIN")
    return binary


class Server:
    """A running `canvaswire serve`; `url` is its http base, `ws` its WebSocket base."""

    def __init__(self, *args: str):
        # The log goes to a file: a pipe nobody drains would block the server once it is full.
        self.log = tempfile.NamedTemporaryFile("w+", prefix="canvaswire-serve-", suffix=".log")
        self.process = subprocess.Popen(
            [canvaswire_binary(), "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        line = self.process.stdout.readline()
        if not line.startswith("canvaswire serving "):
            self.process.kill()
            raise RuntimeError(f"server did not start: {line!r} {self.log_text()}")
        self.url = line.split()[2].rstrip("/")
        self.ws = self.url.replace("http://", "ws://")

    def log_text(self) -> str:
        self.log.flush()
        with open(self.log.name) as log:
            return log.read()

    def rss_bytes(self) -> int:
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@pytest.fixture
def server_factory():
    servers = []

    def start(*args: str) -> Server:
        server = Server(*args)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server(server_factory):
    return server_factory()
