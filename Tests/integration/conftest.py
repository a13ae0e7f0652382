"""Fixtures that run a real `canvaswire serve` on 127.0.0.1 with a kernel-chosen port."""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time

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


class NatsServer:
    """A real `nats-server` with JetStream on 127.0.0.1 and a kernel-chosen port, read from the ports
    file it writes once it listens. `restart()` brings it back on the same port and store."""

    def __init__(self, *args: str):
        if shutil.which("nats-server") is None:
            pytest.fail("nats-server is not installed (tools/test installs it: apt-get install nats-server)")
        self.directory = tempfile.mkdtemp(prefix="cw-nats-")
        self.args = args
        self.port = self._launch(-1)
        self.url = f"nats://127.0.0.1:{self.port}"

    def _launch(self, port: int) -> int:
        ports = tempfile.mkdtemp(dir=self.directory)
        self.log = open(os.path.join(self.directory, "server.log"), "a")
        self.process = subprocess.Popen(
            ["nats-server", "-js", "-a", "127.0.0.1", "-p", str(port), "--ports_file_dir", ports,
             "-sd", os.path.join(self.directory, "store"), *self.args],
            stdout=self.log, stderr=self.log,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited: {open(self.log.name).read()[-2000:]}")
            files = [f for f in os.listdir(ports) if f.endswith(".ports")]
            if files:
                try:
                    with open(os.path.join(ports, files[0])) as file:
                        return int(json.load(file)["nats"][0].rsplit(":", 1)[1])
                except (ValueError, KeyError):
                    pass  # written but not complete yet
            time.sleep(0.01)
        self.process.kill()
        raise RuntimeError("nats-server did not write its ports file within 20 s")

    def stop(self, sig=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def restart(self):
        self.stop()
        self._launch(self.port)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def nats():
    server = NatsServer()
    yield server
    server.cleanup()


@pytest.fixture
def cluster(server_factory, nats):
    """Starts relay nodes joined through the `nats` server: `cluster("a", *args)`."""
    def start(name: str, *args: str) -> Server:
        return server_factory("--no-demo", "--nats", nats.url, "--node-name", name, *args)
    return start
