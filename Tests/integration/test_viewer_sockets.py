"""Viewer socket options (TCP_NOTSENT_LOWAT, SO_SNDBUF) and acknowledged viewers (`?ack=N`), against
the real binary: what GET /streams reports as read back with getsockopt, checked where possible
against the kernel's own view (`ss`), and the refusals of bad `ack` queries."""
import asyncio
import re
import shutil
import subprocess

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from cw import read_control, run, stream_status, viewer_entry, wait_until


def kernel_send_buffer(server_port: int, client_port: int) -> int:
    """SO_SNDBUF of the server's end of a connection as the kernel reports it (`ss`'s skmem tb)."""
    ss = shutil.which("ss")
    if ss is None:
        pytest.fail("ss is not installed (apt-get install iproute2)")
    output = subprocess.run(
        [ss, "-tnm", "state", "established", f"( sport = :{server_port} and dport = :{client_port} )"],
        capture_output=True, text=True, check=True).stdout
    match = re.search(r"\btb(\d+)", output)
    assert match, f"no socket from port {server_port} to {client_port} in:\n{output}"
    return int(match.group(1))


def test_viewer_socket_options_are_applied_and_read_back(server_factory):
    server = server_factory("--no-demo", "--viewer-notsent-lowat", "65536", "--viewer-send-buffer", "262144")
    port = int(server.url.rsplit(":", 1)[1])

    async def scenario():
        async with websockets.connect(f"{server.ws}/streams/sock?policy=latest", open_timeout=10) as viewer:
            await read_control(viewer, "hello")
            entry = await asyncio.to_thread(wait_until, lambda: viewer_entry(server, "sock"), message="the viewer in /streams")
            # Linux doubles SO_SNDBUF for its bookkeeping, and getsockopt reports the doubled value.
            assert entry["socket"] == {"notSentLowWaterMark": 65536, "sendBufferSize": 2 * 262144}
            client_port = viewer.local_address[1]
            assert kernel_send_buffer(port, client_port) == 2 * 262144

    run(scenario(), timeout=60)


def test_zero_keeps_the_kernels_defaults(server_factory):
    server = server_factory("--no-demo", "--viewer-notsent-lowat", "0", "--viewer-send-buffer", "0")
    async def scenario():
        async with websockets.connect(f"{server.ws}/streams/plain", open_timeout=10) as viewer:
            await read_control(viewer, "hello")
            entry = await asyncio.to_thread(wait_until, lambda: viewer_entry(server, "plain"), message="the viewer in /streams")
            # No value of the socket's own: it follows net.ipv4.tcp_notsent_lowat.
            assert entry["socket"]["notSentLowWaterMark"] is None
            # Not set to 0 (which the kernel would raise to its minimum of a few KiB): autotuning's
            # starting size, net.ipv4.tcp_wmem's default, or more.
            with open("/proc/sys/net/ipv4/tcp_wmem") as wmem:
                default = int(wmem.read().split()[1])
            assert entry["socket"]["sendBufferSize"] >= default

    run(scenario(), timeout=60)


def test_publishers_sockets_are_left_alone(server_factory):
    server = server_factory("--no-demo", "--viewer-notsent-lowat", "65536", "--viewer-send-buffer", "262144")
    port = int(server.url.rsplit(":", 1)[1])

    async def scenario():
        async with websockets.connect(f"{server.ws}/streams/pub/publish", open_timeout=10) as publisher:
            await read_control(publisher, "hello")
            status = await asyncio.to_thread(
                wait_until, lambda: (s := stream_status(server.url, "pub")) and s["publisher"] and s, message="the publisher")
            assert "socket" not in status["publisher"] or status["publisher"]["socket"] is None
            assert kernel_send_buffer(port, publisher.local_address[1]) != 2 * 262144, "the viewers' SO_SNDBUF was applied"

    run(scenario(), timeout=60)


@pytest.mark.parametrize("value", ["0", "-1", "x", "1025", ""])
def test_bad_ack_windows_are_refused_before_the_upgrade(server_factory, value):
    server = server_factory("--no-demo")

    async def scenario():
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(f"{server.ws}/streams/x?ack={value}", open_timeout=10):
                pass
        response = refused.value.response
        assert response.status_code == 400
        assert b"ack must be a whole number of frames from 1 to 1024" in response.body

    run(scenario(), timeout=60)
