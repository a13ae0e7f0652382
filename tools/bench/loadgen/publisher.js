// The publisher: v1 frame messages (docs/PROTOCOL.md), either unpaced (the next frame as soon as
// the socket's own write buffer is below `sendThreshold`) or paced at `fps`. Each frame is stamped
// with its capture time when it is handed to the socket, so time spent queued behind earlier
// frames counts as latency. Payloads are slices of pre-masked tables (payload.js): sending a frame
// is a 46-byte header and one writev, no copy and no JavaScript loop over the pixels.
"use strict";

const crypto = require("node:crypto");
const { Connection, FrameParser, binaryFrameHeader, clientFrame, OPCODE } = require("./websocket.js");

const HEADER_LENGTH = 32;
const MASK_KEYS = 4;
const FRAMES_PER_TURN = 16; // then yield to the event loop, even if the kernel takes all we write

class Publisher {
  /**
   * @param {object} shape {width, height}
   * @param {PayloadTable} table
   * @param {object} clock {now() -> ms, epochMicrosAtZero}
   * @param {object} options {fps (0 = unpaced), sendThreshold (bytes)}
   */
  constructor(shape, table, clock, { fps, sendThreshold }) {
    this.width = shape.width;
    this.height = shape.height;
    this.payloadLength = shape.width * shape.height * 4;
    this.table = table;
    this.copies = table.maskedCopies(MASK_KEYS);
    this.clock = clock;
    this.fps = fps;
    this.sendThreshold = sendThreshold;
    this.connection = null;
    this.next = 0;
    this.captures = []; // capture time (ms) of frame n
    this.heldBack = 0; // paced ticks skipped because the socket had not taken the previous frames
    this.stopping = false;
    this.failure = null;
    this.hello = null;
    this.helloWaiter = null;
  }

  async open(url) {
    this.connection = await Connection.open(url);
    this.connection.start(new FrameParser(this.connection, this), () => this.clock.now());
    await new Promise((resolve) => {
      this.helloWaiter = resolve;
      if (this.hello !== null || this.failure !== null) resolve();
    });
    if (this.failure !== null) throw new Error(this.failure);
  }

  /** Publishes for `durationMs`, then sends `end`; resolves with the last sequence number sent. */
  run(durationMs) {
    const socket = this.connection.socket;
    const start = this.clock.now();
    const stopAt = start + durationMs;
    return new Promise((resolve) => {
      const stop = () => {
        this.stopping = true;
        const lastSequence = this.next - 1;
        socket.write(clientFrame(OPCODE.text, Buffer.from(JSON.stringify({ type: "end", lastSequence }))));
        resolve(lastSequence);
      };
      setTimeout(stop, durationMs);
      if (this.fps > 0) {
        const interval = 1000 / this.fps;
        let due = start;
        const tick = () => {
          if (this.stopping) return;
          // A paced publisher never queues more than a few frames in its own buffer.
          if (socket.writableLength < 4 * this.payloadLength) this.send();
          else this.heldBack++;
          due += interval;
          if (due < stopAt) setTimeout(tick, Math.max(0, due - this.clock.now()));
        };
        tick();
      } else {
        const pump = () => {
          for (let sent = 0; !this.stopping && socket.writableLength < this.sendThreshold; sent++) {
            if (sent === FRAMES_PER_TURN) return setImmediate(pump);
            this.send(pump);
          }
        };
        pump();
      }
    });
  }

  send(onFlushed) {
    const sequence = this.next++;
    const { key, masked } = this.copies[crypto.randomInt(MASK_KEYS)];
    const captureMs = this.clock.now();
    this.captures.push(captureMs);
    const frameHeader = binaryFrameHeader(HEADER_LENGTH + this.payloadLength, key);
    const header = Buffer.allocUnsafe(frameHeader.length + HEADER_LENGTH);
    frameHeader.copy(header, 0);
    const v1 = frameHeader.length;
    header.write("CWF1", v1, "latin1");
    header[v1 + 4] = 1; // RGBA8
    header[v1 + 5] = 0;
    header.writeUInt16LE(HEADER_LENGTH, v1 + 6);
    header.writeUInt32LE(this.width, v1 + 8);
    header.writeUInt32LE(this.height, v1 + 12);
    header.writeBigUInt64LE(BigInt(sequence), v1 + 16);
    header.writeBigUInt64LE(BigInt(Math.round(this.clock.epochMicrosAtZero + captureMs * 1000)), v1 + 24);
    for (let i = 0; i < HEADER_LENGTH; i++) header[v1 + i] ^= key[i & 3];
    const offset = this.table.offset(sequence);
    const socket = this.connection.socket;
    socket.cork();
    socket.write(header);
    socket.write(masked.subarray(offset, offset + this.payloadLength), onFlushed);
    socket.uncork();
  }

  binaryStart() {}
  binaryData() {}
  binaryEnd() { return false; }

  text(message) {
    if (this.hello !== null) return;
    try {
      this.hello = JSON.parse(message);
    } catch {
      this.failure = `publisher's first message is not JSON: ${message.slice(0, 80)}`;
    }
    if (this.hello && this.hello.type !== "hello") this.failure = `publisher's first message is ${this.hello.type}`;
    this.helloWaiter?.();
  }

  close(code, reason) {
    if (!this.stopping) this.fail(`server closed the publisher: ${code} ${reason}`);
  }

  closed() {
    if (!this.stopping) this.fail("publisher connection lost");
  }

  error(message) {
    this.fail(message);
  }

  fail(message) {
    if (this.failure === null) this.failure = message;
    this.helloWaiter?.();
  }

  finish() {
    this.connection?.close();
  }
}

module.exports = { Publisher };
