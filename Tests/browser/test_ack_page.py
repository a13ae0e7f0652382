"""The viewer page acknowledges each frame once it has drawn it (`?ack=N`, docs/PROTOCOL.md
"Acknowledged viewers"), in headless Chromium against the real server."""
from browser_support import driver, server_factory, watchdog  # noqa: F401 (fixtures)
from cw import make_frame, publisher_connection, viewer_entry, wait_until
from test_pages import page_stats, wait_for_stats

ONE_MIB = 2 ** 20  # websockets' default limit on a message received, which these publishers always had


def test_viewer_page_acks_each_drawn_frame(server_factory, driver):
    """With ?ack=1 the server sends the page one frame at a time: every frame published after the
    last was drawn arrives, which only the page's acks allow, and none stays in flight."""
    server = server_factory("--no-demo")
    stream, width, height = "acked", 8, 8
    with publisher_connection(server, stream, max_size=ONE_MIB) as publisher:
        driver.get(f"{server.url}/?stream={stream}&ack=1")
        hello = wait_for_stats(driver, lambda s: s["hello"] is not None, "the hello")["hello"]
        assert hello["ack"] == 1
        for sequence in range(6):
            publisher.send(make_frame(width, height, sequence, bytes([sequence * 40]) * (width * height * 4)))
            wait_for_stats(driver, lambda s, n=sequence: s["lastDrawnSequence"] == n, f"frame {sequence} drawn")
            entry = wait_until(lambda n=sequence: (e := viewer_entry(server, stream)) and e["framesSent"] == n + 1
                               and e["framesInFlight"] == 0 and e, message=f"frame {sequence} acknowledged")
            assert entry["ack"] == 1
        assert page_stats(driver)["framesDrawn"] == 6


def test_viewer_page_with_ack_0_sends_no_acks(server_factory, driver):
    server = server_factory("--no-demo")
    stream = "unacked"
    with publisher_connection(server, stream, max_size=ONE_MIB) as publisher:
        driver.get(f"{server.url}/?stream={stream}&ack=0")
        wait_for_stats(driver, lambda s: s["hello"] is not None, "the hello")
        for sequence in range(3):
            publisher.send(make_frame(4, 4, sequence, bytes(64)))
        wait_for_stats(driver, lambda s: s["lastDrawnSequence"] == 2, "frame 2 drawn")
        entry = viewer_entry(server, stream)
        assert "ack" not in entry and "framesInFlight" not in entry
        stats = page_stats(driver)
        assert "&ack=" not in stats["url"]
        # An ack sent anyway would have closed the connection (1008) and made the page reconnect.
        assert stats["reconnects"] == 0 and stats["closeCode"] is None
