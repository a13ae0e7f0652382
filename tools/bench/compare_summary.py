"""The summary of tools/bench/compare: medians (min-max) over runs per relay and scenario, and
CanvasWire's ratio to the best peer of the same run. `canvaswire bench` scenarios (s1-s6) first,
then the independent generator's (n1 n10 n10paced nslow nslownoack, tools/bench/loadgen.js) with
the targets of issue 17.

    RELAYS="canvaswire python_websockets ..." python3 tools/bench/compare_summary.py .build-bench/compare
"""
import json
import os
import pathlib
import statistics
import sys

out = pathlib.Path(sys.argv[1])
runs = sorted(out.glob("run-*"), key=lambda path: int(path.name.split("-")[1]))
relays = os.environ.get("RELAYS", "canvaswire python_websockets python_aiohttp python_picows python_socketify node_ws").split()
peers = [relay for relay in relays if relay != "canvaswire"]


def load(run, scenario, relay):
    path = run / f"{scenario}-{relay}.json"
    try:
        return json.loads(path.read_text())["runs"][0]
    except (FileNotFoundError, json.JSONDecodeError, KeyError, IndexError):
        return None


def values(scenario, relay, pick):
    result = []
    for run in runs:
        report = load(run, scenario, relay)
        if report is not None:
            try:
                result.append(pick(report))
            except (KeyError, TypeError, IndexError):
                pass
    return result


def fmt(vals, decimals=1):
    if not vals:
        return "-"
    med = statistics.median(vals)
    return f"{med:.{decimals}f} ({min(vals):.{decimals}f}-{max(vals):.{decimals}f})"


def ratios(scenario, pick, lower_is_better=False):
    """Per run: CanvasWire against the best peer of that same run; the median of those ratios."""
    per_run = []
    for run in runs:
        ours = load(run, scenario, "canvaswire")
        theirs = [load(run, scenario, r) for r in peers]
        theirs = [pick(p) for p in theirs if p is not None]
        if ours is None or not theirs:
            continue
        best = min(theirs) if lower_is_better else max(theirs)
        value = pick(ours)
        per_run.append(best / value if lower_is_better else value / best)
    return per_run


def ran(scenario):
    return any((run / f"{scenario}-{relay}.json").exists() for run in runs for relay in relays)


def table(title, scenario, columns, key_column, lower_is_better=False):
    if not ran(scenario):
        return
    print(f"\n### {title}\n")
    print("| relay | " + " | ".join(name for name, _, _ in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for relay in relays:
        cells = [fmt(values(scenario, relay, pick), decimals) for _, pick, decimals in columns]
        print(f"| {relay} | " + " | ".join(cells) + " |")
    name, pick, _ = columns[key_column]
    r = ratios(scenario, pick, lower_is_better)
    if r:
        word = "best peer / CanvasWire" if lower_is_better else "CanvasWire / best peer"
        print(f"\n{name}: {word}, per run: " + ", ".join(f"{x:.2f}x" for x in r) + f"; median {statistics.median(r):.2f}x")


mb = lambda n: n / 1e6
server_rss = lambda r: mb(r["server"]["peakResidentBytes"])
server_cpu = lambda r: r["server"]["cpuCores"] * 100
load_cpu = lambda r: r["loadGenerator"]["cpuCores"] * 100
agg = lambda r: r["aggregate"]["throughput"]["megabytesPerSecond"]
lat = lambda key: (lambda r: r["aggregate"]["latency"][key])
fast_fps = lambda r: next(v for v in r["viewers"] if v.get("slowRateMegabytesPerSecond") is None)["throughput"]["framesPerSecond"]
slow_fps = lambda r: next(v for v in r["viewers"] if v.get("slowRateMegabytesPerSecond") is not None)["throughput"]["framesPerSecond"]
mean_viewer_fps = lambda r: statistics.mean(v["throughput"]["framesPerSecond"] for v in r["viewers"])

print("## Relay comparison results\n")
print("```\n" + (out / "machine.txt").read_text().strip() + "\n```")
def iperf_rates(name: str) -> list[float]:
    rates = []
    for run in runs:
        try:
            data = json.loads((run / f"{name}-iperf3.json").read_text())
            rates.append(data["end"]["sum_received"]["bytes"] / data["end"]["sum_received"]["seconds"] / 1e6)
        except (FileNotFoundError, KeyError, json.JSONDecodeError):
            pass
    return rates


raw = iperf_rates("raw")
copy_relay = iperf_rates("copyrelay")
if raw:
    print(f"\nRaw TCP on loopback (iperf3, one stream): {fmt(raw, 0)} MB/s")
if copy_relay:
    print(f"\nA relay that only copies bytes (iperf3 through socat, 1 MiB buffers, one stream): {fmt(copy_relay, 0)} MB/s")

table("S1: 1 publisher, 1 viewer, 1920x1080, unpaced", "s1", [
    ("viewer MB/s", agg, 1), ("viewer fps", mean_viewer_fps, 1), ("p50 ms", lat("p50"), 1), ("p99 ms", lat("p99"), 1),
    ("server CPU %", server_cpu, 0), ("server peak RSS MB", server_rss, 1), ("load gen CPU %", load_cpu, 0)], 0)
if raw:
    ours = values("s1", "canvaswire", agg)
    if ours:
        print(f"\nCanvasWire S1 viewer MB/s against raw TCP: {statistics.median(ours) / statistics.median(raw) * 100:.0f}%")
table("S2: 1 publisher, 10 viewers, 640x360, unpaced", "s2", [
    ("aggregate MB/s", agg, 1), ("per-viewer fps", mean_viewer_fps, 1), ("p50 ms", lat("p50"), 1), ("p99 ms", lat("p99"), 1),
    ("server CPU %", server_cpu, 0), ("server peak RSS MB", server_rss, 1), ("load gen CPU %", load_cpu, 0)], 0)
table("S2 memory: server peak RSS (lower is better)", "s2", [("server peak RSS MB", server_rss, 1)], 0, lower_is_better=True)
table("S3: 1 publisher, 10 viewers, 640x360, paced at 30 fps", "s3", [
    ("p50 ms", lat("p50"), 2), ("p99 ms", lat("p99"), 2), ("max ms", lat("max"), 2), ("per-viewer fps", mean_viewer_fps, 1),
    ("server CPU %", server_cpu, 0), ("load gen CPU %", load_cpu, 0)], 1, lower_is_better=True)
table("S4 client to server: 1 publisher, no viewers, 1920x1080", "s4up", [
    ("publisher MB/s", lambda r: r["publisher"]["megabytesPerSecond"], 1), ("server CPU %", server_cpu, 0), ("load gen CPU %", load_cpu, 0)], 0)
table("S4 server to clients: 1 publisher, 4 viewers, 1920x1080", "s4down", [
    ("aggregate MB/s", agg, 1), ("publisher MB/s", lambda r: r["publisher"]["megabytesPerSecond"], 1),
    ("server CPU %", server_cpu, 0), ("load gen CPU %", load_cpu, 0)], 0)
table("S5: a fast viewer next to a viewer reading 10 MB/s, 1920x1080", "s5", [
    ("fast viewer fps", fast_fps, 1), ("slow viewer fps", slow_fps, 2), ("server peak RSS MB", server_rss, 1),
    ("server RSS at end MB", lambda r: mb(r["server"]["residentBytesAtEnd"]), 1)], 0)
if ran("s5") and ran("s1"):
    print("\nS5 fast viewer fps as a share of S1 (alone), median per relay: " + ", ".join(
        f"{relay} {statistics.median(values('s5', relay, fast_fps)) / statistics.median(values('s1', relay, mean_viewer_fps)) * 100:.0f}%"
        for relay in relays if values("s5", relay, fast_fps) and values("s1", relay, mean_viewer_fps)))
table("S6: 1,000 idle viewers", "s6", [
    ("KiB per connection", lambda r: r["idle"]["bytesPerConnection"] / 1024, 1),
    ("RSS before MB", lambda r: mb(r["idle"]["residentBytesBefore"]), 1), ("RSS after MB", lambda r: mb(r["idle"]["residentBytesAfter"]), 1)], 0,
    lower_is_better=True)


# The independent generator (tools/bench/loadgen.js): issue 17's scenarios, all viewers `latest`.

def loadgen_report(run, scenario, relay):
    """The generator's report of one run, or None if it is missing or unreadable."""
    try:
        data = json.loads((run / f"{scenario}-{relay}.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and data.get("tool") == "tools/bench/loadgen.js" else None


def good(run, scenario, relay):
    """The report if the run passed: a relay that corrupted, reordered or repeated a frame, or
    broke a connection, has `ok` false and counts as FAILED, never as a figure."""
    data = loadgen_report(run, scenario, relay)
    return data if data is not None and data["ok"] else None


def picked(data, pick):
    try:
        value = pick(data)
    except (KeyError, TypeError, IndexError, ZeroDivisionError):
        return None
    return value


def nvalues(scenario, relay, pick):
    found = (picked(data, pick) for data in (good(run, scenario, relay) for run in runs) if data is not None)
    return [value for value in found if value is not None]


def ncell(scenario, relay, pick, decimals):
    failed = sum(1 for run in runs if (data := loadgen_report(run, scenario, relay)) is not None and not data["ok"])
    text = fmt(nvalues(scenario, relay, pick), decimals)
    if failed:
        text = "FAILED" if text == "-" else f"{text}, {failed} run(s) FAILED"
    return text


def best_peer(run, scenario, pick, lower_is_better=False):
    """(relay, report) of the peer with the best `pick` among this run's passing peers."""
    candidates = [(relay, data) for relay in peers if (data := good(run, scenario, relay)) is not None
                  and picked(data, pick) is not None]
    if not candidates:
        return None, None
    choose = min if lower_is_better else max
    return choose(candidates, key=lambda candidate: pick(candidate[1]))


def ntable(title, scenario, columns):
    if not ran(scenario):
        return
    print(f"\n### {title}\n")
    print("| relay | " + " | ".join(name for name, _, _ in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for relay in relays:
        print(f"| {relay} | " + " | ".join(ncell(scenario, relay, pick, decimals) for _, pick, decimals in columns) + " |")
    for run in runs:
        for relay in relays:
            data = loadgen_report(run, scenario, relay)
            if data is not None and not data["ok"]:
                print(f"\nFAILED: {relay}, {run.name}: " + "; ".join(data["failures"][:4]))


nmb = lambda r: r["aggregate"]["megabytesPerSecond"]
ndelivered = lambda r: r["aggregate"]["delivered"] * 100
nlat = lambda key: (lambda r: r["aggregate"]["latency"][key])
nlag = lambda key: (lambda r: r["slow"]["lag"][key])
ncpu_gb = lambda r: r["server"]["cpuSecondsPerGB"]
ncpu = lambda r: r["server"]["cpuCores"] * 100
nrss = lambda r: r["server"]["peakResidentBytes"] / 1e6
ngen = lambda r: r["loadGenerator"]["cpuCores"] * 100

if any(ran(scenario) for scenario in ("n1", "n10", "n10paced", "nslow", "nslownoack")):
    print("\n## Independent load generator (tools/bench/loadgen.js), live (`latest`) viewers\n")
    print("Server CPU s/GB: the relay's CPU seconds per 10^9 payload bytes delivered to viewers; "
          "load gen CPU: the generator's own cores (publisher thread plus viewer threads).")
ntable("N1: 1 publisher, 1 viewer, 1920x1080, unpaced", "n1", [
    ("viewer MB/s", nmb, 1), ("delivered %", ndelivered, 1), ("p50 ms", nlat("p50"), 2), ("p99 ms", nlat("p99"), 2),
    ("server CPU s/GB", ncpu_gb, 3), ("server CPU %", ncpu, 0), ("server peak RSS MB", nrss, 1), ("load gen CPU %", ngen, 0)])
ntable("N10: 1 publisher, 10 viewers, 640x360, unpaced", "n10", [
    ("aggregate MB/s", nmb, 1), ("delivered %", ndelivered, 1), ("p50 ms", nlat("p50"), 2), ("p99 ms", nlat("p99"), 2),
    ("server CPU s/GB", ncpu_gb, 3), ("server peak RSS MB", nrss, 1), ("load gen CPU %", ngen, 0)])
ntable("N10 paced: 1 publisher, 10 viewers, 640x360, 30 fps", "n10paced", [
    ("p50 ms", nlat("p50"), 2), ("p99 ms", nlat("p99"), 2), ("max ms", nlat("max"), 2), ("delivered %", ndelivered, 1),
    ("server CPU %", ncpu, 1), ("load gen CPU %", ngen, 1)])
nacked = lambda r: 100.0 if r["slow"].get("acked") else 0.0
nslow_columns = [
    ("normal p50 ms", nlat("p50"), 2), ("normal p99 ms", nlat("p99"), 2), ("slow lag p50 ms", nlag("p50"), 0),
    ("slow lag p99 ms", nlag("p99"), 0), ("slow fps", lambda r: r["slow"]["framesPerSecond"], 1),
    ("server peak RSS MB", nrss, 1)]
ntable("Nslow: 30 fps, 640x360, 2 viewers + 1 that stops reading for 100 ms after each frame and acks it "
       "(`?ack=1`) where the relay agrees (acked %: runs in which it did)", "nslow",
       nslow_columns + [("acked %", nacked, 0)])
ntable("Nslow without acks: the same, but the slow viewer never acks", "nslownoack", nslow_columns)


def per_run(scenario, measure):
    """measure(ours, run) -> (value, best peer) for each run in which CanvasWire passed."""
    result = []
    for run in runs:
        ours = good(run, scenario, "canvaswire")
        if ours is not None:
            value = measure(ours, run)
            if value is not None:
                result.append(value)
    return result


def against_best(scenario, pick, lower_is_better=False, compare=None):
    """CanvasWire's `pick` over (or, lower is better, under) the best peer's, per run."""
    def measure(ours, run):
        relay, theirs = best_peer(run, scenario, pick, lower_is_better)
        if theirs is None:
            return None
        ours_value, their_value = (compare or pick)(ours), (compare or pick)(theirs)
        return ours_value / their_value, relay
    return measure


targets = [
    ("1→1 1080p viewer MB/s ≥ 1.5x the fastest peer", "n1", against_best("n1", nmb), lambda x: x >= 1.5),
    ("1→10 aggregate MB/s ≥ 1.2x the fastest peer", "n10", against_best("n10", nmb), lambda x: x >= 1.2),
    ("1→10 p99 ≤ that fastest peer's p99", "n10", against_best("n10", nmb, compare=nlat("p99")), lambda x: x <= 1.0),
    ("30 fps p99 ≤ 0.7x the best peer's p99", "n10paced", against_best("n10paced", nlat("p99"), lower_is_better=True),
     lambda x: x <= 0.7),
    ("slow viewer's lag p50 ≤ 67 ms with ack=1 (absolute, ms)", "nslow", lambda ours, run: (nlag("p50")(ours), "-"),
     lambda x: x <= 67),
    ("slow viewer's lag p50 without acks ≤ the best peer's (ratio)", "nslownoack",
     against_best("nslownoack", nlag("p50"), lower_is_better=True), lambda x: x <= 1.0),
    ("peak RSS, 10 unpaced viewers ≤ the leanest peer's", "n10", against_best("n10", nrss, lower_is_better=True),
     lambda x: x <= 1.0),
]
if any(ran(scenario) for _, scenario, _, _ in targets):
    print("\n### Issue 17 targets: CanvasWire against the best peer of the same run\n")
    print("| target | per run (best peer) | median | met |")
    print("|---|---|---|---|")
    for name, scenario, measure, meets in targets:
        if not ran(scenario):
            continue
        results = per_run(scenario, measure)
        if not results:
            print(f"| {name} | - | - | no CanvasWire result |")
            continue
        median = statistics.median(value for value, _ in results)
        cells = ", ".join(f"{value:.2f} ({relay})" for value, relay in results)
        verdict = "yes, every run" if all(meets(value) for value, _ in results) else "median only" if meets(median) else "no"
        print(f"| {name} | {cells} | {median:.2f} | {verdict} |")
    fastest_n1 = [nmb(theirs) for run in runs if (theirs := best_peer(run, "n1", nmb, False)[1]) is not None]
    if fastest_n1 and copy_relay:
        wanted = 1.5 * statistics.median(fastest_n1)
        print(f"\nThe 1→1 target, 1.5x the fastest peer ({statistics.median(fastest_n1):.0f} MB/s), is {wanted:.0f} MB/s; "
              f"a relay that only copies bytes passes {fmt(copy_relay, 0)} MB/s here, "
              f"fed by iperf3 instead of a WebSocket generator: the target is "
              f"{wanted / statistics.median(copy_relay) * 100:.0f}% of what copying alone allows on this machine.")
    loads = [f"{scenario} {statistics.median(v):.0f}%" for scenario in ("n1", "n10", "n10paced", "nslow", "nslownoack")
             if (v := [x for relay in relays for x in nvalues(scenario, relay, ngen)])]
    print("\nLoad generator CPU (median over relays and runs, of 2 cores = 200%): " + ", ".join(loads))
