// Viewers: each one connection that checks every frame it gets (header, order, every payload byte
// against the PayloadTable) and records when it got it. A slow viewer stops reading its socket for
// `sleepMs` after each frame. Runs in worker threads (see runViewerThread), apart from the
// publisher, so that reading and checking never delay the frames being sent.
"use strict";

const { Connection, FrameParser } = require("./websocket.js");
const { PayloadTable } = require("./payload.js");

const HEADER_LENGTH = 32;

class Viewer {
  /**
   * @param {object} spec {index, slow, sleepMs}
   * @param {object} shape {width, height}
   * @param {PayloadTable} table
   * @param {object} clock {now() -> ms, epochMicrosAtZero}
   */
  constructor(spec, shape, table, clock) {
    this.index = spec.index;
    this.slow = spec.slow;
    this.sleepMs = spec.sleepMs;
    this.width = shape.width;
    this.height = shape.height;
    this.payloadLength = shape.width * shape.height * 4;
    this.table = table;
    this.clock = clock;
    this.connection = null;
    this.hello = null;
    this.header = Buffer.alloc(HEADER_LENGTH);
    this.position = 0; // bytes of the current message seen so far
    this.sequence = -1;
    this.captureMs = 0;
    this.intact = true;
    this.lastSequence = -1;
    // One entry per frame received: sequence, capture time and read time (ms on the shared clock).
    this.sequences = [];
    this.captures = [];
    this.reads = [];
    this.corrupt = 0;
    this.outOfOrder = 0;
    this.controls = {};
    this.sawEnd = false;
    this.failure = null;
    this.finished = false;
    this.lastProgress = 0;
  }

  async open(url) {
    this.connection = await Connection.open(url, { readBufferSize: this.slow ? 64 * 1024 : 512 * 1024 });
    this.connection.start(new FrameParser(this.connection, this), () => this.clock.now());
    this.lastProgress = this.clock.now();
  }

  binaryStart() {
    this.position = 0;
    this.intact = true;
  }

  binaryData(buffer, start, end) {
    if (this.position < HEADER_LENGTH) {
      const take = Math.min(HEADER_LENGTH - this.position, end - start);
      buffer.copy(this.header, this.position, start, start + take);
      this.position += take;
      start += take;
      if (this.position === HEADER_LENGTH) this.readHeader();
    }
    if (start === end) return;
    const payloadPosition = this.position - HEADER_LENGTH;
    this.position += end - start;
    if (!this.intact) return;
    if (payloadPosition + (end - start) > this.payloadLength
        || !this.table.matches(buffer, start, end, this.sequence, payloadPosition)) {
      this.intact = false;
    }
  }

  readHeader() {
    const header = this.header;
    const ok = header.toString("latin1", 0, 4) === "CWF1" && header[4] === 1 && header[5] === 0
      && header.readUInt16LE(6) === HEADER_LENGTH && header.readUInt32LE(8) === this.width
      && header.readUInt32LE(12) === this.height;
    this.sequence = Number(header.readBigUInt64LE(16));
    this.captureMs = (Number(header.readBigUInt64LE(24)) - this.clock.epochMicrosAtZero) / 1000;
    if (!ok) this.intact = false;
  }

  binaryEnd(readTime) {
    if (this.position !== HEADER_LENGTH + this.payloadLength) this.intact = false;
    if (!this.intact) {
      this.corrupt++;
      return false;
    }
    // Live (`latest`) viewers may skip frames, never go back or get one twice.
    if (this.sequence <= this.lastSequence) this.outOfOrder++;
    this.lastSequence = this.sequence;
    this.sequences.push(this.sequence);
    this.captures.push(this.captureMs);
    this.reads.push(readTime);
    this.lastProgress = readTime;
    if (!this.slow || this.finished) return false;
    setTimeout(() => this.connection.resume(), this.sleepMs);
    return true;
  }

  text(message) {
    let control;
    try {
      control = JSON.parse(message);
    } catch {
      return this.fail(`text message is not JSON: ${message.slice(0, 80)}`);
    }
    if (this.hello === null) {
      if (control.type !== "hello") return this.fail(`first message is ${control.type}, not hello`);
      this.hello = control;
      this.resolveHello?.();
      return;
    }
    this.controls[control.type] = (this.controls[control.type] || 0) + 1;
    if (control.type === "end") this.sawEnd = true;
  }

  /** Resolves once the hello has arrived; rejects if the connection failed first. */
  async helloReceived() {
    if (this.hello === null && this.failure === null) await new Promise((resolve) => { this.resolveHello = resolve; });
    if (this.failure !== null) throw new Error(`viewer ${this.index}: ${this.failure}`);
  }

  close(code, reason) {
    if (!this.finished) this.fail(`server closed the connection: ${code} ${reason}`);
  }

  closed() {
    if (!this.finished) this.fail("connection lost");
  }

  error(message) {
    this.fail(message);
  }

  fail(message) {
    if (this.failure === null) this.failure = message;
    this.resolveHello?.();
  }

  /** Whether this viewer has everything it will get: the end message, the last frame, or a quiet second. */
  done(lastSequence, now) {
    return this.failure !== null || this.sawEnd || this.lastSequence >= lastSequence || now - this.lastProgress > 1000;
  }

  finish() {
    this.finished = true;
    this.connection?.close();
  }

  /** The raw records, for the coordinator to turn into figures over its measurement window. */
  record() {
    return {
      index: this.index,
      slow: this.slow,
      sequences: this.sequences,
      captures: this.captures,
      reads: this.reads,
      corrupt: this.corrupt,
      outOfOrder: this.outOfOrder,
      controls: this.controls,
      sawEnd: this.sawEnd,
      hello: this.hello,
      error: this.failure,
    };
  }
}

/**
 * Worker thread body: opens this thread's viewers, reports `ready`, and on `stop` waits until each
 * viewer has all it will get, then posts the records.
 */
async function runViewerThread({ workerData, parentPort }) {
  const { url, specs, shape, shared, clockBase } = workerData;
  const table = new PayloadTable(shape.width * shape.height * 4, shared);
  const base = BigInt(clockBase.hrtime);
  const clock = {
    now: () => Number(process.hrtime.bigint() - base) / 1e6,
    epochMicrosAtZero: clockBase.epochMicros,
  };
  const viewers = specs.map((spec) => new Viewer(spec, shape, table, clock));
  try {
    await Promise.all(viewers.map((viewer) => viewer.open(new URL(url))));
    await Promise.all(viewers.map((viewer) => viewer.helloReceived()));
  } catch (error) {
    parentPort.postMessage({ type: "failed", error: String(error.message || error) });
    return;
  }
  parentPort.postMessage({ type: "ready" });
  parentPort.on("message", (message) => {
    if (message.type !== "stop") return;
    const deadline = clock.now() + message.graceMs;
    const poll = () => {
      const now = clock.now();
      if (now < deadline && !viewers.every((viewer) => viewer.done(message.lastSequence, now))) {
        setTimeout(poll, 20);
        return;
      }
      for (const viewer of viewers) viewer.finish();
      parentPort.postMessage({ type: "records", records: viewers.map((viewer) => viewer.record()) });
    };
    poll();
  });
}

module.exports = { Viewer, runViewerThread };
