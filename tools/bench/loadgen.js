#!/usr/bin/env node
// An independent load generator for CanvasWire-protocol relays (docs/PROTOCOL.md), written apart
// from the Swift code it measures: raw `net` sockets and its own minimal RFC 6455 client
// (tools/bench/loadgen/). One publisher sends v1 frames; viewers in worker threads check every
// byte of every frame and time it; one JSON object goes to stdout.
//
//   node tools/bench/loadgen.js ws://127.0.0.1:8080/streams/bench --scenario n10 [--server-pid PID]
//
// Scenarios (issue 17's table; viewers use `policy=latest`, the live policy every relay has):
//   n1        1 viewer, 1920x1080, unpaced
//   n10       10 viewers, 640x360, unpaced
//   n10paced  10 viewers, 640x360, 30 fps
//   nslow     2 viewers + 1 slow viewer (reads a frame, then stops reading for 100 ms), 640x360, 30 fps
// Options override a scenario: --size WxH --viewers N --slow-viewers N --slow-sleep-ms MS --fps F
// (0 = unpaced) --policy P --duration S (default 5) --warmup S (default 0.5) --viewer-threads N (default 1)
// --send-threshold BYTES (unpaced: send the next frame while the socket's own buffer holds less;
// default 256 KiB) --grace S (default 5: how long viewers may take to drain after the last frame).
//
// Payload bytes and headers are all checked (see loadgen/payload.js); a corrupt, reordered or
// duplicated frame, a broken connection or a viewer that gets nothing makes `ok` false and the
// exit status 1, and so does a run that cannot finish (`failures` says why); 2 is a usage error. Latency is the capture time in the frame's header (stamped when the publisher
// hands the frame to its socket) to the moment the read that completed the message returned.
// Throughput counts payload bytes (10^6 per MB) of frames read within the window [warmup, duration).
"use strict";

const { Worker, isMainThread, parentPort, workerData } = require("node:worker_threads");

const SCENARIOS = {
  n1: { size: "1920x1080", viewers: 1, slowViewers: 0, fps: 0 },
  n10: { size: "640x360", viewers: 10, slowViewers: 0, fps: 0 },
  n10paced: { size: "640x360", viewers: 10, slowViewers: 0, fps: 30 },
  nslow: { size: "640x360", viewers: 2, slowViewers: 1, fps: 30 },
};

class UsageError extends Error {}

/** Reports a run that could not finish (a refused connection, a relay that stopped answering) as failed. */
function giveUp(scenario, reason) {
  process.stdout.write(`${JSON.stringify({ tool: "tools/bench/loadgen.js", ok: false, failures: [reason], scenario })}\n`);
  process.stderr.write(`loadgen: ${reason}\n`);
  process.exit(1);
}

function scenarioArgument() {
  const index = process.argv.indexOf("--scenario");
  return index > 0 ? process.argv[index + 1] : "n1";
}

function parseArguments(argv) {
  const options = {
    url: null, scenario: null, policy: "latest", duration: 5, warmup: 0.5, grace: 5, slowSleepMs: 100,
    viewerThreads: 0, sendThreshold: 256 * 1024, serverPid: 0,
  };
  const names = {
    "--scenario": "scenario", "--size": "size", "--viewers": "viewers", "--slow-viewers": "slowViewers",
    "--slow-sleep-ms": "slowSleepMs", "--fps": "fps", "--policy": "policy", "--duration": "duration",
    "--warmup": "warmup", "--viewer-threads": "viewerThreads", "--send-threshold": "sendThreshold",
    "--server-pid": "serverPid", "--grace": "grace",
  };
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i];
    if (names[argument]) {
      if (i + 1 >= argv.length) throw new UsageError(`${argument} needs a value`);
      const value = argv[++i];
      const name = names[argument];
      options[name] = ["scenario", "size", "policy"].includes(name) ? value : Number(value);
      if (typeof options[name] === "number" && !Number.isFinite(options[name])) throw new UsageError(`${argument}: not a number: ${value}`);
    } else if (!argument.startsWith("--") && options.url === null) {
      options.url = argument;
    } else {
      throw new UsageError(`unknown argument ${argument} (see the comment at the top of loadgen.js)`);
    }
  }
  if (!options.url) throw new UsageError("give the stream URL, e.g. ws://127.0.0.1:8080/streams/bench");
  const scenario = SCENARIOS[options.scenario || "n1"];
  if (!scenario) throw new UsageError(`unknown scenario ${options.scenario}; one of ${Object.keys(SCENARIOS).join(", ")}`);
  for (const [key, value] of Object.entries(scenario)) if (options[key] === undefined) options[key] = value;
  options.scenario = options.scenario || "n1";
  const match = /^(\d+)x(\d+)$/.exec(options.size);
  if (!match) throw new UsageError(`--size must be WxH, not ${options.size}`);
  options.width = Number(match[1]);
  options.height = Number(match[2]);
  if (options.viewers + options.slowViewers < 1) throw new UsageError("at least one viewer");
  if (options.warmup >= options.duration) throw new UsageError("--warmup must be shorter than --duration");
  return options;
}

async function main() {
  const { performance } = require("node:perf_hooks");
  const { PayloadTable } = require("./loadgen/payload.js");
  const { Publisher } = require("./loadgen/publisher.js");
  const report = require("./loadgen/report.js");

  const options = parseArguments(process.argv.slice(2));
  // A relay that never answers a handshake or a hello must not hang the comparison.
  const limit = (options.duration + options.grace + 30) * 1000;
  setTimeout(() => giveUp(options.scenario, `no result after ${limit / 1000} s: the relay stopped answering`), limit).unref();
  const shape = { width: options.width, height: options.height };
  const payloadLength = shape.width * shape.height * 4;
  const streamUrl = new URL(options.url);
  const viewerUrl = new URL(streamUrl);
  viewerUrl.searchParams.set("policy", options.policy);
  const publisherUrl = new URL(streamUrl);
  publisherUrl.pathname = `${streamUrl.pathname.replace(/\/$/, "")}/publish`;

  // One clock for every thread: monotonic milliseconds since `hrtime`, and the wall-clock time
  // (µs since the epoch, for the frames' capture field) that corresponds to its zero.
  const hrtime = process.hrtime.bigint();
  const clockBase = { hrtime: hrtime.toString(), epochMicros: Math.round((performance.timeOrigin + performance.now()) * 1000) };
  const clock = { now: () => Number(process.hrtime.bigint() - hrtime) / 1e6, epochMicrosAtZero: clockBase.epochMicros };

  const table = new PayloadTable(payloadLength);
  const specs = [];
  for (let i = 0; i < options.viewers + options.slowViewers; i++) {
    specs.push({ index: i, slow: i >= options.viewers, sleepMs: options.slowSleepMs });
  }
  // Viewers run in worker threads, apart from the publisher's. One thread is the default: it read
  // and checked 6.2 GB/s (n10, socketify) on 0.57 of a core, so it is not the limit, and it leaves
  // the most CPU to the relay on a 2-core machine. Two threads cost CanvasWire's n10 0.16 more
  // cores of generator and moved its figures both ways (aggregate 4.4 -> 4.8 GB/s, p99 55 -> 98 ms;
  // socketify 6.2 -> 5.0 GB/s): see tools/bench/README-peers.md.
  const threadCount = Math.min(specs.length, options.viewerThreads || 1);
  const workers = [];
  for (let t = 0; t < threadCount; t++) {
    const mine = specs.filter((_, i) => i % threadCount === t);
    workers.push(new Worker(__filename, {
      workerData: { url: viewerUrl.href, specs: mine, shape, shared: table.shared, clockBase },
    }));
  }
  const nextMessage = (worker) => new Promise((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  for (const message of await Promise.all(workers.map(nextMessage))) {
    if (message.type === "failed") throw new Error(`viewers could not connect: ${message.error}`);
  }

  const publisher = new Publisher(shape, table, clock, { fps: options.fps, sendThreshold: options.sendThreshold });
  await publisher.open(publisherUrl);

  const durationMs = options.duration * 1000;
  const start = clock.now();
  const window = { start: start + options.warmup * 1000, end: start + durationMs };
  const samples = {};
  const sample = (name) => {
    samples[name] = { at: clock.now(), own: report.ownCpu() };
    if (options.serverPid) samples[name].server = report.cpuSeconds(`/proc/${options.serverPid}/stat`);
  };
  setTimeout(() => sample("start"), window.start - clock.now());
  const lastSequence = await publisher.run(durationMs);
  sample("end");
  window.end = samples.end.at;
  window.start = samples.start.at;

  const records = (await Promise.all(workers.map((worker) => {
    const reply = nextMessage(worker);
    worker.postMessage({ type: "stop", lastSequence, graceMs: options.grace * 1000 });
    return reply;
  }))).flatMap((message) => message.records);
  publisher.finish();
  for (const worker of workers) worker.terminate();
  const server = options.serverPid ? report.memory(options.serverPid) : null;

  // Frames captured in the window are the ones every viewer could have got.
  const inWindow = [];
  publisher.captures.forEach((capture, sequence) => {
    if (capture >= window.start && capture < window.end) inWindow.push(sequence);
  });
  const published = inWindow.length
    ? { first: inWindow[0], last: inWindow[inWindow.length - 1] }
    : { first: 0, last: -1 };
  const seconds = (window.end - window.start) / 1000;
  const viewers = records.sort((a, b) => a.index - b.index)
    .map((record) => report.viewerFigures(record, window, published, payloadLength));

  const failures = [];
  if (publisher.failure) failures.push(`publisher: ${publisher.failure}`);
  for (const viewer of viewers) {
    const name = `viewer ${viewer.index}${viewer.kind === "slow" ? " (slow)" : ""}`;
    if (viewer.error) failures.push(`${name}: ${viewer.error}`);
    if (viewer.corruptFrames) failures.push(`${name}: ${viewer.corruptFrames} corrupt frames`);
    if (viewer.outOfOrder) failures.push(`${name}: ${viewer.outOfOrder} frames out of order or repeated`);
    if (viewer.frames === 0) failures.push(`${name}: no frame in the measurement window`);
  }

  const normal = viewers.filter((viewer) => viewer.kind === "normal");
  const slow = viewers.filter((viewer) => viewer.kind === "slow");
  const sum = (list, key) => list.reduce((total, viewer) => total + viewer[key], 0);
  const own = (key) => samples.end.own[key] - samples.start.own[key];
  const deliveredBytes = sum(viewers, "bytes");
  const result = {
    tool: "tools/bench/loadgen.js",
    ok: failures.length === 0,
    failures,
    scenario: options.scenario,
    url: streamUrl.href,
    policy: options.policy,
    width: shape.width,
    height: shape.height,
    fps: options.fps || null,
    viewers: options.viewers,
    slowViewers: options.slowViewers,
    windowSeconds: report.round2(seconds),
    publisher: {
      frames: inWindow.length,
      framesPerSecond: report.round2(inWindow.length / seconds),
      megabytesPerSecond: report.round2(inWindow.length * payloadLength / 1e6 / seconds),
      framesSent: publisher.next,
      heldBack: publisher.heldBack,
      firstSequenceInWindow: published.first,
      lastSequenceInWindow: published.last,
    },
    aggregate: {
      framesPerSecond: report.round2(sum(normal, "framesPerSecond")),
      megabytesPerSecond: report.round2(sum(normal, "bytes") / 1e6 / seconds),
      delivered: normal.length ? report.round4(sum(normal, "delivered") / normal.length) : null,
      latency: report.percentiles(normal.flatMap((viewer) => viewer.latencies)),
    },
    slow: slow.length ? {
      framesPerSecond: report.round2(sum(slow, "framesPerSecond")),
      lag: report.percentiles(slow.flatMap((viewer) => viewer.latencies)),
    } : null,
    server: null,
    loadGenerator: {
      viewerThreads: threadCount,
      cpuSeconds: report.round4(own("total")),
      cpuCores: report.round4(own("total") / seconds),
      publisherThreadCores: report.round4(own("main") / seconds),
      otherThreadsCores: report.round4((own("total") - own("main")) / seconds),
    },
  };
  if (server) {
    const cpu = samples.end.server - samples.start.server;
    result.server = {
      pid: options.serverPid,
      cpuSeconds: report.round4(cpu),
      cpuCores: report.round4(cpu / seconds),
      cpuSecondsPerGB: deliveredBytes > 0 ? report.round4(cpu / (deliveredBytes / 1e9)) : null,
      peakResidentBytes: server.peakResidentBytes,
      residentBytesAtEnd: server.residentBytes,
    };
  }
  for (const viewer of viewers) delete viewer.latencies;
  result.viewerDetails = viewers;
  process.stdout.write(`${JSON.stringify(result, null, 1)}\n`);
  process.exitCode = result.ok ? 0 : 1;
}

if (!isMainThread) {
  require("./loadgen/viewer.js").runViewerThread({ workerData, parentPort });
} else {
  main().catch((error) => {
    if (error instanceof UsageError) {
      process.stderr.write(`loadgen: ${error.message}\n`);
      process.exit(2);
    }
    giveUp(scenarioArgument(), error.message);
  });
}
