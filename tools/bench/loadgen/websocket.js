// A minimal RFC 6455 client over a raw `net` socket: the opening handshake, masked client frames
// and an incremental frame parser that hands binary payload bytes straight from the read buffer to
// its sink (no per-message copy), reassembling fragmented messages and answering pings.
"use strict";

const crypto = require("node:crypto");
const net = require("node:net");

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const MAX_MESSAGE = 512 * 1024 * 1024;

const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa };

/** One masked client frame (text, pong or close): small messages, masked in JavaScript. */
function clientFrame(opcode, payload) {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + 4 + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) {
    frame[1] = 0x80 | length;
  } else if (length < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(0, 2);
    frame.writeUInt32BE(length, 6);
  }
  const key = crypto.randomBytes(4);
  key.copy(frame, headerLength);
  for (let i = 0; i < length; i++) frame[headerLength + 4 + i] = payload[i] ^ key[i & 3];
  return frame;
}

/** The header of a masked binary frame of `length` bytes with mask `key`: 6, 8 or 14 bytes. */
function binaryFrameHeader(length, key) {
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const header = Buffer.allocUnsafe(headerLength + 4);
  header[0] = 0x80 | OPCODE.binary;
  if (length < 126) {
    header[1] = 0x80 | length;
  } else if (length < 65536) {
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 0x80 | 127;
    header.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    header.writeUInt32BE(length >>> 0, 6);
  }
  key.copy(header, headerLength);
  return header;
}

function closeFrame(code) {
  const payload = Buffer.allocUnsafe(2);
  payload.writeUInt16BE(code, 0);
  return clientFrame(OPCODE.close, payload);
}

/**
 * One client connection. It reads into a single reused buffer (`onread`: no allocation and no
 * stream machinery per read, and reads of up to `readBufferSize` bytes), first the handshake
 * response, then frames for a FrameParser. When the parser's sink asks to stop after a message,
 * the connection really stops reading its socket (the kernel's receive buffer fills and TCP pushes
 * back on the server); the unparsed rest of the current read is kept and parsed on `resume()`.
 */
class Connection {
  /**
   * Opens a TCP connection to `url` (a URL object, ws://host:port/path?query) and performs the
   * opening handshake; resolves once the server has accepted it.
   */
  static open(url, { readBufferSize = 256 * 1024 } = {}) {
    return new Promise((resolve, reject) => {
      const buffer = Buffer.allocUnsafeSlow(readBufferSize);
      let connection = null;
      const socket = net.connect({
        host: url.hostname,
        port: Number(url.port || 80),
        noDelay: true,
        onread: { buffer, callback: (count, data) => connection.onRead(count, data) },
      });
      connection = new Connection(socket, url, resolve, reject);
    });
  }

  constructor(socket, url, resolve, reject) {
    this.socket = socket;
    this.key = crypto.randomBytes(16).toString("base64");
    this.response = Buffer.alloc(0);
    this.handshaking = true;
    this.resolveOpen = resolve;
    this.rejectOpen = reject;
    this.parser = null;
    this.clock = null;
    this.pending = null;
    this.pendingReadTime = 0;
    socket.on("connect", () => {
      socket.write(
        `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on("error", (error) => this.handshaking ? this.refuse(error.message) : this.parser?.sink.error(error.message));
    socket.on("close", () => this.handshaking ? this.refuse("closed during the handshake") : this.parser?.sink.closed());
  }

  onRead(count, data) {
    if (this.handshaking) return this.readHandshake(data.subarray(0, count));
    const now = this.clock();
    const stopped = this.parser.push(data, 0, count, now);
    if (stopped < 0) return true;
    // The sink asked to stop reading after a complete message (the slow viewer).
    this.keep(data.subarray(stopped, count), now);
    return false;
  }

  readHandshake(data) {
    this.response = Buffer.concat([this.response, data]);
    const end = this.response.indexOf("\r\n\r\n");
    if (end < 0) {
      if (this.response.length > 16384) this.refuse("handshake response too long");
      return true;
    }
    const head = this.response.subarray(0, end).toString("latin1").split("\r\n");
    if (!/^HTTP\/1\.1 101/.test(head[0])) return this.refuse(`handshake refused: ${head[0]}`);
    const accept = crypto.createHash("sha1").update(this.key + GUID).digest("base64");
    const acceptLine = head.find((line) => /^sec-websocket-accept:/i.test(line));
    if (!acceptLine || acceptLine.slice(acceptLine.indexOf(":") + 1).trim() !== accept) {
      return this.refuse("bad Sec-WebSocket-Accept");
    }
    this.handshaking = false;
    this.keep(this.response.subarray(end + 4), 0);
    this.response = null;
    this.resolveOpen(this);
    return false; // nothing more is read until start()
  }

  refuse(reason) {
    if (!this.handshaking) return false;
    this.handshaking = false;
    this.socket.destroy();
    this.rejectOpen(new Error(reason));
    return false;
  }

  keep(rest, readTime) {
    this.pending = rest.length > 0 ? Buffer.from(rest) : null; // a copy: the read buffer is reused
    this.pendingReadTime = readTime;
    // Returning false from `onread` stops this read loop; pause() also leaves the stream
    // non-flowing, so that the next resume() starts reading again.
    this.socket.pause();
  }

  /** Starts parsing: `parser` gets every byte, stamped with `clock()` (ms) when it was read. */
  start(parser, clock) {
    this.parser = parser;
    this.clock = clock;
    this.pendingReadTime = clock();
    this.resume();
  }

  /** Reads again after the sink stopped reading (FrameParser: binaryEnd returned true). */
  resume() {
    const pending = this.pending;
    if (pending) {
      this.pending = null;
      const stopped = this.parser.push(pending, 0, pending.length, this.pendingReadTime);
      if (stopped >= 0) {
        this.pending = stopped < pending.length ? pending.subarray(stopped) : null;
        return; // the socket is still paused
      }
    }
    this.socket.resume();
  }

  write(data) {
    return this.socket.write(data);
  }

  /** Sends a close frame and ends the connection without waiting for the server's answer. */
  close() {
    if (this.socket.destroyed) return;
    this.handshaking = false;
    this.socket.end(closeFrame(1000));
    this.socket.destroySoon();
  }
}

/**
 * Incremental RFC 6455 parser for server-to-client frames. The sink gets binaryStart(),
 * binaryData(buffer, start, end) for every piece of a binary message as it is read (fragments
 * reassembled), binaryEnd(readTime) (return true to stop reading), text(string),
 * close(code, reason), error(message) and, from the Connection, closed(). Pings are answered with
 * pongs through `connection.write`.
 */
class FrameParser {
  constructor(connection, sink) {
    this.connection = connection;
    this.sink = sink;
    this.header = Buffer.alloc(14);
    this.headerHave = 0;
    this.headerNeed = 2;
    this.inPayload = false;
    this.remaining = 0;
    this.opcode = 0;
    this.fin = false;
    this.messageOpcode = -1; // opcode of the data message in progress, -1 if none
    this.messageLength = 0;
    this.textParts = [];
    this.control = [];
    this.failed = false;
  }

  /** Parses bytes [start, end); returns -1, or the index to resume at if the sink asked to stop. */
  push(buffer, start, end, readTime) {
    let index = start;
    while (index < end && !this.failed) {
      if (!this.inPayload) {
        const take = Math.min(this.headerNeed - this.headerHave, end - index);
        buffer.copy(this.header, this.headerHave, index, index + take);
        this.headerHave += take;
        index += take;
        if (this.headerHave === 2) {
          const lengthCode = this.header[1] & 0x7f;
          if (this.header[1] & 0x80) return this.fail("server frame is masked");
          this.headerNeed = 2 + (lengthCode === 126 ? 2 : lengthCode === 127 ? 8 : 0);
        }
        if (this.headerHave < this.headerNeed) continue;
        if (!this.beginFrame()) return -1;
        if (this.remaining === 0 && this.endFrame(readTime)) return index;
        continue;
      }
      const count = Math.min(this.remaining, end - index);
      if (this.opcode === OPCODE.binary || (this.opcode === OPCODE.continuation && this.messageOpcode === OPCODE.binary)) {
        this.sink.binaryData(buffer, index, index + count);
      } else if (this.opcode >= 0x8) {
        this.control.push(Buffer.from(buffer.subarray(index, index + count)));
      } else {
        this.textParts.push(Buffer.from(buffer.subarray(index, index + count)));
      }
      index += count;
      this.remaining -= count;
      if (this.remaining === 0 && this.endFrame(readTime)) return index;
    }
    return -1;
  }

  beginFrame() {
    const first = this.header[0];
    if (first & 0x70) return this.fail("reserved bits set");
    this.fin = (first & 0x80) !== 0;
    this.opcode = first & 0x0f;
    const lengthCode = this.header[1] & 0x7f;
    let length = lengthCode;
    if (lengthCode === 126) length = this.header.readUInt16BE(2);
    if (lengthCode === 127) length = this.header.readUInt32BE(2) * 2 ** 32 + this.header.readUInt32BE(6);
    this.remaining = length;
    this.headerHave = 0;
    this.headerNeed = 2;
    this.inPayload = length > 0;
    if (this.opcode >= 0x8) {
      if (!this.fin || length > 125) return this.fail("bad control frame");
      this.control = [];
      return true;
    }
    if (this.opcode === OPCODE.continuation) {
      if (this.messageOpcode < 0) return this.fail("continuation without a message");
    } else if (this.opcode === OPCODE.binary || this.opcode === OPCODE.text) {
      if (this.messageOpcode >= 0) return this.fail("new message inside a fragmented one");
      this.messageOpcode = this.opcode;
      this.messageLength = 0;
      if (this.opcode === OPCODE.binary) this.sink.binaryStart();
      else this.textParts = [];
    } else {
      return this.fail(`reserved opcode ${this.opcode}`);
    }
    this.messageLength += length;
    if (this.messageLength > MAX_MESSAGE) return this.fail("message too big");
    return true;
  }

  /** Completes the current frame; returns true if the sink asked to stop reading. */
  endFrame(readTime) {
    this.inPayload = false;
    if (this.opcode >= 0x8) {
      const payload = Buffer.concat(this.control);
      if (this.opcode === OPCODE.ping) this.connection.write(clientFrame(OPCODE.pong, payload));
      if (this.opcode === OPCODE.close) {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.sink.close(code, payload.subarray(2).toString("utf8"));
      }
      return false;
    }
    if (!this.fin) return false;
    const opcode = this.messageOpcode;
    this.messageOpcode = -1;
    if (opcode === OPCODE.binary) return this.sink.binaryEnd(readTime) === true;
    this.sink.text(Buffer.concat(this.textParts).toString("utf8"));
    this.textParts = [];
    return false;
  }

  fail(message) {
    this.failed = true;
    this.sink.error(message);
    return false;
  }
}

module.exports = { Connection, FrameParser, binaryFrameHeader, clientFrame, closeFrame, OPCODE };
