"""Delta frames (pixel format 3) in the browser pages, in a real (headless) Chromium:

- the viewer page (`GET /`, `encoding=delta` by default) shows exactly the frame published, through
  deltas and size changes, says so on its panel, and a slow `latest` viewer page that the server had to
  hold back ends on the exact newest frame;
- the same page against a scripted server: several rectangles, an empty delta, and a delta it cannot
  apply, after which it starts again from the whole frame of a new connection;
- the sender page in delta mode sends whole frames first and then only changed tiles, which the server
  turns back into exactly the documented frames for raw and delta viewers alike;
- the standalone sample `samples/browser/viewer.html` applies deltas too.

Every frame is opaque, so the canvas's premultiplied storage cannot round it and pixels compare exactly.
"""
import json
import pathlib
import threading
import urllib.request

import pytest
from websockets.sync.client import connect as sync_connect
from websockets.sync.server import serve as sync_serve

from browser_support import driver, server_factory, watchdog  # noqa: F401 (fixtures)
from cw import (apply_delta, expected_pattern, make_frame, parse_frame, publisher_connection, stream_status,
                wait_for_viewers, wait_until)
from deltas import changed_tiles, delta_message, sparse_frames
from test_pages import BLOCK_UNTIL_SERVER_DROPS, WAIT, canvas_pixels, page_stats, wait_for_stats

ROOT = pathlib.Path(__file__).resolve().parents[2]


def wait_until_drawn(driver, sequence, width, height, frame):
    wait_for_stats(driver, lambda s: s["lastDrawnSequence"] == sequence, f"frame {sequence} drawn")
    assert canvas_pixels(driver, "view") == (width, height, frame), f"frame {sequence}: canvas differs from the frame published"


# --- viewer page against the server --------------------------------------------------------------

def test_viewer_page_shows_the_exact_frame_through_deltas(server_factory, driver):
    server = server_factory("--no-demo")
    stream = "deltapage"
    published = [(96, 64, f) for f in sparse_frames(96, 64, 6)] + [(80, 48, f) for f in sparse_frames(80, 48, 5)]
    with publisher_connection(server, stream) as publisher:
        driver.get(f"{server.url}/?stream={stream}")
        wait_for_stats(driver, lambda s: s["encoding"] == "delta", "the hello to report encoding delta")
        for sequence, (width, height, frame) in enumerate(published):
            publisher.send(make_frame(width, height, sequence, frame))
            wait_until_drawn(driver, sequence, width, height, frame)
        stats = wait_for_stats(driver, lambda s: s["bytesPerFrame"] is not None, "the bytes per frame")
        # A whole frame first and after the size change; every other frame came as a delta.
        assert stats["deltaFrames"] == len(published) - 2 and stats["rectanglesDrawn"] >= stats["deltaFrames"]
        assert stats["invalidFrames"] == 0 and stats["imageDataAllocations"] == 2
        assert 0 < stats["ofFullFrame"] < 1, "deltas cost less than whole frames"
        # The status panel redraws every 250 ms: wait for the redraw that shows the last frame.
        shown = wait_until(lambda: (texts := driver.execute_script(
            "return ['h-encoding', 's-bpf', 's-deltas'].map((id) => document.getElementById(id).textContent)"
        ))[2] == str(stats["deltaFrames"]) and texts, message="the status panel's delta count")
        assert shown[0] == "delta" and "% of full" in shown[1]

        # ?encoding=raw asks for whole frames, and says so.
        driver.get(f"{server.url}/?stream={stream}&encoding=raw")
        raw = wait_for_stats(driver, lambda s: s["lastDrawnSequence"] == len(published) - 1, "the latest frame, whole")
        assert raw["encoding"] == "raw" and raw["deltaFrames"] == 0
        assert canvas_pixels(driver, "view") == (80, 48, published[-1][2])


def test_a_slow_latest_delta_viewer_page_ends_on_the_exact_newest_frame(server_factory, driver):
    """The page stops reading; the server holds frames back from it and drops them, then catches it up
    with one delta from the newest frame when it reads again."""
    server = server_factory("--no-demo", "--high-water-mark", "200000", "--low-water-mark", "50000")
    stream, width, height = "slowdelta", 256, 256
    frames = sparse_frames(width, height, 64, side=128)   # deltas of about a quarter of the frame
    with publisher_connection(server, stream) as publisher:
        driver.get(f"{server.url}/?stream={stream}")
        wait_for_stats(driver, lambda s: s["encoding"] == "delta", "the hello")
        publisher.send(make_frame(width, height, 0, frames[0]))
        wait_until_drawn(driver, 0, width, height, frames[0])

        sent = {"next": 1}
        halt = threading.Event()

        def pump():  # unpaced, until the page has been held back; frame k is frames[k % len(frames)]
            while not halt.is_set():
                publisher.send(make_frame(width, height, sent["next"], frames[sent["next"] % len(frames)]))
                sent["next"] += 1
        thread = threading.Thread(target=pump, daemon=True)
        thread.start()
        try:
            assert driver.execute_script(BLOCK_UNTIL_SERVER_DROPS, stream, 20_000), "the server never dropped a frame"
        finally:
            halt.set()
            thread.join(WAIT)
        newest = sent["next"]
        publisher.send(make_frame(width, height, newest, frames[newest % len(frames)]))
        wait_until_drawn(driver, newest, width, height, frames[newest % len(frames)])
        stats = page_stats(driver)
        viewer = stream_status(server.url, stream)["viewers"][0]
        assert viewer["dropped"] > 0 and stats["dropped"] == viewer["dropped"]
        assert stats["deltaFrames"] > 0 and stats["invalidFrames"] == 0
        assert stats["framesReceived"] < newest + 1, "frames were skipped, and the page still shows the newest exactly"


# --- viewer page against a scripted server -------------------------------------------------------

def test_viewer_page_applies_any_valid_delta_and_starts_again_after_one_it_cannot_apply(server_factory, driver):
    server = server_factory("--no-demo")   # serves the page; the stream comes from the scripted server
    width, height = 96, 64
    frames = sparse_frames(width, height, 6, side=40)
    hello = {"type": "hello", "protocol": 1, "role": "viewer", "stream": "x", "policy": "latest", "encoding": "delta",
             "highWaterMark": 1 << 20, "server": "scripted",
             "limits": {"maxWidth": 4096, "maxHeight": 4096, "maxPayloadBytes": 1 << 26}}
    connections, resume = [], threading.Event()

    def handler(ws):
        connections.append(ws.request.path)
        ws.send(json.dumps(hello))
        if len(connections) == 1:
            ws.send(make_frame(width, height, 0, frames[0]))
            # Tiles one by one (several rectangles), an empty delta, then the whole frame as one rectangle.
            ws.send(delta_message(changed_tiles(frames[0], frames[1], width, height), frames[1], width, height, 1))
            ws.send(delta_message([], frames[1], width, height, 2))
            ws.send(delta_message([(0, 0, width, height)], frames[3], width, height, 3))
            resume.wait(WAIT)
            ws.send(delta_message([(0, 0, 1, 1)], frames[3], 8, 8, 4))     # for a size it holds no frame of
        else:
            ws.send(make_frame(width, height, 5, frames[4]))
            ws.send(delta_message(changed_tiles(frames[4], frames[5], width, height), frames[5], width, height, 6))
        try:
            ws.recv(timeout=WAIT)
        except Exception:
            pass

    with sync_serve(handler, "127.0.0.1", 0) as scripted:
        threading.Thread(target=scripted.serve_forever, daemon=True).start()
        port = scripted.socket.getsockname()[1]
        try:
            driver.get(f"{server.url}/?stream=x&server=ws://127.0.0.1:{port}")
            wait_until_drawn(driver, 3, width, height, frames[3])
            stats = page_stats(driver)
            assert stats["deltaFrames"] == 3 and stats["invalidFrames"] == 0
            resume.set()
            wait_until_drawn(driver, 6, width, height, frames[5])
            stats = page_stats(driver)
            assert stats["invalidFrames"] == 1 and "8x8" in stats["lastError"], stats["lastError"]
            assert stats["reconnects"] == 1 and connections == ["/streams/x?policy=latest&encoding=delta&ack=2"] * 2
        finally:
            resume.set()
            scripted.shutdown()


# --- sender page ---------------------------------------------------------------------------------

def expected_square(width: int, height: int, n: int) -> bytes:
    """Frame n of the sender's `square` source, as send.js documents it."""
    frame, moving = bytearray(expected_pattern(width, height, 0)), expected_pattern(width, height, n)
    side = min(24, width, height)
    x0, y0 = (5 * n) % (width - side + 1), (3 * n) % (height - side + 1)
    for y in range(y0, y0 + side):
        frame[(y * width + x0) * 4:(y * width + x0 + side) * 4] = moving[(y * width + x0) * 4:(y * width + x0 + side) * 4]
    return bytes(frame)


@pytest.mark.parametrize("source,deltas", [("square", True), ("pattern", False)])
def test_sender_page_in_delta_mode_sends_changed_tiles_that_rebuild_the_documented_frames(server_factory, driver, source, deltas):
    """`square` changes a few tiles a frame, so every frame after the first goes as a delta; `pattern`
    changes every pixel, so a delta would not be smaller and every frame goes whole."""
    server = server_factory("--no-demo")
    stream, width, height, count = f"senddelta-{source}", 128, 96, 40
    expected = expected_square if source == "square" else expected_pattern
    with sync_connect(f"{server.ws}/streams/{stream}?policy=all", max_size=None, open_timeout=10) as raw, \
            sync_connect(f"{server.ws}/streams/{stream}?policy=all&encoding=delta", max_size=None, open_timeout=10) as delta:
        assert json.loads(raw.recv(timeout=10))["role"] == "viewer"
        assert json.loads(delta.recv(timeout=10))["encoding"] == "delta"
        driver.get(f"{server.url}/send?stream={stream}&size={width}x{height}&mode=delta&source={source}&fps=0"
                   f"&autostart=1&frames={count}")
        for viewer in (raw, delta):
            held, sequences = None, []
            while True:
                message = viewer.recv(timeout=WAIT)
                if isinstance(message, str):
                    if json.loads(message)["type"] == "end":
                        break
                    continue
                frame = parse_frame(message)
                if frame["format"] == 3:
                    assert viewer is delta, "a raw viewer gets whole frames"
                    held = apply_delta(held, frame["payload"], width, height)
                else:
                    held = frame["payload"]
                assert held == expected(width, height, frame["sequence"]), f"frame {frame['sequence']}"
                sequences.append(frame["sequence"])
            assert sequences == list(range(count))
    stats = wait_for_stats(driver, lambda s: s["readyState"] == "CLOSED", "the sender to close")
    assert stats["sent"] == count and stats["endSent"] and (stats["closeCode"], stats["wasClean"]) == (1000, True)
    assert stats["deltaFrames"] == (count - 1 if deltas else 0)


# --- the standalone sample -----------------------------------------------------------------------

def test_sample_viewer_html_applies_deltas(server_factory, driver):
    server = server_factory("--no-demo", "--allow-origin", "null")
    stream = "sampledelta"
    page = (ROOT / "samples" / "browser" / "viewer.html").as_uri()
    frames = sparse_frames(64, 48, 5)
    with publisher_connection(server, stream) as publisher:
        driver.get(f"{page}?server={server.ws}&stream={stream}")
        wait_for_viewers(server.url, stream, 1)
        status = lambda: driver.execute_script("return document.getElementById('status').textContent")  # noqa: E731
        for sequence, frame in enumerate(frames):
            publisher.send(make_frame(64, 48, sequence, frame))
            expected = f"{stream}: 64×48 frame {sequence}" + (" (delta)" if sequence else "")
            wait_until(lambda: status() == expected, WAIT, message=f"status {expected!r} (last {status()!r})")
            assert canvas_pixels(driver, "view") == (64, 48, frame), f"frame {sequence}"


# --- permessage-deflate (RFC 7692) as Chromium negotiates it --------------------------------------

def test_pages_agree_to_permessage_deflate_and_keep_every_pixel(server_factory, driver):
    """Chromium always offers permessage-deflate; with `serve --deflate on` the server agrees with the
    viewer page and the sender page alike, compresses every frame to the viewer, inflates what the
    sender page compressed, and every pixel arrives as it was."""
    server = server_factory("--no-demo", "--deflate", "on")
    stream, width, height, count = "deflated", 96, 64, 12
    published = sparse_frames(width, height, 5)
    with publisher_connection(server, stream) as publisher:
        driver.get(f"{server.url}/?stream={stream}")
        wait_for_stats(driver, lambda s: s["readyState"] == "OPEN", "the viewer page to connect")
        for sequence, frame in enumerate(published):
            publisher.send(make_frame(width, height, sequence, frame))
            wait_until_drawn(driver, sequence, width, height, frame)
        stats = page_stats(driver)
        assert stats["extensions"].startswith("permessage-deflate"), stats["extensions"]
        assert "server_no_context_takeover" in stats["extensions"]
        assert driver.execute_script("return document.getElementById('h-compression').textContent") == "permessage-deflate"
    metrics = urllib.request.urlopen(server.url + "/metrics", timeout=10).read().decode()
    compressed = [line for line in metrics.splitlines()
                  if line.startswith("canvaswire_messages_compressed_total") and f'stream="{stream}"' in line]
    assert compressed and float(compressed[0].split()[-1]) >= len(published), compressed

    # The sender page: its compressed frames are inflated into exactly the documented pattern.
    stream = "deflated-sender"
    with sync_connect(f"{server.ws}/streams/{stream}?policy=all", max_size=None, open_timeout=10,
                      compression=None) as viewer:
        assert json.loads(viewer.recv(timeout=10))["role"] == "viewer"
        driver.get(f"{server.url}/send?stream={stream}&size={width}x{height}&mode=v1&fps=0&autostart=1&frames={count}")
        frames = []
        while True:
            message = viewer.recv(timeout=WAIT)
            if isinstance(message, bytes):
                frames.append(parse_frame(message))
            elif json.loads(message)["type"] == "end":
                break
    assert [f["payload"] for f in frames] == [expected_pattern(width, height, n) for n in range(count)]
    sender = wait_for_stats(driver, lambda s: s["readyState"] == "CLOSED", "the sender to close")
    assert sender["extensions"].startswith("permessage-deflate"), sender["extensions"]
