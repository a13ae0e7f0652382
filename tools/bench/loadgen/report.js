// Turns the publisher's and viewers' raw records into the figures loadgen.js prints, over the
// measurement window [warmup, duration) of the publisher's clock, and reads a process's CPU time
// and memory from /proc.
"use strict";

const fs = require("node:fs");
const { execFileSync } = require("node:child_process");

const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

function percentiles(values) {
  if (values.length === 0) return { count: 0, p50: null, p99: null, max: null };
  const sorted = Float64Array.from(values).sort();
  const rank = (q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  const round = (x) => Math.round(x * 1000) / 1000;
  return { count: sorted.length, p50: round(rank(0.5)), p99: round(rank(0.99)), max: round(sorted[sorted.length - 1]) };
}

/** CPU seconds (all threads) of process `pid`, or of one thread with `/proc/PID/task/TID`. */
function cpuSeconds(statPath) {
  const stat = fs.readFileSync(statPath, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime
}

function memory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (name) => Number((status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m")) || [0, 0])[1]) * 1024;
  return { peakResidentBytes: kib("VmHWM"), residentBytes: kib("VmRSS") };
}

/** CPU seconds of this process: all of it, and its main thread (the publisher's) alone. */
function ownCpu() {
  const usage = process.cpuUsage();
  return { total: (usage.user + usage.system) / 1e6, main: cpuSeconds(`/proc/self/task/${process.pid}/stat`) };
}

/**
 * One viewer's figures. `published` is the range of sequence numbers captured in the window.
 */
function viewerFigures(record, window, published, payloadLength) {
  const seconds = (window.end - window.start) / 1000;
  let framesRead = 0;
  let received = 0;
  const latencies = [];
  for (let i = 0; i < record.sequences.length; i++) {
    const read = record.reads[i];
    const capture = record.captures[i];
    if (read >= window.start && read < window.end) framesRead++;
    if (capture >= window.start && capture < window.end) latencies.push(read - capture);
    const sequence = record.sequences[i];
    if (sequence >= published.first && sequence <= published.last) received++;
  }
  const publishedCount = published.last - published.first + 1;
  const figures = {
    index: record.index,
    kind: record.slow ? "slow" : "normal",
    frames: framesRead,
    bytes: framesRead * payloadLength,
    framesPerSecond: round2(framesRead / seconds),
    megabytesPerSecond: round2(framesRead * payloadLength / 1e6 / seconds),
    framesReceivedInAll: record.sequences.length,
    missed: publishedCount - received,
    delivered: publishedCount > 0 ? round4(received / publishedCount) : null,
    corruptFrames: record.corrupt,
    outOfOrder: record.outOfOrder,
    controlMessages: record.controls,
    sawEnd: record.sawEnd,
    error: record.error,
  };
  // For the slow viewer the same measure is its lag: how old each frame is when it gets it.
  figures[record.slow ? "lag" : "latency"] = percentiles(latencies);
  figures.latencies = latencies;
  return figures;
}

function round2(x) { return Math.round(x * 100) / 100; }
function round4(x) { return Math.round(x * 10000) / 10000; }

module.exports = { percentiles, cpuSeconds, memory, ownCpu, viewerFigures, round2, round4 };
