"""Streams over time, from a client's side: runs (which frames belong to which publisher connection),
streams forgotten once unused, the stream limit freed again, names that are path tricks refused."""
import asyncio
import http.client
import json
import urllib.parse

from websockets.exceptions import InvalidStatus

from cw import connect, make_frame, random_rgba, run, stream_status, wait_until


async def next_message(ws):
    message = await asyncio.wait_for(ws.recv(), 10)
    return json.loads(message) if isinstance(message, str) else ("frame", message)


async def publish_run(ws_base: str, name: str, frames: int, end: bool = True, run_id: str | None = None):
    """Publishes `frames` 2x2 frames; returns the run the hello named."""
    query = f"?run={run_id}" if run_id else ""
    async with connect(f"{ws_base}/streams/{name}/publish{query}") as publisher:
        hello = json.loads(await publisher.recv())
        for sequence in range(frames):
            await publisher.send(make_frame(2, 2, sequence, random_rgba(2, 2)))
        if end:
            await publisher.send(json.dumps({"type": "end"}))
        await publisher.close()
        return hello["run"]


def raw_get_status(http_url: str, path: str) -> int:
    """The status of a GET for `path` exactly as written: clients would normalise `.` and `..` away."""
    url = urllib.parse.urlsplit(http_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.putrequest("GET", path, skip_host=False)
    for name, value in (("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13"),
                        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")):
        connection.putheader(name, value)
    connection.endheaders()
    status = connection.getresponse().status
    connection.close()
    return status


# --- runs ------------------------------------------------------------------------------------------

def test_a_viewer_is_told_which_run_each_frame_belongs_to(server_factory):
    server = server_factory("--no-demo")

    async def scenario():
        first = await publish_run(server.ws, "cam", 3)
        async with connect(server.ws + "/streams/cam?policy=all") as viewer:
            hello = await next_message(viewer)
            assert (hello["run"], hello["runState"]) == (first, "ended"), hello
            assert (await next_message(viewer))[0] == "frame", "the retained frame follows the hello"
            state = await next_message(viewer)
            assert state == {"type": "publisher", "connected": False, "run": first, "runState": "ended"}, state
            second = await publish_run(server.ws, "cam", 2)
            assert second != first
            joined = await next_message(viewer)
            assert joined == {"type": "publisher", "connected": True, "run": second, "runState": "live",
                              "continued": False}, joined
            assert [(await next_message(viewer))[0] for _ in range(2)] == ["frame", "frame"]
            end = await next_message(viewer)
            assert end == {"type": "end", "lastSequence": 1, "run": second}, end
            left = await next_message(viewer)
            assert left == {"type": "publisher", "connected": False, "run": second, "runState": "ended"}, left

    run(scenario())


def test_a_reconnecting_publisher_continues_its_interrupted_run(server_factory):
    server = server_factory("--no-demo")

    async def scenario():
        async with connect(server.ws + "/streams/cam?policy=all") as viewer:
            await next_message(viewer), await next_message(viewer)  # hello, publisher (none yet)
            first = await publish_run(server.ws, "cam", 2, end=False)
            messages = [await next_message(viewer) for _ in range(4)]
            assert messages[-1] == {"type": "publisher", "connected": False, "run": first, "runState": "interrupted"}
            again = await publish_run(server.ws, "cam", 1, run_id=first)
            assert again == first, "the hello to the publisher names the run it continues"
            joined = await next_message(viewer)
            assert joined == {"type": "publisher", "connected": True, "run": first, "runState": "live",
                              "continued": True}, joined
            assert (await next_message(viewer))[0] == "frame"
            assert (await next_message(viewer))["run"] == first  # the end
            await next_message(viewer)  # the publisher leaves
            # An ended run is over: the same ID now starts a new run.
            third = await publish_run(server.ws, "cam", 1, run_id=first)
            assert third != first
            joined = await next_message(viewer)
            assert joined["run"] == third and joined["continued"] is False

    run(scenario())


def test_a_live_runs_latest_frame_is_described_as_live(server_factory):
    server = server_factory("--no-demo")

    async def scenario():
        async with connect(server.ws + "/streams/cam/publish") as publisher:
            hello = json.loads(await publisher.recv())
            await publisher.send(make_frame(2, 2, 0, random_rgba(2, 2)))
            wait_until(lambda: (stream_status(server.url, "cam") or {}).get("framesIn") == 1)
            async with connect(server.ws + "/streams/cam") as viewer:
                welcome = await next_message(viewer)
                assert (welcome["run"], welcome["runState"]) == (hello["run"], "live")
            status = stream_status(server.url, "cam")
            assert (status["run"], status["runState"]) == (hello["run"], "live")

    run(scenario())


# --- streams are forgotten -------------------------------------------------------------------------

def test_unused_streams_are_forgotten_and_free_their_places(server_factory):
    server = server_factory("--no-demo", "--stream-idle-timeout", "0", "--max-streams", "3")

    async def scenario():
        for name in ("a", "b", "c"):
            await publish_run(server.ws, name, 1)
        wait_until(lambda: not json.loads(_get(server.url + "/streams"))["streams"], message="streams forgotten")
        assert "stream=\"a\"" not in _get(server.url + "/metrics").decode(), "its metrics go with it"
        for name in ("d", "e", "f", "g"):  # more than the limit, one after the other: each place is freed
            await publish_run(server.ws, name, 1)

    run(scenario())


def test_an_idle_stream_keeps_its_latest_frame_until_it_expires(server_factory):
    idle_timeout = 3
    server = server_factory("--no-demo", "--stream-idle-timeout", str(idle_timeout))
    # Held longer than the timeout plus the server's one-second sweep: a stream that counted as
    # unused meanwhile would be gone by the end of it.
    hold = idle_timeout + 2

    async def scenario():
        async with connect(server.ws + "/streams/kept/publish") as publisher:
            await publisher.recv()  # hello
            await publisher.send(make_frame(2, 2, 0, random_rgba(2, 2)))
            wait_until(lambda: (stream_status(server.url, "kept") or {}).get("framesIn") == 1)
            await asyncio.sleep(hold)
            status = stream_status(server.url, "kept")
            assert status is not None and status["publisher"] is not None, "a publisher keeps its stream"
            async with connect(server.ws + "/streams/kept") as viewer:
                await next_message(viewer)  # hello
                await publisher.send(json.dumps({"type": "end"}))
                await publisher.close()
                wait_until(lambda: (stream_status(server.url, "kept") or {}).get("publisher", 1) is None,
                           message="the publisher gone")
                await asyncio.sleep(hold)
                status = stream_status(server.url, "kept")
                assert status is not None and len(status["viewers"]) == 1, "a viewer keeps its stream"
        # Unused now: kept, with its latest frame and metrics, for the idle timeout ...
        def unused():
            status = stream_status(server.url, "kept")
            return ("forgotten too soon", None) if status is None else ("unused", status) if not status["viewers"] else None
        verdict, status = wait_until(unused, message="the viewer gone")
        assert verdict == "unused" and status["publisher"] is None, (verdict, status)
        assert _get(server.url + "/streams/kept/latest.png")[:8] == b"\x89PNG\r\n\x1a\n"
        assert "stream=\"kept\"" in _get(server.url + "/metrics").decode()
        # ... then forgotten with both.
        wait_until(lambda: stream_status(server.url, "kept") is None, message="the idle stream forgotten")
        assert "stream=\"kept\"" not in _get(server.url + "/metrics").decode(), "its metrics go with it"
        assert _status(server.url + "/streams/kept/latest.png") == 404, "and so does its latest frame"

    run(scenario())


def test_the_stream_limit_refuses_with_503_until_a_place_is_free(server_factory):
    server = server_factory("--no-demo", "--stream-idle-timeout", "1", "--max-streams", "2")

    async def scenario():
        async with connect(server.ws + "/streams/a"), connect(server.ws + "/streams/b") as b:
            try:
                async with connect(server.ws + "/streams/c"):
                    raise AssertionError("a third stream was accepted")
            except InvalidStatus as refused:
                assert refused.response.status_code == 503
                assert b"maximum of 2 streams" in refused.response.body
            await b.close()
        # Both are now unused; after the idle timeout their places are free again.
        wait_until(lambda: not json.loads(_get(server.url + "/streams"))["streams"], message="streams expired")
        async with connect(server.ws + "/streams/c"), connect(server.ws + "/streams/d"):
            pass

    run(scenario())


def test_dot_and_dot_dot_are_not_stream_names(server):
    for path in ("/streams/.", "/streams/..", "/streams/./publish", "/streams/../publish"):
        assert raw_get_status(server.url, path) == 400, path
    assert raw_get_status(server.url, "/streams/.hidden") == 101, "a name that only starts with a dot is fine"


def _status(url: str) -> int:
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _get(url: str) -> bytes:
    import urllib.request
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()
