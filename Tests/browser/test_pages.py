"""The browser pages in a real (headless) Chromium, against a real `canvaswire serve`.

- the viewer page (`GET /`) draws exactly the bytes a Python publisher sent, across odd sizes and size
  changes, and its status panel shows live, plausible figures that agree with the server's own;
- the sender page (`GET /send`) publishes exactly the documented pattern, in bare and v1 mode, and
  paces itself on `bufferedAmount` when a lossless viewer makes the server stop reading it;
- the standalone sample `samples/browser/viewer.html`, opened from a file, draws exact pixels too.

Pixels are read back in the page with `getImageData`. Every frame is opaque (alpha 255), so the canvas's
premultiplied storage cannot round them and the comparison is byte for byte.
"""
import asyncio
import base64
import json
import os
import pathlib
import threading

import pytest
from websockets.asyncio.client import connect as async_connect
from websockets.sync.client import connect as sync_connect

from browser_support import driver, server_factory, watchdog  # noqa: F401 (fixtures)
from cw import expected_pattern, make_frame, parse_frame, stream_status, wait_for_viewers, wait_until

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
WAIT = 30  # seconds any single condition may take to come true


def opaque_random(width: int, height: int) -> bytes:
    data = bytearray(os.urandom(width * height * 4))
    data[3::4] = b"\xff" * (width * height)
    return bytes(data)


# --- talking to the page -------------------------------------------------------------------------

READ_CANVAS = """
const canvas = document.getElementById(arguments[0]);
const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
let text = '';
for (let i = 0; i < data.length; i += 0x8000) text += String.fromCharCode.apply(null, data.subarray(i, i + 0x8000));
return [canvas.width, canvas.height, btoa(text)];
"""


def canvas_pixels(driver, canvas_id: str):
    width, height, encoded = driver.execute_script(READ_CANVAS, canvas_id)
    return width, height, base64.b64decode(encoded)


def page_stats(driver) -> dict:
    return driver.execute_script("return JSON.parse(JSON.stringify(window.canvaswire.stats))")


def wait_for_stats(driver, predicate, message: str, timeout: float = WAIT) -> dict:
    """Polls the page's window.canvaswire.stats until `predicate(stats)` holds."""
    last = {}

    def check():
        last.update(page_stats(driver))
        return predicate(last)
    try:
        wait_until(check, timeout, message=message)
    except AssertionError as error:
        raise AssertionError(f"{error}; last stats: {json.dumps(last, default=str)[:2000]}") from None
    return dict(last)


def save_artifact(element, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    element.screenshot(str(path))
    assert path.stat().st_size > 0


class Pump(threading.Thread):
    """Publishes frames on a sync websockets connection until stopped: paced at about 60 frames/s, or
    as fast as the connection takes them. Frame k is filled with one opaque colour derived from k."""

    def __init__(self, ws, width: int, height: int, first_sequence: int, paced: bool):
        super().__init__(daemon=True)
        self.ws, self.width, self.height, self.paced = ws, width, height, paced
        self.next_sequence = first_sequence
        self.halt = threading.Event()
        self.error = None

    def run(self):
        try:
            while not self.halt.is_set():
                k = self.next_sequence
                pixel = bytes((k & 255, (k >> 8) & 255, 0x55, 255))
                self.ws.send(make_frame(self.width, self.height, k, pixel * (self.width * self.height)))
                self.next_sequence += 1
                if self.paced:
                    self.halt.wait(1 / 60)  # a frame rate, not a synchronisation
        except Exception as error:  # reported by stop()
            self.error = error

    def stop(self) -> int:
        """Stops publishing; returns the next unused sequence number."""
        self.halt.set()
        self.join(WAIT)
        assert not self.is_alive(), "publisher thread did not stop"
        assert self.error is None, self.error
        return self.next_sequence


# --- viewer page ---------------------------------------------------------------------------------

# The page is blocked on purpose (a synchronous XHR loop keeps its main thread busy, so it reads no
# WebSocket messages) until the server reports that it had to drop frames for it. Bounded by a deadline.
BLOCK_UNTIL_SERVER_DROPS = """
const [stream, deadlineMs] = arguments;
const until = Date.now() + deadlineMs;
while (Date.now() < until) {
  const request = new XMLHttpRequest();
  request.open('GET', '/streams', false);
  request.send();
  const entry = JSON.parse(request.responseText).streams.find((s) => s.name === stream);
  if (entry && entry.viewers.some((v) => v.dropped > 0)) return true;
}
return false;
"""

SHOWN = """
const ids = ['pill', 's-state', 's-fps', 's-mbps', 's-latency', 's-received', 's-drawn', 's-dropped',
             's-skipped', 's-size', 's-seq', 's-publisher', 'h-policy'];
const shown = {};
for (const id of ids) shown[id] = document.getElementById(id).textContent;
return [JSON.parse(JSON.stringify(window.canvaswire.stats)), shown];
"""


def wait_for_panel(driver):
    """Waits until the status panel shows the current counters; returns (stats, shown texts)."""
    def agrees():
        stats, shown = driver.execute_script(SHOWN)
        pairs = [("s-received", "framesReceived"), ("s-drawn", "framesDrawn"), ("s-dropped", "dropped"),
                 ("s-skipped", "skipped"), ("s-seq", "lastSequence")]
        return (stats, shown) if all(shown[text] == str(stats[key]) for text, key in pairs) else None
    return wait_until(agrees, WAIT, message="the status panel to show the page's counters")


def test_viewer_page_draws_exact_pixels_and_shows_live_figures(server_factory, driver):
    from selenium.webdriver.common.by import By

    server = server_factory("--no-demo", "--high-water-mark", "500000", "--low-water-mark", "100000")
    stream = "pix"
    with sync_connect(f"{server.ws}/streams/{stream}/publish", max_size=None, open_timeout=10, close_timeout=5) as publisher:
        assert json.loads(publisher.recv(timeout=10))["role"] == "publisher"
        driver.get(f"{server.url}/?stream={stream}")
        wait_for_stats(driver, lambda s: s["readyState"] == "OPEN" and s["hello"] is not None, "the viewer's hello")

        # 1. Exact pixels, odd sizes, size changes in both directions.
        sizes = [(33, 17), (33, 17), (64, 48), (64, 48), (33, 17), (1, 1)]
        for sequence, (width, height) in enumerate(sizes):
            payload = opaque_random(width, height)
            publisher.send(make_frame(width, height, sequence, payload))
            drawn = wait_for_stats(driver, lambda s: s["lastDrawnSequence"] == sequence, f"frame {sequence} drawn")
            assert (drawn["width"], drawn["height"]) == (width, height)
            got_width, got_height, pixels = canvas_pixels(driver, "view")
            assert (got_width, got_height) == (width, height), "the canvas takes the frame's size"
            assert pixels == payload, f"frame {sequence} ({width}x{height}): canvas differs from the bytes sent"
            if sequence == 3:
                save_artifact(driver.find_element(By.ID, "view"), "viewer-canvas-64x48.png")
        final = page_stats(driver)
        assert final["framesReceived"] == len(sizes) and final["invalidFrames"] == 0
        assert final["imageDataAllocations"] == 4, "one ImageData per size change, reused while the size stays"

        # 2. Live figures while frames flow: state, frames/s, MB/s, latency, counters, as stats and as text.
        pump = Pump(publisher, 64, 48, len(sizes), paced=True)
        pump.start()
        try:
            def live():  # the panel is redrawn 4 times a second: wait for one redraw showing the new frames
                stats, shown = driver.execute_script(SHOWN)
                flowing = stats["fps"] > 0 and stats["framesReceived"] > len(sizes) + 5
                return (stats, shown) if flowing and shown["s-size"] == "64 × 48" else None
            stats, shown = wait_until(live, WAIT, message="frames/s above 0 and the new size shown")
        finally:
            next_sequence = pump.stop()
        assert stats["readyState"] == "OPEN" and shown["pill"] == "OPEN" and shown["s-state"].startswith("OPEN")
        assert 0 < stats["fps"] <= next_sequence, stats["fps"]
        assert shown["s-fps"] == str(stats["fps"])
        assert stats["mbps"] > 0 and shown["s-mbps"] == f"{stats['mbps']:.2f}"
        assert isinstance(stats["latencyMs"], (int, float)) and shown["s-latency"].endswith(" ms")
        assert stats["framesDrawn"] <= stats["framesReceived"] <= next_sequence
        assert shown["s-size"] == "64 × 48" and shown["s-publisher"] == "connected" and shown["h-policy"] == "latest"
        option = "return document.querySelector('#stream option[value=\"' + arguments[0] + '\"]').textContent"
        wait_until(lambda: "●" in driver.execute_script(option, stream), WAIT,
                   message="the stream list to mark the stream as having a publisher")
        # The counters change with every message and the panel is redrawn 4 times a second: once frames stop,
        # the panel catches up with them.
        stats, shown = wait_for_panel(driver)
        assert stats["dropped"] >= 0 and stats["framesReceived"] > len(sizes) + 5

        # 3. A viewer that stops reading: the server drops frames for it and says so; when it reads again it
        #    gets the newest frame, and the page's dropped figure is the server's.
        pump = Pump(publisher, 256, 256, next_sequence, paced=False)
        pump.start()
        try:
            assert driver.execute_script(BLOCK_UNTIL_SERVER_DROPS, stream, 20_000), "the server never dropped a frame"
        finally:
            next_sequence = pump.stop()
        last = opaque_random(40, 30)
        publisher.send(make_frame(40, 30, next_sequence, last))
        wait_for_stats(driver, lambda s: s["lastDrawnSequence"] == next_sequence, "the newest frame drawn")
        assert canvas_pixels(driver, "view") == (40, 30, last)
        viewer = stream_status(server.url, stream)["viewers"][0]
        stats, shown = wait_for_panel(driver)
        assert viewer["dropped"] > 0
        assert stats["dropped"] == viewer["dropped"], "the page shows the drops the server reported"
        assert stats["framesReceived"] == viewer["framesSent"]
        assert shown["s-seq"] == str(next_sequence) and shown["s-size"] == "40 × 30"
        save_artifact(driver.find_element(By.ID, "view"), "viewer-canvas.png")
        save_artifact(driver.find_element(By.TAG_NAME, "body"), "viewer-page.png")

        # 4. The end of the stream is shown too.
        publisher.send(json.dumps({"type": "end"}))
        ended = wait_for_stats(driver, lambda s: s["ended"], "the end message")
        assert ended["endSequence"] == next_sequence


# --- sender page ---------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["bare", "v1"])
def test_sender_page_publishes_the_documented_pattern(server_factory, driver, mode):
    server = server_factory("--no-demo")
    stream, width, height, count = f"sent-{mode}", 64, 48, 40
    with sync_connect(f"{server.ws}/streams/{stream}?policy=all", max_size=None, open_timeout=10) as viewer:
        assert json.loads(viewer.recv(timeout=10))["role"] == "viewer"
        driver.get(f"{server.url}/send?stream={stream}&size={width}x{height}&mode={mode}&fps=0"
                   f"&autostart=1&frames={count}")
        frames, end = [], None
        while end is None:
            message = viewer.recv(timeout=WAIT)
            if isinstance(message, bytes):
                frames.append(parse_frame(message))
            elif json.loads(message)["type"] == "end":
                end = json.loads(message)
    # bare: the server stamps 0, 1, ...; v1: the page numbers its frames itself. Both count from 0.
    assert [f["sequence"] for f in frames] == list(range(count))
    assert end["lastSequence"] == count - 1
    for frame in frames:
        assert (frame["format"], frame["width"], frame["height"]) == (1, width, height)
        assert frame["payload"] == expected_pattern(width, height, frame["sequence"]), f"frame {frame['sequence']}"
    stats = wait_for_stats(driver, lambda s: s["readyState"] == "CLOSED", "the sender to close")
    assert stats["sent"] == count and stats["lastSequence"] == count - 1 and stats["endSent"]
    assert (stats["closeCode"], stats["wasClean"]) == (1000, True)


def test_sender_page_holds_back_when_a_lossless_viewer_stalls_the_server(server_factory, driver):
    """A lossless viewer stops reading, so the server stops reading the page's publisher connection; the
    page's bufferedAmount then rises to its threshold and stays there while it holds frames back.

    The bound on maxBufferedAmount is exact, no margin: the page calls send() only while bufferedAmount is
    below the threshold, and only send() makes bufferedAmount grow (by one message), so it can never pass
    threshold - 1 + one message. Chrome lowers it asynchronously, which can only make the page see more.
    """
    server = server_factory("--no-demo", "--high-water-mark", "200000", "--low-water-mark", "50000")
    stream, width, height, threshold = "bp", 128, 128, 300_000
    message_bytes = 32 + width * height * 4
    url = (f"{server.url}/send?stream={stream}&size={width}x{height}&mode=v1&fps=0"
           f"&threshold={threshold}&autostart=1")

    async def scenario():
        async with async_connect(f"{server.ws}/streams/{stream}?policy=all", max_size=None, max_queue=1,
                                 open_timeout=10, close_timeout=5) as viewer:
            assert json.loads(await asyncio.wait_for(viewer.recv(), 10))["role"] == "viewer"
            viewer.transport.pause_reading()  # a stuck lossless viewer: the server must pause the publisher

            async def stats_when(predicate, message):
                return await asyncio.to_thread(wait_for_stats, driver, predicate, message)

            await asyncio.to_thread(driver.get, url)
            held = await stats_when(lambda s: s["heldBack"] > 0, "the page to hold a frame back")
            # Keep it stuck a while longer: it goes on holding back rather than sending more.
            stuck = await stats_when(lambda s: s["heldBack"] >= held["heldBack"] + 200, "more held-back ticks")
            assert stuck["maxBufferedAmount"] >= threshold, "bufferedAmount reached the threshold"
            assert stuck["maxBufferedAmount"] <= threshold + message_bytes, stuck["maxBufferedAmount"]
            status = await asyncio.to_thread(stream_status, server.url, stream)
            assert status["viewers"][0]["bufferedAmount"] > 200_000, "the viewer is above its high-water mark"
            assert status["framesIn"] <= stuck["sent"]

            # The viewer reads again: every frame arrives, in order, with the right pixels, and the page
            # sends again once the server drains.
            viewer.transport.resume_reading()
            received = []

            async def read_all():
                while True:
                    message = await asyncio.wait_for(viewer.recv(), WAIT)
                    if isinstance(message, bytes):
                        frame = parse_frame(message)
                        assert frame["payload"] == expected_pattern(width, height, frame["sequence"]), frame["sequence"]
                        received.append(frame["sequence"])
                    elif json.loads(message)["type"] == "end":
                        return json.loads(message)
            reader = asyncio.create_task(read_all())
            await stats_when(lambda s: s["sent"] >= stuck["sent"] + 20, "the page to send again")
            await asyncio.to_thread(driver.execute_script, "window.canvaswire.stop()")
            end = await asyncio.wait_for(reader, 60)
            final = await stats_when(lambda s: s["readyState"] == "CLOSED", "the sender to close")
            assert received == list(range(final["sent"])), "lossless: every frame the page sent, in order"
            assert end["lastSequence"] == final["sent"] - 1
            assert final["maxBufferedAmount"] <= threshold + message_bytes, final["maxBufferedAmount"]
            assert final["closeCode"] == 1000

    asyncio.run(asyncio.wait_for(scenario(), 180))


# --- the standalone sample -----------------------------------------------------------------------

def test_sample_viewer_html_from_a_file_draws_exact_pixels(server_factory, driver):
    # A page opened from file:// has the opaque origin "null"; the server must be told to accept it.
    server = server_factory("--no-demo", "--allow-origin", "null")
    stream = "sample"
    page = (ROOT / "samples" / "browser" / "viewer.html").as_uri()
    with sync_connect(f"{server.ws}/streams/{stream}/publish", open_timeout=10, close_timeout=5) as publisher:
        assert json.loads(publisher.recv(timeout=10))["role"] == "publisher"
        driver.get(f"{page}?server={server.ws}&stream={stream}")
        wait_for_viewers(server.url, stream, 1)
        status = lambda: driver.execute_script("return document.getElementById('status').textContent")  # noqa: E731
        for sequence, (width, height) in enumerate([(33, 17), (33, 17), (64, 48), (7, 3)]):
            payload = opaque_random(width, height)
            publisher.send(make_frame(width, height, sequence, payload))
            expected = f"{stream}: {width}×{height} frame {sequence}"
            wait_until(lambda: status() == expected, WAIT, message=f"status {expected!r} (last {status()!r})")
            assert canvas_pixels(driver, "view") == (width, height, payload), f"frame {sequence}"
        publisher.send(json.dumps({"type": "end", "lastSequence": 3}))
        wait_until(lambda: status() == "stream ended at sequence 3", WAIT, message="the end status")
